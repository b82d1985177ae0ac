/*
 * port.c — input ports: heap objects that own a C FILE *, closed by a
 * finalizer when the program forgets to.
 *
 * A port is a small noscan object (the FILE * points outside the heap, so
 * the collector has nothing to trace in it). open-input-file sets a
 * finalizer on it; close-port closes the file and removes the finalizer, so
 * an explicitly closed port costs the collector nothing more. A port the
 * program drops while still open is found unreachable by some cycle; the
 * collector then queues port_finalize, which closes the FILE. Without it,
 * every forgotten port would hold a file descriptor until exit, and a loop
 * that opens files would die with EMFILE ("Too many open files") after
 * about a thousand iterations.
 *
 * Where the finalizer runs. toyvm initialises goheap in manual mode
 * (vm_heap_init in heap.h), so no finalizer thread exists: queued
 * finalizers run on the interpreter thread when it calls
 * vm_run_finalizers(). It does so in three places where nothing is half
 * done: every FINALIZER_EVERY iterations of eval's loop (eval.c), right
 * after (gc), and in open-input-file when the process has run out of
 * descriptors, after a forced collection: the files of dropped ports are
 * then closed before the open is retried. Running on the interpreter thread
 * is what lets port_finalize update the port counters below (VM state,
 * unsynchronised) without a lock.
 *
 * The counters, open_ports and finalized_ports, are what the test program
 * (programs/ports.scm) reads through (open-port-count) and
 * (finalized-port-count).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

typedef struct port {
    obj hdr;
    FILE *fp; /* NULL once closed, by close-port or the finalizer */
} port;

static unsigned long open_ports, finalized_ports;

/* The finalizer: runs once, after a cycle found the port unreachable. The
 * port is alive again while this runs (goheap revives it for its
 * finalizer) and is freed by a later cycle. */
static void port_finalize(void *o, void *arg) {
    (void)arg;
    port *p = o;
    if (p->fp) {
        fclose(p->fp);
        p->fp = NULL; /* noscan object, non-heap pointer: a plain store */
        open_ports--;
        finalized_ports++;
    }
}

static port *expect_port(obj *v, const char *prim) {
    if (!is_kind(v, K_PORT))
        vm_error("%s: expected an input port, got %s", prim, kind_name(v));
    return AS(port, v);
}

/* fopen inside a blocking region: it touches only C memory (path is a
 * malloc'd copy of the heap string). */
static FILE *open_blocking(const char *path) {
    vm_enter_blocking();
    FILE *fp = fopen(path, "r");
    int saved = errno;
    vm_leave_blocking();
    errno = saved;
    return fp;
}

static obj *p_open_input_file(int argc, obj **argv) {
    (void)argc;
    if (!is_kind(argv[0], K_STRING))
        vm_error("open-input-file: expected a string, got %s", kind_name(argv[0]));
    /* The port first: if this allocation collects, no FILE is yet at stake. */
    port *p = vm_alloc_noscan(sizeof *p);
    p->hdr = (obj){K_PORT, 0};
    p->fp = NULL;
    VM_FRAME(f, &p);
    char *path = strdup(AS(string, argv[0])->bytes); /* argv[0] is rooted */
    if (!path)
        vm_error("open-input-file: out of memory");
    FILE *fp = open_blocking(path);
    if (!fp && (errno == EMFILE || errno == ENFILE)) {
        /* Out of descriptors: dropped ports may be holding them. Collect,
         * run the finalizers that closes, and try once more. */
        vm_collect();
        vm_run_finalizers();
        fp = open_blocking(path);
    }
    int saved = errno;
    free(path);
    if (!fp)
        vm_error("open-input-file: cannot open %s: %s", AS(string, argv[0])->bytes,
                 strerror(saved));
    p->fp = fp;
    open_ports++;
    vm_set_finalizer(p, port_finalize, NULL);
    VM_UNFRAME(f);
    return &p->hdr;
}

/* The next line without its newline, or the eof object. */
static obj *p_read_line(int argc, obj **argv) {
    (void)argc;
    port *p = expect_port(argv[0], "read-line"); /* argv[0] is rooted */
    if (!p->fp)
        vm_error("read-line: port is closed");
    FILE *fp = p->fp;
    char *line = NULL;
    size_t capacity = 0;
    vm_enter_blocking(); /* getline fills C memory only */
    ssize_t n = getline(&line, &capacity, fp);
    vm_leave_blocking();
    if (n < 0) {
        free(line);
        return vm_eof;
    }
    if (n > 0 && line[n - 1] == '\n')
        n--;
    obj *s = make_string(line, (size_t)n);
    free(line);
    return s;
}

/* Closes the file now and drops the finalizer: nothing is left for the
 * collector to do. Closing a closed port does nothing. */
static obj *p_close_port(int argc, obj **argv) {
    (void)argc;
    port *p = expect_port(argv[0], "close-port");
    if (p->fp) {
        fclose(p->fp);
        p->fp = NULL;
        open_ports--;
        vm_clear_finalizer(p);
    }
    return vm_unspecified;
}

static obj *p_eof_objectp(int argc, obj **argv) { (void)argc; return BOOL(argv[0] == vm_eof); }

static obj *p_input_portp(int argc, obj **argv) { (void)argc; return BOOL(is_kind(argv[0], K_PORT)); }

static obj *p_open_port_count(int argc, obj **argv) {
    (void)argc, (void)argv;
    return make_number((double)open_ports);
}

static obj *p_finalized_port_count(int argc, obj **argv) {
    (void)argc, (void)argv;
    return make_number((double)finalized_ports);
}

static const prim_desc port_primitives[] = {
    {"open-input-file", p_open_input_file, 1, 1}, {"read-line", p_read_line, 1, 1},
    {"close-port", p_close_port, 1, 1}, {"eof-object?", p_eof_objectp, 1, 1},
    {"input-port?", p_input_portp, 1, 1}, {"open-port-count", p_open_port_count, 0, 0},
    {"finalized-port-count", p_finalized_port_count, 0, 0},
};

void vm_ports_init(void) {
    for (size_t i = 0; i < sizeof port_primitives / sizeof port_primitives[0]; i++)
        vm_define_global(port_primitives[i].name, make_primitive(&port_primitives[i]));
}
