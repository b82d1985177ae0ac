/*
 * base.h — compiler plumbing shared by every layer: branch hints, visibility,
 * assertion levels, and the guard that keeps internal headers internal.
 *
 * Assertions come in three grades, chosen at build time by -Ddebug_checks
 * (GH_DEBUG):
 *   GH_ASSERT           (>= 1) cheap checks at API boundaries and state changes;
 *   GH_ASSERT_INTERNAL  (>= 2) hot-path invariants;
 *   GH_ASSERT_EXPENSIVE (>= 3) whole-structure validators.
 * Misuse checks that the API contract requires (unregistered threads,
 * unbalanced frames, bad sizes) are not assertions: they are always on.
 *
 * Fatal errors live here, in the lowest layer that runs code, because every
 * layer must be able to die loudly; arena/fatal.c prints the message and a
 * libunwind backtrace.
 */
#ifndef GH_BASE_H
#define GH_BASE_H

#ifndef GOHEAP_BUILDING
#error "internal header; include <goheap.h>"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef GH_DEBUG
#define GH_DEBUG 0
#endif

#define GH_LIKELY(x) __builtin_expect(!!(x), 1)
#define GH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GH_NOINLINE __attribute__((noinline))
#define GH_COLD __attribute__((cold))
#define GH_INLINE static inline __attribute__((always_inline))
#define GH_NORETURN __attribute__((noreturn))
#define GH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define GH_STATIC_ASSERT(c, msg) _Static_assert(c, msg)
#define GH_ALIGNED(n) __attribute__((aligned(n)))
#define GH_CACHE_LINE 64
#define GH_PAGE_SIZE_OS 4096

/* Prints "goheap: fatal error: <msg>" and a backtrace, then aborts. */
GH_NORETURN GH_COLD void gh_throw(const char *msg);
GH_NORETURN GH_COLD GH_PRINTF(1, 2) void gh_fatalf(const char *fmt, ...);
/* Prints "goheap: <msg>" to stderr without dying (reports, warnings). */
GH_COLD GH_PRINTF(1, 2) void gh_printf(const char *fmt, ...);

#define GH_STR_(x) #x
#define GH_STR(x) GH_STR_(x)

/* The clock `clk` (CLOCK_MONOTONIC, a CPU-time clock, ...) in ns. */
static inline uint64_t gh_clock_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define GH_CHECK(cond)                                                         \
    do {                                                                       \
        if (GH_UNLIKELY(!(cond)))                                              \
            gh_throw("assertion failed: " #cond " at " __FILE__                \
                     ":" GH_STR(__LINE__));                                    \
    } while (0)

#if GH_DEBUG >= 1
#define GH_ASSERT(cond) GH_CHECK(cond)
#else
#define GH_ASSERT(cond) ((void)0)
#endif
#if GH_DEBUG >= 2
#define GH_ASSERT_INTERNAL(cond) GH_CHECK(cond)
#else
#define GH_ASSERT_INTERNAL(cond) ((void)0)
#endif
#if GH_DEBUG >= 3
#define GH_ASSERT_EXPENSIVE(cond) GH_CHECK(cond)
#else
#define GH_ASSERT_EXPENSIVE(cond) ((void)0)
#endif

#define GH_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GH_MAX(a, b) ((a) > (b) ? (a) : (b))
#define GH_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((uintptr_t)(a)-1))
#define GH_ALIGN_DOWN(x, a) ((x) & ~((uintptr_t)(a)-1))
#define GH_DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

#endif /* GH_BASE_H */
