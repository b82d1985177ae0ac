/*
 * check_checkmark.c — proves that gccheckmark=1 catches a missing write
 * barrier, and that GC_STORE prevents the loss it would cause.
 *
 * The interleaving is made deterministic with the collector's test hook
 * (cycle_test_hook, "mark-drained": marking has found no work left, the
 * world is running, termination has not begun). At that point object B,
 * reachable from a frame, is black; object X is white, reachable from
 * nothing the collector knows (its address sits in a plain static). A second
 * thread, registered only then, so that its frames were never scanned and
 * count as grey, stores X into B:
 *   - without GC_STORE: X stays white although B now reaches it, so the
 *     sweep would free a reachable object. Checkmark verification must
 *     abort naming X, its type, and the slot of B holding it.
 *   - with GC_STORE: the barrier's insertion half shades X (the storing
 *     thread's frames are grey), the termination handshake finds the work,
 *     marking resumes, X survives with its contents.
 * (A thread whose frames were scanned does not shade the value it stores:
 * everything it can legally hold is marked or protected by the deletion
 * half, gc/barrier.c. X, read from a plain static, is not such a value.)
 * Each case runs in a forked child so its environment (GOHEAP_DEBUG) and its
 * abort stay there.
 */
#include <check.h>

#include "harness.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc.h"
#include "goheap.h"

typedef struct cm_node {
    struct cm_node *next;
    uint64_t value;
} cm_node;
GC_TYPE(cm_node_type, cm_node, next);

static cm_node *volatile black_obj;   /* also held in the main thread's frame */
static volatile uintptr_t hidden_obj; /* not a root: the collector cannot see it */
static bool use_barrier;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int state; /* 0 idle, 1 store requested, 2 stored, 3 exit */

static void hook(const char *point) {
    if (strcmp(point, "mark-drained") != 0)
        return;
    pthread_mutex_lock(&lock);
    if (state == 0) {
        state = 1;
        pthread_cond_broadcast(&cv);
        while (state != 2)
            pthread_cond_wait(&cv, &lock);
    }
    pthread_mutex_unlock(&lock);
}

/* The mutator that performs the store while marking is paused. */
static void *mutator(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (state != 1)
        pthread_cond_wait(&cv, &lock);
    pthread_mutex_unlock(&lock);
    gc_thread_register(); /* during the mark: frames grey (see above) */
    cm_node *x = (cm_node *)hidden_obj;
    if (use_barrier)
        GC_STORE(black_obj->next, x);
    else
        black_obj->next = x; /* the bug under test: no write barrier */
    gc_enter_blocking();
    pthread_mutex_lock(&lock);
    state = 2;
    pthread_cond_broadcast(&cv);
    while (state != 3)
        pthread_cond_wait(&cv, &lock);
    pthread_mutex_unlock(&lock);
    gc_leave_blocking();
    gc_thread_unregister();
    return NULL;
}

/* The scenario, run in a child process. Returns normally only if the
 * object survived; aborts if checkmark caught the lost object. */
static void scenario(void) {
    setenv("GOHEAP_DEBUG", "gccheckmark=1", 1);
    gc_init();
    cm_node *b = gc_alloc(sizeof *b, &cm_node_type);
    GC_FRAME(f, &b);
    black_obj = b;
    cm_node *x = gc_alloc(sizeof *x, &cm_node_type);
    x->value = 0xC0FFEE;
    hidden_obj = (uintptr_t)x;
    x = NULL;
    pthread_t th;
    pthread_create(&th, NULL, mutator, NULL);
    cycle_test_hook = hook;
    gc_collect();
    cycle_test_hook = NULL;
    /* Survived: the object must be intact after another full cycle. */
    gc_collect();
    if (b->next == NULL || b->next->value != 0xC0FFEE) {
        fprintf(stderr, "object lost: next=%p\n", (void *)b->next);
        exit(3);
    }
    pthread_mutex_lock(&lock);
    state = 3;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lock);
    gc_enter_blocking();
    pthread_join(th, NULL);
    gc_leave_blocking();
    GC_UNFRAME(f);
    gc_shutdown();
    exit(0);
}

/* Runs the scenario in a child; returns its wait status and stderr. */
static int run_child(bool barrier, char *err, size_t errcap) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        use_barrier = barrier;
        scenario();
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errcap && (r = read(fds[0], err + n, errcap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return status;
}

START_TEST(test_checkmark_catches_missing_barrier) {
    char err[8192];
    int status = run_child(false, err, sizeof err);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "expected an abort, got status %d; stderr:\n%s", status, err);
    ck_assert_msg(strstr(err, "goheap: fatal error: checkmark: object 0x") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "of type cm_node") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "is reachable but was not marked") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "referenced from slot 0x") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "(offset 0) of object 0x") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "goheap: backtrace:") != NULL, "%s", err);
}
END_TEST

START_TEST(test_checkmark_barrier_keeps_object) {
    char err[8192];
    int status = run_child(true, err, sizeof err);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "expected a clean exit, got status %d; stderr:\n%s", status, err);
}
END_TEST

int main(void) {
    Suite *s = suite_create("checkmark");
    TCase *tc = tcase_create("barrier");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_checkmark_catches_missing_barrier);
    tcase_add_test(tc, test_checkmark_barrier_keeps_object);
    suite_add_tcase(s, tc);
    return harness_run(s);
}
