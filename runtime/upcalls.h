/*
 * upcalls.h — the calls the mutator's side (runtime/) makes into the
 * collector (gc/). 
 *
 * Layers include downward only (sizeclass < arena < runtime < gc), yet the
 * allocator must start cycles, sweep before growing, allocate black and pay
 * mark assists, and thread registration must set up per-thread collector
 * state. Those calls are declared here, by the layer that makes them, and
 * defined in gc/; this file is the complete list of runtime's upward
 * dependencies. The arena layer has two of its own, declared in
 * arena/mheap.h and defined in runtime/thread.c: thr_stoppable_begin/end,
 * which park the allocating thread around a new span's system calls.
 */
#ifndef GH_UPCALLS_H
#define GH_UPCALLS_H

#include "span.h"

struct gh_thread;

/* Starts a cycle if the heap has reached the trigger (gc/cycle.c). Called at
 * a safepoint of a registered thread, with no lock held. */
void cycle_maybe_start(void);

/* Proportional sweep: sweeps enough spans to pay for allocating `bytes`
 * (gc/sweep.c). With own non-NULL, own's unswept spans are swept first and
 * the first with a free slot is returned, swept, unlisted, for the
 * caller's mcache (NULL if none). No lock held. */
struct mcentral;
mspan *sweep_deduct_credit(uintptr_t bytes, struct mcentral *own);

/* Sweeps spans whose pages hold no marked object until npages pages were
 * freed or none are left, before the heap grows (gc/sweep.c). */
void sweep_reclaim(uintptr_t npages);

/* Bracket a search for spans to sweep (pop from a list, then claim), so
 * that sweep_finish waits for it (gc/sweep.c). */
void sweep_begin(void);
void sweep_end(void);

/* Claims s for sweeping: CAS of its sweepgen from h-2 to h-1, h = sg the
 * sweepgen the caller read. On success the caller must call
 * sweep_span(s, ...) next (gc/sweep.c). */
bool sweep_claim(mspan *s, uintptr_t sg);
/* Claims a span the caller owns (an mcache's stale span) without CAS. */
void sweep_claim_owned(mspan *s, uintptr_t sg);

/* Sweeps span s, claimed by sweep_claim*. With preserve, the span is kept
 * by the caller (never freed or listed). Returns true if the span was freed
 * to the heap (gc/sweep.c). */
bool sweep_span(mspan *s, bool preserve);

/* During a mark phase, makes thread t pay for allocating `bytes` with scan
 * work (mark assist), in proportion to the pacer's assist ratio (gc/mark.c).
 * Outside mark, one load and a branch. */
void mark_assist_alloc(struct gh_thread *t, uintptr_t bytes);

/* During a mark phase, shades p for a mutator that obtained it outside the
 * write barrier (a weak handle read, a new finalizer) (gc/barrier.c). */
void mark_shade_from_mutator(struct gh_thread *t, uintptr_t p);

/* Allocate-black in bulk: during a mark phase, pre-marks every free slot of
 * span s (cached by thread t) from freeindex on, so allocating from s needs
 * no per-object marking; and, when s leaves the cache, unmarks the slots it
 * did not hand out (gc/mark.c). No-ops outside a mark phase and for spans
 * not pre-marked. */
void mark_span_free_slots(struct gh_thread *t, mspan *s);
void mark_span_unmark_unused(struct gh_thread *t, mspan *s);

/* Marks the new object at p black during a mark phase and charges the
 * allocation against the thread's assist credit (gc/mark.c). */
void mark_new_object(struct gh_thread *t, mspan *s, uintptr_t p);

/* Per-thread collector state: created at registration, flushed and freed at
 * unregistration (gc/work.c). */
/* GOHEAP_DEBUG=rootcheck=1 (gc/rootcheck.c): records t's stack bounds at
 * registration, and its frames where it stops or parks. Called by t. */
void rootcheck_thread_init(struct gh_thread *t);
void rootcheck_capture(struct gh_thread *t);

void mark_thread_attach(struct gh_thread *t);
void mark_thread_detach(struct gh_thread *t);

/* Allocation hooks (runtime/malloc.c), set by the collector and gc_init. */
enum { ALLOC_HOOK_MARKING = 1, ALLOC_HOOK_TYPES = 2, ALLOC_HOOK_TRACK = 4 };
extern volatile AO_t alloc_hooks;

/* Starts and stops the collector's background threads (gc/cycle.c). */
void cycle_init(void);
void cycle_shutdown(void);

#endif /* GH_UPCALLS_H */
