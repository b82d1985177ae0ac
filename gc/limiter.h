/*
 * limiter.h — the GC CPU limiter: a bucket that fills with the collector's
 * CPU time and drains with the mutator's, so a heap squeezed by the memory
 * limit cannot make the collector take most of the CPU.     Go: mgclimit.go
 *
 * A struct and pure functions, tested by tests/unit/check_pacer.c; the
 * collector keeps one instance in gc/cycle.c, updated under the world lock
 * at the end of each cycle. The design is at the top of limiter.c.
 */
#ifndef GH_LIMITER_H
#define GH_LIMITER_H

#include "atomics.h"

/* Bucket capacity per CPU (Go's capacityPerProc): 1 CPU-second. */
#define LIMITER_CAPACITY_PER_CPU_NS ((uint64_t)1000000000)
/* While limiting, the memory-limit heap goal is raised to at least the
 * marked heap plus this percentage (as if GOGC were 100). */
#define LIMITER_RELAXED_PERCENT 100

typedef struct limiter {
    uint64_t fill;     /* ns of GC CPU not yet paid back by mutator CPU */
    uint64_t capacity; /* ns; fill <= capacity */
    uint64_t overflow; /* GC CPU that arrived with the bucket full, ns */
    bool limiting;     /* the bucket is full */
} limiter;

/* An empty bucket sized for ncpu CPUs (at least one). */
void limiter_init(limiter *l, unsigned ncpu);
/* Accounts an interval in which the process used total_ns of CPU, gc_ns of
 * it on collection (gc_ns > total_ns is clamped). Sets l->limiting. */
void limiter_update(limiter *l, uint64_t gc_ns, uint64_t total_ns);

/* The published state of the collector's limiter: nonzero while limiting.
 * Read by mark assists, written by gc/cycle.c. */
extern volatile AO_t limiter_active;

#endif /* GH_LIMITER_H */
