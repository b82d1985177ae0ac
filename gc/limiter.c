/*
 * limiter.c — the GC CPU limiter.                              Go: mgclimit.go
 *
 * Overview. Under a memory limit the heap goal can fall to the live heap
 * itself; each cycle then ends with no room to allocate, the next one starts
 * at once, and the program spends its time collecting (a death spiral). The
 * limiter bounds that: it lets the heap exceed the limit rather than let the
 * collector use more than about half of the CPU over a window.
 *
 * The bucket. Every interval adds the collector's CPU time (collector and
 * helper mark workers, and mark assists) and removes the mutators' (the
 * rest of the process's CPU time). Fill and drain are unweighted, so the
 * bucket only rises while the collector uses more than 50%. It is never
 * negative: an idle program banks no credit for a later spiral. Its capacity,
 * one CPU-second per CPU (Go's), is the window: the limiter engages after
 * roughly that much excess GC time.
 *
 * Effect. While the bucket is full (limiting):
 *   - the pacer raises the memory-limit goal to at least the marked heap
 *     plus LIMITER_RELAXED_PERCENT (gc/pacer.c), so cycles are spaced as
 *     with GOGC=100 and the heap may pass the limit;
 *   - mark assists are skipped (gc/mark.c): allocation is not made to pay
 *     for a goal that is being given up;
 *   - allocations stop scavenging synchronously for the limit
 *     (arena/scavenge.c).
 * When the mutators drain any of it, the next cycle goes back to the limit.
 *
 * Invariants: 0 <= fill <= capacity; limiting == (fill == capacity)
 * (checked: tests/unit/check_pacer.c, limiter tests).
 *
 * Concurrency. The struct is plain data owned by gc/cycle.c, updated under
 * the world lock. limiter_active is its published flag, an atomic word.
 *
 * Departures from Go. Go updates the bucket continuously (every few ms from
 * sysmon and at GC transitions) and counts idle Ps as neither mutator nor GC
 * time; here the bucket is updated once per cycle, and "total" is the
 * process's CPU time (CLOCK_PROCESS_CPUTIME_ID), which already leaves idle
 * CPUs out. Go's limiter acts on the CPU directly (assists off, workers
 * bounded) and lets the goal follow; here it also raises the goal, because
 * without preemptible workers the goal is the lever that spaces cycles out.
 */
#include "limiter.h"

volatile AO_t limiter_active;

void limiter_init(limiter *l, unsigned ncpu) {
    *l = (limiter){.capacity = (ncpu ? ncpu : 1) * LIMITER_CAPACITY_PER_CPU_NS};
}

void limiter_update(limiter *l, uint64_t gc_ns, uint64_t total_ns) {
    if (gc_ns > total_ns)
        gc_ns = total_ns;
    uint64_t mutator_ns = total_ns - gc_ns;
    uint64_t fill = l->fill + gc_ns;
    fill = fill > mutator_ns ? fill - mutator_ns : 0;
    if (fill > l->capacity) {
        l->overflow += fill - l->capacity;
        fill = l->capacity;
    }
    l->fill = fill;
    l->limiting = fill == l->capacity;
}
