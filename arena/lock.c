/*
 * lock.c — the contended path of gh_lock (lock.h).            Go: lock_futex.go
 *
 * The heap's locks guard short critical sections, so a waiter first spins,
 * then yields its CPU once, and only then sleeps in the kernel (glibc's
 * futex-based mutex). The spin counts are Go's: 4 rounds of 30 pause
 * instructions. On a single CPU spinning cannot help (the holder is not
 * running), so the spin is skipped there.
 */
#include "lock.h"

#include <sched.h>
#include <unistd.h>

#include "atomics.h"

#define LOCK_SPIN_ROUNDS 4
#define LOCK_SPIN_PAUSES 30

static int ncpu_cached;

static bool multi_cpu(void) {
    int n = __atomic_load_n(&ncpu_cached, __ATOMIC_RELAXED);
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 1 ? (int)c : 1;
        __atomic_store_n(&ncpu_cached, n, __ATOMIC_RELAXED);
    }
    return n > 1;
}

void gh_lock_slow(gh_mutex *l) {
    if (multi_cpu()) {
        for (int r = 0; r < LOCK_SPIN_ROUNDS; r++) {
            for (int i = 0; i < LOCK_SPIN_PAUSES; i++)
                gh_cpu_relax();
            if (pthread_mutex_trylock(&l->m) == 0)
                return;
        }
    }
    sched_yield();
    if (pthread_mutex_trylock(&l->m) == 0)
        return;
    if (GH_UNLIKELY(pthread_mutex_lock(&l->m) != 0))
        gh_throw("pthread_mutex_lock failed");
}
