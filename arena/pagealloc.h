/*
 * pagealloc.h — the page allocator: which 8 KiB heap pages are free, which of
 * the free ones have been returned to the OS, and a radix tree of summaries
 * that finds a run of free pages without walking the heap.
 *                                   Go: mpagealloc.go, mpagealloc_64bit.go,
 *                                       mpallocbits.go, mgcscavenge.go
 *
 * The design is explained at the top of pagealloc.c; pallocbits.c holds the
 * per-chunk bitmap operations and the summary arithmetic. The struct is here
 * so that the mheap can embed it. Every function is called with the mheap
 * lock held; the page allocator takes no locks of its own.
 */
#ifndef GH_PAGEALLOC_H
#define GH_PAGEALLOC_H

#include "base.h"
#include "consts.h"

/* A chunk is the unit of the bitmap: 512 pages, 4 MiB. */
#define PA_CHUNK_PAGES_SHIFT 9
#define PA_CHUNK_PAGES ((unsigned)1 << PA_CHUNK_PAGES_SHIFT)
#define PA_CHUNK_SHIFT (GH_PAGE_SHIFT + PA_CHUNK_PAGES_SHIFT)
#define PA_CHUNK_BYTES ((uintptr_t)1 << PA_CHUNK_SHIFT)
#define PA_CHUNK_WORDS (PA_CHUNK_PAGES / 64)
#define PA_NUM_CHUNKS ((size_t)1 << (GH_HEAP_ADDR_BITS - PA_CHUNK_SHIFT))

/* The summary radix tree: 5 levels, level 0 indexed by the top 14 address
 * bits, each further level by 3 more; the last level has one entry per
 * chunk. Entries at level l cover 2^pa_level_log_pages(l) pages. */
#define PA_SUMMARY_LEVELS 5
#define PA_SUMMARY_LEVEL_BITS 3
#define PA_SUMMARY_L0_BITS                                                     \
    (GH_HEAP_ADDR_BITS - PA_CHUNK_SHIFT - (PA_SUMMARY_LEVELS - 1) * PA_SUMMARY_LEVEL_BITS)
#define PA_LEAF_LEVEL (PA_SUMMARY_LEVELS - 1)

/* The chunk map is two-level: 8192 L1 slots, each an on-demand block of
 * 8192 chunks (32 GiB of address space, 1 MiB of bitmaps). */
#define PA_CHUNKS_L1_BITS 13
#define PA_CHUNKS_L2_BITS (GH_HEAP_ADDR_BITS - PA_CHUNK_SHIFT - PA_CHUNKS_L1_BITS)
#define PA_CHUNKS_L1_ENTRIES ((size_t)1 << PA_CHUNKS_L1_BITS)
#define PA_CHUNKS_L2_ENTRIES ((size_t)1 << PA_CHUNKS_L2_BITS)

/* Summary memory is committed in blocks of this many bytes; level l needs
 * 2^(1 + 3l) blocks, 9362 in all (one bit each in page_alloc.committed). */
#define PA_COMMIT_BLOCK_SHIFT 16
#define PA_COMMIT_BLOCK ((size_t)1 << PA_COMMIT_BLOCK_SHIFT)
#define PA_COMMIT_BITS (2 + 16 + 128 + 1024 + 8192)
#define PA_COMMIT_WORDS GH_DIV_ROUND_UP(PA_COMMIT_BITS, 64)

/* Largest address the page allocator can describe (exclusive). */
#define PA_MAX_ADDR ((uintptr_t)1 << GH_HEAP_ADDR_BITS)

GH_STATIC_ASSERT(PA_SUMMARY_L0_BITS == 14, "Go's 5-level layout: 14 + 4*3 + 22 = 48");
GH_STATIC_ASSERT(PA_CHUNKS_L2_BITS == 13, "chunk map is 13 + 13 bits");
GH_STATIC_ASSERT(PA_CHUNK_WORDS == 8, "a chunk bitmap is 8 words");

/*
 * A packed summary of a run of pages: start (free pages at the low end),
 * max (longest free run anywhere), end (free pages at the high end). Each
 * field takes 21 bits — enough for 2^21 - 1, one less than the pages a level-0
 * entry covers — at bits 0, 21 and 42. The one value that does not fit, 2^21
 * in all three fields (a wholly free level-0 entry), is bit 63 alone.
 */
typedef uint64_t pa_sum;

#define PA_SUM_LOG_MAX (PA_CHUNK_PAGES_SHIFT + (PA_SUMMARY_LEVELS - 1) * PA_SUMMARY_LEVEL_BITS)
#define PA_SUM_MAX_VALUE ((unsigned)1 << PA_SUM_LOG_MAX)
#define PA_SUM_MASK ((uint64_t)PA_SUM_MAX_VALUE - 1)
#define PA_SUM_FULL ((pa_sum)1 << 63)

GH_INLINE pa_sum pa_sum_pack(unsigned start, unsigned max, unsigned end) {
    if (max == PA_SUM_MAX_VALUE)
        return PA_SUM_FULL;
    return ((uint64_t)start & PA_SUM_MASK) | (((uint64_t)max & PA_SUM_MASK) << PA_SUM_LOG_MAX) |
           (((uint64_t)end & PA_SUM_MASK) << (2 * PA_SUM_LOG_MAX));
}
GH_INLINE unsigned pa_sum_start(pa_sum s) {
    return (s & PA_SUM_FULL) ? PA_SUM_MAX_VALUE : (unsigned)(s & PA_SUM_MASK);
}
GH_INLINE unsigned pa_sum_max(pa_sum s) {
    return (s & PA_SUM_FULL) ? PA_SUM_MAX_VALUE : (unsigned)((s >> PA_SUM_LOG_MAX) & PA_SUM_MASK);
}
GH_INLINE unsigned pa_sum_end(pa_sum s) {
    return (s & PA_SUM_FULL) ? PA_SUM_MAX_VALUE
                             : (unsigned)((s >> (2 * PA_SUM_LOG_MAX)) & PA_SUM_MASK);
}

/* One chunk's metadata: bit i of alloc is set when page i is in use (or is
 * not part of the heap); bit i of scav is set when page i is free and its
 * memory has been returned to the OS. 128 bytes. */
typedef struct pa_chunk {
    uint64_t alloc[PA_CHUNK_WORDS];
    uint64_t scav[PA_CHUNK_WORDS];
} pa_chunk;

/* One L2 block of the chunk map; bit i of grown is set once chunk i has been
 * (at least partly) added by pa_grow. */
typedef struct pa_chunk_block {
    uint64_t grown[PA_CHUNKS_L2_ENTRIES / 64];
    pa_chunk chunk[PA_CHUNKS_L2_ENTRIES];
} pa_chunk_block;

typedef struct page_alloc {
    /* summary[l] is a reserved array of 2^(14 + 3l) entries; only the
     * blocks marked in committed are readable. */
    pa_sum *summary[PA_SUMMARY_LEVELS];
    /* L1 chunk map, PA_CHUNKS_L1_ENTRIES pointers (NULL until needed). */
    pa_chunk_block **chunks;
    uint64_t committed[PA_COMMIT_WORDS];
    /* Every page below search_addr is allocated (or not in the heap). */
    uintptr_t search_addr;
    /* Lowest address and one past the highest address ever grown. */
    uintptr_t heap_lo, heap_hi;
    /* No chunk at index >= scav_hint has free pages that are not scavenged. */
    size_t scav_hint;
    size_t free_pages; /* free pages, scavenged or not */
    size_t scav_pages; /* free pages whose scavenged bit is set */
    bool initialised;
} page_alloc;

/* ---- The allocator (pagealloc.c). All calls need the mheap lock. ---- */

/* Reserves the metadata; *pa must be zeroed storage. No heap memory yet. */
void pa_init(page_alloc *pa);
/* Releases the metadata (not the heap) and zeroes *pa. */
void pa_destroy(page_alloc *pa);
/* Adds [base, base + npages pages) — page-aligned, newly committed, never
 * part of the heap before — as free pages, marked scavenged (fresh memory is
 * not backed by RAM yet). Dies if metadata memory cannot be committed. */
void pa_grow(page_alloc *pa, uintptr_t base, size_t npages);
/* Allocates the lowest-addressed run of npages free pages and returns its
 * base, or 0 if no run fits. *scav_pages (if not NULL) gets how many of the
 * pages were scavenged; their scavenged bits are cleared, and the caller
 * knows they read as zero. */
uintptr_t pa_alloc(page_alloc *pa, size_t npages, size_t *scav_pages);
/* Frees npages allocated pages at base; they become free and unscavenged.
 * Dies if any of them is already free. */
void pa_free(page_alloc *pa, uintptr_t base, size_t npages);
/* Finds the highest-addressed run of free, unscavenged pages (inside one
 * chunk, at most max_pages), marks it allocated so nobody takes it, sets
 * *base and returns its length; returns 0 with *base = 0 if there is none.
 * The caller returns the memory to the OS with the lock dropped, then calls
 * pa_scavenge_done. */
size_t pa_scavenge_find(page_alloc *pa, size_t max_pages, uintptr_t *base);
/* Frees a run from pa_scavenge_find with its scavenged bits set. */
void pa_scavenge_done(page_alloc *pa, uintptr_t base, size_t npages);
/* Free pages, scavenged or not; and the free pages that are scavenged. */
size_t pa_free_pages(const page_alloc *pa);
size_t pa_scavenged_pages(const page_alloc *pa);
/* True when page_addr's page is in a grown chunk and marked allocated (in
 * use, held by the scavenger, or a never-grown page of a partly grown
 * chunk); false for free pages and for chunks never grown. */
bool pa_is_allocated(const page_alloc *pa, uintptr_t page_addr);
/* True when page_addr's page was added by pa_grow and is free and
 * scavenged (for tests and asserts). */
bool pa_is_scavenged(const page_alloc *pa, uintptr_t page_addr);
/* Checks every invariant listed in pagealloc.c's essay and dies on the first
 * violation; cost is linear in the grown heap. Tests call it; pagealloc.c
 * calls it after every operation at GH_DEBUG >= 3. */
void pa_verify(const page_alloc *pa);

/* ---- Chunk bitmaps and summaries (pallocbits.c); pure functions. ---- */

#define PA_NOT_FOUND (~0u)

/* Summary of a 512-page bitmap (bit set = allocated). */
pa_sum pa_bits_summarize(const uint64_t bits[PA_CHUNK_WORDS]);
/* Index of the lowest page >= from that starts a run of npages clear bits
 * lying wholly inside the chunk, or PA_NOT_FOUND. 1 <= npages <= 512. */
unsigned pa_bits_find(const uint64_t bits[PA_CHUNK_WORDS], unsigned npages, unsigned from);
/* Set, clear, or count the set bits of [i, i + n) (i + n <= 512). */
void pa_bits_set_range(uint64_t bits[PA_CHUNK_WORDS], unsigned i, unsigned n);
void pa_bits_clear_range(uint64_t bits[PA_CHUNK_WORDS], unsigned i, unsigned n);
unsigned pa_bits_count_range(const uint64_t bits[PA_CHUNK_WORDS], unsigned i, unsigned n);
/* Summary of n consecutive entries, each describing child_pages pages. */
pa_sum pa_sum_merge(const pa_sum *children, unsigned n, unsigned child_pages);
/* The highest run of pages that are free and not scavenged in one chunk,
 * trimmed to its top max_pages; returns its first page and sets *npages,
 * or returns PA_NOT_FOUND. */
unsigned pa_chunk_find_scavenge(const pa_chunk *c, unsigned max_pages, unsigned *npages);

#endif /* GH_PAGEALLOC_H */
