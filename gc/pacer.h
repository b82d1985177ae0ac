/*
 * pacer.h — when to start a cycle: the GOGC heap goal and the trigger.
 *                                                            Go: mgcpacer.go
 *
 * The pacer is a struct and pure functions, so tests can simulate cycles
 * with declared allocation and scan rates (tests/unit/check_pacer.c), as Go's
 * TestGcPacer does. The collector keeps one instance, `pacer_state`, updated
 * under the world lock at mark termination and read atomically by
 * allocating threads (trigger).
 */
#ifndef GH_PACER_H
#define GH_PACER_H

#include "base.h"

/* Go's heapMinimum: no goal is ever below 4 MiB (scaled by GOGC/100). */
#define PACER_HEAP_MINIMUM ((uint64_t)4 << 20)

typedef struct pacer {
    int gogc;             /* percent; < 0 means automatic cycles are off */
    int64_t memlimit;     /* bytes; INT64_MAX = none */
    uint64_t heap_marked; /* bytes marked by the last cycle */
    uint64_t heap_goal;   /* the next cycle should finish by this heap size */
    uint64_t trigger;     /* heap_live at which the next cycle starts */
} pacer;

/* The heap goal for gogc after a mark that found heap_marked live bytes:
 * heap_marked * (1 + gogc/100), at least PACER_HEAP_MINIMUM*gogc/100.
 * UINT64_MAX when gogc < 0. */
uint64_t pacer_goal(int gogc, uint64_t heap_marked);

/* Recomputes goal and trigger after a mark (or a setting change). */
void pacer_commit(pacer *p);

#endif /* GH_PACER_H */
