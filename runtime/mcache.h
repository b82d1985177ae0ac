/*
 * mcache.h — a thread's private cache of spans, one per span class, and its
 * tiny-allocator block.                                        Go: mcache.go
 *
 * Allocating a small object takes the next free slot of the thread's span of
 * the object's span class (span_next_free_fast): no lock and no atomic. Only
 * when that span is full does mcache_refill trade it at the mcentral for one
 * with free slots. Empty slots of the cache point at `mcache_empty_span`, a
 * span with no free objects, so the fast path needs no NULL test.
 *
 * Accounting (Go's): when a span enters the cache, all its free slots are
 * counted as allocated (heap_live, heap_alloc, mallocs, total_alloc); when it
 * leaves, the slots it did not hand out are subtracted again. The fast path
 * therefore counts nothing, and the totals are exact whenever no span is
 * cached — as after gc_collect, which flushes every cache.
 *
 * Concurrency: an mcache belongs to its thread. Others touch it only while
 * that thread is stopped at a safepoint or parked in a blocking region (the
 * collector flushing caches at mark termination, gc_thread_unregister).
 */
#ifndef GH_MCACHE_H
#define GH_MCACHE_H

#include "span.h"

typedef struct mcache {
    mspan *alloc[SC_NUM_SPAN_CLASSES];
    /* Tiny allocator: the current 16-byte block and the next free offset in
     * it; tiny == 0 when there is no block. */
    uintptr_t tiny;
    uintptr_t tiny_offset;
    uint64_t tiny_allocs; /* objects packed into tiny blocks, not yet flushed */
    int64_t next_sample;  /* bytes to allocate before the next heap profile sample */
    uint64_t rng;         /* sampling randomness */
    /* Full spans this thread's refills handed back and that are not listed
     * at their mcentral yet, per class, chained through `next`, and their
     * number: listed MCACHE_FULL_BATCH at a time (mcache.c). */
    mspan *full[SC_NUM_SPAN_CLASSES];
    uint8_t nfull[SC_NUM_SPAN_CLASSES];
} mcache;

/* How many full spans of a class a refill collects before listing them
 * under one acquisition of the class lock. */
#define MCACHE_FULL_BATCH 8

extern mspan mcache_empty_span;

void mcache_init(mcache *c);

/* Replaces the cache's full span of class spc with one that has a free
 * object. Returns false if the heap could not provide one (out of memory).
 * May sweep. Go: (*mcache).refill */
bool mcache_refill(mcache *c, span_class spc);

/* Returns every cached span, and every full span not yet listed, to its
 * mcentral and flushes the counters. Go: (*mcache).releaseAll */
void mcache_release_all(mcache *c);

#endif /* GH_MCACHE_H */
