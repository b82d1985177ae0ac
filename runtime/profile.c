/*
 * profile.c — sampled heap profiles.                   Go: mprof.go, malloc.go
 *                                                      (profilealloc, nextSample)
 *
 * One allocation in about every memprofilerate bytes (GOHEAP_DEBUG=
 * memprofilerate=N, default 512 KiB as Go's MemProfileRate; 0 = off) is
 * sampled: the allocating thread's call stack is taken with libunwind, the
 * stack's bucket counts the allocation, and a profile special on the object
 * lets the sweeper count the free when the object dies. Sampling intervals
 * are drawn from an exponential distribution with that mean (a Poisson
 * process over allocated bytes), so the profile is unbiased by allocation
 * patterns. The allocation fast path pays one thread-local subtraction and
 * branch (mcache.next_sample).
 *
 * gc_write_heap_profile writes the legacy text format that `go tool pprof`
 * reads: a header with totals and the sampling rate, a line per stack with
 * in-use objects/bytes and allocated objects/bytes and the return
 * addresses, then /proc/self/maps so pprof can symbolize the addresses
 * against the binaries. As in Go, the counts are of the objects freed by
 * the last completed sweep; pprof scales sampled counts up by the rate.
 *
 * Concurrency: buckets live in a hash table under prof_lock; a bucket's
 * counters are updated under it (sampling is rare, so the lock is cold).
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env.h"
#include "special.h"
#include "thread.h"

#define MAX_DEPTH 32
#define BUCKET_HASH 4096

typedef struct profile_bucket {
    struct profile_bucket *next, *all_next;
    uint64_t hash;
    int depth;
    uintptr_t pc[MAX_DEPTH];
    uint64_t allocs, alloc_bytes, frees, free_bytes;
} profile_bucket;

static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;
static profile_bucket *table[BUCKET_HASH];
static profile_bucket *all_buckets;

static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Next sampling interval: exponential with mean memprofilerate. */
static int64_t next_interval(uint64_t *rng) {
    int64_t rate = gh_debug.memprofilerate;
    if (rate <= 0)
        return INT64_MAX;
    if (rate == 1)
        return 0;
    double u = ((double)(rng_next(rng) >> 11) + 1.0) / 9007199254740993.0;
    double v = -log(u) * (double)rate;
    return v > 1e15 ? INT64_MAX : (int64_t)v;
}

int64_t profile_next_sample(void) {
    static volatile AO_t seed = 1;
    uint64_t rng = gh_xadd(&seed, 0x9E3779B97F4A7C15ull);
    return next_interval(&rng);
}

void profile_init(void) {}

void profile_shutdown(void) {
    pthread_mutex_lock(&prof_lock);
    while (all_buckets != NULL) {
        profile_bucket *n = all_buckets->all_next;
        free(all_buckets);
        all_buckets = n;
    }
    memset(table, 0, sizeof table);
    pthread_mutex_unlock(&prof_lock);
}

static profile_bucket *bucket_for(uintptr_t *pc, int depth) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < depth; i++)
        h = (h ^ pc[i]) * 1099511628211ull;
    profile_bucket **slot = &table[h % BUCKET_HASH];
    for (profile_bucket *b = *slot; b != NULL; b = b->next)
        if (b->hash == h && b->depth == depth && memcmp(b->pc, pc, (size_t)depth * sizeof *pc) == 0)
            return b;
    profile_bucket *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->hash = h;
    b->depth = depth;
    memcpy(b->pc, pc, (size_t)depth * sizeof *pc);
    b->next = *slot;
    *slot = b;
    b->all_next = all_buckets;
    all_buckets = b;
    return b;
}

void profile_sample(mcache *c, mspan *s, uintptr_t obj, uintptr_t size) {
    c->next_sample = next_interval(&c->rng);
    void *frames[MAX_DEPTH + 2];
    int n = unw_backtrace(frames, MAX_DEPTH + 2);
    /* Skip this function and the allocator's entry point. */
    int skip = n >= 2 ? 2 : n;
    uintptr_t pc[MAX_DEPTH];
    int depth = 0;
    for (int i = skip; i < n && depth < MAX_DEPTH; i++)
        pc[depth++] = (uintptr_t)frames[i];
    pthread_mutex_lock(&prof_lock);
    profile_bucket *b = bucket_for(pc, depth);
    if (b != NULL) {
        b->allocs++;
        b->alloc_bytes += size;
    }
    pthread_mutex_unlock(&prof_lock);
    if (b == NULL)
        return;
    special *sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        return;
    sp->offset = obj - s->startaddr;
    sp->kind = SPECIAL_PROFILE;
    sp->u.bucket = b;
    if (!special_add(s, sp))
        free(sp);
}

void profile_record_free(profile_bucket *b, uintptr_t size) {
    pthread_mutex_lock(&prof_lock);
    b->frees++;
    b->free_bytes += size;
    pthread_mutex_unlock(&prof_lock);
}

int gc_write_heap_profile(const char *path) {
    thr_current("gc_write_heap_profile");
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    pthread_mutex_lock(&prof_lock);
    uint64_t in_objs = 0, in_bytes = 0, al_objs = 0, al_bytes = 0;
    for (profile_bucket *b = all_buckets; b != NULL; b = b->all_next) {
        in_objs += b->allocs - b->frees;
        in_bytes += b->alloc_bytes - b->free_bytes;
        al_objs += b->allocs;
        al_bytes += b->alloc_bytes;
    }
    fprintf(f, "heap profile: %llu: %llu [%llu: %llu] @ heap/%lld\n", (unsigned long long)in_objs,
            (unsigned long long)in_bytes, (unsigned long long)al_objs,
            (unsigned long long)al_bytes, (long long)(2 * gh_debug.memprofilerate));
    for (profile_bucket *b = all_buckets; b != NULL; b = b->all_next) {
        fprintf(f, "%llu: %llu [%llu: %llu] @", (unsigned long long)(b->allocs - b->frees),
                (unsigned long long)(b->alloc_bytes - b->free_bytes),
                (unsigned long long)b->allocs, (unsigned long long)b->alloc_bytes);
        for (int i = 0; i < b->depth; i++)
            fprintf(f, " %#lx", (unsigned long)b->pc[i]);
        fputc('\n', f);
    }
    pthread_mutex_unlock(&prof_lock);
    fputs("\nMAPPED_LIBRARIES:\n", f);
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps != NULL) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, maps)) > 0)
            fwrite(buf, 1, n, f);
        fclose(maps);
    }
    int err = ferror(f);
    if (fclose(f) != 0 || err) {
        errno = EIO;
        return -1;
    }
    return 0;
}
