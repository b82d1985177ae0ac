/*
 * gcbits.c — memory for alloc bitmaps and mark bytes, recycled by
 * generation.                                      Go: mheap.go (gcBits arenas)
 *
 * Every span needs an alloc bitmap and mark bytes (span.h), and sweeping
 * replaces both every cycle: the mark bytes are packed into a new alloc
 * bitmap and the span gets fresh zeroed mark bytes. Freeing them one by one
 * would need a general allocator; instead they are bump-allocated from
 * 64 KiB chunks grouped in three generations:
 *
 *   next      handed out since the last mark termination (by sweeping and by
 *             new spans): the coming cycle's mark bytes and alloc bits.
 *   current   handed out in the epoch before; after the coming sweep they
 *             are at most alloc bits.
 *   previous  two epochs old: no span refers to them once sweeping of the
 *             last cycle is done, so they are recycled.
 *
 * gcbits_next_epoch() rotates the generations at mark termination. Sweeping
 * always finishes before the next mark termination, so when a chunk is
 * recycled no alloc_bits or mark_bytes pointer can still point into it.
 *
 * Concurrency. Allocation bumps `free_offset` of the newest chunk with an
 * atomic add (many sweepers and allocating threads race); only chunk
 * replacement takes gcbits_lock. Recycled chunks are cleared when they are
 * reused (outside any pause), so every bitmap starts zeroed; fresh ones are
 * zero from the OS and are faulted in writable when mapped (one system
 * call per 64 KiB, under gcbits_lock, which only chunk replacement takes).
 */
#include "span.h"

#include <string.h>

#include "lock.h"
#include "sys.h"

#define GCBITS_CHUNK_BYTES (64 * 1024)

typedef struct gcbits_chunk {
    struct gcbits_chunk *next;
    volatile AO_t free_offset;
    uint8_t bits[]; /* GCBITS_CHUNK_BYTES - header */
} gcbits_chunk;

#define GCBITS_PAYLOAD (GCBITS_CHUNK_BYTES - offsetof(gcbits_chunk, bits))

/* Each generation is a list, newest first, whose tail (its oldest chunk)
 * is kept too, so that the epoch change splices whole lists in constant
 * time: it runs with the world stopped, and walking the chunks there made
 * pause 2 grow with the heap (0.3 ms at 1.4 GB live). */
static gh_mutex gcbits_lock = GH_MUTEX_INIT;
static gcbits_chunk *gen_next_chunk, *gen_next_tail; /* head published atomically */
static gcbits_chunk *gen_current, *gen_current_tail;
static gcbits_chunk *gen_previous, *gen_previous_tail;
static gcbits_chunk *recycled;         /* cleared chunks ready for reuse */
static volatile AO_t next_head;        /* == gen_next_chunk, for lock-free readers */

static uint8_t *chunk_try_alloc(gcbits_chunk *c, size_t bytes) {
    if (c == NULL || gh_load(&c->free_offset) + bytes > GCBITS_PAYLOAD)
        return NULL;
    uintptr_t end = gh_xadd(&c->free_offset, bytes) + bytes;
    if (end > GCBITS_PAYLOAD)
        return NULL;
    return c->bits + end - bytes;
}

static uint8_t *gcbits_alloc(size_t bytes) {
    GH_ASSERT(bytes <= GCBITS_PAYLOAD);
    uint8_t *p = chunk_try_alloc((gcbits_chunk *)gh_load_acquire(&next_head), bytes);
    if (p != NULL)
        return p;
    gh_lock(&gcbits_lock);
    /* Another thread may have installed a fresh chunk meanwhile. */
    p = chunk_try_alloc(gen_next_chunk, bytes);
    if (p == NULL) {
        gcbits_chunk *c = recycled;
        if (c != NULL) {
            recycled = c->next;
            /* Cleared here, not at the epoch change, which runs with the
             * world stopped: the pause must not grow with the heap. */
            memset(c, 0, GCBITS_CHUNK_BYTES);
        } else {
            c = sys_alloc(GCBITS_CHUNK_BYTES);
            if (c == NULL)
                gh_throw("out of memory allocating alloc bitmaps or mark bytes");
            /* A marker's first access to a page of mark bytes is the read
             * before the set (sys_prefault says why that costs): the
             * interrupts were 8% of a two-marker list mark's samples
             * (perf, smp_call_function_many_cond). */
            sys_prefault(c, GCBITS_CHUNK_BYTES);
        }
        c->free_offset = bytes;
        c->next = gen_next_chunk;
        if (gen_next_chunk == NULL)
            gen_next_tail = c;
        gen_next_chunk = c;
        gh_store_release(&next_head, (uintptr_t)c);
        p = c->bits;
    }
    gh_unlock(&gcbits_lock);
    return p;
}

uint8_t *gcbits_new(uintptr_t nelems) { return gcbits_alloc(span_bitmap_bytes(nelems)); }

uint8_t *gcbits_new_marks(uintptr_t nelems) { return gcbits_alloc(span_mark_bytes_size(nelems)); }

void gcbits_next_epoch(void) {
    gh_lock(&gcbits_lock);
    if (gen_previous != NULL) {
        gen_previous_tail->next = recycled;
        recycled = gen_previous;
    }
    gen_previous = gen_current;
    gen_previous_tail = gen_current_tail;
    gen_current = gen_next_chunk;
    gen_current_tail = gen_next_tail;
    gen_next_chunk = gen_next_tail = NULL;
    gh_store_release(&next_head, 0);
    gh_unlock(&gcbits_lock);
}

static void free_list(gcbits_chunk *c) {
    while (c != NULL) {
        gcbits_chunk *next = c->next;
        sys_free(c, GCBITS_CHUNK_BYTES);
        c = next;
    }
}

void gcbits_release_all(void) {
    free_list(gen_next_chunk);
    free_list(gen_current);
    free_list(gen_previous);
    free_list(recycled);
    gen_next_chunk = gen_current = gen_previous = recycled = NULL;
    gen_next_tail = gen_current_tail = gen_previous_tail = NULL;
    gh_store(&next_head, 0);
}
