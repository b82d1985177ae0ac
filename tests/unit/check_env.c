/*
 * check_env.c — unit tests for GOHEAP_* parsing (runtime/env.c).
 *
 * Covers: env_parse_int and env_parse_bytes accept/reject tables (units,
 * empty strings, signs, fractions, unknown suffixes, overflow); valid
 * settings reaching the heap (GOGC, MEMLIMIT); each malformed variable
 * producing exactly one warning line on stderr with the default kept, and
 * no repeat of the warning after gc_shutdown/gc_init. Warnings are checked
 * in a forked child with stderr captured (run_in_child), because they are
 * printed once per process.
 */
#include "env.h"
#include "goheap.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB ((int64_t)1 << 10)
#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)
#define TIB ((int64_t)1 << 40)

static const struct {
    const char *in;
    bool ok;
    int64_t want;
} bytes_table[] = {
    {"512MiB", true, 512 * MIB},
    {"2GiB", true, 2 * GIB},
    {"1TiB", true, TIB},
    {"100", true, 100},
    {"0", true, 0},
    {"8B", true, 8},
    {"64KiB", true, 64 * KIB},
    {"8388607TiB", true, 8388607 * TIB},
    {"9223372036854775807", true, INT64_MAX},
    {"", false, 0},
    {"-1", false, 0},
    {"+1", false, 0},
    {"1.5GiB", false, 0},
    {"12XB", false, 0},
    {"1gib", false, 0},
    {"1 GiB", false, 0},
    {" 1", false, 0},
    {"GiB", false, 0},
    {"1KB", false, 0},
    {"99999999999TiB", false, 0},
    {"8388608TiB", false, 0},
    {"9223372036854775808", false, 0},
    {"18446744073709551616", false, 0},
};

START_TEST(test_env_parse_bytes_table) {
    for (size_t i = 0; i < sizeof bytes_table / sizeof bytes_table[0]; i++) {
        int64_t v = -12345;
        bool ok = env_parse_bytes(bytes_table[i].in, &v);
        ck_assert_msg(ok == bytes_table[i].ok, "env_parse_bytes('%s') returned %d",
                      bytes_table[i].in, ok);
        if (ok)
            ck_assert_msg(v == bytes_table[i].want, "env_parse_bytes('%s') = %lld, want %lld",
                          bytes_table[i].in, (long long)v, (long long)bytes_table[i].want);
        else
            ck_assert_msg(v == -12345, "env_parse_bytes('%s') wrote its output on failure",
                          bytes_table[i].in);
    }
    ck_assert(!env_parse_bytes(NULL, &(int64_t){0}));
}
END_TEST

static const struct {
    const char *in;
    bool ok;
    int64_t want;
} int_table[] = {
    {"100", true, 100},     {"0", true, 0},          {"-1", true, -1},
    {"+5", true, 5},        {"007", true, 7},        {"9223372036854775807", true, INT64_MAX},
    {"", false, 0},         {" 1", false, 0},        {"1 ", false, 0},
    {"abc", false, 0},      {"1.5", false, 0},       {"0x10", false, 0},
    {"12XB", false, 0},     {"512MiB", false, 0},    {"9223372036854775808", false, 0},
    {"-9223372036854775809", false, 0},
};

START_TEST(test_env_parse_int_table) {
    for (size_t i = 0; i < sizeof int_table / sizeof int_table[0]; i++) {
        int64_t v = -12345;
        bool ok = env_parse_int(int_table[i].in, &v);
        ck_assert_msg(ok == int_table[i].ok, "env_parse_int('%s') returned %d", int_table[i].in,
                      ok);
        if (ok)
            ck_assert_msg(v == int_table[i].want, "env_parse_int('%s') = %lld", int_table[i].in,
                          (long long)v);
    }
    ck_assert(!env_parse_int(NULL, &(int64_t){0}));
}
END_TEST

/* --- settings in a child process --- */

typedef struct {
    const char *var;
    const char *value;
    const char *warning; /* the exact stderr, or NULL for none */
} env_case;

static const env_case cases[] = {
    {"GOHEAP_GOGC", "abc", "goheap: GOHEAP_GOGC: malformed value 'abc'; keeping the default\n"},
    {"GOHEAP_GOGC", "-5", "goheap: GOHEAP_GOGC: malformed value '-5'; keeping the default\n"},
    {"GOHEAP_GOGC", "", "goheap: GOHEAP_GOGC: malformed value ''; keeping the default\n"},
    {"GOHEAP_MEMLIMIT", "12XB",
     "goheap: GOHEAP_MEMLIMIT: malformed value '12XB'; keeping the default\n"},
    {"GOHEAP_MEMLIMIT", "1.5GiB",
     "goheap: GOHEAP_MEMLIMIT: malformed value '1.5GiB'; keeping the default\n"},
    {"GOHEAP_MARKERS", "0", "goheap: GOHEAP_MARKERS: malformed value '0'; keeping the default\n"},
    {"GOHEAP_MARKERS", "many",
     "goheap: GOHEAP_MARKERS: malformed value 'many'; keeping the default\n"},
    {"GOHEAP_DEBUG", "gctrace=x",
     "goheap: GOHEAP_DEBUG: malformed value in 'gctrace=x'; keeping the default\n"},
    {"GOHEAP_DEBUG", "bogus=1",
     "goheap: GOHEAP_DEBUG: unknown setting 'bogus'; keeping the default\n"},
    {"GOHEAP_DEBUG", "gctrace",
     "goheap: GOHEAP_DEBUG: setting without '=': 'gctrace'; keeping the default\n"},
    {"GOHEAP_GOGC", "off", NULL},
    {"GOHEAP_GOGC", "250", NULL},
    {"GOHEAP_MEMLIMIT", "512MiB", NULL},
    {"GOHEAP_MEMLIMIT", "off", NULL},
    {"GOHEAP_MARKERS", "3", NULL},
    {"GOHEAP_DEBUG", "gctrace=0,invalidptr=1", NULL},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* In the child: sets the variable, brings the heap up twice, and prints
 * (to stdout, not captured) nothing; checks settings with exit codes. */
static void env_child(void *arg) {
    const env_case *c = arg;
    setenv(c->var, c->value, 1);
    gc_init();
    int code = 0;
    int gogc = gc_set_percent(100);
    int64_t limit = gc_set_memory_limit(-1);
    if (strcmp(c->var, "GOHEAP_GOGC") == 0) {
        int want = c->warning ? 100 : strcmp(c->value, "off") == 0 ? -1 : atoi(c->value);
        if (gogc != want)
            code |= 1;
    } else if (gogc != 100) {
        code |= 1;
    }
    int64_t want_limit = INT64_MAX;
    if (strcmp(c->var, "GOHEAP_MEMLIMIT") == 0 && !c->warning && strcmp(c->value, "off") != 0)
        env_parse_bytes(c->value, &want_limit);
    if (limit != want_limit)
        code |= 2;
    if (strcmp(c->var, "GOHEAP_MARKERS") == 0 && !c->warning && gh_env.markers != atoi(c->value))
        code |= 4;
    if (strcmp(c->var, "GOHEAP_DEBUG") == 0 && gh_debug.gctrace != 0)
        code |= 8;
    /* A second init in the same process does not repeat the warning. */
    gc_shutdown();
    gc_init();
    gc_shutdown();
    fflush(stderr);
    _exit(code);
}

START_TEST(test_env_settings_and_warnings) {
    const env_case *c = &cases[_i];
    child_result r;
    run_in_child(env_child, (void *)c, &r);
    ck_assert_msg(WIFEXITED(r.status), "%s=%s: child died: %s", c->var, c->value, r.err);
    ck_assert_msg(WEXITSTATUS(r.status) == 0, "%s=%s: setting not as expected (code %d)", c->var,
                  c->value, WEXITSTATUS(r.status));
    if (c->warning == NULL)
        ck_assert_msg(r.len == 0, "%s=%s: unexpected output '%s'", c->var, c->value, r.err);
    else
        ck_assert_msg(strcmp(r.err, c->warning) == 0, "%s=%s: stderr is '%s', want '%s'", c->var,
                      c->value, r.err, c->warning);
    child_result_free(&r);
}
END_TEST

/* Several malformed variables: one line each, once. */
static void many_child(void *arg) {
    (void)arg;
    setenv("GOHEAP_GOGC", "x", 1);
    setenv("GOHEAP_MEMLIMIT", "y", 1);
    setenv("GOHEAP_MARKERS", "z", 1);
    setenv("GOHEAP_DEBUG", "gctrace=1,nosuch=2", 1);
    gc_init();
    bool trace_on = gh_debug.gctrace == 1;
    gc_shutdown();
    gc_init();
    gc_shutdown();
    fflush(stderr);
    _exit(trace_on ? 0 : 3);
}

START_TEST(test_env_several_malformed) {
    child_result r;
    run_in_child(many_child, NULL, &r);
    ck_assert_msg(child_exited_ok(&r), "child status %d: %s", r.status, r.err);
    ck_assert_uint_eq(count_lines(r.err), 4);
    ck_assert_ptr_nonnull(strstr(r.err, "GOHEAP_GOGC: malformed value 'x'"));
    ck_assert_ptr_nonnull(strstr(r.err, "GOHEAP_MEMLIMIT: malformed value 'y'"));
    ck_assert_ptr_nonnull(strstr(r.err, "GOHEAP_MARKERS: malformed value 'z'"));
    ck_assert_ptr_nonnull(strstr(r.err, "GOHEAP_DEBUG: unknown setting 'nosuch'"));
    child_result_free(&r);
}
END_TEST

static Suite *env_suite(bool fork) {
    Suite *s = suite_create("env");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_env_parse_bytes_table);
    tcase_add_test(parse, test_env_parse_int_table);
    suite_add_tcase(s, parse);
    /* Warnings are printed once per process: only meaningful in a child of
     * a process that never parsed the environment (fork mode). */
    if (fork) {
        TCase *vars = tcase_create("variables");
        tcase_add_loop_test(vars, test_env_settings_and_warnings, 0, NCASES);
        tcase_add_test(vars, test_env_several_malformed);
        suite_add_tcase(s, vars);
    }
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(NULL);
    srunner_add_suite(sr, env_suite(srunner_fork_status(sr) != CK_NOFORK));
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
