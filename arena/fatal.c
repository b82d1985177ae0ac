/*
 * fatal.c — fatal errors and diagnostics.                      Go: panic.go (throw)
 *
 * A fatal error prints "goheap: fatal error: <what happened>", then a
 * backtrace of the calling thread taken with libunwind (function name and
 * offset per frame), then aborts, so a test or a core dump catches it. It
 * never allocates from the goheap heap and writes with one stdio call per
 * line, so it works from any state the heap may be in. A second fatal error
 * raised while the first is printing (a crash inside the backtrace) aborts at
 * once instead of recursing.
 */
#define UNW_LOCAL_ONLY
#include "base.h"

#include <libunwind.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"

static volatile AO_t dying;

/* Prints the calling thread's stack to stderr, innermost frame first,
 * skipping the frames of fatal.c itself. */
static void print_backtrace(void) {
    unw_context_t ctx;
    unw_cursor_t cur;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) {
        fputs("goheap: (no backtrace: libunwind could not start)\n", stderr);
        return;
    }
    fputs("goheap: backtrace:\n", stderr);
    int depth = 0;
    while (unw_step(&cur) > 0 && depth < 64) {
        unw_word_t ip = 0, off = 0;
        char name[256];
        unw_get_reg(&cur, UNW_REG_IP, &ip);
        if (unw_get_proc_name(&cur, name, sizeof name, &off) != 0)
            snprintf(name, sizeof name, "?");
        /* Frames of this file are noise: start at the function that threw. */
        if (depth == 0 && (strcmp(name, "gh_fatalf") == 0 || strcmp(name, "gh_throw") == 0))
            continue;
        fprintf(stderr, "  #%-2d 0x%016lx %s+0x%lx\n", depth, (unsigned long)ip, name,
                (unsigned long)off);
        depth++;
    }
}

GH_NORETURN static void die(void) {
    fflush(stderr);
    abort();
}

void gh_throw(const char *msg) { gh_fatalf("%s", msg); }

void gh_fatalf(const char *fmt, ...) {
    if (!gh_cas(&dying, 0, 1))
        die();
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "goheap: fatal error: %s\n", buf);
    print_backtrace();
    die();
}

void gh_printf(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "goheap: %s\n", buf);
}
