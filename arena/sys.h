/*
 * sys.h — the operating-system contract: reserving, committing, releasing and
 * returning address space. Go: mem_linux.go (sysReserve, sysMap, sysUnused,
 * sysFree, sysAlloc).
 *
 * Every mapping goes through these functions, so fault injection
 * (GOHEAP_DEBUG=sysfail=N makes the Nth call fail) and byte accounting live in
 * one place. Postconditions:
 *   sys_reserve: returns n bytes of PROT_NONE address space aligned to `align`
 *                (a power of two), or NULL; nothing is committed.
 *   sys_map:     makes reserved memory readable and writable; on success its
 *                contents are zero if it was never written.
 *   sys_alloc:   n bytes of readable, writable, zeroed memory, or NULL.
 *   sys_unused:  the contents may be discarded; the range stays mapped and
 *                reads as zero when next touched (MADV_DONTNEED).
 *   sys_prefault: backs untouched pages of a mapped range with writable
 *                memory now (MADV_POPULATE_WRITE); advisory, may do nothing.
 *                For memory about to be read before it is written: left to
 *                fault one page at a time, a page first read maps the
 *                kernel's zero page, and the store after it copies the
 *                page and flushes the TLB of every CPU running the program
 *                (an interprocessor interrupt per page).
 * Callers treat NULL/false as out of memory: gc_try_alloc returns NULL,
 * everything else reports a fatal error naming what it was mapping.
 */
#ifndef GH_SYS_H
#define GH_SYS_H

#include "base.h"

void *sys_reserve(size_t n, size_t align);
bool sys_map(void *p, size_t n);
void *sys_alloc(size_t n);
void sys_free(void *p, size_t n);
bool sys_unused(void *p, size_t n);
void sys_prefault(void *p, size_t n);

/* Fault injection: the `nth` next call to sys_reserve/sys_map/sys_alloc/
 * sys_unused fails (0 turns injection off). Set from GOHEAP_DEBUG=sysfail=N. */
void sys_set_fail_after(uint64_t nth);

/* Bytes currently mapped through sys_alloc (metadata), for stats. */
uint64_t sys_metadata_bytes(void);

#endif /* GH_SYS_H */
