/*
 * mark.c — marking: shading pointers, scanning objects by the heap bitmap,
 * scanning roots.                                              Go: mgcmark.go
 *
 * Colours. White: not marked. Grey: marked and queued in a work buffer, not
 * yet scanned. Black: marked and scanned (or noscan, which is black as soon
 * as it is marked, having nothing to scan). An object's mark bit is its only
 * colour bit; grey vs black is "queued or not".
 *
 * mark_shade(p) finds the object containing p in constant time (arena index
 * -> heap_arena.spans -> span -> division magic), sets its mark bit with an
 * atomic test-and-set so exactly one marker queues it, sets the span's bit in
 * heap_arena.page_marks (the reclaimer frees spans whose bit stays clear), and
 * queues it unless its span is noscan.
 *
 * scan_object(b) visits only the pointer words of the object, reading the
 * heap bitmap 64 words at a time and jumping between set bits with
 * count-trailing-zeros. Objects larger than OBLET_BYTES are split into
 * oblets: scanning the object's base queues its other oblets instead of
 * scanning them, so one huge array cannot keep a marker busy (and the work
 * unshared) for long.
 *
 * Pointer slots may hold any value a C program stores there: NULL and
 * pointers outside the heap are ignored. A pointer into the heap's address
 * space that lands in no allocated span is a bug in the program (a dangling
 * pointer or garbage in a pointer slot); with invalidptr=1 it is a fatal
 * error naming the slot's object and type (mark_bad_pointer).
 *
 * Concurrency: mark bits are set with CAS (markers race); page_marks with
 * atomic OR; heap slots are read with relaxed atomic loads because mutators
 * may write them concurrently through the write barrier.
 */
#include <stdio.h>

#include "env.h"
#include "gc.h"
#include "heapbits.h"
#include "roots.h"
#include "work.h"

volatile AO_t gc_phase;

/* Large objects are scanned in pieces of this size (Go's maxObletBytes). */
#define OBLET_BYTES ((uintptr_t)128 << 10)

GH_COLD GH_NORETURN static void bad_pointer(uintptr_t p, uintptr_t holder, uintptr_t slot) {
    mspan *hs = holder ? span_of(holder) : NULL;
    const char *tname = "?";
    if (hs != NULL && hs->obj_types != NULL) {
        const gc_type *t = hs->obj_types[span_obj_index(hs, holder)];
        if (t != NULL && t->name != NULL)
            tname = t->name;
    }
    mspan *ps = span_of_unchecked(p);
    if (holder != 0)
        gh_fatalf("invalid pointer %p in pointer slot %p (offset %zu) of object %p of type %s: "
                  "it points into %s heap memory",
                  (void *)p, (void *)slot, (size_t)(slot - holder), (void *)holder, tname,
                  ps == NULL ? "unallocated" : "freed");
    gh_fatalf("invalid pointer %p in root slot %p: it points into %s heap memory", (void *)p,
              (void *)slot, ps == NULL ? "unallocated" : "freed");
}

/* Shades p (found in `slot` of object `holder`, 0 for roots). */
static inline void shade_from(gcwork *w, uintptr_t p, uintptr_t holder, uintptr_t slot) {
    heap_arena *ha = arena_of(p);
    if (ha == NULL)
        return;
    mspan *s = (mspan *)gh_load(&ha->spans[arena_page_index(p)]);
    if (GH_UNLIKELY(s == NULL || gh_load(&s->state) != SPAN_IN_USE || p >= s->limit ||
                    p < s->startaddr)) {
        if (gh_debug.invalidptr)
            bad_pointer(p, holder, slot);
        return;
    }
    uintptr_t idx = span_obj_index(s, p);
    if (!span_try_mark(s, idx))
        return;
    heap_arena *sa = s->startaddr - ha->base < GH_ARENA_BYTES ? ha : arena_of(s->startaddr);
    uintptr_t page = arena_page_index(s->startaddr);
    if (!arena_page_bit(sa->page_marks, page))
        arena_set_page_bit(sa->page_marks, page);
    w->bytes_marked += s->elemsize;
    if (sc_span_class_noscan(s->spanclass))
        return;
    work_put(w, s->startaddr + idx * s->elemsize);
}

void mark_shade(gcwork *w, uintptr_t p) { shade_from(w, p, 0, 0); }

/* Scans [b, b+n) of the object whose base is `obj` by the heap bitmap. */
static void scan_range(gcwork *w, uintptr_t b, uintptr_t n, uintptr_t obj) {
    uintptr_t end = b + n;
    heap_arena *ha = NULL;
    for (uintptr_t addr = b; addr < end;) {
        if (ha == NULL || addr - ha->base >= GH_ARENA_BYTES)
            ha = arena_of(addr);
        uintptr_t word = (addr - ha->base) / GH_PTR_SIZE;
        unsigned shift = word % 64;
        uintptr_t count = GH_MIN(64 - shift, (end - addr) / GH_PTR_SIZE);
        uint64_t bits = hb_load_word(ha, word / 64) >> shift;
        if (count < 64)
            bits &= ((uint64_t)1 << count) - 1;
        while (bits != 0) {
            unsigned i = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            uintptr_t slot = addr + (uintptr_t)i * GH_PTR_SIZE;
            uintptr_t p = AO_load((volatile AO_t *)slot);
            if (p != 0)
                shade_from(w, p, obj, slot);
        }
        addr += count * GH_PTR_SIZE;
    }
}

/* Scans the grey object (or oblet) at b. Go: scanobject */
static void scan_object(gcwork *w, uintptr_t b) {
    mspan *s = span_of(b);
    GH_ASSERT(s != NULL);
    uintptr_t n = s->elemsize;
    uintptr_t obj = b;
    if (n > OBLET_BYTES) {
        obj = s->startaddr;
        if (b == obj) {
            /* Queue the other oblets; each entry's address says which. */
            for (uintptr_t o = b + OBLET_BYTES; o < obj + n; o += OBLET_BYTES)
                work_put(w, o);
        }
        n = GH_MIN(obj + s->elemsize - b, OBLET_BYTES);
    }
    scan_range(w, b, n, obj);
    w->scan_work += (int64_t)n;
}

void mark_drain(gcwork *w) {
    uintptr_t b;
    while ((b = work_tryget(w)) != 0)
        scan_object(w, b);
}

static void shade_root_slot(void **slot, void *arg) {
    uintptr_t p = AO_load((volatile AO_t *)slot);
    if (p != 0)
        shade_from(arg, p, 0, (uintptr_t)slot);
}

void mark_thread_frames(gcwork *w, gh_thread *t) {
    roots_for_each_frame_slot(t, shade_root_slot, w);
}

void mark_roots(gcwork *w) {
    roots_for_each_global(shade_root_slot, w);
    for (gh_thread *t = thr_list(); t != NULL; t = t->next)
        mark_thread_frames(w, t);
}

void mark_new_object(gh_thread *t, mspan *s, uintptr_t p) {
    uintptr_t idx = span_obj_index(s, p);
    if (span_try_mark(s, idx)) {
        heap_arena *ha = arena_of(s->startaddr);
        arena_set_page_bit(ha->page_marks, arena_page_index(s->startaddr));
        t->gcw->bytes_marked += s->elemsize;
    }
}

void mark_reset_cycle(void) {
    gh_store(&work_bytes_marked, 0);
    gh_store(&work_scan_done, 0);
    /* No span has a marked object yet. */
    for (uintptr_t i = 0; i < arena_count(); i++) {
        heap_arena *ha = arena_at(i);
        for (uintptr_t w = 0; w < GH_PAGE_WORDS; w++)
            gh_store(&ha->page_marks[w], 0);
    }
}

uint64_t mark_bytes_marked(void) { return gh_load(&work_bytes_marked); }
