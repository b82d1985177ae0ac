/*
 * mheap.c — the page heap.                                       Go: mheap.go
 *
 * Overview. The mheap owns all heap address space. mcentral asks it for
 * spans of a size class when its lists run dry, the allocator asks it for a
 * span per large object (> 32 KiB), and the sweeper gives back spans whose
 * objects all died. Runs of free pages are found by the page allocator
 * (pagealloc.c); the mheap adds what the page allocator cannot know: the
 * mspan records, the heap_arena metadata (spans, page_in_use, zeroed_base)
 * and growth of the heap.
 *
 * Growth. Address space is reserved a whole number of 64 MiB arenas at a
 * time (PROT_NONE) and handed to the page allocator in 4 MiB steps, each
 * committed read-write as it is handed over, so the heap's committed size
 * follows its use. When a request does not fit in what is left of the
 * current reservation, the rest is handed over too and a new reservation
 * starts, sized to fit requests of any size.
 *
 * Zeroing. Memory fresh from the OS is zero. Each heap_arena's zeroed_base
 * records how far allocation has ever reached in that arena; a span lying
 * entirely at or above it, or made entirely of scavenged pages (whose
 * contents the OS discarded), needs no clearing, and the allocator skips the
 * memset (Go's allocNeedsZero). This is why fresh spans are never cleared.
 * A span mixing scavenged pages with dirty unscavenged ones is cleared whole.
 *
 * Scavenging. After a span allocation that backed scavenged pages or grew
 * the heap, scav_after_alloc (scavenge.c) returns other free pages to the OS
 * with the lock dropped, to keep under the memory limit and the retained
 * goal (Go's allocSpan does the same).
 *
 * Slow kernel work with the world free to stop. Faulting in a fresh span's
 * pages and scavenging after a growth are system calls that took 0.3 to
 * 3 ms here (instrumented runs of the pause benchmark's build phase, on a
 * virtual machine, for pages the scavenger had returned). The thread doing
 * them is in an allocation's slow path, between safepoints: a stop
 * requested meanwhile (often by this very thread, whose refill crossed the
 * trigger) waited for the system call, and the pause grew by as much. So
 * the allocating thread does that work with its pages reserved in the page
 * allocator but no span built on them yet, parked as in a blocking region
 * (thr_stoppable_begin, runtime/thread.c): the world may stop and even a
 * whole cycle run, and the span is built afterwards with whatever sweepgen
 * and mark epoch are current then. Pages reserved but not yet in a span are
 * in no list, in no page_in_use bit and in no spans[] entry, so no sweeper,
 * reclaimer, scavenger or marker can reach them. Go does this work in
 * mallocgc without letting the world stop.
 *
 * Invariants (checked by mheap_verify at every mark termination when
 * GH_DEBUG >= 3, and by tests/unit/check_arena.c):
 *   I1. A page belongs to at most one in-use span; heap_arena.spans maps
 *       every page of every in-use span to it.
 *   I2. page_in_use has exactly the first page of every in-use span set.
 *   I3. pages_inuse equals the sum of npages over in-use spans.
 *
 * Memcheck (track.h). Pages handed to the page allocator and spans given
 * back are noaccess to valgrind's memcheck until an allocation describes an
 * object in them; gc_shutdown frees every live object's block first
 * (mheap_release_all), so memcheck's block list does not outlive the heap.
 *
 * Concurrency. Everything here runs under mheap.lock except the readers of
 * spans[] (span_of), which are lock-free: a span is fully initialised before
 * its pages are published in spans[], and its state is set to in-use with a
 * release store last. Lock order: mheap.lock is taken after any mcentral lock
 * and before gcbits_lock (lock.h).
 */
#include "mheap.h"

#include <stdlib.h>
#include <string.h>

#include "scavenge.h"
#include "sys.h"
#include "track.h"

mheap mheap_;

/* Heap memory is handed to the page allocator in steps of this many bytes
 * (Go's pallocChunkBytes): large enough that growth is rare, small enough
 * that committed memory tracks use. */
#define GROW_STEP ((uintptr_t)4 << 20)

/* mspan records are carved from blocks of this size. The first record of
 * each block links the blocks for gc_shutdown. */
#define SPAN_BLOCK_BYTES ((size_t)64 << 10)

static mspan *span_blocks;

/* mheap_alloc_span clears a record around these two atomic fields. */
GH_STATIC_ASSERT(offsetof(mspan, state) == offsetof(mspan, sweepgen) + sizeof(AO_t) &&
                     offsetof(mspan, elemsize) == offsetof(mspan, state) + sizeof(AO_t),
                 "mspan: sweepgen, state, elemsize are adjacent");

void mheap_init(void) {
    track_init();
    gh_mutex_init(&mheap_.lock);
    pa_init(&mheap_.pages);
    mheap_.cur_base = mheap_.cur_end = 0;
    mheap_.free_spans = NULL;
    gh_store(&mheap_.sweepgen, 0);
    gh_store(&mheap_.heap_sys, 0);
    gh_store(&mheap_.pages_inuse, 0);
    gh_store(&mheap_.span_count, 0);
}

/* A dead mspan record. Called with the lock held. */
static mspan *span_record_alloc(void) {
    if (mheap_.free_spans == NULL) {
        mspan *block = sys_alloc(SPAN_BLOCK_BYTES);
        if (block == NULL)
            return NULL;
        block[0].next = span_blocks;
        span_blocks = block;
        for (size_t i = 1; i < SPAN_BLOCK_BYTES / sizeof(mspan); i++) {
            block[i].next = mheap_.free_spans;
            mheap_.free_spans = &block[i];
        }
    }
    mspan *s = mheap_.free_spans;
    mheap_.free_spans = s->next;
    return s;
}

/* Hands [base, base+bytes) to the page allocator, committing it first. */
static bool hand_over(uintptr_t base, uintptr_t bytes) {
    if (!sys_map((void *)base, bytes))
        return false;
    gh_track_noaccess(base, bytes); /* no object lives here yet */
    pa_grow(&mheap_.pages, base, bytes >> GH_PAGE_SHIFT);
    gh_xadd(&mheap_.heap_sys, bytes);
    return true;
}

/* Makes at least npages more free pages available. Called with the lock
 * held; false when the OS refuses address space or memory. Go: (*mheap).grow */
static bool grow(uintptr_t npages) {
    uintptr_t need = GH_ALIGN_UP(npages << GH_PAGE_SHIFT, GROW_STEP);
    if (need < (npages << GH_PAGE_SHIFT))
        return false; /* overflow: no such heap */
    if (mheap_.cur_end - mheap_.cur_base < need) {
        /* Finish the current reservation, then start a new one. */
        if (mheap_.cur_end > mheap_.cur_base && !hand_over(mheap_.cur_base, mheap_.cur_end - mheap_.cur_base))
            return false;
        mheap_.cur_base = mheap_.cur_end = 0;
        uintptr_t reserve = GH_ALIGN_UP(need, GH_ARENA_BYTES);
        void *p = sys_reserve(reserve, GH_ARENA_BYTES);
        if (p == NULL)
            return false;
        if (!arena_register((uintptr_t)p, reserve)) {
            sys_free(p, reserve);
            return false;
        }
        mheap_.cur_base = (uintptr_t)p;
        mheap_.cur_end = (uintptr_t)p + reserve;
    }
    if (!hand_over(mheap_.cur_base, need))
        return false;
    mheap_.cur_base += need;
    return true;
}

/* Does [base, base+bytes) possibly hold old data? Advances zeroed_base of
 * each arena it touches. Go: (*mheap).allocNeedsZero */
static bool alloc_needs_zero(uintptr_t base, uintptr_t bytes) {
    bool needzero = false;
    for (uintptr_t p = base; p < base + bytes;) {
        heap_arena *ha = arena_of(p);
        uintptr_t off = p - ha->base;
        uintptr_t end = GH_MIN(base + bytes - ha->base, GH_ARENA_BYTES);
        if (off < ha->zeroed_base)
            needzero = true;
        if (end > ha->zeroed_base)
            ha->zeroed_base = end;
        p = ha->base + end;
    }
    return needzero;
}

/* Records s as the owner of its pages (or clears them when s is NULL). */
static void set_spans(uintptr_t base, uintptr_t npages, mspan *s) {
    for (uintptr_t i = 0; i < npages; i++) {
        uintptr_t p = base + (i << GH_PAGE_SHIFT);
        heap_arena *ha = arena_of(p);
        gh_store(&ha->spans[arena_page_index(p)], (uintptr_t)s);
    }
}

void (*mheap_stoppable_test_hook)(void);

mspan *mheap_alloc_span(uintptr_t npages, span_class spc) {
    GH_ASSERT(npages > 0);
    gh_lock(&mheap_.lock);
    size_t scav = 0;
    uint64_t sys_before = gh_load(&mheap_.heap_sys);
    uintptr_t base = pa_alloc(&mheap_.pages, npages, &scav);
    if (base == 0) {
        if (!grow(npages) || (base = pa_alloc(&mheap_.pages, npages, &scav)) == 0) {
            gh_unlock(&mheap_.lock);
            return NULL;
        }
    }
    uint64_t growth = gh_load(&mheap_.heap_sys) - sys_before;
    /* Pages the OS discarded read as zero, wherever they lie. */
    bool needzero = alloc_needs_zero(base, npages << GH_PAGE_SHIFT) && scav < npages;
    /* A span of small objects on untouched pages (fresh or scavenged) is
     * about to be filled with objects, and the write barrier reads a slot's
     * old value before storing: fault its pages in with one call
     * (sys_prefault says why). */
    bool prefault = !needzero && sc_span_class_size(spc) != 0;
    if (prefault || scav > 0 || growth > 0) {
        /* The slow kernel work, before the span exists and with the world
         * free to stop (see the top of this file). */
        gh_unlock(&mheap_.lock);
        bool parked = thr_stoppable_begin();
        if (mheap_stoppable_test_hook != NULL)
            mheap_stoppable_test_hook();
        if (prefault)
            sys_prefault((void *)base, npages << GH_PAGE_SHIFT);
        /* Backing scavenged pages or growing may have pushed memory past a
         * goal: return other free pages now (scavenge.c). */
        if (scav > 0 || growth > 0)
            scav_after_alloc(growth);
        thr_stoppable_end(parked);
        gh_lock(&mheap_.lock);
    }
    mspan *s = span_record_alloc();
    if (s == NULL) {
        pa_free(&mheap_.pages, base, npages);
        gh_unlock(&mheap_.lock);
        return NULL;
    }
    /* Cleared around sweepgen and state: a sweeper holding a stale pointer to
     * this record (popped just before the reclaimer freed it) may still CAS
     * its sweepgen, and fails; the fields it reads stay atomic (TSan). */
    memset(s, 0, offsetof(mspan, sweepgen));
    memset(&s->elemsize, 0, sizeof *s - offsetof(mspan, elemsize));
    s->startaddr = base;
    s->npages = npages;
    s->arena = arena_of(base);
    s->needzero = needzero;
    span_init_class(s, spc);
    gh_store(&s->sweepgen, gh_load(&mheap_.sweepgen));
    set_spans(base, npages, s);
    heap_arena *ha = arena_of(base);
    arena_set_page_bit(ha->page_in_use, arena_page_index(base));
    gh_xadd(&mheap_.pages_inuse, npages);
    gh_xadd(&mheap_.span_count, 1);
    gh_store_release(&s->state, SPAN_IN_USE);
    gh_unlock(&mheap_.lock);
    return s;
}

void mheap_free_span(mspan *s) {
    GH_ASSERT(gh_load(&s->state) == SPAN_IN_USE && s->list == NULL);
    gh_lock(&mheap_.lock);
    heap_arena *ha = arena_of(s->startaddr);
    uintptr_t page = arena_page_index(s->startaddr);
    arena_clear_page_bit(ha->page_in_use, page);
    arena_clear_page_bit(ha->page_marks, page);
    gh_store(&s->state, SPAN_DEAD);
    free(s->obj_types);
    s->obj_types = NULL;
    set_spans(s->startaddr, s->npages, NULL);
    pa_free(&mheap_.pages, s->startaddr, s->npages);
    gh_track_noaccess(s->startaddr, span_bytes(s));
    gh_xadd(&mheap_.pages_inuse, (uintptr_t)-(intptr_t)s->npages);
    gh_xadd(&mheap_.span_count, (uintptr_t)-1);
    s->next = mheap_.free_spans;
    mheap_.free_spans = s;
    gh_unlock(&mheap_.lock);
}

void mheap_verify(void) {
    gh_lock(&mheap_.lock);
    uintptr_t pages = 0, spans = 0, sg = gh_load(&mheap_.sweepgen);
    for (uintptr_t ai = 0; ai < arena_count(); ai++) {
        heap_arena *ha = arena_at(ai);
        for (uintptr_t pg = 0; pg < GH_PAGES_PER_ARENA; pg++) {
            if (!arena_page_bit(ha->page_in_use, pg))
                continue;
            mspan *s = (mspan *)gh_load(&ha->spans[pg]);
            GH_CHECK(s != NULL && gh_load(&s->state) == SPAN_IN_USE);
            GH_CHECK(s->startaddr == ha->base + (pg << GH_PAGE_SHIFT));
            uintptr_t ssg = gh_load(&s->sweepgen);
            GH_CHECK(ssg == sg || ssg == sg + 3);
            for (uintptr_t i = 0; i < s->npages; i++) {
                uintptr_t p = s->startaddr + (i << GH_PAGE_SHIFT);
                GH_CHECK(span_of_unchecked(p) == s);
                GH_CHECK(i == 0 || !arena_page_bit(arena_of(p)->page_in_use, arena_page_index(p)));
            }
            pages += s->npages;
            spans++;
        }
    }
    GH_CHECK(pages == gh_load(&mheap_.pages_inuse));
    GH_CHECK(spans == gh_load(&mheap_.span_count));
    gh_unlock(&mheap_.lock);
}

uint64_t mheap_released_bytes(void) {
    gh_lock(&mheap_.lock);
    uint64_t b = (uint64_t)pa_scavenged_pages(&mheap_.pages) << GH_PAGE_SHIFT;
    gh_unlock(&mheap_.lock);
    return b;
}

/* Before the heap is unmapped: tells memcheck (track.h) that every object
 * still allocated is gone, or its block would outlive the mapping and a
 * later gc_init placing other objects at the same address would confuse
 * memcheck's bookkeeping (a FREELIKE finds the stale block, of another
 * size, first). An object is allocated if its alloc bit is set or it lies
 * below freeindex. Single-threaded: gc_shutdown has stopped everything. */
static void track_release_span(mspan *s, void *arg) {
    (void)arg;
    for (uintptr_t i = 0; i < s->nelems; i++)
        if (i < s->freeindex || bits_test(s->alloc_bits, i))
            gh_track_free(s->startaddr + i * s->elemsize);
}

void mheap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg) {
    for (uintptr_t ai = 0; ai < arena_count(); ai++) {
        heap_arena *ha = arena_at(ai);
        for (uintptr_t pg = 0; pg < GH_PAGES_PER_ARENA; pg++) {
            if (!arena_page_bit(ha->page_in_use, pg))
                continue;
            mspan *s = (mspan *)gh_load(&ha->spans[pg]);
            if (s != NULL && gh_load(&s->state) == SPAN_IN_USE)
                fn(s, arg);
        }
    }
}

void mheap_release_all(void) {
    if (track_enabled)
        mheap_for_each_span(track_release_span, NULL);
    while (span_blocks != NULL) {
        mspan *next = span_blocks->next;
        sys_free(span_blocks, SPAN_BLOCK_BYTES);
        span_blocks = next;
    }
    mheap_.free_spans = NULL;
    arena_release_all();
    gcbits_release_all();
    pa_destroy(&mheap_.pages);
}
