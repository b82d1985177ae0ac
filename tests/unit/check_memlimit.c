/*
 * check_memlimit.c — the memory limit (gc_set_memory_limit, Go's
 * GOMEMLIMIT) end to end:
 *   - bounds_heap: with GOGC off and a 64 MiB limit, allocating 1 GiB of
 *     garbage collects (num_gc grows) and keeps heap_sys, retained memory
 *     and RSS near the limit;
 *   - try_alloc_fails: gc_try_alloc of 200 MiB under a 64 MiB limit returns
 *     NULL with ENOMEM after a collection, and the heap stays usable;
 *   - below_live: a 50 MiB limit with 100 MiB live keeps running (the GC
 *     CPU limiter lets the heap pass the limit) and finishes a bounded loop.
 * Each test runs in its own forked process. Loops are bounded by a deadline
 * as well as by work; no assertion depends on timing.
 */
#include <check.h>

#include "harness.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goheap.h"
#include "limiter.h"
#include "scavenge.h"

#define MIB ((uint64_t)1 << 20)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct node {
    struct node *next;
    char pad[1016];
} node;
GC_TYPE(node_type, node, next);

static node *live_head;

START_TEST(test_bounds_heap) {
    setenv("GOHEAP_GOGC", "off", 1);
    gc_init();
    const uint64_t limit = 64 * MIB;
    gc_set_memory_limit((int64_t)limit);
    uint64_t rss0 = harness_rss_bytes(), rss_max = rss0, total = 0;
    static const size_t sizes[] = {64, 1024, 200, 4096, 48 * 1024, 16};
    double deadline = now_s() + 120;
    for (unsigned i = 0; total < 1024 * MIB && now_s() < deadline; i++) {
        size_t n = sizes[i % 6];
        char *p = gc_alloc(n, NULL);
        p[0] = 1;
        p[n - 1] = 1;
        total += n;
        if (i % 4096 == 0) {
            uint64_t r = harness_rss_bytes();
            if (r > rss_max)
                rss_max = r;
        }
    }
    gc_stats st;
    gc_read_stats(&st);
    fprintf(stderr,
            "check_memlimit: 1 GiB of garbage under a 64 MiB limit, GOGC=off: %u cycles, "
            "heap_sys %.1f MiB, retained %.1f MiB, released %.1f MiB, RSS %.1f MiB at start, "
            "%.1f MiB max; synchronous scavenging %.1f MiB\n",
            st.num_gc, (double)st.heap_sys / MIB,
            (double)(st.heap_sys - st.heap_released) / MIB, (double)st.heap_released / MIB,
            (double)rss0 / MIB, (double)rss_max / MIB, (double)scav_released_sync() / MIB);
    ck_assert_uint_ge(total, 1024 * MIB);
    ck_assert_uint_ge(st.num_gc, 5);
    ck_assert_uint_le(st.heap_sys, limit + 32 * MIB);
    ck_assert_uint_le(st.heap_sys - st.heap_released, limit + 16 * MIB);
    ck_assert_uint_le(rss_max, rss0 + limit + 32 * MIB);
    gc_shutdown();
}
END_TEST

START_TEST(test_try_alloc_fails) {
    gc_init();
    gc_set_memory_limit((int64_t)(64 * MIB));
    errno = 0;
    void *p = gc_try_alloc(200 * MIB, NULL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(errno, ENOMEM);
    gc_stats st;
    gc_read_stats(&st);
    ck_assert_uint_ge(st.num_gc, 1); /* it collected before failing */
    ck_assert_uint_lt(st.heap_sys, 64 * MIB);
    /* The heap is still usable: small objects, a collection, and a large
     * object that does fit. */
    GC_FRAME(f, &live_head);
    for (int i = 0; i < 10000; i++) {
        node *n = gc_alloc(sizeof(node), &node_type);
        GC_STORE(n->next, live_head);
        live_head = n;
    }
    gc_collect();
    int count = 0;
    for (node *n = live_head; n != NULL; n = n->next)
        count++;
    ck_assert_int_eq(count, 10000);
    void *q = gc_try_alloc(8 * MIB, NULL);
    ck_assert_ptr_nonnull(q);
    memset(q, 1, 8 * MIB);
    /* Without a limit the same request succeeds. */
    gc_set_memory_limit(INT64_MAX);
    void *r = gc_try_alloc(200 * MIB, NULL);
    ck_assert_ptr_nonnull(r);
    live_head = NULL;
    GC_UNFRAME(f);
    gc_shutdown();
}
END_TEST

START_TEST(test_below_live) {
    gc_init();
    gc_set_percent(-1);
    GC_FRAME(f, &live_head);
    /* 100 MiB live: 100k nodes of 1 KiB in one list. */
    for (int i = 0; i < 100 * 1024; i++) {
        node *n = gc_alloc(sizeof(node), &node_type);
        GC_STORE(n->next, live_head);
        live_head = n;
    }
    gc_set_memory_limit((int64_t)(50 * MIB));
    gc_stats st0, st;
    gc_read_stats(&st0);
    /* 256 MiB of garbage, or 60 s, whichever ends first. */
    double start = now_s(), deadline = start + 60;
    uint64_t total = 0;
    unsigned rounds = 0;
    while (total < 256 * MIB && now_s() < deadline) {
        for (int i = 0; i < 1024; i++) {
            node *n = gc_alloc(sizeof(node), &node_type);
            n->pad[0] = 1;
        }
        total += 1024 * sizeof(node);
        rounds++;
    }
    gc_read_stats(&st);
    int count = 0;
    for (node *n = live_head; n != NULL; n = n->next)
        count++;
    fprintf(stderr,
            "check_memlimit: 100 MiB live under a 50 MiB limit: %.0f MiB allocated in %.1f s, "
            "%u cycles, heap_sys %.1f MiB, GC CPU fraction %.2f, limiter %s\n",
            (double)total / MIB, now_s() - start, st.num_gc - st0.num_gc,
            (double)st.heap_sys / MIB, st.gc_cpu_fraction,
            gh_load(&limiter_active) ? "limiting" : "not limiting");
    ck_assert_int_eq(count, 100 * 1024);
    ck_assert_uint_gt(rounds, 0);
    ck_assert_uint_gt(st.num_gc, st0.num_gc);
    live_head = NULL;
    GC_UNFRAME(f);
    gc_shutdown();
}
END_TEST

int main(void) {
    Suite *s = suite_create("memlimit");
    TCase *tc = tcase_create("memlimit");
    tcase_set_timeout(tc, 200);
    tcase_add_test(tc, test_bounds_heap);
    tcase_add_test(tc, test_try_alloc_fails);
    tcase_add_test(tc, test_below_live);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
