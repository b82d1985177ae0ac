/*
 * check_final.c — finalizers, weak references and heap profiles (specials).
 *
 * Finalizers: run exactly once, only after the object is unreachable, with
 * the object and everything it reaches intact; resurrection works and the
 * object is freed by a later cycle once unreachable again; a finalizer may
 * allocate and set a new finalizer; many specials on one span; manual mode
 * (gc_run_finalizers) and the finalizer thread. Weak handles: one per
 * object, cleared exactly when the object is found unreachable, before its
 * finalizer runs and never resurrected by it. Misuse: finalizer on a
 * non-heap or interior pointer, or set twice, is fatal with a message.
 * Concurrency: mutator threads setting finalizers and reading weak handles
 * while cycles run, with gccheckmark=1. Heap profile: the written profile is
 * readable by `go tool pprof` and names the allocating function.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "goheap.h"
#include "harness.h"
#include "special.h"

typedef struct fobj {
    struct fobj *ref;
    long value;
    long id;
} fobj;
GC_TYPE(fobj_type, fobj, ref);

#define MAXF 4096
static volatile AO_t fin_count[MAXF];
static volatile AO_t fin_bad; /* finalizer saw a broken object */
static fobj *resurrect_slot;  /* a registered root */

static void manual_init(void) {
    gc_options o = {.manual_finalizers = true};
    gc_init_opts(&o);
    memset((void *)fin_count, 0, sizeof fin_count);
    AO_store(&fin_bad, 0);
    resurrect_slot = NULL;
    gc_add_roots(&resurrect_slot, sizeof resurrect_slot);
}

static void manual_fini(void) {
    gc_remove_roots(&resurrect_slot);
    gc_shutdown();
}

static void count_fin(void *obj, void *arg) {
    fobj *o = obj;
    (void)arg;
    if (o->id < 0 || o->id >= MAXF || o->value != o->id * 3 ||
        (o->ref != NULL && o->ref->value != 77))
        AO_store(&fin_bad, 1);
    else
        AO_fetch_and_add1(&fin_count[o->id]);
}

static fobj *make(long id) {
    fobj *o = gc_alloc(sizeof *o, &fobj_type);
    o->id = id;
    o->value = id * 3;
    return o;
}

START_TEST(test_final_runs_once_after_unreachable) {
    fobj *o = make(1), *child = NULL;
    GC_FRAME(f, &o, &child);
    child = make(2);
    child->value = 77;
    GC_STORE(o->ref, child);
    child = NULL;
    gc_set_finalizer(o, count_fin, NULL);
    for (int i = 0; i < 3; i++) {
        gc_collect();
        gc_run_finalizers();
        ck_assert_uint_eq(AO_load(&fin_count[1]), 0); /* reachable: never */
    }
    o = NULL;
    gc_collect();
    gc_run_finalizers();
    ck_assert_uint_eq(AO_load(&fin_count[1]), 1);
    ck_assert_uint_eq(AO_load(&fin_bad), 0); /* object and referent intact */
    for (int i = 0; i < 3; i++) {
        gc_collect();
        gc_run_finalizers();
    }
    ck_assert_uint_eq(AO_load(&fin_count[1]), 1); /* once */
    gc_stats st;
    gc_read_stats(&st);
    ck_assert_uint_eq(st.heap_objects, 0); /* freed by the next cycle */
    GC_UNFRAME(f);
}
END_TEST

static void resurrect_fin(void *obj, void *arg) {
    (void)arg;
    GC_STORE(resurrect_slot, (fobj *)obj);
    count_fin(obj, NULL);
}

START_TEST(test_final_resurrection) {
    fobj *o = make(5);
    gc_set_finalizer(o, resurrect_fin, NULL);
    o = NULL;
    gc_collect();
    gc_run_finalizers();
    ck_assert_uint_eq(AO_load(&fin_count[5]), 1);
    ck_assert_ptr_nonnull(resurrect_slot);
    gc_collect();
    gc_collect();
    ck_assert_int_eq(resurrect_slot->value, 15); /* alive and intact */
    gc_run_finalizers();
    ck_assert_uint_eq(AO_load(&fin_count[5]), 1); /* not run again */
    GC_STORE(resurrect_slot, NULL);
    gc_collect();
    gc_collect();
    gc_stats st;
    gc_read_stats(&st);
    ck_assert_uint_eq(st.heap_objects, 0);
}
END_TEST

static void refinalize_fin(void *obj, void *arg) {
    fobj *o = obj;
    count_fin(obj, NULL);
    /* Allocates, and sets a new finalizer on its own object. */
    fobj *extra = gc_alloc(sizeof *extra, &fobj_type);
    extra->value = 77;
    GC_STORE(o->ref, extra);
    if (arg != NULL)
        gc_set_finalizer(o, refinalize_fin, NULL);
}

START_TEST(test_final_allocates_and_resets) {
    fobj *o = make(9);
    gc_set_finalizer(o, refinalize_fin, (void *)1);
    o = NULL;
    for (int i = 0; i < 6; i++) {
        gc_collect();
        gc_run_finalizers();
    }
    /* Twice: once by the first finalizer, once by the one it set. */
    ck_assert_uint_eq(AO_load(&fin_count[9]), 2);
    ck_assert_uint_eq(AO_load(&fin_bad), 0);
}
END_TEST

START_TEST(test_final_many_on_one_span) {
    enum { N = 500 };
    fobj **keep = gc_alloc(N * sizeof(fobj *), gc_type_build("arr", sizeof(void *),
                                                             (size_t[]){0}, 1));
    GC_FRAME(f, &keep);
    gc_weak *weak[N];
    for (long i = 0; i < N; i++) {
        fobj *o = make(100 + i);
        GC_STORE(keep[i], o);
        gc_set_finalizer(o, count_fin, NULL);
        weak[i] = gc_weak_new(o);
    }
    gc_add_roots(weak, sizeof weak);
    /* Drop every other object. */
    for (long i = 0; i < N; i += 2)
        GC_STORE(keep[i], NULL);
    gc_collect();
    gc_run_finalizers();
    for (long i = 0; i < N; i++) {
        bool dead = i % 2 == 0;
        ck_assert_uint_eq(AO_load(&fin_count[100 + i]), dead ? 1 : 0);
        void *got = gc_weak_get(weak[i]);
        if (dead)
            ck_assert_ptr_null(got);
        else
            ck_assert_ptr_eq(got, keep[i]);
    }
    ck_assert_uint_eq(AO_load(&fin_bad), 0);
    gc_remove_roots(weak);
    GC_UNFRAME(f);
}
END_TEST

static gc_weak *seen_weak;
static volatile AO_t weak_seen_null;

static void weak_check_fin(void *obj, void *arg) {
    (void)obj;
    (void)arg;
    /* The handle was cleared before the finalizer was queued. */
    AO_store(&weak_seen_null, gc_weak_get(seen_weak) == NULL);
}

START_TEST(test_weak_semantics) {
    ck_assert_ptr_null(gc_weak_new(NULL));
    fobj *o = make(20);
    GC_FRAME(f, &o, &seen_weak);
    seen_weak = gc_weak_new(o);
    ck_assert_ptr_nonnull(seen_weak);
    ck_assert_ptr_eq(gc_weak_new(o), seen_weak); /* one handle per object */
    gc_collect();
    ck_assert_ptr_eq(gc_weak_get(seen_weak), o);
    gc_set_finalizer(o, weak_check_fin, NULL);
    o = NULL;
    gc_collect();
    /* Found unreachable: cleared at once, even though the finalizer keeps
     * the object alive until it has run. */
    ck_assert_ptr_null(gc_weak_get(seen_weak));
    gc_run_finalizers();
    ck_assert_uint_eq(AO_load(&weak_seen_null), 1);
    gc_collect();
    ck_assert_ptr_null(gc_weak_get(seen_weak));
    GC_UNFRAME(f);
}
END_TEST

/* --- misuse --- */

static void fin_nonheap(void *arg) {
    (void)arg;
    static long x;
    gc_init();
    gc_set_finalizer(&x, count_fin, NULL);
}

static void fin_interior(void *arg) {
    (void)arg;
    gc_init();
    fobj *o = make(1);
    gc_set_finalizer(&o->value, count_fin, NULL);
}

static void fin_twice(void *arg) {
    (void)arg;
    gc_init();
    fobj *o = make(1);
    gc_set_finalizer(o, count_fin, NULL);
    gc_set_finalizer(o, count_fin, NULL);
}

/* Runs fn in a child and checks it aborted with `want` in its message. */
static void expect_fatal(void (*fn)(void *), const char *want) {
    child_result r;
    run_in_child(fn, NULL, &r);
    ck_assert_msg(child_aborted(&r), "expected an abort; stderr:\n%s", r.err);
    ck_assert_msg(strstr(r.err, "goheap: fatal error: ") != NULL && strstr(r.err, want) != NULL,
                  "expected \"%s\"; stderr:\n%s", want, r.err);
    child_result_free(&r);
}

START_TEST(test_final_misuse) {
    expect_fatal(fin_nonheap, "is not to a goheap object");
    expect_fatal(fin_interior, "is not at the beginning of an object");
    expect_fatal(fin_twice, "already has a finalizer");
}
END_TEST

/* --- a weak handle of a reachable object never reads NULL --- */

#define WEAK_N 4096
static void *weak_objs[WEAK_N];
static gc_weak *weak_handles[WEAK_N];

/* Cycles every few allocations (gcstress) keep background sweeping busy
 * while the handles are read: a span caught between trading its mark bits
 * and publishing its sweep must not make a live object look dead. */
static void weak_race_child(void *arg) {
    (void)arg;
    setenv("GOHEAP_DEBUG", "gcstress=3", 1);
    gc_init();
    gc_add_roots(weak_objs, sizeof weak_objs);
    gc_add_roots(weak_handles, sizeof weak_handles);
    for (int i = 0; i < WEAK_N; i++) {
        GC_STORE(weak_objs[i], gc_alloc(24, NULL));
        GC_STORE(weak_handles[i], gc_weak_new(weak_objs[i]));
    }
    for (int round = 0; round < 2000; round++) {
        for (int k = 0; k < 2000; k++)
            (void)gc_alloc(32, NULL);
        for (int i = 0; i < WEAK_N; i++)
            if (gc_weak_get(weak_handles[i]) != weak_objs[i]) {
                fprintf(stderr, "handle %d read %p for live object %p\n", i,
                        gc_weak_get(weak_handles[i]), weak_objs[i]);
                exit(3);
            }
    }
    exit(0);
}

START_TEST(test_weak_live_never_null) {
    child_result r;
    run_in_child(weak_race_child, NULL, &r);
    ck_assert_msg(child_exited_ok(&r), "status %d: %s", r.status, r.err);
    child_result_free(&r);
}
END_TEST

/* --- the finalizer thread, with concurrent mutators and checkmark --- */

static void *churn(void *arg) {
    long base = (long)arg;
    gc_thread_register();
    fobj *o = NULL;
    gc_weak *w = NULL;
    GC_FRAME(f, &o, &w);
    for (long i = 0; i < 1000; i++) {
        o = make(base + i);
        gc_set_finalizer(o, count_fin, NULL);
        w = gc_weak_new(o);
        if (gc_weak_get(w) != o)
            AO_store(&fin_bad, 1);
        for (int k = 0; k < 20; k++)
            (void)gc_alloc(64, &fobj_type); /* garbage, to drive cycles */
        if (gc_weak_get(w) != o) /* still alive: held in the frame */
            AO_store(&fin_bad, 1);
    }
    o = NULL;
    GC_UNFRAME(f);
    gc_thread_unregister();
    return NULL;
}

static void threaded_child(void *arg) {
    (void)arg;
    setenv("GOHEAP_DEBUG", "gccheckmark=1", 1);
    setenv("GOHEAP_GOGC", "10", 1);
    gc_init(); /* finalizers on the finalizer thread */
    pthread_t a, b;
    gc_enter_blocking();
    pthread_create(&a, NULL, churn, (void *)0L);
    pthread_create(&b, NULL, churn, (void *)2000L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    gc_leave_blocking();
    /* Every object is dead now: its finalizer must run exactly once. */
    for (int round = 0; round < 200; round++) {
        gc_collect();
        long total = 0;
        for (int i = 0; i < MAXF; i++)
            total += (long)AO_load(&fin_count[i]);
        if (total >= 2000)
            break;
        usleep(10000);
    }
    for (int i = 0; i < 1000; i++)
        if (AO_load(&fin_count[i]) != 1 || AO_load(&fin_count[2000 + i]) != 1) {
            fprintf(stderr, "object %d finalized %lu times\n", i,
                    (unsigned long)AO_load(&fin_count[i]));
            exit(3);
        }
    if (AO_load(&fin_bad))
        exit(4);
    gc_shutdown();
    exit(0);
}

START_TEST(test_final_thread_concurrent) {
    child_result r;
    run_in_child(threaded_child, NULL, &r);
    ck_assert_msg(child_exited_ok(&r), "status %d: %s", r.status, r.err);
    child_result_free(&r);
}
END_TEST

/* --- heap profile readable by go tool pprof --- */

static fobj *prof_keep;

__attribute__((noinline)) static void allocate_profiled_widgets(void) {
    for (int i = 0; i < 100000; i++) {
        fobj *o = gc_alloc(sizeof *o, &fobj_type);
        GC_STORE(o->ref, prof_keep);
        prof_keep = o;
    }
}

START_TEST(test_profile_pprof) {
    if (access("/usr/bin/go", X_OK) != 0)
        return; /* golang-go not installed: nothing to check against */
    gc_add_roots(&prof_keep, sizeof prof_keep);
    allocate_profiled_widgets();
    gc_collect();
    char path[] = "/tmp/goheap-profile-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(gc_write_heap_profile(path), 0);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    char cmd[8400];
    snprintf(cmd, sizeof cmd,
             "HOME=/tmp GOCACHE=/tmp/goheap-gocache /usr/bin/go tool pprof -top "
             "-sample_index=inuse_space '%s' '%s' 2>&1",
             exe, path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[65536];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    pclose(p);
    unlink(path);
    ck_assert_msg(strstr(out, "allocate_profiled_widgets") != NULL, "pprof said:\n%s", out);
    gc_remove_roots(&prof_keep);
    prof_keep = NULL;
}
END_TEST

static void profile_setup(void) {
    setenv("GOHEAP_DEBUG", "memprofilerate=1024", 1);
    gc_init();
}

static void profile_teardown(void) {
    gc_shutdown();
    unsetenv("GOHEAP_DEBUG");
}

int main(void) {
    Suite *s = suite_create("final");
    TCase *tc = tcase_create("finalizers");
    tcase_add_checked_fixture(tc, manual_init, manual_fini);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_final_runs_once_after_unreachable);
    tcase_add_test(tc, test_final_resurrection);
    tcase_add_test(tc, test_final_allocates_and_resets);
    tcase_add_test(tc, test_final_many_on_one_span);
    tcase_add_test(tc, test_weak_semantics);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    if (srunner_fork_status(sr) != CK_NOFORK) {
        TCase *misuse = tcase_create("misuse");
        tcase_set_timeout(misuse, 120);
        tcase_add_test(misuse, test_final_misuse);
        tcase_add_test(misuse, test_final_thread_concurrent);
        tcase_add_test(misuse, test_weak_live_never_null);
        suite_add_tcase(s, misuse);
    }
    TCase *prof = tcase_create("profile");
    tcase_add_checked_fixture(prof, profile_setup, profile_teardown);
    tcase_set_timeout(prof, 120);
    tcase_add_test(prof, test_profile_pprof);
    suite_add_tcase(s, prof);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
