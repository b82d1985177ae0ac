/*
 * span.c — per-span allocation state: the alloc-bit cache and the search
 * for the next free object.                              Go: mbitmap.go, mheap.go
 *
 * All functions here operate on a span owned by the caller (its mcache, or
 * the sweeper or mcentral that claimed it), so none of them locks.
 */
#include "span.h"
#include "track.h"

#include <string.h>

void span_refill_alloc_cache(mspan *s, uintptr_t from) {
    GH_ASSERT_INTERNAL(from % 64 == 0);
    uint64_t w;
    memcpy(&w, s->alloc_bits + from / 8, sizeof w);
    uint64_t cache = ~w;
    if (s->nelems - from < 64)
        cache &= ~(~(uint64_t)0 << (s->nelems - from));
    s->alloc_cache = cache;
}

uintptr_t span_next_free_index(mspan *s) {
    uintptr_t idx = s->freeindex;
    uintptr_t n = s->nelems;
    if (idx >= n)
        return n;
    uint64_t cache = s->alloc_cache;
    /* An empty cache with freeindex on a window boundary means that
     * window was never loaded (the fast path took the previous window's
     * last object): load it before moving on. */
    if (cache == 0 && idx % 64 == 0) {
        span_refill_alloc_cache(s, idx);
        cache = s->alloc_cache;
    }
    while (cache == 0) {
        /* The rest of this window is allocated: move to the next. */
        idx = (idx + 64) & ~(uintptr_t)63;
        if (idx >= n) {
            s->freeindex = n;
            return n;
        }
        span_refill_alloc_cache(s, idx);
        cache = s->alloc_cache;
    }
    unsigned tz = (unsigned)__builtin_ctzll(cache);
    uintptr_t result = idx + tz;
    GH_ASSERT_INTERNAL(result < n);
    /* Consume the object. */
    s->alloc_cache = (cache >> tz) >> 1;
    s->freeindex = result + 1;
    return result;
}

uintptr_t span_count_alloc(const mspan *s) {
    uintptr_t bytes = GH_DIV_ROUND_UP(s->nelems, 8), count = 0;
    for (uintptr_t i = 0; i < bytes; i++)
        count += (uintptr_t)__builtin_popcount(s->alloc_bits[i]);
    return count;
}

void span_init_class(mspan *s, span_class spc) {
    unsigned sc = sc_span_class_size(spc);
    s->spanclass = spc;
    if (sc == 0) {
        s->elemsize = span_bytes(s);
        s->nelems = 1;
        s->divmagic = 0; /* one object: every offset is index 0 */
    } else {
        s->elemsize = sc_class_to_size[sc];
        s->nelems = (uint16_t)(span_bytes(s) / s->elemsize);
        s->divmagic = sc_class_to_divmagic[sc];
    }
    s->limit = s->startaddr + s->nelems * s->elemsize;
    s->freeindex = 0;
    s->alloc_count = 0;
    s->alloc_bits = gcbits_new(s->nelems);
    s->mark_bytes = gcbits_new_marks(s->nelems);
    s->specials = NULL;
    span_refill_alloc_cache(s, 0);
}

void span_clear_free_slots(mspan *s) {
    uintptr_t words = GH_DIV_ROUND_UP(s->nelems, 64);
    for (uintptr_t w = s->freeindex / 64; w < words; w++) {
        uint64_t alloc;
        memcpy(&alloc, s->alloc_bits + w * 8, sizeof alloc);
        uint64_t free = ~alloc;
        uintptr_t lo = w * 64;
        if (s->freeindex > lo)
            free &= ~(uint64_t)0 << (s->freeindex - lo);
        if (s->nelems - lo < 64)
            free &= ~(~(uint64_t)0 << (s->nelems - lo));
        /* Clear each run of free slots with one memset. */
        while (free != 0) {
            unsigned first = (unsigned)__builtin_ctzll(free);
            uint64_t rest = free >> first;
            unsigned len = ~rest == 0 ? 64 - first : (unsigned)__builtin_ctzll(~rest);
            uintptr_t run = s->startaddr + (lo + first) * s->elemsize, bytes = len * s->elemsize;
            gh_track_undefined(run, bytes); /* track.h: free slots stay noaccess */
            memset((void *)run, 0, bytes);
            gh_track_noaccess(run, bytes); /* until an allocation describes them */
            free &= len + first >= 64 ? 0 : ~(uint64_t)0 << (first + len);
        }
    }
    s->needzero = false;
}
