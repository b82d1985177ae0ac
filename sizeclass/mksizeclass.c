/*
 * mksizeclass.c — computes the size classes and writes sizeclasses.c.
 *                                                        Go: mksizeclasses.go
 *
 * Overview. A native build-time tool, run by a meson custom_target the way
 * `go generate` runs mksizeclasses.go. It derives the classes from the inputs
 * in params.h, checks them, and writes the tables sizeclass.h declares:
 *
 *   mksizeclass --output sizeclasses.c   the generated source (DO NOT EDIT)
 *   mksizeclass --table                  the human table on stdout
 *
 * How the classes are chosen. Candidate sizes run from 8 to 32768 in steps
 * that grow with the size (8, then 16 from 32, then size/8 from 128, capped
 * at 256 from 2048; each step changes only at a power of two). A step of at
 * most size/8 means a request is rounded up by at most 12.5%. For each
 * candidate, the span gets the fewest 8 KiB pages whose tail — the bytes left
 * after the last whole object — is at most 1/8 of the span. A candidate that
 * needs the same pages and fits the same number of objects as the previous
 * class replaces it: the larger size costs nothing and saves a class. Last,
 * each class grows to the largest multiple of 128 that still fits the same
 * number of objects in its span (e.g. 6 objects in 7 pages: 8448 -> 9472),
 * turning tail waste into usable object space.
 *
 * The two 12.5% bounds multiply, so a request could in theory waste 26.6%;
 * in practice small sizes lose on round-up and large ones on the tail, and
 * for the tiniest sizes alignment dominates (a 1-byte request in the 8-byte
 * class wastes 87.5%). The "max waste" column states the real worst case.
 *
 * Checks (any failure prints a diagnostic and exits with status 1, which
 * fails the build):
 *   C1. There are exactly SC_GEN_NUM_CLASSES classes (68, as in Go 1.19).
 *   C2. Every span's tail waste is at most 1/SC_GEN_TAIL_WASTE_DIV of it.
 *   C3. Classes above SC_GEN_SMALL_SIZE_MAX are multiples of
 *       SC_GEN_LARGE_SIZE_DIV, so the coarse lookup table is exact.
 *   C4. A class of exactly SC_GEN_TINY_SIZE bytes exists.
 *   C5. For every class and every offset 0..npages*8192, offset * magic >> 32
 *       equals offset / size, checked by brute force. The magic is
 *       ceil(2^32 / size), written UINT32_MAX / size + 1; Lemire, Kaser and
 *       Kurz, "Faster Remainder by Direct Computation" (2019), show when a
 *       32-bit reciprocal is exact, but the exhaustive check is what the
 *       tables rely on.
 *   C6. Each lookup-table entry names the smallest class that fits every
 *       size the entry covers.
 *
 * Departures from Go. The generator is C and includes sizeclass.h so the
 * compiler checks that the published constants match params.h.
 */
#include "params.h"
#include "sizeclass.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* params.h drives the generator, sizeclass.h the runtime: they must agree. */
_Static_assert(SC_GEN_NUM_CLASSES == SC_NUM_SIZE_CLASSES, "class count");
_Static_assert(SC_GEN_PAGE_SHIFT == SC_PAGE_SHIFT, "page shift");
_Static_assert(SC_GEN_MAX_SMALL_SIZE == SC_MAX_SMALL_SIZE, "max small size");
_Static_assert(SC_GEN_SMALL_SIZE_DIV == SC_SMALL_SIZE_DIV, "small size step");
_Static_assert(SC_GEN_SMALL_SIZE_MAX == SC_SMALL_SIZE_MAX, "small size limit");
_Static_assert(SC_GEN_LARGE_SIZE_DIV == SC_LARGE_SIZE_DIV, "large size step");
/* The tables store sizes as uint16_t and page counts as uint8_t. */
_Static_assert(SC_GEN_MAX_SMALL_SIZE <= UINT16_MAX + 1, "class sizes do not fit uint16_t");
#if SC_GEN_NUM_CLASSES != 68
#error "goheap expects 68 size classes (Go 1.19); params.h says otherwise"
#endif

#define PAGE_SIZE (1u << SC_GEN_PAGE_SHIFT)
#define NUM_CLASS8 (SC_GEN_SMALL_SIZE_MAX / SC_GEN_SMALL_SIZE_DIV + 1)
#define NUM_CLASS128 ((SC_GEN_MAX_SMALL_SIZE - SC_GEN_SMALL_SIZE_MAX) / SC_GEN_LARGE_SIZE_DIV + 1)

struct size_class {
    unsigned size;   /* bytes per object */
    unsigned npages; /* pages per span */
    uint32_t magic;  /* ceil(2^32 / size) */
};

/* Room for every candidate size, so an unexpected parameter change reaches
 * check C1 with a count instead of overrunning the array. */
#define MAX_CANDIDATES (SC_GEN_MAX_SMALL_SIZE / SC_GEN_ALIGN_MIN + 1)

static struct size_class classes[MAX_CANDIDATES];
static unsigned nclasses;
static uint8_t class8[NUM_CLASS8];
static uint8_t class128[NUM_CLASS128];

static _Noreturn void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mksizeclass: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int is_pow2(unsigned x) { return x != 0 && (x & (x - 1)) == 0; }

static unsigned span_bytes(const struct size_class *c) { return c->npages * PAGE_SIZE; }
static unsigned objects(const struct size_class *c) { return span_bytes(c) / c->size; }
static unsigned tail_waste(const struct size_class *c) { return span_bytes(c) % c->size; }

/* The step to the next candidate after `size`, given the current step. The
 * step only changes at powers of two, which keeps every candidate a multiple
 * of the new step. */
static unsigned next_align(unsigned size, unsigned align) {
    if (!is_pow2(size))
        return align;
    if (size >= SC_GEN_ALIGN_CAP_FROM)
        return SC_GEN_ALIGN_CAP;
    if (size >= SC_GEN_ALIGN_FRAC_FROM)
        return size / SC_GEN_ALIGN_FRAC;
    if (size >= SC_GEN_ALIGN16_FROM)
        return 16;
    return align;
}

/* Fewest pages whose span leaves at most 1/TAIL_WASTE_DIV as tail. */
static unsigned pages_for(unsigned size) {
    unsigned bytes = PAGE_SIZE;
    while (bytes % size > bytes / SC_GEN_TAIL_WASTE_DIV)
        bytes += PAGE_SIZE;
    return bytes / PAGE_SIZE;
}

static void make_classes(void) {
    nclasses = 1; /* class 0 stays all-zero: it marks large objects */
    unsigned align = SC_GEN_ALIGN_MIN;
    for (unsigned size = align; size <= SC_GEN_MAX_SMALL_SIZE; size += align) {
        align = next_align(size, align);
        if (!is_pow2(align))
            die("alignment step %u at size %u is not a power of two", align, size);
        struct size_class c = {.size = size, .npages = pages_for(size)};
        struct size_class *prev = &classes[nclasses - 1];
        if (nclasses > 1 && prev->npages == c.npages && objects(prev) == objects(&c)) {
            prev->size = size; /* same span, same count: keep the larger size */
            continue;
        }
        classes[nclasses++] = c;
    }

    for (unsigned i = 1; i < nclasses; i++) {
        struct size_class *c = &classes[i];
        unsigned grown = span_bytes(c) / objects(c) & ~(SC_GEN_LARGE_SIZE_DIV - 1u);
        if (grown > c->size)
            c->size = grown;
    }

    if (nclasses != SC_GEN_NUM_CLASSES) /* C1 */
        die("computed %u size classes, expected %d", nclasses, SC_GEN_NUM_CLASSES);
}

/* C5: brute force over every offset the runtime can present, end inclusive. */
static void make_divmagic(void) {
    for (unsigned i = 1; i < nclasses; i++) {
        struct size_class *c = &classes[i];
        c->magic = UINT32_MAX / c->size + 1;
        for (uint64_t off = 0; off <= span_bytes(c); off++) {
            uint64_t q = (off * c->magic) >> SC_GEN_MAGIC_BITS;
            if (q != off / c->size)
                die("class %u (size %u): magic %" PRIu32 " gives %" PRIu64 " for offset %" PRIu64
                    ", want %" PRIu64,
                    i, c->size, c->magic, q, off, off / c->size);
        }
    }
}

/* Smallest class whose objects hold `size` bytes. */
static uint8_t class_for(unsigned size) {
    for (unsigned i = 0; i < nclasses; i++)
        if (classes[i].size >= size)
            return (uint8_t)i;
    die("no class holds %u bytes", size);
}

/* Each entry covers a range of sizes ending at the index's upper bound; the
 * class for that bound fits the whole range because classes are sorted. */
static void make_lookup(void) {
    for (unsigned i = 0; i < NUM_CLASS8; i++)
        class8[i] = class_for(i * SC_GEN_SMALL_SIZE_DIV);
    for (unsigned i = 0; i < NUM_CLASS128; i++)
        class128[i] = class_for(SC_GEN_SMALL_SIZE_MAX + i * SC_GEN_LARGE_SIZE_DIV);
}

static void check_classes(void) {
    int have_tiny = 0;
    for (unsigned i = 1; i < nclasses; i++) {
        const struct size_class *c = &classes[i];
        if (c->size <= classes[i - 1].size)
            die("class %u (size %u) is not larger than class %u", i, c->size, i - 1);
        if (c->npages > UINT8_MAX)
            die("class %u needs %u pages, more than uint8_t holds", i, c->npages);
        if (tail_waste(c) > span_bytes(c) / SC_GEN_TAIL_WASTE_DIV) /* C2 */
            die("class %u (size %u) wastes %u of %u span bytes", i, c->size, tail_waste(c),
                span_bytes(c));
        if (c->size > SC_GEN_SMALL_SIZE_MAX && c->size % SC_GEN_LARGE_SIZE_DIV != 0) /* C3 */
            die("class %u (size %u) is not a multiple of %d", i, c->size, SC_GEN_LARGE_SIZE_DIV);
        have_tiny |= c->size == SC_GEN_TINY_SIZE;
    }
    if (!have_tiny) /* C4 */
        die("no class of exactly %d bytes for the tiny allocator", SC_GEN_TINY_SIZE);

    /* C6, from the size side: every size maps to a class that fits it and
     * whose predecessor does not. */
    for (unsigned size = 1; size <= SC_GEN_MAX_SMALL_SIZE; size++) {
        unsigned cl = size <= SC_GEN_SMALL_SIZE_MAX
                          ? class8[(size + SC_GEN_SMALL_SIZE_DIV - 1) / SC_GEN_SMALL_SIZE_DIV]
                          : class128[(size - SC_GEN_SMALL_SIZE_MAX + SC_GEN_LARGE_SIZE_DIV - 1) /
                                     SC_GEN_LARGE_SIZE_DIV];
        if (classes[cl].size < size || classes[cl - 1].size >= size)
            die("size %u maps to class %u (size %u), not the smallest fit", size, cl,
                classes[cl].size);
    }
}

static unsigned trailing_zeros(unsigned x) {
    unsigned n = 0;
    while (!(x & 1)) {
        x >>= 1;
        n++;
    }
    return n;
}

/* Alignment every object of a class is guaranteed: the size's largest power
 * of two divisor, capped at a page because spans are only page-aligned. */
static unsigned align_bits(unsigned size) {
    unsigned tz = trailing_zeros(size);
    return tz > SC_GEN_PAGE_SHIFT ? SC_GEN_PAGE_SHIFT : tz;
}

/* The human table; each line starts with `lead` so it can become a C
 * comment. Max waste assumes every object holds the smallest request that
 * lands in its class (one byte over the previous class) and adds the tail. */
static void print_table(FILE *f, const char *lead) {
    fprintf(f, "%s%-5s  %-9s  %-10s  %-7s  %-10s  %-9s  %-9s\n", lead, "class", "bytes/obj",
            "bytes/span", "objects", "tail waste", "max waste", "min align");
    for (unsigned i = 1; i < nclasses; i++) {
        const struct size_class *c = &classes[i];
        unsigned worst = (c->size - classes[i - 1].size - 1) * objects(c) + tail_waste(c);
        fprintf(f, "%s%5u  %9u  %10u  %7u  %10u  %8.2f%%  %9u\n", lead, i, c->size,
                span_bytes(c), objects(c), tail_waste(c), 100.0 * worst / span_bytes(c),
                1u << align_bits(c->size));
    }
    fprintf(f, "%s\n", lead);

    /* For each alignment, the smallest size from which every larger class
     * is at least that aligned: walk down from the top until a class falls
     * short. Rows that repeat the next alignment's size are left out. */
    fprintf(f, "%s%-9s  %-4s  %-12s\n", lead, "alignment", "bits", "min obj size");
    unsigned from[SC_GEN_PAGE_SHIFT + 1];
    for (unsigned b = 0; b <= SC_GEN_PAGE_SHIFT; b++) {
        unsigned i = nclasses - 1;
        while (i > 1 && align_bits(classes[i - 1].size) >= b)
            i--;
        from[b] = align_bits(classes[i].size) >= b ? classes[i].size : 0;
    }
    for (unsigned b = 0; b <= SC_GEN_PAGE_SHIFT && from[b] != 0; b++) {
        if (b < SC_GEN_PAGE_SHIFT && from[b + 1] == from[b])
            continue;
        fprintf(f, "%s%9u  %4u  %12u\n", lead, 1u << b, b, from[b]);
    }
}

/* Writes `n` values as the initializer of a C array, `per_line` to a line. */
static void print_array(FILE *f, const char *decl, const unsigned *v, unsigned n,
                        unsigned per_line) {
    fprintf(f, "%s = {", decl);
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%s%u,", i % per_line == 0 ? "\n    " : " ", v[i]);
    fprintf(f, "\n};\n\n");
}

static void write_source(FILE *f) {
    unsigned v[MAX_CANDIDATES];

    fputs("/*\n"
          " * sizeclasses.c — generated by mksizeclass; DO NOT EDIT.\n"
          " * Regenerated at build time from sizeclass/mksizeclass.c and params.h.\n"
          " *                                                   Go: sizeclasses.go\n"
          " *\n",
          f);
    print_table(f, " * ");
    fputs(" */\n"
          "#include \"sizeclass.h\"\n\n"
          "#if SC_NUM_SIZE_CLASSES != 68\n"
          "#error \"goheap expects 68 size classes (Go 1.19)\"\n"
          "#endif\n\n",
          f);

    for (unsigned i = 0; i < nclasses; i++)
        v[i] = classes[i].size;
    print_array(f, "const uint16_t sc_class_to_size[SC_NUM_SIZE_CLASSES]", v, nclasses, 12);
    for (unsigned i = 0; i < nclasses; i++)
        v[i] = classes[i].npages;
    print_array(f, "const uint8_t sc_class_to_npages[SC_NUM_SIZE_CLASSES]", v, nclasses, 12);
    for (unsigned i = 0; i < nclasses; i++)
        v[i] = classes[i].magic;
    print_array(f, "const uint32_t sc_class_to_divmagic[SC_NUM_SIZE_CLASSES]", v, nclasses, 8);
    for (unsigned i = 0; i < NUM_CLASS8; i++)
        v[i] = class8[i];
    print_array(f,
                "const uint8_t sc_size_to_class8[SC_SMALL_SIZE_MAX / SC_SMALL_SIZE_DIV + 1]",
                v, NUM_CLASS8, 16);
    for (unsigned i = 0; i < NUM_CLASS128; i++)
        v[i] = class128[i];
    print_array(f,
                "const uint8_t sc_size_to_class128[(SC_MAX_SMALL_SIZE - SC_SMALL_SIZE_MAX) / "
                "SC_LARGE_SIZE_DIV + 1]",
                v, NUM_CLASS128, 16);
}

static void usage(void) {
    fputs("usage: mksizeclass --output FILE   write the generated sizeclasses.c\n"
          "       mksizeclass --table         print the class table\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv) {
    const char *output = NULL;
    int table = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            output = argv[++i];
        else if (strcmp(argv[i], "--table") == 0)
            table = 1;
        else
            usage();
    }
    if (!output && !table)
        usage();

    make_classes();
    make_divmagic();
    make_lookup();
    check_classes();

    if (table)
        print_table(stdout, "");
    if (output) {
        FILE *f = fopen(output, "w");
        if (!f)
            die("cannot open %s", output);
        write_source(f);
        int failed = ferror(f);
        if (fclose(f) != 0 || failed)
            die("cannot write %s", output);
    }
    return 0;
}
