/*
 * gc.h — the collector's internal interface: the cycle's phase and the
 * entry points shared by the files of gc/.
 *
 * The cycle (Go's mgc.go), and what each phase means for the mutator:
 *
 *   GC_OFF        no mark running; sweeping of the last cycle proceeds
 *                 concurrently; GC_STORE is a plain store.
 *   GC_MARK       the marker traces from the roots; the write barrier shades
 *                 overwritten and new pointers; new objects are born black.
 *   GC_MARKTERM   the world is stopped: the last work is drained, caches
 *                 are flushed, sweepgen advances, sweeping starts.
 *
 * The invariant marking keeps (the weak tri-color invariant under Go's
 * hybrid barrier): every white object that a black object or an already
 * scanned frame points to is reachable from some grey object through white
 * objects, or is protected by the barrier having shaded it. So when no grey
 * object is left, every reachable object is black. gc/barrier.c gives the
 * argument; gccheckmark=1 verifies the result (gc/checkmark.c).
 */
#ifndef GH_GC_H
#define GH_GC_H

#include "atomics.h"
#include "span.h"

enum { GC_OFF = 0, GC_MARK = 1, GC_MARKTERM = 2 };

extern volatile AO_t gc_phase;

struct gcwork;
struct gh_thread;

/* --- mark.c --- */
/* Shades the object containing p, if p points into the heap. */
void mark_shade(struct gcwork *w, uintptr_t p);
/* mark_shade for each of n pointers (a write-barrier buffer): one span
 * lookup serves a run of pointers into the same span. */
void mark_shade_n(struct gcwork *w, const uintptr_t *ptrs, size_t n);
/* Scans the registered global ranges. */
void mark_globals(struct gcwork *w);
/* Scans the frames of thread t. */
void mark_thread_frames(struct gcwork *w, struct gh_thread *t);
/* Drains w and the global queue until both are empty. */
void mark_drain(struct gcwork *w);
/* The most CPU time one mark assist spends, in ns (1 ms; tests shorten it). */
extern int64_t assist_max_ns;
void mark_assist_start_cycle(uint64_t scan_expected, uint64_t heap_goal, uint64_t triggered,
                             uint64_t hard_goal);
/* Parks the calling mutator until the mark phase ends or the background
 * markers have done `debt` more scan work; mark_assist_release wakes all. */
void mark_assist_park(uint64_t debt);
void mark_assist_release(void);
extern volatile AO_t assist_work_total;
/* Thread CPU time spent in mark assists since gc_init, ns (for the GC CPU
 * limiter). */
extern volatile AO_t assist_cpu_ns;
/* Bytes marked so far this cycle. */
uint64_t mark_bytes_marked(void);
void mark_reset_cycle(void);

/* --- sweep.c --- */
/* Sweeps a batch of unswept spans of one class, taken off its lists under
 * one lock acquisition: at most SWEEP_BATCH_SPANS (sweep.c), fewer once
 * they hold npages pages (at least one span). Returns the pages swept, 0
 * only when no unswept span is left. */
uintptr_t sweep_batch(uintptr_t npages);
/* Sweeps everything left and waits for concurrent sweepers to finish. */
void sweep_finish(void);
/* After sweep_finish: returns to the mheap the empty spans sweeping kept
 * on their class's lists for a cycle (gc_collect). */
void sweep_release_empty(void);
/* Resets the proportional-sweep pacing at the start of a sweep phase. */
void sweep_start_cycle(uint64_t heap_live, uint64_t sweep_by);
/* Background sweeping, done by the collector thread between cycles (Go's
 * bgsweep): sweeps a batch at a time until nothing is left to sweep or
 * interrupted() says a cycle is wanted. sweep_bg_stop turns it off (and
 * waits for the batch in progress), sweep_bg_start back on. */
void sweep_background(bool (*interrupted)(void));
void sweep_bg_start(void);
void sweep_bg_stop(void);
/* Test-only: called by sweep_batch with the spans it swept and kept, after
 * sweeping them and before listing them. */
extern void (*sweep_batch_test_hook)(mspan *const *spans, unsigned n);

/* --- barrier.c --- */
extern volatile AO_t gci_wb_enabled;
/* Shades the pointers in t's write-barrier buffer into t's gcwork. */
void wb_flush(struct gh_thread *t);

/* --- checkmark.c --- */
/* With the world stopped after mark: re-marks everything reachable into the
 * checkmarks bitmaps and dies naming any reachable object left unmarked. */
void checkmark_verify(void);

/* --- rootcheck.c --- */
/* With the world stopped after mark: reports every allocated, unmarked
 * object a word of a registered thread's stack points to (rootcheck=1). */
void rootcheck_verify(void);

/* --- cycle.c --- */
/* The heap goal in force, read without the world lock (for tests, whose
 * gc_read_stats would stop the world). */
uint64_t cycle_heap_goal(void);
/* Test-only: called by the collector at named points of a cycle
 * ("mark-start": pause 1 is over, no thread has given its frames yet;
 * "globals-scanned": the global roots are shaded, the frames not yet;
 * "mark-drained": marking found no work left, before termination), and by
 * a helper marker ("helper-draining": counted busy, about to drain). */
extern void (*cycle_test_hook)(const char *point);

#endif /* GH_GC_H */
