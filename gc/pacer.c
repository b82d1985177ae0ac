/*
 * pacer.c — the GOGC heap goal and the cycle trigger.        Go: mgcpacer.go
 *
 * The goal. GOGC=100 lets the heap grow by 100% of what the last mark found
 * live before the next cycle must be done. The goal never drops below 4 MiB
 * (scaled by GOGC), so small heaps do not collect constantly.
 *
 * The trigger. Marking runs concurrently with allocation, so a cycle has to
 * start before the goal, early enough that marking ends near the goal with
 * the background markers at their target CPU share (25%) and without
 * forcing assists. Go 1.19's pacer measures, per cycle, how many bytes the
 * program allocated per byte of scan work while marking (the cons/mark
 * ratio, scaled by the utilisations), keeps the maximum of the last four
 * cycles, and from it the runway — the heap growth the next mark will see:
 *
 *     runway  = cons_mark * (1 - u) / u * scan_work_of_last_cycle
 *     trigger = goal - runway, clamped to [marked + 0.7 (goal - marked),
 *                     max(marked + 0.95 (goal - marked), goal - 4 MiB)]
 *
 * The cons/mark ratio is measured with the CPU share marking actually had
 * (u above, for the last cycle): markers' time plus assists' time over the
 * mark phase's wall time times the CPUs (Go adds assist time to its 25% the
 * same way). Measuring with the nominal 25% instead would feed back: a late
 * trigger makes the allocating thread spend the mark assisting, so little
 * is allocated during the mark, so the next runway looks small and the next
 * trigger is as late — a mutator doing nothing but assists, every cycle.
 *
 * The clamps keep a cycle from starting right after the last one (when the
 * estimate is huge) or so late that assists must do all the work. On a
 * large heap the upper clamp is the goal less the minimum heap (4 MiB)
 * where that is later than 95% of the way: a heap with little to scan then
 * needs no more runway than the smallest heap a cycle is run for, rather
 * than 5% of a span of gigabytes (Go 1.19 does the same). Before any
 * history exists the trigger is 7/8 of the way to the goal. If the estimate
 * is wrong, assists (gc/mark.c) make the allocating threads pay the
 * difference, so the heap still does not outrun the marker.
 *
 * The memory limit. A limit (gc_set_memory_limit, GOHEAP_MEMLIMIT) bounds
 * everything the heap keeps from the OS: retained heap pages plus metadata
 * (mapped_ready). It becomes a second heap goal, as Go 1.19's
 * memoryLimitHeapGoal computes it: from the limit, subtract the memory that
 * counts against it but cannot hold objects (metadata, fragmentation:
 * mapped_ready - heap_free - heap_alloc; free unscavenged pages are left
 * in, being the pool new objects come from), subtract any overshoot
 * already incurred, and keep 1 MiB of headroom for pacing error. The goal
 * in force is the lower of the two, never below the marked heap. With
 * GOGC=off and a limit, only the limit goal exists: cycles run only as the
 * heap nears the limit. The trigger is then derived from whichever goal
 * won, with the same bounds.
 *
 * A limit below the live heap would make every cycle's goal the live heap
 * itself: the next cycle would start at once, forever. The GC CPU limiter
 * (gc/limiter.c) notices the collector taking more than half the CPU and,
 * while it does, the limit goal is raised to twice the marked heap
 * (LIMITER_RELAXED_PERCENT): the heap exceeds the limit rather than the
 * program stalling. Go's memory limit is soft in the same way.
 *
 * All of this is pure arithmetic on struct pacer; gc/cycle.c samples the
 * inputs at mark termination (tests: tests/unit/check_pacer.c).
 */
#include "pacer.h"

#include "limiter.h"

uint64_t pacer_goal(int gogc, uint64_t heap_marked) {
    if (gogc < 0)
        return UINT64_MAX;
    double goal = (double)heap_marked * (1.0 + gogc / 100.0);
    double minimum = (double)PACER_HEAP_MINIMUM * gogc / 100.0;
    if (goal < minimum)
        goal = minimum;
    return goal >= 1.8e19 ? UINT64_MAX : (uint64_t)goal;
}

uint64_t pacer_memlimit_goal(int64_t memlimit, uint64_t mapped_ready, uint64_t heap_free,
                             uint64_t heap_alloc, uint64_t heap_marked) {
    if (memlimit == INT64_MAX)
        return UINT64_MAX;
    uint64_t limit = memlimit < 0 ? 0 : (uint64_t)memlimit;
    /* The figures are sampled separately: never let them underflow. */
    uint64_t usable = heap_free + heap_alloc;
    uint64_t non_heap = mapped_ready > usable ? mapped_ready - usable : 0;
    uint64_t overage = mapped_ready > limit ? mapped_ready - limit : 0;
    if (non_heap + overage >= limit)
        return heap_marked; /* nothing left for the heap: collect constantly */
    uint64_t goal = limit - (non_heap + overage);
    if (goal < 2 * PACER_LIMIT_HEADROOM)
        goal = PACER_LIMIT_HEADROOM; /* a tiny limit: keep some room */
    else
        goal -= PACER_LIMIT_HEADROOM;
    return goal < heap_marked ? heap_marked : goal;
}

uint64_t pacer_effective_goal(const pacer *p) {
    uint64_t goal = pacer_goal(p->gogc, p->heap_marked);
    uint64_t lg = pacer_memlimit_goal(p->memlimit, p->mapped_ready, p->heap_free, p->heap_alloc,
                                      p->heap_marked);
    if (p->limiting && lg != UINT64_MAX) {
        double relaxed = (double)p->heap_marked * (1.0 + LIMITER_RELAXED_PERCENT / 100.0);
        if (relaxed < (double)PACER_HEAP_MINIMUM)
            relaxed = (double)PACER_HEAP_MINIMUM;
        if ((double)lg < relaxed)
            lg = relaxed >= 1.8e19 ? UINT64_MAX : (uint64_t)relaxed;
    }
    return lg < goal ? lg : goal;
}

void pacer_commit(pacer *p) {
    p->heap_goal = pacer_effective_goal(p);
    if (p->heap_goal == UINT64_MAX) {
        p->trigger = UINT64_MAX;
        return;
    }
    uint64_t span = p->heap_goal > p->heap_marked ? p->heap_goal - p->heap_marked : 0;
    uint64_t min_trigger = p->heap_marked + (uint64_t)(0.7 * (double)span);
    uint64_t max_trigger = p->heap_marked + (uint64_t)(0.95 * (double)span);
    if (p->heap_goal > PACER_HEAP_MINIMUM && p->heap_goal - PACER_HEAP_MINIMUM > max_trigger)
        max_trigger = p->heap_goal - PACER_HEAP_MINIMUM;
    if (p->cycles == 0) {
        p->trigger = p->heap_marked + span * 7 / 8;
        return;
    }
    double cons_mark = 0;
    for (unsigned i = 0; i < PACER_CONS_MARK_HISTORY; i++)
        if (p->cons_mark[i] > cons_mark)
            cons_mark = p->cons_mark[i];
    const double u = PACER_GOAL_UTILIZATION;
    double runway = cons_mark * (1 - u) / u * (double)p->last_heap_scan;
    uint64_t trigger = runway >= (double)p->heap_goal ? min_trigger
                                                       : p->heap_goal - (uint64_t)runway;
    if (trigger < min_trigger)
        trigger = min_trigger;
    if (trigger > max_trigger)
        trigger = max_trigger;
    p->trigger = trigger;
}

void pacer_cycle_end(pacer *p, uint64_t heap_marked, uint64_t live_at_end, uint64_t scan_work,
                     double utilization) {
    double u = utilization;
    if (!(u >= PACER_MIN_UTILIZATION))
        u = PACER_MIN_UTILIZATION;
    if (u > PACER_MAX_UTILIZATION)
        u = PACER_MAX_UTILIZATION;
    double allocated = live_at_end > p->live_at_trigger ? (double)(live_at_end - p->live_at_trigger) : 0;
    double cm = scan_work > 0 ? allocated * u / ((double)scan_work * (1 - u)) : 0;
    p->cons_mark[p->cycles % PACER_CONS_MARK_HISTORY] = cm;
    p->cycles++;
    p->heap_marked = heap_marked;
    p->last_heap_scan = scan_work;
    pacer_commit(p);
}

/* The work expected is the last cycle's, the best guess for a heap in steady
 * state. The scannable heap would be the worst case, every object allocated
 * since the last mark surviving; using it always makes assists pay for
 * garbage, and the allocating thread spends the mark assisting although the
 * goal leaves it room. Once the work done passes the estimate, the heap is
 * growing: the worst case takes over and the goal moves back in proportion,
 * at most to the hard goal; past the goal itself, 10% more room is given so
 * that the cycle can still finish. */
double pacer_assist_ratio(const pacer_assist_inputs *in) {
    double done = (double)in->work_done;
    double expected = (double)in->work_expected;
    double worst = (double)in->work_worst;
    double goal = (double)in->heap_goal;
    double live = (double)in->heap_live;
    if (done > expected) {
        double triggered = (double)in->triggered;
        double extended = expected > 0 ? (goal - triggered) / expected * worst + triggered : goal;
        double hard = (double)in->hard_goal;
        goal = extended > hard ? hard : extended < goal ? goal : extended;
        expected = worst;
    }
    if (live > goal) {
        goal *= 1.1;
        expected = worst;
    }
    double work_left = expected - done;
    double heap_left = goal - live;
    if (work_left < PACER_ASSIST_MIN_WORK_LEFT)
        work_left = PACER_ASSIST_MIN_WORK_LEFT; /* the estimate ran out: keep some pressure */
    if (heap_left < PACER_ASSIST_MIN_HEAP_LEFT)
        heap_left = PACER_ASSIST_MIN_HEAP_LEFT; /* past even that: everything left, now */
    return work_left / heap_left;
}
