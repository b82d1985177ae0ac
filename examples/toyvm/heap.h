/*
 * heap.h — the only place toyvm names a garbage collector.
 *
 * The VM is written once against the macros below; this header maps them to
 * goheap (the default) or, when compiled with -DTOYVM_BDWGC, to the
 * Boehm-Demers-Weiser collector, so the same interpreter can be benchmarked on
 * both. The two collectors ask different things of a program:
 *
 *   macro                  goheap (precise)                 bdwgc (conservative)
 *   VM_TYPE(var, T, f...)  GC_TYPE: pointer mask of T        nothing
 *   vm_alloc(size, &t)     gc_alloc, zeroed, typed           GC_MALLOC, zeroed
 *   vm_alloc_noscan(size)  gc_mallocgc(NULL, needzero=0)     GC_MALLOC_ATOMIC
 *   VM_STORE(lv, v)        GC_STORE (write barrier)          plain store
 *   vm_memmove(d, s, n)    gc_memmove (barrier per pointer)  memmove
 *   VM_FRAME / VM_UNFRAME  GC_FRAME / GC_UNFRAME             nothing: the C stack
 *                                                            is scanned
 *   vm_add_roots(p, n)     gc_add_roots                      GC_add_roots
 *   vm_safepoint()         gc_safepoint                      nothing
 *   vm_enter/leave_blocking  gc_enter/leave_blocking         nothing
 *   vm_weak_new/get        gc_weak_new / gc_weak_get        disappearing link in
 *                                                            a pointer-free cell
 *   vm_set_finalizer       gc_set_finalizer                 GC_register_finalizer_no_order
 *   vm_run_finalizers      gc_run_finalizers (manual mode)  GC_invoke_finalizers
 *                                                            (finalize on demand)
 *   vm_frame_mark/reset    gc_frame_save / gc_frame_restore nothing
 *
 * Rules that hold for both builds, so the VM stays correct on goheap:
 *   - VM_STORE is used for every pointer store into a heap object or a
 *     registered root range; only framed locals take plain assignments.
 *   - vm_alloc_noscan memory is NOT zeroed: the caller writes every byte it
 *     later reads, and it must never hold a heap pointer.
 *   - VM_FRAME lists locals, never expressions; a frame is popped with
 *     VM_UNFRAME on every path out of the function that pushed it.
 *   - Code that longjmps across frames saves the innermost frame with
 *     vm_frame_mark() before setjmp and reinstates it with
 *     vm_frame_reset() after the longjmp returns (see vm_protect in eval.c).
 *
 * Nothing outside this file includes goheap.h or gc.h.
 */
#ifndef TOYVM_HEAP_H
#define TOYVM_HEAP_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifndef TOYVM_BDWGC

#include <goheap.h>

#define VM_TYPE(var, T, ...) GC_TYPE(var, T, __VA_ARGS__)
#define vm_alloc(size, type) gc_alloc((size), (type))
#define vm_alloc_noscan(size) gc_mallocgc((size), NULL, false)
#define VM_STORE(lv, v) GC_STORE(lv, v)
#define vm_memmove(dst, src, n) gc_memmove((dst), (src), (n))
#define VM_FRAME(f, ...) GC_FRAME(f, __VA_ARGS__)
#define VM_UNFRAME(f) GC_UNFRAME(f)
#define vm_add_roots(start, bytes) gc_add_roots((start), (bytes))
#define vm_safepoint() gc_safepoint()
#define vm_enter_blocking() gc_enter_blocking()
#define vm_leave_blocking() gc_leave_blocking()
#define vm_collect() gc_collect()
#define VM_HEAP_NAME "goheap"

/* Weak references: one handle per object, itself a heap object. */
typedef gc_weak vm_weak;
#define vm_weak_new(obj) gc_weak_new(obj)
#define vm_weak_get(w) gc_weak_get(w)

/* Finalizers, in manual mode (vm_heap_init): fn(obj, arg) runs on the
 * interpreter thread, inside vm_run_finalizers(), which the VM calls only at
 * points where its own state is consistent (see README, "Finalizers"). */
typedef gc_finalizer vm_finalizer;
#define vm_set_finalizer(obj, fn, arg) gc_set_finalizer((obj), (fn), (arg))
#define vm_clear_finalizer(obj) gc_set_finalizer((obj), NULL, NULL)
#define vm_run_finalizers() gc_run_finalizers()

/*
 * longjmp skips every GC_UNFRAME between the throw and the catch, leaving the
 * thread's innermost frame pointing into dead stack memory. An error handler
 * saves the frame list with gc_frame_save() before setjmp and reinstates it
 * with gc_frame_restore() after longjmp, which pops all the skipped frames at
 * once (see vm_protect in eval.c).
 */
typedef gc_frame_mark vm_frame_mark_t;
#define vm_frame_mark() gc_frame_save()
#define vm_frame_reset(mark) gc_frame_restore(mark)

/* No finalizer thread: toyvm is single-threaded, and its finalizers touch
 * VM state, so they run only where the interpreter calls vm_run_finalizers. */
static inline void vm_heap_init(void) { gc_init_opts(&(gc_options){.manual_finalizers = true}); }

/* Collector statistics for the --summary line. object.c also reads them
 * every few thousand allocations to sample the peak heap size. */
typedef struct vm_heap_stats {
    unsigned long cycles;
    double pause_total_ms;
    double pause_max_ms;
    unsigned long long heap_alloc;
} vm_heap_stats;

static inline void vm_heap_read_stats(vm_heap_stats *out) {
    static gc_stats s; /* 4 KiB of pause history: too big for every caller's stack */
    gc_read_stats(&s);
    out->cycles = s.num_gc;
    out->pause_total_ms = (double)s.pause_total_ns / 1e6;
    /* pause_ns is a ring of the last GC_PAUSE_HISTORY cycles (zero where no
     * cycle has run yet); older pauses are gone, so with more cycles than
     * that this is the longest of the recent ones. */
    uint64_t max = 0;
    for (unsigned i = 0; i < GC_PAUSE_HISTORY; i++)
        if (s.pause_ns[i] > max)
            max = s.pause_ns[i];
    out->pause_max_ms = (double)max / 1e6;
    out->heap_alloc = s.heap_alloc;
}

#else /* TOYVM_BDWGC */

#include <gc.h>

#define VM_TYPE(var, T, ...) struct toyvm_untyped_##var
#define vm_alloc(size, type) GC_MALLOC(size)
#define vm_alloc_noscan(size) GC_MALLOC_ATOMIC(size)
#define VM_STORE(lv, v) ((lv) = (v))
#define vm_memmove(dst, src, n) memmove((dst), (src), (n))
/* bdwgc scans the C stack and registers conservatively: frames are free. */
#define VM_FRAME(f, ...) ((void)0)
#define VM_UNFRAME(f) ((void)0)
#define vm_add_roots(start, bytes) GC_add_roots((start), (char *)(start) + (bytes))
#define vm_safepoint() ((void)0)
#define vm_enter_blocking() ((void)0)
#define vm_leave_blocking() ((void)0)
#define vm_collect() GC_gcollect()
#define VM_HEAP_NAME "bdwgc"

/* Weak references: a pointer-free cell holding obj's address (so the cell
 * does not keep obj alive), registered as a disappearing link that bdwgc
 * clears when obj becomes unreachable. bdwgc frees the registration with the
 * cell. toyvm's bdwgc build is single-threaded and not incremental, so a
 * plain read cannot race with the clearing. */
typedef struct vm_weak { void *obj; } vm_weak;
static inline vm_weak *vm_weak_new(void *obj) {
    vm_weak *w = GC_MALLOC_ATOMIC(sizeof *w);
    w->obj = obj;
    GC_general_register_disappearing_link(&w->obj, obj);
    return w;
}
static inline void *vm_weak_get(vm_weak *w) { return w->obj; }

/* Finalizers: bdwgc's "no order" flavour has goheap's (and Go's) semantics
 * for toyvm's purposes, and with finalize_on_demand set (vm_heap_init) they
 * run only inside GC_invoke_finalizers, like goheap's manual mode. */
typedef GC_finalization_proc vm_finalizer;
#define vm_set_finalizer(obj, fn, arg) GC_register_finalizer_no_order((obj), (fn), (arg), NULL, NULL)
#define vm_clear_finalizer(obj) GC_register_finalizer_no_order((obj), NULL, NULL, NULL, NULL)
#define vm_run_finalizers() ((void)GC_invoke_finalizers())

typedef int vm_frame_mark_t;
#define vm_frame_mark() 0
#define vm_frame_reset(mark) ((void)(mark))

static inline void vm_heap_init(void) {
    GC_INIT();
    GC_set_finalize_on_demand(1);
    GC_start_performance_measurement();
}

typedef struct vm_heap_stats {
    unsigned long cycles;
    double pause_total_ms;
    double pause_max_ms; /* bdwgc does not record single pauses: reported as -1 */
    unsigned long long heap_alloc;
} vm_heap_stats;

static inline void vm_heap_read_stats(vm_heap_stats *out) {
    GC_word heap_size, free_bytes, unmapped, since_gc, total;
    GC_get_heap_usage_safe(&heap_size, &free_bytes, &unmapped, &since_gc, &total);
    out->cycles = (unsigned long)GC_get_gc_no();
    out->pause_total_ms = (double)GC_get_full_gc_total_time();
    out->pause_max_ms = -1;
    out->heap_alloc = heap_size - free_bytes - unmapped;
}

#endif /* TOYVM_BDWGC */

#endif /* TOYVM_HEAP_H */
