/*
 * check_pacer.c — the pacer's goals and trigger, and the GC CPU limiter, as
 * pure functions: the GOGC goal, the memory-limit goal (Go's
 * memoryLimitHeapGoal) and their minimum, trigger bounds, GOGC=off with a
 * limit, the limiter's bucket, and a simulation of cycles with declared
 * allocation and scan rates (like Go's TestGcPacer) in which the trigger
 * converges so that marking ends at the goal.
 */
#include <check.h>

#include "harness.h"
#include <math.h>
#include <stdlib.h>

#include "limiter.h"
#include "pacer.h"

#define MIB ((uint64_t)1 << 20)

START_TEST(test_gogc_goal) {
    ck_assert_uint_eq(pacer_goal(100, 100 * MIB), 200 * MIB);
    ck_assert_uint_eq(pacer_goal(50, 100 * MIB), 150 * MIB);
    ck_assert_uint_eq(pacer_goal(100, 0), PACER_HEAP_MINIMUM);
    ck_assert_uint_eq(pacer_goal(200, 0), 2 * PACER_HEAP_MINIMUM);
    ck_assert_uint_eq(pacer_goal(-1, 100 * MIB), UINT64_MAX);
}
END_TEST

START_TEST(test_memlimit_goal) {
    /* No limit: no goal. */
    ck_assert_uint_eq(pacer_memlimit_goal(INT64_MAX, 60 * MIB, 10 * MIB, 40 * MIB, 30 * MIB),
                      UINT64_MAX);
    /* 10 MiB of overhead (60 - 10 free - 40 objects), 1 MiB headroom. */
    ck_assert_uint_eq(pacer_memlimit_goal(100 * MIB, 60 * MIB, 10 * MIB, 40 * MIB, 30 * MIB),
                      89 * MIB);
    /* 20 MiB over the limit already: the goal drops by the overage too. */
    ck_assert_uint_eq(pacer_memlimit_goal(100 * MIB, 120 * MIB, 10 * MIB, 100 * MIB, 30 * MIB),
                      69 * MIB);
    /* Never below the marked heap. */
    ck_assert_uint_eq(pacer_memlimit_goal(100 * MIB, 120 * MIB, 10 * MIB, 100 * MIB, 80 * MIB),
                      80 * MIB);
    /* Overhead alone exceeds the limit: the marked heap. */
    ck_assert_uint_eq(pacer_memlimit_goal(10 * MIB, 60 * MIB, 0, 10 * MIB, 5 * MIB), 5 * MIB);
    /* A tiny limit keeps the headroom as the goal. */
    ck_assert_uint_eq(pacer_memlimit_goal(3 * MIB / 2, MIB, 0, MIB, 0), PACER_LIMIT_HEADROOM);
    /* Inconsistent samples (free + alloc > mapped) do not underflow. */
    ck_assert_uint_eq(pacer_memlimit_goal(100 * MIB, 10 * MIB, 10 * MIB, 40 * MIB, 0), 99 * MIB);
}
END_TEST

static pacer make_pacer(int gogc, int64_t limit, uint64_t marked) {
    pacer p = {.gogc = gogc, .memlimit = limit, .heap_marked = marked,
               .mapped_ready = marked + 10 * MIB, .heap_free = 0, .heap_alloc = marked};
    pacer_commit(&p);
    return p;
}

/* The cons/mark ratio is measured with the CPU share marking really had: a
 * mark during which the program allocated little because its thread was
 * assisting (utilisation 0.9) must not be read as a program that allocates
 * little (the nominal 0.25), or the next trigger comes as late again. */
START_TEST(test_cons_mark_uses_utilization) {
    pacer nominal = make_pacer(100, INT64_MAX, 10 * MIB);
    pacer busy = nominal;
    nominal.cycles = busy.cycles = 1;
    nominal.live_at_trigger = busy.live_at_trigger = 18 * MIB;
    /* 1 MiB allocated during a mark that scanned 10 MiB. */
    pacer_cycle_end(&nominal, 10 * MIB, 19 * MIB, 10 * MIB, 0.25);
    pacer_cycle_end(&busy, 10 * MIB, 19 * MIB, 10 * MIB, 0.9);
    ck_assert_uint_eq(nominal.heap_goal, 20 * MIB);
    /* 0.25: cons/mark 1/30, runway 1 MiB: the trigger at 19 MiB. */
    ck_assert(llabs((long long)nominal.trigger - (long long)(19 * MIB)) < 16);
    /* 0.9: cons/mark 0.9, runway 27 MiB, trigger clamped at 70%. */
    ck_assert_uint_eq(busy.trigger, 10 * MIB + (uint64_t)(0.7 * 10 * MIB));
    /* Out-of-range utilisations are clamped, not divided by. */
    pacer all = nominal;
    pacer_cycle_end(&all, 10 * MIB, 19 * MIB, 10 * MIB, 1.5);
    ck_assert(isfinite(all.cons_mark[1]) && all.cons_mark[1] > 0);
    pacer none = nominal;
    pacer_cycle_end(&none, 10 * MIB, 19 * MIB, 10 * MIB, 0);
    ck_assert(none.cons_mark[1] > 0);
}
END_TEST

/* The assist ratio (Go's revise): the last cycle's scan work is expected,
 * not the whole scannable heap; a growing heap moves the goal back; past the
 * goal there is 10% more room. */
START_TEST(test_assist_ratio) {
    pacer_assist_inputs in = {.work_done = 0, .work_expected = 10 * MIB,
                              .work_worst = 20 * MIB, .heap_live = 17 * MIB,
                              .heap_goal = 20 * MIB, .hard_goal = 40 * MIB,
                              .triggered = 17 * MIB};
    /* Steady state: 10 MiB of work over 3 MiB of runway, not 20 over 3. */
    ck_assert(fabs(pacer_assist_ratio(&in) - 10.0 / 3) < 1e-9);
    /* 12 MiB done of 10 expected: the heap grows. Goal extended to
     * 17 + 3/10 * 20 = 23 MiB, work expected 20 MiB: 8 left over 5. */
    in.work_done = 12 * MIB;
    in.heap_live = 18 * MIB;
    ck_assert(fabs(pacer_assist_ratio(&in) - 8.0 / 5) < 1e-9);
    /* The extension stops at the hard goal (21 MiB): 8 left over 3. */
    in.hard_goal = 21 * MIB;
    ck_assert(fabs(pacer_assist_ratio(&in) - 8.0 / 3) < 1e-9);
    /* Past the goal (work as expected): 10% more room, worst-case work. */
    in = (pacer_assist_inputs){.work_done = 5 * MIB, .work_expected = 10 * MIB,
                               .work_worst = 20 * MIB, .heap_live = 21 * MIB,
                               .heap_goal = 20 * MIB, .hard_goal = 40 * MIB,
                               .triggered = 17 * MIB};
    ck_assert(fabs(pacer_assist_ratio(&in) - 15.0 / 1) < 1e-9);
    /* Past even that: the whole work left for each byte (Go's floor of
     * one byte of heap left), so that credit buys no more heap. */
    in.heap_live = 30 * MIB;
    ck_assert(pacer_assist_ratio(&in) == 15.0 * MIB);
    /* Work done beyond every estimate (goal extended to 23 MiB): the floor
     * keeps a little pressure. */
    in.work_done = 25 * MIB;
    in.heap_live = 20 * MIB;
    ck_assert(fabs(pacer_assist_ratio(&in) - PACER_ASSIST_MIN_WORK_LEFT / (3.0 * MIB)) < 1e-9);
}
END_TEST

/* The trigger lies within Go's bounds between the marked heap and the goal. */
static void check_trigger_bounds(const pacer *p) {
    ck_assert_uint_ne(p->heap_goal, UINT64_MAX);
    uint64_t span = p->heap_goal - p->heap_marked;
    uint64_t upper = p->heap_marked + (uint64_t)(0.95 * (double)span) + 1;
    if (p->heap_goal - PACER_HEAP_MINIMUM > upper)
        upper = p->heap_goal - PACER_HEAP_MINIMUM;
    ck_assert_uint_ge(p->trigger, p->heap_marked + (uint64_t)(0.7 * (double)span));
    ck_assert_uint_le(p->trigger, upper);
}

/* With nothing to scan the runway is nil and the trigger sits at the upper
 * clamp: 95% of the way to the goal on a small heap, the goal less the
 * minimum heap (4 MiB) on a large one, where that is later (Go 1.19's
 * maxTrigger). */
START_TEST(test_trigger_upper_clamp) {
    pacer p = {.gogc = 100, .memlimit = INT64_MAX, .cycles = 1};
    p.heap_marked = 2 * MIB; /* goal 4 MiB (the minimum) */
    pacer_commit(&p);
    ck_assert_uint_eq(p.heap_goal, 4 * MIB);
    ck_assert_uint_eq(p.trigger, 2 * MIB + (uint64_t)(0.95 * (double)(2 * MIB)));
    p.heap_marked = 60 * MIB; /* 5% of 60 MiB is 3 MiB: 95% is later */
    pacer_commit(&p);
    ck_assert_uint_eq(p.trigger, 60 * MIB + (uint64_t)(0.95 * (double)(60 * MIB)));
    p.heap_marked = 1024 * MIB; /* 5% is 51.2 MiB: goal - 4 MiB is later */
    pacer_commit(&p);
    ck_assert_uint_eq(p.heap_goal, 2048 * MIB);
    ck_assert_uint_eq(p.trigger, 2044 * MIB);
    check_trigger_bounds(&p);
}
END_TEST

START_TEST(test_effective_goal) {
    /* GOGC only. */
    pacer p = make_pacer(100, INT64_MAX, 60 * MIB);
    ck_assert_uint_eq(p.heap_goal, 120 * MIB);
    check_trigger_bounds(&p);
    /* The limit is tighter: 100 - 10 overhead - 1 headroom. */
    p = make_pacer(100, 100 * MIB, 60 * MIB);
    ck_assert_uint_eq(p.heap_goal, 89 * MIB);
    check_trigger_bounds(&p);
    /* The limit is looser: GOGC wins. */
    p = make_pacer(100, 1000 * MIB, 60 * MIB);
    ck_assert_uint_eq(p.heap_goal, 120 * MIB);
    /* GOGC off, no limit: never. */
    p = make_pacer(-1, INT64_MAX, 60 * MIB);
    ck_assert_uint_eq(p.heap_goal, UINT64_MAX);
    ck_assert_uint_eq(p.trigger, UINT64_MAX);
    /* GOGC off with a limit: collect only near the limit. */
    p = make_pacer(-1, 100 * MIB, 60 * MIB);
    ck_assert_uint_eq(p.heap_goal, 89 * MIB);
    check_trigger_bounds(&p);
    ck_assert_uint_gt(p.trigger, 80 * MIB);
    /* A limit below the live heap: the goal is the marked heap... */
    p = make_pacer(-1, 50 * MIB, 100 * MIB);
    ck_assert_uint_eq(p.heap_goal, 100 * MIB);
    ck_assert_uint_eq(p.trigger, 100 * MIB);
    /* ...until the CPU limiter engages, which relaxes it to 2x marked. */
    p.limiting = true;
    pacer_commit(&p);
    ck_assert_uint_eq(p.heap_goal, 200 * MIB);
    check_trigger_bounds(&p);
    /* The limiter never loosens a tighter GOGC goal. */
    p = make_pacer(20, 50 * MIB, 100 * MIB);
    p.limiting = true;
    pacer_commit(&p);
    ck_assert_uint_eq(p.heap_goal, 120 * MIB);
}
END_TEST

/*
 * Simulated cycles: a live heap of `live` bytes, all of it scanned each
 * cycle; the markers scan `mark_rate` bytes per second at their 25% share,
 * the program allocates `alloc_rate` bytes per second throughout. A cycle
 * starts at the trigger and marking lasts live / mark_rate seconds, during
 * which the heap grows by alloc_rate * that. Returns the last cycle's heap
 * at the end of mark; *trig gets the last trigger.
 */
static uint64_t simulate(pacer *p, int cycles, uint64_t live, double alloc_rate,
                         double mark_rate, uint64_t *trig, uint64_t *prev_trig) {
    uint64_t end = 0;
    for (int i = 0; i < cycles; i++) {
        uint64_t trigger = p->trigger;
        uint64_t grown = (uint64_t)(alloc_rate * ((double)live / mark_rate));
        end = trigger + grown;
        p->live_at_trigger = trigger;
        *prev_trig = *trig;
        pacer_cycle_end(p, live, end, live, PACER_GOAL_UTILIZATION);
        *trig = p->trigger;
    }
    return end;
}

START_TEST(test_simulation_converges) {
    uint64_t trig = 0, prev = 0;
    /* Steady state, allocation at 1/5 of the mark rate: 20 MiB of growth
     * per mark; the trigger settles at goal - 20 MiB and mark ends at the
     * goal. */
    pacer p = make_pacer(100, INT64_MAX, 100 * MIB);
    simulate(&p, 1, 100 * MIB, 20e6, 100e6, &trig, &prev);
    uint64_t end = simulate(&p, 8, 100 * MIB, 20e6, 100e6, &trig, &prev);
    ck_assert_uint_eq(p.heap_goal, 200 * MIB);
    ck_assert(llabs((long long)trig - (long long)prev) < (long long)MIB / 64);
    ck_assert(fabs((double)end - (double)p.heap_goal) < 0.01 * (double)p.heap_goal);
    ck_assert(fabs((double)trig - (double)(p.heap_goal - (uint64_t)(20e6 * 100 * MIB / 100e6))) <
              (double)MIB);
    check_trigger_bounds(&p);

    /* Allocation as fast as marking: the estimate wants a trigger below the
     * lower bound, so it stays at the bound (assists cover the rest). */
    p = make_pacer(100, INT64_MAX, 100 * MIB);
    simulate(&p, 6, 100 * MIB, 100e6, 100e6, &trig, &prev);
    ck_assert_uint_eq(trig, 100 * MIB + (uint64_t)(0.7 * (double)(100 * MIB)));

    /* GOGC off, 150 MiB limit, 10 MiB overhead: the goal is 139 MiB and the
     * trigger converges below it by the growth during mark (7.8 MiB). */
    p = make_pacer(-1, 150 * MIB, 100 * MIB);
    end = simulate(&p, 10, 100 * MIB, 20e6, 256e6, &trig, &prev);
    ck_assert_uint_eq(p.heap_goal, 139 * MIB);
    ck_assert(llabs((long long)trig - (long long)prev) < (long long)MIB / 64);
    ck_assert(fabs((double)end - (double)p.heap_goal) < 0.01 * (double)p.heap_goal);
    check_trigger_bounds(&p);
}
END_TEST

START_TEST(test_limiter_bucket) {
    const uint64_t S = 1000000000u;
    limiter l;
    limiter_init(&l, 2);
    ck_assert_uint_eq(l.capacity, 2 * S);
    ck_assert(!l.limiting);
    /* 70% GC: the bucket rises by 0.4 s per second of CPU. */
    for (int i = 0; i < 4; i++) {
        limiter_update(&l, 7 * S / 10, S);
        ck_assert(!l.limiting);
    }
    ck_assert_uint_eq(l.fill, 16 * S / 10);
    limiter_update(&l, 7 * S / 10, S);
    ck_assert(l.limiting);
    ck_assert_uint_eq(l.fill, l.capacity);
    /* More GC while full overflows. */
    limiter_update(&l, S, S);
    ck_assert_uint_eq(l.fill, l.capacity);
    ck_assert_uint_eq(l.overflow, S);
    /* Mutator time drains it; it never goes below zero. */
    limiter_update(&l, S / 5, S);
    ck_assert(!l.limiting);
    ck_assert_uint_eq(l.fill, 2 * S - 6 * S / 10);
    limiter_update(&l, 0, 100 * S);
    ck_assert_uint_eq(l.fill, 0);
    /* Exactly 50% neither fills nor drains. */
    limiter_update(&l, S, 2 * S);
    ck_assert_uint_eq(l.fill, 0);
    /* GC time beyond the interval's total is clamped. */
    limiter_update(&l, 5 * S, S);
    ck_assert_uint_eq(l.fill, S);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pacer");
    TCase *tc = tcase_create("pacer");
    tcase_add_test(tc, test_gogc_goal);
    tcase_add_test(tc, test_memlimit_goal);
    tcase_add_test(tc, test_effective_goal);
    tcase_add_test(tc, test_simulation_converges);
    tcase_add_test(tc, test_trigger_upper_clamp);
    tcase_add_test(tc, test_cons_mark_uses_utilization);
    tcase_add_test(tc, test_assist_ratio);
    tcase_add_test(tc, test_limiter_bucket);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
