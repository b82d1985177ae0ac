/*
 * cycle.c — the collection cycle, its trigger, and the statistics it
 * records.                                                       Go: mgc.go
 *
 * A cycle has Go's four phases:
 *
 *   1. Sweep termination (world stopped). Whatever the previous cycle left
 *      unswept is swept, so every span is swept before marking starts;
 *      page_marks are cleared; the phase becomes GC_MARK.
 *   2. Mark. Roots are shaded (global ranges, every thread's frames) and the
 *      grey objects are drained until none is left.
 *   3. Mark termination (world stopped). Every thread's mcache is flushed
 *      (its spans become sweepable), the mark-bit generation advances,
 *      sweepgen += 2 (every span becomes unswept), heap_live is reset to the
 *      marked bytes, and the pacer computes the next goal.
 *   4. Sweep. The world restarts; sweeping runs lazily and in the
 *      background (gc/sweep.c) until the next cycle's sweep termination.
 *
 * This file runs mark with the world stopped from sweep termination to mark
 * termination; phases 1-3 are one pause. The phase variable, the write
 * barrier and allocate-black already exist so that concurrent mark slots in
 * between the two pauses without changing the skeleton.
 *
 * Concurrency: a cycle runs under the world lock (runtime/thread.c), taken
 * parked, so any number of threads may call gc_collect or hit the trigger at
 * once: one runs the cycle, the others wait for it. A thread that hit the
 * trigger re-checks it after getting the lock and returns at once if the
 * cycle it waited for already brought the heap under the trigger.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "gc.h"
#include "mcentral.h"
#include "mheap.h"
#include "pacer.h"
#include "roots.h"
#include "stats.h"
#include "sys.h"
#include "thread.h"
#include "upcalls.h"
#include "work.h"

static pacer pacer_state;
static volatile AO_t trigger_bytes; /* pacer_state.trigger, for lock-free readers */
static volatile AO_t cycles_completed;
static volatile AO_t stress_count;

/* Statistics, written under the world lock, read by gc_read_stats under it. */
static uint64_t pause_ns[GC_PAUSE_HISTORY], pause_end_ns[GC_PAUSE_HISTORY];
static uint64_t pause_total_ns, last_gc_ns, gc_cpu_ns, init_ns;
static uint32_t num_gc, num_forced_gc;

static uint64_t now_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void publish_trigger(void) { gh_store(&trigger_bytes, pacer_state.trigger); }

void cycle_init(void) {
    memset(pause_ns, 0, sizeof pause_ns);
    memset(pause_end_ns, 0, sizeof pause_end_ns);
    pause_total_ns = last_gc_ns = gc_cpu_ns = 0;
    num_gc = num_forced_gc = 0;
    init_ns = now_ns(CLOCK_MONOTONIC);
    gh_store(&cycles_completed, 0);
    gh_store(&stress_count, 0);
    gh_store(&gc_phase, GC_OFF);
    pacer_state = (pacer){.gogc = gh_env.gogc, .memlimit = gh_env.memlimit};
    pacer_commit(&pacer_state);
    publish_trigger();
    sweep_bg_start();
}

void cycle_shutdown(void) { sweep_bg_stop(); }

static double mb(uint64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

/* Prints the cycle in the format of Go's gctrace (docs/gctrace.md). */
static void print_trace(uint32_t n, uint64_t start_ns, uint64_t stw1_ns, uint64_t mark_ns,
                        uint64_t stw2_ns, uint64_t cpu_ns, uint64_t before, uint64_t after,
                        uint64_t marked, uint64_t goal, bool forced) {
    double since = (double)(start_ns - init_ns) / 1e9;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t wall = now_ns(CLOCK_MONOTONIC) - init_ns;
    int pct = wall ? (int)(100.0 * (double)gc_cpu_ns / ((double)wall * (double)ncpu)) : 0;
    fprintf(stderr,
            "gc %u @%.3fs %d%%: %.3f+%.3f+%.3f ms clock, %.3f+%.3f/%.3f/%.3f+%.3f ms cpu, "
            "%.0f->%.0f->%.0f MB, %.0f MB goal, 0 MB stacks, 0 MB globals, %u P%s\n",
            n, since, pct, stw1_ns / 1e6, mark_ns / 1e6, stw2_ns / 1e6, stw1_ns / 1e6, 0.0,
            cpu_ns / 1e6, 0.0, stw2_ns / 1e6, mb(before), mb(after), mb(marked), mb(goal),
            thr_count(), forced ? " (forced)" : "");
}

/* Runs one cycle. Called with the world lock held. */
static void run_cycle(bool forced) {
    uint64_t start = now_ns(CLOCK_MONOTONIC);
    uint64_t cpu_start = now_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t heap_before = gh_load(&gstats.heap_live);

    /* 1. Sweep termination. */
    stw_stop();
    uint64_t stw1 = now_ns(CLOCK_MONOTONIC);
    sweep_finish();
    mark_reset_cycle();
    gh_store(&gc_phase, GC_MARK);

    /* 2. Mark, with the world stopped in this version. */
    uint64_t mark_start = now_ns(CLOCK_MONOTONIC);
    gcwork w = {0};
    mark_roots(&w);
    mark_drain(&w);
    work_dispose(&w);
    uint64_t mark_end = now_ns(CLOCK_MONOTONIC);

    /* 3. Mark termination. */
    gh_store(&gc_phase, GC_MARKTERM);
    for (gh_thread *t = thr_list(); t != NULL; t = t->next) {
        mcache_release_all(&t->cache);
        work_dispose(t->gcw);
    }
    GH_ASSERT(work_global_empty());
    uint64_t marked = mark_bytes_marked();
    gcbits_next_epoch();
    gh_store(&mheap_.sweepgen, gh_load(&mheap_.sweepgen) + 2);
    gh_store(&gstats.heap_live, marked);
    pacer_state.heap_marked = marked;
    pacer_state.gogc = gh_env.gogc;
    pacer_commit(&pacer_state);
    publish_trigger();
    sweep_start_cycle(marked, pacer_state.heap_goal);
    gh_store(&gc_phase, GC_OFF);

    uint64_t end = now_ns(CLOCK_MONOTONIC);
    uint64_t pause = end - start;
    uint32_t n = ++num_gc;
    if (forced)
        num_forced_gc++;
    pause_ns[(n + GC_PAUSE_HISTORY - 1) % GC_PAUSE_HISTORY] = pause;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    last_gc_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
    pause_end_ns[(n + GC_PAUSE_HISTORY - 1) % GC_PAUSE_HISTORY] = last_gc_ns;
    pause_total_ns += pause;
    uint64_t cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
    gc_cpu_ns += cpu;
    gh_store(&cycles_completed, n);
    stw_start();

    sweep_bg_wake();
    if (gh_debug.gctrace)
        print_trace(n, start, mark_start - stw1 + (stw1 - start), mark_end - mark_start,
                    end - mark_end, cpu, heap_before, marked, marked, pacer_state.heap_goal,
                    forced);
}

void gc_collect(void) {
    thr_current("gc_collect");
    world_lock_acquire();
    run_cycle(true);
    world_lock_release();
    /* Return with sweeping finished, as Go's runtime.GC does. */
    sweep_finish();
}

void cycle_maybe_start(void) {
    if (GH_UNLIKELY(gh_debug.gcstress > 0)) {
        if ((gh_xadd(&stress_count, 1) + 1) % (uint64_t)gh_debug.gcstress == 0) {
            world_lock_acquire();
            run_cycle(true);
            world_lock_release();
            return;
        }
    }
    if (GH_LIKELY(gh_load(&gstats.heap_live) < gh_load(&trigger_bytes)))
        return;
    uint64_t seen = gh_load(&cycles_completed);
    world_lock_acquire();
    /* Another thread may have collected while this one waited. */
    if (gh_load(&cycles_completed) == seen && gh_load(&gstats.heap_live) >= gh_load(&trigger_bytes))
        run_cycle(false);
    world_lock_release();
}

int gc_set_percent(int percent) {
    thr_current("gc_set_percent");
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
    world_lock_acquire();
    int64_t old = gh_env.memlimit;
    if (bytes >= 0) {
        gh_env.memlimit = bytes;
        pacer_state.memlimit = bytes;
        pacer_commit(&pacer_state);
        publish_trigger();
    }
    world_lock_release();
    return old;
}

void gc_read_stats(gc_stats *out) {
    thr_current("gc_read_stats");
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
    uint64_t wall = now_ns(CLOCK_MONOTONIC) - init_ns;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    out->gc_cpu_fraction = wall ? (double)gc_cpu_ns / ((double)wall * (double)ncpu) : 0;
    world_lock_release();
}
