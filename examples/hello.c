/*
 * hello.c — the smallest complete goheap program.
 *
 * It shows the life of a program using goheap: gc_init registers the main
 * thread; gc_alloc hands out zeroed memory described by a gc_type, declared
 * with GC_TYPE from the struct and the names of its pointer fields; a string
 * is allocated noscan (type NULL), so the collector never reads its bytes.
 * The objects the program keeps are named in a GC_FRAME, and pointers stored
 * into heap objects go through GC_STORE. Everything else it allocates (ten
 * thousand noscan points, never kept) is garbage, which gc_collect reclaims;
 * gc_read_stats then shows what happened. The program checks that the kept
 * objects survived and exits 0 when they did.
 */
#include <goheap.h>
#include <stdio.h>
#include <string.h>

struct point {
    double x, y; /* no pointers: allocated noscan */
};

struct person {
    int age;
    char *name;            /* a noscan string on the heap */
    struct person *friend; /* another person */
};
GC_TYPE(person_type, struct person, name, friend);

/* Returns a heap copy of s. Nothing is live across the allocation. */
static char *heap_string(const char *s) {
    char *copy = gc_alloc(strlen(s) + 1, NULL);
    strcpy(copy, s);
    return copy;
}

/* Allocates a person. name is framed: the second allocation may collect. */
static struct person *new_person(const char *name_text, int age) {
    char *name = heap_string(name_text);
    GC_FRAME(f, &name);
    struct person *p = gc_alloc(sizeof *p, &person_type);
    p->age = age; /* not a pointer: a plain store */
    GC_STORE(p->name, name);
    GC_UNFRAME(f);
    return p;
}

int main(void) {
    gc_init();

    struct person *alice = NULL, *bob = NULL;
    GC_FRAME(f, &alice, &bob);
    alice = new_person("alice", 36);
    bob = new_person("bob", 41);
    GC_STORE(alice->friend, bob);
    GC_STORE(bob->friend, alice);

    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        struct point *p = gc_alloc(sizeof *p, NULL); /* garbage after this iteration */
        p->x = i;
        p->y = -i;
        sum += p->x + p->y;
    }

    bob = NULL; /* bob stays reachable through alice->friend */
    gc_collect();

    gc_stats stats;
    gc_read_stats(&stats);
    printf("hello: %s's friend is %s (%d)\n", alice->name, alice->friend->name,
           alice->friend->age);
    printf("hello: %u cycle(s), %llu objects allocated, %llu freed, %llu bytes live\n",
           stats.num_gc, (unsigned long long)stats.mallocs,
           (unsigned long long)stats.frees, (unsigned long long)stats.heap_alloc);

    int ok = sum == 0 && strcmp(alice->name, "alice") == 0 &&
             strcmp(alice->friend->name, "bob") == 0 && alice->friend->friend == alice &&
             stats.num_gc >= 1 && stats.frees > 0;
    GC_UNFRAME(f);
    gc_shutdown();
    if (!ok)
        fprintf(stderr, "hello: FAILED\n");
    return ok ? 0 : 1;
}
