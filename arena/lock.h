/*
 * lock.h — the mutexes of goheap and their order.            Go: lockrank.go
 *
 * Every lock in the library is a gh_mutex (a pthread mutex). Locks are taken
 * in this order only; a thread holding a lock never takes one listed above
 * it:
 *   1. world_lock   (runtime/thread.c)  serialises collection cycles and
 *                                        stop-the-world; taken while parked.
 *   2. threads_lock (runtime/thread.c)  the registry of mutator threads.
 *   3. roots_lock   (runtime/roots.c)   the global root ranges.
 *   4. mcentral.lock (runtime/mcentral.c) one per span class.
 *   5. mheap.lock   (arena/mheap.c)     page allocator, spans, arenas.
 *   6. gcbits_lock  (arena/gcbits.c)    mark-bit arenas.
 *   7. scav_mu      (arena/scavenge.c)  the scavenger's sleep and wake flags;
 *                                        a leaf, never held with another.
 * No lock is held across a safepoint, and none is held while waiting for the
 * world to stop, except world_lock.
 */
#ifndef GH_LOCK_H
#define GH_LOCK_H

#include "base.h"

#include <pthread.h>

typedef struct {
    pthread_mutex_t m;
} gh_mutex;

#define GH_MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}

GH_INLINE void gh_lock(gh_mutex *l) {
    if (GH_UNLIKELY(pthread_mutex_lock(&l->m) != 0))
        gh_throw("pthread_mutex_lock failed");
}
GH_INLINE void gh_unlock(gh_mutex *l) { pthread_mutex_unlock(&l->m); }
GH_INLINE void gh_mutex_init(gh_mutex *l) { pthread_mutex_init(&l->m, NULL); }

#endif /* GH_LOCK_H */
