/*
 * alloc.c — the allocation fast path: nanoseconds per object for objects that
 * die young, on one thread and on two, written once against bench_backend.h.
 *
 * Usage: bench_alloc_<system> SIZE [COUNT]
 *   SIZE is 16, 64, 256 or 4096 bytes; COUNT (default depends on SIZE, about
 *   a quarter of a second of work on a fast allocator) is the number of
 *   objects each thread allocates.
 *
 * What it measures: a thread allocates COUNT objects of SIZE bytes in a loop,
 * writes one word of each (so the object is really handed out and touched, as
 * any program would) and keeps only the last RING of them live in a ring of
 * roots. Everything older is garbage: collectors reclaim it, and the malloc
 * backends free the object that falls out of the ring, which is the same
 * program written with explicit frees. So the figure is the whole cost of a
 * short-lived object — allocation, clearing, and reclaiming it (sweeping,
 * marking the small live set, or free) — divided per object. The ring is
 * small (RING objects) so the live heap stays tiny and the test is about the
 * allocator path, not marking.
 *
 * Objects are "pointerful": the first word is a pointer field (left NULL), so
 * collectors use their scannable classes (goheap's scan spans, bdwgc's
 * GC_MALLOC), the common case in a language runtime; goheap's tiny allocator
 * (pointer-free objects under 16 bytes) is deliberately not what this
 * measures.
 *
 * The program runs the one-thread phase and then the two-thread phase (two
 * threads, each with its own ring, each allocating COUNT objects), and prints
 *
 *   RESULT name=alloc<SIZE>-1t       unit=ns/op  wall ns / COUNT
 *   RESULT name=alloc<SIZE>-2t       unit=ns/op  wall ns / (2 * COUNT)
 *   RESULT name=alloc<SIZE>-scaling  unit=x      2-thread throughput / 1-thread
 *
 * Scaling is computed inside one process from two adjacent phases, which
 * cancels most of the machine's noise; 2.0 is perfect on two idle cores.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_backend.h"
#include "bench_util.h"

/* Live objects per thread; a power of two so the index is a mask. */
#define RING 64

#define WORDS(n) ((n) / sizeof(void *))

/* One struct per size so goheap gets a compile-time GC_TYPE for each. */
typedef struct obj16 { void *p; uintptr_t w[WORDS(16) - 1]; } obj16;
typedef struct obj64 { void *p; uintptr_t w[WORDS(64) - 1]; } obj64;
typedef struct obj256 { void *p; uintptr_t w[WORDS(256) - 1]; } obj256;
typedef struct obj4096 { void *p; uintptr_t w[WORDS(4096) - 1]; } obj4096;

BE_TYPE(obj16_type, obj16, p);
BE_TYPE(obj64_type, obj64, p);
BE_TYPE(obj256_type, obj256, p);
BE_TYPE(obj4096_type, obj4096, p);

static const struct {
    size_t size;
    const be_type *type;
    long default_count;
} sizes[] = {
    {16, &obj16_type, 16000000},
    {64, &obj64_type, 8000000},
    {256, &obj256_type, 4000000},
    {4096, &obj4096_type, 500000},
};

/* The rings are static arrays, one per thread, registered as roots (goheap)
 * or found in static data (bdwgc). Each ring is a whole number of cache lines
 * so the two threads never share one. */
static _Alignas(64) void *rings[2][RING];

typedef struct job {
    int id; /* which ring */
    size_t size;
    const be_type *type;
    long count;
} job;

static void alloc_loop(const job *j) {
    void **ring = rings[j->id];
    for (long i = 0; i < j->count; i++) {
        /* o is in no frame, which goheap allows because no allocation
         * happens between here and the store into the ring (a root). */
        uintptr_t *o = be_alloc(j->size, j->type);
        o[1] = (uintptr_t)i;
        void **slot = &ring[i & (RING - 1)];
        if (BE_EXPLICIT_FREE)
            be_free(*slot);
        *slot = o;
    }
}

static void clear_ring(int id) {
    for (int k = 0; k < RING; k++) {
        if (BE_EXPLICIT_FREE)
            be_free(rings[id][k]);
        rings[id][k] = NULL;
    }
}

static void *worker(void *arg) {
    be_thread_register();
    alloc_loop(arg);
    be_thread_unregister();
    return NULL;
}

int main(int argc, char **argv) {
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    size_t which = 0;
    while (which < sizeof sizes / sizeof sizes[0] && sizes[which].size != size)
        which++;
    if (which == sizeof sizes / sizeof sizes[0]) {
        fprintf(stderr, "usage: %s 16|64|256|4096 [COUNT]\n", argv[0]);
        return 2;
    }
    long count = argc > 2 ? atol(argv[2]) : sizes[which].default_count;
    if (count <= 0) {
        fprintf(stderr, "%s: COUNT must be positive\n", argv[0]);
        return 2;
    }

    be_init();
    be_add_roots(rings, sizeof rings);

    job jobs[2] = {{0, size, sizes[which].type, count}, {1, size, sizes[which].type, count}};
    char name[32];

    double t0 = bench_now();
    alloc_loop(&jobs[0]);
    double one = bench_now() - t0;
    clear_ring(0);
    snprintf(name, sizeof name, "alloc%zu-1t", size);
    bench_result(name, BE_NAME, "ns/op", one * 1e9 / (double)count);

    pthread_t tid[2];
    t0 = bench_now();
    for (int t = 0; t < 2; t++)
        if (pthread_create(&tid[t], NULL, worker, &jobs[t]) != 0) {
            perror("pthread_create");
            return 1;
        }
    be_enter_blocking();
    for (int t = 0; t < 2; t++)
        pthread_join(tid[t], NULL);
    be_leave_blocking();
    double two = bench_now() - t0;
    snprintf(name, sizeof name, "alloc%zu-2t", size);
    bench_result(name, BE_NAME, "ns/op", two * 1e9 / (2.0 * (double)count));

    snprintf(name, sizeof name, "alloc%zu-scaling", size);
    bench_result(name, BE_NAME, "x", 2.0 * one / two);
    return 0;
}
