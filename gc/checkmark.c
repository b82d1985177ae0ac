/*
 * checkmark.c — verifying a mark: every reachable object must be marked.
 *                                                          Go: mcheckmark.go
 *
 * With GOHEAP_DEBUG=gccheckmark=1, mark termination (world stopped, marking
 * complete) runs a second, simple, stop-the-world mark from the same roots,
 * recording what it reaches in heap_arena.checkmarks (one bit per heap word,
 * at the object's first word) rather than in the real mark bits. Every
 * object it reaches must already carry a real mark; one that does not was
 * reachable yet about to be freed — a missing write barrier (a heap store
 * without GC_STORE), a frame that lost a local, or a collector bug. The
 * verifier dies naming the object, its type, and the slot it was found in
 * (object, offset and type of the holder, or the root).
 *
 * Go 1.19's checkmark mode recorded its bits at a wrongly computed index and
 * so verified almost nothing (golang/go#69074). Here the bit is the object
 * base's word index within its arena, and tests/death proves the verifier
 * catches a store made without GC_STORE.
 *
 * Types are known only when they were recorded at allocation, which
 * gccheckmark=1 switches on (mspan.obj_types).
 */
#include <string.h>

#include "gc.h"
#include "heapbits.h"
#include "roots.h"
#include "sys.h"
#include "work.h"

static const char *type_name(mspan *s, uintptr_t obj) {
    if (s->obj_types == NULL)
        return "?";
    const gc_type *t = s->obj_types[span_obj_index(s, obj)];
    if (t == NULL)
        return sc_span_class_noscan(s->spanclass) ? "(noscan)" : "?";
    return t->name ? t->name : "?";
}

/* Sets the checkmark of obj; true if it was clear. World stopped: plain. */
static bool checkmark_set(uintptr_t obj) {
    heap_arena *ha = arena_of(obj);
    if (ha->checkmarks == NULL) {
        ha->checkmarks = sys_alloc(GH_WORDS_PER_ARENA / 8);
        if (ha->checkmarks == NULL)
            gh_throw("checkmark: out of memory for the checkmark bitmap");
    }
    uintptr_t word = (obj - ha->base) / GH_PTR_SIZE;
    uint64_t bit = (uint64_t)1 << (word % 64);
    if (ha->checkmarks[word / 64] & bit)
        return false;
    ha->checkmarks[word / 64] |= bit;
    return true;
}

typedef struct check_ctx {
    gcwork *w;
    uintptr_t holder; /* object holding the slot, 0 for roots */
} check_ctx;

static void check_pointer(void *ctxp, uintptr_t slot, uintptr_t p) {
    check_ctx *ctx = ctxp;
    mspan *s = span_of(p);
    if (s == NULL)
        return;
    uintptr_t idx = span_obj_index(s, p);
    uintptr_t obj = s->startaddr + idx * s->elemsize;
    if (!checkmark_set(obj))
        return;
    if (!span_is_marked(s, idx)) {
        if (ctx->holder != 0) {
            mspan *hs = span_of(ctx->holder);
            gh_fatalf("checkmark: object %p of type %s (%zu bytes) is reachable but was not "
                      "marked; it is referenced from slot %p (offset %zu) of object %p of type %s "
                      "(a store without GC_STORE?)",
                      (void *)obj, type_name(s, obj), (size_t)s->elemsize, (void *)slot,
                      (size_t)(slot - ctx->holder), (void *)ctx->holder,
                      type_name(hs, ctx->holder));
        }
        gh_fatalf("checkmark: object %p of type %s (%zu bytes) is reachable from root slot %p "
                  "but was not marked",
                  (void *)obj, type_name(s, obj), (size_t)s->elemsize, (void *)slot);
    }
    if (!sc_span_class_noscan(s->spanclass))
        work_put(ctx->w, obj);
}

static void check_root_slot(void **slot, void *arg) {
    check_ctx ctx = {arg, 0};
    uintptr_t p = AO_load((volatile AO_t *)slot);
    if (p != 0)
        check_pointer(&ctx, (uintptr_t)slot, p);
}

void checkmark_verify(void) {
    for (uintptr_t i = 0; i < arena_count(); i++) {
        heap_arena *ha = arena_at(i);
        if (ha->checkmarks != NULL)
            memset(ha->checkmarks, 0, GH_WORDS_PER_ARENA / 8);
    }
    gcwork w = {0};
    roots_for_each_global(check_root_slot, &w);
    for (gh_thread *t = thr_list(); t != NULL; t = t->next)
        roots_for_each_frame_slot(t, check_root_slot, &w);
    uintptr_t obj;
    while ((obj = work_tryget(&w)) != 0) {
        mspan *s = span_of(obj);
        check_ctx ctx = {&w, obj};
        hb_for_each_pointer(s->arena, obj, s->elemsize, check_pointer, &ctx);
    }
    work_dispose(&w);
}
