/*
 * check_arena.c — unit tests for heap arenas (arena/arena.[ch]) and the
 * arena metadata the mheap maintains (arena/mheap.c).
 *
 * Covers: arena_of for heap addresses and for every kind of non-heap address
 * (stack, static data, NULL, above 2^48, reserved-but-unused arena space);
 * heap_arena.spans mapping every page of a multi-page span; page_in_use set
 * for the first page only; zeroed_base growing; a 100 MiB object spanning
 * two arenas, looked up at interior pages, with its pointer bitmap across
 * the arena boundary; freeing clears the mapping; a fresh span of small
 * objects has its pages faulted in when it is allocated; gh_lock excludes
 * under contention, and a waiter that spun in vain sleeps. Each test brings the heap
 * up and down (gc_init/gc_shutdown) in a checked fixture.
 */
#include "arena.h"
#include "goheap.h"
#include "harness.h"
#include "heapbits.h"
#include "lock.h"
#include "mheap.h"
#include "span.h"

#include <check.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((uintptr_t)1 << 20)
#define PAGE GH_PAGE_SIZE

static int static_data = 42;
static void *roots[4];

START_TEST(test_arena_of_heap_address) {
    char *p = gc_alloc(100, NULL);
    heap_arena *ha = arena_of((uintptr_t)p);
    ck_assert_ptr_nonnull(ha);
    ck_assert_uint_eq(ha->base % GH_ARENA_BYTES, 0);
    ck_assert((uintptr_t)p >= ha->base && (uintptr_t)p < ha->base + GH_ARENA_BYTES);
    /* Every byte of the arena maps to the same record. */
    ck_assert_ptr_eq(arena_of(ha->base), ha);
    ck_assert_ptr_eq(arena_of(ha->base + GH_ARENA_BYTES - 1), ha);
    ck_assert_uint_ge(arena_count(), 1);
    bool listed = false;
    for (uintptr_t i = 0; i < arena_count(); i++)
        listed |= arena_at(i) == ha;
    ck_assert(listed);
}
END_TEST

START_TEST(test_arena_of_non_heap_addresses) {
    int local = 0;
    char *m = malloc(64);
    ck_assert_ptr_null(arena_of((uintptr_t)&local));
    ck_assert_ptr_null(arena_of((uintptr_t)&static_data));
    ck_assert_ptr_null(arena_of((uintptr_t)m));
    ck_assert_ptr_null(arena_of((uintptr_t)&test_arena_of_non_heap_addresses));
    ck_assert_ptr_null(arena_of(0));
    ck_assert_ptr_null(arena_of(1));
    ck_assert_ptr_null(arena_of((uintptr_t)1 << 48));
    ck_assert_ptr_null(arena_of(((uintptr_t)1 << 48) - 1 + 1));
    ck_assert_ptr_null(arena_of((uintptr_t)1 << 63));
    ck_assert_ptr_null(arena_of(UINTPTR_MAX));
    ck_assert_ptr_null(span_of_unchecked((uintptr_t)&local));
    ck_assert_ptr_null(span_of((uintptr_t)1 << 60));
    ck_assert_ptr_null(gc_base(&local));
    ck_assert_ptr_null(gc_base(m));
    ck_assert_ptr_null(gc_base(NULL));
    ck_assert_ptr_null(gc_base((void *)UINTPTR_MAX));
    free(m);
}
END_TEST

/* Address space reserved in an arena but not yet handed to the page
 * allocator: the arena exists, no span covers it, gc_base says no. */
START_TEST(test_arena_reserved_unused_space) {
    (void)gc_alloc(64, NULL);
    ck_assert_uint_gt(mheap_.cur_end, mheap_.cur_base);
    uintptr_t p = mheap_.cur_end - 8;
    ck_assert_ptr_nonnull(arena_of(p));
    ck_assert_ptr_null(span_of_unchecked(p));
    ck_assert_ptr_null(span_of(p));
    ck_assert_ptr_null(gc_base((void *)p));
    ck_assert_ptr_null(gc_base((void *)mheap_.cur_base));
    /* A free page inside handed-over space (past every span so far). */
    uintptr_t q = mheap_.cur_base - PAGE;
    ck_assert_ptr_nonnull(arena_of(q));
    ck_assert_ptr_null(span_of(q));
}
END_TEST

START_TEST(test_arena_spans_map_every_page) {
    /* 40 KiB: a 5-page large-object span. */
    char *p = gc_alloc(5 * PAGE - 100, NULL);
    roots[0] = p;
    mspan *s = span_of((uintptr_t)p);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->startaddr, (uintptr_t)p);
    ck_assert_uint_eq(s->npages, 5);
    heap_arena *ha = arena_of((uintptr_t)p);
    uintptr_t first = arena_page_index((uintptr_t)p);
    for (uintptr_t i = 0; i < 5; i++) {
        uintptr_t page = (uintptr_t)p + i * PAGE;
        ck_assert_ptr_eq(span_of_unchecked(page), s);
        ck_assert_ptr_eq(span_of(page + PAGE - 1), s);
        ck_assert_ptr_eq((mspan *)ha->spans[first + i], s);
        ck_assert_msg(arena_page_bit(ha->page_in_use, first + i) == (i == 0),
                      "page_in_use of page %zu", (size_t)i);
    }
    ck_assert_ptr_eq(gc_base(p + 5 * PAGE - 1), p);
    ck_assert_uint_eq(gc_usable_size(p), 5 * PAGE);

    /* A multi-page small-object span: class 1152 uses 1 page? class 10240
     * bytes uses 5 pages (Go's table). */
    char *q = gc_alloc(10000, NULL);
    roots[1] = q;
    mspan *t = span_of((uintptr_t)q);
    ck_assert_uint_gt(t->npages, 1);
    heap_arena *tha = arena_of(t->startaddr);
    uintptr_t tfirst = arena_page_index(t->startaddr);
    for (uintptr_t i = 0; i < t->npages; i++) {
        ck_assert_ptr_eq(span_of_unchecked(t->startaddr + i * PAGE), t);
        ck_assert(arena_page_bit(tha->page_in_use, tfirst + i) == (i == 0));
    }
}
END_TEST

START_TEST(test_arena_free_clears_mapping) {
    memset(roots, 0, sizeof roots); /* stale pointers from an earlier test (CK_FORK=no) */
    gc_add_roots(roots, sizeof roots);
    char *p = gc_alloc(3 * PAGE, NULL);
    uintptr_t base = (uintptr_t)p;
    heap_arena *ha = arena_of(base);
    uintptr_t first = arena_page_index(base);
    ck_assert(arena_page_bit(ha->page_in_use, first));
    p = NULL;
    gc_collect();
    ck_assert_ptr_null(span_of(base));
    ck_assert_ptr_null(gc_base((void *)base));
    ck_assert(!arena_page_bit(ha->page_in_use, first));
    gc_remove_roots(roots);
}
END_TEST

START_TEST(test_arena_zeroed_base_grows) {
    char *a = gc_alloc(64 * 1024, NULL);
    heap_arena *ha = arena_of((uintptr_t)a);
    uintptr_t z0 = ha->zeroed_base;
    ck_assert_uint_ge(z0, (uintptr_t)a + 64 * 1024 - ha->base);
    char *b = gc_alloc(256 * 1024, NULL);
    if (arena_of((uintptr_t)b) == ha) {
        ck_assert_uint_ge(ha->zeroed_base, (uintptr_t)b + 256 * 1024 - ha->base);
        ck_assert_uint_ge(ha->zeroed_base, z0);
    }
    /* It never shrinks, even when spans are freed. */
    uintptr_t z1 = ha->zeroed_base;
    gc_collect();
    ck_assert_uint_ge(ha->zeroed_base, z1);
    (void)gc_alloc(100, NULL);
    ck_assert_uint_ge(ha->zeroed_base, z1);
}
END_TEST

/* A 100 MiB object spans at least two arenas: every page maps to its span,
 * interior pointers find its base, the pointer bitmap is right across the
 * arena boundary, and collecting it frees every page. */
START_TEST(test_arena_huge_object) {
    static const size_t offs[] = {0, 16};
    const gc_type *t = gc_type_build("huge_elem", 64, offs, 2);
    size_t size = 100 * MIB;
    char *p = gc_alloc(size, t);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % PAGE, 0);
    ck_assert_uint_eq(gc_usable_size(p), size);
    mspan *s = span_of((uintptr_t)p);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->npages, size / PAGE);
    ck_assert_ptr_ne(arena_of((uintptr_t)p), arena_of((uintptr_t)p + size - 1));
    uintptr_t samples[] = {0, PAGE, 13 * PAGE + 5, 64 * MIB - 1, 64 * MIB, 64 * MIB + 8,
                           99 * MIB, size - PAGE, size - 1};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        uintptr_t a = (uintptr_t)p + samples[i];
        ck_assert_ptr_eq(span_of(a), s);
        ck_assert_ptr_eq(span_of_unchecked(GH_ALIGN_DOWN(a, PAGE)), s);
        ck_assert_ptr_eq(gc_base((void *)a), p);
    }
    /* Pages of the second arena map to the span, and only the first page of
     * the whole span has page_in_use. */
    uintptr_t boundary = GH_ALIGN_UP((uintptr_t)p + 1, GH_ARENA_BYTES);
    heap_arena *ha2 = arena_of(boundary);
    ck_assert_ptr_nonnull(ha2);
    ck_assert_ptr_eq((mspan *)ha2->spans[0], s);
    ck_assert(!arena_page_bit(ha2->page_in_use, 0));
    ck_assert(arena_page_bit(arena_of((uintptr_t)p)->page_in_use, arena_page_index((uintptr_t)p)));
    /* The mask repeats every 8 words, across the boundary. */
    for (uintptr_t a = boundary - 256; a < boundary + 256; a += 8) {
        uintptr_t w = ((a - (uintptr_t)p) / 8) % 8;
        ck_assert_msg(hb_is_pointer(a) == (w == 0 || w == 2), "word at %+ld",
                      (long)(a - boundary));
    }
    p[0] = 1;
    p[size - 1] = 2;

    /* Unreachable: freed whole. */
    p = NULL;
    gc_collect();
    ck_assert_ptr_null(span_of(boundary));
    ck_assert_ptr_null(span_of(boundary - PAGE));
    gc_stats st;
    gc_read_stats(&st);
    ck_assert_uint_lt(st.heap_inuse, 100 * MIB);
}
END_TEST

/* gc_shutdown returns everything; gc_init afterwards starts afresh. */
START_TEST(test_arena_reinit) {
    char *p = gc_alloc(1000, NULL);
    ck_assert_ptr_nonnull(arena_of((uintptr_t)p));
    gc_shutdown();
    ck_assert_uint_eq(arena_count(), 0);
    ck_assert_ptr_null(arena_of((uintptr_t)p));
    gc_init();
    gc_init(); /* idempotent */
    char *q = gc_alloc(1000, NULL);
    ck_assert_ptr_nonnull(arena_of((uintptr_t)q));
    ck_assert_uint_ge(arena_count(), 1);
    memset(q, 1, 1000);
}
END_TEST

/* A span of small objects on fresh pages is faulted in writable at once
 * (mheap_alloc_span's prefault), before any object in it is touched; a
 * large object's pages are left to fault on first use. */
START_TEST(test_fresh_small_span_prefaulted) {
    unsigned c = 1;
    while (sc_class_to_npages[c] < 4)
        c++; /* the first class with a span of several pages */
    char *p = gc_alloc(sc_class_to_size[c], NULL);
    mspan *s = span_of((uintptr_t)p);
    ck_assert(!s->needzero);
    size_t bytes = s->npages * PAGE, os_page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char vec[64];
    ck_assert_uint_le(bytes / os_page, sizeof vec);
    ck_assert_int_eq(mincore((void *)s->startaddr, bytes, vec), 0);
    for (size_t i = 0; i < bytes / os_page; i++)
        ck_assert_msg(vec[i] & 1, "page %zu of a fresh %zu-page span not resident", i,
                      (size_t)s->npages);
    char *big = gc_alloc(4 * MIB, NULL);
    ck_assert_int_eq(mincore(big + 2 * MIB, os_page, vec), 0);
    ck_assert_uint_eq(vec[0] & 1, 0);
}
END_TEST

/* A fresh chunk of mark bytes and alloc bitmaps (gcbits.c) is faulted in
 * writable when it is mapped. Left to fault on first use, a page of mark
 * bytes is first read by a marker (the test before the set), which maps
 * the kernel's zero page, and the marker's store then copies it and
 * flushes the TLB of every CPU. */
START_TEST(test_fresh_gcbits_chunk_prefaulted) {
    size_t step = span_mark_bytes_size(4096), os_page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t prev = 0, fresh = 0;
    /* Allocation bumps through a chunk; the first array that does not
     * follow the one before starts a new chunk, at its first page. */
    for (int i = 0; i < 64 && fresh == 0; i++) {
        uintptr_t p = (uintptr_t)gcbits_new_marks(4096);
        if (prev != 0 && p != prev + step)
            fresh = p;
        prev = p;
    }
    ck_assert_uint_ne(fresh, 0);
    uintptr_t base = fresh & ~(uintptr_t)(os_page - 1);
    size_t pages = (64 * 1024) / os_page;
    unsigned char vec[64];
    ck_assert_uint_le(pages, sizeof vec);
    ck_assert_int_eq(mincore((void *)base, pages * os_page, vec), 0);
    for (size_t i = 0; i < pages; i++)
        ck_assert_msg(vec[i] & 1, "page %zu of a fresh gcbits chunk not resident", i);
}
END_TEST

static gh_mutex test_lock = GH_MUTEX_INIT;
static uint64_t lock_counter;

static void *lock_hammer(void *arg) {
    (void)arg;
    for (int i = 0; i < 200000; i++) {
        gh_lock(&test_lock);
        uint64_t v = lock_counter; /* a lost update shows up as a short count */
        __asm__ __volatile__("" ::: "memory");
        lock_counter = v + 1;
        gh_unlock(&test_lock);
    }
    return NULL;
}

START_TEST(test_lock_excludes) {
    pthread_t th[4];
    lock_counter = 0;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, lock_hammer, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(lock_counter, 4 * 200000);
}
END_TEST

static uint64_t waiter_cpu_ns;

static void *lock_waiter(void *arg) {
    (void)arg;
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    gh_lock(&test_lock);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    gh_unlock(&test_lock);
    waiter_cpu_ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)b.tv_nsec -
                    (uint64_t)a.tv_nsec;
    return NULL;
}

/* The spin is bounded: a lock held for 300 ms costs its waiter far less
 * CPU than that. */
START_TEST(test_lock_waiter_sleeps) {
    gh_lock(&test_lock);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, lock_waiter, NULL), 0);
    usleep(300 * 1000);
    gh_unlock(&test_lock);
    pthread_join(th, NULL);
    ck_assert_uint_lt(waiter_cpu_ns, 100u * 1000 * 1000);
}
END_TEST

static Suite *arena_suite(void) {
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("index");
    tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
    tcase_add_test(tc, test_arena_of_heap_address);
    tcase_add_test(tc, test_arena_of_non_heap_addresses);
    tcase_add_test(tc, test_arena_reserved_unused_space);
    tcase_add_test(tc, test_arena_spans_map_every_page);
    tcase_add_test(tc, test_arena_free_clears_mapping);
    tcase_add_test(tc, test_arena_zeroed_base_grows);
    tcase_add_test(tc, test_arena_huge_object);
    tcase_add_test(tc, test_arena_reinit);
    tcase_add_test(tc, test_fresh_small_span_prefaulted);
    tcase_add_test(tc, test_fresh_gcbits_chunk_prefaulted);
    tcase_add_test(tc, test_lock_excludes);
    tcase_add_test(tc, test_lock_waiter_sleeps);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(arena_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
