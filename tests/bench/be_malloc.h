/*
 * be_malloc.h — the benchmark interface (bench_backend.h) on explicit
 * malloc/free: glibc's allocator (-DBE_GLIBC) or mimalloc (-DBE_MIMALLOC).
 *
 * These are the "no collector at all" baselines: workloads free what they
 * drop (BE_EXPLICIT_FREE), so the time they report is what the same program
 * costs when the programmer does the collector's job. Allocation is calloc /
 * mi_zalloc because every collector hands out zeroed memory; measuring plain
 * malloc would flatter the baseline with work nobody skipped. Types, frames,
 * roots, barriers and thread registration mean nothing here and vanish.
 */
#ifndef BE_MALLOC_H
#define BE_MALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(BE_MIMALLOC)
#include <mimalloc.h>
#define BE_NAME "mimalloc"
#define be_sys_zalloc(n) mi_zalloc(n)
#define be_sys_free(p) mi_free(p)
#else
#define BE_NAME "glibc"
#define be_sys_zalloc(n) calloc(1, n)
#define be_sys_free(p) free(p)
#endif

#define BE_EXPLICIT_FREE 1

/* Unused by these backends, but the workloads take its address. */
typedef struct be_type {
    bool has_pointers;
} be_type;

#define BE_TYPE(var, T, ...) static const be_type var = {true}
#define BE_TYPE_NOPTR(var, T) static const be_type var = {false}

#define BE_STORE(lv, v) ((lv) = (v))
#define BE_FRAME(f, ...) ((void)0)
#define BE_UNFRAME(f) ((void)0)

static inline void be_init(void) {}

static inline void *be_alloc(size_t size, const be_type *t) {
    (void)t;
    void *p = be_sys_zalloc(size);
    if (p == NULL)
        abort();
    return p;
}

static inline void be_free(void *p) { be_sys_free(p); }
static inline void be_add_roots(void *start, size_t bytes) { (void)start, (void)bytes; }
static inline void be_thread_register(void) {}
static inline void be_thread_unregister(void) {}
static inline void be_enter_blocking(void) {}
static inline void be_leave_blocking(void) {}

/* No collector: nothing to control, no pause to account. pause.c runs on
 * glibc as the floor — the stalls a mutator sees on this machine with no
 * collector at all. */
static inline void be_set_markers(int n) { (void)n; }
static inline void be_collect(void) {}
static inline void be_auto_gc(int on) { (void)on; }
static inline void be_pauses_start(void) {}
static inline size_t be_pauses_cycle(double *ms, size_t max) { (void)ms, (void)max; return 0; }
static inline size_t be_pauses_each(double *ms, size_t max) { (void)ms, (void)max; return 0; }
static inline double be_last_mark_s(void) { return -1; }

#endif /* BE_MALLOC_H */
