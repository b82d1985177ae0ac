/*
 * list.c — a linked list on goheap, and garbage made by unlinking.
 *
 * It builds a list of COUNT nodes by appending at the tail, so two locals
 * (head and tail) hold heap pointers across every allocation: both are in a
 * GC_FRAME, and each link is written with GC_STORE because it is a pointer
 * slot of a heap object. It then unlinks every node whose value is odd. The
 * unlinked nodes are unreachable, so gc_collect frees them; the program
 * checks that the even nodes are all still there, in order, and that the
 * heap shrank.
 */
#include <goheap.h>
#include <stdio.h>

#define COUNT 100000

struct node {
    long value;
    struct node *next;
};
GC_TYPE(node_type, struct node, next);

static struct node *build(long count) {
    struct node *head = NULL, *tail = NULL, *n = NULL;
    GC_FRAME(f, &head, &tail, &n);
    for (long i = 0; i < count; i++) {
        n = gc_alloc(sizeof *n, &node_type);
        n->value = i;
        if (tail)
            GC_STORE(tail->next, n);
        else
            head = n; /* a framed local: no barrier */
        tail = n;
    }
    GC_UNFRAME(f);
    return head; /* the caller frames it before allocating again */
}

/* Unlinks the odd nodes. Allocates nothing, so no frame is needed. */
static long drop_odd(struct node *head) {
    long dropped = 0;
    for (struct node *n = head; n && n->next; n = n->next) {
        if (n->next->value % 2 != 0) {
            GC_STORE(n->next, n->next->next);
            dropped++;
        }
    }
    return dropped;
}

static unsigned long long live_bytes(void) {
    gc_stats stats;
    gc_read_stats(&stats);
    return (unsigned long long)stats.heap_alloc;
}

int main(void) {
    gc_init();

    struct node *list = NULL;
    GC_FRAME(f, &list);
    list = build(COUNT);
    gc_collect();
    unsigned long long before = live_bytes();

    long dropped = drop_odd(list);
    gc_collect();
    unsigned long long after = live_bytes();

    long expected = 0, seen = 0, bad = 0;
    for (struct node *n = list; n; n = n->next, expected += 2, seen++)
        if (n->value != expected)
            bad++;
    printf("list: %ld nodes kept, %ld dropped, %ld out of place; live %llu -> %llu bytes\n",
           seen, dropped, bad, before, after);
    GC_UNFRAME(f);
    gc_shutdown();

    int ok = seen == COUNT / 2 && dropped == COUNT / 2 && bad == 0 && after < before;
    if (!ok)
        fprintf(stderr, "list: FAILED\n");
    return ok ? 0 : 1;
}
