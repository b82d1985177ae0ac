/*
 * pause.c — pause times over a large live heap, written once against
 * bench_backend.h (collectors only).
 *
 * Usage: bench_pause_<system> [SECONDS]
 *   Environment: PAUSE_LIVE_MB (live heap in MiB, default 1024),
 *   PAUSE_STALLS=FILE (write every tick lateness, in ms, one per line).
 *
 * What it measures: how long a collector stops the program, and how long a
 * running thread actually sees itself held up, while a big heap of small
 * linked objects stays live — the situation where a stop-the-world marker
 * pauses for the whole heap and a concurrent one should not.
 *
 *   1. Build: PAUSE_LIVE_MB MiB of 32-byte nodes (a next pointer and three
 *      words) in NLISTS linked lists whose heads are static roots, filled
 *      round-robin so consecutive allocations land in different lists and
 *      a list's nodes are spread over the whole heap.
 *   2. Mutate for SECONDS (default 10): allocate 32-byte nodes, keep the last
 *      RING of them in a ring of roots (they die young), and splice every
 *      eighth one into a live list in place of that list's head, so the live
 *      heap keeps its size, old nodes die, and pointer stores into the live
 *      heap go through the write barrier while the collector marks.
 *      Every CHECK allocations the mutator reads CLOCK_MONOTONIC: a ticker
 *      with a deadline every millisecond. When a check finds the next
 *      deadline passed, the lateness (now - that deadline) is one sample and
 *      the next deadline becomes the first one after now. A pause of P ms
 *      shows as a sample between P - 1 and P ms; the longest interval between
 *      two consecutive clock checks (the "gap") bounds the stall from above.
 *
 * Reported (ms unless said otherwise), all over the mutate phase only:
 *
 *   pause-build        s      time to build the live heap
 *   pause-rate         Mop/s  mutator allocations per second
 *   pause-cycles       n      collections that ended during the phase
 *   pause-cycle-max / -p99    each cycle's stop-the-world total, from the
 *                             system's own accounting (goheap gc_read_stats
 *                             pause_ns; bdwgc collection events)
 *   pause-stw-max / -p99      every single stop-the-world pause (bdwgc: from
 *                             the events; goheap and Go: run.sh derives them
 *                             from gctrace with gctrace.awk)
 *   pause-stall-max / -p999   tick lateness seen by the mutator
 *   pause-gap-max             longest interval between two clock checks
 *
 * On stderr the phase is bracketed by "BENCH-PHASE start" and "BENCH-PHASE
 * end" lines so gctrace.awk can pick the cycles that belong to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_backend.h"
#include "bench_util.h"

enum {
    NLISTS = 4096,
    RING = 64,          /* short-lived nodes kept live, a power of two */
    CHECK = 64,         /* allocations between clock checks */
    SPLICE_EVERY = 8,   /* every eighth node replaces a list head */
    MAX_SAMPLES = 1 << 22,
};

typedef struct node {
    struct node *next;
    uintptr_t a, b, c;
} node;

BE_TYPE(node_type, node, next);

static node *heads[NLISTS];
static node *ring[RING];

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* The q-quantile of v[0..n) (sorted in place), nearest rank. */
static double quantile(double *v, size_t n, double q) {
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void report_dist(const char *max_name, const char *q_name, double q, double *v,
                        size_t n) {
    if (n == 0)
        return;
    double qv = quantile(v, n, q);
    bench_result(max_name, BE_NAME, "ms", v[n - 1]);
    bench_result(q_name, BE_NAME, "ms", qv);
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 10;
    const char *e = getenv("PAUSE_LIVE_MB");
    long live_mb = e ? atol(e) : 1024;
    if (seconds <= 0 || live_mb <= 0) {
        fprintf(stderr, "usage: %s [SECONDS]   (env PAUSE_LIVE_MB, PAUSE_STALLS)\n", argv[0]);
        return 2;
    }
    double *lateness = malloc(MAX_SAMPLES * sizeof(double));
    if (lateness == NULL)
        return 1;

    be_init();
    be_add_roots(heads, sizeof heads);
    be_add_roots(ring, sizeof ring);

    /* 1. Build. */
    double t0 = bench_now();
    size_t nodes = (size_t)live_mb * 1024 * 1024 / sizeof(node);
    for (size_t i = 0; i < nodes; i++) {
        node *n = be_alloc(sizeof(node), &node_type);
        n->a = i;
        BE_STORE(n->next, heads[i % NLISTS]);
        heads[i % NLISTS] = n; /* a registered root: no barrier needed */
    }
    bench_result("pause-build", BE_NAME, "s", bench_now() - t0);

    /* 2. Mutate. */
    fprintf(stderr, "BENCH-PHASE start\n");
    be_pauses_start();
    const double tick = 1e-3;
    double start = bench_now(), end = start + seconds;
    double deadline = start + tick, prev = start, gap_max = 0;
    size_t nsamples = 0, i = 0;
    for (;;) {
        for (int k = 0; k < CHECK; k++, i++) {
            node *n = be_alloc(sizeof(node), &node_type);
            n->a = i;
            ring[i & (RING - 1)] = n;
            if (i % SPLICE_EVERY == 0) {
                size_t l = (i / SPLICE_EVERY) % NLISTS;
                BE_STORE(n->next, heads[l]->next);
                heads[l] = n;
            }
        }
        double now = bench_now();
        if (now - prev > gap_max)
            gap_max = now - prev;
        prev = now;
        if (now >= deadline) {
            if (nsamples < MAX_SAMPLES)
                lateness[nsamples++] = (now - deadline) * 1e3;
            deadline += tick * (double)((long)((now - deadline) / tick) + 1);
        }
        if (now >= end)
            break;
    }
    double elapsed = bench_now() - start;
    fprintf(stderr, "BENCH-PHASE end\n");

    static double pauses[1 << 16];
    size_t ncycle = be_pauses_cycle(pauses, sizeof pauses / sizeof *pauses);
    bench_result("pause-rate", BE_NAME, "Mop/s", (double)i / elapsed / 1e6);
    bench_result("pause-cycles", BE_NAME, "n", (double)ncycle);
    report_dist("pause-cycle-max", "pause-cycle-p99", 0.99, pauses, ncycle);
    size_t neach = be_pauses_each(pauses, sizeof pauses / sizeof *pauses);
    report_dist("pause-stw-max", "pause-stw-p99", 0.99, pauses, neach);

    if ((e = getenv("PAUSE_STALLS")) != NULL && *e) {
        FILE *f = fopen(e, "w");
        if (f) {
            for (size_t s = 0; s < nsamples; s++)
                fprintf(f, "%.4f\n", lateness[s]);
            fclose(f);
        }
    }
    report_dist("pause-stall-max", "pause-stall-p999", 0.999, lateness, nsamples);
    bench_result("pause-gap-max", BE_NAME, "ms", gap_max * 1e3);

    /* The live heap must be intact: every list still as long as built. */
    size_t count = 0;
    for (int l = 0; l < NLISTS; l++)
        for (node *n = heads[l]; n; n = n->next)
            count++;
    if (count != nodes) {
        fprintf(stderr, "pause: live heap has %zu nodes, built %zu\n", count, nodes);
        return 1;
    }
    return 0;
}
