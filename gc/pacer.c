/*
 * pacer.c — the GOGC heap goal and the cycle trigger.        Go: mgcpacer.go
 *
 * GOGC=100 means: let the heap grow by 100% of what the last mark found
 * live before collecting again. The goal never drops below 4 MiB (scaled by
 * GOGC), so small heaps do not collect constantly.
 *
 * The trigger is where a cycle starts. A mark that runs with the world
 * stopped needs no runway, so the trigger is the goal itself; the
 * concurrent marker starts earlier (gc/cycle.c computes the runway).
 */
#include "pacer.h"

uint64_t pacer_goal(int gogc, uint64_t heap_marked) {
    if (gogc < 0)
        return UINT64_MAX;
    double goal = (double)heap_marked * (1.0 + gogc / 100.0);
    double minimum = (double)PACER_HEAP_MINIMUM * gogc / 100.0;
    if (goal < minimum)
        goal = minimum;
    return goal >= 1.8e19 ? UINT64_MAX : (uint64_t)goal;
}

void pacer_commit(pacer *p) {
    p->heap_goal = pacer_goal(p->gogc, p->heap_marked);
    p->trigger = p->heap_goal;
}
