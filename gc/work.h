/*
 * work.h — grey-object queues: work buffers and per-thread gcwork.
 *                                                   Go: mgcwork.go, lfstack.go
 *
 * Grey objects (marked, not yet scanned) wait in fixed-size work buffers.
 * Each marking thread has a gcwork holding two buffers (Go's wbuf1/wbuf2
 * scheme: a thread alternating between putting and getting near a buffer
 * boundary does not thrash the global lists); full buffers go to the global
 * `work_full` lock-free stack, where idle markers take them, and empty ones
 * to `work_empty`. Buffers are never freed while the heap lives, which makes
 * the lock-free stacks safe (a node read by a racing pop is still mapped).
 */
#ifndef GH_WORK_H
#define GH_WORK_H

#include "atomics.h"

/* 2 KiB buffers, as Go: big enough that global-list traffic is rare, small
 * enough that a thread's private buffers hide little work from the others. */
#define WORKBUF_BYTES 2048
#define WORKBUF_OBJS ((WORKBUF_BYTES - 2 * sizeof(uintptr_t)) / sizeof(uintptr_t))

typedef struct workbuf {
    gh_lfnode node;
    uintptr_t nobj;
    uintptr_t obj[WORKBUF_OBJS];
} workbuf;

typedef struct gcwork {
    workbuf *wbuf1, *wbuf2;
    uint64_t bytes_marked; /* flushed into the cycle total by work_dispose;
                              modulo 2^64: unmarking unused pre-marked slots
                              subtracts, possibly below zero locally */
    int64_t scan_work;     /* bytes scanned, for assists and pacing */
    bool background;       /* a marker's, not an assisting mutator's: its
                              scan work is credit that assists may take */
} gcwork;

void work_init(void);
void work_release_all(void);

/* Slow paths of work_put/work_tryget: buffer swaps and global traffic. */
void work_put_slow(gcwork *w, uintptr_t obj);
uintptr_t work_tryget_slow(gcwork *w);

/* Queues a grey object: an inline store into wbuf1 unless it is full. */
GH_INLINE void work_put(gcwork *w, uintptr_t obj) {
    workbuf *b = w->wbuf1;
    if (GH_LIKELY(b != NULL && b->nobj < WORKBUF_OBJS)) {
        b->obj[b->nobj++] = obj;
        return;
    }
    work_put_slow(w, obj);
}

/* A grey object from w's current buffer only, 0 if it is empty. */
GH_INLINE uintptr_t work_tryget_local(gcwork *w) {
    workbuf *b = w->wbuf1;
    return GH_LIKELY(b != NULL && b->nobj > 0) ? b->obj[--b->nobj] : 0;
}

/* A grey object from w, or from the global queue; 0 if both are empty.
 * (No object is at address 0.) */
GH_INLINE uintptr_t work_tryget(gcwork *w) {
    uintptr_t obj = work_tryget_local(w);
    return obj != 0 ? obj : work_tryget_slow(w);
}

/* Adds w's scan work to the cycle total (and, for a background marker's,
 * to work_bg_credit). */
void work_flush_scan(gcwork *w);
/* Moves w's buffers to the global lists and its counters to the totals. */
void work_dispose(gcwork *w);
bool work_global_empty(void);
/* Blocks an idle marker until the global queue has work or *active is
 * cleared; whoever clears it calls work_wake_idle. */
void work_wait(volatile AO_t *active);
void work_wake_idle(void);
/* Counts a helper marker out of *busy (the collector's count of markers
 * that may hold grey objects), waking a work_wait_markers sleeper when it
 * was the last. */
void work_marker_idle(volatile AO_t *busy);
/* Blocks until *busy is 0, or, with or_work, until the global queue has
 * work: the collector waiting for helper markers, asleep rather than
 * spinning on a CPU a helper or a mutator could use. */
void work_wait_markers(volatile AO_t *busy, bool or_work);
/* When the global queue is empty, shares some of w's grey objects through
 * it, so that other markers and assisting threads find work (Go's
 * gcWork.balance). */
void work_balance(gcwork *w);
bool work_local_empty(const gcwork *w);

/* Cycle totals, flushed from every gcwork. */
extern volatile AO_t work_bytes_marked;
extern volatile AO_t work_scan_done;
/* Scan work done by background markers and not yet taken by assists
 * (signed: racing assists may overdraw it briefly). Go: bgScanCredit */
extern volatile AO_t work_bg_credit;

#endif /* GH_WORK_H */
