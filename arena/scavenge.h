/*
 * scavenge.h — returning free heap pages to the OS: the background
 * scavenger, the scavenging an allocation does to keep under the memory
 * limit, and the retained-memory goals.                  Go: mgcscavenge.go
 *
 * The design is explained at the top of scavenge.c. The collector (gc/)
 * sets the goals at each mark termination; the mheap calls in after each
 * span allocation; the allocator asks whether a strict allocation fits
 * under the limit. No function here may be called with the mheap lock held:
 * each takes it itself, briefly.
 */
#ifndef GH_SCAVENGE_H
#define GH_SCAVENGE_H

#include "base.h"

/* Retain this much more than the heap goal implies (Go's retainExtraPercent). */
#define SCAV_RETAIN_EXTRA_PERCENT 10
/* Under a memory limit, scavenge down to this share of it (Go's
 * 100 - reduceExtraPercent). */
#define SCAV_LIMIT_PERCENT 95
/* Share of one CPU the background scavenger aims to use (Go's
 * scavengePercent). */
#define SCAV_CPU_PERCENT 1
/* Pages returned per lock round trip: the background scavenger's step, and
 * the step of synchronous scavenging. */
#define SCAV_BG_STEP_PAGES 8   /* 64 KiB */
#define SCAV_SYNC_STEP_PAGES 64 /* 512 KiB */

/* Starts and stops the background scavenger thread (gc/cycle.c's
 * cycle_init and cycle_shutdown). */
void scav_start(void);
void scav_stop(void);

/* New goals after a mark termination: heap_goal is the pacer's goal
 * (UINT64_MAX when GOGC is off), memlimit the memory limit (INT64_MAX when
 * none), limiting whether the GC CPU limiter is holding the GC back (then
 * allocations do not scavenge synchronously for the limit, as in Go).
 * Reads the heap in use now as the in-use size at the last goal. Wakes the
 * background scavenger. Called with no lock held but the world lock. */
void scav_set_goal(uint64_t heap_goal, int64_t memlimit, bool limiting);
/* A new memory limit between cycles (gc_set_memory_limit). */
void scav_set_limit(int64_t memlimit);
/* Wakes the background scavenger: sweeping has freed pages it may want. */
void scav_wake(void);

/* Called by mheap_alloc_span after it allocated a span, without the mheap
 * lock: growth_bytes is how much the heap grew for it. Returns free pages to
 * the OS synchronously so that retained memory stays under the memory limit
 * and, after growth, under the GOGC retained goal (Go: mheap.allocSpan). */
void scav_after_alloc(uint64_t growth_bytes);

/* Returns up to `bytes` of free, unscavenged pages to the OS now; returns
 * the bytes released (less when no free unscavenged page is left). */
uint64_t scav_release(uint64_t bytes);

/* The memory limit in bytes (INT64_MAX when none). */
int64_t scav_memory_limit(void);
/* Could `bytes` more of in-use heap exist under the memory limit if every
 * other free page were returned to the OS? (The strict check of
 * gc_try_alloc.) True when there is no limit. */
bool scav_fits_under_limit(uint64_t bytes);

/* Memory the process holds for the heap and its metadata, the figure the
 * memory limit bounds (Go's mappedReady): heap_sys - released + metadata. */
uint64_t scav_mapped_ready(void);
/* Free pages not yet returned to the OS, in bytes (Go's heapFree). */
uint64_t scav_heap_free(void);

/* Bytes returned to the OS by the background scavenger and by synchronous
 * scavenging since gc_init (for tests and gctrace). */
uint64_t scav_released_bg(void);
uint64_t scav_released_sync(void);
/* CPU time the background scavenger's batches used, and the sleeps it
 * paced them with (SCAV_CPU_PERCENT), since gc_init (tests). */
void scav_bg_pacing(uint64_t *cpu_ns, uint64_t *sleep_ns);

#endif /* GH_SCAVENGE_H */
