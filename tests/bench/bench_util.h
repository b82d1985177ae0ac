/*
 * bench_util.h — clock, peak RSS and the RESULT line shared by the C
 * benchmarks (the Go twin in go/main.go prints the same format).
 *
 * Every benchmark prints one line per measurement on stdout and nothing else:
 *
 *   RESULT name=gcbench system=goheap unit=s value=1.234567 maxrss_kb=12345
 *
 * name is the measurement, unit says what value counts (s, ns/op, or x for a
 * ratio such as thread scaling) and maxrss_kb is the process's peak resident
 * set so far (getrusage ru_maxrss, which Linux reports in KiB). run.sh parses
 * these lines; people can read them too.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

/* Monotonic wall-clock seconds: a benchmark with threads is judged by
 * elapsed time, not CPU time. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline long bench_maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static inline void bench_result(const char *name, const char *system, const char *unit,
                                double value) {
    printf("RESULT name=%s system=%s unit=%s value=%.6f maxrss_kb=%ld\n", name, system,
           unit, value, bench_maxrss_kb());
    fflush(stdout);
}

#endif /* BENCH_UTIL_H */
