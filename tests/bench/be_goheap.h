/*
 * be_goheap.h — the benchmark interface (bench_backend.h) on goheap.
 *
 * Only the public header is used, exactly as a client program would: precise
 * types from GC_TYPE, GC_STORE for every pointer store into an object,
 * GC_FRAME for pointer locals that live across an allocation, gc_add_roots
 * for static root arrays, and registration/blocking brackets for threads.
 * Nothing is tuned: GOGC and the number of mark workers are whatever the
 * GOHEAP_* environment (default: none) says, as for Go itself.
 */
#ifndef BE_GOHEAP_H
#define BE_GOHEAP_H

#include <goheap.h>
#include <stdio.h>
#include <stdlib.h>

#define BE_NAME "goheap"
#define BE_EXPLICIT_FREE 0

typedef gc_type be_type;

#define BE_TYPE(var, T, ...) GC_TYPE(var, T, __VA_ARGS__)
#define BE_TYPE_NOPTR(var, T) static const gc_type var = {#T, sizeof(T), 0, NULL}

#define BE_STORE(lv, v) GC_STORE(lv, v)
#define BE_FRAME(f, ...) GC_FRAME(f, __VA_ARGS__)
#define BE_UNFRAME(f) GC_UNFRAME(f)

static inline void be_init(void) { gc_init(); }
static inline void *be_alloc(size_t size, const be_type *t) { return gc_alloc(size, t); }
static inline void be_free(void *p) { (void)p; }
static inline void be_add_roots(void *start, size_t bytes) { gc_add_roots(start, bytes); }
static inline void be_thread_register(void) { gc_thread_register(); }
static inline void be_thread_unregister(void) { gc_thread_unregister(); }
static inline void be_enter_blocking(void) { gc_enter_blocking(); }
static inline void be_leave_blocking(void) { gc_leave_blocking(); }

/* Collector controls and accounting (markrate.c, pause.c). */
static inline void be_set_markers(int n) {
    char v[16];
    snprintf(v, sizeof v, "%d", n);
    setenv("GOHEAP_MARKERS", v, 1); /* read by gc_init */
}
static inline void be_collect(void) { gc_collect(); }
static inline void be_auto_gc(int on) {
    static int saved = 100;
    if (on)
        gc_set_percent(saved);
    else
        saved = gc_set_percent(-1);
}

static uint32_t be_pauses_first; /* num_gc at be_pauses_start */
static inline void be_pauses_start(void) {
    static gc_stats st;
    gc_read_stats(&st);
    be_pauses_first = st.num_gc;
}
/* gc_stats keeps the last GC_PAUSE_HISTORY cycles' pauses, each the sum of
 * that cycle's two stop-the-world pauses, cycle k (from 1) at index
 * (k - 1) % GC_PAUSE_HISTORY. */
static inline size_t be_pauses_cycle(double *ms, size_t max) {
    static gc_stats st;
    gc_read_stats(&st);
    uint32_t first = be_pauses_first + 1;
    if (st.num_gc >= GC_PAUSE_HISTORY && first <= st.num_gc - GC_PAUSE_HISTORY)
        first = st.num_gc - GC_PAUSE_HISTORY + 1;
    size_t n = 0;
    for (uint32_t k = first; k <= st.num_gc && n < max; k++)
        ms[n++] = (double)st.pause_ns[(k - 1) % GC_PAUSE_HISTORY] / 1e6;
    return n;
}
static inline size_t be_pauses_each(double *ms, size_t max) {
    (void)ms, (void)max;
    return 0; /* one pause at a time only in gctrace (run.sh, gctrace.awk) */
}
static inline double be_last_mark_s(void) { return -1; /* gctrace */ }

#endif /* BE_GOHEAP_H */
