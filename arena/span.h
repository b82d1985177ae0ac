/*
 * span.h — mspan: a run of pages holding objects of one span class, or one
 * large object.                                       Go: mheap.go, mbitmap.go
 *
 * A small-object span is npages pages cut into nelems objects of elemsize
 * bytes. Which objects are allocated is kept in alloc_bits (bit i = object i
 * allocated, as of the last sweep); objects allocated since the last sweep
 * are exactly those below freeindex that were free in alloc_bits. alloc_cache
 * is the complement of the 64 alloc bits starting at freeindex rounded down
 * to a multiple of 64, shifted so bit 0 is freeindex: the allocator finds the
 * next free object with one count-trailing-zeros, no lock, no atomic.
 *
 * mark_bytes are this cycle's marks, one byte per object (0 white, 1
 * marked). Sweeping packs them into the next alloc bits (objects that
 * survived are exactly those allocated from then on) and gives the span
 * fresh zeroed mark bytes; both come from the gcbits arenas (gcbits.c),
 * which recycle whole generations instead of freeing per span.
 *
 * Why bytes where Go has bits: a marker sets a mark with a plain byte store,
 * which cannot clobber a neighbour's mark, where a bit needs a locked
 * read-modify-write of the shared byte (Go's atomic.Or8; a CAS loop here
 * before). On a linked list the locked instruction was a third of the mark
 * loop's time. bdwgc's parallel marker makes the same trade (mark bytes
 * with several markers); the price is a byte instead of a bit per object
 * and a packing pass in the sweep (decisions.md, "Mark bytes").
 *
 * Span states (field `state`, atomic because markers read it locklessly):
 *   SPAN_DEAD    the mspan is unused (on the mheap's free mspan list)
 *   SPAN_IN_USE  holds heap objects; recorded in heap_arena.spans
 * Transitions happen under the mheap lock: DEAD -> IN_USE when the mheap
 * allocates the span, IN_USE -> DEAD when the sweeper or gc_shutdown frees it.
 *
 * sweepgen (h = mheap_.sweepgen, which grows by 2 per cycle):
 *   s == h - 2   the span needs sweeping
 *   s == h - 1   the span is being swept
 *   s == h       the span is swept and ready to use
 *   s == h + 1   the span was cached before sweeping began; still needs it
 *   s == h + 3   the span was swept and then cached
 * Every transition out of h-2 or h+1 into being-swept is a CAS, so a span is
 * swept at most once per cycle (checked by sweep_span's assertion that the span
 * it sweeps is claimed, sweepgen == h-1, and by mheap_verify at GH_DEBUG >= 3,
 * which finds no span left unswept at mark termination).
 */
#ifndef GH_SPAN_H
#define GH_SPAN_H

#include "arena.h"
#include "sizeclass.h"

struct gc_type;
struct special;

enum { SPAN_DEAD = 0, SPAN_IN_USE = 1 };
#define SPAN_BITS_MIXED ((const struct gc_type *)1)

typedef struct mspan {
    struct mspan *next; /* in an mcentral list or the mheap's free list */
    struct mspan *prev;
    void *list;         /* the list holding the span, NULL if none */

    uintptr_t startaddr;
    uintptr_t npages;
    uintptr_t limit; /* end of the last object's bytes */

    /* Allocation state, owned by the mcache that holds the span (or the
     * sweeper that claimed it). */
    uintptr_t freeindex;
    uint64_t alloc_cache;
    uint16_t nelems;
    uint16_t alloc_count;
    bool needzero; /* objects may hold old data: clear before handing out */

    uint8_t *alloc_bits;
    uint8_t *mark_bytes;

    volatile AO_t sweepgen;
    volatile AO_t state;
    uintptr_t elemsize;
    uint32_t divmagic;
    span_class spanclass;
    /* Every free slot from freeindex on is pre-marked for this mark phase
     * (allocate-black in bulk, gc/mark.c); owned by the caching thread. */
    bool alloc_black;
    struct heap_arena *arena; /* the arena holding startaddr */
    /* Which pointer bits the span's slots hold (scan spans only; owned by
     * the caching thread): NULL while no slot was ever written, a type T
     * when every slot holds T's single-element bits (allocating another
     * single T needs no bitmap write; an array of T does), SPAN_BITS_MIXED
     * otherwise. Written with release stores: markers read it (bits_mask). */
    const struct gc_type *bits_type;
    /* While bits_type is a type of at most 64 pointer words: those words'
     * bits, the same in every slot. Written before bits_type with a
     * release store; markers read both (gc/mark.c, span_hint) to scan the
     * span's objects without loading the heap bitmap. */
    uint64_t bits_mask;

    /* Type of each object, recorded only while a debug mode that names
     * types in its reports is on (invalidptr, gccheckmark); else NULL. */
    const struct gc_type **obj_types;

    /* Specials (finalizers, weak handles), sorted by object offset. Guarded
     * by special_lock. */
    struct special *specials;
    volatile AO_t special_lock;
} mspan;

/* The in-use span containing p, or NULL. Lock-free, constant time. */
GH_INLINE mspan *span_of(uintptr_t p) {
    mspan *s = span_of_unchecked(p);
    if (s == NULL || gh_load_acquire(&s->state) != SPAN_IN_USE || p < s->startaddr ||
        p >= s->limit)
        return NULL;
    return s;
}

GH_INLINE uintptr_t span_base(const mspan *s) { return s->startaddr; }
GH_INLINE uintptr_t span_bytes(const mspan *s) { return s->npages << GH_PAGE_SHIFT; }

/* Object index of byte p in s. */
GH_INLINE uintptr_t span_obj_index(const mspan *s, uintptr_t p) {
    return sc_obj_index(p - s->startaddr, s->divmagic);
}

/* --- alloc bits and mark bytes --- */

GH_INLINE bool bits_test(const uint8_t *bits, uintptr_t i) { return (bits[i / 8] >> (i % 8)) & 1; }

/* Sets the mark byte at b; true if this call set it (the object was
 * white). A plain byte load and store: two markers can both find the object
 * white and both mark and queue it, and then it is scanned twice and its
 * bytes counted twice in the cycle's marked total (an over-estimate of the
 * live heap by that object, for the pacer only). Go's greyobject has the
 * same window between its isMarked test and its setMarked. */
GH_INLINE bool mark_byte_try(volatile unsigned char *b) {
    if (AO_char_load(b))
        return false;
    AO_char_store(b, 1);
    return true;
}

/* Marks object i of s (mark_byte_try). */
GH_INLINE bool span_try_mark(mspan *s, uintptr_t i) { return mark_byte_try(&s->mark_bytes[i]); }

GH_INLINE bool span_is_marked(const mspan *s, uintptr_t i) {
    return AO_char_load((volatile unsigned char *)&s->mark_bytes[i]) != 0;
}

/* Bytes of bitmap a span of n objects needs, rounded to 8 so alloc_cache
 * refills can load whole 64-bit words. */
GH_INLINE size_t span_bitmap_bytes(uintptr_t nelems) { return GH_ALIGN_UP(GH_DIV_ROUND_UP(nelems, 8), 8); }

/* Bytes of mark bytes a span of n objects needs, rounded to 8 so they can
 * be packed a 64-bit word at a time. */
GH_INLINE size_t span_mark_bytes_size(uintptr_t nelems) { return GH_ALIGN_UP(nelems, 8); }

/* The marks of objects 64w .. 64w+63 as bits (bit k = object 64w+k), none
 * past nelems. Each group of 8 mark bytes (each 0 or 1) is gathered into
 * one byte by a multiply: byte k of the group lands at bit 56+k of the
 * product, and no two partial products overlap, so nothing carries. */
GH_INLINE uint64_t span_pack_marks(const mspan *s, uintptr_t w) {
    uint64_t bits = 0;
    uintptr_t end = GH_MIN((uintptr_t)s->nelems, w * 64 + 64);
    for (uintptr_t i = w * 64, k = 0; i < end; i += 8, k++) {
        uint64_t group;
        __builtin_memcpy(&group, s->mark_bytes + i, sizeof group);
        bits |= ((group * 0x0102040810204080ull) >> 56) << (8 * k);
    }
    return bits;
}

/* Loads alloc_cache from alloc_bits for the 64 objects starting at object
 * index `from` (a multiple of 64): a set bit for each free object, none
 * for indices at or past nelems. */
void span_refill_alloc_cache(mspan *s, uintptr_t from);

/* Takes the next free object at or after freeindex and returns its index
 * (nelems if the span is full), advancing freeindex and alloc_cache past it.
 * The caller counts it in alloc_count. Go: (*mspan).nextFreeIndex */
uintptr_t span_next_free_index(mspan *s);

/* Fast path: the next free object via alloc_cache, or 0 if the cache is
 * empty (the caller then uses span_next_free_index). No lock, no atomic.
 * Bits past nelems are never set in the cache (span_refill_alloc_cache), so
 * a set bit is always a real object; and taking the last object of a
 * 64-object window leaves the cache empty with freeindex on the next
 * window, which the slow path loads. Go: nextFreeFast */
GH_INLINE uintptr_t span_next_free_fast(mspan *s) {
    uint64_t cache = s->alloc_cache;
    if (cache == 0)
        return 0;
    unsigned tz = (unsigned)__builtin_ctzll(cache);
    uintptr_t result = s->freeindex + tz;
    s->alloc_cache = (cache >> tz) >> 1;
    s->freeindex = result + 1;
    s->alloc_count++;
    return s->startaddr + result * s->elemsize;
}

/* Number of allocated objects according to alloc_bits (for sweeping and
 * verification). */
uintptr_t span_count_alloc(const mspan *s);

/* Clears every free slot from freeindex on and marks the span as needing
 * no clearing: a span entering a thread's cache is cleared in bulk (a few
 * wide memsets) so that allocating from it clears nothing. The caller owns
 * the span. */
void span_clear_free_slots(mspan *s);

/* Sets up a fresh in-use span of span class spc over its pages: elemsize,
 * nelems, division magic, zeroed alloc bits and mark bytes. */
void span_init_class(mspan *s, span_class spc);

/* --- gcbits arenas (gcbits.c) --- */

/* Zeroed memory for a span of nelems objects, from the generation that
 * becomes current at the next mark termination: an alloc bitmap
 * (gcbits_new) or mark bytes (gcbits_new_marks). Never fail: running out of
 * metadata memory is fatal. */
uint8_t *gcbits_new(uintptr_t nelems);
uint8_t *gcbits_new_marks(uintptr_t nelems);
/* Called at mark termination with the world stopped: the bits handed out
 * since the last call become current, and the generation before current is
 * recycled (no span can still refer to it: every span was swept since). */
void gcbits_next_epoch(void);
void gcbits_release_all(void);

#endif /* GH_SPAN_H */
