/*
 * barrier.c — the write barrier: GC_STORE's slow path and gc_memmove.
 *                                           Go: mbarrier.go, mwbbuf.go
 *
 * Go's hybrid barrier (Yuasa deletion + Dijkstra insertion, "Eliminate STW
 * stack re-scanning", Clements & Hudson 2016): while marking, a store of
 * `val` into `*slot` first shades the pointer being overwritten and, while
 * the storing thread's frames are grey, the pointer being written:
 *
 *     shade(*slot); if (frames not yet scanned) shade(val); *slot = val
 *
 * Shading the old value (Yuasa) keeps every object that was reachable when
 * mark began reachable for the marker even after the mutator cuts its last
 * heap reference: the snapshot is preserved. Shading the new value (Dijkstra)
 * covers pointers that come from a thread whose frames have not been scanned
 * yet: once written into the heap they could otherwise hide behind a black
 * object. Once its frames are scanned (gh_thread.frames_black, set by the
 * mark-start handshake) a thread holds only pointers that scan shaded,
 * pointers it loaded from the heap or a root (which the deletion half
 * protects) and objects allocated black, so its values need no shading: the
 * paper's condition, which Go drops because it cannot test a goroutine's
 * stack colour cheaply (decisions.md). Together the halves let each
 * thread's frames be scanned once per cycle with no rescan at mark
 * termination, and stores into frames need no barrier at all. Registered
 * global ranges are scanned like heap objects — possibly before some
 * thread's frames — so stores into them do go through GC_STORE.
 *
 * Shading here means: put the pointer in the thread's write-barrier buffer.
 * When the buffer fills (WBBUF_ENTRIES) it is flushed: each pointer is shaded
 * into the thread's gcwork. Batching keeps the barrier's common cost at a few
 * instructions. Buffers are also flushed at mark termination.
 *
 * Memory ordering: see GC_STORE in goheap.h. gci_wb_enabled flips only with
 * the world stopped; every thread resumes through sched_lock (an acquire),
 * so each store after the resume sees the new value. The store itself is a
 * release store so that a marker that loads the new pointer also sees the
 * heap bitmap written when the object was allocated. frames_black is the
 * storing thread's own: cleared with the world stopped, set by its
 * handshake, which it runs itself or which the collector runs for it under
 * sched_lock while it is parked or stopped, so it reads the flag only after
 * resuming through that lock.
 */
#include <string.h>

#include "gc.h"
#include "heapbits.h"
#include "thread.h"
#include "upcalls.h"
#include "work.h"

volatile AO_t gci_wb_enabled;

/* Shades every pointer in t's buffer and empties it. */
void wb_flush(gh_thread *t) {
    mark_shade_n(t->gcw, t->wbbuf, t->wbbuf_next);
    t->wbbuf_next = 0;
}

static inline void wb_enqueue(gh_thread *t, uintptr_t p) {
    if (p == 0)
        return;
    if (GH_UNLIKELY(t->wbbuf_next == WBBUF_ENTRIES))
        wb_flush(t);
    t->wbbuf[t->wbbuf_next++] = p;
}

void mark_shade_from_mutator(gh_thread *t, uintptr_t p) {
    if (gh_load(&gci_wb_enabled))
        wb_enqueue(t, p);
}

void gc_write_barrier(void **slot, void *value) {
    if (gh_load(&gci_wb_enabled)) {
        gh_thread *t = thr_current("gc_write_barrier");
        wb_enqueue(t, AO_load((volatile AO_t *)slot));
        if (!t->frames_black)
            wb_enqueue(t, (uintptr_t)value);
    }
    AO_store_release((volatile AO_t *)slot, (uintptr_t)value);
}

void gc_memmove(void *dst, const void *src, size_t n) {
    if (gh_load(&gci_wb_enabled) && n >= sizeof(void *)) {
        gh_thread *t = thr_current("gc_memmove");
        /* Shade the pointers about to be overwritten and those being
         * copied, word by word over the destination's pointer slots. A
         * destination outside the heap is a root range or C memory the
         * marker scans as a whole, so every aligned word is treated as a
         * slot there. */
        uintptr_t d = GH_ALIGN_UP((uintptr_t)dst, sizeof(void *));
        uintptr_t off = d - (uintptr_t)dst;
        bool dst_heap = arena_of(d) != NULL;
        for (; off + sizeof(void *) <= n; off += sizeof(void *)) {
            uintptr_t slot = (uintptr_t)dst + off;
            if (dst_heap && !hb_is_pointer(slot))
                continue;
            uintptr_t newv;
            memcpy(&newv, (const char *)src + off, sizeof newv);
            wb_enqueue(t, AO_load((volatile AO_t *)slot));
            if (!t->frames_black)
                wb_enqueue(t, newv);
        }
    }
    memmove(dst, src, n);
}
