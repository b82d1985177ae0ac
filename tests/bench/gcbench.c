/*
 * gcbench.c — GCBench, the binary-trees benchmark by John Ellis and Pete
 * Kovac as adapted to C by Hans Boehm, written once against bench_backend.h.
 *
 * What it measures: the total wall time of an allocation-heavy program whose
 * live heap is moderate and stable while it churns through short-lived
 * structures — the allocator's fast path plus the collector's ability to find
 * and recycle dead trees while a long-lived tree and a large pointer-free
 * array stay live. The parameters are the classic ones:
 *
 *   1. "stretch" the heap with one tree of depth 18 (~8 MiB of nodes), drop it;
 *   2. build a long-lived tree of depth 16 and a 500,000-double array
 *      (~4 MiB, pointer-free) that stay live to the end;
 *   3. for depth 4, 6, ..., 16: build NumIters(depth) trees top-down
 *      (allocate a node, then populate its children) and the same number
 *      bottom-up (children first, then the parent), dropping each at once.
 *      NumIters keeps the node count per depth constant (2 * stretch tree).
 *   4. check the long-lived structures survived.
 *
 * With a thread count of 2 (argument "2"), steps 1, 2 and 4 run once on the
 * main thread and step 3 runs on two threads at once, each doing the full
 * loop while both keep the shared long-lived tree and array alive. The work of
 * step 3 doubles, so on two idle cores perfect scaling shows the same time as
 * the one-thread run.
 *
 * Freeing: on malloc backends each dropped tree is freed explicitly (as the
 * original does when GC is not defined); collectors just drop it.
 *
 * Roots on goheap: make_tree keeps its two subtrees in a frame while it
 * allocates the parent; top-down populate needs no frame because the node it
 * fills is always reachable from a tree whose root is framed by the caller.
 *
 * Output: RESULT name=gcbench (or gcbench-2t) unit=s value=<seconds>.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_backend.h"
#include "bench_util.h"

enum {
    STRETCH_TREE_DEPTH = 18,
    LONG_LIVED_TREE_DEPTH = 16,
    ARRAY_SIZE = 500000,
    MIN_TREE_DEPTH = 4,
    MAX_TREE_DEPTH = 16,
};

typedef struct node {
    struct node *left, *right;
    int i, j; /* payload, as in the original; never read */
} node;

BE_TYPE(node_type, node, left, right);
BE_TYPE_NOPTR(double_type, double);

/* Nodes in a complete tree of depth i. */
static int tree_size(int i) { return (1 << (i + 1)) - 1; }

/* Trees of depth i to build so that every depth allocates the same number
 * of nodes. */
static int num_iters(int i) { return 2 * tree_size(STRETCH_TREE_DEPTH) / tree_size(i); }

static node *new_node(void) { return be_alloc(sizeof(node), &node_type); }

/* Top-down: n is already reachable from a rooted tree, so the children hung
 * off it survive the allocations that follow. */
static void populate(int depth, node *n) {
    if (depth <= 0)
        return;
    depth--;
    BE_STORE(n->left, new_node());
    BE_STORE(n->right, new_node());
    populate(depth, n->left);
    populate(depth, n->right);
}

/* Bottom-up: the subtrees exist before their parent, so they are only in
 * locals while the parent is allocated and must be framed. */
static node *make_tree(int depth) {
    if (depth <= 0)
        return new_node();
    node *left = NULL, *right = NULL;
    BE_FRAME(f, &left, &right);
    left = make_tree(depth - 1);
    right = make_tree(depth - 1);
    node *n = new_node();
    BE_STORE(n->left, left);
    BE_STORE(n->right, right);
    BE_UNFRAME(f);
    return n;
}

static void free_tree(node *n) {
    if (n == NULL)
        return;
    free_tree(n->left);
    free_tree(n->right);
    be_free(n);
}

/* One depth of step 3: the short-lived trees. */
static void time_construction(int depth) {
    int iters = num_iters(depth);
    node *tree = NULL;
    BE_FRAME(f, &tree);
    for (int i = 0; i < iters; i++) {
        tree = new_node();
        populate(depth, tree);
        if (BE_EXPLICIT_FREE)
            free_tree(tree);
        tree = NULL;
    }
    for (int i = 0; i < iters; i++) {
        tree = make_tree(depth);
        if (BE_EXPLICIT_FREE)
            free_tree(tree);
        tree = NULL;
    }
    BE_UNFRAME(f);
}

static void short_lived_loop(void) {
    for (int d = MIN_TREE_DEPTH; d <= MAX_TREE_DEPTH; d += 2)
        time_construction(d);
}

static void *worker(void *arg) {
    (void)arg;
    be_thread_register();
    short_lived_loop();
    be_thread_unregister();
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads != 1 && threads != 2) {
        fprintf(stderr, "usage: %s [1|2]   (threads running the short-lived loop)\n",
                argv[0]);
        return 2;
    }
    be_init();
    double start = bench_now();

    node *temp = NULL, *long_lived = NULL;
    double *array = NULL;
    BE_FRAME(f, &temp, &long_lived, &array);

    /* Step 1: stretch the heap. */
    temp = make_tree(STRETCH_TREE_DEPTH);
    if (BE_EXPLICIT_FREE)
        free_tree(temp);
    temp = NULL;

    /* Step 2: the long-lived tree and array. */
    long_lived = new_node();
    populate(LONG_LIVED_TREE_DEPTH, long_lived);
    array = be_alloc(ARRAY_SIZE * sizeof(double), &double_type);
    for (int i = 0; i < ARRAY_SIZE / 2; i++)
        array[i] = 1.0 / i;

    /* Step 3. */
    if (threads == 1) {
        short_lived_loop();
    } else {
        pthread_t tid[2];
        for (int t = 0; t < 2; t++)
            if (pthread_create(&tid[t], NULL, worker, NULL) != 0) {
                perror("pthread_create");
                return 1;
            }
        be_enter_blocking();
        for (int t = 0; t < 2; t++)
            pthread_join(tid[t], NULL);
        be_leave_blocking();
    }

    /* Step 4: the long-lived structures must have survived. */
    if (long_lived == NULL || long_lived->left == NULL || array[1000] != 1.0 / 1000) {
        fprintf(stderr, "gcbench: long-lived data lost\n");
        return 1;
    }
    double elapsed = bench_now() - start;
    BE_UNFRAME(f);
    bench_result(threads == 1 ? "gcbench" : "gcbench-2t", BE_NAME, "s", elapsed);
    return 0;
}
