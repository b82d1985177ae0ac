/*
 * pagealloc.c — the page allocator: a bitmap of heap pages and a radix tree
 * of free-run summaries over the whole address space.
 *                       Go: mpagealloc.go, mpagealloc_64bit.go, mgcscavenge.go
 *
 * Overview. The mheap hands the page allocator the memory of every arena it
 * maps (pa_grow) and asks it for runs of contiguous 8 KiB pages (pa_alloc,
 * pa_free). The answer is always the lowest-addressed run that fits (first
 * fit), which keeps the heap compact at low addresses and leaves the high end
 * free for the scavenger. The scavenger asks for the highest-addressed run of
 * free pages still backed by RAM (pa_scavenge_find), returns it to the OS with
 * the lock dropped, and gives it back (pa_scavenge_done). The page allocator
 * never reads or writes the heap pages themselves, only its own metadata, so
 * the tests can drive it with made-up addresses.
 *
 * Data layout.
 *   Chunks. The address space is cut into 4 MiB chunks of 512 pages. Each
 *     chunk that pa_grow has touched has a pa_chunk: an allocation bitmap and
 *     a scavenged bitmap, 128 bytes. The chunk map is two-level (13 + 13
 *     bits of chunk index): an L1 array of 8192 pointers, allocated by
 *     pa_init, to L2 blocks of 8192 chunks (1 MiB, 32 GiB of heap each),
 *     allocated on first use and never freed. Each L2 block also has a
 *     "grown" bit per chunk.
 *   Summaries. A summary describes a range of pages by three numbers: start
 *     (free pages at its low end), max (the longest free run in it) and end
 *     (free pages at its high end). Summaries form a radix tree with 5
 *     levels. Level 4 has one entry per chunk (2^26 entries, 512 pages each);
 *     every level above has 8 times fewer, larger entries, down to level 0
 *     with 2^14 entries of 2^21 pages (16 GiB) each; an entry of level l is
 *     the merge of entries 8i .. 8i+7 of level l+1. Level l is one array of
 *     2^(14+3l) 64-bit words, so a parent's children are adjacent and the
 *     entry for an address at level l is simply addr >> (22 + 3(4 - l)).
 *   Packing. start, max and end each take 21 bits of one word (bits 0-20,
 *     21-41, 42-62). 21 bits hold up to 2^21 - 1, and only a wholly free
 *     level-0 entry reaches 2^21 pages — in all three fields at once — so
 *     that one value is encoded as bit 63 alone (pagealloc.h, pa_sum_pack).
 *     A summary of 0 means "no free pages", which is also what untouched,
 *     zero-filled summary memory says about address space not in the heap.
 *   Lazy memory. pa_init reserves every summary level (585 MiB of PROT_NONE,
 *     MAP_NORESERVE address space) and commits level 0 (128 KiB). pa_grow
 *     commits, at each level, the 64 KiB blocks whose entries cover the
 *     grown chunks, remembered one bit per block in page_alloc.committed.
 *     A block holds whole groups of 8 siblings, so whenever an entry is
 *     committed all its siblings are too. Committed but untouched memory
 *     costs no RAM; a small heap uses a few pages of summaries.
 *
 * Invariants (all checked by pa_verify(): in the tests, and after every
 *   operation when GH_DEBUG >= 3):
 *   I1. A scavenged bit is set only on a free page: scav & alloc == 0.
 *   I2. Pages of a grown chunk that no pa_grow covered are marked allocated,
 *       and stay so; chunks never grown have summary 0.
 *   I3. Every leaf equals pa_bits_summarize of its chunk's alloc bitmap, and
 *       every inner entry equals pa_sum_merge of its 8 children.
 *   I4. free_pages and scav_pages equal the counts of clear alloc bits and of
 *       set scav bits over all grown chunks.
 *   I5. Every page below search_addr is allocated (it is a lower bound on
 *       the first free page, never above it).
 *   I6. No chunk at index >= scav_hint has a page that is free and not
 *       scavenged.
 *
 * Finding a run (find). Start at level 0 with the entry holding search_addr
 * and walk entries upwards in address, keeping `size`, the free pages that
 * end exactly at the current entry's low edge. For each entry: if size plus
 * its start reaches npages, the run begins `size` pages below the entry and
 * we are done; else if its max reaches npages, the first fit lies inside it,
 * so descend to its 8 children with size 0 (pages below it cannot help: size
 * plus start was too small); else carry size forward (entry wholly free: add
 * it; otherwise restart at its end). At the leaf level, descending means a
 * bitmap search inside one chunk. Runs longer than a chunk are only ever
 * found by the "size plus start" test, at whatever level they first fit, so
 * a 3000-page run over 6 chunks is found at level 4 (or 3) without special
 * code, and so is one crossing arenas, as long as the pages are contiguous.
 *
 * Complexity. A search reads at most (level-0 entries between search_addr
 * and the top of the heap, at most 2^14 and usually one or two) + 4 x 8
 * summaries + 8 bitmap words: the cost does not grow with the heap size.
 * Marking a run costs O(npages / 64) bitmap words plus O(levels x (npages /
 * level entry size + 1)) summary updates, a few dozen words for a small run.
 * The scavenger's search walks chunks downwards from scav_hint; scav_hint
 * only moves down past chunks it has found empty, so that is amortised over
 * the frees that created the candidates.
 *
 * Search hint. find also computes a lower bound on the first free page: the
 * base of the first non-empty entry at each level, refined for as long as the
 * descent goes through that same entry, and exact when it reaches the leaf.
 * pa_alloc stores it in search_addr (or the end of the run just allocated,
 * when the run began at the first free page), so a sequence of small
 * allocations does not rescan the full prefix of the heap (I5).
 *
 * Concurrency. None here: every function is called with the mheap lock held
 * (Go: mheap_.lock), and the page allocator takes no lock of its own and
 * calls no code that could take one except sys_* (which is lock-free).
 * pa_scavenge_find hands out its run as allocated precisely so that the
 * caller can drop the lock while it madvises the memory: nobody else can
 * allocate those pages until pa_scavenge_done frees them again.
 *
 * Departures from Go.
 *   - Go's mheap grows the page allocator in whole chunks; pa_grow accepts
 *     any page-aligned range and marks the rest of a partly grown chunk
 *     allocated (I2).
 *   - Go tracks committed summary memory with address-range sets (sysGrow's
 *     inUse); a fixed bitmap of 64 KiB blocks does the same here with no
 *     allocation.
 *   - Go 1.19's scavenger keeps its own address ranges and search address;
 *     here a single chunk-index hint (scav_hint) serves. As in Go, one
 *     scavenged run never crosses a chunk.
 *   - Go's find reports a range for the first free page; here it is one
 *     lower-bound address, which is all the search hint needs.
 *
 * Debugging. GH_DEBUG >= 1 checks arguments; >= 3 runs pa_verify after every
 * operation. tests/unit/check_pagealloc.c covers the bitmap functions, first
 * fit, fragmentation, growth into distant regions, multi-chunk runs, the
 * scavenged bookkeeping, and a randomised comparison with a byte-per-page
 * model.
 */
#include "pagealloc.h"

#include "sys.h"

#include <string.h>

/* ---------------------------------------------------------------------------
 * Geometry helpers
 */

/* Address bits below the index of a level-l entry: 34 at level 0, 22 (the
 * chunk shift) at the leaves. */
static inline unsigned level_shift(unsigned l) {
    return PA_CHUNK_SHIFT + PA_SUMMARY_LEVEL_BITS * (PA_LEAF_LEVEL - l);
}

/* Number of entries at level l, and the pages each one describes. */
static inline size_t level_entries(unsigned l) {
    return (size_t)1 << (PA_SUMMARY_L0_BITS + PA_SUMMARY_LEVEL_BITS * l);
}
static inline size_t level_pages(unsigned l) { return (size_t)1 << (level_shift(l) - GH_PAGE_SHIFT); }

/* First bit in page_alloc.committed of level l's blocks: level l has
 * 2^(1+3l) blocks of 64 KiB (8192 summaries each). */
static const unsigned commit_bit_base[PA_SUMMARY_LEVELS] = {0, 2, 18, 146, 1170};

GH_STATIC_ASSERT(PA_SUM_MAX_VALUE == (1u << 21), "level-0 entries cover 2^21 pages");
GH_STATIC_ASSERT(((size_t)1 << PA_SUMMARY_L0_BITS) * sizeof(pa_sum) == 2 * PA_COMMIT_BLOCK,
                 "level 0 is two commit blocks");
GH_STATIC_ASSERT(PA_COMMIT_BITS == 1170 + 8192, "commit bitmap covers every level");
GH_STATIC_ASSERT(PA_COMMIT_BLOCK / sizeof(pa_sum) % (1u << PA_SUMMARY_LEVEL_BITS) == 0,
                 "a commit block holds whole sibling groups");

static inline size_t chunk_index(uintptr_t addr) { return addr >> PA_CHUNK_SHIFT; }
static inline uintptr_t chunk_base(size_t ci) { return (uintptr_t)ci << PA_CHUNK_SHIFT; }
static inline unsigned page_in_chunk(uintptr_t addr) {
    return (unsigned)(addr >> GH_PAGE_SHIFT) & (PA_CHUNK_PAGES - 1);
}

static inline pa_chunk_block *chunk_block(const page_alloc *pa, size_t ci) {
    return pa->chunks[ci >> PA_CHUNKS_L2_BITS];
}
static inline size_t chunk_slot(size_t ci) { return ci & (PA_CHUNKS_L2_ENTRIES - 1); }

static inline bool chunk_grown(const page_alloc *pa, size_t ci) {
    const pa_chunk_block *b = chunk_block(pa, ci);
    size_t j = chunk_slot(ci);
    return b != NULL && (b->grown[j / 64] >> (j % 64) & 1);
}

/* The chunk of a grown address; the caller has established that it exists. */
static inline pa_chunk *chunk_at(const page_alloc *pa, size_t ci) {
    pa_chunk_block *b = chunk_block(pa, ci);
    GH_ASSERT_INTERNAL(b != NULL);
    return &b->chunk[chunk_slot(ci)];
}

GH_NORETURN GH_COLD static void metadata_oom(void) {
    gh_fatalf("out of memory allocating page allocator metadata");
}

/* ---------------------------------------------------------------------------
 * Metadata memory
 */

/*
 * Commits the blocks of level l that hold entries i0 .. i1. Already
 * committed blocks are left alone (committing again is never needed and
 * would cost a system call each).
 */
static void commit_level(page_alloc *pa, unsigned l, size_t i0, size_t i1) {
    const size_t per_block = PA_COMMIT_BLOCK / sizeof(pa_sum);
    for (size_t b = i0 / per_block; b <= i1 / per_block; b++) {
        size_t bit = commit_bit_base[l] + b;
        if (pa->committed[bit / 64] >> (bit % 64) & 1)
            continue;
        if (!sys_map(pa->summary[l] + b * per_block, PA_COMMIT_BLOCK))
            metadata_oom();
        pa->committed[bit / 64] |= (uint64_t)1 << (bit % 64);
    }
}

/* Makes the L2 block holding chunk ci exist. */
static pa_chunk_block *ensure_chunk_block(page_alloc *pa, size_t ci) {
    pa_chunk_block **slot = &pa->chunks[ci >> PA_CHUNKS_L2_BITS];
    if (*slot == NULL) {
        /* sys_alloc memory is zero: no chunk grown, nothing allocated yet. */
        *slot = sys_alloc(sizeof(pa_chunk_block));
        if (*slot == NULL)
            metadata_oom();
    }
    return *slot;
}

/*
 * Reserves the summary levels and allocates the L1 chunk map. The storage of
 * *pa must be zero (a static or a zeroed field of the mheap).
 * Go: mpagealloc.go (*pageAlloc).init, mpagealloc_64bit.go sysInit
 */
void pa_init(page_alloc *pa) {
    GH_ASSERT(!pa->initialised);
    for (unsigned l = 0; l < PA_SUMMARY_LEVELS; l++) {
        pa->summary[l] = sys_reserve(level_entries(l) * sizeof(pa_sum), GH_PAGE_SIZE_OS);
        if (pa->summary[l] == NULL)
            metadata_oom();
    }
    pa->chunks = sys_alloc(PA_CHUNKS_L1_ENTRIES * sizeof(pa_chunk_block *));
    if (pa->chunks == NULL)
        metadata_oom();
    /* Level 0 is scanned linearly by find, so all of it must be readable. */
    commit_level(pa, 0, 0, level_entries(0) - 1);
    pa->search_addr = PA_MAX_ADDR;
    pa->heap_lo = PA_MAX_ADDR;
    pa->heap_hi = 0;
    pa->scav_hint = 0;
    pa->free_pages = 0;
    pa->scav_pages = 0;
    pa->initialised = true;
}

/*
 * Releases all metadata and leaves *pa zeroed, ready for pa_init again. The
 * heap memory itself belongs to the caller. For tests and shutdown; no other
 * call may be in progress.
 */
void pa_destroy(page_alloc *pa) {
    if (!pa->initialised)
        return;
    for (size_t b = 0; b < PA_CHUNKS_L1_ENTRIES; b++)
        if (pa->chunks[b] != NULL)
            sys_free(pa->chunks[b], sizeof(pa_chunk_block));
    sys_free(pa->chunks, PA_CHUNKS_L1_ENTRIES * sizeof(pa_chunk_block *));
    for (unsigned l = 0; l < PA_SUMMARY_LEVELS; l++)
        sys_free(pa->summary[l], level_entries(l) * sizeof(pa_sum));
    memset(pa, 0, sizeof(*pa));
}

/* ---------------------------------------------------------------------------
 * Bitmaps and summaries over address ranges
 */

/*
 * Calls the per-chunk pieces of [base, base + npages pages) one by one:
 * PIECE_LOOP sets ci (chunk index), i (first page in the chunk) and n (pages
 * in this chunk) for its body.
 */
#define PIECE_LOOP(base, npages, ci, i, n)                                                     \
    for (uintptr_t addr_ = (base), limit_ = (base) + ((uintptr_t)(npages) << GH_PAGE_SHIFT),    \
                   ci = 0, i = 0, n = 0;                                                         \
         addr_ < limit_ && (ci = chunk_index(addr_), i = page_in_chunk(addr_),                  \
                            n = (GH_MIN(limit_, chunk_base(ci + 1)) - addr_) >> GH_PAGE_SHIFT,  \
                            true);                                                               \
         addr_ += (uintptr_t)n << GH_PAGE_SHIFT)

/*
 * Marks a run of free pages allocated and clears their scavenged bits;
 * returns how many were scavenged. Dies if any page is not free.
 */
static size_t mark_allocated(page_alloc *pa, uintptr_t base, size_t npages) {
    size_t scav = 0;
    PIECE_LOOP(base, npages, ci, i, n) {
        pa_chunk *c = chunk_at(pa, ci);
        if (GH_UNLIKELY(pa_bits_count_range(c->alloc, (unsigned)i, (unsigned)n) != 0))
            gh_fatalf("page allocator: allocating in-use pages in [%#lx, +%zu pages)",
                      (unsigned long)base, npages);
        pa_bits_set_range(c->alloc, (unsigned)i, (unsigned)n);
        scav += pa_bits_count_range(c->scav, (unsigned)i, (unsigned)n);
        pa_bits_clear_range(c->scav, (unsigned)i, (unsigned)n);
    }
    return scav;
}

/*
 * Marks a run of allocated pages free, scavenged if `scavenged`. Dies if any
 * page is already free: a double free, or memory that is not the heap's.
 */
static void mark_free(page_alloc *pa, uintptr_t base, size_t npages, bool scavenged) {
    PIECE_LOOP(base, npages, ci, i, n) {
        if (GH_UNLIKELY(!chunk_grown(pa, ci)))
            gh_fatalf("page allocator: freeing pages outside the heap at %#lx",
                      (unsigned long)chunk_base(ci));
        pa_chunk *c = chunk_at(pa, ci);
        if (GH_UNLIKELY(pa_bits_count_range(c->alloc, (unsigned)i, (unsigned)n) != n))
            gh_fatalf("page allocator: freeing free pages in [%#lx, +%zu pages)",
                      (unsigned long)base, npages);
        pa_bits_clear_range(c->alloc, (unsigned)i, (unsigned)n);
        if (scavenged)
            pa_bits_set_range(c->scav, (unsigned)i, (unsigned)n);
    }
}

/*
 * Recomputes every summary covering [lo, hi): the leaves from the bitmaps,
 * then each level from the one below. Only entries whose range meets
 * [lo, hi) can have changed, and those are exactly the ones rewritten.
 * Go: mpagealloc.go (*pageAlloc).update
 */
static void update_summaries(page_alloc *pa, uintptr_t lo, uintptr_t hi) {
    GH_ASSERT_INTERNAL(lo < hi);
    pa_sum *leaf = pa->summary[PA_LEAF_LEVEL];
    for (size_t ci = chunk_index(lo); ci <= chunk_index(hi - 1); ci++)
        leaf[ci] = pa_bits_summarize(chunk_at(pa, ci)->alloc);
    for (unsigned l = PA_LEAF_LEVEL; l-- > 0;) {
        const pa_sum *below = pa->summary[l + 1];
        unsigned child_pages = (unsigned)level_pages(l + 1);
        for (size_t i = lo >> level_shift(l); i <= (hi - 1) >> level_shift(l); i++)
            pa->summary[l][i] = pa_sum_merge(below + (i << PA_SUMMARY_LEVEL_BITS),
                                             1u << PA_SUMMARY_LEVEL_BITS, child_pages);
    }
}

/* Debug hook: the whole-structure check after each operation. */
static inline void verify_after_op(const page_alloc *pa) {
#if GH_DEBUG >= 3
    pa_verify(pa);
#else
    (void)pa;
#endif
}

/* Argument checks shared by pa_free and pa_scavenge_done. */
static void check_range(const page_alloc *pa, uintptr_t base, size_t npages) {
    GH_ASSERT(pa->initialised);
    GH_ASSERT(npages > 0);
    GH_ASSERT(base % GH_PAGE_SIZE == 0);
    GH_ASSERT(base >= pa->heap_lo && base < pa->heap_hi);
    GH_ASSERT(npages <= (pa->heap_hi - base) >> GH_PAGE_SHIFT);
    (void)pa, (void)base, (void)npages;
}

/* ---------------------------------------------------------------------------
 * Growth
 */

/*
 * Adds [base, base + npages pages) to the heap as free, scavenged pages:
 * fresh memory is not backed by RAM until first touched, which is what the
 * scavenged bit records. Commits the summary blocks and chunk blocks the
 * range needs, then marks it free like any other run.
 * Go: mpagealloc.go (*pageAlloc).grow, mpagealloc_64bit.go sysGrow
 */
void pa_grow(page_alloc *pa, uintptr_t base, size_t npages) {
    GH_ASSERT(pa->initialised);
    GH_ASSERT(base != 0 && base % GH_PAGE_SIZE == 0 && npages > 0);
    if (GH_UNLIKELY(base >= PA_MAX_ADDR || npages > (PA_MAX_ADDR - base) >> GH_PAGE_SHIFT))
        gh_fatalf("page allocator: heap range [%#lx, +%zu pages) beyond the %d-bit address space",
                  (unsigned long)base, npages, GH_HEAP_ADDR_BITS);
    uintptr_t limit = base + ((uintptr_t)npages << GH_PAGE_SHIFT);

    for (unsigned l = 0; l < PA_SUMMARY_LEVELS; l++)
        commit_level(pa, l, base >> level_shift(l), (limit - 1) >> level_shift(l));

    /* A chunk seen for the first time starts wholly "allocated" (I2); the
     * range below then frees its own pages only. */
    for (size_t ci = chunk_index(base); ci <= chunk_index(limit - 1); ci++) {
        pa_chunk_block *b = ensure_chunk_block(pa, ci);
        size_t j = chunk_slot(ci);
        if (b->grown[j / 64] >> (j % 64) & 1)
            continue;
        memset(b->chunk[j].alloc, 0xff, sizeof(b->chunk[j].alloc));
        b->grown[j / 64] |= (uint64_t)1 << (j % 64);
    }
    mark_free(pa, base, npages, true);
    update_summaries(pa, base, limit);

    pa->free_pages += npages;
    pa->scav_pages += npages;
    pa->heap_lo = GH_MIN(pa->heap_lo, base);
    pa->heap_hi = GH_MAX(pa->heap_hi, limit);
    pa->search_addr = GH_MIN(pa->search_addr, base);
    verify_after_op(pa);
}

/* ---------------------------------------------------------------------------
 * Allocation
 */

/*
 * First-fit search over the summary tree, as described in the essay. Returns
 * the run's base or 0, and in *first_free a lower bound on the first free
 * page of the heap that is at least search_addr.
 * Go: mpagealloc.go (*pageAlloc).find
 */
static uintptr_t find(const page_alloc *pa, size_t npages, uintptr_t *first_free) {
    uintptr_t bound = pa->search_addr;
    *first_free = bound;
    if (bound >= pa->heap_hi)
        return 0;
    /* Entries [i, end) of level l are the ones to examine. */
    size_t i = bound >> level_shift(0);
    size_t end = ((pa->heap_hi - 1) >> level_shift(0)) + 1;
    /* True while the descent follows the first non-empty entry of each
     * level, so that entry's base still refines the lower bound. */
    bool refining = true;

    for (unsigned l = 0;; l++) {
        const pa_sum *sums = pa->summary[l];
        size_t entry_pages = level_pages(l);
        size_t size = 0; /* free pages ending at entry i's low edge */
        bool seen_free = false, descend = false;
        for (; i < end; i++) {
            pa_sum s = sums[i];
            if (s == 0) {
                size = 0;
                continue;
            }
            if (!seen_free) {
                if (refining)
                    bound = GH_MAX(bound, (uintptr_t)i << level_shift(l));
                seen_free = true;
            } else {
                refining = false; /* from here on we are past the first free entry */
            }
            size_t start = pa_sum_start(s);
            if (size + start >= npages) {
                /* The run ends in this entry and begins `size` pages below it. */
                *first_free = bound;
                return ((uintptr_t)i << level_shift(l)) - ((uintptr_t)size << GH_PAGE_SHIFT);
            }
            if (pa_sum_max(s) >= npages) {
                descend = true;
                break;
            }
            size = (start == entry_pages) ? size + entry_pages : pa_sum_end(s);
        }
        if (!descend) {
            /* Only level 0 can come up empty: below it we descend only into
             * an entry whose max fits (I3). */
            GH_ASSERT(l == 0);
            *first_free = bound;
            return 0;
        }
        if (l == PA_LEAF_LEVEL) {
            /* Entry i is a chunk whose max fits: search its bitmap. */
            const pa_chunk *c = chunk_at(pa, i);
            unsigned j = pa_bits_find(c->alloc, (unsigned)npages, 0);
            if (GH_UNLIKELY(j == PA_NOT_FOUND))
                gh_fatalf("page allocator: summary of chunk %#lx promises %zu free pages",
                          (unsigned long)chunk_base(i), npages);
            if (refining)
                bound = GH_MAX(bound, chunk_base(i) + ((uintptr_t)pa_bits_find(c->alloc, 1, 0)
                                                       << GH_PAGE_SHIFT));
            *first_free = bound;
            return chunk_base(i) + ((uintptr_t)j << GH_PAGE_SHIFT);
        }
        i <<= PA_SUMMARY_LEVEL_BITS;
        end = i + ((size_t)1 << PA_SUMMARY_LEVEL_BITS);
    }
}

/*
 * Allocates the lowest-addressed run of npages free pages. Reports how many
 * of them were scavenged (their memory was returned to the OS, so it reads as
 * zero) and clears those bits: allocated pages are never scavenged (I1).
 * Called with the mheap lock held.
 * Go: mpagealloc.go (*pageAlloc).alloc, allocRange
 */
uintptr_t pa_alloc(page_alloc *pa, size_t npages, size_t *scav_pages) {
    GH_ASSERT(pa->initialised);
    GH_ASSERT(npages > 0);
    if (scav_pages != NULL)
        *scav_pages = 0;
    if (npages > pa->free_pages)
        return 0;
    uintptr_t first_free;
    uintptr_t addr = find(pa, npages, &first_free);
    if (addr == 0) {
        pa->search_addr = first_free; /* still a valid lower bound (I5) */
        return 0;
    }
    size_t scav = mark_allocated(pa, addr, npages);
    uintptr_t limit = addr + ((uintptr_t)npages << GH_PAGE_SHIFT);
    update_summaries(pa, addr, limit);
    pa->free_pages -= npages;
    pa->scav_pages -= scav;
    /* If the run began at the first free page, everything below its end is
     * now in use; otherwise the bound from find still holds. */
    pa->search_addr = (first_free == addr) ? limit : first_free;
    if (scav_pages != NULL)
        *scav_pages = scav;
    verify_after_op(pa);
    return addr;
}

/*
 * Frees a run returned by pa_alloc (or a part of one). The pages become free
 * and unscavenged: their memory is still backed. Called with the mheap lock.
 * Go: mpagealloc.go (*pageAlloc).free
 */
void pa_free(page_alloc *pa, uintptr_t base, size_t npages) {
    check_range(pa, base, npages);
    uintptr_t limit = base + ((uintptr_t)npages << GH_PAGE_SHIFT);
    mark_free(pa, base, npages, false);
    update_summaries(pa, base, limit);
    pa->free_pages += npages;
    pa->search_addr = GH_MIN(pa->search_addr, base);
    pa->scav_hint = GH_MAX(pa->scav_hint, chunk_index(limit - 1) + 1);
    verify_after_op(pa);
}

/* ---------------------------------------------------------------------------
 * Scavenger support
 */

/*
 * Finds the highest-addressed run of free, unscavenged pages inside one chunk
 * (at most max_pages of its top), marks it allocated so that nobody takes it
 * while the caller returns its memory to the OS without the lock, and returns
 * its length (0 if there is none). Walks chunks down from scav_hint, lowering
 * the hint past chunks that turn out to hold no candidate (I6).
 * Go: mgcscavenge.go (*pageAlloc).scavengeOne, (*pallocData).findScavengeCandidate
 */
size_t pa_scavenge_find(page_alloc *pa, size_t max_pages, uintptr_t *base) {
    GH_ASSERT(pa->initialised);
    *base = 0;
    if (max_pages == 0 || pa->heap_hi == 0)
        return 0;
    size_t lo = chunk_index(pa->heap_lo);
    size_t ci = GH_MIN(pa->scav_hint, chunk_index(pa->heap_hi - 1) + 1);
    while (ci > lo) {
        ci--;
        const pa_chunk_block *b = chunk_block(pa, ci);
        size_t j = chunk_slot(ci);
        if (b == NULL) {
            ci -= j; /* skip the rest of this empty L2 block */
            continue;
        }
        if (b->grown[j / 64] == 0) {
            ci -= j % 64; /* skip 64 never-grown chunks at once */
            continue;
        }
        if (!(b->grown[j / 64] >> (j % 64) & 1) ||
            pa_sum_max(pa->summary[PA_LEAF_LEVEL][ci]) == 0)
            continue;
        unsigned n;
        unsigned first = pa_chunk_find_scavenge(&b->chunk[j],
                                                (unsigned)GH_MIN(max_pages, PA_CHUNK_PAGES), &n);
        if (first == PA_NOT_FOUND)
            continue;
        pa->scav_hint = ci + 1;
        uintptr_t run = chunk_base(ci) + ((uintptr_t)first << GH_PAGE_SHIFT);
        size_t scav = mark_allocated(pa, run, n);
        GH_ASSERT(scav == 0);
        (void)scav;
        update_summaries(pa, run, run + ((uintptr_t)n << GH_PAGE_SHIFT));
        pa->free_pages -= n;
        *base = run;
        verify_after_op(pa);
        return n;
    }
    pa->scav_hint = lo;
    return 0;
}

/*
 * Frees a run handed out by pa_scavenge_find, now returned to the OS, with
 * its scavenged bits set. Called with the mheap lock held again.
 * Go: mgcscavenge.go (*pageAlloc).scavengeRangeLocked (the free after sysUnused)
 */
void pa_scavenge_done(page_alloc *pa, uintptr_t base, size_t npages) {
    check_range(pa, base, npages);
    mark_free(pa, base, npages, true);
    update_summaries(pa, base, base + ((uintptr_t)npages << GH_PAGE_SHIFT));
    pa->free_pages += npages;
    pa->scav_pages += npages;
    pa->search_addr = GH_MIN(pa->search_addr, base);
    verify_after_op(pa);
}

/* ---------------------------------------------------------------------------
 * Queries and verification
 */

size_t pa_free_pages(const page_alloc *pa) { return pa->free_pages; }
size_t pa_scavenged_pages(const page_alloc *pa) { return pa->scav_pages; }

/* True when the page is in a grown chunk and its alloc bit is set: in use,
 * or a never-grown page of a partly grown chunk (I2). False outside. */
bool pa_is_allocated(const page_alloc *pa, uintptr_t page_addr) {
    if (!pa->initialised || page_addr >= PA_MAX_ADDR)
        return false;
    size_t ci = chunk_index(page_addr);
    if (!chunk_grown(pa, ci))
        return false;
    unsigned i = page_in_chunk(page_addr);
    return chunk_at(pa, ci)->alloc[i / 64] >> (i % 64) & 1;
}

bool pa_is_scavenged(const page_alloc *pa, uintptr_t page_addr) {
    if (!pa->initialised || page_addr >= PA_MAX_ADDR)
        return false;
    size_t ci = chunk_index(page_addr);
    if (!chunk_grown(pa, ci))
        return false;
    unsigned i = page_in_chunk(page_addr);
    return chunk_at(pa, ci)->scav[i / 64] >> (i % 64) & 1;
}

#define VERIFY(cond, ...)                                                                      \
    do {                                                                                       \
        if (GH_UNLIKELY(!(cond)))                                                              \
            gh_fatalf("page allocator: " __VA_ARGS__);                                         \
    } while (0)

/*
 * Checks I1-I6 over every grown chunk, in increasing address order. Each
 * inner entry is checked once, when the first grown chunk below it is
 * visited; a never-grown child must have a zero leaf (I2).
 */
void pa_verify(const page_alloc *pa) {
    VERIFY(pa->initialised, "not initialised");
    size_t free_pages = 0, scav_pages = 0;
    size_t last_parent[PA_SUMMARY_LEVELS];
    for (unsigned l = 0; l < PA_SUMMARY_LEVELS; l++)
        last_parent[l] = SIZE_MAX;
    const pa_sum *leaf = pa->summary[PA_LEAF_LEVEL];

    for (size_t b = 0; b < PA_CHUNKS_L1_ENTRIES; b++) {
        const pa_chunk_block *blk = pa->chunks[b];
        if (blk == NULL)
            continue;
        for (size_t j = 0; j < PA_CHUNKS_L2_ENTRIES; j++) {
            if (!(blk->grown[j / 64] >> (j % 64) & 1))
                continue;
            size_t ci = (b << PA_CHUNKS_L2_BITS) | j;
            uintptr_t cbase = chunk_base(ci);
            const pa_chunk *c = &blk->chunk[j];
            VERIFY(cbase + PA_CHUNK_BYTES > pa->heap_lo && cbase < pa->heap_hi,
                   "chunk %#lx outside heap bounds", (unsigned long)cbase);
            for (unsigned w = 0; w < PA_CHUNK_WORDS; w++) {
                VERIFY((c->alloc[w] & c->scav[w]) == 0, "I1: scavenged page in use in chunk %#lx",
                       (unsigned long)cbase);
                free_pages += 64 - (size_t)__builtin_popcountll(c->alloc[w]);
                scav_pages += (size_t)__builtin_popcountll(c->scav[w]);
            }
            VERIFY(leaf[ci] == pa_bits_summarize(c->alloc), "I3: stale leaf summary, chunk %#lx",
                   (unsigned long)cbase);
            for (unsigned l = PA_LEAF_LEVEL; l-- > 0;) {
                size_t p = ci >> (PA_SUMMARY_LEVEL_BITS * (PA_LEAF_LEVEL - l));
                if (p == last_parent[l])
                    break; /* this parent and all above it are done */
                last_parent[l] = p;
                const pa_sum *kids = pa->summary[l + 1] + (p << PA_SUMMARY_LEVEL_BITS);
                VERIFY(pa->summary[l][p] ==
                           pa_sum_merge(kids, 1u << PA_SUMMARY_LEVEL_BITS,
                                        (unsigned)level_pages(l + 1)),
                       "I3: stale summary at level %u entry %zu", l, p);
                if (l == PA_LEAF_LEVEL - 1)
                    for (size_t k = 0; k < (1u << PA_SUMMARY_LEVEL_BITS); k++) {
                        size_t kc = (p << PA_SUMMARY_LEVEL_BITS) + k;
                        VERIFY(chunk_grown(pa, kc) || leaf[kc] == 0,
                               "I2: summary for chunk %#lx outside the heap",
                               (unsigned long)chunk_base(kc));
                    }
            }
            if (cbase < pa->search_addr) {
                size_t below = GH_MIN(PA_CHUNK_PAGES, (pa->search_addr - cbase) >> GH_PAGE_SHIFT);
                VERIFY(pa_bits_count_range(c->alloc, 0, (unsigned)below) == below,
                       "I5: free page below search_addr %#lx", (unsigned long)pa->search_addr);
            }
            if (ci >= pa->scav_hint) {
                unsigned n;
                VERIFY(pa_chunk_find_scavenge(c, PA_CHUNK_PAGES, &n) == PA_NOT_FOUND,
                       "I6: unscavenged free pages above scav_hint in chunk %#lx",
                       (unsigned long)cbase);
            }
        }
    }
    VERIFY(free_pages == pa->free_pages, "I4: free_pages %zu, bitmaps say %zu", pa->free_pages,
           free_pages);
    VERIFY(scav_pages == pa->scav_pages, "I4: scav_pages %zu, bitmaps say %zu", pa->scav_pages,
           scav_pages);
}
