/*
 * check_scavenge.c — the scavenger returns freed heap memory to the OS, and
 * memory it returned reads as zero when reused.
 *
 *   - rss_drops: 200 MiB of live objects are dropped and collected; within
 *     a bounded wait the process's RSS falls by most of it and
 *     heap_released rises by as much (the background scavenger at work).
 *   - reused_pages_are_zero: objects filled with garbage are freed; part of
 *     the free pages is scavenged (so some new spans mix scavenged and dirty
 *     pages), and new objects of other sizes laid over them must read zero.
 *   - counts: heap_released equals the page allocator's scavenged pages.
 * Each test runs in its own forked process (Check's default), so each has a
 * fresh heap. No assertion depends on timing; waits poll with a deadline.
 */
#include <check.h>

#include "harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goheap.h"
#include "mheap.h"
#include "scavenge.h"

#define MIB ((size_t)1 << 20)
#define NBIG 200

static void *roots[NBIG];

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t scavenged_bytes_locked(void) {
    gh_lock(&mheap_.lock);
    uint64_t b = (uint64_t)pa_scavenged_pages(&mheap_.pages) << GH_PAGE_SHIFT;
    gh_unlock(&mheap_.lock);
    return b;
}

START_TEST(test_rss_drops) {
    gc_init();
    gc_add_roots(roots, sizeof roots);
    for (int i = 0; i < NBIG; i++) {
        void *p = gc_alloc(MIB, NULL);
        memset(p, 0x5a, MIB); /* make every page resident */
        GC_STORE(roots[i], p);
    }
    gc_collect();
    gc_stats st;
    gc_read_stats(&st);
    uint64_t rss_high = harness_rss_bytes(), released0 = st.heap_released;
    for (int i = 0; i < NBIG; i++)
        GC_STORE(roots[i], NULL);
    gc_collect();
    uint64_t rss_now = rss_high;
    int waited = 0;
    /* Up to ~10 s; at GH_DEBUG >= 3 every page-allocator call verifies the
     * whole structure, and the scavenger's 1% of CPU buys far less. */
    int max_wait = GH_DEBUG >= 3 ? 600 : 100;
    for (; waited < max_wait; waited++) {
        gc_read_stats(&st);
        rss_now = harness_rss_bytes();
        if (rss_high - GH_MIN(rss_now, rss_high) >= 160 * MIB &&
            st.heap_released - GH_MIN(released0, st.heap_released) >= 160 * MIB)
            break;
        sleep_ms(100);
    }
    fprintf(stderr,
            "check_scavenge: RSS %.1f MiB with 200 MiB live -> %.1f MiB after drop and "
            "scavenge (%.1f s); heap_released %.1f -> %.1f MiB; heap_sys %.1f MiB; "
            "background %.1f MiB, synchronous %.1f MiB\n",
            (double)rss_high / MIB, (double)rss_now / MIB, waited / 10.0,
            (double)released0 / MIB, (double)st.heap_released / MIB,
            (double)st.heap_sys / MIB, (double)scav_released_bg() / MIB,
            (double)scav_released_sync() / MIB);
    ck_assert_uint_ge(rss_high - GH_MIN(rss_now, rss_high), 160 * MIB);
    ck_assert_uint_ge(st.heap_released - released0, 160 * MIB);
    gc_remove_roots(roots);
    gc_shutdown();
}
END_TEST

/* Checks that every byte of [p, p+n) is zero. */
static void check_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            ck_abort_msg("byte %zu of a new %zu-byte object at %p is 0x%02x", i, n, (void *)p,
                         p[i]);
}

START_TEST(test_reused_pages_are_zero) {
    /* Keep the background scavenger's GOGC goal out of the way: with GOGC
     * off only explicit scavenging below returns pages. */
    setenv("GOHEAP_GOGC", "off", 1);
    gc_init();
    gc_add_roots(roots, sizeof roots);
    /* Garbage: large objects of 13 pages and small 1 KiB objects. */
    static const size_t sizes[] = {13 * 8192, 1024, 3 * 8192 + 100};
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1200; i++) {
            size_t n = sizes[(size_t)i % 3];
            void *p = gc_alloc(n, NULL);
            memset(p, 0xab, n);
            if (i % 7 == 0)
                GC_STORE(roots[i % NBIG], p); /* a few survivors fragment it */
        }
        gc_collect();
        /* Return part of the free pages — the highest runs — so that the
         * boundary region mixes scavenged and dirty pages. */
        uint64_t free_b = scav_heap_free();
        uint64_t rel = scav_release(free_b / (uint64_t)(2 + round) + 5 * 8192);
        ck_assert_uint_gt(rel, 0);
        gh_lock(&mheap_.lock);
        pa_verify(&mheap_.pages);
        gh_unlock(&mheap_.lock);
        /* New objects of other sizes over the same pages read as zero. */
        static const size_t nsizes[] = {9 * 8192, 2048, 17 * 8192 + 8, 48};
        for (int i = 0; i < 1500; i++) {
            size_t n = nsizes[(size_t)i % 4];
            unsigned char *p = gc_alloc(n, NULL);
            check_zero(p, n);
            memset(p, 0xcd, n);
        }
        for (int i = 0; i < NBIG; i++)
            GC_STORE(roots[i], NULL);
        gc_collect();
    }
    gc_remove_roots(roots);
    gc_shutdown();
}
END_TEST

START_TEST(test_counts_consistent) {
    gc_init();
    gc_add_roots(roots, sizeof roots);
    for (int i = 0; i < 64; i++)
        GC_STORE(roots[i], gc_alloc(MIB / 2, NULL));
    for (int i = 0; i < 64; i += 2)
        GC_STORE(roots[i], NULL);
    gc_collect();
    scav_release(UINT64_MAX);
    gc_stats st;
    bool equal = false;
    /* The background scavenger may move between the two reads: retry. */
    for (int tries = 0; tries < 50 && !equal; tries++) {
        uint64_t before = scavenged_bytes_locked();
        gc_read_stats(&st);
        equal = st.heap_released == before && before == scavenged_bytes_locked();
        if (!equal)
            sleep_ms(20);
    }
    ck_assert_msg(equal, "heap_released %llu != scavenged pages * 8 KiB",
                  (unsigned long long)st.heap_released);
    /* Everything free was released: idle == released (no free page kept). */
    ck_assert_uint_eq(scav_heap_free(), 0);
    ck_assert_uint_eq(st.heap_idle, st.heap_released);
    gc_remove_roots(roots);
    gc_shutdown();
}
END_TEST

/* The background scavenger paces itself after every batch, short ones
 * included: the sleeps it takes add up to 99 times the CPU its batches
 * used (SCAV_CPU_PERCENT = 1), however often it is woken. Only the
 * scavenger's own bookkeeping is compared, never the clock. */
START_TEST(test_bg_paces_every_batch) {
    gc_init();
    gc_add_roots(roots, sizeof roots);
    for (int i = 0; i < 16; i++)
        GC_STORE(roots[i], gc_alloc(MIB / 2, NULL));
    for (int i = 0; i < 16; i++)
        GC_STORE(roots[i], NULL);
    gc_collect(); /* 8 MiB of free, unscavenged pages */
    gc_set_memory_limit(MIB); /* far below: the scavenger works in batches */
    for (int i = 0; i < 200; i++)
        scav_wake(); /* wakes that must not add unpaced batches */
    uint64_t cpu = 0, slept = 0;
    for (int tries = 0; tries < 300 && scav_released_bg() < 7 * MIB; tries++)
        sleep_ms(10);
    ck_assert_uint_ge(scav_released_bg(), 7 * MIB);
    sleep_ms(20);
    scav_bg_pacing(&cpu, &slept);
    ck_assert_uint_gt(cpu, 0);
    ck_assert_msg(slept >= cpu * (100 / SCAV_CPU_PERCENT - 1),
                  "batches used %llu ns of CPU but slept only %llu ns",
                  (unsigned long long)cpu, (unsigned long long)slept);
    gc_remove_roots(roots);
    gc_shutdown();
}
END_TEST

int main(void) {
    Suite *s = suite_create("scavenge");
    TCase *tc = tcase_create("scavenge");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rss_drops);
    tcase_add_test(tc, test_reused_pages_are_zero);
    tcase_add_test(tc, test_counts_consistent);
    tcase_add_test(tc, test_bg_paces_every_batch);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
