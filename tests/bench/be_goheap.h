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

#endif /* BE_GOHEAP_H */
