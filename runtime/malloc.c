/*
 * malloc.c — gc_alloc and friends: Go's mallocgc.                Go: malloc.go
 *
 * An allocation takes one of three paths, chosen by size and by whether the
 * object can hold pointers ("noscan" when its type has no pointer words):
 *
 *  1. Tiny (noscan, < 16 bytes): packed into the thread's current 16-byte
 *     block at the next offset aligned for the size. Strings and small
 *     boxed numbers share blocks; a block is freed when every object in it is
 *     unreachable (it is one object to the collector). Go's measurements put
 *     the saving at ~20% of allocations and ~12% of heap size.
 *  2. Small (<= 32 KiB): the size class's span in the thread's mcache, next
 *     free slot found by count-trailing-zeros on alloc_cache. No lock and no
 *     atomic; the slow path (mcache_refill) runs once per span.
 *  3. Large (> 32 KiB): a span of its own from the mheap.
 *
 * Then: memory is cleared unless it is known to be zero (fresh spans never
 * are cleared: see mheap.c on zeroed_base); for objects with pointers the
 * heap bitmap is written from the type; during a mark phase the object is
 * marked black (a new object needs no scan: it can only hold pointers stored
 * through the write barrier from now on).
 *
 * Every allocation is a safepoint in the slow path only: refill and large
 * allocation check the GC trigger, and may run or join a collection.
 *
 * Concurrency. A cached span's allocation state is its thread's alone, but
 * markers read two of its fields: bits_type and bits_mask (one type's bits
 * in every slot, gc/mark.c's span_hint), which the thread writes mask
 * first, type with a release store. A span's pre-marked free slots
 * (alloc_black, set at refill or by the mark-start handshake) are why the
 * inline path may skip per-object marking during a mark; slots of a span
 * not pre-marked — a thread's cache between sweep termination and its
 * handshake — are marked one by one in alloc_finish.
 *
 * Errors: a size whose rounding overflows, a size beyond the address space,
 * or gc_alloc_array's n * size overflowing is a fatal error from gc_alloc and
 * NULL + ENOMEM from gc_try_alloc; so is running out of memory.
 *
 * The memory limit. gc_alloc keeps Go's soft semantics: the limit steers
 * the pacer and the scavenger but never fails an allocation; gc_alloc dies
 * only when the OS refuses memory. gc_try_alloc is strict for large objects
 * (> 32 KiB): if the object's pages, the pages in use and the metadata
 * would exceed the limit even with every other free page returned to the
 * OS, it runs a full collection (gc_collect, which sweeps), checks again,
 * and returns NULL + ENOMEM if it still cannot fit. The check sits on the
 * large path, before the mheap is asked, and costs two loads when it
 * passes; small objects come from spans of at most 80 KiB through the
 * untouched fast path and follow gc_alloc's soft semantics, so a strict
 * check there would guard little and slow every refill.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "goheap.h"
#include "heapbits.h"
#include "mcache.h"
#include "mcentral.h"
#include "mheap.h"
#include "scavenge.h"
#include "special.h"
#include "stats.h"
#include "thread.h"
#include "track.h"
#include "upcalls.h"

/* Work an allocation must do beyond the fast path, as one word so the fast
 * path tests it with a single load and branch: ALLOC_HOOK_MARKING while a
 * mark phase runs (allocate black, gc/cycle.c sets it with the world
 * stopped), ALLOC_HOOK_TYPES when a debug mode reports object types,
 * ALLOC_HOOK_TRACK under memcheck (track.h: every object is announced). */
volatile AO_t alloc_hooks;

/* alloc_hooks but ALLOC_HOOK_TRACK, which only sends an allocation off the
 * fast path: the object is announced to memcheck (gh_track_alloc) by
 * mallocgc and alloc_finish themselves. */
GH_INLINE uintptr_t object_hooks(void) {
    return gh_load(&alloc_hooks) & ~(uintptr_t)ALLOC_HOOK_TRACK;
}

/* Records the type of the new object x of span s (debug modes only). */
static GH_NOINLINE GH_COLD void record_type(mspan *s, uintptr_t x, const gc_type *type) {
    if (s->obj_types == NULL) {
        s->obj_types = calloc(s->nelems, sizeof *s->obj_types);
        if (s->obj_types == NULL)
            return; /* best effort: reports will say "?" */
    }
    s->obj_types[span_obj_index(s, x)] = type;
}

static GH_NOINLINE void run_alloc_hooks(gh_thread *t, mspan *s, uintptr_t x, const gc_type *type) {
    uintptr_t hooks = gh_load(&alloc_hooks);
    if (hooks & ALLOC_HOOK_MARKING)
        mark_new_object(t, s, x);
    if (hooks & ALLOC_HOOK_TYPES)
        record_type(s, x, type);
}

/* Writes the heap bits of the new object x. A span whose slots have never
 * been written gets the type's bits in every slot at once, so that as long
 * as the span keeps serving single objects of that one type (the common
 * case: a size class dominated by one struct), later allocations write
 * nothing (span_bits_fit). The span holds
 * no live object while bits_type is NULL, so rewriting every slot is safe. */
static GH_NOINLINE void write_heap_bits(mspan *s, uintptr_t x, uintptr_t size,
                                        const gc_type *type, const char *call) {
    if (GH_UNLIKELY(type->size < GH_PTR_SIZE || type->ptrdata > type->size))
        gh_fatalf("%s: malformed type %s (size %zu, ptrdata %zu)", call,
                  type->name ? type->name : "?", type->size, type->ptrdata);
    bool single = size / type->size == 1;
    if (s->bits_type == NULL && single) {
        uintptr_t ptr_words = GH_DIV_ROUND_UP(type->ptrdata, GH_PTR_SIZE);
        bool filled = false;
        if (ptr_words <= 64) {
            uint64_t mask = 0;
            for (uintptr_t b = 0; b < (ptr_words + 7) / 8; b++)
                mask |= (uint64_t)type->gcdata[b] << (8 * b);
            if (ptr_words < 64)
                mask &= ((uint64_t)1 << ptr_words) - 1;
            filled = hb_fill_span(s->arena, s->startaddr, s->npages, s->nelems,
                                  s->elemsize / GH_PTR_SIZE, mask);
            s->bits_mask = mask;
        }
        if (!filled)
            for (uintptr_t i = 0; i < s->nelems; i++)
                hb_write_type(s->arena, s->startaddr + i * s->elemsize, s->elemsize,
                                 type->size, type);
        /* Markers may read bits_type (and then bits_mask) concurrently. */
        gh_store_release((volatile AO_t *)&s->bits_type, (AO_t)type);
        return;
    }
    hb_write_type(s->arena, x, s->elemsize, size, type);
    gh_store_release((volatile AO_t *)&s->bits_type, (AO_t)SPAN_BITS_MIXED);
}

/* Whether allocating `size` bytes of `type` from s needs no bitmap write:
 * every slot already holds the type's single-element bits (bits_type) and
 * the object is exactly one element (type->size <= size < 2 * type->size).
 * An array of the type, or a size short of one element, needs other bits
 * (gc_alloc's layout), however the span was filled. */
GH_INLINE bool span_bits_fit(const mspan *s, const gc_type *type, size_t size) {
    return s->bits_type == type && size - type->size < type->size;
}

/* The address every zero-byte allocation returns. */
static uint64_t zerobase;

/* Largest request accepted: beyond it, page rounding or the 48-bit address
 * space make the request impossible. */
#define MAX_ALLOC ((size_t)1 << 47)

/* Reports a request that cannot be met: fatal for gc_alloc, NULL + ENOMEM
 * for gc_try_alloc. */
static void *alloc_failed(bool may_fail, const char *call, size_t size, const char *why) {
    if (may_fail) {
        errno = ENOMEM;
        return NULL;
    }
    gh_fatalf("%s: cannot allocate %zu bytes: %s", call, size, why);
}

/* The tiny allocator. Returns NULL when the block needs refilling through
 * the small path. */
static inline void *tiny_alloc(mcache *c, size_t size) {
    uintptr_t off = c->tiny_offset;
    if ((size & 7) == 0)
        off = GH_ALIGN_UP(off, 8);
    else if ((size & 3) == 0)
        off = GH_ALIGN_UP(off, 4);
    else if ((size & 1) == 0)
        off = GH_ALIGN_UP(off, 2);
    if (off + size <= GH_TINY_SIZE && c->tiny != 0) {
        void *x = (void *)(c->tiny + off);
        c->tiny_offset = off + size;
        c->tiny_allocs++;
        return x;
    }
    return NULL;
}

/* The next free object of span class spc, refilling the cache if needed.
 * Returns 0 when out of memory. Go: (*mcache).nextFree */
static GH_NOINLINE uintptr_t next_free_slow(mcache *c, span_class spc, mspan **sp) {
    mspan *s = c->alloc[spc];
    uintptr_t idx = span_next_free_index(s);
    if (idx == s->nelems) {
        if (!mcache_refill(c, spc))
            return 0;
        s = c->alloc[spc];
        idx = span_next_free_index(s);
    }
    GH_ASSERT(idx < s->nelems);
    s->alloc_count++;
    *sp = s;
    return s->startaddr + idx * s->elemsize;
}

static GH_NOINLINE void *alloc_large(size_t size, const gc_type *type, bool noscan,
                                     bool needzero, bool may_fail, const char *call) {
    uintptr_t npages = GH_DIV_ROUND_UP(size, GH_PAGE_SIZE);
    gc_safepoint();
    cycle_maybe_start();
    mark_assist_alloc(thr_self, npages << GH_PAGE_SHIFT);
    (void)sweep_deduct_credit(npages << GH_PAGE_SHIFT, NULL);
    sweep_reclaim(npages);
    if (may_fail && !scav_fits_under_limit(npages << GH_PAGE_SHIFT)) {
        /* The strict variant: collect (which also sweeps), and fail only if
         * the object still cannot fit under the limit with every other free
         * page returned to the OS; mheap then scavenges as needed. */
        gc_collect();
        if (!scav_fits_under_limit(npages << GH_PAGE_SHIFT))
            return alloc_failed(true, call, size, "memory limit reached");
    }
    mspan *s = mheap_alloc_span(npages, sc_make_span_class(0, noscan));
    if (s == NULL)
        return alloc_failed(may_fail, call, size, "out of memory (the heap could not grow)");
    s->alloc_count = 1;
    s->freeindex = 1;
    s->alloc_cache = 0;
    uintptr_t bytes = s->elemsize;
    stat_add(&gstats.heap_live, (intptr_t)bytes);
    stat_add(&gstats.heap_alloc, (intptr_t)bytes);
    stat_add(&gstats.total_alloc, (intptr_t)bytes);
    stat_add(&gstats.mallocs, 1);
    if (!noscan)
        stat_add(&gstats.heap_scan, (intptr_t)bytes);
    void *x = (void *)s->startaddr;
    gh_track_alloc(x, bytes, needzero); /* track.h */
    if (needzero && s->needzero)
        memset(x, 0, bytes);
    if (!noscan)
        hb_write_type(s->arena, s->startaddr, bytes, size, type);
    /* Listed as a full swept span of class 0 so the sweeper finds it. */
    mcentral_push_swept(s, true);
    if (GH_UNLIKELY(gh_load(&alloc_hooks)))
        run_alloc_hooks(thr_self, s, s->startaddr, type);
    mcache *c = &thr_self->cache;
    if ((c->next_sample -= (int64_t)bytes) < 0)
        profile_sample(c, s, s->startaddr, bytes);
    return x;
}

/* The general allocation path: every size, every case. alloc_fast below
 * handles the common cases inline and falls back here. */
static GH_NOINLINE void *mallocgc(size_t size, const gc_type *type, bool needzero, bool may_fail,
                                  const char *call) {
    gh_thread *t = thr_current(call);
    /* Said here, before an assist or a refill on the way trips over the
     * parked state with a less telling message. */
    if (GH_UNLIKELY(gh_load(&t->status) == THR_BLOCKED))
        thr_heap_use_while_blocked();
    if (GH_UNLIKELY(size == 0))
        return &zerobase;
    bool noscan = type == NULL || type->ptrdata == 0;
    if (GH_UNLIKELY(size > GH_MAX_SMALL_SIZE)) {
        if (size > MAX_ALLOC)
            return alloc_failed(may_fail, call, size, "size exceeds the address space");
        if (!noscan && type->size < GH_PTR_SIZE)
            gh_fatalf("%s: type %s has pointers but size %zu", call, type->name, type->size);
        return alloc_large(size, type, noscan, needzero, may_fail, call);
    }
    mcache *c = &t->cache;
    mspan *s;
    uintptr_t x;
    if (noscan && size < GH_TINY_SIZE) {
        void *p = tiny_alloc(c, size);
        if (GH_LIKELY(p != NULL)) {
            gh_track_defined(p, size); /* track.h: carved from the cleared block */
            return p;
        }
        /* A new 16-byte block; the object takes its start. */
        span_class spc = sc_make_span_class(2, 1);
        s = c->alloc[spc];
        x = span_next_free_fast(s);
        if (x == 0 && (x = next_free_slow(c, spc, &s)) == 0)
            return alloc_failed(may_fail, call, size, "out of memory (the heap could not grow)");
        gh_track_alloc(x, GH_TINY_SIZE, true); /* track.h: the block ... */
        GH_ASSERT_INTERNAL(!s->needzero); /* cleared when cached */
        gh_track_noaccess(x + size, GH_TINY_SIZE - size); /* ... tail: tiny_alloc's */
        /* Keep the block whose free tail is larger. */
        if (size < c->tiny_offset || c->tiny == 0) {
            c->tiny = x;
            c->tiny_offset = size;
        }
        if (GH_UNLIKELY(gh_load(&alloc_hooks)))
            run_alloc_hooks(t, s, x, NULL);
        return (void *)x;
    }
    span_class spc = sc_make_span_class(sc_size_to_class(size), noscan);
    s = c->alloc[spc];
    x = span_next_free_fast(s);
    if (GH_UNLIKELY(x == 0)) {
        x = next_free_slow(c, spc, &s);
        if (x == 0)
            return alloc_failed(may_fail, call, size, "out of memory (the heap could not grow)");
    }
    gh_track_alloc(x, s->elemsize, needzero); /* track.h */
    /* Cached spans hold only cleared free slots (span_clear_free_slots). */
    GH_ASSERT_INTERNAL(!s->needzero);
    /* A type already describing the span's bits was validated when it was
     * first written; only a new one is checked (write_heap_bits). */
    if (!noscan && !span_bits_fit(s, type, size))
        write_heap_bits(s, x, size, type, call);
    uintptr_t hooks = object_hooks();
    /* During mark a span cached with its free slots pre-marked needs no
     * per-object marking (gc/mark.c, mark_span_free_slots). */
    if (GH_UNLIKELY(hooks) && (hooks != ALLOC_HOOK_MARKING || !s->alloc_black))
        run_alloc_hooks(t, s, x, type);
    if (GH_UNLIKELY((c->next_sample -= (int64_t)s->elemsize) < 0))
        profile_sample(c, s, x, s->elemsize);
    return (void *)x;
}

/* The rare work after a fast-path allocation: a type new to the span's
 * heap bits, allocation hooks, a profile sample. */
static GH_NOINLINE void *alloc_finish(gh_thread *t, mspan *s, uintptr_t x, size_t size,
                                      const gc_type *type, const char *call) {
    mcache *c = &t->cache;
    gh_track_alloc(x, s->elemsize, true); /* track.h, as mallocgc does */
    if (type != NULL && type->ptrdata != 0 && !span_bits_fit(s, type, size))
        write_heap_bits(s, x, size, type, call);
    uintptr_t hooks = object_hooks();
    if (hooks && (hooks != ALLOC_HOOK_MARKING || !s->alloc_black))
        run_alloc_hooks(t, s, x, type);
    if (c->next_sample < 0)
        profile_sample(c, s, x, s->elemsize);
    return (void *)x;
}

/*
 * The fast path, inlined into gc_alloc and gc_try_alloc: a registered
 * thread allocating a small object (<= 1016 bytes) from its cached span,
 * or a tiny object into its current block. No lock, no atomic, no call; a
 * single combined test sends the rare follow-up work (new heap-bit type,
 * hooks, memcheck's announcement among them, profiling) to alloc_finish.
 * Everything else — refills, large objects, errors — goes to mallocgc,
 * which handles every case again.
 */

/* The fast path's allocation from the cached span of the object's class;
 * noscan is a constant where it is inlined, so the scan and noscan paths
 * are each compiled without the other's tests. */
static inline __attribute__((always_inline)) void *alloc_from_cache(gh_thread *t, size_t size,
                                                                    const gc_type *type,
                                                                    bool noscan, bool may_fail,
                                                                    const char *call) {
    mcache *c = &t->cache;
    /* sc_make_span_class, as a word: no truncation to span_class. */
    uintptr_t spc = (uintptr_t)sc_size_to_class8[(size + 7) >> 3] * 2 + noscan;
    mspan *s = c->alloc[spc];
    uint64_t cache = s->alloc_cache;
    if (GH_UNLIKELY(cache == 0))
        return mallocgc(size, type, true, may_fail, call);
    /* span_next_free_fast, inline: a set bit is always a real object. */
    unsigned tz = (unsigned)__builtin_ctzll(cache);
    uintptr_t result = s->freeindex + tz;
    s->alloc_cache = (cache >> tz) >> 1;
    s->freeindex = result + 1;
    s->alloc_count++;
    uintptr_t x = s->startaddr + result * s->elemsize;
    c->next_sample -= (int64_t)s->elemsize;
    /* No clearing: a span is cleared in bulk when it enters the cache
     * (span_clear_free_slots). The only call below is a tail call, so the
     * fast path saves no register. */
    GH_ASSERT_INTERNAL(!s->needzero);
    /* During a mark, a span whose free slots are pre-marked (alloc_black,
     * 0 or 1) needs no per-object marking, so its 1 masks out
     * ALLOC_HOOK_MARKING and such allocations stay inline. */
    _Static_assert(ALLOC_HOOK_MARKING == 1, "alloc_black masks the marking hook");
    /* One branch for three rare cases: `|`, not `||`, on purpose. The
     * bits fit when the span holds the type's and the object is exactly
     * one element; other sizes that fit (span_bits_fit) are rare enough
     * to be found in alloc_finish. */
    if (GH_UNLIKELY((int)(!noscan && (s->bits_type != type || size != type->size)) |
                    ((gh_load(&alloc_hooks) & ~(uintptr_t)s->alloc_black) != 0) |
                    (c->next_sample < 0)))
        return alloc_finish(t, s, x, size, type, call);
    return (void *)x;
}

/* The fast path itself: the checks every call makes, then the tiny block
 * or the cached span. */
static inline __attribute__((always_inline)) void *alloc_fast(size_t size, const gc_type *type,
                                                              bool may_fail, const char *call) {
    gh_thread *t = thr_self;
    if (GH_UNLIKELY(t == NULL || size - 1 >= SC_SMALL_SIZE_MAX - 8))
        return mallocgc(size, type, true, may_fail, call);
    /* Objects with pointers first: the common case in a language runtime. */
    if (GH_LIKELY(type != NULL && type->ptrdata != 0))
        return alloc_from_cache(t, size, type, false, may_fail, call);
    if (size < GH_TINY_SIZE) {
        /* track.h: under memcheck, tiny objects take the hooked path (the
         * span path's ALLOC_HOOK_TRACK sends it to alloc_finish). */
        void *p = GH_UNLIKELY(track_enabled) ? NULL : tiny_alloc(&t->cache, size);
        if (GH_LIKELY(p != NULL))
            return p;
        return mallocgc(size, type, true, may_fail, call);
    }
    return alloc_from_cache(t, size, type, true, may_fail, call);
}

void *gc_alloc(size_t size, const gc_type *type) { return alloc_fast(size, type, false, "gc_alloc"); }

void *gc_try_alloc(size_t size, const gc_type *type) {
    return alloc_fast(size, type, true, "gc_try_alloc");
}

void *gc_mallocgc(size_t size, const gc_type *type, bool needzero) {
    if (!needzero && type != NULL && type->ptrdata != 0)
        gh_fatalf("gc_mallocgc: needzero=false for type %s, which has pointers",
                  type->name ? type->name : "?");
    return mallocgc(size, type, needzero, false, "gc_mallocgc");
}

void *gc_alloc_array(const gc_type *elem, size_t n) {
    if (elem == NULL)
        gh_throw("gc_alloc_array: NULL element type");
    size_t bytes;
    if (__builtin_mul_overflow(elem->size, n, &bytes))
        gh_fatalf("gc_alloc_array: %zu elements of %zu bytes overflows size_t", n, elem->size);
    return mallocgc(bytes, elem, true, false, "gc_alloc_array");
}

void *gc_base(const void *p) {
    mspan *s = span_of((uintptr_t)p);
    if (s == NULL)
        return NULL;
    uintptr_t idx = span_obj_index(s, (uintptr_t)p);
    return (void *)(s->startaddr + idx * s->elemsize);
}

size_t gc_usable_size(const void *p) {
    if (p == &zerobase)
        return 0;
    mspan *s = span_of((uintptr_t)p);
    if (s == NULL)
        gh_fatalf("gc_usable_size: %p is not a goheap object", p);
    uintptr_t idx = span_obj_index(s, (uintptr_t)p);
    if (s->startaddr + idx * s->elemsize != (uintptr_t)p)
        gh_fatalf("gc_usable_size: %p points into the middle of an object (base %p)", p,
                  (void *)(s->startaddr + idx * s->elemsize));
    return s->elemsize;
}
