/*
 * consts.h — the geometry of the heap's address space, every derived constant
 * asserted. Go: malloc.go (heapAddrBits, logHeapArenaBytes, arenaL1Bits...).
 *
 * Pages are 8 KiB; arenas are 64 MiB, aligned to 64 MiB, so an address's
 * arena is its top bits. The arena index is two-level (L1 x L2) over the
 * 48-bit user address space: 64 L1 entries, each an on-demand array of 65536
 * arena pointers (512 KiB), so a process with a small heap maps one L2 array
 * and a lookup for any address is two loads. Go on linux/amd64 uses a single
 * 4M-entry level; the two-level split keeps the index small under valgrind
 * and on machines that overcommit strictly.
 */
#ifndef GH_CONSTS_H
#define GH_CONSTS_H

#include "base.h"

#define GH_PTR_SIZE 8
#define GH_PTR_SHIFT 3

#define GH_PAGE_SHIFT 13
#define GH_PAGE_SIZE ((uintptr_t)1 << GH_PAGE_SHIFT)

#define GH_HEAP_ADDR_BITS 48
#define GH_ARENA_SHIFT 26
#define GH_ARENA_BYTES ((uintptr_t)1 << GH_ARENA_SHIFT)
#define GH_PAGES_PER_ARENA (GH_ARENA_BYTES / GH_PAGE_SIZE)
#define GH_WORDS_PER_ARENA (GH_ARENA_BYTES / GH_PTR_SIZE)

#define GH_ARENA_L1_BITS 6
#define GH_ARENA_L2_BITS (GH_HEAP_ADDR_BITS - GH_ARENA_SHIFT - GH_ARENA_L1_BITS)
#define GH_ARENA_L1_ENTRIES ((uintptr_t)1 << GH_ARENA_L1_BITS)
#define GH_ARENA_L2_ENTRIES ((uintptr_t)1 << GH_ARENA_L2_BITS)

/* Objects up to this size come from size-classed spans; larger ones get a
 * span of their own. */
#define GH_MAX_SMALL_SIZE 32768
/* The tiny allocator packs noscan objects smaller than this into one block. */
#define GH_TINY_SIZE 16

GH_STATIC_ASSERT(GH_PTR_SIZE == sizeof(void *), "64-bit only");
GH_STATIC_ASSERT(GH_PAGES_PER_ARENA == 8192, "8 KiB pages in 64 MiB arenas");
GH_STATIC_ASSERT(GH_ARENA_L2_BITS == 16, "two-level index: 6 + 16 bits");
GH_STATIC_ASSERT(GH_PAGES_PER_ARENA % 64 == 0, "page bitmaps are whole words");

#endif /* GH_CONSTS_H */
