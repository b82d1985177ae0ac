/*
 * cycle.c — the collection cycle, the collector thread, mark workers, the
 * trigger, and the statistics a cycle records.                   Go: mgc.go
 *
 * A cycle has Go's four phases and two short pauses:
 *
 *   1. Sweep termination (pause 1). The collector thread first finishes the
 *      last cycle's sweeping with the world running, then stops the world,
 *      sweeps the few spans left, clears page_marks, marks every thread's
 *      frames grey (frames_black = false), and enters GC_MARK: the write
 *      barrier and allocate-black are switched on.
 *   2. Concurrent mark. The world runs. The collector thread shades the
 *      global roots (registered ranges, specials, the finalizer queue), then
 *      asks every thread, by handshake, to give its frames and its tiny
 *      block once (its frames are black from then on: the barrier stops
 *      shading the values it stores); parked threads are done for them. Background workers
 *      (GOHEAP_MARKERS in all, this thread included) drain the grey queue;
 *      allocating threads pay assists. When no worker holds work and the
 *      queue is empty, a ragged barrier (a handshake flushing every
 *      thread's write-barrier buffer and gcwork) checks that no thread is
 *      hiding grey objects; if one was, marking continues.
 *   3. Mark termination (pause 2). The world is stopped, every thread's
 *      buffers are flushed once more — if that found work, the world
 *      restarts and marking resumes (Go's gcMarkDone loop) — then the
 *      barrier is switched off, checkmark verification and the rootcheck
 *      stack audit (gc/rootcheck.c) run if asked for,
 *      caches are flushed, the mark-bit generation advances, sweepgen += 2
 *      (every span becomes unswept), heap_live becomes the marked bytes and
 *      the pacer sets the next goal and trigger.
 *   4. Concurrent sweep (gc/sweep.c) until the next cycle: lazily by the
 *      allocating threads and in the background by this same collector
 *      thread, which sweeps a batch at a time until a cycle is asked for.
 *
 * Neither pause does work proportional to the heap: pause 1 sweeps only
 * what the concurrent finish left, pause 2 flushes per-thread state. With
 * GOHEAP_DEBUG=gcstoptheworld=1 phases 1-3 run as one pause instead.
 *
 * Who runs what: cycles run on a dedicated collector thread, one at a time.
 * A thread that reaches the trigger asks for a cycle and goes on
 * allocating: the trigger leaves at least 5% of the runway to the goal,
 * room to allocate while the collector thread wakes up and stops the world.
 * Only a thread that reaches the goal before marking has begun waits,
 * parked, until it has (Go's gcStart returns then), so no thread runs far
 * past the goal before assists start charging it. (Go runs the start of
 * a cycle on the goroutine that hit the trigger; handing it to the
 * collector thread and waiting for the handoff would park every
 * allocating thread once per cycle, for a wakeup and a pause.) gc_collect
 * waits, parked, for a whole new cycle and then finishes sweeping. The collector
 * thread is not a registered mutator: it never holds heap pointers in
 * frames, and the world-stopping protocol does not wait for it. It takes
 * the world lock only around its two pauses, so gc_read_stats and the
 * tuning calls can run during a concurrent mark.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "gc.h"
#include "limiter.h"
#include "mcentral.h"
#include "mheap.h"
#include "pacer.h"
#include "roots.h"
#include "scavenge.h"
#include "stats.h"
#include "sys.h"
#include "thread.h"
#include "track.h"
#include "upcalls.h"
#include "work.h"

static pacer pacer_state;
/* The GC CPU limiter, under the world lock; last_proc_cpu_ns is the process
 * CPU time at its last update. */
static limiter limiter_state;
static uint64_t last_proc_cpu_ns, last_assist_cpu_ns;
static unsigned online_cpus; /* read at gc_init: the limiter, the pacer's utilisation, gctrace */
static volatile AO_t trigger_bytes; /* pacer_state.trigger, for lock-free readers */
static volatile AO_t goal_bytes;    /* pacer_state.heap_goal, likewise */
/* A cycle was asked for and has not begun marking (cycles_requested >
 * cycles_marking, updated under cycle_lock; read without it). */
static volatile AO_t cycle_pending;
static volatile AO_t cycles_completed;
static volatile AO_t stress_count;

/* Statistics, written under the world lock, read by gc_read_stats under it. */
static uint64_t pause_ns[GC_PAUSE_HISTORY], pause_end_ns[GC_PAUSE_HISTORY];
static uint64_t pause_total_ns, last_gc_ns, gc_cpu_ns, init_ns;
static uint32_t num_gc, num_forced_gc;

static void publish_trigger(void) {
    gh_store(&trigger_bytes, pacer_state.trigger);
    gh_store(&goal_bytes, pacer_state.heap_goal);
}

uint64_t cycle_heap_goal(void) { return gh_load(&goal_bytes); }

/* Whole MiB, truncated as Go's gctrace prints them. */
static unsigned long long mb(uint64_t bytes) { return (unsigned long long)(bytes >> 20); }

/* One gctrace line's figures. */
typedef struct trace_line {
    uint32_t n;
    bool forced;
    uint64_t start_ns, stw1_ns, mark_ns, stw2_ns;
    uint64_t cpu_stw1_ns, cpu_assist_ns, cpu_bg_ns, cpu_idle_ns, cpu_stw2_ns;
    uint64_t heap_before, heap_after, heap_marked, heap_goal;
} trace_line;

/* Prints a cycle in the format of Go's gctrace (docs/gctrace.md). */
static void print_trace(const trace_line *tl) {
    double since = (double)(tl->start_ns - init_ns) / 1e9;
    uint64_t wall = gh_clock_ns(CLOCK_MONOTONIC) - init_ns;
    int pct = wall ? (int)(100.0 * (double)gc_cpu_ns / ((double)wall * online_cpus)) : 0;
    uint64_t goal = tl->heap_goal == UINT64_MAX ? 0 : tl->heap_goal;
    fprintf(stderr,
            "gc %u @%.3fs %d%%: %.3f+%.3f+%.3f ms clock, %.3f+%.3f/%.3f/%.3f+%.3f ms cpu, "
            "%llu->%llu->%llu MB, %llu MB goal, 0 MB stacks, 0 MB globals, %u P%s\n",
            tl->n, since, pct, tl->stw1_ns / 1e6, tl->mark_ns / 1e6, tl->stw2_ns / 1e6,
            tl->cpu_stw1_ns / 1e6, tl->cpu_assist_ns / 1e6, tl->cpu_bg_ns / 1e6,
            tl->cpu_idle_ns / 1e6, tl->cpu_stw2_ns / 1e6, mb(tl->heap_before),
            mb(tl->heap_after), mb(tl->heap_marked), mb(goal), thr_count(),
            tl->forced ? " (forced)" : "");
}

/* --- mark workers --- */

/* Background mark workers (GOHEAP_MARKERS of them, the collector thread
 * included) drain the global queue during mark. `markers_busy` counts
 * workers that may hold or be fetching work: a worker counts itself busy
 * before looking for work and idle only after finding none with its own
 * buffers empty, so "busy == 0 and the global queue empty" means no worker
 * holds grey objects (Go's nwait/nproc). */
static volatile AO_t markers_busy GH_ALIGNED(GH_CACHE_LINE);
static volatile AO_t mark_active GH_ALIGNED(GH_CACHE_LINE); /* workers should look for work */
static pthread_t *worker_threads;
static int nworkers;
static pthread_mutex_t worker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_cv = PTHREAD_COND_INITIALIZER;
static bool workers_stop;

/* CPU the helper workers spent draining, for gctrace and the pacer. Each
 * adds its time before it stops counting as busy, so once work_wait_markers
 * has seen no busy marker the total covers every drain of the cycle. */
static volatile AO_t marker_cpu_ns;

/* Drains the global queue with w until no work is left anywhere a helper
 * worker can see, adding the CPU time it took to marker_cpu_ns. */
static void drain_as_worker(gcwork *w) {
    for (;;) {
        gh_xadd(&markers_busy, 1);
        if (cycle_test_hook != NULL)
            cycle_test_hook("helper-draining");
        uint64_t cpu0 = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
        mark_drain(w);
        work_dispose(w);
        gh_xadd(&marker_cpu_ns, gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0);
        work_marker_idle(&markers_busy);
        if (work_global_empty() || !gh_load(&mark_active))
            return;
    }
}

static void *mark_worker(void *arg) {
    (void)arg;
    gcwork w = {.background = true};
    pthread_mutex_lock(&worker_lock);
    for (;;) {
        while (!gh_load(&mark_active) && !workers_stop)
            pthread_cond_wait(&worker_cv, &worker_lock);
        if (workers_stop)
            break;
        pthread_mutex_unlock(&worker_lock);
        while (gh_load(&mark_active)) {
            drain_as_worker(&w);
            work_wait(&mark_active);
        }
        pthread_mutex_lock(&worker_lock);
    }
    pthread_mutex_unlock(&worker_lock);
    return NULL;
}

static void workers_set_active(bool on) {
    pthread_mutex_lock(&worker_lock);
    gh_store(&mark_active, on);
    if (on)
        pthread_cond_broadcast(&worker_cv);
    pthread_mutex_unlock(&worker_lock);
    if (!on)
        work_wake_idle();
}

/* --- handshake functions (run by each thread on itself, or for it) --- */

/* Mark start: give the thread's frames, once per cycle, and its current
 * tiny block, and pre-mark the free slots of its cached spans. The block
 * was allocated before mark began, so it is white, yet the thread keeps
 * packing new objects into it without allocating anything the collector
 * would see as new: shading the block now keeps every object packed into
 * it this cycle (Go's gcMarkTinyAllocs). */
static void handshake_scan_frames(gh_thread *t) {
    if (t->cache.tiny != 0)
        mark_shade(t->gcw, t->cache.tiny);
    /* From here on the thread allocates black in bulk (gc/mark.c). */
    for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++)
        mark_span_free_slots(t, t->cache.alloc[i]);
    mark_thread_frames(t->gcw, t);
    t->assist_credit = 0;
    work_dispose(t->gcw);
    t->frames_black = true;
}

static volatile AO_t flushed_work;

/* Before mark termination: hand over barrier buffers and grey objects. */
static void handshake_flush(gh_thread *t) {
    if (t->wbbuf_next != 0)
        wb_flush(t);
    if (!work_local_empty(t->gcw))
        gh_store(&flushed_work, 1);
    work_dispose(t->gcw);
}

void (*cycle_test_hook)(const char *point);

/* Sweep termination: with the world stopped, finish the last sweep and
 * enter the mark phase. */
static void sweep_termination(void) {
    sweep_finish();
    mark_reset_cycle();
    for (gh_thread *t = thr_list(); t != NULL; t = t->next)
        t->frames_black = false;
    gh_store(&gc_phase, GC_MARK);
    gh_store(&gci_wb_enabled, 1);
    gh_or(&alloc_hooks, ALLOC_HOOK_MARKING);
    /* The goal may be pushed back as far as GOGC applied to the goal
     * itself, if the heap turns out to be growing (Go's hard goal). */
    uint64_t goal = pacer_state.heap_goal;
    double hard = pacer_state.gogc >= 0 ? (double)goal * (1.0 + pacer_state.gogc / 100.0)
                                        : (double)goal;
    mark_assist_start_cycle(pacer_state.last_heap_scan, goal, gh_load(&gstats.heap_live),
                            hard >= 1.8e19 ? UINT64_MAX : (uint64_t)hard);
}

/* Mark termination: with the world stopped and no grey object left, flush
 * caches, advance the mark-bit generation and sweepgen, and set the next
 * goal (`utilization`: the CPU share marking had, for the pacer). Returns
 * the bytes marked. */
static uint64_t mark_termination(double utilization) {
    gh_store(&gc_phase, GC_MARKTERM);
    mark_assist_release();
    gh_store(&gci_wb_enabled, 0);
    gh_and(&alloc_hooks, ~(uintptr_t)ALLOC_HOOK_MARKING);
    if (gh_debug.gccheckmark)
        checkmark_verify();
    if (gh_debug.rootcheck)
        rootcheck_verify();
#if GH_DEBUG >= 3
    mheap_verify();
#endif
    for (gh_thread *t = thr_list(); t != NULL; t = t->next) {
        mcache_release_all(&t->cache);
        work_dispose(t->gcw);
    }
    uint64_t marked = mark_bytes_marked();
    gcbits_next_epoch();
    /* Release: a sweeper that reads the new sweepgen (acquire) sees every
     * mark bit of this cycle, including spans it pops from lists that no
     * lock operation touched since marking (TSan found the race). */
    gh_store_release(&mheap_.sweepgen, gh_load(&mheap_.sweepgen) + 2);
    uint64_t live_before = gh_load(&gstats.heap_live);
    gh_store(&gstats.heap_live, marked);
    pacer_state.gogc = gh_env.gogc;
    pacer_state.memlimit = gh_env.memlimit;
    /* Memory-limit inputs: heap_alloc still counts this cycle's garbage,
     * which is heap memory, not overhead (Go samples the same point). */
    pacer_state.mapped_ready = scav_mapped_ready();
    pacer_state.heap_free = scav_heap_free();
    pacer_state.heap_alloc = gh_load(&gstats.heap_alloc);
    pacer_cycle_end(&pacer_state, marked, live_before, gh_load(&work_scan_done), utilization);
    publish_trigger();
    scav_set_goal(pacer_state.heap_goal, pacer_state.memlimit, pacer_state.limiting);
    /* Sweeping must be done by the next trigger, not the goal: the next
     * cycle starts there (Go paces sweeping against the trigger too). */
    sweep_start_cycle(marked, pacer_state.trigger);
    gh_store(&gc_phase, GC_OFF);
    return marked;
}

/* Feeds the cycle's CPU time to the GC CPU limiter; when its verdict
 * changes, the goal and trigger are recomputed at once. Called under the
 * world lock at the end of a cycle. */
static void update_limiter(uint64_t cycle_cpu_ns) {
    uint64_t proc = gh_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t assist = gh_load(&assist_cpu_ns);
    if (gh_env.memlimit == INT64_MAX) {
        /* Without a memory limit the GOGC goal always leaves room to
         * allocate, so there is no spiral to break; a concurrent marker
         * that uses as much CPU as the mutator is normal and must keep its
         * assists. */
        limiter_init(&limiter_state, online_cpus);
    } else {
        limiter_update(&limiter_state, cycle_cpu_ns + (assist - last_assist_cpu_ns),
                       proc - last_proc_cpu_ns);
    }
    last_proc_cpu_ns = proc;
    last_assist_cpu_ns = assist;
    gh_store(&limiter_active, limiter_state.limiting);
    if (limiter_state.limiting != pacer_state.limiting) {
        pacer_state.limiting = limiter_state.limiting;
        pacer_commit(&pacer_state);
        publish_trigger();
        scav_set_goal(pacer_state.heap_goal, pacer_state.memlimit, pacer_state.limiting);
    }
}

static void record_pause(uint32_t n, uint64_t ns) {
    pause_ns[(n + GC_PAUSE_HISTORY - 1) % GC_PAUSE_HISTORY] += ns;
    pause_total_ns += ns;
}

static void announce_marking(uint32_t n);

/* Runs one cycle on the collector thread. Pauses are measured from the
 * stop request to the restart, so they include the time threads take to
 * reach a safepoint, as Go's STW accounting does. */
static void run_cycle(bool forced) {
    uint64_t start = gh_clock_ns(CLOCK_MONOTONIC);
    uint64_t cpu_start = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    gh_store(&marker_cpu_ns, 0);
    uint32_t n = num_gc + 1;

    /* Sweep what the last cycle left before stopping anyone, so the pause
     * only finishes the last few spans. */
    sweep_finish();
    uint64_t heap_before = gh_load(&gstats.heap_live);
    uint64_t goal = pacer_state.heap_goal; /* this cycle's goal, for the trace */
    bool stw_mark = gh_debug.gcstoptheworld != 0;

    /* 1. Sweep termination (pause 1). */
    world_lock_acquire();
    pause_ns[(n + GC_PAUSE_HISTORY - 1) % GC_PAUSE_HISTORY] = 0; /* statistics: world lock */
    uint64_t p1_begin = gh_clock_ns(CLOCK_MONOTONIC);
    uint64_t p1_cpu = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t assist0 = gh_load(&assist_cpu_ns);
    stw_stop();
    sweep_termination();
    pacer_state.live_at_trigger = heap_before;
    gcwork w = {.background = true};
    uint64_t p1_end;
    if (!stw_mark) {
        p1_end = stw_start();
        record_pause(n, p1_end - p1_begin);
        world_lock_release();
    } else {
        p1_end = gh_clock_ns(CLOCK_MONOTONIC); /* the pause goes on through the mark */
    }
    p1_cpu = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - p1_cpu;
    announce_marking(n);
    if (cycle_test_hook != NULL)
        cycle_test_hook("mark-start");

    /* 2. Mark. Globals first, then every thread's frames by handshake: a
     * running thread scans its own at its next safepoint. */
    uint64_t cpu_mark0 = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    if (!stw_mark)
        workers_set_active(true);
    mark_globals(&w);
    work_dispose(&w);
    if (cycle_test_hook != NULL)
        cycle_test_hook("globals-scanned");
    if (stw_mark) {
        for (gh_thread *t = thr_list(); t != NULL; t = t->next)
            handshake_scan_frames(t);
    } else {
        thr_handshake(handshake_scan_frames);
    }
    uint64_t p2_begin;
    for (;;) {
        gh_xadd(&markers_busy, 1);
        mark_drain(&w);
        work_dispose(&w);
        gh_xadd(&markers_busy, (uintptr_t)-1);
        if (!work_global_empty())
            continue;
        /* A helper may hold the rest of the grey objects (all of them, on
         * a chain): sleep until it runs dry or shares some. */
        work_wait_markers(&markers_busy, true);
        if (!work_global_empty())
            continue;
        if (stw_mark) {
            for (gh_thread *t = thr_list(); t != NULL; t = t->next)
                handshake_flush(t);
            if (!work_global_empty())
                continue;
            p2_begin = gh_clock_ns(CLOCK_MONOTONIC);
            break;
        }
        /* Ragged barrier: every thread hands over its buffers. Work found
         * means marking is not done. */
        gh_store(&flushed_work, 0);
        thr_handshake(handshake_flush);
        if (gh_load(&flushed_work) || !work_global_empty())
            continue;
        if (cycle_test_hook != NULL)
            cycle_test_hook("mark-drained");
        /* 3. Mark termination (pause 2): stop, and prove nothing is grey. */
        world_lock_acquire();
        p2_begin = gh_clock_ns(CLOCK_MONOTONIC);
        stw_stop();
        gh_store(&flushed_work, 0);
        for (gh_thread *t = thr_list(); t != NULL; t = t->next)
            handshake_flush(t);
        if (!gh_load(&flushed_work) && work_global_empty())
            break;
        /* Threads produced work after the barrier: resume marking. */
        record_pause(n, stw_start() - p2_begin);
        world_lock_release();
    }
    if (!stw_mark)
        workers_set_active(false);
    work_wait_markers(&markers_busy, false);
    uint64_t cpu_mark = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_mark0;
    uint64_t term_cpu = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t helper_cpu = gh_load(&marker_cpu_ns);
    uint64_t assist_cpu = gh_load(&assist_cpu_ns) - assist0;
    /* The share of the machine marking took, for the pacer. */
    double mark_wall = (double)(p2_begin - p1_end) * online_cpus;
    double utilization =
        mark_wall > 0 ? (double)(cpu_mark + helper_cpu + assist_cpu) / mark_wall : 0;
    uint64_t marked = mark_termination(utilization);

    num_gc = n;
    if (forced)
        num_forced_gc++;
    uint64_t end = stw_start();
    term_cpu = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - term_cpu;
    record_pause(n, stw_mark ? end - p1_begin : end - p2_begin);
    last_gc_ns = gh_clock_ns(CLOCK_REALTIME);
    pause_end_ns[(n + GC_PAUSE_HISTORY - 1) % GC_PAUSE_HISTORY] = last_gc_ns;
    uint64_t cpu = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start + helper_cpu;
    gc_cpu_ns += cpu;
    update_limiter(cpu);
    world_lock_release();

    if (gh_debug.gctrace) {
        trace_line tl = {
            .n = n, .start_ns = start, .forced = forced,
            .stw1_ns = p1_end - p1_begin, .mark_ns = p2_begin - p1_end, .stw2_ns = end - p2_begin,
            .cpu_stw1_ns = p1_cpu, .cpu_assist_ns = assist_cpu,
            .cpu_bg_ns = cpu_mark + helper_cpu, .cpu_idle_ns = 0, .cpu_stw2_ns = term_cpu,
            .heap_before = heap_before, .heap_after = gh_load(&gstats.heap_alloc),
            .heap_marked = marked, .heap_goal = goal,
        };
        print_trace(&tl);
    }
}

/* --- the collector thread --- */

static pthread_t collector;
static pthread_mutex_t cycle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cycle_request_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cycle_done_cv = PTHREAD_COND_INITIALIZER;
static uint32_t cycles_started, cycles_requested, cycles_done;
static uint32_t cycles_marking; /* cycles that got past sweep termination */

/* Called under cycle_lock whenever cycles_requested or cycles_marking
 * changes. */
static void note_pending(void) { gh_store(&cycle_pending, cycles_requested > cycles_marking); }
static bool forced_request;
static volatile AO_t collector_stop; /* written under cycle_lock */

/* Background sweeping gives way to a cycle asked for, or to shutdown. */
static bool collector_wanted(void) { return gh_load(&cycle_pending) || gh_load(&collector_stop); }

static void *collector_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&cycle_lock);
    for (;;) {
        while (cycles_requested <= cycles_started && !gh_load(&collector_stop))
            pthread_cond_wait(&cycle_request_cv, &cycle_lock);
        if (gh_load(&collector_stop))
            break;
        cycles_started++;
        bool forced = forced_request;
        forced_request = false;
        pthread_mutex_unlock(&cycle_lock);
        run_cycle(forced);
        pthread_mutex_lock(&cycle_lock);
        cycles_done = cycles_started;
        cycles_marking = cycles_started;
        note_pending();
        gh_store(&cycles_completed, cycles_done);
        pthread_cond_broadcast(&cycle_done_cv);
        /* Sweep in the background until the next cycle is wanted: this
         * thread is awake already, where waking a sweeper thread every
         * cycle cost a context switch on a busy CPU (decisions.md). */
        pthread_mutex_unlock(&cycle_lock);
        sweep_background(collector_wanted);
        pthread_mutex_lock(&cycle_lock);
    }
    pthread_mutex_unlock(&cycle_lock);
    return NULL;
}

/* Tells threads waiting in request_cycle that cycle n is now marking. */
static void announce_marking(uint32_t n) {
    pthread_mutex_lock(&cycle_lock);
    cycles_marking = n;
    note_pending();
    pthread_cond_broadcast(&cycle_done_cv);
    pthread_mutex_unlock(&cycle_lock);
}

enum { WAIT_NONE, WAIT_MARKING, WAIT_DONE };

/* Asks for a cycle that starts after this call and waits, parked, until it
 * is marking (WAIT_MARKING: as Go's gcStart returns once the mark phase has
 * begun, so a thread that hit the trigger cannot run far ahead of the
 * cycle) or has finished marking (WAIT_DONE). */
static void request_cycle(bool forced, int wait) {
    gh_thread *t = thr_self;
    if (t != NULL && gh_load(&t->status) == THR_BLOCKED)
        thr_heap_use_while_blocked();
    if (wait != WAIT_NONE && t != NULL)
        gc_enter_blocking();
    pthread_mutex_lock(&cycle_lock);
    /* A cycle that has started but not begun marking serves a trigger as
     * well as a new one would, without running twice. */
    uint32_t want = !forced && cycles_marking < cycles_started ? cycles_started
                                                               : cycles_started + 1;
    if (cycles_requested < want)
        cycles_requested = want;
    note_pending();
    if (forced)
        forced_request = true;
    pthread_cond_signal(&cycle_request_cv);
    while ((wait == WAIT_DONE && cycles_done < want) ||
           (wait == WAIT_MARKING && cycles_marking < want))
        pthread_cond_wait(&cycle_done_cv, &cycle_lock);
    pthread_mutex_unlock(&cycle_lock);
    if (wait != WAIT_NONE && t != NULL)
        gc_leave_blocking();
}

void gc_collect(void) {
    thr_current("gc_collect");
    request_cycle(true, WAIT_DONE);
    /* Return with sweeping finished, as Go's runtime.GC does. */
    sweep_finish();
    sweep_release_empty();
}

void cycle_maybe_start(void) {
    if (GH_UNLIKELY(gh_debug.gcstress > 0)) {
        if ((gh_xadd(&stress_count, 1) + 1) % (uint64_t)gh_debug.gcstress == 0) {
            request_cycle(true, WAIT_DONE);
            return;
        }
    }
    if (GH_LIKELY(gh_load(&gstats.heap_live) < gh_load(&trigger_bytes)))
        return;
    if (gh_load(&gc_phase) != GC_OFF)
        return; /* a cycle is marking: assists pay for the growth */
    bool past_goal = gh_load(&gstats.heap_live) >= gh_load(&goal_bytes);
    if (gh_load(&cycle_pending) && !past_goal && !gh_debug.gcstoptheworld)
        return; /* asked for already; the collector is on its way */
    /* Help finish the last sweep first (Go's gcStart sweeps too): the cycle
     * cannot start before it is done, and sweeping here beats waiting. */
    while (sweep_batch(UINTPTR_MAX) != 0) {
    }
    /* With the world-stopped mark, wait for the whole cycle like Go's
     * gcstoptheworld mode; past the goal, until marking has begun, after
     * which assists pay for further allocation; otherwise not at all. */
    request_cycle(false, gh_debug.gcstoptheworld ? WAIT_DONE
                         : past_goal             ? WAIT_MARKING
                                                 : WAIT_NONE);
}

/* Under gcstress, the calls that take the world lock collect first. They
 * can collect anyway: waiting for the lock, the caller is parked, and on a
 * busy machine a whole cycle may finish before it gets the lock. A pointer
 * the caller holds outside every frame is lost then, rarely and far from
 * its cause; gcstress makes it lost every time. */
static void stress_collect_at(void) {
    if (GH_UNLIKELY(gh_debug.gcstress > 0))
        request_cycle(true, WAIT_DONE);
}

int gc_set_percent(int percent) {
    thr_current("gc_set_percent");
    stress_collect_at();
    if (percent < -1)
        percent = -1;
    world_lock_acquire();
    int old = gh_env.gogc;
    gh_env.gogc = percent;
    pacer_state.gogc = percent;
    pacer_commit(&pacer_state);
    publish_trigger();
    world_lock_release();
    return old;
}

int64_t gc_set_memory_limit(int64_t bytes) {
    thr_current("gc_set_memory_limit");
    stress_collect_at();
    world_lock_acquire();
    int64_t old = gh_env.memlimit;
    if (bytes >= 0) {
        gh_env.memlimit = bytes;
        pacer_state.memlimit = bytes;
        pacer_commit(&pacer_state);
        publish_trigger();
        scav_set_limit(bytes);
    }
    world_lock_release();
    return old;
}

void gc_read_stats(gc_stats *out) {
    thr_current("gc_read_stats");
    stress_collect_at();
    world_lock_acquire();
    /* Cached spans count their free slots as allocated (mcache.h); with the
     * world stopped, subtract them so every figure is exact. */
    stw_stop();
    uint64_t unused_bytes = 0, unused_objs = 0, tiny = gh_load(&gstats.tiny_allocs);
    for (gh_thread *t = thr_list(); t != NULL; t = t->next) {
        tiny += t->cache.tiny_allocs;
        for (unsigned i = 0; i < SC_NUM_SPAN_CLASSES; i++) {
            mspan *s = t->cache.alloc[i];
            uintptr_t nfree = (uintptr_t)s->nelems - s->alloc_count;
            unused_objs += nfree;
            unused_bytes += nfree * s->elemsize;
        }
    }
    stw_start();
    memset(out, 0, sizeof *out);
    out->heap_alloc = gh_load(&gstats.heap_alloc) - unused_bytes;
    out->heap_sys = gh_load(&mheap_.heap_sys);
    out->heap_inuse = (uint64_t)gh_load(&mheap_.pages_inuse) << GH_PAGE_SHIFT;
    out->heap_idle = out->heap_sys - out->heap_inuse;
    out->heap_released = mheap_released_bytes();
    out->mallocs = gh_load(&gstats.mallocs) - unused_objs + tiny;
    out->frees = gh_load(&gstats.frees) + tiny;
    out->heap_objects = out->mallocs - out->frees;
    out->total_alloc = gh_load(&gstats.total_alloc) - unused_bytes;
    out->sys = out->heap_sys + sys_metadata_bytes();
    out->next_gc = pacer_state.heap_goal == UINT64_MAX ? 0 : pacer_state.heap_goal;
    out->last_gc_ns = last_gc_ns;
    out->pause_total_ns = pause_total_ns;
    memcpy(out->pause_ns, pause_ns, sizeof pause_ns);
    memcpy(out->pause_end_ns, pause_end_ns, sizeof pause_end_ns);
    out->num_gc = num_gc;
    out->num_forced_gc = num_forced_gc;
    uint64_t wall = gh_clock_ns(CLOCK_MONOTONIC) - init_ns;
    out->gc_cpu_fraction = wall ? (double)gc_cpu_ns / ((double)wall * online_cpus) : 0;
    world_lock_release();
}

void cycle_init(void) {
    memset(pause_ns, 0, sizeof pause_ns);
    memset(pause_end_ns, 0, sizeof pause_end_ns);
    pause_total_ns = last_gc_ns = gc_cpu_ns = 0;
    num_gc = num_forced_gc = 0;
    init_ns = gh_clock_ns(CLOCK_MONOTONIC);
    gh_store(&cycles_completed, 0);
    gh_store(&stress_count, 0);
    gh_store(&gc_phase, GC_OFF);
    gh_store(&alloc_hooks, (gh_debug.gccheckmark || gh_debug.invalidptr || gh_debug.rootcheck
                                ? ALLOC_HOOK_TYPES
                                : 0) |
                               (track_enabled ? ALLOC_HOOK_TRACK : 0));
    pacer_state = (pacer){.gogc = gh_env.gogc, .memlimit = gh_env.memlimit};
    pacer_commit(&pacer_state);
    publish_trigger();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    online_cpus = ncpu > 0 ? (unsigned)ncpu : 1;
    limiter_init(&limiter_state, online_cpus);
    gh_store(&limiter_active, 0);
    last_proc_cpu_ns = gh_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    last_assist_cpu_ns = gh_load(&assist_cpu_ns);
    sweep_bg_start();
    scav_start();
    scav_set_goal(pacer_state.heap_goal, pacer_state.memlimit, false);
    cycles_started = cycles_requested = cycles_done = 0;
    gh_store(&cycle_pending, 0);
    forced_request = workers_stop = false;
    gh_store(&collector_stop, 0);
    gh_store(&mark_active, 0);
    gh_store(&markers_busy, 0);
    if (pthread_create(&collector, NULL, collector_main, NULL) != 0)
        gh_throw("cannot start the collector thread");
    /* The collector thread is the first marker; the rest are helpers. */
    nworkers = gh_env.markers - 1;
    worker_threads = calloc((size_t)(nworkers > 0 ? nworkers : 1), sizeof(pthread_t));
    for (int i = 0; i < nworkers; i++)
        if (pthread_create(&worker_threads[i], NULL, mark_worker, NULL) != 0)
            gh_throw("cannot start a mark worker thread");
}

void cycle_shutdown(void) {
    pthread_mutex_lock(&cycle_lock);
    gh_store(&collector_stop, 1);
    pthread_cond_signal(&cycle_request_cv);
    pthread_mutex_unlock(&cycle_lock);
    pthread_join(collector, NULL);
    pthread_mutex_lock(&worker_lock);
    workers_stop = true;
    pthread_cond_broadcast(&worker_cv);
    pthread_mutex_unlock(&worker_lock);
    for (int i = 0; i < nworkers; i++)
        pthread_join(worker_threads[i], NULL);
    free(worker_threads);
    worker_threads = NULL;
    nworkers = 0;
    sweep_bg_stop();
    scav_stop();
}
