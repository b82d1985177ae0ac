/*
 * thread.c — the thread registry, stop-the-world handshakes, safepoints and
 * blocking regions. See thread.h for the states and the protocol.
 *
 * Go stops goroutines by preemption; C threads stop only where they agree
 * to: at safepoints, where every pointer they hold is in a GC_FRAME. So a
 * stop is cooperative:
 *
 *   stopper                               running thread
 *   -------                               --------------
 *   lock sched; pending = 1               ... gc_alloc / gc_safepoint:
 *   while some other thread RUNNING:      pending? -> lock sched;
 *       wait stopped_cv                       status = STOPPED; signal
 *   unlock sched                              while pending: wait resume_cv
 *   ... work with the world stopped ...       status = RUNNING; unlock
 *   lock sched; pending = 0; t = now; unlock     (t: the end of the pause)
 *   broadcast resume_cv   (after the unlock: a woken thread must retake
 *                          sched_lock, which a preempted restarter would
 *                          otherwise still hold)
 *
 * A parked thread (THR_BLOCKED) counts as stopped: it promised not to touch
 * heap pointers, and gc_leave_blocking waits while pending is set. Because
 * every transition is made under sched_lock, the stopper's check "no thread
 * is RUNNING" cannot race with a thread leaving its blocking region.
 *
 * Handshakes (thr_handshake) run a function for every thread: a running
 * thread runs it on itself at its next safepoint (or on entering a blocking
 * region); for a parked or stopped thread the requester runs it while
 * holding sched_lock, which the thread needs to resume. So a handshake
 * function touches only that thread's own state (frames, tiny block, caches,
 * barrier buffer, gcwork), and never runs concurrently with the thread.
 * For the same reason gc_thread_unregister gives its state back and leaves
 * the registry in one sched_lock critical section (holding world_lock, so
 * mark termination cannot start before its grey objects are handed over).
 *
 * The heap parks a thread itself around slow system calls in an
 * allocation's slow path (thr_stoppable_begin/end, for arena/mheap.c), so
 * that a stop does not wait for the kernel; the thread holds no span that
 * the pause could miss (see mheap.c, "Slow kernel work").
 *
 * world_lock serialises stop-the-world pauses (the collector holds it only
 * around its two pauses). A thread waiting for it parks itself first: the
 * holder may stop the world, and must not wait for a thread that is itself
 * waiting for the holder.
 */
#include "thread.h"

#include <stdlib.h>

#include "env.h"
#include "lock.h"
#include "mheap.h"
#include "sys.h"
#include "upcalls.h"

__thread gh_thread *thr_self GCI_TLS_MODEL;
__thread gci_frame *gci_frame_top GCI_TLS_MODEL;
volatile AO_t gci_safepoint_request;

static pthread_mutex_t sched_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stopped_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t resume_cv = PTHREAD_COND_INITIALIZER;
static gh_mutex world_lock = GH_MUTEX_INIT;
static gh_thread *threads;
static unsigned nthreads;
static unsigned next_thread_id;
static gh_thread *stopper; /* the thread that requested the stop */
static volatile AO_t handshake_fn; /* the handshake in progress */

void thr_unregistered(const char *call) {
    if (!init_done())
        gh_fatalf("%s called while goheap is not initialised (before gc_init or after "
                  "gc_shutdown)",
                  call);
    gh_fatalf("%s called from a thread that is not registered (call gc_thread_register first)",
              call);
}

gh_thread *thr_list(void) { return threads; }
unsigned thr_count(void) { return nthreads; }

/* A thread that exits while registered would leave the collector waiting
 * for it at the next stop forever: the key's destructor, which runs at
 * thread exit for a thread whose key is set, turns that into a fatal
 * error. */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void exited_registered(void *arg) {
    (void)arg;
    gh_throw("a thread exited while registered (call gc_thread_unregister before it exits)");
}

static void make_exit_key(void) {
    if (pthread_key_create(&exit_key, exited_registered) != 0)
        gh_throw("pthread_key_create failed");
}

void thr_init(void) {
    pthread_once(&exit_key_once, make_exit_key);
    threads = NULL;
    nthreads = 0;
    stopper = NULL;
    gh_store(&gci_safepoint_request, 0);
}

static bool stw_requested(void) { return gh_load(&gci_safepoint_request) & SAFEPOINT_STW; }

/* Runs t's pending handshake, if any. Called by t itself, or by another
 * thread holding sched_lock while t is parked or stopped. */
static void run_handshake(gh_thread *t) {
    if (gh_load_acquire(&t->handshake_pending)) {
        ((thr_handshake_fn)gh_load(&handshake_fn))(t);
        gh_store_release(&t->handshake_pending, 0);
    }
}

/* Waits, with sched_lock held, until the world is not stopped. */
static void wait_while_stopped(void) {
    while (stw_requested())
        pthread_cond_wait(&resume_cv, &sched_lock);
}

void thr_register_self(void) {
    if (thr_self != NULL)
        gh_throw("gc_thread_register: thread is already registered");
    gh_thread *t = sys_alloc(sizeof(gh_thread));
    if (t == NULL)
        gh_throw("gc_thread_register: out of memory for thread state");
    mcache_init(&t->cache);
    if (GH_UNLIKELY(gh_debug.rootcheck))
        rootcheck_thread_init(t);
    t->frame_top = &gci_frame_top;
    t->pthread = pthread_self();
    gci_frame_top = NULL;
    mark_thread_attach(t);

    pthread_mutex_lock(&sched_lock);
    wait_while_stopped();
    t->id = ++next_thread_id;
    gh_store(&t->status, THR_RUNNING);
    t->next = threads;
    t->prev = NULL;
    if (threads != NULL)
        threads->prev = t;
    threads = t;
    nthreads++;
    pthread_mutex_unlock(&sched_lock);
    thr_self = t;
    pthread_setspecific(exit_key, t);
}

void gc_thread_register(void) { thr_register_self(); }

void gc_thread_unregister(void) {
    gh_thread *t = thr_current("gc_thread_unregister");
    if (gci_frame_top != NULL)
        gh_fatalf("gc_thread_unregister: frame declared at %s:%d is still pushed",
                  gci_frame_top->file, gci_frame_top->line);
    /* Parked, so a concurrent stop does not wait for this thread. The
     * world lock keeps mark termination out until the thread's grey
     * objects and barrier buffer are handed over; sched_lock keeps a
     * concurrent handshake (which runs for parked threads under it) from
     * touching the state being given back, and the thread leaves the
     * registry in the same critical section. */
    gc_enter_blocking();
    world_lock_acquire_parked();
    pthread_mutex_lock(&sched_lock);
    mcache_release_all(&t->cache);
    mark_thread_detach(t);
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        threads = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    nthreads--;
    pthread_cond_broadcast(&stopped_cv);
    pthread_mutex_unlock(&sched_lock);
    world_lock_release();
    thr_self = NULL;
    pthread_setspecific(exit_key, NULL);
    sys_free(t, sizeof(gh_thread));
}

void gc_enter_blocking(void) {
    gh_thread *t = thr_current("gc_enter_blocking");
    if (gh_load(&t->status) == THR_BLOCKED)
        gh_throw("gc_enter_blocking called twice without gc_leave_blocking (or the heap was "
                 "used inside a blocking region)");
    if (GH_UNLIKELY(gh_debug.rootcheck))
        rootcheck_capture(t);
    run_handshake(t);
    pthread_mutex_lock(&sched_lock);
    gh_store(&t->status, THR_BLOCKED);
    if (gh_load(&gci_safepoint_request))
        pthread_cond_broadcast(&stopped_cv);
    pthread_mutex_unlock(&sched_lock);
}

void gc_leave_blocking(void) {
    gh_thread *t = thr_current("gc_leave_blocking");
    if (gh_load(&t->status) != THR_BLOCKED)
        gh_throw("gc_leave_blocking without gc_enter_blocking");
    pthread_mutex_lock(&sched_lock);
    wait_while_stopped();
    gh_store(&t->status, THR_RUNNING);
    pthread_mutex_unlock(&sched_lock);
}

bool thr_stoppable_begin(void) {
    gh_thread *t = thr_self;
    if (t == NULL || gh_load(&t->status) != THR_RUNNING)
        return false;
    gc_enter_blocking();
    return true;
}

void thr_stoppable_end(bool parked) {
    if (parked)
        gc_leave_blocking();
}

void thr_heap_use_while_blocked(void) {
    gh_throw("heap used inside gc_enter_blocking/gc_leave_blocking: a parked thread must "
             "not allocate or reach a safepoint until gc_leave_blocking");
}

void gci_safepoint_slow(void) {
    gh_thread *t = thr_current("gc_safepoint");
    if (GH_UNLIKELY(gh_load(&t->status) == THR_BLOCKED))
        thr_heap_use_while_blocked();
    if (gh_load(&t->handshake_pending)) {
        run_handshake(t);
        pthread_mutex_lock(&sched_lock);
        pthread_cond_broadcast(&stopped_cv);
        pthread_mutex_unlock(&sched_lock);
    }
    if (!stw_requested())
        return;
    if (GH_UNLIKELY(gh_debug.rootcheck))
        rootcheck_capture(t);
    pthread_mutex_lock(&sched_lock);
    if (stw_requested() && stopper != t) {
        gh_store(&t->status, THR_STOPPED);
        pthread_cond_broadcast(&stopped_cv);
        wait_while_stopped();
        gh_store(&t->status, THR_RUNNING);
    }
    pthread_mutex_unlock(&sched_lock);
}

/* Takes the world lock; the caller is already parked (THR_BLOCKED). */
void world_lock_acquire_parked(void) { gh_lock(&world_lock); }

void world_lock_acquire(void) {
    gh_thread *t = thr_self;
    if (t == NULL) {
        gh_lock(&world_lock);
        return;
    }
    gc_enter_blocking();
    gh_lock(&world_lock);
    gc_leave_blocking();
}

void world_lock_release(void) { gh_unlock(&world_lock); }

void stw_stop(void) {
    pthread_mutex_lock(&sched_lock);
    stopper = thr_self;
    gh_or(&gci_safepoint_request, SAFEPOINT_STW);
    for (;;) {
        bool all_stopped = true;
        for (gh_thread *t = threads; t != NULL; t = t->next)
            if (t != stopper && gh_load(&t->status) == THR_RUNNING)
                all_stopped = false;
        if (all_stopped)
            break;
        pthread_cond_wait(&stopped_cv, &sched_lock);
    }
    pthread_mutex_unlock(&sched_lock);
}

uint64_t stw_start(void) {
    pthread_mutex_lock(&sched_lock);
    gh_and(&gci_safepoint_request, ~(uintptr_t)SAFEPOINT_STW);
    stopper = NULL;
    /* Read under sched_lock: a stopped thread, even woken spuriously,
     * retakes it before it runs on, so none runs before this time. */
    uint64_t released = gh_clock_ns(CLOCK_MONOTONIC);
    pthread_mutex_unlock(&sched_lock);
    /* Woken after the unlock: a woken thread must retake sched_lock, and
     * if the restarter were descheduled while still holding it (a woken
     * thread may preempt its waker), the whole world would wait for the
     * restarter to run again. */
    pthread_cond_broadcast(&resume_cv);
    return released;
}

void thr_handshake(thr_handshake_fn fn) {
    pthread_mutex_lock(&sched_lock);
    gh_store(&handshake_fn, (uintptr_t)fn);
    for (gh_thread *t = threads; t != NULL; t = t->next) {
        gh_store_release(&t->handshake_pending, 1);
        /* A parked or stopped thread cannot run it: do it for it. It cannot
         * resume meanwhile, since resuming takes sched_lock. */
        if (gh_load(&t->status) != THR_RUNNING || t == thr_self)
            run_handshake(t);
    }
    gh_or(&gci_safepoint_request, SAFEPOINT_HANDSHAKE);
    for (;;) {
        bool done = true;
        for (gh_thread *t = threads; t != NULL; t = t->next) {
            if (gh_load(&t->handshake_pending) && gh_load(&t->status) != THR_RUNNING)
                run_handshake(t);
            if (gh_load(&t->handshake_pending))
                done = false;
        }
        if (done)
            break;
        pthread_cond_wait(&stopped_cv, &sched_lock);
    }
    gh_and(&gci_safepoint_request, ~(uintptr_t)SAFEPOINT_HANDSHAKE);
    pthread_mutex_unlock(&sched_lock);
}

void thr_shutdown(void) {
    gh_thread *t = thr_self;
    if (t != NULL) {
        mark_thread_detach(t);
        sys_free(t, sizeof(gh_thread));
        thr_self = NULL;
        pthread_setspecific(exit_key, NULL);
    }
    threads = NULL;
    nthreads = 0;
}
