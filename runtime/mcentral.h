/*
 * mcentral.h — the central list of spans of one span class.  Go: mcentral.go
 *
 * Each span class has an mcentral holding the spans not cached by any thread,
 * in four lists: partial (some free object) and full (none), each split into
 * swept and unswept for the current cycle. The split is by sweepgen parity,
 * as in Go: index (sweepgen/2) % 2 holds the swept spans, the other the
 * unswept ones, so advancing sweepgen by 2 at the start of a sweep turns every
 * "swept" list into an "unswept" one without touching a span.
 *
 * Departure from Go: Go's lists are lock-free spanSets; here each mcentral
 * has a mutex. A list operation is a few pointer writes, mcentral is reached
 * only when a cached span runs out (once per span, not per object), and
 * spans are swept with the lock released.
 */
#ifndef GH_MCENTRAL_H
#define GH_MCENTRAL_H

#include "lock.h"
#include "span.h"

typedef struct span_list {
    mspan *first;
    uintptr_t count;
} span_list;

typedef struct mcentral {
    gh_mutex lock;
    span_class spanclass;
    span_list partial[2];
    span_list full[2];
} GH_ALIGNED(GH_CACHE_LINE) mcentral;

extern mcentral mcentrals[SC_NUM_SPAN_CLASSES];

void mcentral_init(void);

/* A span with at least one free object, swept, for an mcache; NULL when the
 * heap cannot grow. Go: (*mcentral).cacheSpan */
mspan *mcentral_cache_span(mcentral *c);

/* Takes back a span from an mcache. Go: (*mcentral).uncacheSpan */
void mcentral_uncache_span(mcentral *c, mspan *s);

/* Puts a swept span on the swept partial or full list of its class. */
void mcentral_push_swept(mspan *s, bool full);

/* Pops unswept spans of class c (partial ones first) into out, under one
 * acquisition of its lock: at least one, at most max (>= 1), stopping
 * once they hold npages pages. Returns how many; 0 when c has no unswept
 * span.
 * The caller must be counted an active sweeper (sweep_begin) from before
 * the call until it has claimed, swept and listed them. Used by the
 * sweepers of gc/sweep.c (sweep_batch). */
unsigned mcentral_pop_unswept_batch(mcentral *c, mspan **out, unsigned max, uintptr_t npages);

/* Lists n spans of class c, swept this cycle and uncached, on its swept
 * partial or full list, under one acquisition of its lock (sweep_batch,
 * and an mcache's full spans: runtime/mcache.c, "Full spans"). */
void mcentral_push_swept_batch(mcentral *c, mspan *const *spans, unsigned n);

/* Takes every swept, uncached span of class c holding no object off its
 * list, in one pass, and returns them chained through `next` (NULL if
 * none): the empty spans sweeping keeps for a cycle (gc/sweep.c). */
mspan *mcentral_take_empty(mcentral *c);

/* Removes s from whatever list holds it (under the right lock). Used by
 * the reclaimer, which finds spans through page bitmaps. */
void mcentral_remove(mspan *s);

#endif /* GH_MCENTRAL_H */
