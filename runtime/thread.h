/*
 * thread.h — registered mutator threads, stop-the-world and safepoints.
 *
 * Every thread that touches the heap is registered and has a gh_thread: its
 * mcache, its shadow-stack frame list, its write-barrier buffer and its
 * collector work state. A thread is in one of three states:
 *
 *   THR_RUNNING  executing mutator code; it may touch heap pointers and
 *                stops only at a safepoint (gc_alloc, gc_safepoint).
 *   THR_STOPPED  waiting at a safepoint for the world to restart.
 *   THR_BLOCKED  parked between gc_enter_blocking and gc_leave_blocking; it
 *                touches no heap pointer, so the collector proceeds without
 *                waiting for it and reads its frames itself.
 *
 * Go preempts goroutines anywhere; C threads can only be asked. The
 * collector asks through gci_safepoint_request, which every safepoint reads:
 *
 *   SAFEPOINT_STW        stop: the stopper waits until no other thread is
 *                        THR_RUNNING. Running threads stop at their next
 *                        safepoint; blocked threads stay blocked, and leaving
 *                        the blocking region waits for the restart.
 *   SAFEPOINT_HANDSHAKE  a ragged handshake: each thread runs a function on
 *                        itself at its next safepoint (scan its frames when
 *                        mark starts; flush its buffers before mark
 *                        termination) and goes on; for a parked or stopped
 *                        thread the requester runs it. Nobody waits for the
 *                        whole world, so this is not a pause.
 *
 * Concurrency: states, the registry, handshake flags and the request bits
 * change only under sched_lock, so the requester's scan of states and a
 * thread's own transition are ordered by that lock. The request word is also
 * read without the lock (the safepoint fast path): a stale 0 only delays the
 * thread until its next safepoint, a stale non-zero costs one trip into the
 * slow path. The handshake bit stays set until the requester has seen every
 * thread; whether the handshake still waits for a given thread is that
 * thread's handshake_pending, set before the bit and cleared once the
 * handshake ran (thr_safepoint_wanted).
 */
#ifndef GH_THREAD_H
#define GH_THREAD_H

#include "goheap.h"
#include "mcache.h"

#include <pthread.h>

enum { THR_RUNNING = 0, THR_STOPPED = 1, THR_BLOCKED = 2 };
enum { SAFEPOINT_STW = 1, SAFEPOINT_HANDSHAKE = 2 };

/* Per-thread write-barrier buffer: pointers to shade, flushed in batches
 * to the marker (gc/barrier.c). */
#define WBBUF_ENTRIES 256

/* Frames rootcheck records per stopped thread. */
#define ROOTCHECK_FRAMES 48

struct gcwork;

typedef struct gh_thread {
    struct gh_thread *next, *prev;
    mcache cache;
    gci_frame **frame_top; /* the thread's gci_frame_top */
    volatile AO_t status;
    pthread_t pthread;
    unsigned id;
    volatile AO_t handshake_pending; /* run the current handshake at a safepoint */

    /* Collector state, owned by gc/. */
    struct gcwork *gcw;
    /* This mark phase's mark-start handshake scanned the thread's frames:
     * they are black, and the write barrier need not shade the values the
     * thread stores (gc/barrier.c). Cleared at sweep termination with the
     * world stopped; set by the handshake, run by the thread itself or for
     * it while it is parked or stopped. */
    bool frames_black;
    int64_t assist_credit;    /* bytes the thread may allocate before assisting */
    size_t wbbuf_next;
    uintptr_t wbbuf[WBBUF_ENTRIES];

    /* GOHEAP_DEBUG=rootcheck=1 (gc/rootcheck.c): the machine stack's bounds,
     * and the frames (stack pointer, return address) the thread was in when
     * it last stopped at a safepoint or parked. */
    uintptr_t stack_lo, stack_hi;
    unsigned rc_nframes;
    uintptr_t rc_frame_sp[ROOTCHECK_FRAMES], rc_frame_ip[ROOTCHECK_FRAMES];
} gh_thread;

extern __thread gh_thread *thr_self GCI_TLS_MODEL;

/* The calling thread's gh_thread, or a fatal error naming `call` when the
 * thread is not registered. */
GH_NORETURN GH_COLD void thr_unregistered(const char *call);
/* Is the heap up (between gc_init and gc_shutdown)? init.c; for messages. */
bool init_done(void);
GH_INLINE gh_thread *thr_current(const char *call) {
    gh_thread *t = thr_self;
    if (GH_UNLIKELY(t == NULL))
        thr_unregistered(call);
    return t;
}

/* Is the collector waiting for t to reach a safepoint: a stop, or a
 * handshake t has not yet run? The request word alone does not say: the
 * handshake bit stays set until the requester has seen every thread, and a
 * requester descheduled on a busy machine keeps it set for milliseconds
 * after t answered. (A stop's requester is never a thread asking this.) */
GH_INLINE bool thr_safepoint_wanted(gh_thread *t) {
    uintptr_t req = gh_load(&gci_safepoint_request);
    return GH_UNLIKELY(req != 0) && ((req & SAFEPOINT_STW) || gh_load(&t->handshake_pending));
}

/* The registry, for walks made with the world stopped (or sched_lock held). */
gh_thread *thr_list(void);
unsigned thr_count(void);

/* Fatal error for a parked thread (THR_BLOCKED) that allocates or reaches
 * a safepoint: one message whichever path notices it first. */
GH_COLD GH_NORETURN void thr_heap_use_while_blocked(void);

/* World lock: serialises cycles. Acquiring parks the caller (it may wait
 * for a whole cycle run by another thread, which must not wait for it). */
void world_lock_acquire(void);
void world_lock_release(void);
/* The same, for a caller that is already parked (THR_BLOCKED). */
void world_lock_acquire_parked(void);

/* Stops every other registered thread at a safepoint (or leaves it parked).
 * The caller holds the world lock. */
void stw_stop(void);
/* Restarts them. Returns the CLOCK_MONOTONIC time, in ns, at which the stop
 * request was withdrawn: the end of the pause. It is read before waking the
 * stopped threads because a woken thread often preempts its waker (CFS
 * wakeup preemption): the waker may then not run again for a scheduler
 * slice, milliseconds during which the world is running, and a time read
 * after the wake would count them as pause. */
uint64_t stw_start(void);

/* Runs fn(t) once for every registered thread: by t itself at its next
 * safepoint if it is running, else by the caller. Returns when all have run.
 * Called by the collector with no heap lock held; fn must not block. */
typedef void (*thr_handshake_fn)(struct gh_thread *t);
void thr_handshake(thr_handshake_fn fn);

void thr_init(void);
void thr_shutdown(void);
void thr_register_self(void);

#endif /* GH_THREAD_H */
