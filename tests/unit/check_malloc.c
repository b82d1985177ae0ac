/*
 * check_malloc.c — unit tests for gc_alloc and friends (runtime/malloc.c,
 * mcache.c, mcentral.c) and the heap bitmap they write (arena/heapbits.c).
 *
 * Covers: every size 1..4096 and a dense sampling up to 40000, for noscan
 * and pointer types: alignment (Go's rules: 8 bytes for class sizes, a
 * power-of-two class aligned to its size, tiny objects aligned by their
 * size), zeroed memory even when reused (garbage is written into every byte
 * afterwards and the memory recycled by gc_collect), no overlap between live
 * objects, gc_usable_size equal to the class size (whole pages above 32 KiB),
 * gc_base for interior bytes; gc_alloc(0); tiny-block packing; noscan and
 * scan span classes; the pointer bitmap for scalar, pointer, mixed and
 * array types (GC_TYPE and gc_type_build), tail words scalar; two threads
 * allocating at once; gc_try_alloc failure with ENOMEM; gc_alloc_array
 * overflow is fatal. Nothing is timed.
 */
#include "goheap.h"
#include "harness.h"
#include "heapbits.h"
#include "mheap.h"
#include "span.h"
#include "thread.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 512
static void *batch[BATCH];

typedef struct word_obj {
    void *p;
} word_obj;
GC_TYPE(word_type, word_obj, p);

struct mixed {
    long a;
    void *p;
    long b;
    void *q;
    void *r;
};
GC_TYPE(mixed_type, struct mixed, p, q, r);

/* The alignment Go guarantees for an object of `size` bytes. */
static uintptr_t expected_align(size_t size, bool tiny) {
    if (tiny) {
        if ((size & 7) == 0)
            return 8;
        if ((size & 3) == 0)
            return 4;
        if ((size & 1) == 0)
            return 2;
        return 1;
    }
    return 8;
}

static size_t class_bytes(size_t size) {
    if (size > GH_MAX_SMALL_SIZE)
        return GH_ALIGN_UP(size, GH_PAGE_SIZE);
    return sc_class_to_size[sc_size_to_class(size)];
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Checks one fresh object of `size` bytes. */
static void check_object(char *p, size_t size, const gc_type *t) {
    bool tiny = (t == NULL || t->ptrdata == 0) && size < GH_TINY_SIZE;
    ck_assert_ptr_nonnull(p);
    uintptr_t al = expected_align(size, tiny);
    ck_assert_msg((uintptr_t)p % al == 0, "size %zu: %p not %zu-aligned", size, (void *)p,
                  (size_t)al);
    size_t cb = tiny ? GH_TINY_SIZE : class_bytes(size);
    if (!tiny && (cb & (cb - 1)) == 0 && cb <= GH_PAGE_SIZE)
        ck_assert_msg((uintptr_t)p % cb == 0, "size %zu: %p not aligned to its class %zu", size,
                      (void *)p, cb);
    for (size_t i = 0; i < size; i++)
        if (p[i] != 0)
            ck_abort_msg("size %zu: byte %zu of %p is %d, not zero", size, i, (void *)p, p[i]);
    if (tiny) {
        char *b = gc_base(p);
        ck_assert_ptr_eq(b, (char *)GH_ALIGN_DOWN((uintptr_t)p, GH_TINY_SIZE));
        ck_assert_uint_eq(gc_usable_size(b), GH_TINY_SIZE);
    } else {
        ck_assert_msg(gc_usable_size(p) == cb, "size %zu: usable %zu, class %zu", size,
                      gc_usable_size(p), cb);
        if (cb <= 4096) {
            for (size_t i = 0; i < cb; i++)
                if (gc_base(p + i) != p)
                    ck_abort_msg("size %zu: gc_base(p+%zu) = %p, not %p", size, i, gc_base(p + i),
                                 (void *)p);
        } else {
            for (size_t k = 0; k < 64; k++) {
                size_t i = (cb - 1) * k / 63;
                ck_assert_ptr_eq(gc_base(p + i), p);
            }
        }
        ck_assert_ptr_ne(gc_base(p + cb), p);
        mspan *s = span_of((uintptr_t)p);
        ck_assert_int_eq(sc_span_class_noscan(s->spanclass), t == NULL || t->ptrdata == 0);
    }
}

/* No two objects of the batch overlap (each takes its usable bytes). */
static void check_disjoint(size_t n, const size_t *sizes) {
    uintptr_t (*iv)[2] = malloc(n * sizeof *iv);
    for (size_t i = 0; i < n; i++) {
        iv[i][0] = (uintptr_t)batch[i];
        iv[i][1] = (uintptr_t)batch[i] + sizes[i];
    }
    qsort(iv, n, sizeof *iv, cmp_ptr);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(iv[i - 1][1] <= iv[i][0], "objects [%#lx,%#lx) and [%#lx,%#lx) overlap",
                      (unsigned long)iv[i - 1][0], (unsigned long)iv[i - 1][1],
                      (unsigned long)iv[i][0], (unsigned long)iv[i][1]);
    free(iv);
}

static void sweep_sizes(const gc_type *t) {
    gc_add_roots(batch, sizeof batch);
    size_t sizes[BATCH];
    size_t n = 0, size = 1;
    while (size <= 40000) {
        char *p = gc_alloc(size, t);
        check_object(p, size, t);
        batch[n] = p;
        sizes[n] = size;
        n++;
        if (n == BATCH || size + 1 > 40000) {
            check_disjoint(n, sizes);
            /* Dirty everything, then let it all die so the next batches
             * reuse the memory: reuse must still hand out zeroes. */
            for (size_t i = 0; i < n; i++) {
                memset(batch[i], 0xA5, sizes[i]);
                batch[i] = NULL;
            }
            n = 0;
            gc_collect();
        }
        size += size < 4096 ? 1 : 13;
    }
    gc_remove_roots(batch);
}

START_TEST(test_malloc_every_size_noscan) { sweep_sizes(NULL); }
END_TEST

START_TEST(test_malloc_every_size_scan) { sweep_sizes(&word_type); }
END_TEST

START_TEST(test_malloc_zero_size) {
    void *a = gc_alloc(0, NULL);
    void *b = gc_alloc(0, &word_type);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(a, b);
    ck_assert_ptr_eq(gc_try_alloc(0, NULL), a);
    ck_assert_ptr_eq(gc_alloc_array(&word_type, 0), a);
    ck_assert_uint_eq(gc_usable_size(a), 0);
}
END_TEST

/* Two 4-byte noscan objects share one 16-byte block; a pointer object never
 * goes through the tiny allocator. */
START_TEST(test_malloc_tiny_packs) {
    char *a = gc_alloc(4, NULL);
    char *b = gc_alloc(4, NULL);
    ck_assert_ptr_eq(gc_base(a), gc_base(b));
    ck_assert_uint_eq((uintptr_t)b - (uintptr_t)a, 4);
    char *c = gc_alloc(8, NULL);
    ck_assert_ptr_eq(gc_base(c), gc_base(a));
    ck_assert_uint_eq((uintptr_t)c % 8, 0);
    /* Block full: a new one. */
    char *d = gc_alloc(8, NULL);
    ck_assert_ptr_ne(gc_base(d), gc_base(a));
    ck_assert_uint_eq((uintptr_t)d % 16, 0);
    /* Odd sizes pack byte-aligned; a 2-byte object is 2-aligned. */
    char *e = gc_alloc(1, NULL);
    char *f = gc_alloc(2, NULL);
    ck_assert_uint_eq((uintptr_t)f % 2, 0);
    ck_assert_ptr_eq(gc_base(e), gc_base(f));
    /* 16 bytes is not tiny; pointer objects are never tiny. */
    char *g = gc_alloc(16, NULL);
    ck_assert_ptr_eq(gc_base(g), g);
    word_obj *h = gc_alloc(8, &word_type);
    ck_assert_ptr_eq(gc_base(h), h);
    ck_assert(!sc_span_class_noscan(span_of((uintptr_t)h)->spanclass));
    ck_assert(sc_span_class_noscan(span_of((uintptr_t)a)->spanclass));
    /* A type with ptrdata 0 is noscan. */
    static const gc_type scalar = {"scalar", 24, 0, NULL};
    char *k = gc_alloc(24, &scalar);
    ck_assert(sc_span_class_noscan(span_of((uintptr_t)k)->spanclass));
}
END_TEST

/* hb_fill_span (a fresh span's bits written for its first type in one
 * pass, repeating a period of lcm(slot, 64) bits) against the definition,
 * for every size class and several masks, including masks reaching the
 * end of a 64-word slot and slots that straddle bitmap words. */
START_TEST(test_malloc_fill_span_every_class) {
    for (unsigned sc = 1; sc < SC_NUM_SIZE_CLASSES; sc++) {
        mspan *s = mheap_alloc_span(sc_class_to_npages[sc], sc_make_span_class(sc, 0));
        ck_assert_ptr_nonnull(s);
        uintptr_t k = s->elemsize / 8;
        const uint64_t masks[] = {1, 0x5, ~(uint64_t)0, 0x8000000000000001ull};
        for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
            uint64_t mask = k < 64 ? masks[m] & (((uint64_t)1 << k) - 1) : masks[m];
            if (!hb_fill_span(s->arena, s->startaddr, s->npages, s->nelems, k, mask))
                continue; /* straddles arenas: the caller falls back */
            for (uintptr_t w = 0; w < s->npages * GH_PAGE_SIZE / 8; w++) {
                uintptr_t slot = w / k, off = w % k;
                bool want = slot < s->nelems && off < 64 && ((mask >> off) & 1);
                if (hb_is_pointer(s->startaddr + w * 8) != want)
                    ck_abort_msg("class %u, mask %#llx: word %lu is wrong", sc,
                                 (unsigned long long)mask, (unsigned long)w);
            }
        }
    }
}
END_TEST

/* Checks the bitmap of object p (slot of `elemsize` bytes) holding `size`
 * bytes of type t: whole elements repeat the mask; a partial last element
 * and the slot's tail are scalar. */
static void check_bits(uintptr_t p, size_t size, const gc_type *t) {
    size_t elemsize = gc_usable_size((void *)p);
    size_t ew = t->size / 8, data = (size / t->size) * t->size / 8;
    for (size_t w = 0; w < elemsize / 8; w++) {
        size_t e = w % ew;
        bool want = w < data && e * 8 < t->ptrdata && ((t->gcdata[e / 8] >> (e % 8)) & 1);
        if (hb_is_pointer(p + w * 8) != want)
            ck_abort_msg("type %s, size %zu: word %zu of %zu is %s", t->name, size, w,
                         elemsize / 8, want ? "scalar, want pointer" : "pointer, want scalar");
    }
}

START_TEST(test_malloc_heap_bits) {
    static const size_t built_offs[] = {8, 40, 64};
    const gc_type *built = gc_type_build("built", 80, built_offs, 3);
    ck_assert_uint_eq(built->ptrdata, 72);
    ck_assert_uint_eq(mixed_type.size, sizeof(struct mixed));
    ck_assert_uint_eq(mixed_type.ptrdata, 40);
    ck_assert_uint_eq(mixed_type.gcdata[0], 0x1a);
    static const uint8_t all_mask[] = {0xff, 0xff};
    static const gc_type allptr = {"allptr", 128, 128, all_mask};
    const gc_type *types[] = {&word_type, &mixed_type, built, &allptr};
    for (size_t ti = 0; ti < 4; ti++) {
        const gc_type *t = types[ti];
        size_t counts[] = {1, 2, 3, 5, 7, 13, 100, 1000, 3000};
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            size_t size = counts[ci] * t->size;
            void *p = gc_alloc(size, t);
            check_bits((uintptr_t)p, size, t);
            /* Arrays with a partial trailing element: the remainder is
             * scalar (size / t->size whole elements). */
            void *q = gc_alloc(size + 8, t);
            check_bits((uintptr_t)q, size + 8, t); /* the mask repeats over all data words */
        }
    }
    /* A slot previously holding an all-pointer object, reused for a smaller
     * mixed one in the same class: stale bits are cleared. */
    gc_set_percent(-1);
    void *r = gc_alloc(120, &allptr);
    uintptr_t raddr = (uintptr_t)r;
    r = NULL;
    gc_collect();
    bool reused = false;
    for (int i = 0; i < 10000 && !reused; i++) {
        void *m = gc_alloc(sizeof(struct mixed) * 3, &mixed_type); /* 120 -> class 128 */
        if ((uintptr_t)m == raddr) {
            reused = true;
            check_bits(raddr, sizeof(struct mixed) * 3, &mixed_type);
        }
    }
    ck_assert(reused);
}
END_TEST

/* An object of `size` bytes of t allocated from a span whose slots all
 * hold t's single-element bits (bits_type == t), which an object of `first`
 * bytes of t has just been allocated from. */
static uintptr_t alloc_after_single(const gc_type *t, size_t first, size_t size) {
    for (int i = 0; i < 100000; i++) {
        mspan *s = span_of((uintptr_t)gc_alloc(first, t));
        if (s->bits_type != t || s->alloc_count == s->nelems)
            continue; /* a span of other objects, or full */
        void *b = gc_alloc(size, t);
        if (span_of((uintptr_t)b) == s)
            return (uintptr_t)b;
    }
    ck_abort_msg("no span of single %s objects", t->name);
    return 0;
}

/* A span filled with a type's bits for single objects, then asked in the
 * same size class for an array of two and for a size short of one element:
 * each gets the bits gc_alloc's layout gives it, not the span's (the
 * allocator's "nothing to write" shortcut, span_bits_fit). */
START_TEST(test_malloc_heap_bits_array_after_single) {
    static const size_t at0[] = {0};
    const gc_type *t16 = gc_type_build("t16", 16, at0, 1);
    const gc_type *t40 = gc_type_build("t40", 40, at0, 1);
    /* class 32: 25..31 bytes are one t16, 32 bytes are two */
    uintptr_t two = alloc_after_single(t16, 31, 32);
    check_bits(two, 32, t16);
    ck_assert(hb_is_pointer(two + 16));
    /* class 48: 40..47 bytes are one t40, 33..39 bytes none (all scalar) */
    uintptr_t none = alloc_after_single(t40, 40, 36);
    check_bits(none, 36, t40);
    ck_assert(!hb_is_pointer(none));
    /* and single objects after them still get the type's bits */
    uintptr_t one = alloc_after_single(t16, 31, 25);
    check_bits(one, 25, t16);
}
END_TEST

/* --- two threads --- */

#define PER_THREAD 20000
typedef struct {
    unsigned seed;
    void **objs;
    size_t *sizes;
} thr_arg;

static void *alloc_thread(void *argp) {
    thr_arg *a = argp;
    gc_thread_register();
    gc_add_roots(a->objs, PER_THREAD * sizeof(void *));
    xrand r;
    xr_seed(&r, a->seed);
    for (size_t i = 0; i < PER_THREAD; i++) {
        size_t size = xr_below(&r, 8) == 0 ? 16 + xr_below(&r, 40000) : 1 + xr_below(&r, 300);
        uint8_t *p = gc_alloc(size, xr_below(&r, 2) ? &word_type : NULL);
        for (size_t k = 0; k < size; k++)
            if (p[k] != 0)
                ck_abort_msg("thread object not zeroed"); /* no ck_assert per byte: slow */
        if (size >= 8)
            memset(p + (size >= 16 ? 8 : 0), (int)(a->seed & 0xff), size - (size >= 16 ? 8 : 0));
        else
            memset(p, (int)(a->seed & 0xff), size);
        a->objs[i] = p;
        a->sizes[i] = size;
    }
    gc_thread_unregister();
    return NULL;
}

START_TEST(test_malloc_two_threads) {
    thr_arg args[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        args[i].seed = 0x11 + (unsigned)i * 0x22;
        args[i].objs = calloc(PER_THREAD, sizeof(void *));
        args[i].sizes = calloc(PER_THREAD, sizeof(size_t));
    }
    /* Block while the threads run so a collection they start does not wait
     * for this thread. */
    gc_enter_blocking();
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, alloc_thread, &args[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    gc_leave_blocking();
    gc_collect();
    size_t n = 2 * PER_THREAD;
    uintptr_t (*iv)[2] = malloc(n * sizeof *iv);
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < PER_THREAD; i++) {
            uint8_t *p = args[t].objs[i];
            size_t size = args[t].sizes[i];
            size_t from = size >= 16 ? 8 : 0;
            for (size_t k = from; k < size; k++)
                if (p[k] != (args[t].seed & 0xff))
                    ck_abort_msg("thread %d object %zu byte %zu overwritten", t, i, k);
            iv[t * PER_THREAD + i][0] = (uintptr_t)p;
            iv[t * PER_THREAD + i][1] = (uintptr_t)p + size;
        }
    }
    qsort(iv, n, sizeof *iv, cmp_ptr);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(iv[i - 1][1] <= iv[i][0], "objects overlap");
    free(iv);
    for (int i = 0; i < 2; i++) {
        gc_remove_roots(args[i].objs);
        free(args[i].objs);
        free(args[i].sizes);
    }
}
END_TEST

START_TEST(test_malloc_try_alloc_enomem) {
    volatile size_t huge = (size_t)-1; /* hides the constant from -Walloc-size-larger-than */
    errno = 0;
    ck_assert_ptr_null(gc_try_alloc(huge, NULL));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(gc_try_alloc(huge - GH_PAGE_SIZE, &word_type));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(gc_try_alloc(((size_t)1 << 48) + 1, NULL));
    ck_assert_int_eq(errno, ENOMEM);
    /* The heap still works afterwards. */
    char *p = gc_try_alloc(100, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(gc_usable_size(p), 112);
}
END_TEST

/* An impossible request that the address-space check lets through (2^46
 * bytes): the heap cannot grow, gc_try_alloc reports ENOMEM, and the heap
 * must still be able to grow for ordinary requests afterwards. */
START_TEST(test_malloc_try_alloc_huge_then_grow) {
    errno = 0;
    void *p = gc_try_alloc((size_t)1 << 46, NULL);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(errno, ENOMEM);
    void *q = gc_try_alloc(200 << 20, NULL);
    ck_assert_msg(q != NULL, "the heap cannot grow after a failed huge request");
}
END_TEST

START_TEST(test_malloc_mallocgc_needzero) {
    /* needzero=false is allowed for noscan objects. */
    char *p = gc_mallocgc(1000, NULL, false);
    memset(p, 1, 1000);
    char *q = gc_mallocgc(1000, &word_type, true);
    for (int i = 0; i < 1000; i++)
        ck_assert(q[i] == 0);
}
END_TEST

START_TEST(test_malloc_array_overflow_dies) {
    (void)gc_alloc_array(&mixed_type, SIZE_MAX / 8);
}
END_TEST

START_TEST(test_malloc_array) {
    struct mixed *a = gc_alloc_array(&mixed_type, 10);
    ck_assert_uint_eq(gc_usable_size(a), class_bytes(10 * sizeof(struct mixed)));
    check_bits((uintptr_t)a, 10 * sizeof(struct mixed), &mixed_type);
}
END_TEST

static Suite *malloc_suite(bool fork) {
    Suite *s = suite_create("malloc");
    TCase *sizes = tcase_create("sizes");
    tcase_add_checked_fixture(sizes, harness_setup, harness_teardown);
    tcase_add_test(sizes, test_malloc_every_size_noscan);
    tcase_add_test(sizes, test_malloc_fill_span_every_class);
    tcase_add_test(sizes, test_malloc_every_size_scan);
    tcase_add_test(sizes, test_malloc_zero_size);
    tcase_add_test(sizes, test_malloc_tiny_packs);
    tcase_add_test(sizes, test_malloc_mallocgc_needzero);
    tcase_add_test(sizes, test_malloc_array);
    suite_add_tcase(s, sizes);

    TCase *bits = tcase_create("heapbits");
    tcase_add_checked_fixture(bits, harness_setup, harness_teardown);
    tcase_add_test(bits, test_malloc_heap_bits);
    tcase_add_test(bits, test_malloc_heap_bits_array_after_single);
    suite_add_tcase(s, bits);

    TCase *threads = tcase_create("threads");
    tcase_add_checked_fixture(threads, harness_setup, harness_teardown);
    tcase_add_test(threads, test_malloc_two_threads);
    suite_add_tcase(s, threads);

    TCase *fail = tcase_create("failure");
    tcase_add_checked_fixture(fail, harness_setup, harness_teardown);
    tcase_add_test(fail, test_malloc_try_alloc_enomem);
    tcase_add_test(fail, test_malloc_try_alloc_huge_then_grow);
    if (fork)
        tcase_add_test_raise_signal(fail, test_malloc_array_overflow_dies, SIGABRT);
    suite_add_tcase(s, fail);

    return s;
}

int main(void) {
    SRunner *sr = srunner_create(NULL);
    srunner_add_suite(sr, malloc_suite(srunner_fork_status(sr) != CK_NOFORK));
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
