/*
 * lock.h — the mutexes of goheap and their order.            Go: lockrank.go
 *
 * Locks are taken in this order only: a thread holding a lock never takes
 * one listed above it. No lock is held across a safepoint, and none but
 * world_lock is held while waiting for the world to stop.
 *
 *   1. world_lock     (runtime/thread.c) serialises stop-the-world pauses;
 *                     mutators take it parked.
 *   2. cycle_lock     (gc/cycle.c) cycle requests and completions; also
 *      worker_lock, assist_lock, bg_lock (gc/) — each guards one condition
 *      variable and is held only around it, never with another lock.
 *   3. sched_lock     (runtime/thread.c) thread states, the registry,
 *                     handshakes; handshake functions run under it for
 *                     parked threads and take only locks below it.
 *   4. roots_lock     (runtime/roots.c) global root ranges.
 *   5. fin_lock, prof_lock, types_lock (runtime/) leaf locks.
 *   6. mcentral.lock  (runtime/mcentral.c) one per span class.
 *   7. mheap.lock     (arena/mheap.c) page allocator, spans, arenas.
 *   8. gcbits_lock, chunks_lock (arena/gcbits.c, gc/work.c) leaf locks;
 *      scav_mu (arena/scavenge.c), the scavenger's sleep and wake flags,
 *      and idle_lock (gc/work.c), idle markers' sleep, each held only
 *      around its condition variable, never with another lock.
 *   9. mspan.special_lock (runtime/final.c) a spin lock: only malloc and
 *                     shading may be called under it, and shading takes
 *                     only leaf locks of level 8 (a work buffer from
 *                     chunks_lock, a wake through idle_lock).
 *
 * Order is enforced by review and by TSan's lock-order-inversion detector,
 * which the TSan build of the stress test runs (docs/debugging.md).
 */
#ifndef GH_LOCK_H
#define GH_LOCK_H

#include "base.h"

#include <pthread.h>

typedef struct {
    pthread_mutex_t m;
} gh_mutex;

#define GH_MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}

void gh_lock_slow(gh_mutex *l);

/* Locks l. The heap's locks are held for a few hundred instructions at most
 * (a list operation, a bitmap update), so a thread finding one taken spins
 * briefly before sleeping on it, as Go's runtime lock does (4 rounds of 30
 * pause instructions, then a yield, then the futex): going to sleep and
 * being woken would cost far more than the wait, and the unlock would have
 * to make a system call to wake the sleeper. */
GH_INLINE void gh_lock(gh_mutex *l) {
    if (GH_LIKELY(pthread_mutex_trylock(&l->m) == 0))
        return;
    gh_lock_slow(l);
}
GH_INLINE void gh_unlock(gh_mutex *l) { pthread_mutex_unlock(&l->m); }
GH_INLINE void gh_mutex_init(gh_mutex *l) { pthread_mutex_init(&l->m, NULL); }

#endif /* GH_LOCK_H */
