/*
 * sizeclass.h — the size classes: which object sizes exist, how many pages a
 * span of each class has, and how to map a request size to its class and an
 * offset in a span to an object index.            Go: sizeclasses.go, msize.go
 *
 * The tables are generated at build time by mksizeclass.c (Go's
 * mksizeclasses.go) into the build directory's sizeclasses.c; they equal Go
 * 1.19's exactly: 68 classes, class 0 unused (it marks large objects), 8 KiB
 * pages, objects up to 32 KiB. docs/sizeclasses.md shows the table with tail
 * and maximum waste.
 *
 * This layer includes nothing else of goheap, so the generator builds as a
 * native tool and the tables can be checked on their own.
 */
#ifndef GH_SIZECLASS_H
#define GH_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>

#define SC_NUM_SIZE_CLASSES 68
#define SC_MAX_SMALL_SIZE 32768
#define SC_SMALL_SIZE_DIV 8
#define SC_SMALL_SIZE_MAX 1024
#define SC_LARGE_SIZE_DIV 128
#define SC_PAGE_SHIFT 13

/* Bytes per object of each class (0 for class 0). */
extern const uint16_t sc_class_to_size[SC_NUM_SIZE_CLASSES];
/* Pages per span of each class. */
extern const uint8_t sc_class_to_npages[SC_NUM_SIZE_CLASSES];
/* Division magic: for every offset o < npages*8192 of a span of class c,
 * o / size == (o * sc_class_to_divmagic[c]) >> 32. Verified for every offset
 * by the generator. */
extern const uint32_t sc_class_to_divmagic[SC_NUM_SIZE_CLASSES];
/* Class of sizes 0..1024 indexed by ceil(size / 8). */
extern const uint8_t sc_size_to_class8[SC_SMALL_SIZE_MAX / SC_SMALL_SIZE_DIV + 1];
/* Class of sizes 1025..32768 indexed by ceil((size - 1024) / 128). */
extern const uint8_t sc_size_to_class128[(SC_MAX_SMALL_SIZE - SC_SMALL_SIZE_MAX) / SC_LARGE_SIZE_DIV + 1];

/* The class of a small size (size <= SC_MAX_SMALL_SIZE). */
static inline unsigned sc_size_to_class(size_t size) {
    if (size <= SC_SMALL_SIZE_MAX - 8)
        return sc_size_to_class8[(size + SC_SMALL_SIZE_DIV - 1) / SC_SMALL_SIZE_DIV];
    return sc_size_to_class128[(size - SC_SMALL_SIZE_MAX + SC_LARGE_SIZE_DIV - 1) /
                               SC_LARGE_SIZE_DIV];
}

/* Index of the object containing byte `offset` of a span of the class whose
 * magic is `divmagic`. */
static inline uintptr_t sc_obj_index(uintptr_t offset, uint32_t divmagic) {
    return (uintptr_t)(((uint64_t)offset * divmagic) >> 32);
}

/* The size malloc would hand out for a request of `size` bytes: the class
 * size for small requests, whole pages for large ones. Returns 0 when
 * rounding up would overflow. Go: msize.go roundupsize. */
size_t sc_roundupsize(size_t size);

/* A span class is a size class and a noscan bit: spans of pointer-free
 * objects are kept apart so the marker never looks inside them. */
typedef uint8_t span_class;
#define SC_NUM_SPAN_CLASSES (SC_NUM_SIZE_CLASSES * 2)
static inline span_class sc_make_span_class(unsigned sizeclass, int noscan) {
    return (span_class)((sizeclass << 1) | (noscan ? 1 : 0));
}
static inline unsigned sc_span_class_size(span_class s) { return s >> 1; }
static inline int sc_span_class_noscan(span_class s) { return s & 1; }

#endif /* GH_SIZECLASS_H */
