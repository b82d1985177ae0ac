/*
 * init.c — gc_init and gc_shutdown: bringing the heap up and down.
 *
 * gc_init reads the environment, sets up the heap's global structures,
 * starts the background threads and registers the calling thread; calling it
 * again while initialised does nothing. gc_shutdown undoes all of it and
 * returns every mapping to the OS, after which gc_init may start afresh.
 * Neither is safe to call concurrently with other heap calls: they bracket
 * the program's use of the heap. The layouts the inline code in goheap.h
 * relies on are pinned here at compile time.
 */
#include <stddef.h>
#include <stdlib.h>

#include "env.h"
#include "mcentral.h"
#include "mheap.h"
#include "roots.h"
#include "special.h"
#include "stats.h"
#include "sys.h"
#include "thread.h"
#include "upcalls.h"

GH_STATIC_ASSERT(offsetof(gci_frame, prev) == 0, "gci_frame layout is ABI");
GH_STATIC_ASSERT(offsetof(gci_frame, count) == sizeof(void *), "gci_frame layout is ABI");
GH_STATIC_ASSERT(offsetof(gci_frame, slots) == 2 * sizeof(void *), "gci_frame layout is ABI");
GH_STATIC_ASSERT(GOHEAP_ABI_VERSION == 1, "update the layout asserts with the ABI version");

static bool initialised;

void work_init(void);
void work_release_all(void);
void type_release_all(void);

bool init_done(void) { return initialised; }

void gc_init(void) { gc_init_opts(NULL); }

void gc_init_opts(const gc_options *opts) {
    if (initialised)
        return;
    env_parse();
    sys_set_fail_after((uint64_t)gh_debug.sysfail);
    stats_init();
    mheap_init();
    mcentral_init();
    roots_init();
    thr_init();
    work_init();
    cycle_init();
    profile_init();
    initialised = true;
    thr_register_self();
    final_init(opts != NULL && opts->manual_finalizers);
}

/* Frees the C-heap metadata hanging off a span that is still in use at
 * shutdown: its recorded types and its specials (finalizers, weak handles,
 * profile samples). LeakSanitizer found them leaked by gc_shutdown. */
static void release_span_metadata(mspan *s, void *arg) {
    (void)arg;
    free(s->obj_types);
    s->obj_types = NULL;
    while (s->specials != NULL) {
        special *sp = s->specials;
        s->specials = sp->next;
        free(sp);
    }
}

void gc_shutdown(void) {
    if (!initialised)
        gh_throw("gc_shutdown: goheap is not initialised");
    gh_thread *t = thr_current("gc_shutdown");
    /* Parked, so a cycle in flight neither waits for this thread nor is
     * waited for by it while the finalizer and collector threads are
     * joined: a cycle asked for at a trigger may start at any time, and
     * the finalizer thread, if stopped by it, can only finish once the
     * world restarts. */
    gc_enter_blocking();
    final_shutdown();
    if (thr_count() != 1 || thr_list() != t)
        gh_fatalf("gc_shutdown: %u other threads are still registered", thr_count() - 1);
    cycle_shutdown();
    thr_shutdown();
    roots_shutdown();
    type_release_all();
    profile_shutdown();
    work_release_all();
    mheap_for_each_span(release_span_metadata, NULL);
    mheap_release_all();
    initialised = false;
}
