/*
 * mcentral.c — central span lists per span class.           Go: mcentral.go
 *
 * See mcentral.h for the lists. cacheSpan first pays the sweep credit its
 * span owes (sweep_deduct_credit, gc/sweep.c), sweeping this class's own
 * unswept spans before other classes' and keeping the first that has a
 * free slot. Then it looks, in order, for a swept partial span; an unswept
 * partial span (sweeping it here, which finds its free slots); an unswept
 * full span (sweeping may free some slots), trying a bounded number of
 * those; and finally a new span from the mheap, after reclaiming dead spans
 * so the heap does not grow while garbage spans wait to be swept.
 *
 * Departure from Go: Go's deductSweepCredit sweeps whatever span comes next
 * and lists it, and cacheSpan then pops a span again. Keeping one of the
 * credit's own spans saves the listing and the pop, two acquisitions of
 * this class's lock per refill, the lock every thread allocating from the
 * class and background sweeping contend for (decisions.md, "Sweeping in
 * batches").
 *
 * Concurrency: the lists are guarded by mcentral.lock; a span is popped under
 * the lock and swept without it, having been claimed by the sweepgen CAS
 * (h-2 -> h-1). Lock order: mcentral.lock before mheap.lock (lock.h). A span
 * on a list has s->list set to that list; s->list is read and written only
 * under the owning mcentral's lock.
 */
#include "mcentral.h"

#include "mheap.h"
#include "stats.h"
#include "upcalls.h"

mcentral mcentrals[SC_NUM_SPAN_CLASSES];

/* How many unswept full spans cacheSpan sweeps looking for a free slot
 * before it gives up and allocates a new span (Go uses 100 too): bounds the
 * latency of one refill on a heap full of full spans. */
#define SWEEP_FULL_BUDGET 100

void mcentral_init(void) {
    for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++) {
        mcentral *c = &mcentrals[i];
        gh_mutex_init(&c->lock);
        c->spanclass = (span_class)i;
        c->partial[0] = c->partial[1] = c->full[0] = c->full[1] = (span_list){NULL, 0};
    }
}

static void list_push(span_list *l, mspan *s) {
    GH_ASSERT(s->list == NULL);
    s->prev = NULL;
    s->next = l->first;
    if (l->first != NULL)
        l->first->prev = s;
    l->first = s;
    l->count++;
    s->list = l;
}

static void list_remove(span_list *l, mspan *s) {
    GH_ASSERT(s->list == l);
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        l->first = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->list = NULL;
    l->count--;
}

static mspan *list_pop(span_list *l) {
    mspan *s = l->first;
    if (s != NULL)
        list_remove(l, s);
    return s;
}

GH_INLINE unsigned swept_index(uintptr_t sg) { return (sg / 2) % 2; }
GH_INLINE unsigned unswept_index(uintptr_t sg) { return 1 - (sg / 2) % 2; }

void mcentral_push_swept(mspan *s, bool full) {
    mcentral *c = &mcentrals[s->spanclass];
    uintptr_t sg = gh_load(&mheap_.sweepgen);
    gh_lock(&c->lock);
    list_push(full ? &c->full[swept_index(sg)] : &c->partial[swept_index(sg)], s);
    gh_unlock(&c->lock);
}

unsigned mcentral_pop_unswept_batch(mcentral *c, mspan **out, unsigned max, uintptr_t npages) {
    uintptr_t sg = gh_load(&mheap_.sweepgen), pages = 0;
    unsigned n = 0;
    gh_lock(&c->lock);
    while (n < max && (n == 0 || pages < npages)) {
        mspan *s = list_pop(&c->partial[unswept_index(sg)]);
        if (s == NULL)
            s = list_pop(&c->full[unswept_index(sg)]);
        if (s == NULL)
            break;
        out[n++] = s;
        pages += s->npages;
    }
    gh_unlock(&c->lock);
    return n;
}

void mcentral_push_swept_batch(mcentral *c, mspan *const *spans, unsigned n) {
    if (n == 0)
        return;
    uintptr_t sg = gh_load(&mheap_.sweepgen);
    bool large = sc_span_class_size(c->spanclass) == 0;
    gh_lock(&c->lock);
    for (unsigned i = 0; i < n; i++) {
        mspan *s = spans[i];
        GH_ASSERT(s->spanclass == c->spanclass && gh_load(&s->sweepgen) == sg);
        bool full = large || s->alloc_count == s->nelems;
        list_push(full ? &c->full[swept_index(sg)] : &c->partial[swept_index(sg)], s);
    }
    gh_unlock(&c->lock);
}

mspan *mcentral_take_empty(mcentral *c) {
    mspan *chain = NULL;
    gh_lock(&c->lock);
    span_list *l = &c->partial[swept_index(gh_load(&mheap_.sweepgen))];
    for (mspan *s = l->first, *next; s != NULL; s = next) {
        next = s->next;
        if (s->alloc_count != 0)
            continue;
        list_remove(l, s);
        s->next = chain;
        chain = s;
    }
    gh_unlock(&c->lock);
    return chain;
}

void mcentral_remove(mspan *s) {
    mcentral *c = &mcentrals[s->spanclass];
    gh_lock(&c->lock);
    if (s->list != NULL)
        list_remove((span_list *)s->list, s);
    gh_unlock(&c->lock);
}

/* Prepares a span with free objects for an mcache: positions alloc_cache at
 * freeindex. */
static mspan *have_span(mspan *s) {
    GH_ASSERT(s->alloc_count < s->nelems && s->freeindex < s->nelems);
    uintptr_t window = s->freeindex & ~(uintptr_t)63;
    span_refill_alloc_cache(s, window);
    s->alloc_cache >>= s->freeindex % 64;
    return s;
}

mspan *mcentral_cache_span(mcentral *c) {
    unsigned sc = sc_span_class_size(c->spanclass);
    uintptr_t span_bytes_ = (uintptr_t)sc_class_to_npages[sc] << GH_PAGE_SHIFT;
    mspan *s = sweep_deduct_credit(span_bytes_, c);
    if (s != NULL)
        return have_span(s);

    uintptr_t sg = gh_load(&mheap_.sweepgen);
    gh_lock(&c->lock);
    s = list_pop(&c->partial[swept_index(sg)]);
    if (s != NULL) {
        gh_unlock(&c->lock);
        return have_span(s);
    }
    sweep_begin();
    while ((s = list_pop(&c->partial[unswept_index(sg)])) != NULL) {
        if (sweep_claim(s, sg)) {
            gh_unlock(&c->lock);
            sweep_span(s, true);
            sweep_end();
            return have_span(s);
        }
        /* Being swept by someone else, who will list it when done. */
    }
    for (int budget = SWEEP_FULL_BUDGET; budget > 0; budget--) {
        s = list_pop(&c->full[unswept_index(sg)]);
        if (s == NULL)
            break;
        if (!sweep_claim(s, sg))
            continue;
        gh_unlock(&c->lock);
        sweep_span(s, true);
        gh_lock(&c->lock);
        if (s->freeindex < s->nelems && s->alloc_count < s->nelems) {
            gh_unlock(&c->lock);
            sweep_end();
            return have_span(s);
        }
        list_push(&c->full[swept_index(sg)], s);
    }
    gh_unlock(&c->lock);
    sweep_end();

    /* Nothing reusable: a new span, after reclaiming dead spans so the
     * heap grows only when garbage cannot cover the request. */
    uintptr_t npages = sc_class_to_npages[sc];
    sweep_reclaim(npages);
    s = mheap_alloc_span(npages, c->spanclass);
    if (s == NULL)
        return NULL;
    return have_span(s);
}

void mcentral_uncache_span(mcentral *c, mspan *s) {
    uintptr_t sg = gh_load(&mheap_.sweepgen);
    uintptr_t ssg = gh_load(&s->sweepgen);
    GH_ASSERT(ssg == sg + 1 || ssg == sg + 3);
    if (ssg == sg + 1) {
        /* Cached before this cycle's sweep began: sweep it now. The span
         * is ours, so claim it by store rather than CAS. */
        sweep_claim_owned(s, sg);
        sweep_span(s, false);
        return;
    }
    gh_store(&s->sweepgen, sg);
    bool full = s->alloc_count == s->nelems;
    gh_lock(&c->lock);
    list_push(full ? &c->full[swept_index(sg)] : &c->partial[swept_index(sg)], s);
    gh_unlock(&c->lock);
}
