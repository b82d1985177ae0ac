/*
 * mcache.c — per-thread span caches: refill and release.       Go: mcache.go
 *
 * See mcache.h for the accounting. Refill is where a thread meets the rest
 * of the heap: it is the place the allocator checks the GC trigger (before
 * taking a span, so that a cycle started here sees the span as uncached),
 * and mcentral_cache_span may sweep.
 *
 * Full spans. A span handed back full (the refill's usual case) is swept
 * for this cycle and useless to anyone until the next cycle's sweep: it
 * only needs to be on its class's swept full list by the time sweepgen
 * advances, for that sweep to find it. So a refill marks it swept and keeps
 * it in `full`, and lists MCACHE_FULL_BATCH of them at once, instead of
 * taking the class lock — the one every thread allocating from the class
 * contends for — once per refill to list one. mcache_release_all lists the
 * rest; mark termination runs it for every thread before it advances
 * sweepgen, and gc_thread_unregister when a thread leaves. A span kept here
 * is on no list and in no alloc slot, with sweepgen h: no sweeper can claim
 * it and the reclaimer passes it by. A span cached before the current sweep
 * began (sweepgen h+1) still goes back through mcentral_uncache_span, which
 * sweeps it. (decisions.md, "Sweeping in batches".)
 */
#include "mcache.h"

#include <string.h>

#include "mcentral.h"
#include "mheap.h"
#include "thread.h"
#include "special.h"
#include "stats.h"
#include "upcalls.h"

/* A span with no free object and no pages: the fast path finds it full and
 * takes the slow path. Never swept, never listed. */
mspan mcache_empty_span;

/* Lists c's full spans of class spc (see "Full spans" above). */
static void list_full(mcache *c, span_class spc) {
    mspan *spans[MCACHE_FULL_BATCH];
    unsigned n = 0;
    for (mspan *s = c->full[spc], *next; s != NULL; s = next) {
        next = s->next;
        GH_ASSERT(s->alloc_count == s->nelems);
        s->next = NULL;
        spans[n++] = s;
    }
    mcentral_push_swept_batch(&mcentrals[spc], spans, n);
    c->full[spc] = NULL;
    c->nfull[spc] = 0;
}

/* Takes back the full span s of class spc from the cache. */
static void hand_back_full(mcache *c, span_class spc, mspan *s) {
    uintptr_t sg = gh_load(&mheap_.sweepgen);
    if (gh_load(&s->sweepgen) != sg + 3) {
        mcentral_uncache_span(&mcentrals[spc], s); /* sweeps it */
        return;
    }
    gh_store(&s->sweepgen, sg);
    s->next = c->full[spc];
    c->full[spc] = s;
    if (++c->nfull[spc] == MCACHE_FULL_BATCH)
        list_full(c, spc);
}

void mcache_init(mcache *c) {
    for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++)
        c->alloc[i] = &mcache_empty_span;
    c->tiny = c->tiny_offset = 0;
    c->tiny_allocs = 0;
    c->rng = (uintptr_t)c * 0x9E3779B97F4A7C15ull;
    c->next_sample = profile_next_sample();
    for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++) {
        c->full[i] = NULL;
        c->nfull[i] = 0;
    }
}

/* Counts the free slots of s as allocated (it enters a cache). */
static void account_cached(mspan *s, intptr_t sign) {
    intptr_t nfree = (intptr_t)s->nelems - (intptr_t)s->alloc_count;
    intptr_t bytes = nfree * (intptr_t)s->elemsize;
    stat_add(&gstats.heap_live, sign * bytes);
    stat_add(&gstats.heap_alloc, sign * bytes);
    stat_add(&gstats.total_alloc, sign * bytes);
    stat_add(&gstats.mallocs, sign * nfree);
    if (!sc_span_class_noscan(s->spanclass))
        stat_add(&gstats.heap_scan, sign * bytes);
}

bool mcache_refill(mcache *c, span_class spc) {
    mspan *s = c->alloc[spc];
    if (s != &mcache_empty_span) {
        GH_ASSERT(s->alloc_count == s->nelems);
        c->alloc[spc] = &mcache_empty_span;
        if (s->alloc_black)
            mark_span_unmark_unused(thr_self, s);
        hand_back_full(c, spc, s);
    }
    /* A safepoint: the cycle may need this thread (stop, handshake); and the
     * place to start a cycle or pay for allocating during one. */
    gc_safepoint();
    cycle_maybe_start();
    mark_assist_alloc(thr_self, (uintptr_t)sc_class_to_npages[sc_span_class_size(spc)] << GH_PAGE_SHIFT);
    s = mcentral_cache_span(&mcentrals[spc]);
    if (s == NULL)
        return false;
    account_cached(s, 1);
    if (s->needzero)
        span_clear_free_slots(s);
    /* Cached and swept: the sweeper leaves it alone this cycle. */
    gh_store(&s->sweepgen, gh_load(&mheap_.sweepgen) + 3);
    c->alloc[spc] = s;
    if (gh_load(&alloc_hooks) & ALLOC_HOOK_MARKING)
        mark_span_free_slots(thr_self, s);
    return true;
}

void mcache_release_all(mcache *c) {
    gh_thread *owner = (gh_thread *)((char *)c - offsetof(gh_thread, cache));
    for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++) {
        if (c->nfull[i] != 0)
            list_full(c, (span_class)i);
        mspan *s = c->alloc[i];
        if (s == &mcache_empty_span)
            continue;
        account_cached(s, -1);
        c->alloc[i] = &mcache_empty_span;
        if (s->alloc_black)
            mark_span_unmark_unused(owner, s);
        mcentral_uncache_span(&mcentrals[i], s);
    }
    c->tiny = c->tiny_offset = 0;
    stat_add(&gstats.tiny_allocs, (intptr_t)c->tiny_allocs);
    c->tiny_allocs = 0;
}
