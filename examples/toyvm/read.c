/*
 * read.c — text to s-expressions.
 *
 * The reader turns program text (C memory, never on the heap) into heap
 * objects: numbers, strings, symbols, #t/#f and lists of pairs stamped with
 * the line they start on, which eval uses for error messages. 'x reads as
 * (quote x). Comments run from ; to the end of the line.
 *
 * A list is built front to back with head and tail pointers; both are framed
 * because each cons may collect, and the tail cell is extended with VM_STORE
 * because it is a heap object. A syntax error raises vm_error with the line
 * of the offending token (or of the opening parenthesis, for an unterminated
 * list).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

void reader_init(reader *r, const char *text, size_t length, int first_line) {
    r->text = text;
    r->length = length;
    r->pos = 0;
    r->line = first_line;
}

static int peek(const reader *r) {
    return r->pos < r->length ? (unsigned char)r->text[r->pos] : EOF;
}

static int next(reader *r) {
    int c = peek(r);
    if (c != EOF) {
        r->pos++;
        if (c == '\n')
            r->line++;
    }
    return c;
}

static void skip_space(reader *r) {
    for (;;) {
        int c = peek(r);
        if (c == ';')
            while (c != EOF && c != '\n')
                c = next(r);
        else if (c != EOF && isspace(c))
            next(r);
        else
            return;
    }
}

static bool is_delimiter(int c) {
    return c == EOF || isspace(c) || c == '(' || c == ')' || c == '"' || c == ';' || c == '\'';
}

__attribute__((noreturn)) static void syntax_error(int line, const char *what) {
    vm_line = line;
    vm_error("syntax error: %s", what);
}

static obj *read_string(reader *r) {
    const int line = r->line;
    next(r); /* the opening quote */
    /* Unescaped length is at most the raw length: decode into a C buffer. */
    size_t cap = 64, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        int c = next(r);
        if (c == EOF) {
            free(buf);
            syntax_error(line, "unterminated string");
        }
        if (c == '"')
            break;
        if (c == '\\') {
            c = next(r);
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
            if (c == EOF)
                continue;
        }
        if (n == cap)
            buf = realloc(buf, cap *= 2);
        buf[n++] = (char)c;
    }
    obj *s = make_string(buf, n);
    free(buf);
    return s;
}

static obj *read_atom(reader *r) {
    size_t start = r->pos;
    while (!is_delimiter(peek(r)))
        next(r);
    size_t length = r->pos - start;
    const char *token = r->text + start;
    if (length == 2 && token[0] == '#' && (token[1] == 't' || token[1] == 'f'))
        return BOOL(token[1] == 't');
    char digits[64];
    if (length < sizeof digits) {
        memcpy(digits, token, length);
        digits[length] = '\0';
        char *end;
        double d = strtod(digits, &end);
        /* strtod accepts "inf" and "nan": only tokens that start like a
         * number are numbers. */
        bool numeric = isdigit((unsigned char)digits[0]) ||
                       ((digits[0] == '-' || digits[0] == '+' || digits[0] == '.') &&
                        isdigit((unsigned char)digits[1]));
        if (numeric && *end == '\0')
            return make_number(d);
    }
    if (token[0] == '#')
        syntax_error(r->line, "unknown # syntax");
    return intern(token, length);
}

static obj *read_expr(reader *r);

static obj *read_list(reader *r) {
    const int open_line = r->line;
    next(r); /* ( */
    obj *head = NULL, *tail = NULL, *item = NULL;
    VM_FRAME(f, &head, &tail, &item);
    for (;;) {
        skip_space(r);
        int c = peek(r);
        if (c == EOF)
            syntax_error(open_line, "unterminated list (missing ')')");
        if (c == ')') {
            next(r);
            break;
        }
        const int item_line = r->line;
        if (c == '.' && r->pos + 1 < r->length && is_delimiter((unsigned char)r->text[r->pos + 1])) {
            next(r);
            if (!tail)
                syntax_error(item_line, "'.' at the start of a list");
            item = read_expr(r);
            VM_STORE(CDR(tail), item);
            skip_space(r);
            if (next(r) != ')')
                syntax_error(item_line, "expected ')' after the datum following '.'");
            break;
        }
        item = read_expr(r);
        item = cons(item, NULL);
        item->line = (uint32_t)(head ? item_line : open_line);
        if (tail)
            VM_STORE(CDR(tail), item);
        else
            head = item;
        tail = item;
    }
    if (head)
        head->line = (uint32_t)open_line;
    VM_UNFRAME(f);
    return head;
}

static obj *read_expr(reader *r) {
    if (vm_stack_exhausted()) /* the descent recurses once per nested list */
        syntax_error(r->line, "nesting too deep");
    skip_space(r);
    int c = peek(r);
    const int line = r->line;
    switch (c) {
    case EOF:
        syntax_error(line, "unexpected end of input");
    case '(':
        return read_list(r);
    case ')':
        syntax_error(line, "unexpected ')'");
    case '"':
        return read_string(r);
    case '\'': {
        next(r);
        obj *quoted = read_expr(r), *form = NULL;
        VM_FRAME(f, &quoted, &form);
        form = cons(quoted, NULL);
        /* intern may allocate before cons is entered: form must be framed. */
        form = cons(intern_cstr("quote"), form);
        form->line = (uint32_t)line;
        VM_UNFRAME(f);
        return form;
    }
    default:
        return read_atom(r);
    }
}

bool read_datum(reader *r, obj **out) {
    skip_space(r);
    if (peek(r) == EOF)
        return false;
    vm_line = r->line; /* a top-level atom has no pair to carry its line */
    *out = read_expr(r);
    return true;
}
