/*
 * eval.c — the evaluator: special forms, calls, tail calls, errors.
 *
 * toyvm walks the s-expressions the reader builds. eval() is a loop: forms in
 * tail position (the branches of if and cond, the last form of a body, the
 * body of a called closure) replace x and e and go round again instead of
 * recursing, so loops written as tail calls run in constant C stack.
 *
 * Roots. Three kinds, one of each the goheap rules allow:
 *   - Globals live in a hash table whose address is a static variable
 *     registered with vm_add_roots (gc_add_roots). So are the special-form
 *     symbols, kept in a static array.
 *   - Call arguments are pushed on vm_stack, a static C array registered as
 *     one root range. A primitive gets a pointer into it, so its arguments
 *     stay rooted while it allocates. Popped slots are cleared so the stack
 *     never keeps dead values alive.
 *   Registered root ranges are scanned before the threads' frames, so
 *   every store into one (push, pop, the globals pointer) goes through
 *   VM_STORE like a store into a heap object (docs/guide.md, section 6).
 *   - Every C local that holds a heap pointer across a call that may allocate
 *     (eval itself allocates) is named in the function's VM_FRAME.
 *
 * Errors. vm_error longjmps to the innermost vm_protect. longjmp skips the
 * VM_UNFRAMEs of every function it unwinds, so vm_protect records the
 * innermost frame (vm_frame_mark, goheap's gc_frame_save) and the
 * stack height before setjmp and restores both after the jump: the frames of
 * the abandoned calls lie in dead stack memory and must not be scanned again.
 *
 * Line numbers. vm_line is the line of the innermost form being evaluated;
 * eval sets it from each pair the reader made and restores it after every
 * nested evaluation, so an error names the form it occurred in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "vm.h"

/* C recursion bound. A nested eval uses a few hundred bytes of C stack (more
 * at -O0), so the limit is set in bytes: the stack's rlimit less a margin
 * for the primitives and libc calls below the deepest eval, and never more
 * than MAX_STACK_BUDGET when the stack is unlimited. */
#define STACK_MARGIN (256 * 1024)
#define MAX_STACK_BUDGET (64 * 1024 * 1024)

int vm_line;
static int eval_depth;              /* nested eval calls, reported in the error */
static const char *stack_base;      /* an address near the bottom of main's stack */
static size_t stack_budget;

/* How often eval's loop runs queued finalizers (see eval). */
#define FINALIZER_EVERY 1024
static unsigned finalizer_countdown = FINALIZER_EVERY;

static obj *vm_stack[VM_STACK_SLOTS];
static size_t vm_sp;
static obj *globals; /* hash: symbol -> value */

enum special_form {
    SF_QUOTE, SF_IF, SF_DEFINE, SF_SET, SF_LAMBDA, SF_LET, SF_LETSTAR, SF_BEGIN,
    SF_COND, SF_ELSE, SF_AND, SF_OR, SF_WHILE, SF_COUNT
};
static const char *const special_names[SF_COUNT] = {
    "quote", "if", "define", "set!", "lambda", "let", "let*", "begin",
    "cond", "else", "and", "or", "while",
};
static obj *special[SF_COUNT];

void vm_eval_init(void) {
    char here;
    stack_base = &here;
    struct rlimit limit;
    rlim_t bytes = getrlimit(RLIMIT_STACK, &limit) == 0 ? limit.rlim_cur : 8 * 1024 * 1024;
    if (bytes == RLIM_INFINITY || bytes > MAX_STACK_BUDGET)
        bytes = MAX_STACK_BUDGET;
    stack_budget = bytes > 2 * STACK_MARGIN ? bytes - STACK_MARGIN : bytes / 2;
    vm_add_roots(vm_stack, sizeof vm_stack);
    vm_add_roots(&globals, sizeof globals);
    vm_add_roots(special, sizeof special);
    VM_STORE(globals, make_hash());
    for (int i = 0; i < SF_COUNT; i++)
        VM_STORE(special[i], intern_cstr(special_names[i]));
}

bool vm_stack_exhausted(void) {
    char here;
    return (size_t)(stack_base - &here) > stack_budget;
}

void vm_push(obj *value) {
    if (vm_sp == VM_STACK_SLOTS)
        vm_error("value stack overflow");
    VM_STORE(vm_stack[vm_sp], value);
    vm_sp++;
}

void vm_pop(size_t n) {
    while (n--) {
        vm_sp--;
        VM_STORE(vm_stack[vm_sp], NULL); /* a deletion: barriered too */
    }
}

/* ---- errors ------------------------------------------------------------- */

typedef struct handler {
    jmp_buf jump;
    struct handler *prev;
} handler;
static handler *current_handler;
static char error_message[512];
static int error_line;

void vm_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    error_line = vm_line;
    if (!current_handler) {
        fflush(stdout);
        fprintf(stderr, "error: line %d: %s\n", error_line, error_message);
        exit(1);
    }
    longjmp(current_handler->jump, 1);
}

bool vm_protect(void (*fn)(void *arg), void *arg) {
    handler h = {.prev = current_handler};
    /* Saved before setjmp and never modified after it, so they are intact
     * when longjmp returns here. */
    const vm_frame_mark_t frame_mark = vm_frame_mark();
    const size_t saved_sp = vm_sp;
    const int saved_depth = eval_depth;
    current_handler = &h;
    if (setjmp(h.jump) == 0) {
        fn(arg);
        current_handler = h.prev;
        return true;
    }
    current_handler = h.prev;
    vm_frame_reset(frame_mark); /* pops every frame the longjmp skipped */
    vm_pop(vm_sp - saved_sp);
    eval_depth = saved_depth;
    fflush(stdout);
    fprintf(stderr, "error: line %d: %s\n", error_line, error_message);
    return false;
}

/* ---- helpers ------------------------------------------------------------ */

static bool truthy(const obj *v) { return v != vm_false; }

static const char *symbol_name(const obj *sym) { return AS(symbol, sym)->name->bytes; }

/* Length of a proper list, or -1. */
static long list_length(const obj *list) {
    long n = 0;
    for (; is_pair(list); list = CDR(list))
        n++;
    return list ? -1 : n;
}

static binding *find_binding(env *e, const obj *name) {
    for (; e; e = e->parent)
        for (binding *b = e->bindings; b; b = b->next)
            if (&b->name->hdr == name)
                return b;
    return NULL;
}

static obj *lookup(obj *name, env *e) {
    binding *b = find_binding(e, name);
    if (b)
        return b->value;
    obj *value;
    if (hash_get(globals, name, &value))
        return value;
    vm_error("unbound variable: %s", symbol_name(name));
}

void vm_define_global(const char *name, obj *value) {
    obj *sym = NULL;
    VM_FRAME(f, &value, &sym);
    sym = intern_cstr(name);
    hash_put(globals, sym, value);
    VM_UNFRAME(f);
}

static void check_params(obj *params) {
    for (; is_pair(params); params = CDR(params))
        if (!is_kind(CAR(params), K_SYMBOL))
            vm_error("lambda: parameter is not a symbol");
    if (params && !is_kind(params, K_SYMBOL))
        vm_error("lambda: bad parameter list");
}

/* A new environment binding c's parameters to argv[0..argc). argv points
 * into vm_stack, so the arguments stay rooted while this allocates. */
static env *bind_arguments(closure *c, int argc, obj **argv) {
    env *e = NULL;
    obj *params = NULL, *rest = NULL;
    VM_FRAME(f, &c, &e, &params, &rest);
    e = make_env(c->env);
    params = c->params;
    int i = 0;
    for (; is_pair(params); params = CDR(params), i++) {
        if (i == argc)
            break;
        env_define(e, AS(symbol, CAR(params)), argv[i]);
    }
    if (is_pair(params) || (!params && i < argc)) {
        long wanted = list_length(c->params);
        vm_error("%s: expected %ld argument%s, got %d",
                 c->name ? symbol_name(&c->name->hdr) : "lambda", wanted,
                 wanted == 1 ? "" : "s", argc);
    }
    if (params) { /* a rest parameter collects the remaining arguments */
        for (int j = argc - 1; j >= i; j--)
            rest = cons(argv[j], rest);
        env_define(e, AS(symbol, params), rest);
    }
    VM_UNFRAME(f);
    return e;
}

/* Reverses a freshly built list by relinking its cells; allocates nothing. */
static obj *reverse_in_place(obj *list) {
    obj *reversed = NULL;
    while (list) {
        obj *next = CDR(list);
        VM_STORE(CDR(list), reversed);
        reversed = list;
        list = next;
    }
    return reversed;
}

/* Evaluates every form of body but the last in e and returns the last. */
static obj *eval_body_prefix(obj *body, env *e) {
    VM_FRAME(f, &body, &e);
    int line = vm_line;
    for (; is_pair(CDR(body)); body = CDR(body)) {
        eval(CAR(body), e);
        vm_line = line;
    }
    VM_UNFRAME(f);
    return CAR(body);
}

static obj *call_primitive(obj *prim, int argc, obj **argv) {
    const prim_desc *d = AS(primitive, prim)->desc;
    if (argc < d->min_args || (d->max_args >= 0 && argc > d->max_args)) {
        if (d->min_args == d->max_args)
            vm_error("%s: expected %d argument%s, got %d", d->name, d->min_args,
                     d->min_args == 1 ? "" : "s", argc);
        vm_error("%s: wrong number of arguments (%d)", d->name, argc);
    }
    return d->fn(argc, argv);
}

obj *vm_apply(obj *fn, int argc, obj **argv) {
    if (is_kind(fn, K_PRIMITIVE))
        return call_primitive(fn, argc, argv);
    if (!is_kind(fn, K_CLOSURE))
        vm_error("apply: not a procedure");
    env *e = NULL;
    obj *body = NULL;
    VM_FRAME(f, &fn, &e, &body);
    e = bind_arguments(AS(closure, fn), argc, argv);
    body = eval_body_prefix(AS(closure, fn)->body, e);
    obj *result = eval(body, e);
    VM_UNFRAME(f);
    return result;
}

/* ---- eval --------------------------------------------------------------- */

static int special_form(const obj *head) {
    if (!is_kind(head, K_SYMBOL))
        return -1;
    for (int i = 0; i < SF_COUNT; i++)
        if (special[i] == head)
            return i;
    return -1;
}

#define SYNTAX(cond, form)                                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            vm_error("bad syntax in %s", form);                                \
    } while (0)

obj *eval(obj *x, env *e) {
    obj *result = NULL, *fn = NULL, *tmp = NULL, *rest = NULL, *params = NULL;
    env *inner = NULL;
    VM_FRAME(f, &x, &e, &result, &fn, &tmp, &rest, &params, &inner);
    const int outer_line = vm_line;
    ++eval_depth;
    if (vm_stack_exhausted())
        vm_error("recursion too deep (%d nested evaluations)", eval_depth);

    for (;;) {
        /* Tail calls loop here without allocating when the body is a
         * lookup: give a pending stop-the-world its chance. */
        vm_safepoint();
        /* A safe point for finalizers too (manual mode: they run only when
         * the VM asks). Nothing is half done at the top of the loop, and
         * asking costs a lock, so it is done once every FINALIZER_EVERY
         * iterations: a dropped port's file closes within that many steps
         * of the cycle that found it unreachable. */
        if (--finalizer_countdown == 0) {
            finalizer_countdown = FINALIZER_EVERY;
            vm_run_finalizers();
        }
        if (is_kind(x, K_SYMBOL)) {
            result = lookup(x, e);
            break;
        }
        if (!is_pair(x)) { /* numbers, strings, vectors, #t, () ... */
            result = x;
            break;
        }
        if (x->line)
            vm_line = x->line;
        const int line = vm_line;
        const long length = list_length(x);
        SYNTAX(length >= 0, "call (improper list)");
        rest = CDR(x);

        switch (special_form(CAR(x))) {
        case SF_QUOTE:
            SYNTAX(length == 2, "quote");
            result = CAR(rest);
            goto done;
        case SF_IF:
            SYNTAX(length == 3 || length == 4, "if");
            tmp = eval(CAR(rest), e);
            vm_line = line;
            if (truthy(tmp))
                x = CAR(CDR(rest));
            else if (length == 4)
                x = CAR(CDR(CDR(rest)));
            else {
                result = vm_unspecified;
                goto done;
            }
            continue;
        case SF_DEFINE: {
            SYNTAX(length >= 3, "define");
            obj *target = CAR(rest);
            if (is_pair(target)) { /* (define (name . params) body...) */
                SYNTAX(is_kind(CAR(target), K_SYMBOL), "define");
                check_params(CDR(target));
                tmp = make_closure(CDR(target), CDR(rest), e, AS(symbol, CAR(target)));
            } else {
                SYNTAX(is_kind(target, K_SYMBOL) && length == 3, "define");
                tmp = eval(CAR(CDR(rest)), e);
                vm_line = line;
                if (is_kind(tmp, K_CLOSURE) && !AS(closure, tmp)->name)
                    VM_STORE(AS(closure, tmp)->name, AS(symbol, target));
            }
            target = is_pair(CAR(rest)) ? CAR(CAR(rest)) : CAR(rest); /* x is framed */
            if (e)
                env_define(e, AS(symbol, target), tmp);
            else
                hash_put(globals, target, tmp);
            result = vm_unspecified;
            goto done;
        }
        case SF_SET: {
            SYNTAX(length == 3 && is_kind(CAR(rest), K_SYMBOL), "set!");
            tmp = eval(CAR(CDR(rest)), e);
            vm_line = line;
            binding *b = find_binding(e, CAR(rest));
            if (b)
                VM_STORE(b->value, tmp);
            else if (hash_get(globals, CAR(rest), &fn))
                hash_put(globals, CAR(rest), tmp);
            else
                vm_error("set!: unbound variable: %s", symbol_name(CAR(rest)));
            result = vm_unspecified;
            goto done;
        }
        case SF_LAMBDA:
            SYNTAX(length >= 3, "lambda");
            check_params(CAR(rest));
            result = make_closure(CAR(rest), CDR(rest), e, NULL);
            goto done;
        case SF_LET:
        case SF_LETSTAR: {
            const bool sequential = special_form(CAR(x)) == SF_LETSTAR;
            const bool named = !sequential && length >= 4 && is_kind(CAR(rest), K_SYMBOL);
            if (named) { /* (let name ((var init) ...) body...) */
                fn = CAR(rest);
                rest = CDR(rest);
            }
            SYNTAX(length >= 3 && list_length(CAR(rest)) >= 0, "let");
            inner = make_env(e);
            params = NULL;
            const size_t base = vm_sp;
            for (tmp = CAR(rest); tmp; tmp = CDR(tmp)) {
                obj *spec = CAR(tmp);
                SYNTAX(list_length(spec) == 2 && is_kind(CAR(spec), K_SYMBOL), "let");
                result = eval(CAR(CDR(spec)), sequential ? inner : e);
                vm_line = line;
                if (named) {
                    vm_push(result);
                    params = cons(CAR(CAR(tmp)), params);
                } else {
                    env_define(inner, AS(symbol, CAR(CAR(tmp))), result);
                }
            }
            if (named) {
                /* inner binds only the loop's name, to a closure over inner
                 * taking the variables; the body runs as its first call. */
                params = reverse_in_place(params);
                fn = make_closure(params, CDR(rest), inner, AS(symbol, fn));
                env_define(inner, AS(closure, fn)->name, fn);
                inner = bind_arguments(AS(closure, fn), (int)(vm_sp - base), &vm_stack[base]);
                vm_pop(vm_sp - base);
            }
            e = inner;
            x = eval_body_prefix(CDR(rest), e);
            continue;
        }
        case SF_BEGIN:
            if (length == 1) {
                result = vm_unspecified;
                goto done;
            }
            x = eval_body_prefix(rest, e);
            continue;
        case SF_COND:
            for (; rest; rest = CDR(rest)) {
                obj *clause = CAR(rest);
                SYNTAX(list_length(clause) >= 1, "cond");
                if (CAR(clause) == special[SF_ELSE])
                    tmp = vm_true;
                else
                    tmp = eval(CAR(clause), e);
                vm_line = line;
                if (truthy(tmp))
                    break;
            }
            if (!rest) {
                result = vm_unspecified;
                goto done;
            }
            if (!CDR(CAR(rest))) {
                result = tmp;
                goto done;
            }
            x = eval_body_prefix(CDR(CAR(rest)), e);
            continue;
        case SF_AND:
        case SF_OR: {
            const bool is_and = CAR(x) == special[SF_AND];
            if (!rest) {
                result = BOOL(is_and);
                goto done;
            }
            for (; CDR(rest); rest = CDR(rest)) {
                tmp = eval(CAR(rest), e);
                vm_line = line;
                if (truthy(tmp) != is_and) {
                    result = tmp;
                    goto done;
                }
            }
            x = CAR(rest);
            continue;
        }
        case SF_WHILE:
            SYNTAX(length >= 2, "while");
            while (tmp = eval(CAR(rest), e), vm_line = line, truthy(tmp))
                for (fn = CDR(rest); fn; fn = CDR(fn)) {
                    eval(CAR(fn), e);
                    vm_line = line;
                }
            result = vm_unspecified;
            goto done;
        case SF_ELSE:
            vm_error("else outside cond");
        default:
            break;
        }

        /* A call: the operator, then the arguments onto vm_stack. */
        fn = eval(CAR(x), e);
        vm_line = line;
        const size_t base = vm_sp;
        for (; rest; rest = CDR(rest)) {
            tmp = eval(CAR(rest), e);
            vm_line = line;
            vm_push(tmp);
        }
        const int argc = (int)(vm_sp - base);
        if (is_kind(fn, K_PRIMITIVE)) {
            result = call_primitive(fn, argc, &vm_stack[base]);
            vm_pop(argc);
            break;
        }
        if (!is_kind(fn, K_CLOSURE)) {
            tmp = CAR(x);
            if (is_kind(tmp, K_SYMBOL))
                vm_error("%s is not a procedure", symbol_name(tmp));
            vm_error("call of a non-procedure (%s)", kind_name(fn));
        }
        e = bind_arguments(AS(closure, fn), argc, &vm_stack[base]);
        vm_pop(argc);
        x = eval_body_prefix(AS(closure, fn)->body, e);
    }
done:
    eval_depth--;
    vm_line = outer_line;
    VM_UNFRAME(f);
    return result;
}
