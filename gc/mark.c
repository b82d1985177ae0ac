/*
 * mark.c — marking: shading pointers, scanning objects by the heap bitmap,
 * scanning roots.                                              Go: mgcmark.go
 *
 * Colours. White: not marked. Grey: marked and queued in a work buffer, not
 * yet scanned. Black: marked and scanned (or noscan, which is black as soon
 * as it is marked, having nothing to scan). An object's mark byte (span.h)
 * is its only colour; grey vs black is "queued or not".
 *
 * mark_shade(p) finds the object containing p in constant time (arena index
 * -> heap_arena.spans -> span -> division magic; while scanning, the span of
 * the previous pointer is tried first), tests and sets its mark byte with a
 * plain load and store (two markers racing may both queue it, and then it
 * is scanned twice, which is harmless: span_try_mark), sets the span's bit in
 * heap_arena.page_marks (the reclaimer frees spans whose bit stays clear), and
 * queues it unless its span is noscan.
 *
 * scan_object(b) visits only the pointer words of the object, reading the
 * heap bitmap 64 words at a time and jumping between set bits with
 * count-trailing-zeros. Objects larger than OBLET_BYTES are split into
 * oblets: scanning the object's base queues its other oblets instead of
 * scanning them, so one huge array cannot keep a marker busy (and the work
 * unshared) for long.
 *
 * The background mark loop (mark_drain) is built around cache misses: it
 * takes objects from the queue several ahead of scanning them, prefetching
 * each object and its heap-bitmap word, and shades the pointers it finds in
 * batches whose span and mark-byte misses overlap (see "batched shading").
 * It is also built around dependency chains: the first grey object a scan
 * finds in the span it is working in (usually cached: allocated next to the
 * one being scanned) is kept in hand and scanned next, without a round trip
 * through the queue and the ring, so a linked list is marked at the speed
 * of its load-to-load chain (span_hint).
 *
 * Pointer slots may hold any value a C program stores there: NULL and
 * pointers outside the heap are ignored. A pointer into the heap's address
 * space that lands in no allocated span is a bug in the program (a dangling
 * pointer or garbage in a pointer slot); with invalidptr=1 it is a fatal
 * error naming the slot's object and type (mark_bad_pointer).
 *
 * Concurrency: mark bytes are set with plain byte stores (markers race, but
 * a byte store cannot clobber a neighbour's mark); page_marks with
 * atomic OR; heap slots are read with relaxed atomic loads because mutators
 * may write them concurrently through the write barrier. A marker's span
 * hint relies on nothing freeing an in-use span during a mark: sweeping
 * ends at sweep termination and starts again after mark termination, and
 * only sweeping frees spans holding objects (gc_collect's release of empty
 * spans frees none a pointer can reach). A hint also copies a span's
 * one-type bits (bits_type, bits_mask, read with an acquire load) once,
 * and the copy stays right for every object the marker can scan because
 * bits_type only moves from none to a type to mixed, and the allocation
 * that moves it during a mark is black (span_hint). A thread caching a
 * span during a mark pre-marks its free slots with plain stores, eight
 * bytes at a time where eight slots in a row are free (mark_free_slots):
 * no marker touches a free slot's byte, since no pointer to a free slot
 * is ever shaded, and bytes next to an allocated slot's are written one by
 * one. Assists take background credit with an atomic add that may
 * overdraw it briefly; the overdraft is paid back by later background
 * work. An assist runs inside a refill, where no safepoint is polled until
 * it returns, so it stops at a stop request, or a handshake its thread has
 * not run, and answers it (assist_drain, mark_assist_alloc): a stop never
 * waits out an assist. A handshake the thread already ran does not stop it
 * (thr_safepoint_wanted): its bit may stay set for as long as the
 * requester is descheduled, and assists must go on paying meanwhile. It also stops after assist_max_ns, so that its refill never
 * stalls the thread for long; assist_max_ns is a plain variable that only
 * tests write, on the only thread that assists then.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "env.h"
#include "mcache.h"
#include "gc.h"
#include "heapbits.h"
#include "limiter.h"
#include "pacer.h"
#include "roots.h"
#include "special.h"
#include "stats.h"
#include "work.h"

volatile AO_t gc_phase;
volatile AO_t assist_work_total; /* scan work done by assists this cycle */

/* Most scan work one assist does: at roughly 1 GB/s of marking, about a
 * millisecond, the longest an allocation should stall for a single assist. */
#define ASSIST_MAX_WORK ((int64_t)1 << 20)

/* And the most CPU time one assist spends, whatever it got through: an
 * assist scans one object at a time, and on a heap whose objects miss the
 * cache at every step (lists spread over a gigabyte) it marks at tens of
 * MB/s, so that ASSIST_MAX_WORK took 20-25 ms (bench_pause). CPU time, not
 * wall time: a wall-clock limit let a thread preempted mid-assist off its
 * debt, and the heap outgrew its goal on a loaded machine (check_gc's
 * soak test). The clocks are read every ASSIST_CLOCK_EVERY objects. Tests
 * may shorten the limit (see the top of this file). */
int64_t assist_max_ns = 1000000;
#define ASSIST_CLOCK_EVERY 32

/* Least scan work an assist pays for (Go's gcOverAssistWork). */
#define ASSIST_MIN_WORK ((int64_t)64 << 10)
/* How much scan work a marker accumulates before publishing it. */
#define SCAN_FLUSH_BYTES ((int64_t)256 << 10)

/* Large objects are scanned in pieces of this size (Go's maxObletBytes). */
#define OBLET_BYTES ((uintptr_t)128 << 10)

/* bad_pointer's holder when only the slot is known: the heap object
 * containing the slot. */
#define HOLDER_OF_SLOT UINTPTR_MAX

GH_COLD GH_NORETURN static void bad_pointer(uintptr_t p, uintptr_t holder, uintptr_t slot) {
    if (holder == HOLDER_OF_SLOT) {
        mspan *ss = span_of(slot);
        holder = ss == NULL ? 0 : ss->startaddr + span_obj_index(ss, slot) * ss->elemsize;
    }
    mspan *hs = holder ? span_of(holder) : NULL;
    const char *tname = "?";
    if (hs != NULL && hs->obj_types != NULL) {
        const gc_type *t = hs->obj_types[span_obj_index(hs, holder)];
        if (t != NULL && t->name != NULL)
            tname = t->name;
    }
    mspan *ps = span_of_unchecked(p);
    if (holder != 0)
        gh_fatalf("invalid pointer %p in pointer slot %p (offset %zu) of object %p of type %s: "
                  "it points into %s heap memory",
                  (void *)p, (void *)slot, (size_t)(slot - holder), (void *)holder, tname,
                  ps == NULL ? "unallocated" : "freed");
    gh_fatalf("invalid pointer %p in root slot %p: it points into %s heap memory", (void *)p,
              (void *)slot, ps == NULL ? "unallocated" : "freed");
}

/* The span s that the arena index gives for p, checked: s itself, or NULL
 * (reporting p under invalidptr) when p is in no allocated object's span.
 * Sets the span's bit in page_marks: the caller is about to mark an object
 * in it. */
static inline mspan *span_checked(mspan *s, uintptr_t p, uintptr_t holder, uintptr_t slot) {
    if (GH_UNLIKELY(s == NULL || gh_load_acquire(&s->state) != SPAN_IN_USE || p >= s->limit ||
                    p < s->startaddr)) {
        if (gh_debug.invalidptr)
            bad_pointer(p, holder, slot);
        return NULL;
    }
    uintptr_t page = arena_page_index(s->startaddr);
    if (!arena_page_bit(s->arena->page_marks, page))
        arena_set_page_bit(s->arena->page_marks, page);
    return s;
}

/* The in-use span containing p, or NULL; see span_checked. */
static inline mspan *span_for_shade(uintptr_t p, uintptr_t holder, uintptr_t slot) {
    heap_arena *ha = arena_of(p);
    if (ha == NULL)
        return NULL;
    return span_checked((mspan *)gh_load(&ha->spans[arena_page_index(p)]), p, holder, slot);
}

/* A marker's memory of the span of the last pointer it shaded, valid for
 * the current mark phase only. Pointers tend to land in the span the
 * previous one did (objects allocated together point at each other), and
 * then the lookup through the arena index is skipped: an in-use span stays
 * in use until the sweep that follows the mark, and its page_marks bit, set
 * when it became the hint, stays set.
 *
 * The hint copies what shading and scanning an object of the span read
 * (bounds, mark bytes, object size, division magic, noscan), so that a
 * marker keeps them in registers while it walks objects allocated together
 * and never reloads them from the mspan. For a span of objects of at most
 * 64 words lying in one arena it also keeps where the span's heap bits
 * start: a page is 16 bitmap words, so the span starts on a bitmap word,
 * and an object's bits are found by its word offset in the span alone
 * (scan_small).
 *
 * On a chain of objects (a list, a tree walked down one side) marking is
 * one long dependency: load a slot, find and mark its object, find the
 * object's heap bits, load its first pointer slot. Where the object size is
 * a power of two no larger than a page (11 of the size classes, 8 to 8192
 * bytes), objects are aligned to their size within a page-aligned span, so
 * a pointer's object is found with a mask and its index with a shift
 * instead of two multiplies on that path. And where every slot of the span
 * holds one type's single-element bits (mspan.bits_type, the common case),
 * the hint keeps those bits and the chain skips the heap-bitmap load.
 *
 * That copy is read once, when the hint is set, and stays right for every
 * object the marker can scan: bits_type only moves from NULL to a type to
 * SPAN_BITS_MIXED, and the slots of every object allocated before the mark
 * began hold the bits bits_type named then (the stop at sweep termination
 * orders those writes before any marker's read). An allocation that later
 * makes the span mixed (or gives a span its first type) is of an object
 * allocated during the mark, which is black and never scanned. */
typedef struct span_hint {
    uintptr_t base, len; /* p is in the span iff p - base < len; len 0: none */
    mspan *span;
    volatile unsigned char *marks;
    uintptr_t elemsize;
    uint32_t divmagic;
    unsigned elem_shift;   /* log2(elemsize) if a power of two <= a page, else 0 */
    bool noscan;
    unsigned elem_words;  /* elemsize in words, when bits != NULL */
    uint64_t elem_mask;   /* elem_words low bits set */
    const uint64_t *bits; /* the span's first heap-bitmap word; NULL: scan it bit by bit */
    /* When every slot holds one type's single-element bits (bits != NULL):
     * those bits, never 0 for a type with pointers; else 0. */
    uint64_t type_bits;
} span_hint;

GH_INLINE bool hint_covers(const span_hint *h, uintptr_t p) { return p - h->base < h->len; }

GH_INLINE void hint_set(span_hint *h, mspan *s) {
    h->span = s;
    h->base = s->startaddr;
    h->len = s->limit - s->startaddr;
    h->marks = s->mark_bytes;
    h->elemsize = s->elemsize;
    h->divmagic = s->divmagic;
    h->elem_shift = 0;
    if ((s->elemsize & (s->elemsize - 1)) == 0 && s->elemsize <= GH_PAGE_SIZE)
        h->elem_shift = (unsigned)__builtin_ctzl(s->elemsize);
    h->noscan = sc_span_class_noscan(s->spanclass);
    heap_arena *ha = s->arena;
    uintptr_t words = s->elemsize / GH_PTR_SIZE;
    h->bits = NULL;
    if (!h->noscan && words <= 64 && s->limit - ha->base <= GH_ARENA_BYTES) {
        h->bits = &ha->bitmap[(s->startaddr - ha->base) / GH_PTR_SIZE / 64];
        h->elem_words = (unsigned)words;
        h->elem_mask = words == 64 ? ~(uint64_t)0 : ((uint64_t)1 << words) - 1;
        const struct gc_type *bt =
            (const struct gc_type *)AO_load_acquire((volatile AO_t *)&s->bits_type);
        h->type_bits = bt != NULL && bt != SPAN_BITS_MIXED ? s->bits_mask & h->elem_mask : 0;
    }
}

/* Marks the object of the hint's span that p points into. If this call
 * marked it and it has pointers, it goes to *next when next is not NULL
 * and *next is free, else to the queue. */
GH_INLINE void hint_mark(gcwork *w, const span_hint *h, uintptr_t p, uintptr_t *next) {
    uintptr_t idx, obj;
    if (h->elem_shift != 0) {
        idx = (p - h->base) >> h->elem_shift;
        obj = p & ~(h->elemsize - 1);
    } else {
        idx = sc_obj_index(p - h->base, h->divmagic);
        obj = h->base + idx * h->elemsize;
    }
    if (!mark_byte_try(&h->marks[idx]))
        return;
    w->bytes_marked += h->elemsize;
    if (h->noscan)
        return;
    if (next != NULL && *next == 0)
        *next = obj;
    else
        work_put(w, obj);
}

/* Marks object idx of s; queues it if this call marked it and it has
 * pointers. */
GH_INLINE void mark_and_queue(gcwork *w, mspan *s, uintptr_t idx) {
    if (!span_try_mark(s, idx))
        return;
    w->bytes_marked += s->elemsize;
    if (sc_span_class_noscan(s->spanclass))
        return;
    work_put(w, s->startaddr + idx * s->elemsize);
}

/* Shades p (found in `slot` of object `holder`, 0 for roots). */
static inline void shade_from(gcwork *w, uintptr_t p, uintptr_t holder, uintptr_t slot) {
    mspan *s = span_for_shade(p, holder, slot);
    if (s != NULL)
        mark_and_queue(w, s, span_obj_index(s, p));
}

void mark_shade(gcwork *w, uintptr_t p) { shade_from(w, p, 0, 0); }

/* --- batched shading in the background mark loop ---
 *
 * On a heap much larger than the caches, shading one pointer found by a
 * scan misses in the cache twice in a row: first on the target's mspan
 * (state, bounds, size, mark bitmap), then on its mark byte; scanning it,
 * once taken from the queue, misses on the object and its heap-bitmap word
 * (the object ring of mark_drain prefetches those). Waiting out each miss
 * in turn leaves the marker idle most of the time on a random graph.
 * Markers (mark_drain), assists (assist_drain) and the write barrier's
 * flush (mark_shade_n) therefore shade in batches: a pointer outside the
 * span hint is collected with its span, read from the arena index, and the
 * mspan is prefetched; when SHADE_BATCH pointers are collected, one pass
 * checks each against its span and prefetches its mark byte, and a second
 * pass marks and queues them, so the misses of a whole batch overlap. A
 * pointer inside the span hint is shaded at once (that mspan is in the
 * cache, and so, usually, are its mark bytes).
 *
 * Delaying a shade is as safe as a slow marker: the pointer was read from a
 * grey object or a barrier buffer, and the object it reaches cannot be
 * freed during the mark. Pointers in a batch are work nobody else can see,
 * so every user shades what is left in its batch (shade_batch_run) before
 * it returns or concludes that it has no work. */
#define SHADE_BATCH 16

typedef struct shade_batch {
    unsigned n;
    struct {
        uintptr_t p, slot; /* p was read from slot of a heap object (0: a barrier buffer) */
        mspan *s;          /* the arena index's span for p, unchecked; then checked */
        uintptr_t idx;     /* p's object index in s, once checked */
    } e[SHADE_BATCH];
} shade_batch;

/* Shades the batch's pointers, which must be some; returns the span of the
 * last one that was in an allocated span (the caller's next hint), or
 * NULL. */
static mspan *shade_batch_run(gcwork *w, shade_batch *sb) {
    unsigned n = sb->n, k = 0;
    for (unsigned i = 0; i < n; i++) {
        uintptr_t p = sb->e[i].p;
        mspan *s = span_checked(sb->e[i].s, p, HOLDER_OF_SLOT, sb->e[i].slot);
        if (s == NULL)
            continue;
        uintptr_t idx = span_obj_index(s, p);
        __builtin_prefetch(&s->mark_bytes[idx]);
        sb->e[k].s = s;
        sb->e[k].idx = idx;
        k++;
    }
    for (unsigned i = 0; i < k; i++)
        mark_and_queue(w, sb->e[i].s, sb->e[i].idx);
    sb->n = 0;
    return k != 0 ? sb->e[k - 1].s : NULL;
}

/* Shades what the batch holds, if anything; returns whether it held any.
 * (The hint is updated here rather than in shade_batch_run so that its
 * address never leaves the marker's loop and it can live in registers.) */
GH_INLINE bool batch_flush(gcwork *w, span_hint *hint, shade_batch *sb) {
    if (sb->n == 0)
        return false;
    mspan *s = shade_batch_run(w, sb);
    if (s != NULL)
        hint_set(hint, s);
    return true;
}

/* Shades p, found in `slot` of a heap object (0 for a barrier buffer's
 * pointer), now or in the batch. An object of the hint's span that this
 * marks may go to *next (hint_mark). */
GH_INLINE void batch_shade(gcwork *w, span_hint *hint, shade_batch *sb, uintptr_t p,
                           uintptr_t slot, uintptr_t *next) {
    if (hint_covers(hint, p)) {
        hint_mark(w, hint, p, next);
        return;
    }
    heap_arena *ha = arena_of(p);
    if (ha == NULL)
        return;
    mspan *s = (mspan *)gh_load(&ha->spans[arena_page_index(p)]);
    __builtin_prefetch(s);
    if (sb->n == SHADE_BATCH)
        batch_flush(w, hint, sb);
    unsigned i = sb->n++;
    sb->e[i].p = p;
    sb->e[i].slot = slot;
    sb->e[i].s = s;
}

/* A write-barrier buffer's pointers (no slot to report), in batches. */
void mark_shade_n(gcwork *w, const uintptr_t *ptrs, size_t n) {
    span_hint hint = {0};
    shade_batch batch = {0};
    for (size_t i = 0; i < n; i++)
        batch_shade(w, &hint, &batch, ptrs[i], 0, NULL);
    batch_flush(w, &hint, &batch);
}

/* Shades each non-NULL pointer of the object at b in the hint's span, a
 * span with heap bits in the hint: the span's one type's bits, or the
 * object's from one bitmap word, or two when it straddles a 64-word
 * boundary. */
GH_INLINE void scan_small(gcwork *w, span_hint *hint, uintptr_t b, shade_batch *sb,
                          uintptr_t *next) {
    uint64_t bits = hint->type_bits;
    if (bits == 0) { /* not a one-type span: the object's own bits */
        uintptr_t off = (b - hint->base) / GH_PTR_SIZE;
        unsigned shift = off % 64;
        const volatile AO_t *bw = (const volatile AO_t *)&hint->bits[off / 64];
        bits = (uint64_t)AO_load(bw) >> shift;
        if (shift + hint->elem_words > 64)
            bits |= (uint64_t)AO_load(bw + 1) << (64 - shift);
        bits &= hint->elem_mask;
    }
    while (bits != 0) {
        uintptr_t slot = b + (uintptr_t)__builtin_ctzll(bits) * GH_PTR_SIZE;
        bits &= bits - 1;
        uintptr_t p = AO_load_acquire((volatile AO_t *)slot);
        if (p != 0)
            batch_shade(w, hint, sb, p, slot, next);
    }
}

typedef struct scan_ctx {
    gcwork *w;
    span_hint *hint;
    shade_batch *batch;
} scan_ctx;

GH_INLINE void shade_slot_batched(void *ctx, uintptr_t slot, uintptr_t p) {
    scan_ctx *c = ctx;
    batch_shade(c->w, c->hint, c->batch, p, slot, NULL);
}

/* Scans the grey object (or oblet) at b; returns the bytes scanned. The
 * hint becomes b's span (it usually is already: objects are scanned in
 * about the order they were found); the pointers found go through the
 * batch, and one grey object of a small object's span may be handed back in
 * *next when next is not NULL (see mark_drain). Go: scanobject */
GH_INLINE uintptr_t scan_object(gcwork *w, span_hint *hint, uintptr_t b, shade_batch *batch,
                                uintptr_t *next) {
    if (!hint_covers(hint, b)) {
        mspan *s = span_of(b);
        GH_ASSERT(s != NULL);
        hint_set(hint, s);
    }
    uintptr_t n = hint->elemsize;
    if (GH_LIKELY(hint->bits != NULL)) {
        scan_small(w, hint, b, batch, next);
    } else {
        mspan *s = hint->span;
        if (n > OBLET_BYTES) {
            uintptr_t obj = s->startaddr;
            if (b == obj) {
                /* Queue the other oblets; each entry's address says which. */
                for (uintptr_t o = b + OBLET_BYTES; o < obj + n; o += OBLET_BYTES)
                    work_put(w, o);
            }
            n = GH_MIN(obj + s->elemsize - b, OBLET_BYTES);
        }
        scan_ctx ctx = {w, hint, batch};
        hb_for_each_pointer(s->arena, b, n, shade_slot_batched, &ctx);
    }
    w->scan_work += (int64_t)n;
    /* Publish progress now and then: parked assists wait for it. */
    if (w->scan_work >= SCAN_FLUSH_BYTES)
        work_flush_scan(w);
    return n;
}

/* Objects in flight between being taken from the queue and being scanned.
 * Scanning an object stalls on its first cache line and on its heap-bitmap
 * word; taking it this many objects ahead and prefetching both hides most
 * of that latency (bdwgc's mark-stack prefetch, Go 1.25's span-batched
 * Green Tea attack the same stall). */
#define PREFETCH_DEPTH 8

/* How many objects a marker takes from its queue (each with the chain it
 * leads to) between checks that others have work. */
#define BALANCE_INTERVAL 64

/* How far past an object handed on in `next` (a chain within one span)
 * the marker prefetches. Such a chain was usually allocated in order — a
 * list, a tree built depth first — so what it reaches next lies just
 * above: eight cache lines ahead is sixteen links of a list of 32-byte
 * nodes, about 100 ns of marking, enough to cover a load from L2 or L3 on
 * the chain's critical path. The ring's prefetch cannot help there: those
 * objects never pass through the ring. */
#define CHAIN_PREFETCH_BYTES 512

void mark_drain(gcwork *w) {
    uintptr_t ring[PREFETCH_DEPTH];
    shade_batch batch = {0};
    span_hint hint = {0};
    unsigned head = 0, n = 0, since_balance = 0;
    for (;;) {
        if (++since_balance == BALANCE_INTERVAL) {
            since_balance = 0;
            if (work_global_empty())
                work_balance(w);
        }
        /* Top the ring up from the local buffer; only an empty ring looks
         * further: first to the shade batch, then to the other buffer and
         * the global queue. */
        while (n < PREFETCH_DEPTH) {
            uintptr_t b = work_tryget_local(w);
            if (b == 0) {
                if (n != 0)
                    break;
                if (batch_flush(w, &hint, &batch))
                    continue;
                if ((b = work_tryget_slow(w)) == 0)
                    break;
            }
            __builtin_prefetch((const void *)b);
            if (!hint_covers(&hint, b)) /* else its bitmap word is likely cached */
                hb_prefetch(b);
            ring[(head + n) % PREFETCH_DEPTH] = b;
            n++;
        }
        if (n == 0)
            return; /* the batch is empty, too */
        uintptr_t b = ring[head];
        head = (head + 1) % PREFETCH_DEPTH;
        n--;
        /* Scan b, then the chain of objects each scan hands on within its
         * span, in a loop of its own: a chain's link is the marker's
         * critical path, and nothing else need be carried around it. */
        for (;;) {
            uintptr_t next = 0;
            scan_object(w, &hint, b, &batch, &next);
            if (next == 0)
                break;
            b = next;
            __builtin_prefetch((const void *)(b + CHAIN_PREFETCH_BYTES));
        }
    }
}

/* An assist's drain: t's work until `budget` bytes were scanned, no work is
 * left, the collector waits for t at a safepoint (thr_safepoint_wanted) or
 * t has spent assist_max_ns of CPU since cpu_start; returns the scan work
 * done. */
static int64_t assist_drain(gh_thread *t, int64_t budget, uint64_t cpu_start) {
    gcwork *w = t->gcw;
    int64_t done = 0;
    span_hint hint = {0};
    shade_batch batch = {0};
    uint64_t start = gh_clock_ns(CLOCK_MONOTONIC);
    unsigned since_clock = 0;
    while (done < budget) {
        /* Give way to a stop or a handshake: an assist runs at a refill,
         * with no safepoint until it returns, and the stop waits for it.
         * Only to one that waits for this thread: a handshake it already
         * ran would otherwise excuse every assist until the requester
         * next runs, and the heap would grow unpaid meanwhile. */
        if (GH_UNLIKELY(thr_safepoint_wanted(t)))
            break;
        if (++since_clock == ASSIST_CLOCK_EVERY) {
            since_clock = 0;
            /* The cheap clock first; the thread's own CPU time decides,
             * so that a thread preempted mid-assist is not let off its
             * work (the heap goal's back-pressure) by time it did not
             * spend. */
            if ((int64_t)(gh_clock_ns(CLOCK_MONOTONIC) - start) >= assist_max_ns &&
                (int64_t)(gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start) >= assist_max_ns)
                break;
        }
        uintptr_t b = work_tryget(w);
        if (b == 0) {
            if (batch_flush(w, &hint, &batch))
                continue;
            break;
        }
        done += (int64_t)scan_object(w, &hint, b, &batch, NULL);
    }
    batch_flush(w, &hint, &batch); /* nothing may stay unseen in it */
    return done;
}

/* --- mark assists --- */

/* The assist ratio's inputs, set at mark start: the scan work this cycle
 * is expected to take (the last cycle's), the heap goal, the heap_live at
 * the trigger, and the hard goal the goal may be pushed back to. */
static volatile AO_t assist_scan_expected, assist_heap_goal, assist_triggered, assist_hard_goal;

void mark_assist_start_cycle(uint64_t scan_expected, uint64_t heap_goal, uint64_t triggered,
                             uint64_t hard_goal) {
    gh_store(&assist_scan_expected, scan_expected);
    gh_store(&assist_heap_goal, heap_goal);
    gh_store(&assist_triggered, triggered);
    gh_store(&assist_hard_goal, hard_goal);
}

/* Scan work owed per byte allocated from now on (gc/pacer.c). */
static double assist_work_per_byte(void) {
    pacer_assist_inputs in = {
        .work_done = gh_load(&work_scan_done),
        .work_expected = gh_load(&assist_scan_expected),
        .work_worst = gh_load(&gstats.heap_scan),
        .heap_live = gh_load(&gstats.heap_live),
        .heap_goal = gh_load(&assist_heap_goal),
        .hard_goal = gh_load(&assist_hard_goal),
        .triggered = gh_load(&assist_triggered),
    };
    return pacer_assist_ratio(&in);
}

/* Bytes of allocation `work` units of scan work pay for at `wpb` work per
 * byte, saturated at a quarter of INT64_MAX so that adding it to a
 * thread's (negative) credit cannot overflow. With GOGC=off the goal is
 * 2^64 and wpb about 2^-48: 64 KiB of work would be 2^64 bytes, and
 * converting a double past INT64_MAX to int64_t is undefined (x86 gives
 * INT64_MIN, a debt instead of a credit). */
#define ASSIST_CREDIT_MAX (INT64_MAX / 4)
static int64_t work_to_bytes(int64_t work, double wpb) {
    double b = (double)work / wpb;
    return b < (double)ASSIST_CREDIT_MAX ? (int64_t)b : ASSIST_CREDIT_MAX;
}

/* Scan work that `bytes` of allocation owe, saturated alike: past the hard
 * goal wpb is the whole work left per byte (pacer.h). */
static int64_t bytes_to_work(int64_t bytes, double wpb) {
    double w = (double)bytes * wpb;
    return w < (double)ASSIST_CREDIT_MAX ? (int64_t)w : ASSIST_CREDIT_MAX;
}

volatile AO_t assist_cpu_ns;

void mark_assist_alloc(gh_thread *t, uintptr_t bytes) {
    if (GH_LIKELY(gh_load(&gc_phase) != GC_MARK))
        return;
    /* The GC CPU limiter is full: the goal is being given up, so the
     * allocation is not made to pay for it (gc/limiter.c). */
    if (GH_UNLIKELY(gh_load(&limiter_active))) {
        t->assist_credit = 0;
        return;
    }
    t->assist_credit -= (int64_t)bytes;
    if (t->assist_credit >= 0)
        return;
    double wpb = assist_work_per_byte();
    int64_t owed = bytes_to_work(-t->assist_credit, wpb) + 1;
    /* Pay at least ASSIST_MIN_WORK, so that a thread allocating steadily
     * assists now and then in batches rather than at every refill. */
    if (owed < ASSIST_MIN_WORK)
        owed = ASSIST_MIN_WORK;
    /* Work the background markers did beyond what assists have taken pays
     * first: while they keep up with the allocation, nobody assists. */
    int64_t credit = (int64_t)gh_load(&work_bg_credit);
    if (credit > 0) {
        int64_t stolen = credit < owed ? credit : owed;
        gh_xadd(&work_bg_credit, (uintptr_t)-stolen);
        t->assist_credit += work_to_bytes(stolen, wpb) + 1;
        owed -= stolen;
        if (owed == 0)
            return;
    }
    /* One assist does a bounded amount of work, in a bounded time, so
     * that no allocation stalls for long; any remainder stays owed and is
     * paid at the thread's next refill. */
    if (owed > ASSIST_MAX_WORK)
        owed = ASSIST_MAX_WORK;
    uint64_t cpu0 = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t done = assist_drain(t, owed, cpu0);
    gh_xadd(&assist_cpu_ns, (uintptr_t)(gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0));
    t->assist_credit += work_to_bytes(done, wpb);
    /* Grey objects found while assisting go where the workers see them. */
    work_dispose(t->gcw);
    gh_xadd(&assist_work_total, (uintptr_t)done);
    /* An assist cut short by a stop or handshake request answers it here
     * (the caller is at a safepoint) rather than at the next refill; the
     * debt left is paid after it. Without this, pause 2 waited out whole
     * assists: 2-4 ms in the first cycle of one pause run in ten. */
    gc_safepoint();
    if (t->assist_credit < 0 && work_global_empty()) {
        /* No grey object left to scan, yet the debt stands: marking is
         * finishing (handshakes, termination). Below the goal the debt is
         * forgiven; past it the thread waits for the mark to end rather
         * than grow the heap further (Go parks such goroutines on its
         * assist queue). */
        if (gh_load(&gstats.heap_live) >= gh_load(&assist_heap_goal))
            mark_assist_park((uint64_t)bytes_to_work(-t->assist_credit, wpb));
        t->assist_credit = 0;
    }
}

static pthread_mutex_t assist_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t assist_cv = PTHREAD_COND_INITIALIZER;

void mark_assist_park(uint64_t debt) {
    uint64_t target = gh_load(&work_scan_done) + debt;
    gc_enter_blocking();
    pthread_mutex_lock(&assist_lock);
    /* Until the mark ends, or the background workers have done the
     * thread's debt in scan work (they publish progress every
     * SCAN_FLUSH_BYTES); checked every millisecond. */
    while (gh_load(&gc_phase) == GC_MARK && gh_load(&work_scan_done) < target) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&assist_cv, &assist_lock, &ts);
    }
    pthread_mutex_unlock(&assist_lock);
    gc_leave_blocking();
}

void mark_assist_release(void) {
    pthread_mutex_lock(&assist_lock);
    pthread_cond_broadcast(&assist_cv);
    pthread_mutex_unlock(&assist_lock);
}

static void shade_root_slot(void **slot, void *arg) {
    uintptr_t p = AO_load_acquire((volatile AO_t *)slot);
    if (p != 0)
        shade_from(arg, p, 0, (uintptr_t)slot);
}

void mark_thread_frames(gcwork *w, gh_thread *t) {
    roots_for_each_frame_slot(t, shade_root_slot, w);
}

static void shade_value(void *ctx, uintptr_t p) {
    if (p != 0)
        mark_shade(ctx, p);
}

typedef struct referent_ctx {
    gcwork *w;
    uintptr_t obj;
} referent_ctx;

GH_INLINE void shade_referent(void *ctx, uintptr_t slot, uintptr_t p) {
    referent_ctx *c = ctx;
    shade_from(c->w, p, c->obj, slot);
}

/* Marks the referents of obj without marking obj (a finalizable object). */
static void scan_referents(void *ctx, uintptr_t obj) {
    mspan *s = span_of(obj);
    if (s == NULL || sc_span_class_noscan(s->spanclass))
        return;
    referent_ctx c = {ctx, obj};
    hb_for_each_pointer(s->arena, obj, s->elemsize, shade_referent, &c);
}

void mark_globals(gcwork *w) {
    roots_for_each_global(shade_root_slot, w);
    specials_mark_roots(shade_value, scan_referents, w);
    final_mark_queue(shade_value, w);
}

void mark_new_object(gh_thread *t, mspan *s, uintptr_t p) {
    uintptr_t idx = span_obj_index(s, p);
    if (span_try_mark(s, idx)) {
        heap_arena *ha = arena_of(s->startaddr);
        arena_set_page_bit(ha->page_marks, arena_page_index(s->startaddr));
        t->gcw->bytes_marked += s->elemsize;
    }
}

/* The 64 alloc bits of s starting at object 64*w, with bits past nelems
 * set (as if allocated). */
static inline uint64_t alloc_word(const mspan *s, uintptr_t w) {
    uint64_t a;
    __builtin_memcpy(&a, s->alloc_bits + w * 8, sizeof a);
    uintptr_t end = s->nelems - w * 64;
    if (end < 64)
        a |= ~(uint64_t)0 << end;
    return a;
}

/* Bits of word w for the objects at or after index `from`. */
static inline uint64_t from_mask(uintptr_t w, uintptr_t from) {
    if (from <= w * 64)
        return ~(uint64_t)0;
    if (from >= w * 64 + 64)
        return 0;
    return ~(uint64_t)0 << (from - w * 64);
}

/* Sets (or clears) the marks of every slot of s from freeindex on that
 * alloc_bits says is free; returns how many marks changed. No marker
 * touches a free slot's mark byte, so plain stores do: eight bytes at once
 * where eight slots in a row are free (a span that enters a cache during a
 * mark is mostly free), a byte at a time next to allocated slots, whose
 * bytes markers may be setting. Mark bytes hold 0 or 1, so the bytes an
 * eight-byte store changes are the byte sum of old ^ new, which one
 * multiply adds up in the top byte. */
static uintptr_t mark_free_slots(mspan *s, bool set) {
    const uint64_t all = set ? 0x0101010101010101u : 0;
    uintptr_t n = 0, words = GH_DIV_ROUND_UP(s->nelems, 64);
    for (uintptr_t w = s->freeindex / 64; w < words; w++) {
        uint64_t free = ~alloc_word(s, w) & from_mask(w, s->freeindex);
        while (free != 0) {
            unsigned group = (unsigned)__builtin_ctzll(free) & ~7u;
            uint64_t slots = (free >> group) & 0xff;
            free &= ~((uint64_t)0xff << group);
            unsigned char *bytes = (unsigned char *)&s->mark_bytes[w * 64 + group];
            if (slots == 0xff) {
                uint64_t old;
                __builtin_memcpy(&old, bytes, sizeof old);
                n += (uintptr_t)(((old ^ all) * 0x0101010101010101u) >> 56);
                __builtin_memcpy(bytes, &all, sizeof all);
                continue;
            }
            for (; slots != 0; slots &= slots - 1) {
                volatile unsigned char *b = &bytes[__builtin_ctzll(slots)];
                if ((AO_char_load(b) != 0) != set) {
                    AO_char_store(b, set);
                    n++;
                }
            }
        }
    }
    return n;
}

void mark_span_free_slots(gh_thread *t, mspan *s) {
    if (s == &mcache_empty_span || s->alloc_black)
        return;
    uintptr_t n = mark_free_slots(s, true);
    if (n != 0) {
        arena_set_page_bit(s->arena->page_marks, arena_page_index(s->startaddr));
        t->gcw->bytes_marked += n * s->elemsize;
    }
    s->alloc_black = true;
}

void mark_span_unmark_unused(gh_thread *t, mspan *s) {
    if (!s->alloc_black)
        return;
    s->alloc_black = false;
    t->gcw->bytes_marked -= mark_free_slots(s, false) * s->elemsize;
}

void mark_reset_cycle(void) {
    gh_store(&assist_work_total, 0);
    gh_store(&work_bytes_marked, 0);
    gh_store(&work_scan_done, 0);
    gh_store(&work_bg_credit, 0);
    /* No span has a marked object yet. */
    for (uintptr_t i = 0; i < arena_count(); i++) {
        heap_arena *ha = arena_at(i);
        for (uintptr_t w = 0; w < GH_PAGE_WORDS; w++)
            gh_store(&ha->page_marks[w], 0);
    }
}

uint64_t mark_bytes_marked(void) { return gh_load(&work_bytes_marked); }
