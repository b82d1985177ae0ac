/*
 * check_span.c — unit tests for per-span allocation state (arena/span.[ch]):
 * alloc bits, the 64-bit alloc_cache, span_next_free_fast and
 * span_next_free_index, used exactly as the allocator uses them; and the
 * mark bytes the sweep packs into alloc bits.
 *
 * Spans come straight from mheap_alloc_span (with gc_init/gc_shutdown around
 * each test) and are given back with mheap_free_span; nothing else of the
 * allocator is involved. A swept span is simulated by writing alloc_bits by
 * hand after span_init_class and refilling the cache, so only the free
 * objects come out, each exactly once, in increasing order.
 */
#include "goheap.h"
#include "harness.h"
#include "mheap.h"
#include "span.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Takes the next object the way mallocgc does: fast path, then slow path.
 * Returns the index, or nelems when the span is full. */
static uintptr_t take(mspan *s) {
    uintptr_t x = span_next_free_fast(s);
    if (x != 0) {
        ck_assert_uint_eq((x - s->startaddr) % s->elemsize, 0);
        return (x - s->startaddr) / s->elemsize;
    }
    uintptr_t idx = span_next_free_index(s);
    if (idx < s->nelems)
        s->alloc_count++;
    return idx;
}

static mspan *new_span(unsigned sizeclass) {
    mspan *s = mheap_alloc_span(sc_class_to_npages[sizeclass], sc_make_span_class(sizeclass, 1));
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->elemsize, sc_class_to_size[sizeclass]);
    ck_assert_uint_eq(s->nelems, (sc_class_to_npages[sizeclass] * GH_PAGE_SIZE) / s->elemsize);
    ck_assert_uint_eq(s->freeindex, 0);
    ck_assert_uint_eq(s->alloc_count, 0);
    ck_assert_uint_eq(span_count_alloc(s), 0);
    return s;
}

/* Takes every object of a fresh span; each index comes out once, in order,
 * and freeindex / alloc_cache track the 64-object windows. */
static void drain_fresh(unsigned sizeclass) {
    mspan *s = new_span(sizeclass);
    uintptr_t n = s->nelems;
    uint8_t *seen = calloc(n, 1);
    for (uintptr_t i = 0; i < n; i++) {
        uintptr_t idx = take(s);
        ck_assert_msg(idx == i, "class %u: object %zu came out as %zu", sizeclass, (size_t)i,
                      (size_t)idx);
        ck_assert(!seen[idx]);
        seen[idx] = 1;
        ck_assert_uint_eq(s->freeindex, i + 1);
        ck_assert_uint_eq(s->alloc_count, i + 1);
        if ((i + 1) % 64 == 0 && i + 1 < n) {
            /* A window boundary: the cache is empty and the next window is
             * loaded lazily, by the slow path (the fast path then needs no
             * boundary test). */
            ck_assert_msg(s->alloc_cache == 0,
                          "class %u: cache %#llx after window ending at %zu", sizeclass,
                          (unsigned long long)s->alloc_cache, (size_t)(i + 1));
        }
    }
    ck_assert_uint_eq(take(s), n);
    ck_assert_uint_eq(span_next_free_index(s), n);
    ck_assert_uint_eq(span_next_free_fast(s), 0);
    ck_assert_uint_eq(s->freeindex, n);
    free(seen);
    mheap_free_span(s);
}

START_TEST(test_span_fresh_every_object_once) {
    /* Classes with 1024, 512, 170 (not a multiple of 64), 8, 1 objects... */
    static const unsigned classes[] = {1, 2, 5, 10, 20, 30, 40, 50, 60, 67};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        drain_fresh(classes[i]);
}
END_TEST

START_TEST(test_span_every_class) {
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++)
        drain_fresh(c);
}
END_TEST

/* Simulates a swept span: alloc_bits written by hand, cache refilled at
 * freeindex 0. Only free objects come out, in increasing order, each once;
 * whole allocated windows are skipped. */
static void drain_preset(unsigned sizeclass, uint64_t seed) {
    mspan *s = new_span(sizeclass);
    uintptr_t n = s->nelems;
    uint8_t *allocated = calloc(n, 1);
    xrand r;
    xr_seed(&r, seed);
    size_t bytes = span_bitmap_bytes(n);
    memset(s->alloc_bits, 0, bytes);
    uintptr_t nalloc = 0;
    for (uintptr_t i = 0; i < n; i++) {
        bool full_window = (i / 64) % 3 == 1; /* every third window full */
        bool a = full_window || xr_below(&r, 100) < 40;
        if (i == 63 || i == 64)
            a = false; /* a free object at both sides of a boundary */
        if (a) {
            s->alloc_bits[i / 8] |= (uint8_t)(1u << (i % 8));
            allocated[i] = 1;
            nalloc++;
        }
    }
    ck_assert_uint_eq(span_count_alloc(s), nalloc);
    /* Bits past nelems are set too (a sweep never sets them, but the
     * allocator must not hand out objects past nelems either way). */
    for (uintptr_t i = n; i < bytes * 8; i++)
        s->alloc_bits[i / 8] |= (uint8_t)(1u << (i % 8));
    s->freeindex = 0;
    s->alloc_count = (uint16_t)nalloc;
    span_refill_alloc_cache(s, 0);

    uintptr_t prev = 0, got = 0;
    bool first = true;
    for (;;) {
        uintptr_t idx = take(s);
        if (idx == n)
            break;
        ck_assert_msg(idx < n, "class %u: index %zu out of range", sizeclass, (size_t)idx);
        ck_assert_msg(!allocated[idx], "class %u: allocated object %zu handed out", sizeclass,
                      (size_t)idx);
        ck_assert_msg(first || idx > prev, "class %u: %zu after %zu", sizeclass, (size_t)idx,
                      (size_t)prev);
        ck_assert_uint_eq(s->freeindex, idx + 1);
        allocated[idx] = 1;
        prev = idx;
        first = false;
        got++;
    }
    ck_assert_uint_eq(got, n - nalloc);
    for (uintptr_t i = 0; i < n; i++)
        ck_assert(allocated[i]);
    ck_assert_uint_eq(s->alloc_count, n);
    ck_assert_uint_eq(take(s), n);
    free(allocated);
    mheap_free_span(s);
}

START_TEST(test_span_preset_alloc_bits) {
    static const unsigned classes[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 67};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        for (uint64_t seed = 1; seed <= 4; seed++)
            drain_preset(classes[i], seed * 31 + i);
}
END_TEST

/* A span whose first windows are completely allocated: the first object
 * handed out is the first free one, via the slow path's window skipping. */
START_TEST(test_span_skip_full_windows) {
    mspan *s = new_span(1); /* 8-byte objects: 1024 per span */
    uintptr_t n = s->nelems;
    ck_assert_uint_eq(n, 1024);
    memset(s->alloc_bits, 0xff, span_bitmap_bytes(n));
    /* Free: 700, 701, 1023. */
    s->alloc_bits[700 / 8] &= (uint8_t)~(1u << (700 % 8));
    s->alloc_bits[701 / 8] &= (uint8_t)~(1u << (701 % 8));
    s->alloc_bits[1023 / 8] &= (uint8_t)~(1u << (1023 % 8));
    s->freeindex = 0;
    s->alloc_count = (uint16_t)(n - 3);
    span_refill_alloc_cache(s, 0);
    ck_assert_uint_eq(s->alloc_cache, 0);
    ck_assert_uint_eq(span_next_free_fast(s), 0);
    ck_assert_uint_eq(take(s), 700);
    ck_assert_uint_eq(take(s), 701);
    ck_assert_uint_eq(take(s), 1023);
    ck_assert_uint_eq(take(s), n);
    ck_assert_uint_eq(s->alloc_count, n);
    mheap_free_span(s);
}
END_TEST

/* The cache is positioned at freeindex inside a window, as mcentral's
 * have_span does: only objects at or after freeindex come out. */
START_TEST(test_span_cache_mid_window) {
    mspan *s = new_span(2); /* 16-byte objects: 512 */
    uintptr_t n = s->nelems;
    memset(s->alloc_bits, 0, span_bitmap_bytes(n));
    s->freeindex = 70;
    s->alloc_count = 70;
    span_refill_alloc_cache(s, 64);
    s->alloc_cache >>= 70 % 64;
    for (uintptr_t i = 70; i < n; i++)
        ck_assert_uint_eq(take(s), i);
    ck_assert_uint_eq(take(s), n);
    mheap_free_span(s);
}
END_TEST

/* span_init_class geometry for every class and for a large span. */
START_TEST(test_span_init_geometry) {
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++) {
        mspan *s = mheap_alloc_span(sc_class_to_npages[c], sc_make_span_class(c, 0));
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->limit, s->startaddr + s->nelems * s->elemsize);
        ck_assert_uint_le(s->limit, s->startaddr + span_bytes(s));
        ck_assert_uint_eq(s->state, SPAN_IN_USE);
        ck_assert(!sc_span_class_noscan(s->spanclass));
        ck_assert_uint_eq(sc_span_class_size(s->spanclass), c);
        /* Division magic maps every byte to its object. */
        for (uintptr_t i = 0; i < s->nelems; i += 1 + s->nelems / 16) {
            uintptr_t a = s->startaddr + i * s->elemsize;
            ck_assert_uint_eq(span_obj_index(s, a), i);
            ck_assert_uint_eq(span_obj_index(s, a + s->elemsize - 1), i);
            ck_assert_ptr_eq(span_of(a), s);
        }
        mheap_free_span(s);
    }
    mspan *l = mheap_alloc_span(7, sc_make_span_class(0, 1));
    ck_assert_uint_eq(l->nelems, 1);
    ck_assert_uint_eq(l->elemsize, 7 * GH_PAGE_SIZE);
    ck_assert_uint_eq(span_obj_index(l, l->startaddr + 7 * GH_PAGE_SIZE - 1), 0);
    mheap_free_span(l);
}
END_TEST

/* Mark bytes: span_try_mark marks once, span_is_marked reads it back, and
 * span_pack_marks gathers them into exactly the bits the sweep turns into
 * alloc bits, for every class (spans whose object count is no multiple of 8
 * or 64 included) and random mark patterns. */
START_TEST(test_span_mark_bytes_pack) {
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++) {
        mspan *s = mheap_alloc_span(sc_class_to_npages[c], sc_make_span_class(c, 1));
        ck_assert_ptr_nonnull(s);
        uintptr_t n = s->nelems;
        uint8_t *want = calloc(n, 1);
        for (uintptr_t i = 0; i < n; i++) {
            ck_assert(!span_is_marked(s, i));
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            if (rng % 3 == 0) {
                ck_assert(span_try_mark(s, i));
                ck_assert(!span_try_mark(s, i)); /* only the first call marks */
                want[i] = 1;
            }
        }
        uintptr_t words = (n + 63) / 64;
        for (uintptr_t w = 0; w < words; w++) {
            uint64_t bits = span_pack_marks(s, w);
            for (unsigned k = 0; k < 64; k++) {
                uintptr_t i = w * 64 + k;
                bool expect = i < n && want[i];
                ck_assert_msg(((bits >> k) & 1) == expect, "class %u: object %zu packed as %d",
                              c, (size_t)i, (int)((bits >> k) & 1));
                if (i < n)
                    ck_assert(span_is_marked(s, i) == expect);
            }
        }
        free(want);
        mheap_free_span(s);
    }
}
END_TEST

/* gcbits generations: memory handed out in one epoch is zeroed, is not
 * handed out again while it can still be a span's alloc bits or mark bytes
 * (the next two epoch changes), and is recycled after the third, so the
 * chunk count stays bounded. Run without a heap: nothing else allocates
 * from gcbits meanwhile. */
#define GB_EPOCHS 16
#define GB_PER_EPOCH 200 /* of 1024 bytes: a few 64 KiB chunks per epoch */

START_TEST(test_gcbits_generations) {
    static uint8_t *got[GB_EPOCHS][GB_PER_EPOCH];
    bool reused_at_third = false;
    for (int e = 0; e < GB_EPOCHS; e++) {
        for (int i = 0; i < GB_PER_EPOCH; i++) {
            uint8_t *p = gcbits_new_marks(1024);
            for (int b = 0; b < 1024; b++)
                ck_assert_msg(p[b] == 0, "epoch %d: bytes handed out not zeroed", e);
            memset(p, 0xff, 1024);
            for (int j = 0; j < i; j++)
                ck_assert_msg(!(p < got[e][j] + 1024 && got[e][j] < p + 1024),
                              "epoch %d hands out the same memory twice", e);
            for (int back = 1; back <= 3 && back <= e; back++)
                for (int j = 0; j < GB_PER_EPOCH; j++) {
                    uint8_t *q = got[e - back][j];
                    bool overlap = p < q + 1024 && q < p + 1024;
                    ck_assert_msg(!overlap || back == 3,
                                  "epoch %d reuses memory of epoch %d", e, e - back);
                    reused_at_third |= overlap;
                }
            got[e][i] = p;
        }
        gcbits_next_epoch();
    }
    ck_assert_msg(reused_at_third, "chunks are never recycled");
    gcbits_release_all();
}
END_TEST

static Suite *span_suite(void) {
    Suite *s = suite_create("span");
    TCase *tc = tcase_create("alloc_bits");
    tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
    tcase_add_test(tc, test_span_fresh_every_object_once);
    tcase_add_test(tc, test_span_every_class);
    tcase_add_test(tc, test_span_preset_alloc_bits);
    tcase_add_test(tc, test_span_skip_full_windows);
    tcase_add_test(tc, test_span_cache_mid_window);
    tcase_add_test(tc, test_span_init_geometry);
    tcase_add_test(tc, test_span_mark_bytes_pack);
    suite_add_tcase(s, tc);
    TCase *gb = tcase_create("gcbits");
    tcase_add_test(gb, test_gcbits_generations);
    suite_add_tcase(s, gb);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(span_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
