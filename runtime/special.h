/*
 * special.h — specials: per-object records hung off a span, kept in order of
 * the object's offset (Go's mspan.specials). A finalizer, a weak handle and
 * a heap-profile sample are specials. A span with any special has its first
 * page's bit set in heap_arena.page_specials, so the marker and the sweeper
 * look only at spans that have some.
 *
 * Concurrency: a span's list is guarded by the span's special_lock, a spin
 * lock (held for a few list operations only). Lock order: below every mutex
 * of lock.h except none is taken inside it.
 */
#ifndef GH_SPECIAL_H
#define GH_SPECIAL_H

#include "goheap.h"
#include "span.h"

enum { SPECIAL_FINALIZER = 1, SPECIAL_WEAK = 2, SPECIAL_PROFILE = 3 };

struct gc_weak {
    volatile AO_t obj; /* the object, or 0 once it was found unreachable */
};

typedef struct special {
    struct special *next;
    uintptr_t offset; /* of the object (or tiny sub-object) in the span */
    int kind;
    union {
        struct {
            gc_finalizer fn;
            void *arg;
        } fin;
        gc_weak *weak;            /* the handle, a noscan heap object */
        struct profile_bucket *bucket; /* for heap profiles */
    } u;
} special;

void special_lock(mspan *s);
void special_unlock(mspan *s);

/* Adds sp to s (sorted by offset). false if a special of the same kind
 * already exists at that offset (sp is not added). Takes the lock. */
bool special_add(mspan *s, special *sp);
/* Removes and returns the special of `kind` at offset, or NULL. */
special *special_remove(mspan *s, uintptr_t offset, int kind);
/* Finds without removing (caller holds the lock). */
special *special_find_locked(mspan *s, uintptr_t offset, int kind);

/* Mark phase: for every span with specials, keeps alive what specials
 * need: the referents of objects with finalizers (not the objects), the
 * finalizer arguments, and the weak handles. `shade` marks one pointer,
 * `scan` marks the referents of an object. */
void specials_mark_roots(void (*shade)(void *ctx, uintptr_t p),
                         void (*scan)(void *ctx, uintptr_t obj), void *ctx);

/* Sweep: called by the sweeper for a claimed span whose page_specials bit
 * is set, before its marks become the alloc bits. Revives unmarked
 * objects that have finalizers (marks them) and queues the
 * finalizers; clears weak handles of unmarked or revived objects; reports
 * freed profile samples. */
void specials_sweep(mspan *s);

/* The finalizer queue is a root: marks every queued object and argument. */
void final_mark_queue(void (*shade)(void *ctx, uintptr_t p), void *ctx);

void final_init(bool manual);
void final_shutdown(void);

/* --- heap profiles (profile.c) --- */
struct profile_bucket;
struct mcache;
/* Records a sample for the new object obj of span s (size bytes) with the
 * caller's stack, and schedules the thread's next sample. */
void profile_sample(struct mcache *c, mspan *s, uintptr_t obj, uintptr_t size);
/* A sampled object was freed (sweeper). */
void profile_record_free(struct profile_bucket *b, uintptr_t size);
/* Bytes until the first sample of a new thread. */
int64_t profile_next_sample(void);
void profile_init(void);
void profile_shutdown(void);

#endif /* GH_SPECIAL_H */
