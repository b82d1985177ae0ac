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

/* Stores `n` bits (n <= 64 - shift) of `bits` at bit `shift` of bitmap
 * word *bw, keeping its other bits. */
static inline void store_bits(volatile AO_t *bw, unsigned shift, uintptr_t n, uint64_t bits) {
    uint64_t field = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1) << shift;
    AO_store(bw, (AO_load(bw) & ~field) | ((bits << shift) & field));
}

/* Writes the bits of words [first, first+n) of the heap starting at addr
 * from `next_bits`, which yields up to 64 bits at a time. The range may
 * straddle arenas, so the arena is looked up per bitmap word (a bitmap
 * word covers 512 bytes and never straddles one). */
typedef uint64_t (*bits_source)(void *state, uintptr_t count);

static inline void write_range(heap_arena *ha, uintptr_t addr, uintptr_t nwords,
                               bits_source next_bits, void *state) {
    uintptr_t i = 0;
    while (i < nwords) {
        uintptr_t a = addr + i * GH_PTR_SIZE;
        if (ha == NULL || a - ha->base >= GH_ARENA_BYTES)
            ha = arena_of(a);
        uintptr_t word = (a - ha->base) / GH_PTR_SIZE;
        unsigned shift = word % 64;
        uintptr_t n = GH_MIN(64 - shift, nwords - i);
        store_bits((volatile AO_t *)&ha->bitmap[word / 64], shift, n, next_bits(state, n));
        i += n;
    }
}

/* Source for one element whose mask fits in 64 bits, followed by scalars. */
typedef struct single_state {
    uint64_t mask; /* remaining mask bits, consumed from the bottom */
} single_state;

static uint64_t single_bits(void *st, uintptr_t count) {
    single_state *s = st;
    uint64_t b = s->mask;
    s->mask = count >= 64 ? 0 : s->mask >> count;
    return b;
}

/* General source: repeated elements, then scalars. */
typedef struct repeat_state {
    const gc_type *type;
    uintptr_t i, e; /* word in the object, word in the current element */
    uintptr_t elem_words, ptr_words, data_words;
} repeat_state;

static uint64_t repeat_bits(void *st, uintptr_t count) {
    repeat_state *s = st;
    uint64_t bits = 0;
    for (uintptr_t k = 0; k < count; k++, s->i++) {
        if (s->i < s->data_words && s->e < s->ptr_words && mask_bit(s->type->gcdata, s->e))
            bits |= (uint64_t)1 << k;
        if (++s->e == s->elem_words)
            s->e = 0;
    }
    return bits;
}

void hb_write_type(heap_arena *ha, uintptr_t obj, uintptr_t elemsize, uintptr_t datasize,
                      const gc_type *type) {
    GH_ASSERT(obj % GH_PTR_SIZE == 0);
    uintptr_t nwords = elemsize / GH_PTR_SIZE;
    uintptr_t elem_words = type->size / GH_PTR_SIZE;
    uintptr_t ptr_words = GH_DIV_ROUND_UP(type->ptrdata, GH_PTR_SIZE);
    GH_ASSERT(elem_words > 0 && ptr_words <= elem_words);
    /* Only whole elements hold pointers: a partial last element is scalar. */
    uintptr_t nelem = datasize / type->size;
    if (nelem <= 1 && ptr_words <= 64) {
        /* The common case: one element whose mask fits a register. The
         * object's bits are that mask and then zeros, written a bitmap word
         * at a time. */
        single_state st = {0};
        if (nelem == 1) {
            /* Assembled in a register: byte stores followed by a wide load
             * would stall on store forwarding. */
            uint64_t m = 0;
            for (uintptr_t b = 0; b < (ptr_words + 7) / 8; b++)
                m |= (uint64_t)type->gcdata[b] << (8 * b);
            st.mask = ptr_words == 64 ? m : m & (((uint64_t)1 << ptr_words) - 1);
        }
        write_range(ha, obj, nwords, single_bits, &st);
        return;
    }
    repeat_state st = {type, 0, 0, elem_words, ptr_words, nelem * elem_words};
    write_range(ha, obj, nwords, repeat_bits, &st);
}

/* Bitmap words of the largest small-object span (10 pages of 1024 words). */
#define FILL_MAX_WORDS (10 * GH_PAGE_SIZE / GH_PTR_SIZE / 64)

bool hb_fill_span(heap_arena *ha, uintptr_t start, uintptr_t npages, uintptr_t nslots,
                  uintptr_t slot_words, uint64_t mask) {
    uintptr_t nbits = npages * GH_PAGE_SIZE / GH_PTR_SIZE;
    uintptr_t nwords = nbits / 64;
    if (start - ha->base + npages * GH_PAGE_SIZE > GH_ARENA_BYTES || nwords > FILL_MAX_WORDS)
        return false;
    /* Built in a local buffer, then stored: a span starts on a page, so
     * its bits start on a bitmap word boundary and need no merging. The
     * pattern repeats every lcm(slot_words, 64) bits, i.e. every
     * slot_words / gcd(slot_words, 64) words: the slots of the first period
     * are placed bit by bit, the rest of the buffer copies that period. */
    uint64_t buf[FILL_MAX_WORDS] = {0};
    uintptr_t g = slot_words & (uintptr_t) - (intptr_t)slot_words; /* largest power of 2 dividing it */
    uintptr_t period = slot_words / GH_MIN(g, 64);                 /* words per period */
    uintptr_t first = period * 64 / slot_words + 1;                /* slots touching period 1 */
    for (uintptr_t i = 0, pos = 0; i < GH_MIN(first, nslots); i++, pos += slot_words) {
        uintptr_t w = pos / 64, sh = pos % 64;
        if (w < nwords)
            buf[w] |= mask << sh;
        if (sh != 0 && w + 1 < nwords)
            buf[w + 1] |= mask >> (64 - sh);
    }
    for (uintptr_t w = period; w < nwords; w++)
        buf[w] = buf[w - period];
    /* Past the last slot the span's tail is scalar. */
    uintptr_t end = nslots * slot_words;
    if (end / 64 < nwords) {
        buf[end / 64] &= end % 64 ? ~(~(uint64_t)0 << (end % 64)) : 0;
        for (uintptr_t w = end / 64 + 1; w < nwords; w++)
            buf[w] = 0;
    }
    volatile AO_t *bm = (volatile AO_t *)&ha->bitmap[(start - ha->base) / GH_PTR_SIZE / 64];
    for (uintptr_t w = 0; w < nwords; w++)
        AO_store(&bm[w], buf[w]);
    return true;
}
