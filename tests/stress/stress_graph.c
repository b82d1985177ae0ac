/*
 * stress_graph.c — threads mutating random object graphs while cycles run.
 *
 * What the workload models:
 *   - THREADS mutator threads, each owning a table of ROOTS root nodes (the
 *     table is a heap object held in a GC_FRAME), plus a shared exchange
 *     table registered with gc_add_roots through which threads hand nodes
 *     to each other (cross-thread handoff). Handed-over nodes are frozen
 *     (never written again), and the exchange is taken under a mutex
 *     acquired inside a gc_enter_blocking bracket, so mutators never race
 *     with each other: every data race left is one between a mutator and
 *     the collector, which is what a TSan build of this test looks for.
 *   - A node has 2..14 pointer slots and a separate noscan payload object
 *     (8 B .. 200 KiB: tiny, small and large objects, and oblets), so
 *     scannable and noscan spans of many classes are exercised.
 *   - Operations: allocate a node, link a random slot to another node,
 *     unlink, swap subtrees between two nodes, move a node through the
 *     exchange table, drop a root.
 *   - Every payload carries a checksum kept in its node; each thread
 *     regularly walks everything reachable from its roots and verifies every
 *     checksum, so an object freed while reachable (and reused) shows up as
 *     a wrong checksum.
 *   - Threads 0 and 1 call gc_collect now and then, concurrently with each
 *     other and with automatic cycles; thread 1 also parks in
 *     gc_enter_blocking for milliseconds at a time; the last thread
 *     unregisters and re-registers mid-run.
 *   - Every pointer store into a heap object or the exchange table goes
 *     through GC_STORE; locals live in GC_FRAMEs.
 * The meson test runs it with GOHEAP_DEBUG=gccheckmark=1, so every
 * concurrent mark is also verified by a stopped re-mark.
 *
 * Arguments: THREADS SECONDS SEED (defaults 3 2 1). The environment
 * overrides them: GOHEAP_STRESS_THREADS and GOHEAP_STRESS_SECONDS (the
 * valgrind and sanitizer test setups size runs this way, and a soak is just
 * a long run: tests/stress/soak.sh). Runs of 30 s or more print a progress
 * line every 10 s (GOHEAP_STRESS_PROGRESS=S sets the interval, 0 turns it
 * off): elapsed time, cycles, nodes allocated and verified, RSS. Exits 0 on
 * success; a corruption aborts with a message.
 */
#include <goheap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SLOTS 14
#define ROOTS 64
#define EXCHANGE 16

typedef struct payload {
    uint64_t words[1]; /* words[0..n) random data */
} payload;

typedef struct node {
    struct node *slot[MAX_SLOTS];
    payload *data;
    uint64_t id;
    uint64_t checksum;
    uint32_t nslots;
    uint32_t nwords;
    uint32_t frozen; /* shared with other threads: read-only from now on */
} node;
GC_TYPE(node_type, node, slot[0], slot[1], slot[2], slot[3], slot[4], slot[5], slot[6], slot[7],
        slot[8], slot[9], slot[10], slot[11], slot[12], slot[13], data);

typedef struct table {
    node *n[ROOTS];
} table;
static const gc_type *table_type;

static node *exchange[EXCHANGE]; /* a registered root range, under exchange_lock */
static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static double seconds = 2;
static volatile AO_t next_id;
static volatile AO_t nodes_verified;
static volatile AO_t cycles_forced;
static volatile AO_t workers_done;

static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t checksum(uint64_t id, const payload *p, uint32_t nwords) {
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    for (uint32_t i = 0; i < nwords; i++)
        h = (h ^ p->words[i]) * 0x100000001B3ull;
    return h;
}

static node *new_node(uint64_t *rng) {
    node *n = gc_alloc(sizeof *n, &node_type);
    GC_FRAME(f, &n);
    uint32_t nwords = 1 + (uint32_t)(rng_next(rng) % 24);
    if (rng_next(rng) % 400 == 0)
        nwords = 5000 + (uint32_t)(rng_next(rng) % 20000);
    payload *p = gc_alloc(nwords * sizeof(uint64_t), NULL);
    for (uint32_t i = 0; i < nwords; i++)
        p->words[i] = rng_next(rng);
    n->id = AO_fetch_and_add1(&next_id);
    n->nslots = 2 + (uint32_t)(rng_next(rng) % (MAX_SLOTS - 1));
    n->nwords = nwords;
    n->checksum = checksum(n->id, p, nwords);
    GC_STORE(n->data, p);
    GC_UNFRAME(f);
    return n;
}

/* Takes the exchange lock without holding up a collection: waiting on a
 * mutex is a blocking call. */
static void exchange_acquire(void) {
    gc_enter_blocking();
    pthread_mutex_lock(&exchange_lock);
    gc_leave_blocking();
}

/* Walks the graph below n (iteratively, bounded) verifying checksums. The
 * walk allocates nothing, but calls gc_safepoint, so the collector can run
 * (and stop this thread) in the middle; `stack` is a heap array held in a
 * frame, and every pointer it holds is a root. */
static uint64_t verify_from(node **rootp, node ***stackp, uint32_t stack_cap) {
    uint64_t count = 0;
    uint32_t sp = 0;
    node **stack = *stackp;
    GC_STORE(stack[sp], *rootp);
    sp++;
    /* No visited set (that would be a write): the walk is bounded instead. */
    while (sp > 0 && count < 5000) {
        node *n = stack[--sp];
        GC_STORE(stack[sp], NULL);
        if (n == NULL)
            continue;
        if (checksum(n->id, n->data, n->nwords) != n->checksum) {
            fprintf(stderr, "stress: node %p id %llu: payload checksum mismatch\n", (void *)n,
                    (unsigned long long)n->id);
            abort();
        }
        count++;
        for (uint32_t i = 0; i < n->nslots && sp < stack_cap; i++) {
            if (n->slot[i] != NULL) {
                GC_STORE(stack[sp], n->slot[i]);
                sp++;
            }
        }
        if ((count & 255) == 0)
            gc_safepoint();
    }
    while (sp > 0)
        GC_STORE(stack[--sp], NULL);
    return count;
}

typedef struct worker_arg {
    int index;
    int nthreads;
    uint64_t seed;
} worker_arg;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *argp) {
    worker_arg *arg = argp;
    gc_thread_register();
    uint64_t rng = arg->seed * 0x2545F4914F6CDD1Dull + (uint64_t)arg->index + 1;
    table *roots = NULL;
    node *a = NULL, *b = NULL, *tmp = NULL;
    node **stack = NULL;
    GC_FRAME(f, &roots, &a, &b, &tmp, &stack);
    roots = gc_alloc(sizeof *roots, table_type);
    const uint32_t stack_cap = 4096;
    stack = gc_alloc(stack_cap * sizeof(node *), table_type);
    double end = now_s() + seconds;
    uint64_t ops = 0;
    bool reregistered = false;
    while (now_s() < end) {
        for (int k = 0; k < 1000; k++, ops++) {
            unsigned op = (unsigned)(rng_next(&rng) % 100);
            unsigned i = (unsigned)(rng_next(&rng) % ROOTS), j = (unsigned)(rng_next(&rng) % ROOTS);
            a = roots->n[i];
            b = roots->n[j];
            bool wa = a != NULL && !a->frozen, wb = b != NULL && !b->frozen;
            if (op < 35) { /* allocate, hang under a root or replace one */
                tmp = new_node(&rng);
                if (wa && rng_next(&rng) % 2)
                    GC_STORE(a->slot[rng_next(&rng) % a->nslots], tmp);
                else
                    GC_STORE(roots->n[i], tmp);
            } else if (op < 60) { /* link */
                if (wa && b != NULL)
                    GC_STORE(a->slot[rng_next(&rng) % a->nslots], b);
            } else if (op < 70) { /* unlink */
                if (wa)
                    GC_STORE(a->slot[rng_next(&rng) % a->nslots], NULL);
            } else if (op < 80) { /* swap subtrees */
                if (wa && wb) {
                    unsigned sa = (unsigned)(rng_next(&rng) % a->nslots);
                    unsigned sb = (unsigned)(rng_next(&rng) % b->nslots);
                    tmp = a->slot[sa];
                    GC_STORE(a->slot[sa], b->slot[sb]);
                    GC_STORE(b->slot[sb], tmp);
                }
            } else if (op < 88) { /* hand a frozen subtree to other threads */
                tmp = new_node(&rng);
                if (b != NULL && b->frozen)
                    GC_STORE(tmp->slot[0], b); /* frozen below frozen only */
                tmp->frozen = 1;
                unsigned e = (unsigned)(rng_next(&rng) % EXCHANGE);
                exchange_acquire();
                b = exchange[e];
                GC_STORE(exchange[e], tmp);
                pthread_mutex_unlock(&exchange_lock);
                GC_STORE(roots->n[i], b);
            } else if (op < 97) { /* descend: replace a root by one of its children */
                if (a != NULL)
                    GC_STORE(roots->n[i], a->slot[rng_next(&rng) % a->nslots]);
            } else { /* drop a root */
                GC_STORE(roots->n[i], NULL);
            }
            a = b = tmp = NULL;
        }
        uint64_t seen = 0;
        for (unsigned i = 0; i < ROOTS; i++) {
            a = roots->n[i];
            seen += verify_from(&a, &stack, stack_cap);
        }
        a = NULL;
        AO_fetch_and_add(&nodes_verified, seen);
        /* Two threads call gc_collect, so forced cycles race each other
         * and the automatic ones. */
        if (arg->index <= 1 && rng_next(&rng) % 4 == 0) {
            gc_collect();
            AO_fetch_and_add1(&cycles_forced);
        }
        if (arg->index == 1 && arg->nthreads > 2) {
            gc_enter_blocking();
            usleep(2000);
            gc_leave_blocking();
        }
        if (arg->index == arg->nthreads - 1 && !reregistered && now_s() > end - seconds / 2) {
            /* Unregister mid-run; everything this thread built dies. */
            GC_UNFRAME(f);
            gc_thread_unregister();
            usleep(1000);
            gc_thread_register();
            roots = NULL;
            a = b = tmp = NULL;
            stack = NULL;
            GC_FRAME(f2, &roots, &a, &b, &tmp, &stack);
            roots = gc_alloc(sizeof *roots, table_type);
            stack = gc_alloc(stack_cap * sizeof(node *), table_type);
            reregistered = true;
            /* Continue with the new frame until the end. */
            while (now_s() < end) {
                tmp = new_node(&rng);
                GC_STORE(roots->n[rng_next(&rng) % ROOTS], tmp);
                tmp = NULL;
            }
            GC_UNFRAME(f2);
            gc_thread_unregister();
            fprintf(stderr, "stress: thread %d: %llu ops (re-registered)\n", arg->index,
                    (unsigned long long)ops);
            return NULL;
        }
    }
    GC_UNFRAME(f);
    gc_thread_unregister();
    fprintf(stderr, "stress: thread %d: %llu ops\n", arg->index, (unsigned long long)ops);
    return NULL;
}

static void *worker_main(void *argp) {
    void *r = worker(argp);
    AO_fetch_and_add1(&workers_done);
    return r;
}

/* Resident set size in MiB, from /proc/self/statm. */
static double rss_mib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Waits for the workers, printing a progress line every `interval` seconds
 * (0: none). The main thread is registered: it parks while it sleeps and
 * comes out of the blocking region to read the statistics. */
static void wait_workers(int nthreads, double interval) {
    double start = now_s(), next = start + interval;
    for (;;) {
        gc_enter_blocking();
        while ((int)AO_load(&workers_done) < nthreads && (interval <= 0 || now_s() < next))
            usleep(20000);
        gc_leave_blocking();
        if ((int)AO_load(&workers_done) >= nthreads)
            return;
        gc_stats st;
        gc_read_stats(&st);
        printf("stress: %7.0f s: %u cycles, %llu nodes allocated, %llu verified, heap %.1f MiB, "
               "RSS %.1f MiB\n",
               now_s() - start, st.num_gc, (unsigned long long)AO_load(&next_id),
               (unsigned long long)AO_load(&nodes_verified), st.heap_alloc / 1048576.0, rss_mib());
        fflush(stdout);
        next += interval;
    }
}

int main(int argc, char **argv) {
    int nthreads = argc > 1 ? atoi(argv[1]) : 3;
    seconds = argc > 2 ? atof(argv[2]) : 2;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    const char *e;
    if ((e = getenv("GOHEAP_STRESS_THREADS")) != NULL)
        nthreads = atoi(e);
    if ((e = getenv("GOHEAP_STRESS_SECONDS")) != NULL)
        seconds = atof(e);
    double interval = seconds >= 30 ? 10 : 0;
    if ((e = getenv("GOHEAP_STRESS_PROGRESS")) != NULL)
        interval = atof(e);
    if (nthreads < 1 || nthreads > 64 || seconds <= 0) {
        fprintf(stderr, "usage: stress_graph [THREADS [SECONDS [SEED]]]\n");
        return 2;
    }
    gc_init();
    size_t offs[ROOTS];
    for (size_t i = 0; i < ROOTS; i++)
        offs[i] = i * sizeof(void *);
    table_type = gc_type_build("table", sizeof(table), offs, ROOTS);
    gc_add_roots(exchange, sizeof exchange);

    pthread_t th[64];
    worker_arg args[64];
    for (int i = 0; i < nthreads; i++) {
        args[i] = (worker_arg){i, nthreads, seed};
        pthread_create(&th[i], NULL, worker_main, &args[i]);
    }
    wait_workers(nthreads, interval);
    gc_enter_blocking();
    for (int i = 0; i < nthreads; i++)
        pthread_join(th[i], NULL);
    gc_leave_blocking();

    gc_collect();
    gc_stats st;
    gc_read_stats(&st);
    uint64_t max_pause = 0;
    for (unsigned i = 0; i < GC_PAUSE_HISTORY; i++)
        if (st.pause_ns[i] > max_pause)
            max_pause = st.pause_ns[i];
    printf("stress: %d threads, %.1f s: %llu nodes allocated, %llu verified, %u cycles "
           "(%u forced), max pause %.3f ms\n",
           nthreads, seconds, (unsigned long long)AO_load(&next_id),
           (unsigned long long)AO_load(&nodes_verified), st.num_gc, st.num_forced_gc,
           max_pause / 1e6);
    gc_remove_roots(exchange);
    gc_shutdown();
    return 0;
}
