/*
 * object.c — every allocation toyvm makes, the gc_types that describe them,
 * the symbol table and the hash tables.
 *
 * Types. Each object kind with pointer fields gets a gc_type from VM_TYPE
 * (goheap's GC_TYPE), listing exactly the fields that hold heap pointers: the
 * header word, lengths, hashes and doubles are never scanned. Kinds with no
 * heap pointers (numbers, strings, primitives) are allocated noscan, so the
 * marker never reads their bytes. Arrays of values (vector slots, hash
 * buckets) use slot_type, a one-word element with one pointer, as an array
 * type: gc_alloc repeats the mask over the whole allocation.
 *
 * The two rules every constructor here follows:
 *   - Arguments that are stored after an allocation are listed in a VM_FRAME
 *     first: the allocation may collect, and an unframed argument is garbage
 *     to a precise collector.
 *   - Every pointer written into a heap object or a registered root goes
 *     through VM_STORE (or vm_memmove when a vector or bucket array grows),
 *     even into an object allocated a line earlier: during a mark phase the
 *     write barrier is what keeps the marker from missing the stored value.
 *
 * Symbols. intern() keeps one symbol per name in a chained table whose bucket
 * array is a registered root. The table is weak: a link holds a weak handle
 * to its symbol (vm_weak_new, goheap's gc_weak_new), not the symbol, so a
 * symbol that nothing else references is freed like any other object. A
 * symbol only ever needs to be unique while someone can compare it: once it
 * is unreachable, interning its name again makes a fresh symbol and nobody
 * can tell. Links whose handle reads NULL (vm_weak_get) are dead; they are
 * pruned lazily, whenever a lookup walks past one, and all at once before
 * the bucket array would grow (so a program that interns many temporary
 * names keeps a small table) or when (symbol-table-size) asks for the count.
 * Only intern_link_new() and intern_link_symbol() know that `target` is a
 * weak handle.
 *
 * The symbols the VM itself needs stay strongly reachable elsewhere: the
 * special-form names are a root array (eval.c) and the builtins' names are
 * keys of the globals table.
 *
 * Hash tables hash numbers by value, strings by content, symbols by their
 * precomputed name hash and everything else by address. Addresses are stable
 * because neither goheap nor bdwgc moves objects.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

/* One pointer: the element type of every array of values. */
struct slot { obj *value; };
VM_TYPE(slot_type, struct slot, value);
VM_TYPE(symbol_type, symbol, name);
VM_TYPE(pair_type, pair, car, cdr);
VM_TYPE(vector_type, vector, slots);
VM_TYPE(hash_type, hash, buckets);
VM_TYPE(entry_type, entry, key, value, next);
VM_TYPE(closure_type, closure, params, body, env, name);
VM_TYPE(env_type, env, parent, bindings);
VM_TYPE(binding_type, binding, name, value, next);

/* A symbol table link. `target` is the symbol's weak handle: itself a heap
 * object (so a pointer slot the link keeps alive) that does not keep the
 * symbol alive. */
typedef struct intern_link {
    obj hdr;
    vm_weak *target;
    struct intern_link *next;
} intern_link;
VM_TYPE(intern_link_type, intern_link, target, next);

obj *vm_true, *vm_false, *vm_unspecified, *vm_eof;

/* The symbol table: registered as a root range together with the singletons
 * above (see vm_objects_init), so one gc_add_roots call covers both. */
static struct {
    intern_link **buckets;
    size_t nbuckets, count;
} symtab;

/* Sampling the heap size for --summary. Reading stats on every allocation
 * would dominate the run, so the peak is sampled once per PEAK_SAMPLE_EVERY
 * allocations: the reported peak is a lower bound, off by at most what that
 * many allocations add. */
#define PEAK_SAMPLE_EVERY 16384
static unsigned long allocs_until_sample = PEAK_SAMPLE_EVERY;
static unsigned long long peak_heap_alloc;

static void sample_peak(void) {
    vm_heap_stats stats;
    vm_heap_read_stats(&stats);
    if (stats.heap_alloc > peak_heap_alloc)
        peak_heap_alloc = stats.heap_alloc;
}

unsigned long long vm_peak_heap_alloc(void) {
    sample_peak();
    return peak_heap_alloc;
}

/* Counts one allocation and returns p, so constructors read as one line.
 * p is framed across the sample: reading the statistics can collect (the
 * thread parks for the world lock, and a whole cycle may finish meanwhile),
 * and p, allocated a moment ago, is in no frame and no object yet. */
static inline void *counted(void *p) {
    if (--allocs_until_sample == 0) {
        allocs_until_sample = PEAK_SAMPLE_EVERY;
        VM_FRAME(f, &p);
        sample_peak();
        VM_UNFRAME(f);
    }
    return p;
}

static obj *make_singleton(obj_kind kind) {
    obj *o = counted(vm_alloc_noscan(sizeof(obj)));
    o->kind = kind;
    o->line = 0;
    return o;
}

void vm_objects_init(void) {
    vm_add_roots(&vm_true, sizeof vm_true);
    vm_add_roots(&vm_false, sizeof vm_false);
    vm_add_roots(&vm_unspecified, sizeof vm_unspecified);
    vm_add_roots(&vm_eof, sizeof vm_eof);
    vm_add_roots(&symtab.buckets, sizeof symtab.buckets);
    /* Stores into registered roots go through the barrier, like stores
     * into heap objects. */
    VM_STORE(vm_true, make_singleton(K_BOOLEAN));
    VM_STORE(vm_false, make_singleton(K_BOOLEAN));
    VM_STORE(vm_unspecified, make_singleton(K_UNSPECIFIED));
    VM_STORE(vm_eof, make_singleton(K_EOF));
    symtab.nbuckets = 256;
    VM_STORE(symtab.buckets, counted(vm_alloc(symtab.nbuckets * sizeof(intern_link *), &slot_type)));
}

obj *make_number(double value) {
    number *n = counted(vm_alloc_noscan(sizeof *n));
    n->hdr = (obj){K_NUMBER, 0};
    n->value = value;
    return &n->hdr;
}

obj *make_string_uninit(size_t length) {
    string *s = counted(vm_alloc_noscan(sizeof *s + length + 1));
    s->hdr = (obj){K_STRING, 0};
    s->length = length;
    s->bytes[length] = '\0';
    return &s->hdr;
}

obj *make_string(const char *bytes, size_t length) {
    obj *s = make_string_uninit(length);
    memcpy(AS(string, s)->bytes, bytes, length);
    return s;
}

static uint64_t hash_bytes(const char *bytes, size_t length) {
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < length; i++)
        h = (h ^ (unsigned char)bytes[i]) * 1099511628211u;
    return h;
}

/* The two functions that know the link is weak. */
static intern_link *intern_link_new(symbol *sym, intern_link *next) {
    intern_link *link = NULL;
    vm_weak *weak = NULL;
    VM_FRAME(f, &sym, &next, &link, &weak);
    weak = vm_weak_new(sym); /* allocates: sym is framed */
    link = counted(vm_alloc(sizeof *link, &intern_link_type));
    link->hdr = (obj){K_INTERN_LINK, 0};
    VM_STORE(link->target, weak);
    VM_STORE(link->next, next);
    VM_UNFRAME(f);
    return link;
}

/* The link's symbol, or NULL once the collector has found it unreachable.
 * The result is a strong pointer: frame it before anything that allocates. */
static symbol *intern_link_symbol(const intern_link *link) { return vm_weak_get(link->target); }

/* Unlinks every dead link. Allocates nothing. */
static void symtab_prune(void) {
    for (size_t b = 0; b < symtab.nbuckets; b++) {
        intern_link **prev = &symtab.buckets[b];
        while (*prev) {
            intern_link *link = *prev;
            if (intern_link_symbol(link)) {
                prev = &link->next;
            } else {
                VM_STORE(*prev, link->next);
                symtab.count--;
            }
        }
    }
}

size_t symbol_table_size(void) {
    symtab_prune();
    return symtab.count;
}

/* Prunes the dead links and doubles the bucket array if the live ones still
 * fill more than half of it. */
static void symtab_make_room(void) {
    symtab_prune();
    if (symtab.count < symtab.nbuckets / 2)
        return;
    size_t nbuckets = symtab.nbuckets * 2;
    intern_link **buckets = counted(vm_alloc(nbuckets * sizeof *buckets, &slot_type));
    /* No allocation below: buckets needs no frame. The allocation may have
     * collected, so links can have died since the prune: drop those too. */
    for (size_t i = 0; i < symtab.nbuckets; i++) {
        intern_link *link = symtab.buckets[i];
        while (link) {
            intern_link *next = link->next;
            symbol *sym = intern_link_symbol(link);
            if (sym) {
                size_t b = sym->hash & (nbuckets - 1);
                VM_STORE(link->next, buckets[b]);
                VM_STORE(buckets[b], link);
            } else {
                symtab.count--;
            }
            link = next;
        }
    }
    VM_STORE(symtab.buckets, buckets); /* a registered root: barriered too */
    symtab.nbuckets = nbuckets;
}

obj *intern(const char *name, size_t length) {
    uint64_t h = hash_bytes(name, length);
    intern_link **prev = &symtab.buckets[h & (symtab.nbuckets - 1)];
    while (*prev) {
        intern_link *link = *prev;
        symbol *sym = intern_link_symbol(link);
        if (!sym) { /* a dead symbol: unlink it on the way */
            VM_STORE(*prev, link->next);
            symtab.count--;
            continue;
        }
        if (sym->hash == h && sym->name->length == length &&
            memcmp(sym->name->bytes, name, length) == 0)
            return &sym->hdr;
        prev = &link->next;
    }
    if (symtab.count >= symtab.nbuckets)
        symtab_make_room();
    obj *str = make_string(name, length);
    symbol *sym = NULL;
    VM_FRAME(f, &str, &sym);
    sym = counted(vm_alloc(sizeof *sym, &symbol_type));
    sym->hdr = (obj){K_SYMBOL, 0};
    sym->hash = h;
    VM_STORE(sym->name, AS(string, str));
    intern_link *link = intern_link_new(sym, NULL);
    /* intern_link_new may have collected, and the bucket array may have been
     * replaced: index it only now. */
    size_t b = h & (symtab.nbuckets - 1);
    VM_STORE(link->next, symtab.buckets[b]);
    VM_STORE(symtab.buckets[b], link);
    symtab.count++;
    VM_UNFRAME(f);
    return &sym->hdr;
}

obj *intern_cstr(const char *name) { return intern(name, strlen(name)); }

obj *cons(obj *car, obj *cdr) {
    VM_FRAME(f, &car, &cdr);
    pair *p = counted(vm_alloc(sizeof *p, &pair_type));
    p->hdr = (obj){K_PAIR, 0};
    VM_STORE(p->car, car);
    VM_STORE(p->cdr, cdr);
    VM_UNFRAME(f);
    return &p->hdr;
}

obj *make_vector(size_t length, obj *fill) {
    vector *v = NULL;
    VM_FRAME(f, &fill, &v);
    v = counted(vm_alloc(sizeof *v, &vector_type));
    v->hdr = (obj){K_VECTOR, 0};
    v->capacity = length < 4 ? 4 : length;
    obj **slots = counted(vm_alloc(v->capacity * sizeof(obj *), &slot_type));
    VM_STORE(v->slots, slots);
    v->length = length;
    for (size_t i = 0; i < length; i++)
        VM_STORE(v->slots[i], fill);
    VM_UNFRAME(f);
    return &v->hdr;
}

void vector_push(obj *vec, obj *value) {
    vector *v = AS(vector, vec);
    VM_FRAME(f, &v, &value);
    if (v->length == v->capacity) {
        size_t capacity = v->capacity * 2;
        obj **slots = counted(vm_alloc(capacity * sizeof(obj *), &slot_type));
        /* A bulk copy of pointers into a heap object: gc_memmove applies the
         * barrier to every word it copies. */
        vm_memmove(slots, v->slots, v->length * sizeof(obj *));
        VM_STORE(v->slots, slots);
        v->capacity = capacity;
    }
    VM_STORE(v->slots[v->length], value);
    v->length++;
    VM_UNFRAME(f);
}

/* Tables index buckets with the low bits, but doubles holding small integers
 * and aligned addresses have all-zero low bits: fold the high bits down
 * (the murmur3 finaliser). */
static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_key(const obj *key) {
    if (is_kind(key, K_NUMBER)) {
        double d = AS(number, key)->value;
        if (d == 0)
            d = 0; /* -0.0 and 0.0 are one key */
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return mix(bits);
    }
    if (is_kind(key, K_STRING))
        return hash_bytes(AS(string, key)->bytes, AS(string, key)->length);
    if (is_kind(key, K_SYMBOL))
        return AS(symbol, key)->hash ^ 0x5bd1e995u;
    return mix((uint64_t)(uintptr_t)key);
}

/* Keys match by vm_equal for numbers and strings, by identity otherwise. */
static bool key_matches(const obj *a, const obj *b) {
    if (is_kind(a, K_STRING) || is_kind(a, K_NUMBER))
        return vm_equal(a, b);
    return a == b;
}

obj *make_hash(void) {
    hash *t = counted(vm_alloc(sizeof *t, &hash_type));
    t->hdr = (obj){K_HASH, 0};
    VM_FRAME(f, &t);
    t->nbuckets = 16;
    entry **buckets = counted(vm_alloc(t->nbuckets * sizeof(entry *), &slot_type));
    VM_STORE(t->buckets, buckets);
    VM_UNFRAME(f);
    return &t->hdr;
}

static entry *find_entry(const hash *t, const obj *key, uint64_t h) {
    for (entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && key_matches(e->key, key))
            return e;
    return NULL;
}

bool hash_get(obj *table, obj *key, obj **value) {
    entry *e = find_entry(AS(hash, table), key, hash_key(key));
    if (e)
        *value = e->value;
    return e != NULL;
}

static void hash_grow(hash *t) {
    VM_FRAME(f, &t);
    size_t nbuckets = t->nbuckets * 2;
    entry **buckets = counted(vm_alloc(nbuckets * sizeof *buckets, &slot_type));
    for (size_t i = 0; i < t->nbuckets; i++) {
        entry *e = t->buckets[i];
        while (e) {
            entry *next = e->next;
            size_t b = e->hash & (nbuckets - 1);
            VM_STORE(e->next, buckets[b]);
            VM_STORE(buckets[b], e);
            e = next;
        }
    }
    VM_STORE(t->buckets, buckets);
    t->nbuckets = nbuckets;
    VM_UNFRAME(f);
}

void hash_put(obj *table, obj *key, obj *value) {
    hash *t = AS(hash, table);
    uint64_t h = hash_key(key);
    entry *e = find_entry(t, key, h);
    if (e) {
        VM_STORE(e->value, value);
        return;
    }
    VM_FRAME(f, &t, &key, &value, &e);
    if (t->count >= t->nbuckets)
        hash_grow(t);
    e = counted(vm_alloc(sizeof *e, &entry_type));
    e->hdr = (obj){K_ENTRY, 0};
    e->hash = h;
    VM_STORE(e->key, key);
    VM_STORE(e->value, value);
    size_t b = h & (t->nbuckets - 1);
    VM_STORE(e->next, t->buckets[b]);
    VM_STORE(t->buckets[b], e);
    t->count++;
    VM_UNFRAME(f);
}

bool hash_remove(obj *table, obj *key) {
    hash *t = AS(hash, table);
    uint64_t h = hash_key(key);
    for (entry **link = &t->buckets[h & (t->nbuckets - 1)]; *link; link = &(*link)->next) {
        entry *e = *link;
        if (e->hash == h && key_matches(e->key, key)) {
            VM_STORE(*link, e->next);
            t->count--;
            return true;
        }
    }
    return false;
}

obj *make_closure(obj *params, obj *body, env *env, symbol *name) {
    VM_FRAME(f, &params, &body, &env, &name);
    closure *c = counted(vm_alloc(sizeof *c, &closure_type));
    c->hdr = (obj){K_CLOSURE, 0};
    VM_STORE(c->params, params);
    VM_STORE(c->body, body);
    VM_STORE(c->env, env);
    VM_STORE(c->name, name);
    VM_UNFRAME(f);
    return &c->hdr;
}

env *make_env(env *parent) {
    VM_FRAME(f, &parent);
    env *e = counted(vm_alloc(sizeof *e, &env_type));
    e->hdr = (obj){K_ENV, 0};
    VM_STORE(e->parent, parent);
    VM_UNFRAME(f);
    return e;
}

void env_define(env *e, symbol *name, obj *value) {
    for (binding *b = e->bindings; b; b = b->next)
        if (b->name == name) {
            VM_STORE(b->value, value);
            return;
        }
    VM_FRAME(f, &e, &name, &value);
    binding *b = counted(vm_alloc(sizeof *b, &binding_type));
    b->hdr = (obj){K_BINDING, 0};
    VM_STORE(b->name, name);
    VM_STORE(b->value, value);
    VM_STORE(b->next, e->bindings);
    VM_STORE(e->bindings, b);
    VM_UNFRAME(f);
}

obj *make_primitive(const prim_desc *desc) {
    primitive *p = counted(vm_alloc_noscan(sizeof *p));
    p->hdr = (obj){K_PRIMITIVE, 0};
    p->desc = desc;
    return &p->hdr;
}

bool vm_eqv(const obj *a, const obj *b) {
    if (a == b)
        return true;
    return is_kind(a, K_NUMBER) && is_kind(b, K_NUMBER) &&
           AS(number, a)->value == AS(number, b)->value;
}

/* Structural equality. Recursion follows the car, iteration the cdr, so long
 * lists do not deepen the C stack. */
bool vm_equal(const obj *a, const obj *b) {
    for (;;) {
        if (vm_eqv(a, b))
            return true;
        if (!a || !b || a->kind != b->kind)
            return false;
        switch ((obj_kind)a->kind) {
        case K_STRING:
            return AS(string, a)->length == AS(string, b)->length &&
                   memcmp(AS(string, a)->bytes, AS(string, b)->bytes, AS(string, a)->length) == 0;
        case K_VECTOR: {
            const vector *va = AS(vector, a), *vb = AS(vector, b);
            if (va->length != vb->length)
                return false;
            for (size_t i = 0; i < va->length; i++)
                if (!vm_equal(va->slots[i], vb->slots[i]))
                    return false;
            return true;
        }
        case K_PAIR:
            if (!vm_equal(CAR(a), CAR(b)))
                return false;
            a = CDR(a);
            b = CDR(b);
            break;
        default:
            return false;
        }
    }
}
