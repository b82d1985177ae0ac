/*
 * work.c — work buffers and the per-thread gcwork.           Go: mgcwork.go
 *
 * Buffers come from 64 KiB chunks mapped with sys_alloc and are recycled on
 * the work_empty stack; chunks are unmapped only by gc_shutdown. A gcwork
 * keeps up to two buffers: put fills wbuf1, and when it is full swaps with
 * wbuf2 if that has room, else ships wbuf1 to work_full and takes an empty
 * buffer. tryget is the mirror image. So a thread touches the global stacks
 * at most once per ~254 objects.
 *
 * Concurrency: a gcwork is used only by its owner (a thread, or the
 * collector for its own work). The global stacks are lock-free (atomics.h);
 * chunk allocation takes chunks_lock. Each global that some thread writes
 * often sits on a cache line of its own: a marker checks work_full's head
 * whenever its own buffers run dry (for a linked list, at every object),
 * and idle markers recycling buffers through work_empty must not steal
 * that line from it at every push.
 *
 * Idle markers. A helper marker that finds no work spins briefly, then
 * sleeps in work_wait until put_full publishes a buffer or marking ends
 * (work_wake_idle). A sleeper announces itself in idle_sleepers before its
 * last look at work_full, and put_full reads idle_sleepers after its push;
 * both are full-barrier atomics, so one of the two sees the other and no
 * wakeup is lost. The collector waiting for the helpers to go idle
 * (work_wait_markers) sleeps the same way, and the helper whose
 * work_marker_idle takes the busy count to 0 reads idle_sleepers after its
 * decrement: the same pairing. On a heap shaped like a chain one marker
 * holds the only grey object for the whole mark; the others sleep.
 */
#include "work.h"

#include <pthread.h>
#include <string.h>

#include "gc.h"
#include "lock.h"
#include "sys.h"
#include "upcalls.h"
#include "thread.h"

#define CHUNK_BYTES ((size_t)64 << 10)

static gh_lfstack work_full GH_ALIGNED(GH_CACHE_LINE);
static gh_lfstack work_empty GH_ALIGNED(GH_CACHE_LINE);
static gh_mutex chunks_lock GH_ALIGNED(GH_CACHE_LINE) = GH_MUTEX_INIT;

static volatile AO_t idle_sleepers GH_ALIGNED(GH_CACHE_LINE);
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static void *chunks; /* first word of each chunk links the chunks */

volatile AO_t work_bytes_marked GH_ALIGNED(GH_CACHE_LINE);
volatile AO_t work_scan_done;
volatile AO_t work_bg_credit;

GH_STATIC_ASSERT(sizeof(workbuf) == WORKBUF_BYTES, "workbuf size");

void work_init(void) {
    work_full.head = work_empty.head = 0;
    gh_store(&work_bytes_marked, 0);
    gh_store(&work_scan_done, 0);
    gh_store(&work_bg_credit, 0);
}

void work_release_all(void) {
    gh_lock(&chunks_lock);
    while (chunks != NULL) {
        void *next = *(void **)chunks;
        sys_free(chunks, CHUNK_BYTES);
        chunks = next;
    }
    gh_unlock(&chunks_lock);
    work_full.head = work_empty.head = 0;
}

static workbuf *get_empty(void) {
    workbuf *b = (workbuf *)gh_lfstack_pop(&work_empty);
    if (b != NULL) {
        GH_ASSERT(b->nobj == 0);
        return b;
    }
    gh_lock(&chunks_lock);
    uint8_t *c = sys_alloc(CHUNK_BYTES);
    if (c == NULL)
        gh_throw("out of memory allocating mark work buffers");
    *(void **)c = chunks;
    chunks = c;
    /* The chunk's first buffer slot holds the link; buffers start after. */
    for (size_t off = WORKBUF_BYTES; off + WORKBUF_BYTES <= CHUNK_BYTES; off += WORKBUF_BYTES) {
        workbuf *nb = (workbuf *)(c + off);
        if (off + 2 * WORKBUF_BYTES <= CHUNK_BYTES)
            gh_lfstack_push(&work_empty, &nb->node);
        else
            b = nb;
    }
    gh_unlock(&chunks_lock);
    return b;
}

static void put_full(workbuf *b) {
    gh_lfstack_push(&work_full, &b->node);
    if (GH_UNLIKELY(gh_load(&idle_sleepers) != 0))
        work_wake_idle();
}

void work_wake_idle(void) {
    pthread_mutex_lock(&idle_lock);
    pthread_cond_broadcast(&idle_cv);
    pthread_mutex_unlock(&idle_lock);
}

/* Spins of the idle wait before sleeping: a few microseconds, less than a
 * sleep and wakeup cost, so a marker that ran dry for a moment (a buffer
 * about to be published by another) does not pay for one. */
#define IDLE_SPINS 2000

/* What an idle wait waits for: done(word, flag) true. */
typedef bool idle_done_fn(volatile AO_t *word, bool flag);

/* The idle wait of work_wait and work_wait_markers: spins IDLE_SPINS
 * times, then sleeps as an idle sleeper (see the top of this file), until
 * done(word, flag). */
static void idle_wait(idle_done_fn *done, volatile AO_t *word, bool flag) {
    for (int i = 0; i < IDLE_SPINS; i++) {
        if (done(word, flag))
            return;
        gh_cpu_relax();
    }
    pthread_mutex_lock(&idle_lock);
    gh_xadd(&idle_sleepers, 1);
    while (!done(word, flag))
        pthread_cond_wait(&idle_cv, &idle_lock);
    gh_xadd(&idle_sleepers, (uintptr_t)-1);
    pthread_mutex_unlock(&idle_lock);
}

static bool work_or_inactive(volatile AO_t *active, bool unused) {
    (void)unused;
    return !work_global_empty() || !gh_load(active);
}

void work_wait(volatile AO_t *active) { idle_wait(work_or_inactive, active, false); }

void work_marker_idle(volatile AO_t *busy) {
    if (gh_xadd(busy, (uintptr_t)-1) == 1 && gh_load(&idle_sleepers) != 0)
        work_wake_idle();
}

/* True when the collector may stop waiting: the acquire load orders the
 * helpers' marks, made before their decrement, before what follows. */
static bool markers_quiet(volatile AO_t *busy, bool or_work) {
    return gh_load_acquire(busy) == 0 || (or_work && !work_global_empty());
}

void work_wait_markers(volatile AO_t *busy, bool or_work) {
    idle_wait(markers_quiet, busy, or_work);
}

static void put_empty(workbuf *b) { gh_lfstack_push(&work_empty, &b->node); }

void work_put_slow(gcwork *w, uintptr_t obj) {
    workbuf *b = w->wbuf1;
    if (GH_UNLIKELY(b == NULL)) {
        b = w->wbuf1 = get_empty();
        w->wbuf2 = get_empty();
    } else if (GH_UNLIKELY(b->nobj == WORKBUF_OBJS)) {
        w->wbuf1 = w->wbuf2;
        w->wbuf2 = b;
        b = w->wbuf1;
        if (b->nobj == WORKBUF_OBJS) {
            put_full(b);
            b = w->wbuf1 = get_empty();
        }
    }
    b->obj[b->nobj++] = obj;
}

uintptr_t work_tryget_slow(gcwork *w) {
    workbuf *b = w->wbuf1;
    if (GH_UNLIKELY(b == NULL)) {
        b = w->wbuf1 = get_empty();
        w->wbuf2 = get_empty();
    }
    if (GH_UNLIKELY(b->nobj == 0)) {
        w->wbuf1 = w->wbuf2;
        w->wbuf2 = b;
        b = w->wbuf1;
        if (b->nobj == 0) {
            workbuf *full = (workbuf *)gh_lfstack_pop(&work_full);
            if (full == NULL)
                return 0;
            put_empty(b);
            b = w->wbuf1 = full;
        }
    }
    return b->obj[--b->nobj];
}

void work_dispose(gcwork *w) {
    for (int i = 0; i < 2; i++) {
        workbuf **bp = i == 0 ? &w->wbuf1 : &w->wbuf2;
        workbuf *b = *bp;
        if (b == NULL)
            continue;
        if (b->nobj > 0)
            put_full(b);
        else
            put_empty(b);
        *bp = NULL;
    }
    if (w->bytes_marked) {
        gh_xadd(&work_bytes_marked, w->bytes_marked);
        w->bytes_marked = 0;
    }
    if (w->scan_work)
        work_flush_scan(w);
}

void work_flush_scan(gcwork *w) {
    gh_xadd(&work_scan_done, (uintptr_t)w->scan_work);
    if (w->background)
        gh_xadd(&work_bg_credit, (uintptr_t)w->scan_work);
    w->scan_work = 0;
}

bool work_global_empty(void) { return gh_lfstack_empty(&work_full); }

bool work_local_empty(const gcwork *w) {
    return (w->wbuf1 == NULL || w->wbuf1->nobj == 0) && (w->wbuf2 == NULL || w->wbuf2->nobj == 0);
}

void mark_thread_attach(gh_thread *t) {
    t->gcw = sys_alloc(sizeof(gcwork));
    if (t->gcw == NULL)
        gh_throw("out of memory allocating thread mark state");
}

void mark_thread_detach(gh_thread *t) {
    if (t->gcw == NULL)
        return;
    /* Pointers the barrier recorded but nobody shaded yet (a thread leaving
     * during mark): shade them, or they are lost with the buffer. */
    if (t->wbbuf_next != 0)
        wb_flush(t);
    work_dispose(t->gcw);
    sys_free(t->gcw, sizeof(gcwork));
    t->gcw = NULL;
}

void work_balance(gcwork *w) {
    workbuf *b = w->wbuf2;
    if (b != NULL && b->nobj > 0) {
        /* Give the whole second buffer away. */
        put_full(b);
        w->wbuf2 = get_empty();
        return;
    }
    b = w->wbuf1;
    if (b == NULL || b->nobj < 4)
        return;
    /* Give half of the first. */
    workbuf *half = get_empty();
    uintptr_t n = b->nobj / 2;
    memcpy(half->obj, b->obj + b->nobj - n, n * sizeof(uintptr_t));
    half->nobj = n;
    b->nobj -= n;
    put_full(half);
}
