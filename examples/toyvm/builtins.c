/*
 * builtins.c — the primitive procedures and the printer.
 *
 * A primitive is a C function given its arguments as argv, a window of the
 * VM's value stack. The stack is a registered root, so the arguments survive
 * any allocation the primitive makes; only values the primitive creates
 * itself and keeps across a further allocation need a VM_FRAME (see list,
 * append, vector->list). Each primitive checks the kinds of its arguments
 * and raises vm_error on a mismatch; eval has already checked the count
 * against the table at the end of this file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

/* ---- the printer -------------------------------------------------------- */

/* A growable C buffer: printing never allocates on the heap, so it needs no
 * frames and can format error messages. */
typedef struct strbuf {
    char *bytes;
    size_t length, capacity;
} strbuf;

static void sb_add(strbuf *sb, const char *bytes, size_t n) {
    if (sb->length + n + 1 > sb->capacity) {
        sb->capacity = (sb->length + n + 1) * 2;
        sb->bytes = realloc(sb->bytes, sb->capacity);
    }
    memcpy(sb->bytes + sb->length, bytes, n);
    sb->length += n;
    sb->bytes[sb->length] = '\0';
}

static void sb_puts(strbuf *sb, const char *s) { sb_add(sb, s, strlen(s)); }

static void format_number(char *out, size_t size, double d) {
    if (d == floor(d) && fabs(d) < 1e15)
        snprintf(out, size, "%.0f", d == 0 ? 0.0 : d);
    else
        snprintf(out, size, "%.15g", d);
}

static const char *kind_label(obj_kind kind) {
    static const char *const names[] = {
        [K_NUMBER] = "number", [K_STRING] = "string", [K_PRIMITIVE] = "procedure",
        [K_SYMBOL] = "symbol", [K_PAIR] = "pair", [K_VECTOR] = "vector",
        [K_HASH] = "hash table", [K_ENTRY] = "hash entry", [K_CLOSURE] = "procedure",
        [K_ENV] = "environment", [K_BINDING] = "binding",
        [K_INTERN_LINK] = "symbol table link", [K_BOOLEAN] = "boolean",
        [K_UNSPECIFIED] = "unspecified", [K_EOF] = "eof", [K_PORT] = "input port",
    };
    return names[kind];
}

const char *kind_name(const obj *o) { return o ? kind_label((obj_kind)o->kind) : "empty list"; }

static void print_to(strbuf *sb, const obj *v, bool display) {
    char num[64];
    if (!v) {
        sb_puts(sb, "()");
        return;
    }
    switch ((obj_kind)v->kind) {
    case K_NUMBER:
        format_number(num, sizeof num, AS(number, v)->value);
        sb_puts(sb, num);
        break;
    case K_STRING:
        if (display) {
            sb_add(sb, AS(string, v)->bytes, AS(string, v)->length);
            break;
        }
        sb_puts(sb, "\"");
        for (size_t i = 0; i < AS(string, v)->length; i++) {
            char c = AS(string, v)->bytes[i];
            sb_puts(sb, c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "");
            if (c != '"' && c != '\\' && c != '\n')
                sb_add(sb, &c, 1);
        }
        sb_puts(sb, "\"");
        break;
    case K_SYMBOL:
        sb_puts(sb, AS(symbol, v)->name->bytes);
        break;
    case K_PAIR:
        sb_puts(sb, "(");
        for (;;) {
            print_to(sb, CAR(v), display);
            v = CDR(v);
            if (!is_pair(v))
                break;
            sb_puts(sb, " ");
        }
        if (v) {
            sb_puts(sb, " . ");
            print_to(sb, v, display);
        }
        sb_puts(sb, ")");
        break;
    case K_VECTOR:
        sb_puts(sb, "#(");
        for (size_t i = 0; i < AS(vector, v)->length; i++) {
            if (i)
                sb_puts(sb, " ");
            print_to(sb, AS(vector, v)->slots[i], display);
        }
        sb_puts(sb, ")");
        break;
    case K_BOOLEAN:
        sb_puts(sb, v == vm_true ? "#t" : "#f");
        break;
    case K_CLOSURE:
        sb_puts(sb, "#<procedure ");
        sb_puts(sb, AS(closure, v)->name ? AS(closure, v)->name->name->bytes : "lambda");
        sb_puts(sb, ">");
        break;
    case K_PRIMITIVE:
        sb_puts(sb, "#<primitive ");
        sb_puts(sb, AS(primitive, v)->desc->name);
        sb_puts(sb, ">");
        break;
    case K_HASH:
        snprintf(num, sizeof num, "#<hash-table %zu>", AS(hash, v)->count);
        sb_puts(sb, num);
        break;
    default:
        sb_puts(sb, "#<");
        sb_puts(sb, kind_name(v));
        sb_puts(sb, ">");
        break;
    }
}

void vm_print(obj *value, bool display) {
    strbuf sb = {0};
    print_to(&sb, value, display);
    if (sb.length)
        fwrite(sb.bytes, 1, sb.length, stdout);
    free(sb.bytes);
}

/* ---- argument checks ---------------------------------------------------- */

static obj *expect(obj *v, obj_kind kind, const char *prim) {
    if (!is_kind(v, kind))
        vm_error("%s: expected a %s, got %s", prim, kind_label(kind), kind_name(v));
    return v;
}

static double num(obj *v, const char *prim) { return AS(number, expect(v, K_NUMBER, prim))->value; }

static size_t index_arg(obj *v, size_t limit, const char *prim) {
    double d = num(v, prim);
    if (d != floor(d) || d < 0 || d >= (double)limit)
        vm_error("%s: index %g out of range [0, %zu)", prim, d, limit);
    return (size_t)d;
}

static double integer(obj *v, const char *prim) {
    double d = num(v, prim);
    if (d != floor(d))
        vm_error("%s: expected an integer, got %g", prim, d);
    return d;
}

/* ---- numbers ------------------------------------------------------------ */

static obj *p_add(int argc, obj **argv) {
    double sum = 0;
    for (int i = 0; i < argc; i++)
        sum += num(argv[i], "+");
    return make_number(sum);
}

static obj *p_mul(int argc, obj **argv) {
    double product = 1;
    for (int i = 0; i < argc; i++)
        product *= num(argv[i], "*");
    return make_number(product);
}

static obj *p_sub(int argc, obj **argv) {
    double d = num(argv[0], "-");
    if (argc == 1)
        return make_number(-d);
    for (int i = 1; i < argc; i++)
        d -= num(argv[i], "-");
    return make_number(d);
}

static obj *p_div(int argc, obj **argv) {
    /* (/ x) is 1/x; otherwise the first argument is the dividend. */
    const int first_divisor = argc == 1 ? 0 : 1;
    double d = argc == 1 ? 1 : num(argv[0], "/");
    for (int i = first_divisor; i < argc; i++) {
        double divisor = num(argv[i], "/");
        if (divisor == 0)
            vm_error("/: division by zero");
        d /= divisor;
    }
    return make_number(d);
}

static obj *integer_division(obj **argv, const char *prim, int op) {
    double a = integer(argv[0], prim), b = integer(argv[1], prim);
    if (b == 0)
        vm_error("%s: division by zero", prim);
    double q = trunc(a / b), r = fmod(a, b);
    if (op == 0)
        return make_number(q);
    if (op == 1 || r == 0 || (r < 0) == (b < 0))
        return make_number(r);
    return make_number(r + b); /* modulo takes the divisor's sign */
}

static obj *p_quotient(int argc, obj **argv) { (void)argc; return integer_division(argv, "quotient", 0); }
static obj *p_remainder(int argc, obj **argv) { (void)argc; return integer_division(argv, "remainder", 1); }
static obj *p_modulo(int argc, obj **argv) { (void)argc; return integer_division(argv, "modulo", 2); }

static obj *p_abs(int argc, obj **argv) { (void)argc; return make_number(fabs(num(argv[0], "abs"))); }
static obj *p_sqrt(int argc, obj **argv) { (void)argc; return make_number(sqrt(num(argv[0], "sqrt"))); }
static obj *p_floor(int argc, obj **argv) { (void)argc; return make_number(floor(num(argv[0], "floor"))); }

static obj *p_min(int argc, obj **argv) {
    double m = num(argv[0], "min");
    for (int i = 1; i < argc; i++)
        m = fmin(m, num(argv[i], "min"));
    return make_number(m);
}

static obj *p_max(int argc, obj **argv) {
    double m = num(argv[0], "max");
    for (int i = 1; i < argc; i++)
        m = fmax(m, num(argv[i], "max"));
    return make_number(m);
}

/* The comparisons share one loop; op picks the relation. */
static obj *compare(int argc, obj **argv, const char *prim, int op) {
    for (int i = 0; i + 1 < argc; i++) {
        double a = num(argv[i], prim), b = num(argv[i + 1], prim);
        bool ok = op == 0 ? a == b : op == 1 ? a < b : op == 2 ? a > b : op == 3 ? a <= b : a >= b;
        if (!ok)
            return vm_false;
    }
    if (argc == 1)
        num(argv[0], prim);
    return vm_true;
}

static obj *p_num_eq(int argc, obj **argv) { return compare(argc, argv, "=", 0); }
static obj *p_lt(int argc, obj **argv) { return compare(argc, argv, "<", 1); }
static obj *p_gt(int argc, obj **argv) { return compare(argc, argv, ">", 2); }
static obj *p_le(int argc, obj **argv) { return compare(argc, argv, "<=", 3); }
static obj *p_ge(int argc, obj **argv) { return compare(argc, argv, ">=", 4); }

/* ---- predicates and equality -------------------------------------------- */

static obj *p_not(int argc, obj **argv) { (void)argc; return BOOL(argv[0] == vm_false); }
static obj *p_eq(int argc, obj **argv) { (void)argc; return BOOL(argv[0] == argv[1]); }
static obj *p_eqv(int argc, obj **argv) { (void)argc; return BOOL(vm_eqv(argv[0], argv[1])); }
static obj *p_equal(int argc, obj **argv) { (void)argc; return BOOL(vm_equal(argv[0], argv[1])); }
static obj *p_nullp(int argc, obj **argv) { (void)argc; return BOOL(argv[0] == NULL); }
static obj *p_pairp(int argc, obj **argv) { (void)argc; return BOOL(is_pair(argv[0])); }
static obj *p_numberp(int argc, obj **argv) { (void)argc; return BOOL(is_kind(argv[0], K_NUMBER)); }
static obj *p_stringp(int argc, obj **argv) { (void)argc; return BOOL(is_kind(argv[0], K_STRING)); }
static obj *p_symbolp(int argc, obj **argv) { (void)argc; return BOOL(is_kind(argv[0], K_SYMBOL)); }
static obj *p_vectorp(int argc, obj **argv) { (void)argc; return BOOL(is_kind(argv[0], K_VECTOR)); }
static obj *p_procedurep(int argc, obj **argv) {
    (void)argc;
    return BOOL(is_kind(argv[0], K_CLOSURE) || is_kind(argv[0], K_PRIMITIVE));
}

/* ---- pairs and lists ---------------------------------------------------- */

static obj *p_cons(int argc, obj **argv) { (void)argc; return cons(argv[0], argv[1]); }
static obj *p_car(int argc, obj **argv) { (void)argc; return CAR(expect(argv[0], K_PAIR, "car")); }
static obj *p_cdr(int argc, obj **argv) { (void)argc; return CDR(expect(argv[0], K_PAIR, "cdr")); }
static obj *p_cadr(int argc, obj **argv) {
    (void)argc;
    return CAR(expect(CDR(expect(argv[0], K_PAIR, "cadr")), K_PAIR, "cadr"));
}
static obj *p_cddr(int argc, obj **argv) {
    (void)argc;
    return CDR(expect(CDR(expect(argv[0], K_PAIR, "cddr")), K_PAIR, "cddr"));
}

static obj *p_set_car(int argc, obj **argv) {
    (void)argc;
    VM_STORE(CAR(expect(argv[0], K_PAIR, "set-car!")), argv[1]);
    return vm_unspecified;
}

static obj *p_set_cdr(int argc, obj **argv) {
    (void)argc;
    VM_STORE(CDR(expect(argv[0], K_PAIR, "set-cdr!")), argv[1]);
    return vm_unspecified;
}

static obj *p_list(int argc, obj **argv) {
    obj *list = NULL;
    VM_FRAME(f, &list);
    for (int i = argc - 1; i >= 0; i--)
        list = cons(argv[i], list);
    VM_UNFRAME(f);
    return list;
}

static obj *p_length(int argc, obj **argv) {
    (void)argc;
    double n = 0;
    obj *l = argv[0];
    for (; is_pair(l); l = CDR(l))
        n++;
    if (l)
        vm_error("length: not a proper list");
    return make_number(n);
}

static obj *p_reverse(int argc, obj **argv) {
    (void)argc;
    obj *reversed = NULL, *l = argv[0];
    VM_FRAME(f, &reversed, &l);
    for (; is_pair(l); l = CDR(l))
        reversed = cons(CAR(l), reversed);
    if (l)
        vm_error("reverse: not a proper list");
    VM_UNFRAME(f);
    return reversed;
}

/* Copies every list but the last, which becomes the shared tail. */
static obj *p_append(int argc, obj **argv) {
    if (argc == 0)
        return NULL;
    obj *head = NULL, *tail = NULL, *cell = NULL, *l = NULL;
    VM_FRAME(f, &head, &tail, &cell, &l);
    for (int i = 0; i < argc - 1; i++) {
        for (l = argv[i]; is_pair(l); l = CDR(l)) {
            cell = cons(CAR(l), NULL);
            if (tail)
                VM_STORE(CDR(tail), cell);
            else
                head = cell;
            tail = cell;
        }
        if (l)
            vm_error("append: not a proper list");
    }
    if (tail)
        VM_STORE(CDR(tail), argv[argc - 1]);
    else
        head = argv[argc - 1];
    VM_UNFRAME(f);
    return head;
}

/* Spreads the list onto the value stack just above apply's own two
 * arguments (argv[0..1] are the top of the stack while apply runs), so the
 * callee's arguments are rooted like any other call's. */
static obj *p_apply(int argc, obj **argv) {
    int n = 0;
    obj *l = argv[1];
    for (; is_pair(l); l = CDR(l), n++)
        vm_push(CAR(l)); /* vm_push does not allocate: l stays valid */
    if (l)
        vm_error("apply: not a proper list");
    obj *result = vm_apply(argv[0], n, argv + argc);
    vm_pop(n);
    return result;
}

/* ---- vectors ------------------------------------------------------------ */

static obj *p_make_vector(int argc, obj **argv) {
    double n = integer(argv[0], "make-vector");
    if (n < 0 || n > 1e8)
        vm_error("make-vector: bad length %g", n);
    return make_vector((size_t)n, argc > 1 ? argv[1] : vm_false);
}

static obj *p_vector(int argc, obj **argv) {
    obj *v = make_vector((size_t)argc, NULL);
    for (int i = 0; i < argc; i++)
        VM_STORE(AS(vector, v)->slots[i], argv[i]);
    return v;
}

static obj *p_vector_length(int argc, obj **argv) {
    (void)argc;
    return make_number((double)AS(vector, expect(argv[0], K_VECTOR, "vector-length"))->length);
}

static obj *p_vector_ref(int argc, obj **argv) {
    (void)argc;
    vector *v = AS(vector, expect(argv[0], K_VECTOR, "vector-ref"));
    return v->slots[index_arg(argv[1], v->length, "vector-ref")];
}

static obj *p_vector_set(int argc, obj **argv) {
    (void)argc;
    vector *v = AS(vector, expect(argv[0], K_VECTOR, "vector-set!"));
    VM_STORE(v->slots[index_arg(argv[1], v->length, "vector-set!")], argv[2]);
    return vm_unspecified;
}

static obj *p_vector_push(int argc, obj **argv) {
    (void)argc;
    vector_push(expect(argv[0], K_VECTOR, "vector-push!"), argv[1]);
    return vm_unspecified;
}

static obj *p_vector_to_list(int argc, obj **argv) {
    (void)argc;
    vector *v = AS(vector, expect(argv[0], K_VECTOR, "vector->list"));
    obj *list = NULL;
    VM_FRAME(f, &list);
    for (size_t i = v->length; i > 0; i--)
        list = cons(v->slots[i - 1], list); /* v is argv[0]: rooted */
    VM_UNFRAME(f);
    return list;
}

static obj *p_list_to_vector(int argc, obj **argv) {
    (void)argc;
    obj *l = argv[0];
    obj *v = make_vector(0, NULL);
    VM_FRAME(f, &l, &v);
    for (; is_pair(l); l = CDR(l))
        vector_push(v, CAR(l));
    VM_UNFRAME(f);
    return v;
}

/* ---- strings and symbols ------------------------------------------------ */

static obj *p_string_length(int argc, obj **argv) {
    (void)argc;
    return make_number((double)AS(string, expect(argv[0], K_STRING, "string-length"))->length);
}

static obj *p_string_append(int argc, obj **argv) {
    size_t total = 0;
    for (int i = 0; i < argc; i++)
        total += AS(string, expect(argv[i], K_STRING, "string-append"))->length;
    obj *s = make_string_uninit(total);
    char *out = AS(string, s)->bytes; /* noscan bytes: no barrier */
    for (int i = 0; i < argc; i++) {
        memcpy(out, AS(string, argv[i])->bytes, AS(string, argv[i])->length);
        out += AS(string, argv[i])->length;
    }
    return s;
}

static obj *p_substring(int argc, obj **argv) {
    string *s = AS(string, expect(argv[0], K_STRING, "substring"));
    size_t start = index_arg(argv[1], s->length + 1, "substring");
    size_t end = argc > 2 ? index_arg(argv[2], s->length + 1, "substring") : s->length;
    if (end < start)
        vm_error("substring: end %zu before start %zu", end, start);
    return make_string(s->bytes + start, end - start); /* s is argv[0]: rooted */
}

static obj *p_string_eq(int argc, obj **argv) {
    (void)argc;
    expect(argv[0], K_STRING, "string=?");
    expect(argv[1], K_STRING, "string=?");
    return BOOL(vm_equal(argv[0], argv[1]));
}

static obj *p_string_lt(int argc, obj **argv) {
    (void)argc;
    string *a = AS(string, expect(argv[0], K_STRING, "string<?"));
    string *b = AS(string, expect(argv[1], K_STRING, "string<?"));
    int c = memcmp(a->bytes, b->bytes, a->length < b->length ? a->length : b->length);
    return BOOL(c < 0 || (c == 0 && a->length < b->length));
}

static obj *p_number_to_string(int argc, obj **argv) {
    (void)argc;
    char buf[64];
    format_number(buf, sizeof buf, num(argv[0], "number->string"));
    return make_string(buf, strlen(buf));
}

static obj *p_string_to_number(int argc, obj **argv) {
    (void)argc;
    string *s = AS(string, expect(argv[0], K_STRING, "string->number"));
    char *end;
    double d = strtod(s->bytes, &end);
    return s->length && *end == '\0' ? make_number(d) : vm_false;
}

static obj *p_string_to_symbol(int argc, obj **argv) {
    (void)argc;
    string *s = AS(string, expect(argv[0], K_STRING, "string->symbol"));
    return intern(s->bytes, s->length); /* s is argv[0]: rooted */
}

static obj *p_symbol_to_string(int argc, obj **argv) {
    (void)argc;
    string *name = AS(symbol, expect(argv[0], K_SYMBOL, "symbol->string"))->name;
    return make_string(name->bytes, name->length);
}

/* ---- hash tables -------------------------------------------------------- */

static obj *p_make_hash(int argc, obj **argv) { (void)argc, (void)argv; return make_hash(); }

static obj *p_hash_set(int argc, obj **argv) {
    (void)argc;
    hash_put(expect(argv[0], K_HASH, "hash-set!"), argv[1], argv[2]);
    return vm_unspecified;
}

static obj *p_hash_ref(int argc, obj **argv) {
    obj *value;
    if (hash_get(expect(argv[0], K_HASH, "hash-ref"), argv[1], &value))
        return value;
    return argc > 2 ? argv[2] : vm_false;
}

static obj *p_hash_contains(int argc, obj **argv) {
    (void)argc;
    obj *value;
    return BOOL(hash_get(expect(argv[0], K_HASH, "hash-contains?"), argv[1], &value));
}

static obj *p_hash_delete(int argc, obj **argv) {
    (void)argc;
    return BOOL(hash_remove(expect(argv[0], K_HASH, "hash-delete!"), argv[1]));
}

static obj *p_hash_count(int argc, obj **argv) {
    (void)argc;
    return make_number((double)AS(hash, expect(argv[0], K_HASH, "hash-count"))->count);
}

static obj *p_hash_keys(int argc, obj **argv) {
    (void)argc;
    hash *t = AS(hash, expect(argv[0], K_HASH, "hash-keys"));
    obj *keys = NULL;
    VM_FRAME(f, &keys);
    /* Entries are reachable from t (argv[0]) throughout; cons cannot unlink them. */
    for (size_t b = 0; b < t->nbuckets; b++)
        for (entry *e = t->buckets[b]; e; e = e->next)
            keys = cons(e->key, keys);
    VM_UNFRAME(f);
    return keys;
}

/* ---- output, errors, the collector -------------------------------------- */

static obj *p_display(int argc, obj **argv) { (void)argc; vm_print(argv[0], true); return vm_unspecified; }
static obj *p_write(int argc, obj **argv) { (void)argc; vm_print(argv[0], false); return vm_unspecified; }
static obj *p_newline(int argc, obj **argv) { (void)argc, (void)argv; putchar('\n'); return vm_unspecified; }

static obj *p_error(int argc, obj **argv) {
    strbuf sb = {0};
    for (int i = 0; i < argc; i++) {
        if (i)
            sb_puts(&sb, " ");
        print_to(&sb, argv[i], true);
    }
    char message[400];
    snprintf(message, sizeof message, "%s", sb.bytes);
    free(sb.bytes);
    vm_error("%s", message);
}

/* A full collection, then the finalizers it queued (port.c's close the files
 * of dropped ports): right after (gc), every dropped port is closed. */
static obj *p_gc(int argc, obj **argv) {
    (void)argc, (void)argv;
    vm_collect();
    vm_run_finalizers();
    return vm_unspecified;
}

static obj *p_symbol_table_size(int argc, obj **argv) {
    (void)argc, (void)argv;
    return make_number((double)symbol_table_size());
}

static const prim_desc primitives[] = {
    {"+", p_add, 0, -1}, {"-", p_sub, 1, -1}, {"*", p_mul, 0, -1}, {"/", p_div, 1, -1},
    {"quotient", p_quotient, 2, 2}, {"remainder", p_remainder, 2, 2}, {"modulo", p_modulo, 2, 2},
    {"abs", p_abs, 1, 1}, {"sqrt", p_sqrt, 1, 1}, {"floor", p_floor, 1, 1},
    {"min", p_min, 1, -1}, {"max", p_max, 1, -1},
    {"=", p_num_eq, 1, -1}, {"<", p_lt, 1, -1}, {">", p_gt, 1, -1}, {"<=", p_le, 1, -1}, {">=", p_ge, 1, -1},
    {"not", p_not, 1, 1}, {"eq?", p_eq, 2, 2}, {"eqv?", p_eqv, 2, 2}, {"equal?", p_equal, 2, 2},
    {"null?", p_nullp, 1, 1}, {"pair?", p_pairp, 1, 1}, {"number?", p_numberp, 1, 1},
    {"string?", p_stringp, 1, 1}, {"symbol?", p_symbolp, 1, 1}, {"vector?", p_vectorp, 1, 1},
    {"procedure?", p_procedurep, 1, 1},
    {"cons", p_cons, 2, 2}, {"car", p_car, 1, 1}, {"cdr", p_cdr, 1, 1}, {"cadr", p_cadr, 1, 1},
    {"cddr", p_cddr, 1, 1}, {"set-car!", p_set_car, 2, 2}, {"set-cdr!", p_set_cdr, 2, 2},
    {"list", p_list, 0, -1}, {"length", p_length, 1, 1}, {"reverse", p_reverse, 1, 1},
    {"append", p_append, 0, -1}, {"apply", p_apply, 2, 2},
    {"make-vector", p_make_vector, 1, 2}, {"vector", p_vector, 0, -1},
    {"vector-length", p_vector_length, 1, 1}, {"vector-ref", p_vector_ref, 2, 2},
    {"vector-set!", p_vector_set, 3, 3}, {"vector-push!", p_vector_push, 2, 2},
    {"vector->list", p_vector_to_list, 1, 1}, {"list->vector", p_list_to_vector, 1, 1},
    {"string-length", p_string_length, 1, 1}, {"string-append", p_string_append, 0, -1},
    {"substring", p_substring, 2, 3}, {"string=?", p_string_eq, 2, 2}, {"string<?", p_string_lt, 2, 2},
    {"number->string", p_number_to_string, 1, 1}, {"string->number", p_string_to_number, 1, 1},
    {"string->symbol", p_string_to_symbol, 1, 1}, {"symbol->string", p_symbol_to_string, 1, 1},
    {"make-hash-table", p_make_hash, 0, 0}, {"hash-set!", p_hash_set, 3, 3},
    {"hash-ref", p_hash_ref, 2, 3}, {"hash-contains?", p_hash_contains, 2, 2},
    {"hash-delete!", p_hash_delete, 2, 2}, {"hash-count", p_hash_count, 1, 1},
    {"hash-keys", p_hash_keys, 1, 1},
    {"display", p_display, 1, 1}, {"write", p_write, 1, 1}, {"newline", p_newline, 0, 0},
    {"error", p_error, 1, -1}, {"gc", p_gc, 0, 0},
    {"symbol-table-size", p_symbol_table_size, 0, 0},
};

void vm_builtins_init(void) {
    for (size_t i = 0; i < sizeof primitives / sizeof primitives[0]; i++)
        vm_define_global(primitives[i].name, make_primitive(&primitives[i]));
}
