/*
 * stats.h — heap counters shared by the allocator, the sweeper and the pacer.
 *                                                              Go: mstats.go
 *
 * Counters change at span granularity (an mcache refill or release, a sweep,
 * a large allocation), never per small object, so the allocation fast path
 * counts nothing. They are atomics because refills and sweeps run on many
 * threads at once.
 */
#ifndef GH_STATS_H
#define GH_STATS_H

#include "atomics.h"
#include "goheap.h"

typedef struct heap_counters {
    volatile AO_t heap_live;   /* pacer's live heap: marked bytes at the last mark
                                  termination plus bytes cached or allocated since */
    volatile AO_t heap_alloc;  /* bytes of allocated objects, swept or not */
    volatile AO_t heap_scan;   /* bytes of objects with pointers (assist pacing) */
    volatile AO_t mallocs;
    volatile AO_t frees;
    volatile AO_t total_alloc;
    volatile AO_t tiny_allocs; /* objects packed by the tiny allocator */
} heap_counters;

extern heap_counters gstats;

/* Adds a signed delta to a counter. */
GH_INLINE void stat_add(volatile AO_t *c, intptr_t delta) { gh_xadd(c, (uintptr_t)delta); }

void stats_init(void);

#endif /* GH_STATS_H */
