/*
 * check_rootcheck.c — GOHEAP_DEBUG=rootcheck=1 (gc/rootcheck.c) names the
 * function whose frame holds a pointer to an object about to be freed.
 *
 * Each scenario runs in a child with stderr captured: forgets_local keeps
 * a freshly allocated object in a volatile C local that is in no GC_FRAME,
 * calls gc_collect, and reads the object; the report must name the object's
 * type and size and the function forgets_local. A framed local, and a
 * thread parked in gc_enter_blocking holding only framed pointers, produce
 * no report for their objects.
 */
#include "goheap.h"
#include "harness.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cell {
    struct cell *next;
    long v;
} cell;
GC_TYPE(cell_type, cell, next);

/* The use after gc_collect compares the pointer instead of reading the
 * object: under memcheck (the valgrind test setup) the read would itself be
 * reported, which tests/valgrind covers. */
static __attribute__((noinline)) long forgets_local(void) {
    cell *volatile c = gc_alloc(sizeof(cell), &cell_type); /* the bug: no frame */
    c->v = 42;
    gc_collect();
    return c != NULL ? 42 : 0;
}

static __attribute__((noinline)) long frames_local(void) {
    cell *c = gc_alloc(sizeof(cell), &cell_type);
    GC_FRAME(f, &c);
    c->v = 7;
    gc_collect();
    long v = c->v;
    GC_UNFRAME(f);
    return v;
}

static void forget_child(void *arg) {
    (void)arg;
    setenv("GOHEAP_DEBUG", "rootcheck=1", 1);
    gc_init();
    fprintf(stderr, "value %ld\n", forgets_local());
    gc_shutdown();
}

START_TEST(test_rootcheck_names_function) {
    child_result r;
    run_in_child(forget_child, NULL, &r);
    ck_assert_msg(child_exited_ok(&r), "child failed: %s", r.err);
    ck_assert_msg(strstr(r.err, "goheap: rootcheck: object 0x") != NULL, "no report:\n%s", r.err);
    /* forgets_local is named first, or after a callee that saved the
     * register holding the pointer ("in function request_cycle (frame 2),
     * also in forgets_local (frame 4)"; static builds, e.g. ASan). */
    ck_assert_msg(strstr(r.err, "of type cell (16 bytes) is referenced from the stack of thread 1 "
                                "in function ") != NULL &&
                      (strstr(r.err, "in function forgets_local (frame ") != NULL ||
                       strstr(r.err, "also in forgets_local (frame ") != NULL),
                  "report does not name cell and forgets_local:\n%s", r.err);
    ck_assert_msg(strstr(r.err, "but is not reachable from any root; it will be freed. A local "
                                "missing from its GC_FRAME?") != NULL,
                  "%s", r.err);
    child_result_free(&r);
}
END_TEST

static volatile int parked;
static cell *parked_root;

static void *parker(void *arg) {
    (void)arg;
    gc_thread_register();
    cell *mine = gc_alloc(sizeof(cell), &cell_type);
    GC_FRAME(f, &mine);
    gc_enter_blocking();
    __atomic_store_n(&parked, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) != 2)
        sched_yield();
    gc_leave_blocking();
    GC_UNFRAME(f);
    gc_thread_unregister();
    return NULL;
}

static void framed_child(void *arg) {
    (void)arg;
    setenv("GOHEAP_DEBUG", "rootcheck=1", 1);
    gc_init();
    pthread_t th;
    pthread_create(&th, NULL, parker, NULL);
    while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) != 1)
        sched_yield();
    fprintf(stderr, "value %ld\n", frames_local());
    gc_collect();
    __atomic_store_n(&parked, 2, __ATOMIC_RELEASE);
    gc_enter_blocking();
    pthread_join(th, NULL);
    gc_leave_blocking();
    (void)parked_root;
    gc_shutdown();
}

START_TEST(test_rootcheck_framed_is_quiet) {
    child_result r;
    run_in_child(framed_child, NULL, &r);
    ck_assert_msg(child_exited_ok(&r), "child failed: %s", r.err);
    ck_assert_msg(strstr(r.err, "value 7") != NULL, "%s", r.err);
    ck_assert_msg(strstr(r.err, "in function frames_local") == NULL &&
                      strstr(r.err, "in function parker") == NULL,
                  "a framed local was reported:\n%s", r.err);
    child_result_free(&r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("rootcheck");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, test_rootcheck_names_function);
    tcase_add_test(tc, test_rootcheck_framed_is_quiet);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
