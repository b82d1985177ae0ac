/*
 * vm.h — toyvm's object model and the interfaces between its files.
 *
 * Every value is an `obj *` pointing at a heap object whose first word is a
 * header (tag and source line) and never a pointer. The empty list is NULL;
 * #t, #f and the unspecified value are heap singletons kept in a root. Numbers
 * are boxed doubles in noscan objects, so no pointer slot ever holds anything
 * but NULL or a real heap address: the collector can be precise without
 * tagging tricks.
 *
 * Object kinds and where their pointers are (the gc_types live in object.c):
 *
 *   kind      layout                                 pointer slots
 *   number    header, double                          none (noscan)
 *   string    header, length, bytes[]                 none (noscan)
 *   primitive header, const prim_desc *               none (points outside the heap)
 *   symbol    header, hash, name                      name
 *   pair      header(line), car, cdr                  car, cdr
 *   vector    header, length, capacity, slots         slots (an array of obj *)
 *   hash      header, count, nbuckets, buckets        buckets (array of entry *)
 *   entry     header, hash, key, value, next          key, value, next
 *   closure   header, params, body, env, name         all four
 *   env       header, parent, bindings                parent, bindings
 *   binding   header, name, value, next               name, value, next
 *   intern    header, target, next                    target (a weak handle), next
 *   port      header, FILE *                          none (noscan; a finalizer
 *                                                     closes the FILE, port.c)
 *
 * Files: object.c allocates and owns the types, the symbol table and hash
 * tables; read.c parses text into pairs; eval.c evaluates and reports
 * errors; builtins.c holds the primitives and printing; port.c the file
 * ports and their finalizer; main.c is the driver.
 */
#ifndef TOYVM_VM_H
#define TOYVM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"

typedef enum obj_kind {
    K_NUMBER,
    K_STRING,
    K_PRIMITIVE,
    K_SYMBOL,
    K_PAIR,
    K_VECTOR,
    K_HASH,
    K_ENTRY,
    K_CLOSURE,
    K_ENV,
    K_BINDING,
    K_INTERN_LINK,
    K_BOOLEAN,
    K_UNSPECIFIED,
    K_EOF,
    K_PORT,
} obj_kind;

/* The header: one word, never a pointer. line is the source line of a pair
 * built by the reader (0 for pairs built at run time). */
typedef struct obj {
    uint32_t kind;
    uint32_t line;
} obj;

typedef struct number { obj hdr; double value; } number;
typedef struct string { obj hdr; size_t length; char bytes[]; } string; /* NUL-terminated */
typedef struct symbol { obj hdr; uint64_t hash; string *name; } symbol;
typedef struct pair { obj hdr; obj *car, *cdr; } pair;
typedef struct vector { obj hdr; size_t length, capacity; obj **slots; } vector;
typedef struct entry { obj hdr; uint64_t hash; obj *key, *value; struct entry *next; } entry;
typedef struct hash { obj hdr; size_t count, nbuckets; entry **buckets; } hash;
typedef struct binding { obj hdr; symbol *name; obj *value; struct binding *next; } binding;
typedef struct env { obj hdr; struct env *parent; binding *bindings; } env;
typedef struct closure { obj hdr; obj *params, *body; env *env; symbol *name; } closure;

/* A primitive receives its arguments as a window of the VM stack (a root),
 * so it may allocate without framing them. */
typedef obj *(*prim_fn)(int argc, obj **argv);
typedef struct prim_desc {
    const char *name;
    prim_fn fn;
    int min_args, max_args; /* max -1: any number */
} prim_desc;
typedef struct primitive { obj hdr; const prim_desc *desc; } primitive;

static inline bool is_pair(const obj *o) { return o && o->kind == K_PAIR; }
static inline bool is_kind(const obj *o, obj_kind k) { return o && o->kind == k; }
#define AS(T, o) ((T *)(o))
#define CAR(o) (AS(pair, o)->car)
#define CDR(o) (AS(pair, o)->cdr)

/* object.c ---------------------------------------------------------------- */

/* Singletons, all reachable from roots registered by vm_objects_init.
 * vm_eof is what read-line returns at the end of a file. */
extern obj *vm_true, *vm_false, *vm_unspecified, *vm_eof;
#define BOOL(b) ((b) ? vm_true : vm_false)

void vm_objects_init(void);
obj *make_number(double value);
obj *make_string(const char *bytes, size_t length);
obj *make_string_uninit(size_t length); /* bytes filled by the caller, NUL added */
/* name may point into a heap string only if that string is rooted. */
obj *intern(const char *name, size_t length);
obj *intern_cstr(const char *name);
/* Live symbols in the symbol table (prunes the dead links first). */
size_t symbol_table_size(void);
obj *cons(obj *car, obj *cdr);
obj *make_vector(size_t length, obj *fill);
void vector_push(obj *vec, obj *value);
obj *make_hash(void);
/* Stores the value of key in *value and returns true, or returns false. */
bool hash_get(obj *table, obj *key, obj **value);
void hash_put(obj *table, obj *key, obj *value);
bool hash_remove(obj *table, obj *key);
obj *make_closure(obj *params, obj *body, env *env, symbol *name);
env *make_env(env *parent);
void env_define(env *e, symbol *name, obj *value);
obj *make_primitive(const prim_desc *desc);
bool vm_equal(const obj *a, const obj *b);
bool vm_eqv(const obj *a, const obj *b);

/* Peak heap_alloc seen by the allocation-count sampler (for --summary). */
unsigned long long vm_peak_heap_alloc(void);

/* read.c ------------------------------------------------------------------ */

typedef struct reader {
    const char *text; /* not a heap object: C memory owned by the caller */
    size_t pos, length;
    int line;
} reader;

void reader_init(reader *r, const char *text, size_t length, int first_line);
/* Reads the next datum into *out; returns false at end of input. Syntax
 * errors are raised with vm_error. */
bool read_datum(reader *r, obj **out);

/* eval.c ------------------------------------------------------------------ */

/* The value stack: a C array registered as a root. Arguments of every call
 * in progress live here, so primitives get them already rooted. */
#define VM_STACK_SLOTS 65536
void vm_push(obj *value);
void vm_pop(size_t n);

void vm_eval_init(void);
void vm_define_global(const char *name, obj *value);
obj *eval(obj *x, env *e);
/* True when the C stack is nearly used up: recursive code checks it and
 * raises an error instead of overflowing. */
bool vm_stack_exhausted(void);
/* Calls f (closure or primitive) on argc values; used by apply. */
obj *vm_apply(obj *f, int argc, obj **argv);

/* Errors unwind to the innermost vm_protect with longjmp; the message reads
 * "error: line N: ..." using the line of the form being evaluated. */
__attribute__((noreturn, format(printf, 1, 2))) void vm_error(const char *fmt, ...);
/* Runs fn(arg) and returns true, or prints the error and returns false. */
bool vm_protect(void (*fn)(void *arg), void *arg);
/* The line the evaluator is at (for the reader, which sets it itself). */
extern int vm_line;

/* builtins.c -------------------------------------------------------------- */

void vm_builtins_init(void);
void vm_print(obj *value, bool display);
const char *kind_name(const obj *o);

/* port.c ------------------------------------------------------------------ */

/* Defines open-input-file, read-line, close-port, eof-object?,
 * open-port-count and finalized-port-count. */
void vm_ports_init(void);

#endif /* TOYVM_VM_H */
