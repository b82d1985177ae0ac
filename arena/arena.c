/*
 * arena.c — the arena index and heap_arena records.             Go: malloc.go
 *
 * arena_register() is the only writer: it runs under the mheap lock when the
 * heap grows into newly reserved address space. It maps the heap_arena record
 * (about 1.1 MiB, mostly the pointer bitmap, which stays untouched — and so
 * costs no RSS — until objects with pointers are allocated in the arena),
 * creates the L2 index array if needed, and publishes the record with a
 * release store. Readers (arena_of in arena.h) use acquire loads and never
 * lock.
 */
#include "arena.h"

#include "lock.h"
#include "sys.h"

volatile AO_t arena_l1[GH_ARENA_L1_ENTRIES];

/* Room for 2^16 arenas (4 TiB of heap); the array is untouched, and costs
 * no memory, beyond the arenas that exist. */
#define MAX_ARENAS ((uintptr_t)1 << 16)
static volatile AO_t arena_table[MAX_ARENAS];
static volatile AO_t narenas;


#define L2_BYTES (GH_ARENA_L2_ENTRIES * sizeof(AO_t))

bool arena_register(uintptr_t base, size_t bytes) {
    GH_ASSERT(base % GH_ARENA_BYTES == 0 && bytes % GH_ARENA_BYTES == 0);
    /* All or nothing: a partial registration would leave index entries for
     * address space the caller unmaps, and use up the arena table. */
    if (gh_load(&narenas) + bytes / GH_ARENA_BYTES > MAX_ARENAS)
        return false;
    for (uintptr_t a = base; a < base + bytes; a += GH_ARENA_BYTES) {
        uintptr_t ai = a >> GH_ARENA_SHIFT;
        volatile AO_t *l1e = &arena_l1[ai >> GH_ARENA_L2_BITS];
        volatile AO_t *l2 = (volatile AO_t *)gh_load(l1e);
        if (l2 == NULL) {
            l2 = sys_alloc(L2_BYTES);
            if (l2 == NULL)
                return false;
            gh_store_release(l1e, (uintptr_t)l2);
        }
        uintptr_t n = gh_load(&narenas);
        if (n == MAX_ARENAS)
            return false;
        heap_arena *ha = sys_alloc(sizeof(heap_arena));
        if (ha == NULL)
            return false;
        gh_store(&arena_table[n], (uintptr_t)ha);
        gh_store_release(&narenas, n + 1);
        ha->base = a;
        ha->zeroed_base = 0;
        gh_store_release(&l2[ai & (GH_ARENA_L2_ENTRIES - 1)], (uintptr_t)ha);
    }
    return true;
}

uintptr_t arena_count(void) { return gh_load_acquire(&narenas); }
heap_arena *arena_at(uintptr_t i) { return (heap_arena *)gh_load(&arena_table[i]); }

void arena_release_all(void) {
    for (uintptr_t i = 0; i < gh_load(&narenas); i++) {
        heap_arena *ha = arena_at(i);
        sys_free((void *)ha->base, GH_ARENA_BYTES);
        if (ha->checkmarks != NULL)
            sys_free(ha->checkmarks, GH_WORDS_PER_ARENA / 8);
        sys_free(ha, sizeof(heap_arena));
        gh_store(&arena_table[i], 0);
    }
    gh_store(&narenas, 0);
    for (size_t i = 0; i < GH_ARENA_L1_ENTRIES; i++) {
        void *l2 = (void *)gh_load(&arena_l1[i]);
        if (l2 != NULL) {
            sys_free(l2, L2_BYTES);
            gh_store(&arena_l1[i], 0);
        }
    }
}
