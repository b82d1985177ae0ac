/*
 * scavenge.c — returning free heap pages to the OS.       Go: mgcscavenge.go
 *
 * Overview. A page the sweeper frees stays backed by RAM: the next span
 * allocation may reuse it at no cost. Keeping every free page forever would
 * pin the heap's high-water mark, so free pages beyond a goal are handed
 * back with sys_unused (madvise(MADV_DONTNEED)): the mapping stays, the
 * memory goes, and the page reads as zero when next touched. The page
 * allocator remembers which free pages were handed back (its scavenged
 * bits); heap_released in gc_read_stats is their total.
 *
 * Goals. Two, as in Go, each a bound on memory the process keeps:
 *   - The GOGC goal bounds retained heap (heap_sys - released): the heap in
 *     use at the last goal, scaled by how the goal moved (new goal / last
 *     goal), plus 10% (SCAV_RETAIN_EXTRA_PERCENT) so that the next cycle's
 *     growth finds pages without faulting them all back in; never below
 *     the heap goal itself. None when GOGC is off.
 *   - The memory-limit goal bounds retained heap plus metadata (Go's
 *     mappedReady) at 95% of the limit (SCAV_LIMIT_PERCENT), so the heap
 *     can grow a little before allocation has to scavenge synchronously.
 * The collector sets both at each mark termination (scav_set_goal) and
 * wakes the scavenger; the end of sweeping wakes it again (scav_wake),
 * since the pages the cycle freed only become free as spans are swept.
 *
 * Who scavenges:
 *   1. The background scavenger thread, while memory exceeds either goal. It
 *      works in steps of SCAV_BG_STEP_PAGES (64 KiB) and in batches of at
 *      most about a millisecond of its own CPU time; after every batch, short
 *      or not, it sleeps 99 times as long, so that it uses 1% of one CPU
 *      (SCAV_CPU_PERCENT, Go's scavengePercent) however often it is woken.
 *      With nothing to do it waits on its condition variable; a wake while
 *      it sleeps between batches only leaves it a note (scav_pending).
 *   2. The allocating thread, after mheap_alloc_span (scav_after_alloc):
 *      if memory now exceeds the limit, it returns the excess at once; if
 *      the heap grew and retained heap exceeds the GOGC goal, it returns up
 *      to the growth (Go's mheap.allocSpan does both). The first is skipped
 *      while the GC CPU limiter is limiting, as in Go: then the heap is
 *      allowed past the limit and paying to keep it there would be waste.
 * A step takes a run of free unscavenged pages with pa_scavenge_find under
 * the mheap lock (the run is marked allocated, so nobody else takes it),
 * drops the lock for the madvise, and gives the run back with
 * pa_scavenge_done under the lock. The page allocator picks the highest
 * runs first: the allocator takes the lowest, so the pages least likely to
 * be reused go first.
 *
 * Zeroing. A page handed back reads as zero when touched again. The mheap
 * relies on it: a span made entirely of scavenged pages needs no memset; a
 * span with any unscavenged dirty page is cleared whole (mheap.c, needzero).
 * tests/unit/check_scavenge.c fills pages with garbage, frees and scavenges
 * them, and checks that new objects on them read as zero.
 *
 * Invariants:
 *   I1. pa_scavenged_pages * page size == heap_released; scavenged pages are
 *       free (checked: pa_verify; check_scavenge compares the counts).
 *   I2. A run held by a step is allocated in the page allocator from
 *       pa_scavenge_find to pa_scavenge_done, so no span is built on memory
 *       being discarded (checked: pa_verify, GH_DEBUG >= 3).
 *
 * Concurrency. The goals, the limit and the counters are atomic words, set
 * by the collector and read by any thread. scav_mu guards the thread's
 * sleep and wake flags only; it is a leaf lock (lock.h, level 8): nothing is
 * taken while holding it, and it is never held while the mheap lock is. No
 * function here is called with the mheap lock held.
 *
 * Departures from Go.
 *   - Go 1.19 computes the memory-limit goal as limit * (100 - 5), i.e. 95
 *     times the limit, a slip that leaves the background scavenger idle under
 *     a limit (fixed in later Go); the intent, 95% of the limit, is
 *     implemented here.
 *   - Go paces on wall time spent scavenging and estimates the rate; here
 *     the batch's thread CPU time is measured directly, which a shared
 *     machine does not inflate.
 *   - Go's sysmon also wakes the scavenger; here the wake-ups are mark
 *     termination and the end of each sweep.
 *   - No huge-page awareness: pages are returned at 8 KiB granularity.
 *
 * Debugging. GOHEAP_DEBUG=sysfail=N makes sys_unused fail: the run is then
 * freed unscavenged and the step reports no progress. Tests:
 * tests/unit/check_scavenge.c, tests/unit/check_memlimit.c.
 */
#include "scavenge.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "mheap.h"
#include "sys.h"

#define NONE UINT64_MAX

static volatile AO_t gcpercent_goal = NONE; /* bound on retained heap */
static volatile AO_t memlimit_goal = NONE;  /* bound on mapped_ready */
static volatile AO_t memlimit = INT64_MAX;
static volatile AO_t limiting;
static volatile AO_t released_bg, released_sync;
static uint64_t last_heap_goal; /* written by scav_set_goal only (world lock) */

static pthread_mutex_t scav_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t scav_cv;
static bool scav_pending, scav_stopping, scav_running;
/* The scavenger waits to be woken (not pacing itself between batches). */
static bool scav_idle;
/* CPU the background scavenger's batches used and the sleeps that paced
 * them, since scav_start (scav_bg_pacing). */
static volatile AO_t bg_cpu_ns, bg_sleep_ns;
static pthread_t scav_thread;

/* Retained heap (heap_sys - released) and free unscavenged bytes. */
static void heap_figures(uint64_t *retained, uint64_t *free_unscav) {
    gh_lock(&mheap_.lock);
    uint64_t scav = (uint64_t)pa_scavenged_pages(&mheap_.pages) << GH_PAGE_SHIFT;
    uint64_t free_b = (uint64_t)pa_free_pages(&mheap_.pages) << GH_PAGE_SHIFT;
    uint64_t sys_b = gh_load(&mheap_.heap_sys);
    gh_unlock(&mheap_.lock);
    if (retained != NULL)
        *retained = sys_b - scav;
    if (free_unscav != NULL)
        *free_unscav = free_b - scav;
}

uint64_t scav_mapped_ready(void) {
    uint64_t retained;
    heap_figures(&retained, NULL);
    return retained + sys_metadata_bytes();
}

uint64_t scav_heap_free(void) {
    uint64_t f;
    heap_figures(NULL, &f);
    return f;
}

/* Bytes by which memory exceeds the tighter of the two goals (0 if none). */
static uint64_t bytes_over_goal(void) {
    uint64_t retained;
    heap_figures(&retained, NULL);
    uint64_t over = 0, g = gh_load(&gcpercent_goal), lg = gh_load(&memlimit_goal);
    if (g != NONE && retained > g)
        over = retained - g;
    uint64_t mapped = retained + sys_metadata_bytes();
    if (lg != NONE && mapped > lg && mapped - lg > over)
        over = mapped - lg;
    return over;
}

/* One step: returns up to max_pages free unscavenged pages to the OS.
 * Returns the pages released, 0 when none is left (or the OS refused). */
static size_t release_step(size_t max_pages) {
    uintptr_t base;
    gh_lock(&mheap_.lock);
    size_t n = pa_scavenge_find(&mheap_.pages, max_pages, &base);
    gh_unlock(&mheap_.lock);
    if (n == 0)
        return 0;
    bool ok = sys_unused((void *)base, n << GH_PAGE_SHIFT);
    gh_lock(&mheap_.lock);
    if (ok)
        pa_scavenge_done(&mheap_.pages, base, n);
    else
        pa_free(&mheap_.pages, base, n); /* still backed: free, unscavenged */
    gh_unlock(&mheap_.lock);
    return ok ? n : 0;
}

uint64_t scav_release(uint64_t bytes) {
    uint64_t done = 0;
    while (done < bytes) {
        uint64_t left = bytes - done; /* may be huge: round without overflow */
        uint64_t want = left / GH_PAGE_SIZE + (left % GH_PAGE_SIZE != 0);
        size_t n = release_step((size_t)GH_MIN(want, (uint64_t)SCAV_SYNC_STEP_PAGES));
        if (n == 0)
            break;
        done += (uint64_t)n << GH_PAGE_SHIFT;
    }
    return done;
}

void scav_after_alloc(uint64_t growth_bytes) {
    uint64_t todo = 0;
    int64_t lim = (int64_t)gh_load(&memlimit);
    if (lim != INT64_MAX && !gh_load(&limiting)) {
        uint64_t mapped = scav_mapped_ready();
        if (mapped > (uint64_t)lim)
            todo = mapped - (uint64_t)lim;
    }
    uint64_t goal = gh_load(&gcpercent_goal);
    if (growth_bytes > 0 && goal != NONE) {
        uint64_t retained;
        heap_figures(&retained, NULL);
        /* The growth will be touched soon: make room for it now. */
        if (retained + growth_bytes > goal) {
            uint64_t t = GH_MIN(growth_bytes, retained + growth_bytes - goal);
            if (t > todo)
                todo = t;
        }
    }
    if (todo > 0)
        gh_xadd(&released_sync, scav_release(todo));
}

/* One batch of the background scavenger, begun at thread CPU time cpu0:
 * steps until the goals are met, nothing is left, or about a millisecond of
 * CPU was used. Returns the pages released. */
static size_t run_batch(uint64_t cpu0) {
    size_t pages = 0;
    for (;;) {
        uint64_t over = bytes_over_goal();
        if (over == 0)
            return pages;
        uint64_t want = over / GH_PAGE_SIZE + (over % GH_PAGE_SIZE != 0);
        size_t n = release_step((size_t)GH_MIN(want, (uint64_t)SCAV_BG_STEP_PAGES));
        if (n == 0)
            return pages;
        gh_xadd(&released_bg, (uintptr_t)n << GH_PAGE_SHIFT);
        pages += n;
        if (gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0 >= 1000000)
            return pages;
    }
}

static void *scav_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&scav_mu);
    for (;;) {
        scav_idle = true;
        while (!scav_pending && !scav_stopping)
            pthread_cond_wait(&scav_cv, &scav_mu);
        scav_idle = false;
        if (scav_stopping)
            break;
        scav_pending = false;
        pthread_mutex_unlock(&scav_mu);
        uint64_t cpu0 = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID);
        size_t released = run_batch(cpu0);
        uint64_t used = gh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        pthread_mutex_lock(&scav_mu);
        if (released == 0)
            continue; /* nothing over a goal, or nothing free: wait to be woken */
        /* Sleep (100/SCAV_CPU_PERCENT - 1) times the batch, however short
         * it was; wake-ups do not shorten it, only shutdown does. (The
         * sleep is counted before the CPU, the order scav_bg_pacing reads
         * them in reverse.) */
        uint64_t sleep_ns = used * (100 / SCAV_CPU_PERCENT - 1);
        gh_xadd(&bg_sleep_ns, sleep_ns);
        gh_xadd(&bg_cpu_ns, used);
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        uint64_t t = (uint64_t)dl.tv_nsec + sleep_ns;
        dl.tv_sec += (time_t)(t / 1000000000u);
        dl.tv_nsec = (long)(t % 1000000000u);
        while (!scav_stopping && pthread_cond_timedwait(&scav_cv, &scav_mu, &dl) != ETIMEDOUT) {
        }
        scav_pending = true; /* more to do: go again */
    }
    pthread_mutex_unlock(&scav_mu);
    return NULL;
}

void scav_start(void) {
    gh_store(&gcpercent_goal, NONE);
    gh_store(&memlimit_goal, NONE);
    gh_store(&memlimit, INT64_MAX);
    gh_store(&limiting, 0);
    gh_store(&released_bg, 0);
    gh_store(&released_sync, 0);
    gh_store(&bg_cpu_ns, 0);
    gh_store(&bg_sleep_ns, 0);
    last_heap_goal = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&scav_cv, &ca);
    pthread_condattr_destroy(&ca);
    scav_pending = scav_stopping = false;
    if (pthread_create(&scav_thread, NULL, scav_main, NULL) != 0)
        gh_throw("cannot start the scavenger thread");
    scav_running = true;
}

void scav_stop(void) {
    if (!scav_running)
        return;
    pthread_mutex_lock(&scav_mu);
    scav_stopping = true;
    pthread_cond_broadcast(&scav_cv);
    pthread_mutex_unlock(&scav_mu);
    pthread_join(scav_thread, NULL);
    pthread_cond_destroy(&scav_cv);
    scav_running = false;
}

void scav_wake(void) {
    /* Nothing over a goal: the scavenger would find nothing to do. Checked
     * here because wakes come at least twice per cycle, and at a few
     * hundred cycles a second (a small heap allocating fast) waking a
     * thread just to go back to sleep costs the allocating threads. */
    if (!scav_running || bytes_over_goal() == 0)
        return;
    pthread_mutex_lock(&scav_mu);
    scav_pending = true;
    /* A scavenger pacing itself runs again when its sleep ends; waking it
     * would only send it back to sleep. */
    if (scav_idle)
        pthread_cond_signal(&scav_cv);
    pthread_mutex_unlock(&scav_mu);
}

void scav_set_limit(int64_t lim) {
    gh_store(&memlimit, (uintptr_t)lim);
    gh_store(&memlimit_goal,
             lim == INT64_MAX ? NONE : (uint64_t)((double)lim * SCAV_LIMIT_PERCENT / 100.0));
    scav_wake();
}

void scav_set_goal(uint64_t heap_goal, int64_t lim, bool is_limiting) {
    gh_store(&limiting, is_limiting);
    if (heap_goal == NONE) {
        gh_store(&gcpercent_goal, NONE);
    } else {
        /* The heap in use now is what the last goal led to; scale it by the
         * goal's move and add the margin. */
        double inuse = (double)((uint64_t)gh_load(&mheap_.pages_inuse) << GH_PAGE_SHIFT);
        double ratio = last_heap_goal != 0 ? (double)heap_goal / (double)last_heap_goal : 1.0;
        double g = inuse * ratio * (100 + SCAV_RETAIN_EXTRA_PERCENT) / 100.0;
        if (g < (double)heap_goal)
            g = (double)heap_goal; /* objects alone may fill the goal */
        gh_store(&gcpercent_goal, g >= 1.8e19 ? NONE : GH_ALIGN_UP((uint64_t)g, GH_PAGE_SIZE));
        last_heap_goal = heap_goal;
    }
    scav_set_limit(lim); /* stores the limit and wakes the scavenger */
}

int64_t scav_memory_limit(void) { return (int64_t)gh_load(&memlimit); }

bool scav_fits_under_limit(uint64_t bytes) {
    int64_t lim = scav_memory_limit();
    if (lim == INT64_MAX)
        return true;
    uint64_t inuse = (uint64_t)gh_load(&mheap_.pages_inuse) << GH_PAGE_SHIFT;
    return inuse + bytes + sys_metadata_bytes() <= (uint64_t)lim;
}

uint64_t scav_released_bg(void) { return gh_load(&released_bg); }
void scav_bg_pacing(uint64_t *cpu_ns, uint64_t *sleep_ns) {
    *cpu_ns = gh_load_acquire(&bg_cpu_ns);
    *sleep_ns = gh_load_acquire(&bg_sleep_ns);
}
uint64_t scav_released_sync(void) { return gh_load(&released_sync); }
