/*
 * check_fault.c — fault injection: the OS refusing memory never corrupts
 * the heap. (SQLite's faultsim; GOHEAP_DEBUG=sysfail=N, arena/sys.h.)
 *
 * sys_set_fail_after(N) makes the Nth next call to sys_reserve, sys_map,
 * sys_alloc or sys_unused fail, once. For every N in a range, a child
 * process brings the heap up with checkmark verification on, builds a
 * rooted object graph, arms the failure, and allocates a fixed mix of
 * small, tiny and large objects with gc_try_alloc, storing them in the
 * graph. The failing call lands somewhere different for each N: the heap
 * growing (sys_map of a 4 MiB step, sys_reserve of an arena), the mspan
 * record blocks, the arena metadata, the page allocator's summaries, the
 * alloc bitmaps and mark bytes, the work buffers, the scavenger.
 *
 * Each child must end in one of two ways:
 *   - every gc_try_alloc returned an object or NULL with errno == ENOMEM;
 *     then, with failures cleared, allocation works again, two gc_collect
 *     calls pass the checkmark re-mark, and every object of the graph still
 *     has its checksum (test_fault_sweep);
 *   - the failure hit metadata that cannot be reported as ENOMEM (mark
 *     bitmaps, work buffers, page allocator summaries): a fatal error
 *     whose first line is "goheap: fatal error: ... out of memory ...".
 * Across the range, both the ENOMEM outcome and at least one recovered
 * allocation must be seen, so the test cannot pass by always crashing.
 */
#include "goheap.h"
#include "harness.h"
#include "sys.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAPH 256 /* rooted slots */

typedef struct blob {
    struct blob *next; /* a chain hangs off each root slot */
    uint64_t id, sum;
    uint64_t n;        /* words of data that follow */
    uint64_t data[];
} blob;
GC_TYPE(blob_type, blob, next);

static blob *roots[GRAPH];

static uint64_t blob_sum(const blob *b) {
    uint64_t h = b->id * 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < b->n; i++)
        h = (h ^ b->data[i]) * 0x100000001B3ull;
    return h;
}

/* A blob of `bytes` (>= sizeof(blob)) or NULL + errno from gc_try_alloc. */
static blob *new_blob(size_t bytes, uint64_t id) {
    blob *b = gc_try_alloc(bytes, &blob_type);
    if (b == NULL)
        return NULL;
    b->id = id;
    b->n = (bytes - sizeof(blob)) / 8;
    if (b->n > 64)
        b->n = 64; /* checksum a prefix: large blobs stay cheap */
    for (uint64_t i = 0; i < b->n; i++)
        b->data[i] = id * 31 + i;
    b->sum = blob_sum(b);
    return b;
}

/* Walks every chain; returns the number of blobs, dies on a bad one. */
static uint64_t verify_graph(void) {
    uint64_t n = 0;
    for (int i = 0; i < GRAPH; i++)
        for (blob *b = roots[i]; b != NULL; b = b->next, n++)
            if (blob_sum(b) != b->sum) {
                fprintf(stderr, "fault: blob %llu at %p: checksum mismatch\n",
                        (unsigned long long)b->id, (void *)b);
                abort();
            }
    return n;
}

/* Size of allocation k of the workload: mostly small, some tiny-adjacent
 * minimum sizes, every 16th large (up to 9 MiB, so the heap keeps growing
 * and new arenas are reserved). */
static size_t workload_size(uint64_t k, uint64_t *rng) {
    uint64_t x = *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    x >>= 20;
    if (k % 16 == 15)
        return 40 * 1024 + (size_t)(x % (9u << 20));
    return sizeof(blob) + (size_t)(x % 4000);
}

typedef struct outcome {
    int enomem;    /* gc_try_alloc calls that returned NULL + ENOMEM */
    int bad_errno; /* NULL with another errno */
} outcome;

/* The child's body: N = (uintptr_t)arg. Reports on stderr, in one line
 * starting "fault: ", how many ENOMEMs it saw. */
static void scenario(void *arg) {
    uint64_t n = (uint64_t)(uintptr_t)arg;
    setenv("GOHEAP_DEBUG", "gccheckmark=1", 1);
    gc_init();
    gc_add_roots(roots, sizeof roots);
    uint64_t rng = n, id = 1;
    /* A graph built before the failure. */
    for (int i = 0; i < GRAPH; i++) {
        blob *b = new_blob(sizeof(blob) + 8 * (size_t)(i % 40), id++);
        ck_assert_ptr_nonnull(b);
        GC_STORE(roots[i], b);
    }
    outcome o = {0, 0};
    sys_set_fail_after(n);
    for (uint64_t k = 0; k < 400; k++) {
        size_t sz = workload_size(k, &rng);
        errno = 0;
        blob *b = new_blob(sz, id);
        if (b == NULL) {
            if (errno == ENOMEM)
                o.enomem++;
            else
                o.bad_errno++;
            continue;
        }
        id++;
        int slot = (int)(k % GRAPH);
        /* Large blobs replace a chain (the old one dies); small ones are
         * pushed onto it. */
        if (sz > 32 * 1024) {
            GC_STORE(roots[slot], b);
        } else {
            GC_STORE(b->next, roots[slot]);
            GC_STORE(roots[slot], b);
        }
        if (k % 100 == 99)
            gc_collect();
    }
    sys_set_fail_after(0);
    /* Failures cleared: allocation works, marking verifies, nothing lost. */
    for (int i = 0; i < GRAPH; i++) {
        blob *b = new_blob(sizeof(blob) + 16, id++);
        ck_assert_ptr_nonnull(b);
        GC_STORE(b->next, roots[i]);
        GC_STORE(roots[i], b);
    }
    void *big = gc_alloc(5 << 20, NULL);
    ck_assert_ptr_nonnull(big);
    gc_collect();
    gc_collect();
    uint64_t live = verify_graph();
    ck_assert_uint_ge(live, GRAPH);
    fprintf(stderr, "fault: n=%llu enomem=%d bad_errno=%d live=%llu\n", (unsigned long long)n,
            o.enomem, o.bad_errno, (unsigned long long)live);
    gc_remove_roots(roots);
    gc_shutdown();
}

#define FIRST_N 1
#define LAST_N 90

START_TEST(test_fault_sweep) {
    int recovered = 0, enomem_runs = 0, fatal_runs = 0;
    for (uint64_t n = FIRST_N; n <= LAST_N; n++) {
        child_result r;
        run_in_child(scenario, (void *)(uintptr_t)n, &r);
        if (child_exited_ok(&r)) {
            int enomem = -1, bad = -1;
            const char *line = strstr(r.err, "fault: n=");
            ck_assert_msg(line != NULL, "n=%llu: no report:\n%s", (unsigned long long)n, r.err);
            ck_assert_int_eq(sscanf(line, "fault: n=%*u enomem=%d bad_errno=%d", &enomem, &bad),
                             2);
            ck_assert_msg(bad == 0, "n=%llu: gc_try_alloc returned NULL with errno != ENOMEM",
                          (unsigned long long)n);
            recovered++;
            if (enomem > 0)
                enomem_runs++;
        } else {
            /* Only a clear fatal error is acceptable: metadata that cannot
             * be reported as ENOMEM. */
            ck_assert_msg(child_aborted(&r), "n=%llu: child neither passed nor aborted (status %#x):\n%s",
                          (unsigned long long)n, r.status, r.err);
            ck_assert_msg(strncmp(r.err, "goheap: fatal error: ", 21) == 0,
                          "n=%llu: abort without a goheap fatal error first:\n%s",
                          (unsigned long long)n, r.err);
            const char *nl = strchr(r.err, '\n');
            size_t len = nl ? (size_t)(nl - r.err) : strlen(r.err);
            char first[512];
            snprintf(first, sizeof first, "%.*s", (int)(len < 511 ? len : 511), r.err);
            ck_assert_msg(strstr(first, "out of memory") != NULL,
                          "n=%llu: fatal error does not say 'out of memory': %s",
                          (unsigned long long)n, first);
            fprintf(stderr, "check_fault: n=%llu: %s\n", (unsigned long long)n, first);
            fatal_runs++;
        }
        child_result_free(&r);
    }
    fprintf(stderr, "check_fault: N=%d..%d: %d recovered (%d with ENOMEM), %d clear fatal errors\n",
            FIRST_N, LAST_N, recovered, enomem_runs, fatal_runs);
    ck_assert_int_gt(enomem_runs, 0);
    ck_assert_int_gt(recovered, fatal_runs);
}
END_TEST

/* gc_try_alloc of an impossible size: NULL + ENOMEM, and the heap goes on. */
START_TEST(test_fault_impossible_sizes) {
    gc_init();
    errno = 0;
    ck_assert_ptr_null(gc_try_alloc((size_t)1 << 60, NULL));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    volatile size_t huge = SIZE_MAX; /* hidden from -Walloc-size-larger-than */
    ck_assert_ptr_null(gc_try_alloc(huge, &blob_type));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_ptr_nonnull(gc_try_alloc(100, NULL));
    gc_collect();
    gc_shutdown();
}
END_TEST

/* The first mapping after arming fails: the very next refill or large
 * allocation must report ENOMEM (not crash), and the one after succeed. */
START_TEST(test_fault_next_large_fails) {
    gc_init();
    sys_set_fail_after(1);
    errno = 0;
    void *p = gc_try_alloc(64 << 20, NULL); /* needs a new reservation */
    ck_assert_ptr_null(p);
    ck_assert_int_eq(errno, ENOMEM);
    p = gc_try_alloc(64 << 20, NULL);
    ck_assert_ptr_nonnull(p);
    gc_collect();
    gc_shutdown();
}
END_TEST

int main(void) {
    Suite *s = suite_create("fault");
    TCase *tc = tcase_create("sysfail");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_fault_impossible_sizes);
    tcase_add_test(tc, test_fault_next_large_fails);
    tcase_add_test(tc, test_fault_sweep);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
