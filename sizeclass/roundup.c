/*
 * roundup.c — the size an allocation of n bytes really occupies.  Go: msize.go
 *
 * A small request occupies a whole object of its size class; a large one
 * occupies whole 8 KiB pages. Callers use this to grow buffers to the space
 * they will get anyway (Go's append does the same).
 *
 * Departure from Go: when rounding a large size up to pages would wrap
 * around, Go returns the size unchanged; here the result is 0, so a caller
 * cannot mistake an impossible size for a satisfiable one.
 */
#include "sizeclass.h"

size_t sc_roundupsize(size_t size) {
    if (size <= SC_MAX_SMALL_SIZE)
        return sc_class_to_size[sc_size_to_class(size)];
    const size_t page = (size_t)1 << SC_PAGE_SHIFT;
    if (size > SIZE_MAX - (page - 1))
        return 0;
    return (size + page - 1) & ~(page - 1);
}
