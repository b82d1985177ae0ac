/*
 * pause.c — pause times over a large live heap, written once against
 * bench_backend.h. Built for the collectors and for glibc, which never
 * pauses: its stalls are the machine's own (scheduling on a shared host),
 * the floor under every collector's figure.
 *
 * Usage: bench_pause_<system> [SECONDS]
 *   Environment: PAUSE_LIVE_MB (live heap in MiB, default 1024),
 *   PAUSE_STALLS=FILE (write every tick lateness, in ms, one per line),
 *   PAUSE_STW=FILE (write every single stop-the-world pause, in ms, when the
 *   system records them in-process: bdwgc).
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
 *   2. Mutate for SECONDS (default 10): allocate 256-byte objects (a pointer
 *      and 31 words) that die young — the last RING of them stay in a ring
 *      of roots — and with every eighth one a 32-byte node that is spliced
 *      into a live list in place of that list's head, so the live heap keeps
 *      its size, old nodes die, and pointer stores into the live heap go
 *      through the write barrier while the collector marks. The short-lived
 *      objects are big so the mutator allocates fast enough (about 1 GB/s on
 *      an idle core) for collections to run during the phase: at 1 GiB live
 *      and GOGC=100 a cycle starts after about 1 GiB of allocation.
 *      Every CHECK allocations the mutator reads CLOCK_MONOTONIC: a ticker
 *      with a deadline every millisecond. When a check finds the next
 *      deadline passed, the lateness (now - that deadline) is one sample and
 *      the next deadline becomes the first one after now. A pause of P ms
 *      shows as a sample between P - 1 and P ms; the longest interval between
 *      two consecutive clock checks (the "gap") bounds the stall from above.
 *
 * Reported (ms unless said otherwise):
 *
 *   pause-build        s      time to build the live heap
 *   pause-rate         Mop/s  mutator iterations (one 256-byte object, and a
 *                             node every eighth) per second (mutate phase)
 *   pause-cycles       n      collections that ended during the whole run
 *   pause-cycle-max / -p99    each cycle's stop-the-world total, from the
 *                             system's own accounting (goheap gc_read_stats
 *                             pause_ns; bdwgc collection events), over every
 *                             cycle of the run
 *   pause-stw-max / -p99      every single stop-the-world pause of the run
 *                             (bdwgc: from the events; goheap and Go: run.sh
 *                             derives them from gctrace with gctrace.awk)
 *   pause-stall-max / -p999   tick lateness seen by the mutator (mutate phase)
 *   pause-gap-max             longest interval between two clock checks
 *                             (mutate phase)
 *
 * Pauses are counted over the whole run, build included, because at 1 GiB
 * live a cycle needs 1 GiB of allocation (GOGC=100) and only one to three
 * cycles end inside a 10-second mutate phase; the build's last cycles mark
 * nearly the whole live heap, and its early small-heap cycles can only lower
 * a percentile, never the maximum. Stalls can only be observed while the
 * mutator runs its clock, so they come from the mutate phase alone.
 *
 * On stderr the phase is bracketed by "BENCH-PHASE start" and "BENCH-PHASE
 * end" lines (gctrace.awk counts the cycles inside it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

typedef struct blob {
    void *p;
    uintptr_t w[31];
} blob;

BE_TYPE(blob_type, blob, p);

static node *heads[NLISTS];
static blob *ring[RING];

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

/* Writes v[0..n), one value a line, to path (if set and n > 0). */
static void dump(const char *path, const double *v, size_t n) {
    if (path == NULL || *path == '\0' || n == 0)
        return;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.4f\n", v[i]);
    fclose(f);
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
    be_pauses_start();
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
    usleep(50000); /* let a gctrace line in progress finish first */
    fprintf(stderr, "BENCH-PHASE start\n");
    const double tick = 1e-3;
    double start = bench_now(), end = start + seconds;
    double deadline = start + tick, prev = start, gap_max = 0;
    size_t nsamples = 0, i = 0;
    for (;;) {
        for (int k = 0; k < CHECK; k++, i++) {
            blob *b = be_alloc(sizeof(blob), &blob_type);
            b->w[0] = i;
            if (BE_EXPLICIT_FREE && i >= RING) /* malloc: free what leaves the ring */
                be_free(ring[i & (RING - 1)]);
            ring[i & (RING - 1)] = b;
            if (i % SPLICE_EVERY == 0) {
                node *n = be_alloc(sizeof(node), &node_type);
                n->a = i;
                size_t l = (i / SPLICE_EVERY) % NLISTS;
                node *old = heads[l];
                BE_STORE(n->next, old->next);
                heads[l] = n; /* a registered root: no barrier needed */
                if (BE_EXPLICIT_FREE)
                    be_free(old);
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
    dump(getenv("PAUSE_STW"), pauses, neach);
    report_dist("pause-stw-max", "pause-stw-p99", 0.99, pauses, neach);

    dump(getenv("PAUSE_STALLS"), lateness, nsamples);
    report_dist("pause-stall-max", "pause-stall-p999", 0.999, lateness, nsamples);
    bench_result("pause-gap-max", BE_NAME, "ms", gap_max * 1e3);

    /* The live heap must be intact: a sample of the lists (every node of
     * one is on a different page, so walking all of them takes seconds)
     * still as long as built. */
    for (int l = 0; l < NLISTS; l += NLISTS / 64) {
        size_t count = 0, want = nodes / NLISTS + ((size_t)l < nodes % NLISTS);
        for (node *n = heads[l]; n; n = n->next)
            count++;
        if (count != want) {
            fprintf(stderr, "pause: list %d has %zu nodes, built %zu\n", l, count, want);
            return 1;
        }
    }
    return 0;
}
