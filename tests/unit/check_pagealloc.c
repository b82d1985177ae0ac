/*
 * check_pagealloc.c — unit tests for the page allocator (arena/pagealloc.c,
 * arena/pallocbits.c).
 *
 * The page allocator never touches the heap pages it manages, only its own
 * metadata, so these tests grow it with made-up, page-aligned addresses
 * (some 1 GiB or 16 GiB apart) instead of mapping real memory. Every test
 * ends with pa_verify(), which checks the invariants listed in the essay of
 * pagealloc.c. The randomised test compares every operation with a model that
 * keeps one byte per page. Nothing here is timed.
 */
#include "pagealloc.h"

#include "sys.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define PAGE GH_PAGE_SIZE
#define CHUNK PA_CHUNK_BYTES
#define GIB ((uintptr_t)1 << 30)
/* A made-up, arena-aligned heap base (Go's first arena hint on amd64). */
#define BASE ((uintptr_t)0xc000000000)

static page_alloc pa;

static void setup(void) { pa_init(&pa); }
static void teardown(void) {
    pa_verify(&pa);
    pa_destroy(&pa);
}

/* ---- pallocBits and summaries ---- */

START_TEST(test_pagealloc_sum_pack) {
    pa_sum s = pa_sum_pack(3, 400, 17);
    ck_assert_uint_eq(pa_sum_start(s), 3);
    ck_assert_uint_eq(pa_sum_max(s), 400);
    ck_assert_uint_eq(pa_sum_end(s), 17);
    s = pa_sum_pack(PA_SUM_MAX_VALUE - 1, PA_SUM_MAX_VALUE - 1, PA_SUM_MAX_VALUE - 1);
    ck_assert_uint_eq(pa_sum_max(s), PA_SUM_MAX_VALUE - 1);
    s = pa_sum_pack(PA_SUM_MAX_VALUE, PA_SUM_MAX_VALUE, PA_SUM_MAX_VALUE);
    ck_assert(s == PA_SUM_FULL);
    ck_assert_uint_eq(pa_sum_start(s), PA_SUM_MAX_VALUE);
    ck_assert_uint_eq(pa_sum_end(s), PA_SUM_MAX_VALUE);
    ck_assert(pa_sum_pack(0, 0, 0) == 0);
}
END_TEST

START_TEST(test_pagealloc_bits_summarize) {
    uint64_t b[PA_CHUNK_WORDS];
    memset(b, 0, sizeof(b));
    pa_sum s = pa_bits_summarize(b);
    ck_assert_uint_eq(pa_sum_start(s), 512);
    ck_assert_uint_eq(pa_sum_max(s), 512);
    ck_assert_uint_eq(pa_sum_end(s), 512);

    memset(b, 0xff, sizeof(b));
    ck_assert(pa_bits_summarize(b) == 0);

    /* free: [0,10), [11,100), [300,400) crossing words, [508,512). */
    memset(b, 0xff, sizeof(b));
    pa_bits_clear_range(b, 0, 10);
    pa_bits_clear_range(b, 11, 89);
    pa_bits_clear_range(b, 300, 100);
    pa_bits_clear_range(b, 508, 4);
    s = pa_bits_summarize(b);
    ck_assert_uint_eq(pa_sum_start(s), 10);
    ck_assert_uint_eq(pa_sum_max(s), 100);
    ck_assert_uint_eq(pa_sum_end(s), 4);

    /* A run strictly inside one word is the longest. */
    memset(b, 0xff, sizeof(b));
    pa_bits_clear_range(b, 130, 20);
    pa_bits_clear_range(b, 200, 5);
    s = pa_bits_summarize(b);
    ck_assert_uint_eq(pa_sum_start(s), 0);
    ck_assert_uint_eq(pa_sum_max(s), 20);
    ck_assert_uint_eq(pa_sum_end(s), 0);

    /* One allocated page in the middle. */
    memset(b, 0, sizeof(b));
    pa_bits_set_range(b, 255, 1);
    s = pa_bits_summarize(b);
    ck_assert_uint_eq(pa_sum_start(s), 255);
    ck_assert_uint_eq(pa_sum_max(s), 256);
    ck_assert_uint_eq(pa_sum_end(s), 256);
    ck_assert_uint_eq(pa_bits_count_range(b, 0, 512), 1);
    ck_assert_uint_eq(pa_bits_count_range(b, 250, 5), 0);
    ck_assert_uint_eq(pa_bits_count_range(b, 250, 6), 1);
}
END_TEST

START_TEST(test_pagealloc_bits_find) {
    uint64_t b[PA_CHUNK_WORDS];
    memset(b, 0xff, sizeof(b));
    pa_bits_clear_range(b, 5, 3);    /* [5,8) */
    pa_bits_clear_range(b, 60, 10);  /* [60,70) crosses a word */
    pa_bits_clear_range(b, 100, 20); /* [100,120) inside a word */
    pa_bits_clear_range(b, 192, 200); /* [192,392) several words */
    ck_assert_uint_eq(pa_bits_find(b, 1, 0), 5);
    ck_assert_uint_eq(pa_bits_find(b, 3, 0), 5);
    ck_assert_uint_eq(pa_bits_find(b, 4, 0), 60);
    ck_assert_uint_eq(pa_bits_find(b, 10, 0), 60);
    ck_assert_uint_eq(pa_bits_find(b, 11, 0), 100);
    ck_assert_uint_eq(pa_bits_find(b, 20, 0), 100);
    ck_assert_uint_eq(pa_bits_find(b, 21, 0), 192);
    ck_assert_uint_eq(pa_bits_find(b, 64, 0), 192);
    ck_assert_uint_eq(pa_bits_find(b, 200, 0), 192);
    ck_assert_uint_eq(pa_bits_find(b, 201, 0), PA_NOT_FOUND);
    ck_assert_uint_eq(pa_bits_find(b, 1, 6), 6);
    ck_assert_uint_eq(pa_bits_find(b, 2, 7), 60);
    ck_assert_uint_eq(pa_bits_find(b, 5, 66), 100);
    ck_assert_uint_eq(pa_bits_find(b, 100, 250), 250);

    memset(b, 0, sizeof(b));
    ck_assert_uint_eq(pa_bits_find(b, 512, 0), 0);
    pa_bits_set_range(b, 0, 1);
    ck_assert_uint_eq(pa_bits_find(b, 512, 0), PA_NOT_FOUND);
    ck_assert_uint_eq(pa_bits_find(b, 511, 0), 1);
    ck_assert_uint_eq(pa_bits_find(b, 63, 0), 1);
}
END_TEST

START_TEST(test_pagealloc_sum_merge) {
    pa_sum kids[8];
    for (int i = 0; i < 8; i++)
        kids[i] = pa_sum_pack(512, 512, 512);
    pa_sum s = pa_sum_merge(kids, 8, 512);
    ck_assert_uint_eq(pa_sum_start(s), 4096);
    ck_assert_uint_eq(pa_sum_max(s), 4096);
    ck_assert_uint_eq(pa_sum_end(s), 4096);

    /* kid 2 ends with 30 free, kids 3-4 free, kid 5 starts with 7 free. */
    kids[0] = pa_sum_pack(10, 50, 0);
    kids[1] = 0;
    kids[2] = pa_sum_pack(0, 30, 30);
    kids[5] = pa_sum_pack(7, 7, 1);
    kids[6] = pa_sum_pack(0, 0, 0);
    kids[7] = pa_sum_pack(3, 200, 9);
    s = pa_sum_merge(kids, 8, 512);
    ck_assert_uint_eq(pa_sum_start(s), 10);
    ck_assert_uint_eq(pa_sum_max(s), 30 + 1024 + 7);
    ck_assert_uint_eq(pa_sum_end(s), 9);

    /* Merging 8 full level-1 entries gives the out-of-band full value. */
    for (int i = 0; i < 8; i++)
        kids[i] = pa_sum_pack(1u << 18, 1u << 18, 1u << 18);
    ck_assert(pa_sum_merge(kids, 8, 1u << 18) == PA_SUM_FULL);
}
END_TEST

START_TEST(test_pagealloc_scavenge_candidate) {
    pa_chunk c;
    memset(&c, 0xff, sizeof(c.alloc));
    memset(c.scav, 0, sizeof(c.scav));
    unsigned n = 0;
    ck_assert_uint_eq(pa_chunk_find_scavenge(&c, 512, &n), PA_NOT_FOUND);
    pa_bits_clear_range(c.alloc, 10, 20);
    pa_bits_clear_range(c.alloc, 100, 100); /* [100,200) crosses words */
    pa_bits_set_range(c.scav, 180, 20);     /* [180,200) already scavenged */
    ck_assert_uint_eq(pa_chunk_find_scavenge(&c, 512, &n), 100);
    ck_assert_uint_eq(n, 80);
    ck_assert_uint_eq(pa_chunk_find_scavenge(&c, 16, &n), 164);
    ck_assert_uint_eq(n, 16);
    pa_bits_set_range(c.scav, 100, 80);
    ck_assert_uint_eq(pa_chunk_find_scavenge(&c, 512, &n), 10);
    ck_assert_uint_eq(n, 20);
    ck_assert_uint_eq(pa_chunk_find_scavenge(&c, 0, &n), PA_NOT_FOUND);
}
END_TEST

/* ---- the allocator ---- */

START_TEST(test_pagealloc_empty) {
    size_t scav = 99;
    ck_assert_uint_eq(pa_alloc(&pa, 1, &scav), 0);
    ck_assert_uint_eq(scav, 0);
    uintptr_t b = 1;
    ck_assert_uint_eq(pa_scavenge_find(&pa, 10, &b), 0);
    ck_assert_uint_eq(b, 0);
    ck_assert_uint_eq(pa_free_pages(&pa), 0);
    ck_assert(!pa_is_allocated(&pa, BASE));
}
END_TEST

START_TEST(test_pagealloc_alloc_free_single) {
    pa_grow(&pa, BASE, GH_PAGES_PER_ARENA);
    ck_assert_uint_eq(pa_free_pages(&pa), GH_PAGES_PER_ARENA);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + 2 * PAGE);
    ck_assert(pa_is_allocated(&pa, BASE + PAGE));
    pa_free(&pa, BASE + PAGE, 1);
    ck_assert(!pa_is_allocated(&pa, BASE + PAGE));
    ck_assert_uint_eq(pa_free_pages(&pa), GH_PAGES_PER_ARENA - 2);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 5, NULL), BASE + 3 * PAGE);
    pa_free(&pa, BASE, 8);
    ck_assert_uint_eq(pa_free_pages(&pa), GH_PAGES_PER_ARENA);
    ck_assert_uint_eq(pa_alloc(&pa, 8, NULL), BASE);
}
END_TEST

START_TEST(test_pagealloc_first_fit_lowest) {
    pa_grow(&pa, BASE, GH_PAGES_PER_ARENA);
    uintptr_t a = pa_alloc(&pa, 10, NULL);
    uintptr_t b = pa_alloc(&pa, 20, NULL);
    uintptr_t c = pa_alloc(&pa, 30, NULL);
    ck_assert_uint_eq(a, BASE);
    ck_assert_uint_eq(b, BASE + 10 * PAGE);
    ck_assert_uint_eq(c, BASE + 30 * PAGE);
    pa_free(&pa, b, 20);
    pa_free(&pa, a, 10);
    /* Both holes fit 4 pages: the lower one wins. */
    ck_assert_uint_eq(pa_alloc(&pa, 4, NULL), BASE);
    /* 26 pages fit in the merged hole [4, 30). */
    ck_assert_uint_eq(pa_alloc(&pa, 26, NULL), BASE + 4 * PAGE);
    /* Nothing below c is free now. */
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + 60 * PAGE);
}
END_TEST

START_TEST(test_pagealloc_fragmentation) {
    pa_grow(&pa, BASE, GH_PAGES_PER_ARENA);
    for (uintptr_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + i * PAGE);
    for (uintptr_t i = 0; i < 1000; i += 2)
        pa_free(&pa, BASE + i * PAGE, 1);
    /* 500 one-page holes, none two pages long. */
    ck_assert_uint_eq(pa_alloc(&pa, 2, NULL), BASE + 1000 * PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + 2 * PAGE);
    /* Freeing a neighbour of a hole makes a 3-page hole [4,7). */
    pa_free(&pa, BASE + 5 * PAGE, 1);
    ck_assert_uint_eq(pa_alloc(&pa, 3, NULL), BASE + 4 * PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 2, NULL), BASE + 1002 * PAGE);
}
END_TEST

START_TEST(test_pagealloc_chunk_exhaustion) {
    pa_grow(&pa, BASE, 2 * PA_CHUNK_PAGES);
    for (uintptr_t i = 0; i < PA_CHUNK_PAGES; i++)
        ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + i * PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + CHUNK);
    ck_assert_uint_eq(pa_alloc(&pa, PA_CHUNK_PAGES - 1, NULL), BASE + CHUNK + PAGE);
    ck_assert_uint_eq(pa_free_pages(&pa), 0);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), 0);
    /* A whole free chunk is found again. */
    pa_free(&pa, BASE + CHUNK, PA_CHUNK_PAGES);
    ck_assert_uint_eq(pa_alloc(&pa, PA_CHUNK_PAGES, NULL), BASE + CHUNK);
}
END_TEST

START_TEST(test_pagealloc_discontiguous_growth) {
    const uintptr_t second = BASE + GIB;
    pa_grow(&pa, BASE, PA_CHUNK_PAGES);
    pa_grow(&pa, second, PA_CHUNK_PAGES);
    ck_assert_uint_eq(pa_alloc(&pa, 500, NULL), BASE);
    /* 12 free pages at the top of the first region, 512 at the bottom of the
     * second: a 20-page run must not bridge the gap. */
    ck_assert_uint_eq(pa_alloc(&pa, 20, NULL), second);
    ck_assert_uint_eq(pa_alloc(&pa, 12, NULL), BASE + 500 * PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), second + 20 * PAGE);
    pa_free(&pa, BASE + 100 * PAGE, 1);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + 100 * PAGE);

    /* A third region 16 GiB higher, in another level-0 entry, and a fourth
     * below all of them. */
    const uintptr_t third = BASE + 16 * GIB;
    const uintptr_t low = BASE - 4 * GIB;
    pa_grow(&pa, third, PA_CHUNK_PAGES);
    ck_assert_uint_eq(pa_alloc(&pa, PA_CHUNK_PAGES, NULL), third);
    pa_grow(&pa, low, 8);
    ck_assert_uint_eq(pa_alloc(&pa, 8, NULL), low);
    ck_assert_uint_eq(pa_alloc(&pa, 491, NULL), second + 21 * PAGE);
    ck_assert_uint_eq(pa_free_pages(&pa), 0);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), 0);
}
END_TEST

START_TEST(test_pagealloc_partial_chunks) {
    /* Two ranges that share chunks but leave a 6-page hole between them:
     * the hole is never handed out. */
    pa_grow(&pa, BASE + 3 * PAGE, 100);
    pa_grow(&pa, BASE + 109 * PAGE, 1000);
    ck_assert(pa_is_allocated(&pa, BASE));           /* not grown: reads in use */
    ck_assert(pa_is_allocated(&pa, BASE + 105 * PAGE));
    ck_assert_uint_eq(pa_free_pages(&pa), 1100);
    ck_assert_uint_eq(pa_alloc(&pa, 101, NULL), BASE + 109 * PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 100, NULL), BASE + 3 * PAGE);
    /* Growing the hole later joins the ranges. */
    pa_grow(&pa, BASE + 103 * PAGE, 6);
    pa_free(&pa, BASE + 3 * PAGE, 100);
    ck_assert_uint_eq(pa_alloc(&pa, 106, NULL), BASE + 3 * PAGE);
}
END_TEST

START_TEST(test_pagealloc_multi_chunk_runs) {
    pa_grow(&pa, BASE, GH_PAGES_PER_ARENA);
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE);
    uintptr_t big = pa_alloc(&pa, 3000, NULL);
    ck_assert_uint_eq(big, BASE + PAGE);
    for (uintptr_t i = 0; i < 3000; i++)
        ck_assert(pa_is_allocated(&pa, big + i * PAGE));
    ck_assert(!pa_is_allocated(&pa, big + 3000 * PAGE));
    ck_assert_uint_eq(pa_alloc(&pa, 1, NULL), BASE + 3001 * PAGE);
    pa_free(&pa, big, 3000);
    ck_assert_uint_eq(pa_alloc(&pa, 3000, NULL), BASE + PAGE);
    pa_free(&pa, BASE + PAGE, 3000);
    ck_assert_uint_eq(pa_alloc(&pa, 3001, NULL), BASE + 3002 * PAGE);

    /* A run over two arenas grown separately but contiguous. */
    pa_grow(&pa, BASE + GH_ARENA_BYTES, GH_PAGES_PER_ARENA);
    uintptr_t top = pa_alloc(&pa, GH_PAGES_PER_ARENA, NULL);
    ck_assert_uint_eq(top, BASE + (3002 + 3001) * PAGE);
    ck_assert(pa_is_allocated(&pa, BASE + GH_ARENA_BYTES + 6000 * PAGE));
}
END_TEST

START_TEST(test_pagealloc_huge_runs) {
    /* 32 GiB aligned to 16 GiB: two wholly free level-0 entries, encoded
     * out of band (PA_SUM_FULL). */
    const uintptr_t base = (uintptr_t)1 << 40;
    const size_t l0_pages = (size_t)1 << 21;
    pa_grow(&pa, base, 2 * l0_pages);
    ck_assert_uint_eq(pa_alloc(&pa, l0_pages + 1, NULL), base);
    ck_assert_uint_eq(pa_alloc(&pa, l0_pages, NULL), 0);
    ck_assert_uint_eq(pa_alloc(&pa, l0_pages - 1, NULL), base + (l0_pages + 1) * PAGE);
    ck_assert_uint_eq(pa_free_pages(&pa), 0);
    pa_free(&pa, base, 2 * l0_pages);
    ck_assert_uint_eq(pa_alloc(&pa, 2 * l0_pages, NULL), base);
}
END_TEST

START_TEST(test_pagealloc_scavenged_bookkeeping) {
    pa_grow(&pa, BASE, 2 * PA_CHUNK_PAGES);
    ck_assert_uint_eq(pa_free_pages(&pa), 1024);
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 1024);
    ck_assert(pa_is_scavenged(&pa, BASE));

    size_t scav = 0;
    ck_assert_uint_eq(pa_alloc(&pa, 10, &scav), BASE);
    ck_assert_uint_eq(scav, 10);
    ck_assert(!pa_is_scavenged(&pa, BASE));
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 1014);
    uintptr_t b = 0;
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 0); /* nothing backed is free */

    pa_free(&pa, BASE, 10); /* free, backed */
    ck_assert_uint_eq(pa_free_pages(&pa), 1024);
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 1014);
    ck_assert_uint_eq(pa_alloc(&pa, 12, &scav), BASE);
    ck_assert_uint_eq(scav, 2);
    pa_free(&pa, BASE, 12);

    /* Highest run first, trimmed from the top; it is held as allocated. */
    ck_assert_uint_eq(pa_scavenge_find(&pa, 4, &b), 4);
    ck_assert_uint_eq(b, BASE + 8 * PAGE);
    ck_assert(pa_is_allocated(&pa, BASE + 8 * PAGE));
    ck_assert_uint_eq(pa_free_pages(&pa), 1020);
    /* First fit skips the held run. */
    ck_assert_uint_eq(pa_alloc(&pa, 9, &scav), BASE + 12 * PAGE);
    ck_assert_uint_eq(scav, 9);
    pa_scavenge_done(&pa, b, 4);
    ck_assert(pa_is_scavenged(&pa, BASE + 9 * PAGE));
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 1024 - 8 - 9);
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 8);
    ck_assert_uint_eq(b, BASE);
    pa_scavenge_done(&pa, b, 8);
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 0);
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 1024 - 9);

    /* A run of mixed pages reports only its scavenged part: [0,12) is
     * scavenged, [12,21) backed. */
    pa_free(&pa, BASE + 12 * PAGE, 9);
    ck_assert_uint_eq(pa_alloc(&pa, 20, &scav), BASE);
    ck_assert_uint_eq(scav, 12);
    pa_free(&pa, BASE, 20);
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 1024 - 21);
    ck_assert_uint_eq(pa_free_pages(&pa), 1024);
}
END_TEST

START_TEST(test_pagealloc_scavenge_chunk_boundary) {
    pa_grow(&pa, BASE, 2 * PA_CHUNK_PAGES);
    ck_assert_uint_eq(pa_alloc(&pa, 1024, NULL), BASE);
    pa_free(&pa, BASE + 502 * PAGE, 20); /* backed, crosses the chunk boundary */
    uintptr_t b = 0;
    /* One scavenged run never crosses a chunk; the highest comes first. */
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 10);
    ck_assert_uint_eq(b, BASE + CHUNK);
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 10);
    ck_assert_uint_eq(b, BASE + 502 * PAGE);
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 0);
    pa_scavenge_done(&pa, BASE + 502 * PAGE, 10);
    pa_scavenge_done(&pa, BASE + CHUNK, 10);
    ck_assert_uint_eq(pa_scavenged_pages(&pa), 20);
    ck_assert_uint_eq(pa_free_pages(&pa), 20);
    /* Freeing backed pages again makes them candidates again. */
    size_t scav = 0;
    ck_assert_uint_eq(pa_alloc(&pa, 20, &scav), BASE + 502 * PAGE);
    ck_assert_uint_eq(scav, 20);
    pa_free(&pa, BASE + 502 * PAGE, 3);
    ck_assert_uint_eq(pa_scavenge_find(&pa, 100, &b), 3);
    ck_assert_uint_eq(b, BASE + 502 * PAGE);
}
END_TEST

/* ---- randomised comparison with a byte-per-page model ---- */

enum { M_NOHEAP, M_FREE, M_SCAV, M_USED, M_HELD };

#define MODEL_PAGES 40960
#define RANDOM_OPS 6000
#define MAX_RUNS 4096

typedef struct run {
    size_t first, n;
} run;

static uint8_t model[MODEL_PAGES];
static run used[MAX_RUNS], held[MAX_RUNS];
static size_t nused, nheld, model_free, model_scav;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void model_grow(size_t first, size_t n) {
    for (size_t i = first; i < first + n; i++) {
        ck_assert_int_eq(model[i], M_NOHEAP);
        model[i] = M_SCAV;
    }
    model_free += n;
    model_scav += n;
    pa_grow(&pa, BASE + first * PAGE, n);
}

/* Lowest first page of a run of n free pages in the model, or SIZE_MAX. */
static size_t model_first_fit(size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < MODEL_PAGES; i++) {
        len = (model[i] == M_FREE || model[i] == M_SCAV) ? len + 1 : 0;
        if (len == n)
            return i + 1 - n;
    }
    return SIZE_MAX;
}

static void random_alloc(void) {
    uint64_t r = rng() % 100;
    size_t n = r < 70 ? 1 + rng() % 8 : r < 90 ? 9 + rng() % 592 : 600 + rng() % 2400;
    size_t want = model_first_fit(n), scav = 0;
    uintptr_t got = pa_alloc(&pa, n, &scav);
    if (want == SIZE_MAX) {
        ck_assert_uint_eq(got, 0);
        return;
    }
    ck_assert_uint_eq(got, BASE + want * PAGE);
    size_t want_scav = 0;
    for (size_t i = want; i < want + n; i++) {
        want_scav += model[i] == M_SCAV;
        model[i] = M_USED;
    }
    ck_assert_uint_eq(scav, want_scav);
    model_free -= n;
    model_scav -= want_scav;
    ck_assert_uint_lt(nused, MAX_RUNS);
    used[nused++] = (run){want, n};
}

static void random_free(void) {
    if (nused == 0)
        return;
    size_t k = rng() % nused;
    run r = used[k];
    used[k] = used[--nused];
    for (size_t i = r.first; i < r.first + r.n; i++)
        model[i] = M_FREE;
    model_free += r.n;
    pa_free(&pa, BASE + r.first * PAGE, r.n);
}

static void random_scavenge(void) {
    size_t max = 1 + rng() % 600, top = SIZE_MAX;
    for (size_t i = MODEL_PAGES; i-- > 0;)
        if (model[i] == M_FREE) {
            top = i;
            break;
        }
    uintptr_t base = 1;
    size_t n = pa_scavenge_find(&pa, max, &base);
    if (top == SIZE_MAX) {
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(base, 0);
        return;
    }
    size_t first = top, chunk = top / PA_CHUNK_PAGES;
    while (first > 0 && top + 1 - first < max && model[first - 1] == M_FREE &&
           (first - 1) / PA_CHUNK_PAGES == chunk)
        first--;
    ck_assert_uint_eq(base, BASE + first * PAGE);
    ck_assert_uint_eq(n, top + 1 - first);
    for (size_t i = first; i <= top; i++)
        model[i] = M_HELD;
    model_free -= n;
    ck_assert_uint_lt(nheld, MAX_RUNS);
    held[nheld++] = (run){first, n};
}

static void random_scavenge_done(void) {
    if (nheld == 0)
        return;
    size_t k = rng() % nheld;
    run r = held[k];
    held[k] = held[--nheld];
    for (size_t i = r.first; i < r.first + r.n; i++)
        model[i] = M_SCAV;
    model_free += r.n;
    model_scav += r.n;
    pa_scavenge_done(&pa, BASE + r.first * PAGE, r.n);
}

START_TEST(test_pagealloc_random_model) {
    memset(model, 0, sizeof(model));
    nused = nheld = model_free = model_scav = 0;
    /* Two ranges sharing partly grown chunks, with a 100-page hole. */
    model_grow(0, 2500);
    model_grow(2600, 1500);
    for (int op = 0; op < RANDOM_OPS; op++) {
        if (op == RANDOM_OPS / 3)
            model_grow(6000, 1000);
        if (op == 2 * RANDOM_OPS / 3)
            model_grow(MODEL_PAGES - 700, 700); /* 300 MiB above the rest */
        uint64_t r = rng() % 100;
        if (r < 45)
            random_alloc();
        else if (r < 80)
            random_free();
        else if (r < 90)
            random_scavenge();
        else
            random_scavenge_done();
        ck_assert_uint_eq(pa_free_pages(&pa), model_free);
        ck_assert_uint_eq(pa_scavenged_pages(&pa), model_scav);
        size_t p = rng() % MODEL_PAGES;
        if (model[p] != M_NOHEAP)
            ck_assert_int_eq(pa_is_allocated(&pa, BASE + p * PAGE),
                             model[p] == M_USED || model[p] == M_HELD);
        if (op % 250 == 0)
            pa_verify(&pa);
    }
    /* Free everything: the heap is one set of free runs again. */
    while (nused > 0)
        random_free();
    while (nheld > 0)
        random_scavenge_done();
    ck_assert_uint_eq(pa_free_pages(&pa), 2500 + 1500 + 1000 + 700);
    ck_assert_uint_eq(pa_alloc(&pa, 2500, NULL), BASE);
    ck_assert_uint_eq(pa_alloc(&pa, 1501, NULL), 0);
    ck_assert_uint_eq(pa_alloc(&pa, 1500, NULL), BASE + 2600 * PAGE);
    ck_assert_uint_eq(pa_alloc(&pa, 701, NULL), BASE + 6000 * PAGE);
}
END_TEST

/* ---- fatal errors (need fork mode) ---- */

START_TEST(test_pagealloc_double_free_dies) {
    pa_grow(&pa, BASE, 16);
    uintptr_t a = pa_alloc(&pa, 4, NULL);
    pa_free(&pa, a, 4);
    pa_free(&pa, a + PAGE, 1);
}
END_TEST

START_TEST(test_pagealloc_metadata_oom_dies) {
    /* The first metadata mapping of a fresh grow fails. */
    sys_set_fail_after(1);
    pa_grow(&pa, BASE, 16);
}
END_TEST

static Suite *pagealloc_suite(void) {
    Suite *s = suite_create("pagealloc");

    TCase *bits = tcase_create("bits");
    tcase_add_test(bits, test_pagealloc_sum_pack);
    tcase_add_test(bits, test_pagealloc_bits_summarize);
    tcase_add_test(bits, test_pagealloc_bits_find);
    tcase_add_test(bits, test_pagealloc_sum_merge);
    tcase_add_test(bits, test_pagealloc_scavenge_candidate);
    suite_add_tcase(s, bits);

    TCase *alloc = tcase_create("alloc");
    tcase_add_checked_fixture(alloc, setup, teardown);
    tcase_add_test(alloc, test_pagealloc_empty);
    tcase_add_test(alloc, test_pagealloc_alloc_free_single);
    tcase_add_test(alloc, test_pagealloc_first_fit_lowest);
    tcase_add_test(alloc, test_pagealloc_fragmentation);
    tcase_add_test(alloc, test_pagealloc_chunk_exhaustion);
    tcase_add_test(alloc, test_pagealloc_discontiguous_growth);
    tcase_add_test(alloc, test_pagealloc_partial_chunks);
    tcase_add_test(alloc, test_pagealloc_multi_chunk_runs);
    tcase_add_test(alloc, test_pagealloc_huge_runs);
    tcase_add_test(alloc, test_pagealloc_scavenged_bookkeeping);
    tcase_add_test(alloc, test_pagealloc_scavenge_chunk_boundary);
    suite_add_tcase(s, alloc);

    TCase *random = tcase_create("random");
    tcase_add_checked_fixture(random, setup, teardown);
    tcase_add_test(random, test_pagealloc_random_model);
    suite_add_tcase(s, random);
    return s;
}

int main(void) {
    Suite *s = pagealloc_suite();
    SRunner *sr = srunner_create(s);
    /* Tests that abort only make sense when each runs in its own process. */
    if (srunner_fork_status(sr) != CK_NOFORK) {
        TCase *death = tcase_create("death");
        tcase_add_checked_fixture(death, setup, NULL);
        tcase_add_test_raise_signal(death, test_pagealloc_double_free_dies, SIGABRT);
        tcase_add_test_raise_signal(death, test_pagealloc_metadata_oom_dies, SIGABRT);
        suite_add_tcase(s, death);
    }
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
