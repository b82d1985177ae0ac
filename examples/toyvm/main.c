/*
 * main.c — toyvm's driver: run a file, or read-eval-print from stdin.
 *
 *   toyvm [--summary] [FILE]
 *
 * With FILE, every top-level form is read and evaluated in turn; the first
 * error prints "error: line N: message" on stderr and exits with status 1.
 * Without FILE, forms are read from stdin (a prompt is shown only when stdin
 * is a terminal), results are printed, and an error abandons only the form
 * that raised it.
 *
 * --summary, or TOYVM_SUMMARY=1 in the environment, prints the collector's
 * statistics on stderr at exit: cycles, total and longest pause, and the
 * peak heap_alloc sampled by object.c.
 *
 * Reading stdin can block for as long as the user likes, so the read is
 * bracketed by vm_enter_blocking/vm_leave_blocking (gc_enter_blocking):
 * a collection started by another thread, or by a background mark worker
 * needing a stop-the-world, never waits for a thread parked in read().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

typedef struct run_state {
    reader *r;
    bool print_results;
} run_state;

/* Reads and evaluates every form left in the reader. Runs under vm_protect. */
static void run_forms(void *arg) {
    run_state *st = arg;
    obj *form = NULL, *value = NULL;
    VM_FRAME(f, &form, &value);
    while (read_datum(st->r, &form)) {
        value = eval(form, NULL);
        if (st->print_results && value != vm_unspecified) {
            vm_print(value, false);
            putchar('\n');
        }
    }
    VM_UNFRAME(f);
}

static char *read_file(const char *path, size_t *length) {
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *text = malloc(cap);
    size_t got;
    while ((got = fread(text + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap)
            text = realloc(text, cap *= 2);
    }
    fclose(fp);
    *length = n;
    return text;
}

static int run_file(const char *path) {
    size_t length;
    char *text = read_file(path, &length);
    if (!text) {
        fprintf(stderr, "toyvm: cannot read %s\n", path);
        return 1;
    }
    reader r;
    reader_init(&r, text, length, 1);
    run_state st = {&r, false};
    bool ok = vm_protect(run_forms, &st);
    free(text);
    return ok ? 0 : 1;
}

/* Parenthesis balance of a chunk of input, ignoring strings and comments:
 * the REPL evaluates once the forms typed so far are complete. */
static int paren_balance(const char *text) {
    int depth = 0;
    bool in_string = false;
    for (const char *p = text; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (*p == ';') {
            while (p[1] && p[1] != '\n')
                p++;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            depth--;
        }
    }
    return in_string ? 1 : depth;
}

static int repl(void) {
    const bool interactive = isatty(STDIN_FILENO);
    size_t cap = 1024, n = 0;
    char *pending = malloc(cap);
    pending[0] = '\0';
    int line = 1, first_line = 1;
    char chunk[4096];
    for (;;) {
        if (interactive) {
            fputs(n ? "  " : "> ", stdout);
        }
        fflush(stdout); /* results of the previous form, before blocking */
        vm_enter_blocking();
        char *got = fgets(chunk, sizeof chunk, stdin);
        vm_leave_blocking();
        if (!got)
            break;
        size_t len = strlen(chunk);
        if (n + len + 1 > cap)
            pending = realloc(pending, cap = (n + len + 1) * 2);
        memcpy(pending + n, chunk, len + 1);
        n += len;
        if (len && chunk[len - 1] == '\n')
            line++;
        if (paren_balance(pending) > 0)
            continue;
        reader r;
        reader_init(&r, pending, n, first_line);
        run_state st = {&r, true};
        vm_protect(run_forms, &st);
        n = 0;
        pending[0] = '\0';
        first_line = line;
    }
    if (n) { /* input ended inside a form: let the reader report it */
        reader r;
        reader_init(&r, pending, n, first_line);
        run_state st = {&r, true};
        vm_protect(run_forms, &st);
    }
    free(pending);
    return 0;
}

static void print_summary(void) {
    unsigned long long peak = vm_peak_heap_alloc();
    vm_heap_stats stats;
    vm_heap_read_stats(&stats);
    fprintf(stderr, "toyvm summary (%s): %lu GC cycles, total pause %.3f ms, ", VM_HEAP_NAME,
            stats.cycles, stats.pause_total_ms);
    if (stats.pause_max_ms >= 0)
        fprintf(stderr, "max pause %.3f ms, ", stats.pause_max_ms);
    fprintf(stderr, "peak heap %.1f MiB (sampled)\n", (double)peak / (1024.0 * 1024.0));
}

int main(int argc, char **argv) {
    const char *path = NULL;
    const char *env_summary = getenv("TOYVM_SUMMARY");
    bool summary = env_summary && strcmp(env_summary, "0") != 0 && *env_summary;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--summary") == 0) {
            summary = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "usage: toyvm [--summary] [FILE]\n");
            return 2;
        } else if (path) {
            fprintf(stderr, "toyvm: only one FILE may be given\n");
            return 2;
        } else {
            path = argv[i];
        }
    }

    vm_heap_init();
    vm_objects_init();
    vm_eval_init();
    vm_builtins_init();
    vm_ports_init();

    int status = path ? run_file(path) : repl();
    fflush(stdout);
    if (summary)
        print_summary();
    return status;
}
