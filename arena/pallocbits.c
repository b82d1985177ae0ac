/*
 * pallocbits.c — one chunk's page bitmap and the summary arithmetic.
 *                                                  Go: mpallocbits.go,
 *                         mpagealloc.go (mergeSummaries), mgcscavenge.go
 *
 * A chunk is 512 pages described by 8 words; bit i of word w is page
 * 64*w + i, and a set bit means "allocated" (or "not heap"). Everything here
 * is a pure function of its arguments, so check_pagealloc.c tests it with
 * hand-made bitmaps.
 *
 * The word tricks: a run of free pages that starts at the bottom of a word is
 * ctz(x) long; one that ends at the top is clz(x) long; x == 0 is a wholly
 * free word and x == ~0 a wholly allocated one. To find a run of n free pages
 * inside one word, let p = ~x and repeatedly AND p with itself shifted down:
 * after the shifts total n - 1, bit j of p is set exactly when pages
 * j .. j+n-1 are all free. Doubling the shift each round (never past what is
 * still needed) takes ceil(log2 n) rounds instead of n - 1.
 */
#include "pagealloc.h"

/* Mask of n bits starting at bit b (1 <= n <= 64, b + n <= 64). */
static inline uint64_t bit_mask(unsigned b, unsigned n) {
    return (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << b;
}

/* Number of low zero bits and high zero bits of x; 64 when x == 0. */
static inline unsigned low_zeros(uint64_t x) { return x ? (unsigned)__builtin_ctzll(x) : 64; }
static inline unsigned high_zeros(uint64_t x) { return x ? (unsigned)__builtin_clzll(x) : 64; }

/* Bit j of the result is set iff bits j .. j+n-1 of f are all set (n >= 1);
 * runs are not continued past bit 63. */
static uint64_t runs_of_ones(uint64_t f, unsigned n) {
    unsigned have = 1;
    while (have < n && f != 0) {
        unsigned s = GH_MIN(have, n - have);
        f &= f >> s;
        have += s;
    }
    return f;
}

/* Length of the longest run of zero bits in x. */
static unsigned longest_zero_run(uint64_t x) {
    uint64_t f = ~x;
    unsigned n = 0;
    /* Each round shortens every run of ones by one. */
    while (f != 0) {
        f &= f >> 1;
        n++;
    }
    return n;
}

/*
 * Summarises a chunk bitmap. `run` carries the free pages that end at the
 * top of the words seen so far; it is the chunk's end once all words are seen.
 * Go: mpallocbits.go (*pallocBits).summarize
 */
pa_sum pa_bits_summarize(const uint64_t bits[PA_CHUNK_WORDS]) {
    unsigned start = 0, max = 0, run = 0;
    bool have_start = false;
    for (unsigned w = 0; w < PA_CHUNK_WORDS; w++) {
        uint64_t x = bits[w];
        if (x == 0) {
            run += 64;
            continue;
        }
        unsigned tz = low_zeros(x);
        if (!have_start) {
            start = run + tz;
            have_start = true;
        }
        max = GH_MAX(max, run + tz);
        /* A run strictly inside the word can only win if the word has more
         * free pages than the best run so far. */
        if (64u - (unsigned)__builtin_popcountll(x) > max)
            max = GH_MAX(max, longest_zero_run(x));
        run = high_zeros(x);
    }
    if (!have_start)
        start = run;
    max = GH_MAX(max, run);
    return pa_sum_pack(start, max, run);
}

/*
 * First-fit search inside one chunk. `size` is the free run reaching the top
 * of the previous word, so a run crossing word boundaries is found at the
 * first word where it becomes long enough; it starts lower than any run that
 * lies inside the current word, so it is checked first.
 * Go: mpallocbits.go (*pallocBits).find, find1, findSmallN, findLargeN
 */
unsigned pa_bits_find(const uint64_t bits[PA_CHUNK_WORDS], unsigned npages, unsigned from) {
    GH_ASSERT(npages >= 1 && npages <= PA_CHUNK_PAGES);
    GH_ASSERT(from <= PA_CHUNK_PAGES);
    unsigned size = 0;
    for (unsigned w = from / 64; w < PA_CHUNK_WORDS; w++) {
        uint64_t x = bits[w];
        if (w == from / 64 && from % 64 != 0)
            x |= bit_mask(0, from % 64); /* pages below `from` do not count */
        if (x == ~(uint64_t)0) {
            size = 0;
            continue;
        }
        if (size + low_zeros(x) >= npages)
            return w * 64 - size;
        if (npages < 64) {
            uint64_t p = runs_of_ones(~x, npages);
            if (p != 0)
                return w * 64 + (unsigned)__builtin_ctzll(p);
        }
        size = (x == 0) ? size + 64 : high_zeros(x);
    }
    return PA_NOT_FOUND;
}

void pa_bits_set_range(uint64_t bits[PA_CHUNK_WORDS], unsigned i, unsigned n) {
    GH_ASSERT(i + n <= PA_CHUNK_PAGES);
    while (n > 0) {
        unsigned b = i % 64, k = GH_MIN(n, 64 - b);
        bits[i / 64] |= bit_mask(b, k);
        i += k;
        n -= k;
    }
}

void pa_bits_clear_range(uint64_t bits[PA_CHUNK_WORDS], unsigned i, unsigned n) {
    GH_ASSERT(i + n <= PA_CHUNK_PAGES);
    while (n > 0) {
        unsigned b = i % 64, k = GH_MIN(n, 64 - b);
        bits[i / 64] &= ~bit_mask(b, k);
        i += k;
        n -= k;
    }
}

unsigned pa_bits_count_range(const uint64_t bits[PA_CHUNK_WORDS], unsigned i, unsigned n) {
    GH_ASSERT(i + n <= PA_CHUNK_PAGES);
    unsigned count = 0;
    while (n > 0) {
        unsigned b = i % 64, k = GH_MIN(n, 64 - b);
        count += (unsigned)__builtin_popcountll(bits[i / 64] & bit_mask(b, k));
        i += k;
        n -= k;
    }
    return count;
}

/*
 * Combines the summaries of n adjacent entries that each cover child_pages
 * pages. `run` is the free run reaching the high end of the children seen so
 * far: a wholly free child extends it, any other child restarts it at its
 * own end. The start grows only while every child so far is wholly free.
 * Go: mpagealloc.go mergeSummaries
 */
pa_sum pa_sum_merge(const pa_sum *children, unsigned n, unsigned child_pages) {
    unsigned start = 0, max = 0, run = 0;
    bool start_open = true;
    for (unsigned i = 0; i < n; i++) {
        pa_sum s = children[i];
        unsigned cs = pa_sum_start(s), cm = pa_sum_max(s), ce = pa_sum_end(s);
        if (start_open) {
            start += cs;
            start_open = (cs == child_pages);
        }
        max = GH_MAX(max, GH_MAX(run + cs, cm));
        run = (cs == child_pages) ? run + child_pages : ce;
    }
    max = GH_MAX(max, run);
    return pa_sum_pack(start, max, run);
}

/*
 * The scavenger's search: candidates are pages that are neither allocated nor
 * scavenged. The highest candidate is found from the top word down, then the
 * run is followed downwards (leading ones of the shifted candidate mask)
 * until it ends or reaches max_pages.
 * Go: mgcscavenge.go (*pallocData).findScavengeCandidate
 */
unsigned pa_chunk_find_scavenge(const pa_chunk *c, unsigned max_pages, unsigned *npages) {
    if (max_pages == 0)
        return PA_NOT_FOUND;
    int w = PA_CHUNK_WORDS - 1;
    uint64_t f = 0;
    for (; w >= 0; w--) {
        f = ~c->alloc[w] & ~c->scav[w];
        if (f != 0)
            break;
    }
    if (w < 0)
        return PA_NOT_FOUND;
    unsigned top_bit = 63 - (unsigned)__builtin_clzll(f);
    unsigned top = (unsigned)w * 64 + top_bit;
    /* Align the highest candidate to bit 63; the run is the leading ones. */
    uint64_t g = f << (63 - top_bit);
    unsigned len = (~g == 0) ? 64 : (unsigned)__builtin_clzll(~g);
    if (len == top_bit + 1) {
        /* The run reaches the bottom of word w; follow it into lower words. */
        for (int v = w - 1; v >= 0 && len < max_pages; v--) {
            uint64_t h = ~c->alloc[v] & ~c->scav[v];
            unsigned k = (~h == 0) ? 64 : (unsigned)__builtin_clzll(~h);
            len += k;
            if (k < 64)
                break;
        }
    }
    len = GH_MIN(len, max_pages);
    *npages = len;
    return top + 1 - len;
}
