/*
 * rootcheck.c — auditing the roots a program forgot to give.
 *                             (GOHEAP_DEBUG=rootcheck=1; no Go counterpart:
 *                              Go's compiler emits exact stack maps)
 *
 * goheap scans thread stacks precisely, through GC_FRAMEs only: a heap
 * pointer kept in a C local that is in no frame is invisible, and the
 * object is freed at the next cycle although the program still uses it.
 * That bug is silent until the slot is reused. rootcheck finds it the way a
 * conservative collector would have kept the object alive: at every mark
 * termination, with the world stopped and marking complete, it reads every
 * word of every registered thread's machine stack, and reports each
 * allocated heap object that a stack word points to (or into) but that is
 * not marked — an object about to be freed while a C local still points at
 * it:
 *
 *   goheap: rootcheck: object 0x... of type T (N bytes) is referenced from
 *   the stack of thread K in function F (frame 3) but is not reachable from
 *   any root; it will be freed. A local missing from its GC_FRAME?
 *
 * (with ", also in G (frame 5)" when more frames hold it: a pointer kept in
 * a callee-saved register is saved by a callee's prologue, so the callee's
 * frame holds a copy too).
 *
 * These are warnings (gh_printf), not fatal errors: a stack also holds dead
 * words (see below), and the program is not wrong until it uses the object.
 *
 * Where a stopped thread's stack is. Stack bounds come from
 * pthread_getattr_np when the thread registers (only with rootcheck on: on
 * the main thread it parses /proc/self/maps). The live part is above the
 * point where the thread stopped: a thread stops only at a safepoint
 * (gci_safepoint_slow) or parks in gc_enter_blocking, and both call
 * rootcheck_capture first, which walks the thread's own frames with
 * libunwind (unw_getcontext, unw_init_local, unw_step) and records each
 * frame's stack pointer (UNW_REG_SP) and return address. The walk is done
 * there, on the thread itself, and not later from a saved context: a
 * context saved inside gc_enter_blocking describes a frame that is gone once
 * gc_enter_blocking returns, and unwinding from it at mark termination would
 * read return addresses from reused stack memory. The recorded frames of a
 * parked thread stay right as long as the function that called
 * gc_enter_blocking has not returned — the usual shape (enter, block in a
 * system call, leave); otherwise names may be stale (the words scanned are
 * still the live stack). Names are resolved only when a report is printed
 * (unw_get_proc_name on a cursor whose IP is set to the recorded address).
 *
 * A word at address a belongs to frame i when sp[i] <= a < sp[i+1]; frame 0
 * is the capture itself and is not scanned; words above the last recorded
 * frame are reported as "an outer frame". When goheap is a shared library,
 * words in its own frames (mallocgc, request_cycle: between the program's
 * call and the stop) are skipped: they can only be dead. Statically linked,
 * they are reported too.
 *
 * False positives — how to read a report:
 *   - Dead stack slots. A word left in a frame by a call that has returned,
 *     or a local the compiler no longer uses, still holds the old pointer;
 *     an object the program really dropped is then reported. The function
 *     named is where the stale word lies, often a caller of the function
 *     that used the object. A report that repeats, cycle after cycle, for
 *     new objects allocated by the same code is the real thing; a single
 *     report naming goheap's own functions (gc_collect, request_cycle,
 *     gci_safepoint_slow) is almost always a dead slot.
 *   - Integers that happen to look like heap addresses (rare: the heap sits
 *     at addresses that small integers do not reach).
 * Only allocated objects count: a word pointing into a free slot (an object
 * freed by an earlier cycle) is not reported, nor are objects that are
 * marked (reachable through some root).
 *
 * Memory tools. The scan reads dead and uninitialised stack words, so it
 * runs without memcheck error reporting (track.h) and without AddressSanitizer
 * instrumentation (stack redzones are poisoned); the other threads are
 * stopped, and the world stop orders their stack writes before the reads.
 *
 * Cost: one libunwind walk at every stop and every gc_enter_blocking of
 * every thread, and a read of every live stack word at each mark
 * termination. Types are recorded at allocation (as with gccheckmark) so
 * reports can name them.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/auxv.h>

#include "env.h"
#include "gc.h"
#include "thread.h"
#include "track.h"
#include "upcalls.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ROOTCHECK_NO_ASAN __attribute__((no_sanitize_address))
#endif
#endif
#if !defined(ROOTCHECK_NO_ASAN) && defined(__SANITIZE_ADDRESS__)
#define ROOTCHECK_NO_ASAN __attribute__((no_sanitize_address))
#endif
#ifndef ROOTCHECK_NO_ASAN
#define ROOTCHECK_NO_ASAN
#endif

/* At most this many objects are reported per cycle. */
#define MAX_REPORTS 32

void rootcheck_thread_init(gh_thread *t) {
    t->stack_lo = t->stack_hi = 0;
    t->rc_nframes = 0;
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    void *addr;
    size_t size;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        t->stack_lo = (uintptr_t)addr;
        t->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

GH_NOINLINE void rootcheck_capture(gh_thread *t) {
    unw_context_t ctx;
    unw_cursor_t cur;
    t->rc_nframes = 0;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return;
    unsigned n = 0;
    do {
        unw_word_t sp = 0, ip = 0;
        unw_get_reg(&cur, UNW_REG_SP, &sp);
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        t->rc_frame_sp[n] = (uintptr_t)sp;
        t->rc_frame_ip[n] = (uintptr_t)ip;
        n++;
    } while (n < ROOTCHECK_FRAMES && unw_step(&cur) > 0);
    t->rc_nframes = n;
}

static const char *type_name(mspan *s, uintptr_t obj) {
    if (s->obj_types == NULL)
        return "?";
    const gc_type *ty = s->obj_types[span_obj_index(s, obj)];
    if (ty == NULL)
        return sc_span_class_noscan(s->spanclass) ? "(noscan)" : "?";
    return ty->name ? ty->name : "?";
}

/* The name of the function containing return address ip. */
static void proc_name(uintptr_t ip, char *buf, size_t len) {
    unw_context_t ctx;
    unw_cursor_t cur;
    unw_word_t off;
    if (unw_getcontext(&ctx) == 0 && unw_init_local(&cur, &ctx) == 0 &&
        unw_set_reg(&cur, UNW_REG_IP, (unw_word_t)ip) == 0 &&
        unw_get_proc_name(&cur, buf, len, &off) == 0)
        return;
    snprintf(buf, len, "? (pc %p)", (void *)ip);
}

/* Up to this many frames are named per object. */
#define MAX_FRAMES_NAMED 3

/* An object found, with the frames (of one thread) whose words point at it. */
typedef struct rc_found {
    uintptr_t obj;
    mspan *span;
    gh_thread *thread;
    unsigned nframes;
    unsigned frames[MAX_FRAMES_NAMED];
} rc_found;

typedef struct rc_state {
    uintptr_t dso_base; /* goheap_dso_base() */
    rc_found found[MAX_REPORTS];
    unsigned nfound;
} rc_state;

/* The load base of the object holding goheap's code when that is a shared
 * library (libgoheap.so), else 0: statically linked, goheap's functions
 * cannot be told from the program's by address. */
static uintptr_t goheap_dso_base(void) {
    Dl_info self, exe;
    if (dladdr((void *)rootcheck_verify, &self) == 0 || self.dli_fbase == NULL)
        return 0;
    /* The executable is the object holding its entry point. */
    void *entry = (void *)getauxval(AT_ENTRY);
    if (entry == NULL || dladdr(entry, &exe) == 0 || exe.dli_fbase == self.dli_fbase)
        return 0;
    return (uintptr_t)self.dli_fbase;
}

/* Is return address ip inside libgoheap.so? */
static bool in_goheap(uintptr_t ip, uintptr_t base) {
    Dl_info info;
    return base != 0 && dladdr((void *)ip, &info) != 0 && (uintptr_t)info.dli_fbase == base;
}

/* Records that the word at word_addr of t's stack points to obj. */
static void note(rc_state *st, gh_thread *t, mspan *s, uintptr_t obj, uintptr_t word_addr) {
    /* Frame i holds [sp[i], sp[i+1]). */
    unsigned frame = 0;
    while (frame + 1 < t->rc_nframes && t->rc_frame_sp[frame + 1] <= word_addr)
        frame++;
    /* goheap's own frames between the program and the stop (mallocgc,
     * request_cycle...) hold only dead words or spilled registers: skip them
     * when they can be recognised (a shared libgoheap). */
    if (in_goheap(t->rc_frame_ip[frame], st->dso_base))
        return;
    rc_found *f = NULL;
    for (unsigned i = 0; i < st->nfound; i++)
        if (st->found[i].obj == obj)
            f = &st->found[i];
    if (f == NULL) {
        if (st->nfound == MAX_REPORTS)
            return;
        f = &st->found[st->nfound++];
        *f = (rc_found){.obj = obj, .span = s, .thread = t, .nframes = 0};
    }
    if (f->thread != t || f->nframes == MAX_FRAMES_NAMED)
        return;
    for (unsigned i = 0; i < f->nframes; i++)
        if (f->frames[i] == frame)
            return;
    f->frames[f->nframes++] = frame;
}

/* Prints one report. A pointer held in a callee-saved register is saved by
 * the callees' prologues, so the same object often shows in a few frames:
 * the innermost is named first, the others follow. */
static void report(const rc_found *f) {
    gh_thread *t = f->thread;
    char where[900];
    size_t len = 0;
    for (unsigned i = 0; i < f->nframes && len < sizeof where; i++) {
        unsigned frame = f->frames[i];
        char fn[256];
        if (frame + 1 >= t->rc_nframes && t->rc_nframes == ROOTCHECK_FRAMES)
            snprintf(fn, sizeof fn, "an outer frame");
        else
            proc_name(t->rc_frame_ip[frame], fn, sizeof fn);
        len += (size_t)snprintf(where + len, sizeof where - len, "%s%s (frame %u)",
                                i == 0 ? "in function " : ", also in ", fn, frame);
    }
    gh_printf("rootcheck: object %p of type %s (%zu bytes) is referenced from the stack of "
              "thread %u %s but is not reachable from any root; it will be freed. A local "
              "missing from its GC_FRAME?",
              (void *)f->obj, type_name(f->span, f->obj), (size_t)f->span->elemsize, t->id,
              where);
}

/* Scans [lo, hi) of t's stack word by word. */
ROOTCHECK_NO_ASAN static void scan_stack(rc_state *st, gh_thread *t, uintptr_t lo,
                                         uintptr_t hi) {
    for (uintptr_t a = GH_ALIGN_UP(lo, GH_PTR_SIZE); a + GH_PTR_SIZE <= hi; a += GH_PTR_SIZE) {
        uintptr_t p = *(const volatile uintptr_t *)a;
        if (p < 4096)
            continue;
        mspan *s = span_of(p);
        if (s == NULL)
            continue;
        uintptr_t idx = span_obj_index(s, p);
        if (span_is_marked(s, idx))
            continue;
        if (idx >= s->freeindex && !bits_test(s->alloc_bits, idx))
            continue; /* a free slot: not an object */
        note(st, t, s, s->startaddr + idx * s->elemsize, a);
    }
}

void rootcheck_verify(void) {
    static rc_state st; /* large; the world is stopped, one caller at a time */
    st.nfound = 0;
    st.dso_base = goheap_dso_base();
    gh_track_quiet_begin();
    for (gh_thread *t = thr_list(); t != NULL; t = t->next) {
        /* Frame 0 is rootcheck_capture; the live stack starts at frame 1. */
        if (t->stack_hi == 0 || t->rc_nframes < 2)
            continue;
        uintptr_t lo = t->rc_frame_sp[1];
        if (lo < t->stack_lo || lo >= t->stack_hi)
            continue;
        scan_stack(&st, t, lo, t->stack_hi);
    }
    gh_track_quiet_end();
    for (unsigned i = 0; i < st.nfound; i++)
        report(&st.found[i]);
}
