/*
 * check_sizeclass.c — unit tests for the sizeclass layer.
 *                                 Go: sizeclasses.go, msize.go, malloc_test.go
 *
 * The generated tables are compared with Go 1.19's sizeclasses.go (sizes and
 * page counts copied below as the oracle), then checked for the properties
 * the allocator relies on, exhaustively where the domain is finite: the
 * division magic for every offset of every span, the size lookup for every
 * size 0..32768, the tail-waste bound for every class. sc_roundupsize is
 * checked at class boundaries, for large sizes and at the overflow edge.
 */
#include "sizeclass.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#define PAGE_SIZE ((size_t)1 << SC_PAGE_SHIFT)

/* Go 1.19 runtime/sizeclasses.go class_to_size. */
static const uint16_t go_class_to_size[SC_NUM_SIZE_CLASSES] = {
    0,     8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,
    160,   176,   192,   208,   224,   240,   256,   288,   320,   352,   384,   416,
    448,   480,   512,   576,   640,   704,   768,   896,   1024,  1152,  1280,  1408,
    1536,  1792,  2048,  2304,  2688,  3072,  3200,  3456,  4096,  4864,  5376,  6144,
    6528,  6784,  6912,  8192,  9472,  9728,  10240, 10880, 12288, 13568, 14336, 16384,
    18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
};

/* Go 1.19 runtime/sizeclasses.go class_to_allocnpages. */
static const uint8_t go_class_to_npages[SC_NUM_SIZE_CLASSES] = {
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1, 2, 1, 3, 2, 3, 1, 3, 2, 3,
    4, 5, 6, 1, 7, 6, 5, 4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
};

START_TEST(test_sizeclass_sizes_match_go) {
    for (unsigned c = 0; c < SC_NUM_SIZE_CLASSES; c++)
        ck_assert_msg(sc_class_to_size[c] == go_class_to_size[c], "class %u: size %u, Go has %u",
                      c, sc_class_to_size[c], go_class_to_size[c]);
}
END_TEST

START_TEST(test_sizeclass_npages_match_go) {
    for (unsigned c = 0; c < SC_NUM_SIZE_CLASSES; c++)
        ck_assert_msg(sc_class_to_npages[c] == go_class_to_npages[c],
                      "class %u: %u pages, Go has %u", c, sc_class_to_npages[c],
                      go_class_to_npages[c]);
}
END_TEST

/* Go writes the magic as ^uint32(0)/size + 1; class 0 has none. */
START_TEST(test_sizeclass_divmagic_matches_go) {
    ck_assert_uint_eq(sc_class_to_divmagic[0], 0);
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++)
        ck_assert_uint_eq(sc_class_to_divmagic[c], UINT32_MAX / sc_class_to_size[c] + 1);
}
END_TEST

/* The marker and sweeper turn span offsets into object indices with
 * sc_obj_index; one wrong quotient marks the wrong object. The span end is
 * included, as in the generator's own check. */
START_TEST(test_sizeclass_divmagic_exact_every_offset) {
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++) {
        uintptr_t size = sc_class_to_size[c], end = sc_class_to_npages[c] * PAGE_SIZE;
        for (uintptr_t off = 0; off <= end; off++) {
            uintptr_t got = sc_obj_index(off, sc_class_to_divmagic[c]);
            if (got != off / size)
                ck_abort_msg("class %u: offset %lu gives index %lu, want %lu", c,
                             (unsigned long)off, (unsigned long)got, (unsigned long)(off / size));
        }
    }
}
END_TEST

/* Every small size maps to the smallest class that holds it; 0 maps to the
 * unused class 0, whose size is 0. */
START_TEST(test_sizeclass_size_to_class_smallest_fit) {
    ck_assert_uint_eq(sc_size_to_class(0), 0);
    for (size_t size = 1; size <= SC_MAX_SMALL_SIZE; size++) {
        unsigned c = sc_size_to_class(size);
        ck_assert_msg(c >= 1 && c < SC_NUM_SIZE_CLASSES, "size %zu: class %u", size, c);
        if (sc_class_to_size[c] < size || sc_class_to_size[c - 1] >= size)
            ck_abort_msg("size %zu maps to class %u of size %u, not the smallest fit", size, c,
                         sc_class_to_size[c]);
    }
    ck_assert_uint_eq(sc_size_to_class(SC_MAX_SMALL_SIZE), SC_NUM_SIZE_CLASSES - 1);
}
END_TEST

/* At most 1/8 of a span is left over after its last whole object. */
START_TEST(test_sizeclass_tail_waste_bounded) {
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++) {
        size_t span = sc_class_to_npages[c] * PAGE_SIZE;
        size_t tail = span % sc_class_to_size[c];
        ck_assert_msg(tail * 8 <= span, "class %u: tail %zu of %zu bytes", c, tail, span);
        ck_assert_msg(span / sc_class_to_size[c] >= 1, "class %u: no object fits", c);
    }
}
END_TEST

/* Sizes increase; every object is 8-aligned, 16-aligned from 32 bytes (the
 * heap bitmap's assumption), 128-aligned above 1024 (the coarse lookup's
 * step); the tiny allocator's 16-byte class is class 2. */
START_TEST(test_sizeclass_alignment) {
    for (unsigned c = 1; c < SC_NUM_SIZE_CLASSES; c++) {
        unsigned size = sc_class_to_size[c];
        ck_assert_uint_gt(size, sc_class_to_size[c - 1]);
        ck_assert_uint_eq(size % 8, 0);
        if (size >= 32)
            ck_assert_uint_eq(size % 16, 0);
        if (size > SC_SMALL_SIZE_MAX)
            ck_assert_uint_eq(size % SC_LARGE_SIZE_DIV, 0);
    }
    ck_assert_uint_eq(sc_class_to_size[2], 16);
    ck_assert_uint_eq(sc_class_to_size[SC_NUM_SIZE_CLASSES - 1], SC_MAX_SMALL_SIZE);
}
END_TEST

START_TEST(test_sizeclass_roundupsize_small) {
    ck_assert_uint_eq(sc_roundupsize(0), 0);
    ck_assert_uint_eq(sc_roundupsize(1), 8);
    ck_assert_uint_eq(sc_roundupsize(8), 8);
    ck_assert_uint_eq(sc_roundupsize(9), 16);
    ck_assert_uint_eq(sc_roundupsize(17), 24);
    ck_assert_uint_eq(sc_roundupsize(33), 48);
    ck_assert_uint_eq(sc_roundupsize(1016), 1024);
    ck_assert_uint_eq(sc_roundupsize(1017), 1024);
    ck_assert_uint_eq(sc_roundupsize(1025), 1152);
    ck_assert_uint_eq(sc_roundupsize(8193), 9472);
    ck_assert_uint_eq(sc_roundupsize(32767), 32768);
    ck_assert_uint_eq(sc_roundupsize(32768), 32768);
    for (size_t size = 0; size <= SC_MAX_SMALL_SIZE; size++)
        if (sc_roundupsize(size) != sc_class_to_size[sc_size_to_class(size)])
            ck_abort_msg("size %zu rounds to %zu", size, sc_roundupsize(size));
}
END_TEST

/* Beyond the small sizes, whole 8 KiB pages. */
START_TEST(test_sizeclass_roundupsize_large) {
    ck_assert_uint_eq(sc_roundupsize(32769), 40960);
    ck_assert_uint_eq(sc_roundupsize(40960), 40960);
    ck_assert_uint_eq(sc_roundupsize(40961), 49152);
    ck_assert_uint_eq(sc_roundupsize((size_t)1 << 30), (size_t)1 << 30);
    ck_assert_uint_eq(sc_roundupsize(((size_t)1 << 30) + 1), ((size_t)1 << 30) + PAGE_SIZE);
}
END_TEST

/* The largest page multiple still rounds; one byte more would wrap. */
START_TEST(test_sizeclass_roundupsize_overflow) {
    size_t top = SIZE_MAX & ~(PAGE_SIZE - 1);
    ck_assert_uint_eq(sc_roundupsize(top - PAGE_SIZE + 1), top);
    ck_assert_uint_eq(sc_roundupsize(top), top);
    ck_assert_uint_eq(sc_roundupsize(top + 1), 0);
    ck_assert_uint_eq(sc_roundupsize(SIZE_MAX - PAGE_SIZE), top);
    ck_assert_uint_eq(sc_roundupsize(top + PAGE_SIZE / 2), 0);
    ck_assert_uint_eq(sc_roundupsize(SIZE_MAX), 0);
}
END_TEST

START_TEST(test_sizeclass_span_class_roundtrip) {
    ck_assert_uint_le(SC_NUM_SPAN_CLASSES - 1, UINT8_MAX);
    for (unsigned c = 0; c < SC_NUM_SIZE_CLASSES; c++)
        for (int noscan = 0; noscan <= 1; noscan++) {
            span_class s = sc_make_span_class(c, noscan);
            ck_assert_uint_lt(s, SC_NUM_SPAN_CLASSES);
            ck_assert_uint_eq(sc_span_class_size(s), c);
            ck_assert_int_eq(sc_span_class_noscan(s), noscan);
        }
    ck_assert_int_eq(sc_span_class_noscan(sc_make_span_class(5, 7)), 1);
}
END_TEST

static Suite *sizeclass_suite(void) {
    Suite *s = suite_create("sizeclass");

    TCase *tables = tcase_create("tables");
    tcase_add_test(tables, test_sizeclass_sizes_match_go);
    tcase_add_test(tables, test_sizeclass_npages_match_go);
    tcase_add_test(tables, test_sizeclass_divmagic_matches_go);
    tcase_add_test(tables, test_sizeclass_divmagic_exact_every_offset);
    tcase_add_test(tables, test_sizeclass_tail_waste_bounded);
    tcase_add_test(tables, test_sizeclass_alignment);
    suite_add_tcase(s, tables);

    TCase *lookup = tcase_create("lookup");
    tcase_add_test(lookup, test_sizeclass_size_to_class_smallest_fit);
    tcase_add_test(lookup, test_sizeclass_roundupsize_small);
    tcase_add_test(lookup, test_sizeclass_roundupsize_large);
    tcase_add_test(lookup, test_sizeclass_roundupsize_overflow);
    suite_add_tcase(s, lookup);

    TCase *spanclass = tcase_create("span_class");
    tcase_add_test(spanclass, test_sizeclass_span_class_roundtrip);
    suite_add_tcase(s, spanclass);

    return s;
}

int main(void) {
    SRunner *sr = srunner_create(sizeclass_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
