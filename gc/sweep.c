/*
 * sweep.c — sweeping: turning marks into free slots.          Go: mgcsweep.go
 *
 * Overview. After mark termination every in-use span is "unswept" (its
 * sweepgen is h-2, or h+1 if an mcache held it). Sweeping a span counts its
 * marked objects: those become the span's allocated objects for the next
 * cycle (the mark bytes, packed eight to a multiply, become the alloc bits;
 * span.h), and every other slot is free. A dead large object goes back to
 * the mheap; a small span with no marked object does too, with one cycle's
 * delay (below).
 *
 * Who sweeps, all concurrently with the mutators:
 *   - the collector thread between cycles, a batch at a time, yielding
 *     between batches (Go's bgsweep goroutine; see Batches below), until
 *     the next cycle is asked for; it also clears the slots it frees in a
 *     span it keeps listed, which the refill caching the span would
 *     otherwise clear on an allocating thread (decisions.md);
 *   - a thread refilling its mcache: mcentral sweeps the spans it pops
 *     (lazy sweeping), and first pays "sweep credit" in proportion to the
 *     bytes it is about to allocate (proportional sweep), so that sweeping
 *     finishes before the heap reaches the next trigger — from its own
 *     class first, keeping a swept span with a free slot for itself;
 *   - the reclaimer, before the mheap grows: it finds spans whose first page
 *     is in use but has no mark (heap_arena.page_in_use & ~page_marks) —
 *     spans in which nothing survived — and frees them without reading
 *     their marks object by object (Go's mheap.reclaim);
 *   - gc_collect and the next cycle's sweep termination, which finish
 *     whatever is left (sweep_finish).
 *
 * Empty spans. Go frees every small span in which nothing survived, and
 * the next refill of that size class allocates a new one: for objects that
 * die young that is every span, every cycle — a page-allocator free and
 * allocation (summary updates under the mheap lock, contended by every
 * allocating thread), new bitmaps and a rewrite of the heap bits, per span.
 * Here a span that emptied is listed on its class's partial list instead
 * if it was allocated from since its last sweep (alloc_count > 0): the
 * class is in use and will likely want it back within the cycle. One that
 * was not — it sat empty through a whole cycle — goes back to the mheap.
 * So an empty span is returned at most one cycle late, and the heap in use
 * never exceeds what the last cycle used. Two sweepers free every empty
 * span at once, as Go does: the reclaimer, whose job is to find pages
 * before the heap grows, and sweep_release_empty (gc_collect), so that an
 * explicit collection leaves free pages to the scavenger as in Go.
 * (decisions.md, "Empty spans stay a cycle".)
 *
 * Under valgrind's memcheck, sweep_span first tells memcheck which objects
 * die (track_sweep_frees, track.h), so a later use of one is reported.
 * Sweepers read the new sweepgen with acquire loads: it is what orders this
 * cycle's marks before the sweep that reads them.
 *
 * Invariant: a span is swept at most once per cycle. Every sweeper claims a
 * span with sweep_claim (CAS of sweepgen h-2 -> h-1; only the owning mcache
 * may claim its own stale span, by plain store, h+1 -> h-1), and only the
 * claimant sweeps it. sweep_span asserts it holds the claim (sweepgen ==
 * h-1) and ends by publishing sweepgen = h.
 *
 * Nobody sweeps across a change of h. Mutators sweep only between
 * safepoints, so the world never stops under them; background sweeping
 * runs on the collector thread between cycles, and that thread is the one
 * that advances h. The h a sweeper reads holds until it is done. The
 * collector sweeps each background batch holding bg_lock, so that
 * sweep_bg_stop (shutdown, tests) returns only once no batch is running.
 *
 * Batches. Background and proportional sweeping (sweep_batch)
 * take up to SWEEP_BATCH_SPANS unswept spans of one class off its lists
 * under one acquisition of the class lock, claim and sweep them one by one
 * with the lock released, and list the survivors under one more. A span at
 * a time cost two acquisitions per span, and the class lock is the one the
 * allocating threads refilling that class take: a sweeper on another CPU
 * taking it for every span bounced its cache line against theirs. The claim
 * stays per span and lazy, so the reclaimer may still take a popped span
 * (its claim then fails here, and it lists the span itself). Proportional
 * sweep asks for the pages it owes and gets no more than one span past them;
 * background sweeping yields once per batch: the yield is a system call
 * here, not Go's goroutine switch. (decisions.md, "Sweeping in batches".)
 *
 * Termination: `sweepers_active` counts sweeps in progress, from before a
 * sweeper pops spans off a list until it has swept and listed them
 * (sweep_begin/end bracket a batch; a span claimed alone, by sweep_claim,
 * counts from the claim to the end of its sweep); sweeping is
 * done when no unswept span is listed (`sweep_drained`) and none is active.
 * sweep_finish waits for both, which is how gc_collect returns with sweeping
 * finished and how a cycle knows the previous sweep is complete.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "mcentral.h"
#include "mheap.h"
#include "scavenge.h"
#include "special.h"
#include "stats.h"
#include "track.h"
#include "upcalls.h"

static volatile AO_t sweepers_active;
static volatile AO_t sweep_drained;
static volatile AO_t sweep_class_cursor; /* next span class to take spans from */
static volatile AO_t reclaim_cursor;     /* next page-bitmap word for the reclaimer */
static volatile AO_t pages_swept;        /* this cycle */

/* The most spans a sweeper takes off a class's lists at once (sweep_batch).
 * Each batch costs two acquisitions of the class lock, for the pop and for
 * the listing of the swept spans, instead of two per span; and while a
 * batch is swept its spans are off the lists, where a refill of that class
 * cannot find them, so it stays small. */
#define SWEEP_BATCH_SPANS 8

/* Proportional sweep pacing (Go's sweepPagesPerByte): pages to sweep per
 * byte allocated, set at each mark termination; the bits of a double. */
static volatile AO_t pages_per_byte_bits;
static volatile AO_t heap_live_basis;

/* Acquire: pairs with mark_termination's release of the new sweepgen, so
 * the marks a sweep reads are the finished cycle's. */
static uint64_t current_sweepgen(void) { return gh_load_acquire(&mheap_.sweepgen); }

void sweep_begin(void) { gh_xadd(&sweepers_active, 1); }
void sweep_end(void) { gh_xadd(&sweepers_active, (uintptr_t)-1); }

/* The claim itself: CAS of s's sweepgen from h-2 to h-1, h = sg. */
static bool claim_span(mspan *s, uintptr_t sg) { return gh_cas(&s->sweepgen, sg - 2, sg - 1); }

bool sweep_claim(mspan *s, uintptr_t sg) {
    gh_xadd(&sweepers_active, 1);
    if (claim_span(s, sg))
        return true;
    gh_xadd(&sweepers_active, (uintptr_t)-1);
    return false;
}

void sweep_claim_owned(mspan *s, uintptr_t sg) {
    gh_xadd(&sweepers_active, 1);
    gh_store(&s->sweepgen, sg - 1);
}

/* Packs s's mark bytes into a new alloc bitmap, *alloc; returns how many
 * objects are marked. A 64-bit word at a time, so counting is one popcount
 * per word (a popcount call per byte, libgcc's without -mpopcnt, once cost
 * as much as the rest of a small span's sweep). */
static uintptr_t pack_marks(const mspan *s, uint8_t **alloc) {
    uint8_t *bits = gcbits_new(s->nelems);
    uintptr_t n = 0, words = GH_DIV_ROUND_UP(s->nelems, 64);
    for (uintptr_t w = 0; w < words; w++) {
        uint64_t word = span_pack_marks(s, w);
        memcpy(bits + w * 8, &word, sizeof word);
        n += (uintptr_t)__builtin_popcountll(word);
    }
    *alloc = bits;
    return n;
}

/* Tells memcheck (track.h) that every object this sweep frees is gone: a
 * slot was allocated if its alloc bit is set or it lies below freeindex
 * (allocated since the last sweep), and dies if it is not marked. Go does
 * the same walk for msan/asan in (*sweepLocked).sweep. */
static GH_NOINLINE void track_sweep_frees(const mspan *s) {
    for (uintptr_t i = 0; i < s->nelems; i++)
        if (!span_is_marked(s, i) && (i < s->freeindex || bits_test(s->alloc_bits, i)))
            gh_track_free(s->startaddr + i * s->elemsize);
}

/* What a sweep does with the span afterwards (see "Empty spans" above). */
typedef enum {
    SWEEP_PRESERVE, /* nothing: the caller (mcentral) takes the span */
    SWEEP_LIST,     /* list it; free it if it stayed empty a whole cycle */
    SWEEP_RECLAIM,  /* list it; free it if it is empty (the reclaimer) */
    SWEEP_BATCH,    /* as SWEEP_LIST, but the caller lists it (sweep_batch) */
} sweep_mode;

/* What sweeps free, added up over a batch of spans and published once:
 * these counters are shared by every allocating thread and sweeper, and
 * their atomic additions, six per span with the active count, were most of
 * the time a small span's sweep took. */
typedef struct sweep_tally {
    uintptr_t frees, freed_bytes, freed_scan_bytes, pages;
} sweep_tally;

static void tally_publish(const sweep_tally *t) {
    if (t->pages == 0)
        return;
    stat_add(&gstats.frees, (intptr_t)t->frees);
    stat_add(&gstats.heap_alloc, -(intptr_t)t->freed_bytes);
    if (t->freed_scan_bytes != 0)
        stat_add(&gstats.heap_scan, -(intptr_t)t->freed_scan_bytes);
    gh_xadd(&pages_swept, t->pages);
}

/* Sweeps s, claimed. With batch NULL, s was claimed by sweep_claim: its
 * counts are published and its active count dropped here. Otherwise s is
 * part of a batch (sweep_class_batch), whose bracket counts it active, and
 * its counts are added to *batch for the batch to publish. */
static bool sweep_span_mode(mspan *s, sweep_mode mode, sweep_tally *batch) {
    uintptr_t sg = current_sweepgen();
    GH_ASSERT(gh_load(&s->sweepgen) == sg - 1);
    GH_ASSERT(gh_load(&s->state) == SPAN_IN_USE);
    bool large = sc_span_class_size(s->spanclass) == 0;
    bool noscan = sc_span_class_noscan(s->spanclass);
    /* Specials first: reviving finalizable objects sets marks. */
    heap_arena *ha = arena_of(s->startaddr);
    if (arena_page_bit(ha->page_specials, arena_page_index(s->startaddr)))
        specials_sweep(s);
    uint8_t *next_alloc_bits;
    uintptr_t nalloc = pack_marks(s, &next_alloc_bits);
    uintptr_t nfreed = s->alloc_count - nalloc;
    GH_ASSERT(s->alloc_count >= nalloc);

    if (s->obj_types != NULL) {
        for (uintptr_t i = 0; i < s->nelems; i++)
            if (!span_is_marked(s, i))
                s->obj_types[i] = NULL;
    }

    if (track_enabled)
        track_sweep_frees(s);

    /* The survivors are the next cycle's allocated objects. */
    s->alloc_count = (uint16_t)nalloc;
    s->freeindex = 0;
    s->alloc_bits = next_alloc_bits;
    s->mark_bytes = gcbits_new_marks(s->nelems);
    span_refill_alloc_cache(s, 0);
    if (nfreed != 0)
        s->needzero = true;

    sweep_tally one = {0}, *t = batch != NULL ? batch : &one;
    uintptr_t freed_bytes = nfreed * s->elemsize;
    t->frees += nfreed;
    t->freed_bytes += freed_bytes;
    if (!noscan)
        t->freed_scan_bytes += freed_bytes;
    t->pages += s->npages;

    /* nfreed == 0 with nalloc == 0: nothing was allocated in the span
     * since its last sweep, which already found it empty. */
    bool free_it = mode != SWEEP_PRESERVE && nalloc == 0 &&
                   (large || mode == SWEEP_RECLAIM || nfreed == 0);
    gh_store_release(&s->sweepgen, sg);
    if (free_it)
        mheap_free_span(s);
    else if (mode == SWEEP_LIST || mode == SWEEP_RECLAIM)
        mcentral_push_swept(s, large || nalloc == s->nelems);
    if (batch == NULL) {
        tally_publish(&one);
        gh_xadd(&sweepers_active, (uintptr_t)-1);
    }
    return free_it;
}

bool sweep_span(mspan *s, bool preserve) {
    return sweep_span_mode(s, preserve ? SWEEP_PRESERVE : SWEEP_LIST, NULL);
}

void (*sweep_batch_test_hook)(mspan *const *spans, unsigned n);

/* Sweeps a batch of c's unswept spans (see sweep_batch), adding the pages
 * swept to *swept; returns how many spans it popped, 0 if c had none. With
 * take non-NULL and *take NULL, the first span found with a free slot
 * after its sweep is not listed but stored in *take, for the caller's
 * mcache. With `clear` (background sweeping), the slots freed in a span
 * that stays listed are cleared here, off the allocating threads' path:
 * the refill that caches the span then has nothing to clear. The caller
 * brackets the call with sweep_begin/end. */
static unsigned sweep_class_batch(mcentral *c, uintptr_t npages, uintptr_t sg,
                                  uintptr_t *swept, mspan **take, bool clear) {
    mspan *popped[SWEEP_BATCH_SPANS], *keep[SWEEP_BATCH_SPANS];
    unsigned n = mcentral_pop_unswept_batch(c, popped, SWEEP_BATCH_SPANS, npages);
    unsigned nkeep = 0;
    sweep_tally tally = {0};
    for (unsigned k = 0; k < n; k++) {
        mspan *s = popped[k];
        /* A claim fails if the reclaimer claimed s after the pop: it sweeps
         * s and lists it itself. (Not counted active: the caller's bracket
         * covers the whole batch.) */
        if (!claim_span(s, sg))
            continue;
        *swept += s->npages;
        if (take != NULL && *take == NULL) {
            /* Preserved (never freed, even if empty) as cacheSpan's own
             * sweeps are: the caller wants a span of this class. */
            sweep_span_mode(s, SWEEP_PRESERVE, &tally);
            if (s->alloc_count < s->nelems) {
                *take = s;
                continue;
            }
            keep[nkeep++] = s;
        } else if (!sweep_span_mode(s, SWEEP_BATCH, &tally)) {
            /* Still the batch's (swept, unlisted): nobody else touches it. */
            if (clear && s->needzero && sc_span_class_size(s->spanclass) != 0)
                span_clear_free_slots(s);
            keep[nkeep++] = s;
        }
    }
    if (sweep_batch_test_hook != NULL)
        sweep_batch_test_hook(keep, nkeep);
    mcentral_push_swept_batch(c, keep, nkeep);
    tally_publish(&tally);
    return n;
}

/* sweep_batch, clearing what it frees when `clear` (sweep_class_batch). */
static uintptr_t sweep_batch_clearing(uintptr_t npages, bool clear) {
    /* Counted active from before the pop until the spans are listed: spans
     * popped but not yet claimed, or swept but not yet listed, are on no
     * list, and must not let sweep_finish conclude that sweeping is over.
     * The bracket alone covers the batch's spans: their claims are not
     * counted one by one (sweep_class_batch). */
    sweep_begin();
    uintptr_t sg = current_sweepgen(), swept = 0;
    for (;;) {
        uintptr_t i = gh_load(&sweep_class_cursor);
        if (i >= SC_NUM_SPAN_CLASSES) {
            /* The first to find the lists empty wakes the scavenger: the
             * cycle's free pages are now free (arena/scavenge.c). */
            if (gh_cas(&sweep_drained, 0, 1))
                scav_wake();
            break;
        }
        if (sweep_class_batch(&mcentrals[i], npages, sg, &swept, NULL, clear) == 0)
            gh_cas(&sweep_class_cursor, i, i + 1);
        else if (swept != 0)
            break;
        /* Else every span of the batch was the reclaimer's: take another. */
    }
    sweep_end();
    return swept;
}

uintptr_t sweep_batch(uintptr_t npages) { return sweep_batch_clearing(npages, false); }

void sweep_finish(void) {
    while (sweep_batch(UINTPTR_MAX) != 0) {
    }
    while (gh_load(&sweepers_active) != 0)
        sched_yield();
}

void sweep_release_empty(void) {
    for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++) {
        for (mspan *s = mcentral_take_empty(&mcentrals[i]), *next; s != NULL; s = next) {
            next = s->next;
            s->next = NULL;
            mheap_free_span(s);
        }
    }
}

static double pages_per_byte(void) {
    uint64_t bits = gh_load(&pages_per_byte_bits);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

void sweep_start_cycle(uint64_t heap_live, uint64_t sweep_by) {
    gh_store(&sweep_drained, 0);
    gh_store(&sweep_class_cursor, 0);
    gh_store(&reclaim_cursor, 0);
    gh_store(&pages_swept, 0);
    /* Sweep every in-use page by the time the heap grows from heap_live to
     * sweep_by (the next trigger), keeping a margin (Go keeps 1 MiB) so
     * rounding cannot leave pages unswept when it is reached. */
    double pages = (double)gh_load(&mheap_.pages_inuse);
    double runway = (double)sweep_by - (double)heap_live - 1024.0 * 1024.0;
    double ppb = runway > 0 ? pages / runway : 0;
    if (runway <= 0)
        ppb = INFINITY; /* no runway: sweep everything on the next allocation */
    uint64_t bits;
    memcpy(&bits, &ppb, sizeof bits);
    gh_store(&pages_per_byte_bits, bits);
    gh_store(&heap_live_basis, heap_live);
}

mspan *sweep_deduct_credit(uintptr_t bytes, mcentral *own) {
    double ppb = pages_per_byte();
    if (ppb == 0 || gh_load(&sweep_drained))
        return NULL;
    double live = (double)(gh_load(&gstats.heap_live) + bytes) - (double)gh_load(&heap_live_basis);
    double target = isinf(ppb) ? INFINITY : ppb * live;
    mspan *take = NULL;
    for (;;) {
        double owed = target - (double)gh_load(&pages_swept);
        if (owed <= 0)
            break;
        /* What is owed, in one batch if the spans are there to take. */
        uintptr_t npages = owed >= (double)UINTPTR_MAX ? UINTPTR_MAX : (uintptr_t)ceil(owed);
        if (own != NULL) {
            /* The refilling class's own spans first: one of them can go
             * straight to the caller's mcache, unlisted. */
            sweep_begin();
            uintptr_t sg = current_sweepgen(), swept = 0;
            unsigned n = sweep_class_batch(own, npages, sg, &swept, &take, false);
            sweep_end();
            if (n == 0)
                own = NULL; /* none left unswept: pay with other classes */
            continue;
        }
        if (sweep_batch(npages) == 0)
            break;
    }
    return take;
}

void sweep_reclaim(uintptr_t npages) {
    if (gh_load(&sweep_drained))
        return;
    uintptr_t sg = current_sweepgen();
    uintptr_t reclaimed = 0;
    while (reclaimed < npages) {
        uintptr_t w = gh_xadd(&reclaim_cursor, 1);
        uintptr_t ai = w / GH_PAGE_WORDS, wi = w % GH_PAGE_WORDS;
        if (ai >= arena_count())
            return;
        heap_arena *ha = arena_at(ai);
        uint64_t dead = gh_load(&ha->page_in_use[wi]) & ~gh_load(&ha->page_marks[wi]);
        while (dead != 0) {
            unsigned bit = (unsigned)__builtin_ctzll(dead);
            dead &= dead - 1;
            mspan *s = (mspan *)gh_load(&ha->spans[wi * 64 + bit]);
            if (s == NULL || !sweep_claim(s, sg))
                continue;
            mcentral_remove(s);
            uintptr_t n = s->npages;
            if (sweep_span_mode(s, SWEEP_RECLAIM, NULL))
                reclaimed += n;
        }
    }
}

/* --- background sweeping --- */

/* Whether the collector thread may sweep between cycles (tests turn it
 * off); bg_lock is held for each batch it sweeps, so sweep_bg_stop can wait
 * for the batch in progress. */
static volatile AO_t bg_enabled;
static pthread_mutex_t bg_lock = PTHREAD_MUTEX_INITIALIZER;

void sweep_background(bool (*interrupted)(void)) {
    while (gh_load(&bg_enabled) && !interrupted()) {
        pthread_mutex_lock(&bg_lock);
        uintptr_t pages = gh_load(&bg_enabled) ? sweep_batch_clearing(UINTPTR_MAX, true) : 0;
        pthread_mutex_unlock(&bg_lock);
        if (pages == 0)
            return;
        /* Yield between batches so that mutators keep the CPU they need (a
         * yield is a system call here, not Go's cheap goroutine switch: one
         * per span cost more than many spans). */
        sched_yield();
    }
}

void sweep_bg_start(void) { gh_store(&bg_enabled, 1); }

void sweep_bg_stop(void) {
    gh_store(&bg_enabled, 0);
    pthread_mutex_lock(&bg_lock); /* the batch in progress, if any, is done */
    pthread_mutex_unlock(&bg_lock);
}
