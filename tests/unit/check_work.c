/*
 * check_work.c — the grey-object queues (gc/work.c): a gcwork's two buffers
 * and the global stacks, balancing, and how an idle marker waits.
 *
 * Covers: objects put are got back, across buffer boundaries and through
 * the global queue by another gcwork; work_balance shares work only when
 * there is some to share; work_dispose publishes buffers and counters (scan
 * work also as background credit for a marker's gcwork, not an assist's);
 * work_wait returns as soon as a buffer is published or marking ends, and
 * sleeps (burns no CPU) while it waits; mark_shade_n (the write barrier's
 * flush) marks and queues every heap pointer of a batch, whichever span
 * it is in and in whatever order, and skips NULL and non-heap pointers. The heap is up, idle: no cycle
 * runs, so the global queue is the tests' own.
 */
#include "goheap.h"
#include "harness.h"
#include "arena.h"
#include "gc.h"
#include "span.h"
#include "work.h"

#include <check.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

START_TEST(test_put_get_across_buffers) {
    gcwork a = {0}, b = {0};
    const uintptr_t n = 3 * WORKBUF_OBJS + 7;
    for (uintptr_t i = 1; i <= n; i++)
        work_put(&a, i * 16);
    /* Two buffers stay local; the rest went to the global queue. */
    ck_assert(!work_global_empty());
    uintptr_t sum = 0, got = 0, o;
    while ((o = work_tryget(&b)) != 0) { /* b sees only published buffers */
        sum += o;
        got++;
    }
    ck_assert_uint_gt(got, 0);
    ck_assert_uint_lt(got, n);
    while ((o = work_tryget(&a)) != 0) {
        sum += o;
        got++;
    }
    ck_assert_uint_eq(got, n);
    ck_assert_uint_eq(sum, 16 * n * (n + 1) / 2);
    work_dispose(&a);
    work_dispose(&b);
    ck_assert(work_global_empty());
}
END_TEST

START_TEST(test_balance_shares_half) {
    gcwork a = {0};
    work_put(&a, 16);
    work_put(&a, 32);
    work_balance(&a); /* too little to share */
    ck_assert(work_global_empty());
    for (uintptr_t i = 3; i <= 10; i++)
        work_put(&a, i * 16);
    work_balance(&a);
    ck_assert(!work_global_empty());
    gcwork b = {0};
    uintptr_t got = 0;
    while (work_tryget(&b) != 0)
        got++;
    ck_assert_uint_eq(got, 5);
    while (work_tryget(&a) != 0)
        got++;
    ck_assert_uint_eq(got, 10);
    work_dispose(&a);
    work_dispose(&b);
}
END_TEST

START_TEST(test_dispose_credits_background_work) {
    uint64_t done0 = gh_load(&work_scan_done), credit0 = gh_load(&work_bg_credit);
    gcwork assist = {.scan_work = 1000};
    work_dispose(&assist);
    ck_assert_uint_eq(gh_load(&work_scan_done) - done0, 1000);
    ck_assert_uint_eq(gh_load(&work_bg_credit) - credit0, 0);
    gcwork marker = {.scan_work = 500, .background = true};
    work_dispose(&marker);
    ck_assert_uint_eq(gh_load(&work_scan_done) - done0, 1500);
    ck_assert_uint_eq(gh_load(&work_bg_credit) - credit0, 500);
    ck_assert_int_eq(marker.scan_work, 0);
}
END_TEST

static volatile AO_t active, waiter_done;
static uint64_t waiter_cpu_ns;

static void *waiter(void *arg) {
    (void)arg;
    uint64_t c0 = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    work_wait(&active);
    waiter_cpu_ns = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    gh_store(&waiter_done, 1);
    return NULL;
}

/* Waits up to 10 s (a loaded machine) for the waiter to return. */
static bool waiter_returns(void) {
    for (int i = 0; i < 10000 && !gh_load(&waiter_done); i++)
        usleep(1000);
    return gh_load(&waiter_done) != 0;
}

/* Starts a waiter with marking on and checks it is still waiting after
 * `ms` milliseconds. */
static pthread_t start_waiter(unsigned ms) {
    gh_store(&active, 1);
    gh_store(&waiter_done, 0);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, waiter, NULL), 0);
    usleep(ms * 1000);
    ck_assert(!gh_load(&waiter_done));
    return th;
}

START_TEST(test_wait_wakes_on_publish) {
    pthread_t th = start_waiter(300);
    gcwork a = {0};
    work_put(&a, 64);
    work_dispose(&a); /* publishes a buffer */
    ck_assert(waiter_returns());
    pthread_join(th, NULL);
    /* It slept through the 300 ms rather than spinning. */
    ck_assert_uint_lt(waiter_cpu_ns, 100u * 1000 * 1000);
    while (work_tryget(&a) != 0)
        ;
    work_dispose(&a);
}
END_TEST

START_TEST(test_wait_wakes_when_marking_ends) {
    pthread_t th = start_waiter(100);
    gh_store(&active, 0);
    work_wake_idle();
    ck_assert(waiter_returns());
    pthread_join(th, NULL);
}
END_TEST

typedef struct pair {
    struct pair *a, *b;
} pair;
GC_TYPE(pair_type, pair, a, b);

START_TEST(test_shade_n_batch) {
    enum { N = 40 };
    static void *keep[3 * N];
    gc_add_roots(keep, sizeof keep);
    uintptr_t batch[4 * N];
    size_t n = 0;
    int local = 0;
    for (int i = 0; i < N; i++) {
        /* Pointers into three spans, interleaved, with noise between. */
        keep[3 * i] = gc_alloc(sizeof(pair), &pair_type);
        keep[3 * i + 1] = gc_alloc(100, NULL); /* noscan: marked, not queued */
        keep[3 * i + 2] = gc_alloc(3000, &pair_type);
        batch[n++] = (uintptr_t)keep[3 * i];
        batch[n++] = (uintptr_t)keep[3 * i + 1] + 50; /* interior */
        batch[n++] = (uintptr_t)keep[3 * i + 2];
        batch[n++] = i % 2 ? 0 : (uintptr_t)&local;
    }
    /* Shade some twice: still queued once. */
    batch[3] = (uintptr_t)keep[0];
    gcwork w = {0};
    mark_shade_n(&w, batch, n);
    for (int i = 0; i < 3 * N; i++) {
        mspan *s = span_of((uintptr_t)keep[i]);
        ck_assert_msg(span_is_marked(s, span_obj_index(s, (uintptr_t)keep[i])),
                      "object %d not marked", i);
        ck_assert(arena_page_bit(s->arena->page_marks, arena_page_index(s->startaddr)));
    }
    uintptr_t queued = 0, o;
    while ((o = work_tryget(&w)) != 0) {
        mspan *s = span_of(o);
        ck_assert(!sc_span_class_noscan(s->spanclass));
        queued++;
    }
    ck_assert_uint_eq(queued, 2 * N);
    work_dispose(&w);
    gc_remove_roots(keep);
}
END_TEST

int main(void) {
    Suite *s = suite_create("work");
    TCase *tc = tcase_create("work");
    tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
    tcase_add_test(tc, test_put_get_across_buffers);
    tcase_add_test(tc, test_balance_shares_half);
    tcase_add_test(tc, test_dispose_credits_background_work);
    tcase_add_test(tc, test_wait_wakes_on_publish);
    tcase_add_test(tc, test_wait_wakes_when_marking_ends);
    tcase_add_test(tc, test_shade_n_batch);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
