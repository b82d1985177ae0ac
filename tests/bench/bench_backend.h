/*
 * bench_backend.h — the one interface every benchmark workload is written
 * against, so that a workload exists once and is compiled once per memory
 * manager.
 *
 * A workload (gcbench.c, alloc.c) never names goheap, bdwgc, glibc or
 * mimalloc. meson compiles it several times, each time with exactly one of
 * -DBE_GOHEAP, -DBE_BDWGC (plus -DBE_BDWGC_INCREMENTAL for the incremental
 * variant), -DBE_GLIBC or -DBE_MIMALLOC, and the matching be_*.h below turns
 * the interface into that system's calls. Everything is a macro or a static
 * inline function: the benchmark should measure the allocator, not a layer of
 * indirection we added, and goheap's inline GC_STORE fast path must stay
 * inline.
 *
 * The interface is shaped by the strictest backend, goheap, which is precise:
 *
 *   BE_NAME               the system name printed in RESULT lines.
 *   BE_EXPLICIT_FREE      1 when memory must be returned with be_free (malloc
 *                         backends); 0 for collectors. Workloads write
 *                         `if (BE_EXPLICIT_FREE) ...` so the freeing walk
 *                         compiles away for collectors.
 *   be_type               what an allocation says about its pointers.
 *   BE_TYPE(var, T, f...) defines `static const be_type var` for struct T
 *                         whose pointer fields are f... (goheap's GC_TYPE).
 *   BE_TYPE_NOPTR(var, T) the same for a type that holds no pointers.
 *   be_init()             once, on the main thread, before anything else.
 *   be_alloc(size, &t)    size zeroed bytes laid out as t (an array of t when
 *                         size > sizeof(T)). Every backend returns zeroed
 *                         memory because a collector must, so the malloc
 *                         backends pay for the same clearing (calloc).
 *   be_free(p)            returns p (malloc backends only; a no-op for GCs).
 *   BE_STORE(lv, v)       stores pointer v into a pointer field of a heap
 *                         object (goheap's write barrier, GC_STORE).
 *   BE_FRAME(f, &a, ...)  makes the pointer locals a, ... roots until
 *   BE_UNFRAME(f)         BE_UNFRAME(f). goheap needs them (a pointer held
 *                         only in an unframed local may be freed at the next
 *                         allocation); bdwgc scans stacks conservatively and
 *                         malloc never frees by itself, so there they vanish.
 *   be_add_roots(p, n)    makes a static array of pointers a root. Plain
 *                         assignments into it are enough on every backend
 *                         (goheap.h rule 3: registered roots need no
 *                         GC_STORE).
 *   be_thread_register()  first/last heap action of every extra thread.
 *   be_thread_unregister()
 *   be_enter_blocking()   bracket a call that blocks (pthread_join): goheap's
 *   be_leave_blocking()   stop-the-world would otherwise wait for this thread.
 *
 * Collector controls (markrate.c and pause.c; no-ops on the malloc backends,
 * where only pause.c is built, on glibc, as the no-collector floor):
 *
 *   be_set_markers(n)     before be_init: n parallel mark threads
 *                         (GOHEAP_MARKERS, GC_set_markers_count).
 *   be_collect()          a forced full collection, returning when it is done
 *                         (gc_collect also finishes the sweep; GC_gcollect).
 *   be_auto_gc(on)        turns automatic collections off (0) and back on.
 *   be_pauses_start()     starts recording the collector's own pause
 *                         accounting; then
 *   be_pauses_cycle(ms, max)  fills ms[] with the stop-the-world total of
 *                         each cycle that ended since be_pauses_start, in
 *                         milliseconds, and returns how many;
 *   be_pauses_each(ms, max)   the same for every single stop-the-world pause,
 *                         or 0 when the system does not record them one by
 *                         one in-process (goheap: run.sh reads them from
 *                         gctrace instead).
 *   be_last_mark_s()      the mark phase of the last collection in seconds
 *                         when the system reports it in-process, else -1.
 *
 * The include below picks the backend; exactly one BE_* macro must be set.
 */
#ifndef BENCH_BACKEND_H
#define BENCH_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#if defined(BE_GOHEAP)
#include "be_goheap.h"
#elif defined(BE_BDWGC)
#include "be_bdwgc.h"
#elif defined(BE_GLIBC) || defined(BE_MIMALLOC)
#include "be_malloc.h"
#else
#error "compile with exactly one of -DBE_GOHEAP, -DBE_BDWGC, -DBE_GLIBC, -DBE_MIMALLOC"
#endif

#endif /* BENCH_BACKEND_H */
