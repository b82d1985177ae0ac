/*
 * finalizers.c — finalizers and weak references, the three things they are for.
 *
 * A garbage collector reclaims memory, but a heap object may own something
 * the collector knows nothing about: a file descriptor, a socket, a lock.
 * gc_set_finalizer(obj, fn, arg) asks the collector to call fn(obj, arg) once,
 * after a cycle finds obj unreachable, so the object can release what it
 * owns. The collector keeps obj (and what it points to) alive for the call:
 * the object is freed by a later cycle, if the finalizer left it unreachable.
 * A finalizer is a safety net, not a destructor: it runs at some unknown time
 * after the last use, so code that can release a resource explicitly should,
 * and then remove the finalizer with gc_set_finalizer(obj, NULL, NULL).
 *
 * Because the finalizer receives obj, it can store it somewhere reachable
 * again: resurrection. The object then lives on as if nothing had happened,
 * but its finalizer is gone (it runs once); set a new one if needed.
 *
 * A weak handle (gc_weak_new) names an object without keeping it alive:
 * gc_weak_get returns the object while it lives and NULL once a cycle has
 * found it unreachable. Handles are cleared before the finalizer is queued,
 * so a resurrected object stays invisible through its old handles (Go 1.24's
 * rule): a cache keyed by weak handles never hands out an object that is
 * being finalized.
 *
 * Finalizers normally run on goheap's finalizer thread. This program uses
 * manual mode (gc_init_opts with manual_finalizers) and calls
 * gc_run_finalizers() itself after each gc_collect(), so what it prints does
 * not depend on thread timing. It checks every result and exits 0 when all
 * hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <goheap.h>
#include <stdio.h>
#include <unistd.h>

/* A resource: a heap object owning a file descriptor (not a heap pointer). */
struct resource {
    int fd;
    const char *label; /* a string literal, outside the heap */
};

static int finalized;           /* finalizer calls so far */
static struct resource *saved;  /* a registered root: where resurrection stores */
static int failures;

static void check(bool ok, const char *what) {
    printf("%-58s %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
}

static bool fd_is_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

/* Closes the descriptor the program forgot. arg is whatever was passed to
 * gc_set_finalizer: here a flag asking for resurrection. */
static void close_resource(void *obj, void *arg) {
    struct resource *r = obj;
    finalized++;
    printf("  finalizer: closing fd %d of %s\n", r->fd, r->label);
    close(r->fd);
    r->fd = -1;
    if (arg != NULL)
        GC_STORE(saved, r); /* resurrection: reachable from a root again */
}

static struct resource *open_resource(const char *label, bool resurrect) {
    struct resource *r = gc_alloc(sizeof *r, NULL); /* noscan: no heap pointers */
    r->fd = open("/dev/null", O_RDONLY);
    r->label = label;
    gc_set_finalizer(r, close_resource, resurrect ? &saved : NULL);
    return r;
}

/* A full cycle, then the finalizers it queued, on this thread. */
static void collect(void) {
    gc_collect();
    gc_run_finalizers();
}

int main(void) {
    gc_init_opts(&(gc_options){.manual_finalizers = true});
    gc_add_roots(&saved, sizeof saved);

    struct resource *r = NULL;
    gc_weak *w = NULL;
    GC_FRAME(f, &r, &w);

    puts("1. A dropped resource is closed by its finalizer");
    r = open_resource("dropped", false);
    int fd = r->fd;
    collect();
    check(finalized == 0 && fd_is_open(fd), "still referenced: not finalized");
    r = NULL; /* the program forgets it without closing */
    collect();
    check(finalized == 1 && !fd_is_open(fd), "unreachable: finalizer closed the fd");

    puts("2. An explicitly closed resource drops its finalizer");
    r = open_resource("closed", false);
    close(r->fd);
    r->fd = -1;
    gc_set_finalizer(r, NULL, NULL);
    r = NULL;
    collect();
    check(finalized == 1, "no finalizer call for it");

    puts("3. Resurrection, and a weak handle that stays cleared");
    r = open_resource("resurrected", true);
    w = gc_weak_new(r);
    check(gc_weak_get(w) == r, "weak handle returns the live object");
    r = NULL;
    collect();
    check(finalized == 2 && saved != NULL, "finalizer ran and stored the object in a root");
    check(saved != NULL && saved->fd == -1 && saved->label[0] == 'r',
          "resurrected object is intact");
    check(gc_weak_get(w) == NULL, "its weak handle was cleared anyway");
    GC_STORE(saved, NULL); /* drop it for good */
    collect();
    collect();
    check(finalized == 2, "a finalizer runs once: no second call");

    puts("4. A weak handle is cleared when its object dies");
    r = gc_alloc(sizeof *r, NULL);
    w = gc_weak_new(r);
    collect();
    check(gc_weak_get(w) == r, "alive: the handle returns it");
    r = NULL;
    collect();
    check(gc_weak_get(w) == NULL, "dead: the handle returns NULL");

    GC_UNFRAME(f);
    gc_shutdown();
    printf("%s\n", failures ? "FAILED" : "all checks passed");
    return failures != 0;
}
