/*
 * check_death.c — the fatal paths: every misuse the API promises to catch
 * aborts with "goheap: fatal error: <what happened>".
 *
 * Each scenario runs twice: as a Check test expecting SIGABRT
 * (tcase_add_loop_test_raise_signal, fork mode), and in a child started by
 * run_in_child whose stderr is captured, to check the message itself.
 * Scenarios: a heap call from an unregistered thread, unbalanced
 * GC_UNFRAME, gc_remove_roots of a range never added, gc_usable_size of an
 * interior and of a non-heap pointer, an impossibly large gc_alloc,
 * gc_alloc_array overflow, an invalid pointer in a pointer slot with
 * invalidptr=1, double gc_thread_register, gc_shutdown with another thread
 * registered; and api.md's whole misuse catalogue: every API family called
 * from an unregistered thread, unregistering with a frame pushed, interior
 * and foreign pointers to gc_weak_new and gc_set_finalizer, needzero=false
 * with pointers, a malformed type, roots added twice, double gc_shutdown,
 * use before gc_init and after gc_shutdown, a thread exiting registered,
 * gc_enter_blocking twice, gc_leave_blocking alone, heap use inside a
 * blocking region. docs/debugging.md has the table (misuse, message,
 * scenario). Double gc_init is harmless: test_death_double_init, a normal
 * test. Every scenario brings the heap up itself.
 */
#include "goheap.h"
#include "harness.h"

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct obj {
    struct obj *p;
    long x;
} obj;
GC_TYPE(obj_type, obj, p);

static void *unregistered_body(void *arg) {
    (void)arg;
    (void)gc_alloc(16, NULL);
    return NULL;
}

static void d_unregistered_thread(void) {
    gc_init();
    pthread_t t;
    pthread_create(&t, NULL, unregistered_body, NULL);
    pthread_join(t, NULL);
}

static void d_unbalanced_unframe(void) {
    gc_init();
    void *a = NULL, *b = NULL;
    GC_FRAME(outer, &a);
    GC_FRAME(inner, &b);
    GC_UNFRAME(outer);
    GC_UNFRAME(inner);
}

static void d_unframe_empty(void) {
    gc_init();
    void *a = NULL;
    GC_FRAME(f, &a);
    GC_UNFRAME(f);
    GC_UNFRAME(f);
}

static void d_remove_roots_never_added(void) {
    static void *r[4];
    gc_init();
    gc_add_roots(r, sizeof r);
    gc_remove_roots(&r[1]);
}

static void d_usable_size_interior(void) {
    gc_init();
    char *p = gc_alloc(64, NULL);
    (void)gc_usable_size(p + 8);
}

static void d_usable_size_non_heap(void) {
    static char not_heap[64];
    gc_init();
    (void)gc_usable_size(not_heap);
}

static void d_alloc_huge(void) {
    gc_init();
    volatile size_t n = (size_t)1 << 60;
    (void)gc_alloc(n, NULL);
}

static void d_alloc_array_overflow(void) {
    gc_init();
    (void)gc_alloc_array(&obj_type, SIZE_MAX / 4);
}

static void d_invalid_pointer(void) {
    setenv("GOHEAP_DEBUG", "invalidptr=1", 1);
    gc_init();
    obj *holder = NULL;
    GC_FRAME(f, &holder);
    holder = gc_alloc(sizeof(obj), &obj_type); /* before the big one: no reuse of its pages */
    char *big = gc_alloc(256 * 1024, NULL);
    uintptr_t stale = (uintptr_t)big + 4096;
    big = NULL;
    gc_collect(); /* frees the large object's span */
    GC_STORE(holder->p, (obj *)stale);
    gc_collect(); /* finds the dangling pointer */
    GC_UNFRAME(f);
}

static void d_double_register(void) {
    gc_init();
    gc_thread_register();
}

static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;
static int registered;

static void *register_and_wait(void *arg) {
    (void)arg;
    gc_thread_register();
    gc_enter_blocking();
    pthread_mutex_lock(&park_lock);
    registered = 1;
    pthread_cond_broadcast(&park_cv);
    for (;;)
        pthread_cond_wait(&park_cv, &park_lock);
    return NULL;
}

static void d_shutdown_with_thread(void) {
    gc_init();
    pthread_t t;
    pthread_create(&t, NULL, register_and_wait, NULL);
    pthread_mutex_lock(&park_lock);
    while (!registered)
        pthread_cond_wait(&park_cv, &park_lock);
    pthread_mutex_unlock(&park_lock);
    gc_shutdown();
}

/* --- api.md's misuse catalogue (docs/debugging.md lists each with its
 * message and this file's scenario name) --- */

/* One unregistered-thread scenario per API family: the call runs on a
 * thread that never registered, while the heap is up. */
static void (*unreg_call)(void);
static void *unreg_body(void *arg) {
    (void)arg;
    unreg_call();
    return NULL;
}
static void run_unregistered(void (*call)(void)) {
    gc_init();
    unreg_call = call;
    pthread_t t;
    pthread_create(&t, NULL, unreg_body, NULL);
    pthread_join(t, NULL);
}
static void u_collect(void) { gc_collect(); }
static void u_add_roots(void) {
    static void *r[2];
    gc_add_roots(r, sizeof r);
}
static void u_set_finalizer(void) { gc_set_finalizer((void *)&obj_type, NULL, NULL); }
static void u_weak_new(void) { (void)gc_weak_new((void *)&obj_type); }
static void u_read_stats(void) {
    gc_stats st;
    gc_read_stats(&st);
}
static void u_set_percent(void) { (void)gc_set_percent(50); }
static void u_enter_blocking(void) { gc_enter_blocking(); }
static void u_unregister(void) { gc_thread_unregister(); }
static void u_type_build(void) {
    size_t off = 0;
    (void)gc_type_build("t", 8, &off, 1);
}
static void d_unreg_collect(void) { run_unregistered(u_collect); }
static void d_unreg_add_roots(void) { run_unregistered(u_add_roots); }
static void d_unreg_set_finalizer(void) { run_unregistered(u_set_finalizer); }
static void d_unreg_weak_new(void) { run_unregistered(u_weak_new); }
static void d_unreg_read_stats(void) { run_unregistered(u_read_stats); }
static void d_unreg_set_percent(void) { run_unregistered(u_set_percent); }
static void d_unreg_enter_blocking(void) { run_unregistered(u_enter_blocking); }
static void d_unreg_unregister(void) { run_unregistered(u_unregister); }
static void d_unreg_type_build(void) { run_unregistered(u_type_build); }

static void d_unregister_with_frame(void) {
    gc_init();
    void *a = NULL;
    GC_FRAME(f, &a);
    gc_thread_unregister();
    GC_UNFRAME(f);
}

static void d_weak_new_interior(void) {
    gc_init();
    obj *o = gc_alloc(sizeof(obj), &obj_type);
    (void)gc_weak_new(&o->x);
}

static void d_weak_new_foreign(void) {
    static obj not_heap;
    gc_init();
    (void)gc_weak_new(&not_heap);
}

static void no_finalizer(void *o, void *arg) {
    (void)o;
    (void)arg;
}

static void d_finalizer_interior(void) {
    gc_init();
    obj *o = gc_alloc(sizeof(obj), &obj_type);
    gc_set_finalizer(&o->x, no_finalizer, NULL);
}

static void d_mallocgc_needzero_pointers(void) {
    gc_init();
    (void)gc_mallocgc(sizeof(obj), &obj_type, false);
}

static void d_malformed_type(void) {
    static const uint8_t mask[1] = {1};
    static const gc_type bad = {"bad", 16, 64, mask}; /* ptrdata > size */
    gc_init();
    (void)gc_alloc(16, &bad);
}

static void d_add_roots_twice(void) {
    static void *r[4];
    gc_init();
    gc_add_roots(r, sizeof r);
    gc_add_roots(r, sizeof r);
}

static void d_double_shutdown(void) {
    gc_init();
    gc_shutdown();
    gc_shutdown();
}

static void d_use_after_shutdown(void) {
    gc_init();
    gc_shutdown();
    (void)gc_alloc(32, NULL);
}

static void d_use_before_init(void) { gc_collect(); }

static void *exit_registered_body(void *arg) {
    (void)arg;
    gc_thread_register();
    return NULL; /* exits still registered */
}

static void d_thread_exits_registered(void) {
    gc_init();
    pthread_t t;
    pthread_create(&t, NULL, exit_registered_body, NULL);
    pthread_join(t, NULL);
}

static void d_enter_blocking_twice(void) {
    gc_init();
    gc_enter_blocking();
    gc_enter_blocking();
}

static void d_leave_without_enter(void) {
    gc_init();
    gc_leave_blocking();
}

/* Heap use inside a blocking region is caught at the next safepoint the
 * thread reaches: another thread keeps collecting so that requests are
 * pending, and this one allocates large objects (each a safepoint). */
static void *collect_forever(void *arg) {
    (void)arg;
    gc_thread_register();
    for (;;)
        gc_collect();
    return NULL;
}

static void d_heap_use_while_blocking(void) {
    gc_init();
    pthread_t t;
    pthread_create(&t, NULL, collect_forever, NULL);
    gc_enter_blocking();
    for (;;)
        (void)gc_alloc(64 * 1024, NULL);
}

static const struct {
    const char *name;
    void (*fn)(void);
    const char *message; /* must appear after "goheap: fatal error: " */
} scenarios[] = {
    {"unregistered_thread", d_unregistered_thread,
     "gc_alloc called from a thread that is not registered"},
    {"unbalanced_unframe", d_unbalanced_unframe, "GC_UNFRAME of frame declared at"},
    {"unframe_empty", d_unframe_empty, "GC_UNFRAME of frame declared at"},
    {"remove_roots_never_added", d_remove_roots_never_added,
     "gc_remove_roots: no root range starts at"},
    {"usable_size_interior", d_usable_size_interior,
     "gc_usable_size: 0x"},
    {"usable_size_non_heap", d_usable_size_non_heap, "gc_usable_size: 0x"},
    {"alloc_huge", d_alloc_huge, "gc_alloc: cannot allocate 1152921504606846976 bytes"},
    {"alloc_array_overflow", d_alloc_array_overflow, "gc_alloc_array: "},
    {"invalid_pointer", d_invalid_pointer, "invalid pointer 0x"},
    {"double_register", d_double_register, "gc_thread_register: thread is already registered"},
    {"shutdown_with_thread", d_shutdown_with_thread,
     "gc_shutdown: 1 other threads are still registered"},
    {"unreg_collect", d_unreg_collect, "gc_collect called from a thread that is not registered"},
    {"unreg_add_roots", d_unreg_add_roots,
     "gc_add_roots called from a thread that is not registered"},
    {"unreg_set_finalizer", d_unreg_set_finalizer,
     "gc_set_finalizer called from a thread that is not registered"},
    {"unreg_weak_new", d_unreg_weak_new, "gc_weak_new called from a thread that is not registered"},
    {"unreg_read_stats", d_unreg_read_stats,
     "gc_read_stats called from a thread that is not registered"},
    {"unreg_set_percent", d_unreg_set_percent,
     "gc_set_percent called from a thread that is not registered"},
    {"unreg_enter_blocking", d_unreg_enter_blocking,
     "gc_enter_blocking called from a thread that is not registered"},
    {"unreg_unregister", d_unreg_unregister,
     "gc_thread_unregister called from a thread that is not registered"},
    {"unreg_type_build", d_unreg_type_build,
     "gc_type_build called from a thread that is not registered"},
    {"unregister_with_frame", d_unregister_with_frame,
     "gc_thread_unregister: frame declared at"},
    {"weak_new_interior", d_weak_new_interior,
     "gc_weak_new: pointer 0x"},
    {"weak_new_foreign", d_weak_new_foreign, "gc_weak_new: pointer 0x"},
    {"finalizer_interior", d_finalizer_interior, "gc_set_finalizer: pointer 0x"},
    {"mallocgc_needzero_pointers", d_mallocgc_needzero_pointers,
     "gc_mallocgc: needzero=false for type obj, which has pointers"},
    {"malformed_type", d_malformed_type, "gc_alloc: malformed type bad (size 16, ptrdata 64)"},
    {"add_roots_twice", d_add_roots_twice, "gc_add_roots: a range starting at 0x"},
    {"double_shutdown", d_double_shutdown, "gc_shutdown: goheap is not initialised"},
    {"use_after_shutdown", d_use_after_shutdown,
     "gc_alloc called while goheap is not initialised (before gc_init or after gc_shutdown)"},
    {"use_before_init", d_use_before_init, "gc_collect called while goheap is not initialised"},
    {"thread_exits_registered", d_thread_exits_registered,
     "a thread exited while registered (call gc_thread_unregister before it exits)"},
    {"enter_blocking_twice", d_enter_blocking_twice,
     "gc_enter_blocking called twice without gc_leave_blocking"},
    {"leave_without_enter", d_leave_without_enter, "gc_leave_blocking without gc_enter_blocking"},
    {"heap_use_while_blocking", d_heap_use_while_blocking,
     "heap used inside gc_enter_blocking/gc_leave_blocking"},
};
#define NSCENARIOS (sizeof scenarios / sizeof scenarios[0])

/* Extra words each message must contain, beyond its start. */
static const char *const also[NSCENARIOS][2] = {
    {NULL, NULL},
    {"but the innermost frame is the one declared at", "unbalanced"},
    {"but no frame is pushed", NULL},
    {NULL, NULL},
    {"points into the middle of an object", NULL},
    {"is not a goheap object", NULL},
    {"size exceeds the address space", NULL},
    {"overflows size_t", NULL},
    {"of object 0x", "of type obj: it points into"},
    {NULL, NULL},
    {NULL, NULL},
    /* unreg_* */
    {NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL},
    {NULL, NULL}, {NULL, NULL}, {NULL, NULL}, {NULL, NULL},
    {"is still pushed", NULL},                       /* unregister_with_frame */
    {"is not at the beginning of an object", NULL},  /* weak_new_interior */
    {"is not to a goheap object", NULL},             /* weak_new_foreign */
    {"is not at the beginning of an object", NULL},  /* finalizer_interior */
    {NULL, NULL},
    {NULL, NULL},
    {"is already registered", NULL},                 /* add_roots_twice */
};

/* The message is checked by test_death_message; keep this log quiet. */
START_TEST(test_death_aborts) {
    if (freopen("/dev/null", "w", stderr) == NULL)
        ck_abort_msg("cannot silence stderr");
    scenarios[_i].fn();
}
END_TEST

static void run_scenario(void *arg) { scenarios[(size_t)(uintptr_t)arg].fn(); }

START_TEST(test_death_message) {
    child_result r;
    run_in_child(run_scenario, (void *)(uintptr_t)_i, &r);
    ck_assert_msg(child_aborted(&r), "%s: child did not abort (status %#x): %s",
                  scenarios[_i].name, r.status, r.err);
    char want[256];
    snprintf(want, sizeof want, "goheap: fatal error: %s", scenarios[_i].message);
    ck_assert_msg(strstr(r.err, want) != NULL, "%s: stderr lacks '%s':\n%s", scenarios[_i].name,
                  want, r.err);
    /* The message is the first line; a backtrace follows. */
    ck_assert_msg(strncmp(r.err, "goheap: fatal error: ", 21) == 0, "%s: stderr starts '%.60s'",
                  scenarios[_i].name, r.err);
    ck_assert_msg(strstr(r.err, "goheap: backtrace:") != NULL, "%s: no backtrace",
                  scenarios[_i].name);
    for (int k = 0; k < 2; k++)
        if (also[_i][k] != NULL)
            ck_assert_msg(strstr(r.err, also[_i][k]) != NULL, "%s: stderr lacks '%s':\n%s",
                          scenarios[_i].name, also[_i][k], r.err);
    child_result_free(&r);
}
END_TEST

/* Not a death: gc_init is idempotent. The second call changes nothing,
 * and the heap works and shuts down normally. */
START_TEST(test_death_double_init) {
    gc_init();
    void *p = gc_alloc(64, NULL);
    GC_FRAME(f, &p);
    gc_init();
    gc_collect();
    ck_assert_ptr_nonnull(gc_base(p));
    ck_assert_uint_eq(gc_usable_size(p), 64);
    GC_UNFRAME(f);
    gc_shutdown();
}
END_TEST

int main(void) {
    Suite *s = suite_create("death");
    TCase *harmless = tcase_create("harmless");
    tcase_add_test(harmless, test_death_double_init);
    suite_add_tcase(s, harmless);
    TCase *abort_tc = tcase_create("abort");
    tcase_add_loop_test_raise_signal(abort_tc, test_death_aborts, SIGABRT, 0, NSCENARIOS);
    suite_add_tcase(s, abort_tc);
    TCase *msg = tcase_create("message");
    tcase_add_loop_test(msg, test_death_message, 0, NSCENARIOS);
    suite_add_tcase(s, msg);
    SRunner *sr = srunner_create(s);
    if (srunner_fork_status(sr) == CK_NOFORK) {
        fprintf(stderr, "check_death needs fork mode (CK_FORK=yes)\n");
        srunner_free(sr);
        return 77; /* skipped */
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
