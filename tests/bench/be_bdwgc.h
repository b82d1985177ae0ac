/*
 * be_bdwgc.h — the benchmark interface (bench_backend.h) on the Boehm-Demers-
 * Weiser collector (Debian's libgc, 8.2).
 *
 * bdwgc is conservative: it finds roots by scanning stacks, registers and
 * static data, so frames and root registration vanish here, and the only
 * type information it takes is "may hold pointers" (GC_MALLOC) versus "holds
 * none" (GC_MALLOC_ATOMIC, which is also not cleared — we clear it ourselves
 * so every backend returns zeroed memory). With -DBE_BDWGC_INCREMENTAL the
 * collector runs in its incremental mode (GC_enable_incremental: mark work
 * interleaved with allocation, dirty pages found with mprotect or
 * /proc soft-dirty bits), reported as "bdwgc-incr".
 *
 * Threads: GC_THREADS enables the thread-aware declarations and
 * GC_NO_THREAD_REDIRECTS keeps gc.h from renaming pthread_create, so threads
 * register explicitly (GC_allow_register_threads once, then
 * GC_register_my_thread), mirroring what goheap requires. Blocking needs no
 * bracket: bdwgc stops a thread blocked in pthread_join with a signal.
 */
#ifndef BE_BDWGC_H
#define BE_BDWGC_H

#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef BE_BDWGC_INCREMENTAL
#define BE_NAME "bdwgc-incr"
#else
#define BE_NAME "bdwgc"
#endif
#define BE_EXPLICIT_FREE 0

typedef struct be_type {
    bool has_pointers;
} be_type;

#define BE_TYPE(var, T, ...) static const be_type var = {true}
#define BE_TYPE_NOPTR(var, T) static const be_type var = {false}

#define BE_STORE(lv, v) ((lv) = (v))
#define BE_FRAME(f, ...) ((void)0)
#define BE_UNFRAME(f) ((void)0)

/* Pause and mark-phase accounting from bdwgc's collection events
 * (GC_set_on_collection_event, bdwgc >= 7.6): each stop-the-world lasts from
 * GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD; a cycle's total is
 * the sum of the world stops up to the one during which GC_get_gc_no()
 * advanced (bdwgc counts a collection when its final, stopped mark is done;
 * incremental mode sends no GC_EVENT_END for the cycles it finishes in
 * small steps, so the events alone cannot delimit cycles); the mark phase
 * from GC_EVENT_MARK_START to GC_EVENT_MARK_END. bdwgc calls the hook with
 * its allocation lock held, so the counters need no lock of their own. The
 * arrays are malloc'd, outside the collected heap and static data, so bdwgc
 * does not scan them. */
enum { BE_BDWGC_MAX_CYCLES = 1 << 14, BE_BDWGC_MAX_STW = 1 << 16 };
static struct {
    bool recording;
    double stw_begin, mark_begin, last_mark, cycle_sum;
    GC_word gc_no;
    size_t ncycle, neach;
    double *cycle, *each; /* ms */
} be_bdwgc_rec;

static inline double be_bdwgc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void GC_CALLBACK be_bdwgc_event(GC_EventType e) {
    double t = be_bdwgc_now(), d;
    switch (e) {
    case GC_EVENT_PRE_STOP_WORLD:
        be_bdwgc_rec.stw_begin = t;
        break;
    case GC_EVENT_POST_START_WORLD:
        d = (t - be_bdwgc_rec.stw_begin) * 1e3;
        be_bdwgc_rec.cycle_sum += d;
        if (be_bdwgc_rec.recording && be_bdwgc_rec.neach < BE_BDWGC_MAX_STW)
            be_bdwgc_rec.each[be_bdwgc_rec.neach++] = d;
        if (GC_get_gc_no() != be_bdwgc_rec.gc_no) {
            be_bdwgc_rec.gc_no = GC_get_gc_no();
            if (be_bdwgc_rec.recording && be_bdwgc_rec.ncycle < BE_BDWGC_MAX_CYCLES)
                be_bdwgc_rec.cycle[be_bdwgc_rec.ncycle++] = be_bdwgc_rec.cycle_sum;
            be_bdwgc_rec.cycle_sum = 0;
        }
        break;
    case GC_EVENT_MARK_START:
        be_bdwgc_rec.mark_begin = t;
        break;
    case GC_EVENT_MARK_END:
        be_bdwgc_rec.last_mark = t - be_bdwgc_rec.mark_begin;
        break;
    default:
        break;
    }
}

static inline void be_init(void) {
    GC_set_on_collection_event(be_bdwgc_event);
    GC_INIT();
    GC_allow_register_threads();
#ifdef BE_BDWGC_INCREMENTAL
    GC_enable_incremental();
#endif
}

static inline void *be_alloc(size_t size, const be_type *t) {
    if (t->has_pointers)
        return GC_MALLOC(size); /* cleared by bdwgc */
    return memset(GC_MALLOC_ATOMIC(size), 0, size);
}

static inline void be_free(void *p) { (void)p; }
/* Static data is scanned by default; registering it again would scan twice. */
static inline void be_add_roots(void *start, size_t bytes) { (void)start, (void)bytes; }

static inline void be_thread_register(void) {
    struct GC_stack_base sb;
    GC_get_stack_base(&sb);
    GC_register_my_thread(&sb);
}
static inline void be_thread_unregister(void) { GC_unregister_my_thread(); }
static inline void be_enter_blocking(void) {}
static inline void be_leave_blocking(void) {}

/* Collector controls and accounting (markrate.c, pause.c). */
static inline void be_set_markers(int n) { GC_set_markers_count((unsigned)n); }
static inline void be_collect(void) { GC_gcollect(); }
static inline void be_auto_gc(int on) {
    if (on)
        GC_enable();
    else
        GC_disable();
}
static inline void be_pauses_start(void) {
    GC_alloc_lock();
    if (be_bdwgc_rec.cycle == NULL) {
        be_bdwgc_rec.cycle = malloc(BE_BDWGC_MAX_CYCLES * sizeof(double));
        be_bdwgc_rec.each = malloc(BE_BDWGC_MAX_STW * sizeof(double));
    }
    be_bdwgc_rec.ncycle = be_bdwgc_rec.neach = 0;
    be_bdwgc_rec.cycle_sum = 0;
    be_bdwgc_rec.gc_no = GC_get_gc_no();
    be_bdwgc_rec.recording = be_bdwgc_rec.cycle && be_bdwgc_rec.each;
    GC_alloc_unlock();
}
static inline size_t be_bdwgc_copy(double *ms, size_t max, const double *src, size_t n) {
    GC_alloc_lock();
    n = n < max ? n : max;
    if (n)
        memcpy(ms, src, n * sizeof(double));
    GC_alloc_unlock();
    return n;
}
static inline size_t be_pauses_cycle(double *ms, size_t max) {
    return be_bdwgc_copy(ms, max, be_bdwgc_rec.cycle, be_bdwgc_rec.ncycle);
}
static inline size_t be_pauses_each(double *ms, size_t max) {
    return be_bdwgc_copy(ms, max, be_bdwgc_rec.each, be_bdwgc_rec.neach);
}
static inline double be_last_mark_s(void) { return be_bdwgc_rec.last_mark; }

#endif /* BE_BDWGC_H */
