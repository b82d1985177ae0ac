/*
 * harness.h — shared test support: fixtures that bring the heap up and down,
 * a deterministic PRNG (xorshift64*), and a helper that runs a function in a
 * forked child with its stderr captured, for fatal-error and warning tests.
 */
#ifndef GH_TEST_HARNESS_H
#define GH_TEST_HARNESS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checked-fixture bodies: gc_init() / gc_shutdown(). */
void harness_setup(void);
void harness_teardown(void);

/* xorshift64*: deterministic, seedable, good enough for test workloads. */
typedef struct xrand {
    uint64_t s;
} xrand;

void xr_seed(xrand *r, uint64_t seed);
uint64_t xr_next(xrand *r);
/* Uniform in [0, n), n > 0. */
uint64_t xr_below(xrand *r, uint64_t n);

/* Runs suite s with Check's runner (fork mode unless CK_FORK=no) and
 * returns the process exit status: 0 if every test passed, 1 otherwise. */
int harness_run(Suite *s);

/* The outcome of run_in_child. */
typedef struct child_result {
    int status;  /* raw waitpid() status */
    char *err;   /* everything the child wrote to stderr, NUL-terminated */
    size_t len;
} child_result;

/* Forks; the child redirects stderr into a pipe, disables core dumps, runs
 * fn(arg) and exits 0 if fn returns. The parent collects stderr and the exit
 * status. The child must not rely on heap state of the parent: it calls
 * gc_init itself. */
void run_in_child(void (*fn)(void *), void *arg, child_result *out);
void child_result_free(child_result *r);
/* Did the child die of SIGABRT? */
bool child_aborted(const child_result *r);
/* Did the child exit normally with status 0? */
bool child_exited_ok(const child_result *r);

/* The process's resident set size in bytes, from /proc/self/statm (0 if
 * it cannot be read). */
uint64_t harness_rss_bytes(void);

/* Number of lines of s (a trailing newline does not start a new line). */
size_t count_lines(const char *s);

#endif /* GH_TEST_HARNESS_H */
