/*
 * heapbits.h — the pointer bitmap of the heap: one bit per word, set when the
 * word is a pointer slot.                                     Go: mbitmap.go
 *
 * The allocator writes the bits of every object with pointers at allocation
 * from its gc_type (hb_write_type); the marker reads them to visit only the
 * pointer words of an object (hb_load_word). Bits of noscan spans are never
 * written nor read, so they may hold stale values.
 *
 * Departure from Go 1.19: Go keeps two bits per word (pointer and "more
 * pointers follow", which lets scanning stop early). goheap keeps one bit per
 * word, as Go 1.20 went on to do; scanning ends at the object's size, and the
 * marker skips runs of scalar words 64 at a time.
 *
 * Concurrency. A 64-bit bitmap word covers 512 bytes, so it never spans two
 * pages and so never two spans. Only the thread that owns a span (its mcache)
 * writes its bits, while markers may read them: accesses are relaxed atomics
 * (plain moves on x86-64) so the sharing is well defined. A marker only scans
 * an object after it was published by a store that the marker observed
 * (through the write barrier's buffers or a stop-the-world), so it sees the
 * bits written before publication.
 */
#ifndef GH_HEAPBITS_H
#define GH_HEAPBITS_H

#include "arena.h"

struct gc_type;

/* Writes the bits of the object at obj whose slot is `elemsize` bytes:
 * `datasize` bytes laid out as repeated elements of `type`, the rest scalar.
 * `hint` is the arena of obj's span, or NULL to look it up. */
void hb_write_type(struct heap_arena *hint, uintptr_t obj, uintptr_t elemsize,
                   uintptr_t datasize, const struct gc_type *type);

/* Writes `mask` (the pointer bits of one slot, at most 64 words of it)
 * into every one of the nslots slots of slot_words words of the span of
 * npages pages at start (scalar elsewhere). Returns false, writing nothing,
 * if the span straddles two arenas (the caller then writes slot by slot). */
bool hb_fill_span(heap_arena *ha, uintptr_t start, uintptr_t npages, uintptr_t nslots,
                  uintptr_t slot_words, uint64_t mask);

/* The 64 bits for the words [w*64, w*64+64) of arena ha, w = word index/64. */
GH_INLINE uint64_t hb_load_word(const heap_arena *ha, uintptr_t w) {
    return AO_load((const volatile AO_t *)&ha->bitmap[w]);
}

/* Calls fn(ctx, slot, value) for every pointer slot in [b, b+n) whose value
 * is not NULL, reading the bitmap 64 words at a time and jumping between set
 * bits. ha is the arena holding b (the span's, s->arena), or NULL to look
 * it up; a range running into the next arena finds it on the way. Always inlined: with a constant fn the call disappears, so the
 * marker's hot loop and the verifier share this code at no cost. Slots are
 * read with acquire loads (a plain move on x86-64): mutators store into them
 * concurrently through the write barrier's release store, and the acquire
 * makes the pointed-to span's initialisation visible to the marker. */
GH_INLINE void hb_for_each_pointer(heap_arena *ha, uintptr_t b, uintptr_t n,
                                   void (*fn)(void *ctx, uintptr_t slot, uintptr_t value),
                                   void *ctx) {
    uintptr_t end = b + n;
    for (uintptr_t addr = b; addr < end;) {
        if (ha == NULL || addr - ha->base >= GH_ARENA_BYTES)
            ha = arena_of(addr);
        uintptr_t word = (addr - ha->base) / GH_PTR_SIZE;
        unsigned shift = word % 64;
        uintptr_t count = GH_MIN(64 - shift, (end - addr) / GH_PTR_SIZE);
        uint64_t bits = hb_load_word(ha, word / 64) >> shift;
        if (count < 64)
            bits &= ((uint64_t)1 << count) - 1;
        while (bits != 0) {
            unsigned i = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            uintptr_t slot = addr + (uintptr_t)i * GH_PTR_SIZE;
            uintptr_t p = AO_load_acquire((volatile AO_t *)slot);
            if (p != 0)
                fn(ctx, slot, p);
        }
        addr += count * GH_PTR_SIZE;
    }
}

/* Prefetches the bitmap word that describes the heap word at addr. */
GH_INLINE void hb_prefetch(uintptr_t addr) {
    heap_arena *ha = arena_of(addr);
    if (ha != NULL)
        __builtin_prefetch(&ha->bitmap[(addr - ha->base) / GH_PTR_SIZE / 64]);
}

/* Is the word at addr a pointer slot? (tests, verification) */
GH_INLINE bool hb_is_pointer(uintptr_t addr) {
    heap_arena *ha = arena_of(addr);
    uintptr_t word = (addr - ha->base) / GH_PTR_SIZE;
    return (hb_load_word(ha, word / 64) >> (word % 64)) & 1;
}

#endif /* GH_HEAPBITS_H */
