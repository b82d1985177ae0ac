/*
 * atomics.h — every atomic operation in goheap, named by its ordering, and the
 * lock-free stack (Go's lfstack).
 *
 * All atomics come from libatomic_ops' MIT-licensed headers. Its GPL part
 * (libatomic_ops_gpl: AO_stack, AO_malloc) is never used or linked; the
 * lock-free stack below is our own, built on AO_compare_and_swap_full.
 *
 * Naming: gh_load (relaxed), gh_load_acquire, gh_store (relaxed),
 * gh_store_release, gh_cas (full barrier), gh_xadd (full barrier, returns the
 * old value), gh_or / gh_and (full barrier).
 */
#ifndef GH_ATOMICS_H
#define GH_ATOMICS_H

#include "base.h"

#include <atomic_ops.h>

GH_STATIC_ASSERT(sizeof(AO_t) == sizeof(uintptr_t), "AO_t is a machine word");

GH_INLINE uintptr_t gh_load(const volatile AO_t *p) { return AO_load(p); }
GH_INLINE uintptr_t gh_load_acquire(const volatile AO_t *p) { return AO_load_acquire(p); }
GH_INLINE void gh_store(volatile AO_t *p, uintptr_t v) { AO_store(p, v); }
GH_INLINE void gh_store_release(volatile AO_t *p, uintptr_t v) { AO_store_release(p, v); }
GH_INLINE bool gh_cas(volatile AO_t *p, uintptr_t old, uintptr_t new_) {
    return AO_compare_and_swap_full(p, old, new_);
}
GH_INLINE uintptr_t gh_xadd(volatile AO_t *p, uintptr_t delta) {
    return AO_fetch_and_add_full(p, delta);
}
GH_INLINE void gh_or(volatile AO_t *p, uintptr_t bits) { AO_or_full(p, bits); }
GH_INLINE void gh_and(volatile AO_t *p, uintptr_t bits) { AO_and_full(p, bits); }

/* A hint inside a spin-wait loop (x86 PAUSE): lets a sibling hardware
 * thread run and avoids a memory-order flush when the wait ends. */
GH_INLINE void gh_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * Lock-free stack of nodes whose first word is the link (Go's lfstack). The
 * head packs a node address (low 48 bits, x86-64 user space) with a 16-bit
 * counter bumped on every push, so a pop that raced with pop+push of the same
 * node fails its CAS (the ABA problem). Nodes are never unmapped while a stack
 * can hold them, so a stale read of a node's link is harmless.
 */
typedef struct gh_lfnode {
    volatile AO_t next; /* a gh_lfnode *, read racily by poppers */
} gh_lfnode;

typedef struct {
    volatile AO_t head;
} gh_lfstack;

#define GH_LF_ADDR_BITS 48
#define GH_LF_ADDR_MASK (((uintptr_t)1 << GH_LF_ADDR_BITS) - 1)

GH_INLINE void gh_lfstack_push(gh_lfstack *s, gh_lfnode *node) {
    GH_ASSERT(((uintptr_t)node & ~GH_LF_ADDR_MASK) == 0);
    for (;;) {
        uintptr_t old = AO_load_acquire(&s->head);
        AO_store(&node->next, old & GH_LF_ADDR_MASK);
        uintptr_t cnt = (old >> GH_LF_ADDR_BITS) + 1;
        uintptr_t new_ = (uintptr_t)node | (cnt << GH_LF_ADDR_BITS);
        if (AO_compare_and_swap_full(&s->head, old, new_))
            return;
    }
}

GH_INLINE gh_lfnode *gh_lfstack_pop(gh_lfstack *s) {
    for (;;) {
        uintptr_t old = AO_load_acquire(&s->head);
        gh_lfnode *node = (gh_lfnode *)(old & GH_LF_ADDR_MASK);
        if (node == NULL)
            return NULL;
        uintptr_t new_ = AO_load(&node->next) | (old & ~GH_LF_ADDR_MASK);
        if (AO_compare_and_swap_full(&s->head, old, new_))
            return node;
    }
}

GH_INLINE bool gh_lfstack_empty(gh_lfstack *s) {
    return (AO_load(&s->head) & GH_LF_ADDR_MASK) == 0;
}

#endif /* GH_ATOMICS_H */
