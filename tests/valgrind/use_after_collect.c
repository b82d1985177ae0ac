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
 * unused tail).
 * detect.sh runs each kind under valgrind and checks the report.
 */
#include <goheap.h>
#include <stdio.h>
#include <string.h>

/* Not inlined, so the pointer really is a C local the collector never sees. */
static __attribute__((noinline)) unsigned char *make(size_t n) {
    unsigned char *p = gc_alloc(n, NULL);
    memset(p, 7, n);
    return p;
}

int main(int argc, char **argv) {
    const char *kind = argc > 1 ? argv[1] : "small";
    gc_init();
    size_t n = strcmp(kind, "large") == 0 ? 64 * 1024 : strcmp(kind, "small") == 0 ? 64 : 8;
    unsigned char *volatile p = make(n); /* unframed: the bug under test */
    unsigned v;
    if (strcmp(kind, "tail") == 0) {
        v = p[n]; /* one past the tiny object: the block's unused tail */
    } else {
        gc_collect(); /* unreachable: marked nowhere, freed by the sweep */
        gc_collect();
        v = p[0];     /* use after free */
    }
    printf("read %u\n", v);
    gc_shutdown();
    return 0;
}
