/*
 * track.h — telling valgrind's memcheck what the heap holds.
 *                                   (mimalloc's track.h; Go: msan/asan hooks)
 *
 * To memcheck, goheap's heap is a few large anonymous mappings: without help
 * it cannot tell an object from free memory, so a program that keeps a
 * pointer outside every frame and reads the object after the sweeper freed
 * it reads "valid" memory and gets whatever the next occupant wrote. These
 * hooks describe the heap as memcheck's allocator model wants it:
 *
 *   gh_track_alloc(p, n, zeroed)  an object of n bytes now lives at p
 *                                 (VALGRIND_MALLOCLIKE_BLOCK: addressable;
 *                                 defined if zeroed, else undefined);
 *   gh_track_free(p)              the sweeper freed the object at p
 *                                 (VALGRIND_FREELIKE_BLOCK: noaccess, and a
 *                                 later access reports "Invalid read ...
 *                                 inside a block of size n free'd");
 *   gh_track_noaccess(p, n)       memory that holds no object: pages fresh
 *                                 from the OS, spans given back to the heap,
 *                                 the unused tail of a tiny block;
 *   gh_track_undefined/defined(p, n)  addressable, with unknown / known
 *                                 contents (a tiny sub-object carved from a
 *                                 zeroed block is defined).
 *
 * Who calls what (the whole life of heap memory):
 *   arena/mheap.c   hand_over: pages committed for the page allocator are
 *                   noaccess until an object is allocated in them;
 *                   mheap_free_span: a span's pages go back noaccess.
 *   runtime/malloc.c  every object gc_alloc returns is a block of its size
 *                   class's bytes (what gc_usable_size promises), zeroed
 *                   unless gc_mallocgc(needzero=false). A tiny block is one
 *                   16-byte block (it is one object to the collector too);
 *                   only the bytes handed out are addressable: the tail is
 *                   noaccess until tiny_alloc carves the next sub-object from
 *                   it (defined: the block was cleared), so reading past a
 *                   tiny object into the unused tail is reported.
 *   gc/sweep.c      every slot that was allocated (alloc bit set or below
 *                   freeindex, as Go's sweep decides for msan) and is not
 *                   marked is freed, before its marks become alloc bits.
 *
 * The collector's own reads. The marker, checkmark and the finalizer code
 * read only objects that are reachable, and a reachable object is allocated
 * and was cleared (pointerful objects are always zeroed), so in a correct
 * program memcheck sees no collector access to free or undefined memory and
 * error reporting stays on: a report from mark_drain or checkmark_verify is a
 * finding (a dangling pointer in a slot reached the marker), not noise. The
 * sweeper reads only mark and alloc bitmaps, never object memory. The one
 * reader of memory memcheck does not consider defined is rootcheck (it scans
 * whole thread stacks, dead slots included) and it disables error reporting
 * around its scan (gc/rootcheck.c).
 *
 * Cost. Each client request is a short magic instruction sequence that does
 * nothing outside valgrind, but it builds its argument block on the stack.
 * The hooks therefore test `track_enabled` first — RUNNING_ON_VALGRIND read
 * once by mheap_init — so outside valgrind the allocation fast path pays
 * one load and one not-taken branch per hook (callgrind: see
 * docs/debugging.md#valgrind for the measured counts). Built with
 * -Dvalgrind=disabled (no GH_VALGRIND), every hook is empty.
 *
 * Limits. memcheck keeps no block list across gc_shutdown: blocks still
 * live at shutdown stay in memcheck's table, so after a re-init an address
 * may be described twice (harmless without leak checking, which the
 * valgrind test setup leaves off: see tests/valgrind/goheap.supp).
 */
#ifndef GH_TRACK_H
#define GH_TRACK_H

#include "base.h"

#if defined(GH_VALGRIND) && GH_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

/* Non-zero when the process runs under valgrind (set by track_init). */
extern bool track_enabled;
/* Reads RUNNING_ON_VALGRIND once. */
void track_init(void);

#define GH_TRACK_IF(stmt)                                                      \
    do {                                                                       \
        if (GH_UNLIKELY(track_enabled)) {                                      \
            stmt;                                                              \
        }                                                                      \
    } while (0)

#define gh_track_alloc(p, n, zeroed)                                           \
    GH_TRACK_IF(VALGRIND_MALLOCLIKE_BLOCK((void *)(p), (n), 0, (zeroed)))
#define gh_track_free(p) GH_TRACK_IF(VALGRIND_FREELIKE_BLOCK((void *)(p), 0))
#define gh_track_noaccess(p, n) GH_TRACK_IF((void)VALGRIND_MAKE_MEM_NOACCESS((void *)(p), (n)))
#define gh_track_undefined(p, n) GH_TRACK_IF((void)VALGRIND_MAKE_MEM_UNDEFINED((void *)(p), (n)))
#define gh_track_defined(p, n) GH_TRACK_IF((void)VALGRIND_MAKE_MEM_DEFINED((void *)(p), (n)))
/* Collector work that reads memory memcheck does not consider defined. */
#define gh_track_quiet_begin() GH_TRACK_IF(VALGRIND_DISABLE_ERROR_REPORTING)
#define gh_track_quiet_end() GH_TRACK_IF(VALGRIND_ENABLE_ERROR_REPORTING)

#else /* no valgrind */

#define track_enabled false
GH_INLINE void track_init(void) {}
#define gh_track_alloc(p, n, zeroed) ((void)0)
#define gh_track_free(p) ((void)0)
#define gh_track_noaccess(p, n) ((void)0)
#define gh_track_undefined(p, n) ((void)0)
#define gh_track_defined(p, n) ((void)0)
#define gh_track_quiet_begin() ((void)0)
#define gh_track_quiet_end() ((void)0)

#endif

#endif /* GH_TRACK_H */
