/*
 * markrate.c — how fast a collector marks: bytes of live heap per second of
 * a forced full collection, written once against bench_backend.h
 * (collectors only).
 *
 * Usage: bench_markrate_<system> list|graph MARKERS [NODES]
 *   MARKERS is the number of parallel mark threads (goheap GOHEAP_MARKERS,
 *   bdwgc GC_set_markers_count; the Go twin sets GOMAXPROCS); NODES defaults
 *   to 10,000,000.
 *
 * The live heap is NODES 32-byte objects (two pointers and two words):
 *
 *   list   one linked list in allocation order: node i points to node i+1.
 *          Marking is one long dependency chain, so extra markers cannot
 *          help; it measures the per-object cost of the mark loop.
 *   graph  a random graph: each node's two pointers go to random nodes — the
 *          first along a random cyclic permutation (so every node is
 *          reachable from the root), the second uniformly at random. Marking
 *          jumps all over the heap (cache misses) and has plenty of
 *          parallelism.
 *
 * Automatic collection is off while the structure is built (the nodes are
 * indexed from a malloc'd array the precise collector cannot see), then one
 * static root keeps it all alive and collection is turned back on. One forced
 * collection warms up (and frees the build's leftovers), then REPEAT forced
 * collections are timed:
 *
 *   markrate-<shape>-<M>m       MiB/s  NODES * 32 bytes / wall time of the
 *                                      forced collection (goheap gc_collect
 *                                      and Go runtime.GC include the sweep;
 *                                      bdwgc's GC_gcollect sweeps lazily,
 *                                      mostly later), median of REPEAT
 *   markrate-<shape>-<M>m-mark  MiB/s  the same bytes / the mark phase only:
 *                                      bdwgc from its MARK_START/MARK_END
 *                                      events here; goheap and Go by run.sh
 *                                      from gctrace's a+b+c clock (the two
 *                                      pauses and concurrent mark) with
 *                                      gctrace.awk, using the
 *                                      "BENCH-MARK name=... live_bytes=..."
 *                                      lines this program writes on stderr
 *                                      before each timed collection.
 *
 * Live bytes are counted as NODES * 32 on every system, whatever the
 * allocator's rounding (bdwgc keeps 32-byte requests in 48-byte objects
 * because of its extra byte for interior pointers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_backend.h"
#include "bench_util.h"

enum { REPEAT = 3 };

typedef struct node {
    struct node *a, *b;
    uintptr_t x, y;
} node;

BE_TYPE(node_type, node, a, b);

static node *root;

/* xorshift64*: the same generator as the Go twin, so both build one graph. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv) {
    if (argc < 3 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "graph") != 0) ||
        atoi(argv[2]) < 1) {
        fprintf(stderr, "usage: %s list|graph MARKERS [NODES]\n", argv[0]);
        return 2;
    }
    int graph = strcmp(argv[1], "graph") == 0;
    int markers = atoi(argv[2]);
    size_t nodes = argc > 3 ? (size_t)atol(argv[3]) : 10000000;
    if (nodes < 2)
        return 2;

    be_set_markers(markers);
    be_init();
    be_add_roots(&root, sizeof root);

    be_auto_gc(0);
    if (!graph) {
        node *prev = root = be_alloc(sizeof(node), &node_type);
        for (size_t i = 1; i < nodes; i++) {
            node *n = be_alloc(sizeof(node), &node_type);
            n->x = i;
            BE_STORE(prev->a, n);
            prev = n;
        }
    } else {
        node **v = malloc(nodes * sizeof *v);
        uint32_t *perm = malloc(nodes * sizeof *perm);
        if (v == NULL || perm == NULL)
            return 1;
        for (size_t i = 0; i < nodes; i++) {
            v[i] = be_alloc(sizeof(node), &node_type);
            v[i]->x = i;
            perm[i] = (uint32_t)i;
        }
        for (size_t i = nodes - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = rng() % (i + 1);
            uint32_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < nodes; i++) {
            BE_STORE(v[perm[i]]->a, v[perm[(i + 1) % nodes]]);
            BE_STORE(v[i]->b, v[rng() % nodes]);
        }
        root = v[perm[0]];
        free(v);
        free(perm);
    }
    be_auto_gc(1);
    be_collect(); /* warm-up */

    double live = (double)nodes * sizeof(node);
    double wall[REPEAT], mark[REPEAT];
    char name[64];
    snprintf(name, sizeof name, "markrate-%s-%dm", argv[1], markers);
    for (int r = 0; r < REPEAT; r++) {
        usleep(50000); /* let the previous cycle's gctrace line finish first */
        fprintf(stderr, "BENCH-MARK name=%s live_bytes=%.0f\n", name, live);
        double t = bench_now();
        be_collect();
        wall[r] = bench_now() - t;
        mark[r] = be_last_mark_s();
    }
    qsort(wall, REPEAT, sizeof *wall, cmp_double);
    qsort(mark, REPEAT, sizeof *mark, cmp_double);
    bench_result(name, BE_NAME, "MiB/s", live / (1 << 20) / wall[REPEAT / 2]);
    if (mark[REPEAT / 2] > 0) {
        char mname[80];
        snprintf(mname, sizeof mname, "%s-mark", name);
        bench_result(mname, BE_NAME, "MiB/s", live / (1 << 20) / mark[REPEAT / 2]);
    }

    /* Everything must still be reachable. */
    size_t count = 0;
    if (!graph) {
        for (node *n = root; n; n = n->a)
            count++;
    } else {
        node *n = root;
        do {
            count++;
            n = n->a;
        } while (n != root && count <= nodes);
    }
    if (count != nodes) {
        fprintf(stderr, "markrate: %zu nodes reachable, built %zu\n", count, nodes);
        return 1;
    }
    return 0;
}
