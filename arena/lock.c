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

/* 0 until first asked, then 1 + (more than one CPU online). */
static volatile AO_t multi_cpu_state;

static bool multi_cpu(void) {
    uintptr_t v = gh_load(&multi_cpu_state);
    if (v == 0) {
        v = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
        gh_store(&multi_cpu_state, v);
    }
    return v == 2;
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
