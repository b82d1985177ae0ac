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
 * registered. Every scenario brings the heap up itself.
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
    {"of object 0x", "heap memory"},
    {NULL, NULL},
    {NULL, NULL},
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

int main(void) {
    Suite *s = suite_create("death");
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
