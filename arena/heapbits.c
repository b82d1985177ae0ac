/*
 * heapbits.c — writing the pointer bitmap at allocation.      Go: mbitmap.go
 *                                                             (heapBitsSetType)
 *
 * hb_write_type builds the object's bits 64 words at a time in a register and
 * stores each bitmap word once: a load and a store per 512 bytes of object,
 * plus a few instructions per word to consult the type's mask. Arrays
 * repeat the element's mask; the tail of the slot past the data is scalar, so
 * stale bits from the slot's previous occupant are always overwritten.
 */
#include "heapbits.h"

#include "goheap.h"

/* Reads bit i of a gc_type mask. */
static inline bool mask_bit(const uint8_t *mask, uintptr_t i) { return (mask[i / 8] >> (i % 8)) & 1; }

void hb_write_type(uintptr_t obj, uintptr_t elemsize, uintptr_t datasize, const gc_type *type) {
    GH_ASSERT(obj % GH_PTR_SIZE == 0);
    uintptr_t nwords = elemsize / GH_PTR_SIZE;
    uintptr_t elem_words = type->size / GH_PTR_SIZE;
    uintptr_t ptr_words = GH_DIV_ROUND_UP(type->ptrdata, GH_PTR_SIZE);
    uintptr_t data_words = datasize / GH_PTR_SIZE;
    GH_ASSERT(elem_words > 0 && ptr_words <= elem_words);

    /* Walk the object's words 64-bitmap-bits at a time; i is the word within
     * the object, e the word within the current element. A large object may
     * straddle arenas, so the arena is looked up per bitmap word (a bitmap
     * word covers 512 bytes and never straddles one). */
    uintptr_t i = 0, e = 0;
    while (i < nwords) {
        uintptr_t addr = obj + i * GH_PTR_SIZE;
        heap_arena *ha = arena_of(addr);
        uintptr_t word = (addr - ha->base) / GH_PTR_SIZE;
        uintptr_t shift = word % 64;
        uintptr_t n = GH_MIN(64 - shift, nwords - i);
        uint64_t bits = 0;
        for (uintptr_t k = 0; k < n; k++, i++) {
            if (i < data_words && e < ptr_words && mask_bit(type->gcdata, e))
                bits |= (uint64_t)1 << (shift + k);
            if (++e == elem_words)
                e = 0;
        }
        volatile AO_t *bw = (volatile AO_t *)&ha->bitmap[word / 64];
        uint64_t keep = n == 64 ? 0 : ~((((uint64_t)1 << n) - 1) << shift);
        AO_store(bw, (AO_load(bw) & keep) | bits);
    }
}
