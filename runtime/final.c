/*
 * final.c — finalizers and weak references, built on span specials.
 *                                                  Go: mfinal.go, mheap.go
 *                                                  (specials), weak (1.24)
 *
 * Finalizers, with Go's semantics. gc_set_finalizer(obj, fn, arg) records a
 * finalizer special at obj. During mark, the collector keeps alive what the
 * finalizer will need — everything obj points to, and arg — but not obj
 * itself (specials_mark_roots). If a mark ends with obj unmarked, the sweeper
 * revives it (sets its mark bit, so this sweep does not free it), removes the
 * special and queues (fn, obj, arg). The finalizer then runs once, on the
 * finalizer thread (default) or inside gc_run_finalizers (manual mode, for
 * single-threaded VMs: gc_init_opts). While queued, obj and arg are roots. A
 * finalizer may allocate, set a new finalizer, or store obj somewhere
 * reachable (resurrection); if obj is unreachable afterwards, the next cycle
 * frees it like any other object. As in Go, objects in a cycle that
 * contains a finalizable object are never collected: the finalizable object
 * keeps its referents alive, and they keep it alive.
 *
 * Weak references (Go 1.24's weak.Pointer). gc_weak_new(obj) returns obj's
 * one handle (a noscan heap object holding obj's address, so the handle
 * does not keep obj alive); the weak special at obj points at the handle and
 * keeps the handle alive while obj lives. When a mark finds obj unreachable,
 * the sweeper clears the handle before obj's finalizer (if any) is queued:
 * a handle never sees a revived object, so a finalizer cannot resurrect an
 * object for weak readers. gc_weak_get must also refuse an object that the
 * last mark found dead but the sweeper has not reached yet: it checks the
 * span's sweep state and the mark bit under the span's special lock, which
 * the sweeper holds while clearing handles. During a mark, a strong pointer
 * obtained from a handle is shaded (the hybrid barrier's rule for a pointer
 * that appears out of nowhere into a possibly scanned frame).
 *
 * Concurrency: span special lists under each span's special_lock (a spin
 * lock: held for list surgery only); the finalizer queue under fin_lock, a
 * mutex never held across a safepoint or while taking another lock.
 */
#include "special.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "mheap.h"
#include "thread.h"
#include "upcalls.h"

/* --- special lists --- */

void special_lock(mspan *s) {
    while (!gh_cas(&s->special_lock, 0, 1))
        while (gh_load(&s->special_lock))
            __builtin_ia32_pause();
}

void special_unlock(mspan *s) { gh_store_release(&s->special_lock, 0); }

special *special_find_locked(mspan *s, uintptr_t offset, int kind) {
    for (special *sp = s->specials; sp != NULL && sp->offset <= offset; sp = sp->next)
        if (sp->offset == offset && sp->kind == kind)
            return sp;
    return NULL;
}

static void set_page_specials(mspan *s, bool on) {
    heap_arena *ha = arena_of(s->startaddr);
    if (on)
        arena_set_page_bit(ha->page_specials, arena_page_index(s->startaddr));
    else
        arena_clear_page_bit(ha->page_specials, arena_page_index(s->startaddr));
}

bool special_add(mspan *s, special *sp) {
    special_lock(s);
    special **pp = &s->specials;
    while (*pp != NULL && ((*pp)->offset < sp->offset ||
                           ((*pp)->offset == sp->offset && (*pp)->kind < sp->kind)))
        pp = &(*pp)->next;
    if (*pp != NULL && (*pp)->offset == sp->offset && (*pp)->kind == sp->kind) {
        special_unlock(s);
        return false;
    }
    sp->next = *pp;
    *pp = sp;
    set_page_specials(s, true);
    special_unlock(s);
    return true;
}

special *special_remove(mspan *s, uintptr_t offset, int kind) {
    special_lock(s);
    special *found = NULL;
    for (special **pp = &s->specials; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->offset == offset && (*pp)->kind == kind) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    if (s->specials == NULL)
        set_page_specials(s, false);
    special_unlock(s);
    return found;
}

/* --- the finalizer queue and thread --- */

typedef struct fin_item {
    struct fin_item *next;
    gc_finalizer fn;
    void *obj;
    void *arg;
} fin_item;

static pthread_mutex_t fin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fin_cv = PTHREAD_COND_INITIALIZER;
static fin_item *fin_head, **fin_tail = &fin_head;
static bool fin_manual, fin_stop, fin_thread_running;
static pthread_t fin_thread;
static volatile AO_t fin_running; /* finalizers executing right now */

static void queue_finalizer(gc_finalizer fn, void *obj, void *arg) {
    fin_item *it = malloc(sizeof *it);
    if (it == NULL)
        gh_throw("out of memory queueing a finalizer");
    *it = (fin_item){NULL, fn, obj, arg};
    pthread_mutex_lock(&fin_lock);
    *fin_tail = it;
    fin_tail = &it->next;
    pthread_cond_signal(&fin_cv);
    pthread_mutex_unlock(&fin_lock);
}

/* Pops a queued finalizer, or NULL. */
static fin_item *pop_finalizer(void) {
    pthread_mutex_lock(&fin_lock);
    fin_item *it = fin_head;
    if (it != NULL) {
        fin_head = it->next;
        if (fin_head == NULL)
            fin_tail = &fin_head;
        gh_xadd(&fin_running, 1);
    }
    pthread_mutex_unlock(&fin_lock);
    return it;
}

/* Runs one finalizer on the calling (registered) thread. While it runs, obj
 * and arg are held in a frame, so they stay alive. */
static void run_one(fin_item *it) {
    void *obj = it->obj, *arg = it->arg;
    gc_finalizer fn = it->fn;
    free(it);
    GC_FRAME(f, &obj, &arg);
    gh_xadd(&fin_running, (uintptr_t)-1);
    fn(obj, arg);
    GC_UNFRAME(f);
}

void gc_run_finalizers(void) {
    thr_current("gc_run_finalizers");
    fin_item *it;
    while ((it = pop_finalizer()) != NULL)
        run_one(it);
}

static void *finalizer_main(void *arg) {
    (void)arg;
    gc_thread_register();
    for (;;) {
        gc_enter_blocking();
        pthread_mutex_lock(&fin_lock);
        while (fin_head == NULL && !fin_stop)
            pthread_cond_wait(&fin_cv, &fin_lock);
        bool stop = fin_stop;
        pthread_mutex_unlock(&fin_lock);
        gc_leave_blocking();
        if (stop)
            break;
        fin_item *it;
        while ((it = pop_finalizer()) != NULL)
            run_one(it);
    }
    gc_thread_unregister();
    return NULL;
}

void final_init(bool manual) {
    fin_manual = manual;
    fin_stop = false;
    fin_head = NULL;
    fin_tail = &fin_head;
    gh_store(&fin_running, 0);
    fin_thread_running = false;
    if (!manual) {
        if (pthread_create(&fin_thread, NULL, finalizer_main, NULL) != 0)
            gh_throw("cannot start the finalizer thread");
        fin_thread_running = true;
    }
}

void final_shutdown(void) {
    if (fin_thread_running) {
        pthread_mutex_lock(&fin_lock);
        fin_stop = true;
        pthread_cond_broadcast(&fin_cv);
        pthread_mutex_unlock(&fin_lock);
        pthread_join(fin_thread, NULL);
        fin_thread_running = false;
    }
    /* Finalizers still queued at shutdown never run (as in Go at exit). */
    while (fin_head != NULL) {
        fin_item *next = fin_head->next;
        free(fin_head);
        fin_head = next;
    }
    fin_tail = &fin_head;
}

void final_mark_queue(void (*shade)(void *ctx, uintptr_t p), void *ctx) {
    pthread_mutex_lock(&fin_lock);
    for (fin_item *it = fin_head; it != NULL; it = it->next) {
        shade(ctx, (uintptr_t)it->obj);
        shade(ctx, (uintptr_t)it->arg);
    }
    pthread_mutex_unlock(&fin_lock);
}

/* --- gc_set_finalizer --- */

/* The span and offset of obj, which must be the base of a heap object, or
 * the start of a tiny sub-object inside a 16-byte noscan block (Go allows
 * those: the finalizer then keeps the whole block alive). */
static mspan *object_span(const char *call, void *obj, uintptr_t *offset) {
    mspan *s = span_of((uintptr_t)obj);
    if (s == NULL)
        gh_fatalf("%s: pointer %p is not to a goheap object", call, obj);
    uintptr_t off = (uintptr_t)obj - s->startaddr;
    uintptr_t base = s->startaddr + span_obj_index(s, (uintptr_t)obj) * s->elemsize;
    bool tiny_block = s->spanclass == sc_make_span_class(2, 1);
    if ((uintptr_t)obj != base && !tiny_block)
        gh_fatalf("%s: pointer %p is not at the beginning of an object (its base is %p)", call,
                  obj, (void *)base);
    *offset = off;
    return s;
}

void gc_set_finalizer(void *obj, gc_finalizer fn, void *arg) {
    thr_current("gc_set_finalizer");
    uintptr_t off;
    mspan *s = object_span("gc_set_finalizer", obj, &off);
    if (fn == NULL) {
        free(special_remove(s, off, SPECIAL_FINALIZER));
        return;
    }
    special *sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        gh_throw("gc_set_finalizer: out of memory");
    sp->offset = off;
    sp->kind = SPECIAL_FINALIZER;
    sp->u.fin.fn = fn;
    sp->u.fin.arg = arg;
    if (!special_add(s, sp)) {
        free(sp);
        gh_fatalf("gc_set_finalizer: object %p already has a finalizer", obj);
    }
    /* Marking may already have scanned the specials: keep what the
     * finalizer needs alive for this cycle by shading the object itself
     * (the caller holds it, so it is reachable anyway). */
    mark_shade_from_mutator(thr_self, (uintptr_t)obj);
    mark_shade_from_mutator(thr_self, (uintptr_t)arg);
}

/* --- weak handles --- */

gc_weak *gc_weak_new(void *obj) {
    gh_thread *t = thr_current("gc_weak_new");
    if (obj == NULL)
        return NULL;
    uintptr_t off;
    mspan *s = object_span("gc_weak_new", obj, &off);
    special_lock(s);
    special *sp = special_find_locked(s, off, SPECIAL_WEAK);
    special_unlock(s);
    if (sp != NULL)
        return sp->u.weak;
    /* The handle holds obj's address in a noscan object: it does not keep
     * obj alive. obj stays alive across this allocation because the caller
     * holds it (in a frame or a root), as the rules require. */
    gc_weak *w = gc_alloc(sizeof(gc_weak), NULL);
    GC_FRAME(f, &w);
    gh_store(&w->obj, (uintptr_t)obj);
    sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        gh_throw("gc_weak_new: out of memory");
    sp->offset = off;
    sp->kind = SPECIAL_WEAK;
    sp->u.weak = w;
    if (!special_add(s, sp)) {
        /* Another thread made the handle first: use that one. */
        free(sp);
        special_lock(s);
        sp = special_find_locked(s, off, SPECIAL_WEAK);
        w = sp->u.weak;
        special_unlock(s);
    }
    mark_shade_from_mutator(t, (uintptr_t)w);
    GC_UNFRAME(f);
    return w;
}

void *gc_weak_get(gc_weak *w) {
    gh_thread *t = thr_current("gc_weak_get");
    if (w == NULL)
        return NULL;
    uintptr_t p = gh_load_acquire(&w->obj);
    if (p == 0)
        return NULL;
    mspan *s = span_of(p);
    if (s == NULL)
        return NULL;
    /* Under the special lock the sweeper cannot be halfway through clearing
     * this span's handles. If the span is still unswept and the object is
     * unmarked, the last mark found it dead: it only awaits its sweep. */
    special_lock(s);
    p = gh_load(&w->obj);
    /* A span being swept has already traded its marks for fresh ones
     * (sweep_span) but has not published the result: its marks say
     * nothing until it has. Wait for that; the sweep of one span is short. */
    while (p != 0 && gh_load(&s->sweepgen) == gh_load(&mheap_.sweepgen) - 1) {
        special_unlock(s);
        sched_yield();
        special_lock(s);
        p = gh_load(&w->obj);
    }
    if (p != 0) {
        uintptr_t sg = gh_load(&mheap_.sweepgen), ssg = gh_load(&s->sweepgen);
        bool unswept = ssg == sg - 2 || ssg == sg - 1 || ssg == sg + 1;
        if (unswept && !span_is_marked(s, span_obj_index(s, p)))
            p = 0;
    }
    special_unlock(s);
    if (p != 0)
        mark_shade_from_mutator(t, p);
    return (void *)p;
}

/* --- the collector's side --- */

void specials_mark_roots(void (*shade)(void *ctx, uintptr_t p),
                         void (*scan)(void *ctx, uintptr_t obj), void *ctx) {
    for (uintptr_t ai = 0; ai < arena_count(); ai++) {
        heap_arena *ha = arena_at(ai);
        for (uintptr_t wi = 0; wi < GH_PAGE_WORDS; wi++) {
            uint64_t bits = gh_load(&ha->page_specials[wi]);
            while (bits != 0) {
                unsigned b = (unsigned)__builtin_ctzll(bits);
                bits &= bits - 1;
                mspan *s = (mspan *)gh_load(&ha->spans[wi * 64 + b]);
                if (s == NULL || gh_load_acquire(&s->state) != SPAN_IN_USE)
                    continue;
                special_lock(s);
                for (special *sp = s->specials; sp != NULL; sp = sp->next) {
                    uintptr_t obj = s->startaddr + span_obj_index(s, s->startaddr + sp->offset) * s->elemsize;
                    if (sp->kind == SPECIAL_FINALIZER) {
                        scan(ctx, obj);
                        shade(ctx, (uintptr_t)sp->u.fin.arg);
                    } else if (sp->kind == SPECIAL_WEAK) {
                        shade(ctx, (uintptr_t)sp->u.weak);
                    }
                }
                special_unlock(s);
            }
        }
    }
}

void specials_sweep(mspan *s) {
    special_lock(s);
    /* Pass 1: revive unmarked objects that have finalizers. */
    for (special *sp = s->specials; sp != NULL; sp = sp->next) {
        if (sp->kind != SPECIAL_FINALIZER)
            continue;
        uintptr_t idx = span_obj_index(s, s->startaddr + sp->offset);
        if (!span_is_marked(s, idx)) {
            span_try_mark(s, idx);
            sp->kind = -SPECIAL_FINALIZER; /* revived: queue below */
        }
    }
    /* Pass 2: clear handles of dead or revived objects; queue finalizers. */
    special **pp = &s->specials;
    while (*pp != NULL) {
        special *sp = *pp;
        uintptr_t idx = span_obj_index(s, s->startaddr + sp->offset);
        bool revived = false;
        for (special *o = s->specials; o != NULL && o->offset <= sp->offset; o = o->next)
            if (o->kind == -SPECIAL_FINALIZER && span_obj_index(s, s->startaddr + o->offset) == idx)
                revived = true;
        bool drop = false;
        if (sp->kind == SPECIAL_WEAK && (revived || !span_is_marked(s, idx))) {
            gh_store_release(&sp->u.weak->obj, 0);
            drop = true;
        } else if (sp->kind == SPECIAL_PROFILE && !span_is_marked(s, idx)) {
            profile_record_free(sp->u.bucket, s->elemsize);
            drop = true;
        }
        if (drop) {
            *pp = sp->next;
            free(sp);
        } else {
            pp = &sp->next;
        }
    }
    pp = &s->specials;
    while (*pp != NULL) {
        special *sp = *pp;
        if (sp->kind == -SPECIAL_FINALIZER) {
            *pp = sp->next;
            queue_finalizer(sp->u.fin.fn, (void *)(s->startaddr + sp->offset), sp->u.fin.arg);
            free(sp);
        } else {
            pp = &sp->next;
        }
    }
    if (s->specials == NULL)
        set_page_specials(s, false);
    special_unlock(s);
}
