/*
 * sys_linux.c — mmap-based implementation of sys.h.        Go: mem_linux.go
 *
 * Reservation maps PROT_NONE with MAP_NORESERVE so untouched address space
 * costs neither RSS nor commit charge; committing is mprotect to read/write.
 * Alignment is obtained by over-reserving and trimming both ends.
 *
 * Concurrency: stateless apart from two counters updated atomically, so any
 * thread may call in without a lock.
 */
#include "sys.h"

#include "atomics.h"

#include <errno.h>
#include <sys/mman.h>

static volatile AO_t fail_countdown;  /* 0: injection off */
static volatile AO_t metadata_bytes;

void sys_set_fail_after(uint64_t nth) { gh_store(&fail_countdown, nth); }

/* True when fault injection says this call must fail. */
static bool inject_failure(void) {
    for (;;) {
        uintptr_t n = gh_load(&fail_countdown);
        if (n == 0)
            return false;
        if (gh_cas(&fail_countdown, n, n - 1)) {
            if (n == 1) {
                errno = ENOMEM;
                return true;
            }
            return false;
        }
    }
}

void *sys_reserve(size_t n, size_t align) {
    if (inject_failure())
        return NULL;
    size_t total = n + (align > GH_PAGE_SIZE_OS ? align : 0);
    void *p = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (align <= GH_PAGE_SIZE_OS)
        return p;
    uintptr_t start = (uintptr_t)p;
    uintptr_t aligned = GH_ALIGN_UP(start, align);
    if (aligned > start)
        munmap(p, aligned - start);
    uintptr_t end = start + total, want_end = aligned + n;
    if (end > want_end)
        munmap((void *)want_end, end - want_end);
    return (void *)aligned;
}

bool sys_map(void *p, size_t n) {
    if (inject_failure())
        return false;
    return mprotect(p, n, PROT_READ | PROT_WRITE) == 0;
}

void *sys_alloc(size_t n) {
    if (inject_failure())
        return NULL;
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    gh_xadd(&metadata_bytes, n);
    return p;
}

void sys_free(void *p, size_t n) {
    if (munmap(p, n) != 0)
        gh_fatalf("munmap(%p, %zu) failed", p, n);
}

bool sys_unused(void *p, size_t n) {
    if (inject_failure())
        return false;
    return madvise(p, n, MADV_DONTNEED) == 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Cleared when the kernel predates MADV_POPULATE_WRITE: the pages then
 * fault in one by one on first touch, as they would without this call. */
static volatile AO_t prefault_supported = 1;

void sys_prefault(void *p, size_t n) {
    if (!gh_load(&prefault_supported))
        return;
    if (madvise(p, n, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
        gh_store(&prefault_supported, 0);
}

uint64_t sys_metadata_bytes(void) { return gh_load(&metadata_bytes); }
