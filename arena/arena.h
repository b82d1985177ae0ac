/*
 * arena.h — heap arenas: the 64 MiB units of address space the heap is made
 * of, their metadata, and the index that finds an arena from any address.
 *                                                   Go: malloc.go, mheap.go
 *
 * Every heap address lies in an arena: 64 MiB of address space, aligned to
 * 64 MiB, reserved PROT_NONE and committed as the heap grows into it. Each
 * arena has a heap_arena record, allocated off-heap, holding the metadata Go
 * keeps in heapArena, each field for Go's purpose:
 *
 *   bitmap        one bit per heap word: 1 = the word is a pointer slot.
 *                 Written by the allocator for every object with pointers,
 *                 from its gc_type (arrays repeat the element mask); read by
 *                 the marker, which never looks at scalar words. Noscan spans
 *                 leave it untouched and the marker never reads it for them.
 *   spans         page -> mspan for every page of an in-use span; a free page
 *                 maps to NULL or to a stale span whose state is no longer
 *                 in-use. This makes span_of() constant time.
 *   page_in_use   bit per page: set for the first page of every in-use span
 *                 (mSpanInUse). Read by the reclaimer.
 *   page_marks    bit per page: set for the first page of every span with a
 *                 marked object during the current mark; the reclaimer frees
 *                 spans with page_in_use & ~page_marks without looking inside.
 *   page_specials bit per page: set for the first page of every span that has
 *                 specials (finalizers, weak handles).
 *   checkmarks    one bit per word, allocated the first time checkmark
 *                 verification runs: the verifier's own mark bits, kept apart
 *                 from the real ones.
 *   zeroed_base   offset below which the arena's memory may have been used;
 *                 every byte at or above it is still zero from the OS, so the
 *                 allocator never clears it. It only grows.
 *
 * The index: arena_l1[] (64 entries) points at L2 arrays of 65536 arena
 * pointers, created on demand, covering the 48-bit user address space.
 * Lookups never lock and cost two dependent loads, so spanOf(p) is constant
 * time for any p, heap or not.
 *
 * Concurrency. Index entries and heap_arena records are created under the
 * mheap lock and published with release stores; they are never removed until
 * gc_shutdown, so a lock-free reader either sees NULL (not heap) or a fully
 * initialised record. spans[] entries are written under the mheap lock and
 * read locklessly by markers and gc_base; a reader must check the span's
 * state and bounds, since a page may be freed concurrently. page_* bitmaps are
 * updated with atomic OR/AND because the marker sets page_marks concurrently
 * with allocation setting page_in_use in the same word.
 */
#ifndef GH_ARENA_H
#define GH_ARENA_H

#include "atomics.h"
#include "consts.h"

struct mspan;

#define GH_PAGE_WORDS (GH_PAGES_PER_ARENA / 64)

typedef struct heap_arena {
    uint64_t bitmap[GH_WORDS_PER_ARENA / 64];
    volatile AO_t spans[GH_PAGES_PER_ARENA];
    volatile AO_t page_in_use[GH_PAGE_WORDS];
    volatile AO_t page_marks[GH_PAGE_WORDS];
    volatile AO_t page_specials[GH_PAGE_WORDS];
    uint64_t *checkmarks;
    uintptr_t zeroed_base;
    uintptr_t base; /* the arena's first address */
} heap_arena;

extern volatile AO_t arena_l1[GH_ARENA_L1_ENTRIES];

/* The arena containing p, or NULL if p is not in the heap's address space. */
GH_INLINE heap_arena *arena_of(uintptr_t p) {
    if (GH_UNLIKELY(p >> GH_HEAP_ADDR_BITS))
        return NULL;
    uintptr_t ai = p >> GH_ARENA_SHIFT;
    volatile AO_t *l2 = (volatile AO_t *)gh_load_acquire(&arena_l1[ai >> GH_ARENA_L2_BITS]);
    if (l2 == NULL)
        return NULL;
    return (heap_arena *)gh_load_acquire(&l2[ai & (GH_ARENA_L2_ENTRIES - 1)]);
}

GH_INLINE uintptr_t arena_page_index(uintptr_t p) {
    return (p >> GH_PAGE_SHIFT) & (GH_PAGES_PER_ARENA - 1);
}

/* The span recorded for p's page, or NULL. The span may be free or stale:
 * callers check its state and bounds. */
GH_INLINE struct mspan *span_of_unchecked(uintptr_t p) {
    heap_arena *ha = arena_of(p);
    if (ha == NULL)
        return NULL;
    return (struct mspan *)gh_load(&ha->spans[arena_page_index(p)]);
}

GH_INLINE void arena_set_page_bit(volatile AO_t *bits, uintptr_t page) {
    gh_or(&bits[page / 64], (uintptr_t)1 << (page % 64));
}
GH_INLINE void arena_clear_page_bit(volatile AO_t *bits, uintptr_t page) {
    gh_and(&bits[page / 64], ~((uintptr_t)1 << (page % 64)));
}
GH_INLINE bool arena_page_bit(volatile AO_t *bits, uintptr_t page) {
    return (gh_load(&bits[page / 64]) >> (page % 64)) & 1;
}

/* Creates the heap_arena records and index entries for the arenas covering
 * [base, base+bytes) (64 MiB aligned). Returns false if metadata memory could
 * not be mapped. Called with the mheap lock held. */
bool arena_register(uintptr_t base, size_t bytes);

/* Arenas by creation order, for lock-free walks (the reclaimer): the count
 * only grows, and arena_at(i) for i < arena_count() is stable. */
uintptr_t arena_count(void);
heap_arena *arena_at(uintptr_t i);

/* Unmaps every arena, its metadata and the index (gc_shutdown). */
void arena_release_all(void);

#endif /* GH_ARENA_H */
