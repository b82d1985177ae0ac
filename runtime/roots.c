/*
 * roots.c — global root ranges and shadow-stack frames.
 *
 * Global roots are ranges registered with gc_add_roots: every aligned word
 * inside is a pointer slot. They live in a small array under roots_lock,
 * which the marker takes while scanning them.
 *
 * Stack roots are precise and explicit: C cannot tell the collector where
 * its locals are, so a function names the addresses of its pointer locals in
 * a GC_FRAME, a struct on the C stack linked into the thread's list
 * (gci_frame_top, thread-local). Pushing and popping are inline in goheap.h:
 * a few stores, no call. The collector reads a thread's frames only when the
 * thread cannot change them — it is stopped at a safepoint, parked in a
 * blocking region, or is the reader itself — so no synchronisation is needed
 * beyond the handshake that stopped it. The compiler keeps each framed local
 * in memory across calls, because its address has escaped into the frame.
 *
 * Frames nest strictly. GC_UNFRAME of anything but the innermost frame is a
 * fatal error (gci_unframe_mismatch): a forgotten GC_UNFRAME on an early
 * return would otherwise leave a dangling frame that the collector would
 * read after the function's stack is gone.
 */
#include "roots.h"

#include <stdlib.h>
#include <string.h>

#include "lock.h"

typedef struct {
    void **start;
    size_t words;
} root_range;

static gh_mutex roots_lock = GH_MUTEX_INIT;
static root_range *ranges;
static size_t nranges, cap_ranges;

void roots_init(void) {
    nranges = 0;
}

void roots_shutdown(void) {
    free(ranges);
    ranges = NULL;
    nranges = cap_ranges = 0;
}

void gc_add_roots(void *start, size_t bytes) {
    thr_current("gc_add_roots");
    if (start == NULL && bytes != 0)
        gh_throw("gc_add_roots: NULL start");
    uintptr_t lo = GH_ALIGN_UP((uintptr_t)start, sizeof(void *));
    uintptr_t hi = GH_ALIGN_DOWN((uintptr_t)start + bytes, sizeof(void *));
    if ((uintptr_t)start + bytes < (uintptr_t)start)
        gh_fatalf("gc_add_roots: range %p + %zu wraps around the address space", start, bytes);
    gh_lock(&roots_lock);
    for (size_t i = 0; i < nranges; i++)
        if (ranges[i].start == (void **)start)
            gh_fatalf("gc_add_roots: a range starting at %p is already registered", start);
    if (nranges == cap_ranges) {
        size_t ncap = cap_ranges ? cap_ranges * 2 : 16;
        root_range *n = realloc(ranges, ncap * sizeof *n);
        if (n == NULL)
            gh_throw("gc_add_roots: out of memory");
        ranges = n;
        cap_ranges = ncap;
    }
    /* Keyed by the caller's start, which gc_remove_roots will pass back. */
    ranges[nranges].start = (void **)start;
    ranges[nranges].words = hi > lo ? (hi - lo) / sizeof(void *) : 0;
    nranges++;
    gh_unlock(&roots_lock);
}

void gc_remove_roots(void *start) {
    thr_current("gc_remove_roots");
    gh_lock(&roots_lock);
    for (size_t i = 0; i < nranges; i++) {
        if (ranges[i].start == (void **)start) {
            ranges[i] = ranges[--nranges];
            gh_unlock(&roots_lock);
            return;
        }
    }
    gh_unlock(&roots_lock);
    gh_fatalf("gc_remove_roots: no root range starts at %p", start);
}

void roots_for_each_global(void (*fn)(void **slot, void *arg), void *arg) {
    gh_lock(&roots_lock);
    for (size_t i = 0; i < nranges; i++) {
        void **p = (void **)GH_ALIGN_UP((uintptr_t)ranges[i].start, sizeof(void *));
        for (size_t w = 0; w < ranges[i].words; w++)
            fn(&p[w], arg);
    }
    gh_unlock(&roots_lock);
}

void roots_for_each_frame_slot(gh_thread *t, void (*fn)(void **slot, void *arg), void *arg) {
    for (gci_frame *f = *t->frame_top; f != NULL; f = f->prev)
        for (size_t i = 0; i < f->count; i++)
            fn((void **)f->slots[i], arg);
}

void gci_unframe_mismatch(gci_frame *f) {
    gci_frame *top = gci_frame_top;
    if (top == NULL)
        gh_fatalf("GC_UNFRAME of frame declared at %s:%d, but no frame is pushed", f->file,
                  f->line);
    gh_fatalf("GC_UNFRAME of frame declared at %s:%d, but the innermost frame is the one "
              "declared at %s:%d (unbalanced GC_FRAME/GC_UNFRAME)",
              f->file, f->line, top->file, top->line);
}
