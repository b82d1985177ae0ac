/*
 * use_after_collect.c — a deliberately wrong program for memcheck: it keeps
 * a heap pointer in a C local that is in no GC_FRAME, lets the collector
 * free the object, and reads it. Run under valgrind, the read must be
 * reported as "Invalid read ... inside a block of size N free'd" (track.h);
 * run without valgrind it reads stale memory and exits 0, which is exactly
 * the silent luck memcheck is there to remove.
 *
 * Argument: the object kind — small (a 64-byte object), large (a 64 KiB
 * object, its own span), tiny (an 8-byte noscan object in a tiny block),
 * tail (a correct tiny object read one byte past its end, into the block's
 * unused tail), fast and fastscan (the second 64-byte object of its span,
 * noscan or with a pointer: a thread's first allocation of a class refills
 * its cache, the second is made on the inline fast path, which announces
 * objects to memcheck through the allocation hooks).
 * detect.sh runs each kind under valgrind and checks the report.
 */
#include <goheap.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct obj64 {
    void *next;
    unsigned char bytes[56];
} obj64;
GC_TYPE(obj64_type, obj64, next);

/* Not inlined, so the pointer really is a C local the collector never sees. */
static __attribute__((noinline)) unsigned char *make(size_t n, const gc_type *type) {
    unsigned char *p = gc_alloc(n, type);
    memset(p + sizeof(void *), 7, n - sizeof(void *));
    return p;
}

int main(int argc, char **argv) {
    const char *kind = argc > 1 ? argv[1] : "small";
    gc_init();
    bool fast = strcmp(kind, "fast") == 0 || strcmp(kind, "fastscan") == 0;
    const gc_type *type = strcmp(kind, "fastscan") == 0 ? &obj64_type : NULL;
    size_t n = strcmp(kind, "large") == 0 ? 64 * 1024 : strcmp(kind, "small") == 0 || fast ? 64 : 8;
    static void *warm; /* kept live, a neighbour that is not freed */
    if (fast) {
        gc_add_roots(&warm, sizeof warm);
        warm = make(n, type); /* fills the cache: the next object is inline */
    }
    unsigned char *volatile p = make(n, type); /* unframed: the bug under test */
    unsigned v;
    if (strcmp(kind, "tail") == 0) {
        v = p[n]; /* one past the tiny object: the block's unused tail */
    } else {
        gc_collect(); /* unreachable: marked nowhere, freed by the sweep */
        gc_collect();
        /* Use after free; of the middle of a fast object, so memcheck, which
         * names a block within a few bytes of the address, names it and not
         * its live neighbour. */
        v = p[fast ? n / 2 : 0];
    }
    printf("read %u\n", v);
    gc_shutdown();
    return 0;
}
