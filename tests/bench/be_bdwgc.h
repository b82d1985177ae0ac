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
#include <string.h>

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

static inline void be_init(void) {
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

#endif /* BE_BDWGC_H */
