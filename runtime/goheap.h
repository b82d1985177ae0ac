/*
 * goheap.h — the public interface of goheap, Go's heap and garbage collector
 * rebuilt as a C library.
 *
 * goheap hands out memory the way Go's runtime.mallocgc does (size classes,
 * per-thread caches, a tiny allocator for small pointer-free objects) and
 * reclaims it with a precise tri-color mark-sweep collector. Precise means the
 * collector knows exactly which words are pointers: every allocation names a
 * gc_type whose mask says which words may hold pointers, and every root is
 * registered. Nothing is scanned conservatively.
 *
 * The rules a program must follow (docs/guide.md explains each one):
 *
 *  1. A thread calls gc_thread_register() before it touches the heap (the
 *     thread that calls gc_init() is registered by it), and
 *     gc_thread_unregister() before it exits.
 *  2. A pointer to a goheap object that must survive a call that can collect
 *     (any gc_* allocation, gc_collect, gc_safepoint, gc_leave_blocking,
 *     gc_read_stats, gc_set_percent, gc_set_memory_limit, gc_run_finalizers)
 *     lives in a registered root: a global range given to gc_add_roots(), a
 *     local variable named in a GC_FRAME, or a pointer slot of another
 *     reachable object. A pointer held only in a C local outside every frame
 *     may be freed at the next safepoint.
 *  3. Every store of a pointer into a goheap object or into a registered
 *     global root range goes through GC_STORE() (or gc_memmove() for bulk
 *     copies). Stores into frame locals do not need it (see docs/guide.md,
 *     "Which stores need GC_STORE").
 *  4. A loop that runs for long without allocating calls gc_safepoint().
 *  5. A call that may block (I/O, locks, sleeping) is bracketed by
 *     gc_enter_blocking() / gc_leave_blocking(), and touches no heap pointer
 *     inside the bracket.
 *
 * Misuse is reported, never ignored: a heap call from an unregistered thread,
 * an unbalanced GC_UNFRAME, an overflowing size or a non-heap pointer given
 * where an object is required prints "goheap: fatal error: ..." with a
 * backtrace and aborts.
 *
 * Everything after the "implementation details" banner at the end of this
 * file is plumbing for the inline fast paths: names starting with gci_/GCI_
 * are not API and may change with GOHEAP_ABI_VERSION.
 */
#ifndef GOHEAP_H
#define GOHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <atomic_ops.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOHEAP_VERSION_MAJOR 0
#define GOHEAP_VERSION_MINOR 1
#define GOHEAP_VERSION_PATCH 0
/* Bumped whenever a gci_ layout read by the inline code below changes. */
#define GOHEAP_ABI_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define GCI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GCI_MALLOC __attribute__((malloc))
#define GCI_ALLOC_SIZE(i) __attribute__((alloc_size(i)))
#define GCI_NODISCARD __attribute__((warn_unused_result))
#define GCI_NORETURN __attribute__((noreturn))
#define GCI_UNUSED __attribute__((unused))
#define GOHEAP_API __attribute__((visibility("default")))
#else
#define GCI_UNLIKELY(x) (x)
#define GCI_MALLOC
#define GCI_ALLOC_SIZE(i)
#define GCI_NODISCARD
#define GCI_NORETURN
#define GCI_UNUSED
#define GOHEAP_API
#endif

/* ------------------------------------------------------------------------
 * Types: how the collector knows where pointers are.
 * ------------------------------------------------------------------------ */

/*
 * A gc_type describes one element of an allocation. Word i (of
 * sizeof(void *) bytes) of an element is a pointer slot when bit i of gcdata
 * is set (byte i/8, least significant bit first). Only the first ptrdata bytes
 * may hold pointers; ptrdata == 0 (or type == NULL) means the object is
 * "noscan": the collector never looks inside it. A pointer slot holds NULL, a
 * pointer to or into a goheap object (interior pointers keep the whole object
 * alive) or a pointer outside the goheap heap (ignored).
 */
typedef struct gc_type {
    const char *name;      /* shown in traces, fatal errors and heap dumps */
    size_t size;           /* bytes of one element */
    size_t ptrdata;        /* bytes of the prefix that may hold pointers; 0 = no pointers */
    const uint8_t *gcdata; /* pointer mask over the ptrdata prefix */
} gc_type;

/*
 * GC_TYPE(var, struct_type, field...) defines `static const gc_type var`
 * describing struct_type, whose pointer fields are the named fields. Each
 * field must be a pointer-sized, pointer-aligned member in the first 512
 * bytes (checked at compile time). Up to 16 fields; for more, or for layouts
 * built at run time, use gc_type_build().
 *
 *     struct node { int key; struct node *left, *right; char *name; };
 *     GC_TYPE(node_type, struct node, left, right, name);
 *     struct node *n = gc_alloc(sizeof *n, &node_type);
 *
 * The mask is computed at compile time from offsetof; nothing runs at startup.
 */
#define GC_TYPE(var, T, ...)                                                   \
    typedef char gci_check_##var[GCI_FOLD(GCI_OKOP, GCI_JOIN_AND, T, 0,        \
                                          __VA_ARGS__) ? 1 : -1]               \
        GCI_UNUSED;                                                            \
    static const uint8_t gci_mask_##var[8] = {GCI_MASK_INIT(T, __VA_ARGS__)};  \
    static const gc_type var = {#T, sizeof(T),                                 \
                                GCI_PTRDATA(T, __VA_ARGS__), gci_mask_##var}

/*
 * Builds a gc_type at run time for a layout of `size` bytes whose pointer
 * slots are at the byte offsets in `ptr_offsets` (each a multiple of
 * sizeof(void *), less than size). The result is allocated off-heap, lives
 * until gc_shutdown, and is owned by the library; `name` is copied. A
 * misaligned or out-of-range offset is a fatal error.
 */
GOHEAP_API const gc_type *gc_type_build(const char *name, size_t size,
                                        const size_t *ptr_offsets, size_t count);

/* ------------------------------------------------------------------------
 * Lifecycle.
 * ------------------------------------------------------------------------ */

/* Initialises the heap, reads the GOHEAP_* environment variables (a malformed
 * value is reported once on stderr and its default kept) and registers the
 * calling thread. Calling it again while initialised does nothing. */
GOHEAP_API void gc_init(void);

/* Options for gc_init_opts; zero-initialise and set what you need. */
typedef struct gc_options {
    /* false (default): finalizers run on a dedicated finalizer thread.
     * true: they run only when the program calls gc_run_finalizers(), on the
     * calling thread — for single-threaded VMs. */
    bool manual_finalizers;
} gc_options;

/* gc_init with options (NULL = defaults). */
GOHEAP_API void gc_init_opts(const gc_options *opts);

/* Stops the background threads and returns every byte of the heap to the OS.
 * Every goheap pointer becomes invalid; other threads must have unregistered.
 * gc_init may be called again afterwards. */
GOHEAP_API void gc_shutdown(void);

/* ------------------------------------------------------------------------
 * Allocation. Every function here is a safepoint: a collection may run
 * inside it. The calling thread must be registered.
 * ------------------------------------------------------------------------ */

/* Returns `size` zeroed bytes laid out as `type` (an array of size/type->size
 * elements when size is larger than one element: the mask repeats for each
 * whole element; bytes past the last whole element are scalar). size 0
 * returns one shared non-NULL address. Aborts with a clear message when
 * memory runs out or size is impossibly large. */
GOHEAP_API GCI_MALLOC GCI_ALLOC_SIZE(1) void *gc_alloc(size_t size, const gc_type *type);

/* n elements of `elem`; n * elem->size is checked for overflow. elem must be
 * non-NULL. */
GOHEAP_API GCI_MALLOC void *gc_alloc_array(const gc_type *elem, size_t n);

/* Go's mallocgc: needzero=false is allowed only for noscan objects and lets
 * the allocator skip clearing memory the caller overwrites entirely. */
GOHEAP_API GCI_MALLOC GCI_ALLOC_SIZE(1) void *gc_mallocgc(size_t size, const gc_type *type,
                                                         bool needzero);

/* As gc_alloc, but returns NULL with errno = ENOMEM instead of aborting when
 * the memory limit or the OS refuses the memory, or the size is impossible. */
GOHEAP_API GCI_MALLOC GCI_ALLOC_SIZE(1) void *gc_try_alloc(size_t size, const gc_type *type);

/* The start of the object containing p, or NULL if p does not point into an
 * allocated goheap object. */
GOHEAP_API void *gc_base(const void *p);

/* The usable bytes of p's object (its size class's size, or the page-rounded
 * size of a large object). p must be the base of an object: anything else is a
 * fatal error. */
GOHEAP_API size_t gc_usable_size(const void *p);

/* ------------------------------------------------------------------------
 * Roots.
 * ------------------------------------------------------------------------ */

/* Registers [start, start+bytes) as a root range: every pointer-aligned word
 * in it is a pointer slot. Safe to call from any registered thread. */
GOHEAP_API void gc_add_roots(void *start, size_t bytes);

/* Removes the range that began at start. A start never added is a fatal
 * error. */
GOHEAP_API void gc_remove_roots(void *start);

/*
 * Shadow-stack frames. GC_FRAME(f, &a, &b) declares a frame named f on the C
 * stack holding the addresses of the locals a and b (of any pointer type) and
 * pushes it on the calling thread's frame list; the collector treats *(&a)
 * and *(&b) as roots until GC_UNFRAME(f) pops it. Frames nest strictly: f
 * must be the innermost frame when it is popped, or the program dies with a
 * fatal error naming both frames. A frame must be popped before the function
 * that declared it returns. Pushing and popping are a few stores: no call,
 * no lock, no allocation.
 */
#define GC_FRAME(f, ...)                                                       \
    void *const gci_slots_##f[] = {__VA_ARGS__};                               \
    gci_frame f = {gci_frame_top, sizeof(gci_slots_##f) / sizeof(void *),     \
                   gci_slots_##f, __FILE__, __LINE__};                         \
    gci_frame_top = &(f)

#define GC_UNFRAME(f)                                                          \
    do {                                                                       \
        if (GCI_UNLIKELY(gci_frame_top != &(f)))                               \
            gci_unframe_mismatch(&(f));                                        \
        gci_frame_top = (f).prev;                                              \
    } while (0)

/*
 * Non-local exits. A longjmp past functions that pushed frames skips their
 * GC_UNFRAMEs; the frames would then dangle. Save the frame list with
 * gc_frame_save() next to setjmp and restore it with gc_frame_restore()
 * after the longjmp lands; the restored mark must be one saved by this
 * thread and still on its stack.
 *
 *     gc_frame_mark m = gc_frame_save();
 *     if (setjmp(env) != 0) { gc_frame_restore(m); ...handle the error... }
 */
typedef struct gci_frame *gc_frame_mark;
static inline gc_frame_mark gc_frame_save(void);
static inline void gc_frame_restore(gc_frame_mark m);

/* ------------------------------------------------------------------------
 * Write barrier.
 * ------------------------------------------------------------------------ */

/*
 * GC_STORE(lvalue, value) stores the pointer `value` into `lvalue`, a pointer
 * slot of a goheap object or of a registered global root range. lvalue and value are each evaluated once. Outside
 * a mark phase it is a load of gci_wb_enabled, a predictable branch and the
 * store; during mark it calls gc_write_barrier, which shades the overwritten
 * and the new pointer (Go's hybrid barrier).
 *
 * Memory ordering: gci_wb_enabled changes only while the world is stopped.
 * Every mutator resumes from the stop (or leaves a blocking region) through
 * an acquire, so every store it makes afterwards sees the new value, and no
 * GC_STORE straddles a change because a thread stops only at safepoints and
 * touches no heap pointer while blocking. A relaxed load is therefore enough.
 */
#define GC_STORE(lv, v)                                                        \
    do {                                                                       \
        __typeof__(lv) *gci_store_slot = &(lv);                                \
        __typeof__(lv) gci_store_val = (v);                                    \
        if (GCI_UNLIKELY(AO_load(&gci_wb_enabled)))                            \
            gc_write_barrier((void **)gci_store_slot, (void *)gci_store_val);  \
        else                                                                   \
            *gci_store_slot = gci_store_val;                                   \
    } while (0)

/* The out-of-line barrier: shades *slot and value if marking, then stores. */
GOHEAP_API void gc_write_barrier(void **slot, void *value);

/* memmove for memory that may hold heap pointers (either side may be a heap
 * object or not). During mark, every pointer overwritten in dst and every
 * pointer copied is shaded. */
GOHEAP_API void gc_memmove(void *dst, const void *src, size_t n);

/* ------------------------------------------------------------------------
 * Threads and safepoints.
 * ------------------------------------------------------------------------ */

/* Registers the calling thread; a second registration is a fatal error. */
GOHEAP_API void gc_thread_register(void);
/* Unregisters the calling thread, returning its cached spans. Its frames must
 * all be popped. */
GOHEAP_API void gc_thread_unregister(void);

/* Inline: a relaxed load and a branch; stops here if a collection asks. */
static inline void gc_safepoint(void);

/* Between these two calls the thread is parked: a collection never waits for
 * it and reads its frames instead. It must not touch heap pointers inside.
 * gc_leave_blocking waits while a stop-the-world pause is in progress. */
GOHEAP_API void gc_enter_blocking(void);
GOHEAP_API void gc_leave_blocking(void);

/* ------------------------------------------------------------------------
 * Collection, tuning and statistics.
 * ------------------------------------------------------------------------ */

#define GC_PAUSE_HISTORY 256

/* Mirrors Go's runtime.MemStats. Byte counts are of object memory unless
 * named otherwise. */
typedef struct gc_stats {
    uint64_t heap_alloc;    /* bytes of allocated heap objects (live + not yet swept) */
    uint64_t heap_sys;      /* bytes of heap memory obtained from the OS */
    uint64_t heap_idle;     /* bytes in spans with no objects */
    uint64_t heap_inuse;    /* bytes in in-use spans */
    uint64_t heap_released; /* bytes of idle memory returned to the OS */
    uint64_t heap_objects;  /* number of allocated objects */
    uint64_t total_alloc;   /* cumulative bytes allocated */
    uint64_t mallocs;       /* cumulative objects allocated */
    uint64_t frees;         /* cumulative objects freed */
    uint64_t sys;           /* all bytes obtained from the OS, metadata included */
    uint64_t next_gc;       /* heap goal of the next cycle, in bytes */
    uint64_t last_gc_ns;    /* end of the last cycle, ns since the Unix epoch */
    uint64_t pause_total_ns;
    uint64_t pause_ns[GC_PAUSE_HISTORY]; /* circular: pause of cycle k at [(k+255)%256] */
    uint64_t pause_end_ns[GC_PAUSE_HISTORY];
    uint32_t num_gc;
    uint32_t num_forced_gc; /* cycles started by gc_collect */
    double gc_cpu_fraction; /* fraction of CPU time used by the collector since init */
} gc_stats;

/* Runs a complete cycle: returns after mark and sweep have finished. */
GOHEAP_API void gc_collect(void);
/* Sets GOGC; -1 turns automatic cycles off. Returns the previous value. */
GOHEAP_API int gc_set_percent(int percent);
/* Sets the soft memory limit in bytes (INT64_MAX = none); a negative value
 * only reads it. Returns the previous value. */
GOHEAP_API int64_t gc_set_memory_limit(int64_t bytes);
/* Fills *out, exact: it stops the world briefly, as Go's ReadMemStats does.
 * This call, gc_set_percent and gc_set_memory_limit can collect: they wait
 * for the collector's pauses parked, and a whole cycle may run meanwhile. */
GOHEAP_API void gc_read_stats(gc_stats *out);

/* ------------------------------------------------------------------------
 * Finalizers and weak references.
 * ------------------------------------------------------------------------ */

typedef void (*gc_finalizer)(void *obj, void *arg);
/* Arranges for fn(obj, arg) to run once after obj is found unreachable. obj
 * must be the base of a heap object; fn NULL removes the finalizer. */
GOHEAP_API void gc_set_finalizer(void *obj, gc_finalizer fn, void *arg);
/* Runs queued finalizers on the calling thread. */
GOHEAP_API void gc_run_finalizers(void);

typedef struct gc_weak gc_weak;
/* The weak handle of obj (one per object; NULL for NULL). The handle is a
 * goheap object: keep it reachable like any other. */
GOHEAP_API gc_weak *gc_weak_new(void *obj);
/* obj, or NULL once obj has been found unreachable. */
GOHEAP_API void *gc_weak_get(gc_weak *w);

/* ------------------------------------------------------------------------
 * Heap profiles.
 * ------------------------------------------------------------------------ */

/* Writes the sampled heap profile (GOHEAP_DEBUG=memprofilerate=N, default
 * one sample per 512 KiB allocated) to path in the legacy text format that
 * `go tool pprof` reads. Returns 0, or -1 with errno set. */
GOHEAP_API int gc_write_heap_profile(const char *path);

/* ========================================================================
 * Implementation details of the inline code above. gci_ names are not API
 * and change with GOHEAP_ABI_VERSION.
 * ======================================================================== */

typedef struct gci_frame {
    struct gci_frame *prev;
    size_t count;
    void *const *slots; /* each is the address of a pointer variable */
    const char *file;   /* where the frame was declared, for fatal errors */
    int line;
} gci_frame;

/* Innermost frame of the calling thread. Initial-exec TLS: GC_FRAME reads
 * it at a fixed offset from the thread pointer, with no __tls_get_addr
 * call (goheap is linked at program start, or dlopen'ed into the static TLS
 * surplus glibc keeps for such libraries). */
#if defined(__GNUC__) || defined(__clang__)
#define GCI_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define GCI_TLS_MODEL
#endif
extern GOHEAP_API __thread gci_frame *gci_frame_top GCI_TLS_MODEL;
/* Non-zero while the collector is marking. */
extern GOHEAP_API volatile AO_t gci_wb_enabled;
/* Non-zero while the collector asks threads to come to a safepoint (to
 * stop the world, or to scan their own frames or flush their buffers). */
extern GOHEAP_API volatile AO_t gci_safepoint_request;

GOHEAP_API GCI_NORETURN void gci_unframe_mismatch(gci_frame *f);
GOHEAP_API void gci_safepoint_slow(void);

static inline gc_frame_mark gc_frame_save(void) { return gci_frame_top; }
static inline void gc_frame_restore(gc_frame_mark m) { gci_frame_top = m; }

static inline void gc_safepoint(void) {
    if (GCI_UNLIKELY(AO_load(&gci_safepoint_request)))
        gci_safepoint_slow();
}

/* GC_TYPE plumbing: a pointer mask computed from offsetof at compile time. */
#define GCI_WORD sizeof(void *)
#define GCI_BIT(T, f, byte)                                                    \
    ((offsetof(T, f) / GCI_WORD) / 8 == (byte)                                 \
         ? (uint8_t)(1u << ((offsetof(T, f) / GCI_WORD) % 8))                  \
         : 0)
#define GCI_END(T, f) (offsetof(T, f) + GCI_WORD)
#define GCI_MAX(a, b) ((a) > (b) ? (a) : (b))

#define GCI_NARGS(...) GCI_NARGS_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define GCI_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, N, ...) N
#define GCI_CAT(a, b) GCI_CAT_(a, b)
#define GCI_CAT_(a, b) a##b
/* GCI_FOLD(OP, JOIN, T, x, f...) = OP(T,f1,x) JOIN OP(T,f2,x) ... */
#define GCI_FOLD(OP, J, T, x, ...) GCI_CAT(GCI_FOLD_, GCI_NARGS(__VA_ARGS__))(OP, J, T, x, __VA_ARGS__)
#define GCI_FOLD_1(OP, J, T, x, a) OP(T, a, x)
#define GCI_FOLD_2(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_1(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_3(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_2(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_4(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_3(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_5(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_4(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_6(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_5(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_7(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_6(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_8(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_7(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_9(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_8(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_10(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_9(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_11(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_10(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_12(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_11(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_13(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_12(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_14(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_13(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_15(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_14(OP, J, T, x, __VA_ARGS__))
#define GCI_FOLD_16(OP, J, T, x, a, ...) J(OP(T, a, x), GCI_FOLD_15(OP, J, T, x, __VA_ARGS__))
#define GCI_JOIN_OR(a, b) (a) | (b)
#define GCI_JOIN_MAX(a, b) GCI_MAX(a, b)
#define GCI_JOIN_AND(a, b) (a) && (b)
/* A field is usable as a pointer slot when it is word-aligned and lies in the
 * first 64 words, which the 8-byte mask covers. */
#define GCI_OKOP(T, f, x) (offsetof(T, f) % GCI_WORD == 0 && offsetof(T, f) < 64 * GCI_WORD)
#define GCI_BYTE(T, byte, ...) (uint8_t)(GCI_FOLD(GCI_BIT, GCI_JOIN_OR, T, byte, __VA_ARGS__))
#define GCI_ENDOP(T, f, x) GCI_END(T, f)
#define GCI_PTRDATA(T, ...) GCI_FOLD(GCI_ENDOP, GCI_JOIN_MAX, T, 0, __VA_ARGS__)
/* A GC_TYPE mask is 8 bytes: pointer fields must lie in the first 64 words
 * (512 bytes) of the struct, which GCI_OKOP checks at compile time; larger
 * layouts use gc_type_build. */
#define GCI_MASK_INIT(T, ...)                                                  \
    GCI_BYTE(T, 0, __VA_ARGS__), GCI_BYTE(T, 1, __VA_ARGS__),                  \
        GCI_BYTE(T, 2, __VA_ARGS__), GCI_BYTE(T, 3, __VA_ARGS__),              \
        GCI_BYTE(T, 4, __VA_ARGS__), GCI_BYTE(T, 5, __VA_ARGS__),              \
        GCI_BYTE(T, 6, __VA_ARGS__), GCI_BYTE(T, 7, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* GOHEAP_H */
