/*
 * pacer.h — when to start a cycle: the GOGC heap goal, the memory-limit
 * heap goal, and the trigger.
 *                                                            Go: mgcpacer.go
 *
 * The pacer is a struct and pure functions, so tests can simulate cycles
 * with declared allocation and scan rates (tests/unit/check_pacer.c), as Go's
 * TestGcPacer does. The collector keeps one instance in gc/cycle.c, updated
 * at mark termination with the world stopped; allocating threads read only
 * the published trigger.
 */
#ifndef GH_PACER_H
#define GH_PACER_H

#include "base.h"

/* Go's heapMinimum: no goal is ever below 4 MiB (scaled by GOGC/100). */
#define PACER_HEAP_MINIMUM ((uint64_t)4 << 20)
/* Fraction of CPU the background markers aim to use (Go's
 * gcBackgroundUtilization). */
#define PACER_GOAL_UTILIZATION 0.25
/* Bounds on a measured mark utilisation: a mark too short to time, or one
 * that had every CPU, must not make the cons/mark ratio 0 or infinite. */
#define PACER_MIN_UTILIZATION 0.05
#define PACER_MAX_UTILIZATION 0.95
/* Floor on the scan work left in the assist ratio: an estimate that ran
 * out still asks something of each byte allocated. */
#define PACER_ASSIST_MIN_WORK_LEFT (64.0 * 1024)
/* Floor on the heap growth left (Go's, one byte), so the ratio stays finite.
 * Past the 10% overshoot a byte costs all the work left: background credit
 * buys next to nothing there, and a thread with nothing to scan waits for
 * the mark to end instead of growing the heap further. */
#define PACER_ASSIST_MIN_HEAP_LEFT 1.0
/* Cycles of cons/mark history kept (Go keeps 4 and uses the maximum). */
#define PACER_CONS_MARK_HISTORY 4
/* Bytes kept free below the memory-limit goal for pacing error (Go's
 * memoryLimitHeapGoalHeadroom). */
#define PACER_LIMIT_HEADROOM ((uint64_t)1 << 20)

typedef struct pacer {
    int gogc;             /* percent; < 0 means automatic cycles are off */
    int64_t memlimit;     /* bytes; INT64_MAX = none */
    uint64_t heap_marked; /* bytes marked by the last cycle */
    uint64_t heap_goal;   /* the next cycle should finish by this heap size */
    uint64_t trigger;     /* heap_live at which the next cycle starts */
    uint64_t live_at_trigger;  /* heap_live when the current cycle started */
    uint64_t last_heap_scan;   /* scan work of the last cycle */
    double cons_mark[PACER_CONS_MARK_HISTORY]; /* allocation per unit of scan work */
    unsigned cycles;
    /* Memory-limit inputs, sampled at mark termination: */
    uint64_t mapped_ready; /* retained heap + metadata (what the limit bounds) */
    uint64_t heap_free;    /* free heap pages not returned to the OS */
    uint64_t heap_alloc;   /* bytes in allocated objects */
    bool limiting;         /* the GC CPU limiter is full (gc/limiter.h) */
} pacer;

/* The heap goal for gogc after a mark that found heap_marked live bytes:
 * heap_marked * (1 + gogc/100), at least PACER_HEAP_MINIMUM*gogc/100.
 * UINT64_MAX when gogc < 0. */
uint64_t pacer_goal(int gogc, uint64_t heap_marked);

/* The heap goal the memory limit allows (Go's memoryLimitHeapGoal): the
 * limit minus what counts against it but cannot hold objects —
 * mapped_ready - heap_free - heap_alloc, i.e. metadata and fragmentation —
 * minus any amount by which mapped_ready already exceeds the limit, minus
 * PACER_LIMIT_HEADROOM; never below heap_marked. UINT64_MAX when memlimit
 * is INT64_MAX (no limit). */
uint64_t pacer_memlimit_goal(int64_t memlimit, uint64_t mapped_ready, uint64_t heap_free,
                             uint64_t heap_alloc, uint64_t heap_marked);

/* The goal now in force: the lower of the GOGC goal and the memory-limit
 * goal; while limiting, the latter is raised to at least heap_marked * (1 +
 * LIMITER_RELAXED_PERCENT/100). */
uint64_t pacer_effective_goal(const pacer *p);

/* Recomputes goal and trigger from the current state (after a setting
 * changes). */
void pacer_commit(pacer *p);

/* Folds a finished mark into the state: marked bytes, the heap_live reached
 * at termination, the scan work done and the share of the CPUs marking took
 * during the mark phase (markers and assists; clamped to
 * [PACER_MIN_UTILIZATION, PACER_MAX_UTILIZATION]); then commits. */
void pacer_cycle_end(pacer *p, uint64_t heap_marked, uint64_t live_at_end, uint64_t scan_work,
                     double utilization);

/* What the assist ratio is computed from, sampled during a mark. */
typedef struct pacer_assist_inputs {
    uint64_t work_done;     /* scan work done so far this cycle */
    uint64_t work_expected; /* the last cycle's scan work */
    uint64_t work_worst;    /* the scannable heap: every object surviving */
    uint64_t heap_live;     /* heap_live now */
    uint64_t heap_goal;     /* this cycle's goal */
    uint64_t hard_goal;     /* the furthest the goal may be pushed back */
    uint64_t triggered;     /* heap_live when the cycle started */
} pacer_assist_inputs;

/* Scan work an assisting thread owes per byte it allocates: the work left
 * over the heap growth left, with the goal pushed back when the heap turns
 * out to be growing. Go: gcControllerState.revise */
double pacer_assist_ratio(const pacer_assist_inputs *in);

#endif /* GH_PACER_H */
