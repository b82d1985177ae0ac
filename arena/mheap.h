/*
 * mheap.h — the page heap: spans of pages for size classes and for large
 * objects, growth into new arenas, and the mspan records.        Go: mheap.go
 */
#ifndef GH_MHEAP_H
#define GH_MHEAP_H

#include "lock.h"
#include "pagealloc.h"
#include "span.h"

typedef struct mheap {
    gh_mutex lock;
    page_alloc pages; /* guarded by lock */

    /* Sweep generation, +2 per cycle (see span.h). Written with the world
     * stopped, read everywhere. */
    volatile AO_t sweepgen;

    /* Address space reserved but not yet handed to the page allocator:
     * [cur_base, cur_end). Guarded by lock. */
    uintptr_t cur_base, cur_end;

    /* Free mspan records (SPAN_DEAD), reused before mapping more. */
    mspan *free_spans;

    /* Accounting, guarded by lock and read atomically by stats. */
    volatile AO_t heap_sys;    /* bytes handed to the page allocator */
    volatile AO_t pages_inuse; /* pages in in-use spans */
    volatile AO_t span_count;  /* in-use spans */
} mheap;

extern mheap mheap_;

void mheap_init(void);

/* Allocates an in-use span of npages pages for span class spc, with its
 * bits initialised; records it in heap_arena.spans and page_in_use. Returns
 * NULL if the OS refuses memory. s->needzero tells whether its memory may
 * hold old data. Takes the mheap lock. The calling thread may park on the
 * way (thr_stoppable_begin), so a registered caller holds no lock and every
 * heap pointer it keeps is in a frame, as at any allocation. */
mspan *mheap_alloc_span(uintptr_t npages, span_class spc);

/* Tests: called on the allocating thread inside mheap_alloc_span's
 * stoppable window, before its system calls. */
extern void (*mheap_stoppable_test_hook)(void);

/* The arena layer's two upward calls, defined in runtime/thread.c.
 * thr_stoppable_begin parks the calling thread as gc_enter_blocking does if
 * it is a registered thread running heap code, so that the world can stop
 * while it waits in the kernel, and returns whether it did;
 * thr_stoppable_end(parked) undoes that, waiting first for a stopped world
 * to restart. */
bool thr_stoppable_begin(void);
void thr_stoppable_end(bool parked);

/* Returns an in-use span's pages to the page allocator. The span must not be
 * reachable from any mcache or mcentral list. Takes the mheap lock. */
void mheap_free_span(mspan *s);

/* Checks I1-I3 of mheap.c and that every in-use span has sweepgen h or
 * h+3 (swept; cached-and-swept); dies on a violation. World stopped. */
void mheap_verify(void);

/* Calls fn for every in-use span, in address order. No lock: only for a
 * stopped heap (gc_shutdown) or a stopped world. */
void mheap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg);

/* Unmaps everything (gc_shutdown). */
void mheap_release_all(void);

/* Bytes of heap released to the OS (scavenged free pages). */
uint64_t mheap_released_bytes(void);

#endif /* GH_MHEAP_H */
