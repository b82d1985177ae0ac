/*
 * check_model.c — a randomized model-based test of the whole heap: random
 * operations are applied both to goheap and to a plain reference model of
 * the object graph, and after every gc_collect the heap must hold exactly
 * the model's reachable set.
 *
 * Operations (deterministic xorshift, several seeds):
 *   alloc    a new object of a random size (small, multi-page classes, large
 *            > 32 KiB and > 128 KiB) into a random root slot; each object
 *            carries its id and a payload derived from the id
 *   link     GC_STORE of a reachable object into a pointer field of another
 *   unlink   GC_STORE of NULL into a pointer field
 *   drop     clear a root slot; copy one root slot into another
 *   push/pop a shadow-stack frame of four locals (real GC_FRAME/GC_UNFRAME,
 *            by recursion), up to four deep
 *   add/remove the global root range (gc_add_roots / gc_remove_roots)
 *   collect  gc_collect, then verify (3% of steps)
 * The model keeps ids, edges and roots; reachability is a BFS from its roots.
 * Verification: every reachable object's id, edges and payload are intact;
 * heap_objects equals the reachable count and heap_alloc the sum of their
 * class-rounded sizes. Objects the model finds unreachable are forgotten
 * (never touched again). Automatic cycles run in between, as they will.
 */
#include "goheap.h"
#include "harness.h"
#include "sizeclass.h"
#include "consts.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFIELDS 4
#define MAX_OBJS 20000
#define NGLOBAL 8
#define MAX_DEPTH 4
#define SLOTS_PER_FRAME 4

typedef struct mobj {
    struct mobj *f[NFIELDS];
    uint64_t id;
    uint64_t nwords; /* payload words after the header */
    uint64_t payload[];
} mobj;

static const size_t sizes[] = {48,   56,   64,   80,    104,   128,   200,   256,  512,
                               1000, 1024, 2048, 4000,  8192,  10240, 27000, 32768,
                               40000, 140000, 300000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

typedef struct {
    mobj *ptr;      /* NULL once forgotten */
    size_t size;
    int64_t edge[NFIELDS];
} mrec;

typedef struct {
    xrand r;
    const gc_type *types[NSIZES];
    mrec *objs;
    size_t nobjs;
    long steps_left;
    /* Roots: frame slots per depth and the global range. */
    mobj **slots[MAX_DEPTH + 1][SLOTS_PER_FRAME];
    int depth; /* deepest live frame */
    bool global_on;
    /* Scratch for BFS. */
    uint8_t *reach;
    int64_t *queue;
    long collects;
} model;

static mobj *global_roots[NGLOBAL];

static uint64_t payload_word(uint64_t id, uint64_t i) {
    return (id + 1) * 0x9E3779B97F4A7C15ull ^ (i * 0xBF58476D1CE4E5B9ull);
}

/* All root slots currently registered with the collector. */
static size_t root_slots(model *m, mobj ***out) {
    size_t n = 0;
    for (int d = 0; d <= m->depth; d++)
        for (int k = 0; k < SLOTS_PER_FRAME; k++)
            out[n++] = m->slots[d][k];
    if (m->global_on)
        for (int k = 0; k < NGLOBAL; k++)
            out[n++] = &global_roots[k];
    return n;
}

static int64_t id_of(mobj *p) { return p == NULL ? -1 : (int64_t)p->id; }

static size_t compute_reach(model *m) {
    memset(m->reach, 0, m->nobjs);
    size_t qh = 0, qt = 0;
    mobj **roots[(MAX_DEPTH + 1) * SLOTS_PER_FRAME + NGLOBAL];
    size_t nr = root_slots(m, roots);
    for (size_t i = 0; i < nr; i++) {
        int64_t id = id_of(*roots[i]);
        if (id >= 0 && !m->reach[id]) {
            m->reach[id] = 1;
            m->queue[qt++] = id;
        }
    }
    while (qh < qt) {
        int64_t id = m->queue[qh++];
        for (int k = 0; k < NFIELDS; k++) {
            int64_t e = m->objs[id].edge[k];
            if (e >= 0 && !m->reach[e]) {
                m->reach[e] = 1;
                m->queue[qt++] = e;
            }
        }
    }
    return qt;
}

/* A random reachable object id, or -1. */
static int64_t pick_reachable(model *m) {
    size_t n = compute_reach(m);
    if (n == 0)
        return -1;
    return m->queue[xr_below(&m->r, n)];
}

static mobj **pick_slot(model *m) {
    mobj **roots[(MAX_DEPTH + 1) * SLOTS_PER_FRAME + NGLOBAL];
    size_t nr = root_slots(m, roots);
    return roots[xr_below(&m->r, nr)];
}

static void store_root(model *m, mobj **slot, mobj *v) {
    /* Stores into the global range go through GC_STORE; frames do not need it. */
    if (slot >= &global_roots[0] && slot < &global_roots[NGLOBAL])
        GC_STORE(*slot, v);
    else
        *slot = v;
    (void)m;
}

static void op_alloc(model *m) {
    if (m->nobjs == MAX_OBJS)
        return;
    unsigned w = (unsigned)xr_below(&m->r, 100);
    size_t si = w < 80 ? xr_below(&m->r, 10) : w < 97 ? 10 + xr_below(&m->r, 7)
                                                       : 17 + xr_below(&m->r, 3);
    size_t size = sizes[si];
    /* Most new objects hang off a reachable object, so the graph grows
     * deep; the rest go to a root slot. The holder is picked before the
     * allocation: gc_alloc may collect, but the holder is reachable. */
    int64_t holder = xr_below(&m->r, 10) < 7 ? pick_reachable(m) : -1;
    int field = (int)xr_below(&m->r, NFIELDS);
    mobj **slot = pick_slot(m);
    mobj *o = gc_alloc(size, m->types[si]);
    uint64_t id = m->nobjs++;
    o->id = id;
    o->nwords = (size - sizeof(mobj)) / 8;
    for (uint64_t i = 0; i < o->nwords; i++)
        o->payload[i] = payload_word(id, i);
    m->objs[id] = (mrec){o, size, {-1, -1, -1, -1}};
    if (holder >= 0) {
        GC_STORE(m->objs[holder].ptr->f[field], o);
        m->objs[holder].edge[field] = (int64_t)id;
    } else {
        store_root(m, slot, o);
    }
}

static void op_link(model *m, bool unlink) {
    int64_t a = pick_reachable(m);
    if (a < 0)
        return;
    int k = (int)xr_below(&m->r, NFIELDS);
    if (unlink) {
        GC_STORE(m->objs[a].ptr->f[k], NULL);
        m->objs[a].edge[k] = -1;
        return;
    }
    int64_t b = pick_reachable(m);
    GC_STORE(m->objs[a].ptr->f[k], m->objs[b].ptr);
    m->objs[a].edge[k] = b;
}

static void verify(model *m) {
    gc_collect();
    m->collects++;
    size_t n = compute_reach(m);
    uint64_t bytes = 0;
    for (size_t qi = 0; qi < n; qi++) {
        int64_t id = m->queue[qi];
        mrec *r = &m->objs[id];
        mobj *o = r->ptr;
        ck_assert_msg(o != NULL, "reachable object %lld was forgotten", (long long)id);
        ck_assert_msg(o->id == (uint64_t)id, "object %lld: id field is %llu", (long long)id,
                      (unsigned long long)o->id);
        for (int k = 0; k < NFIELDS; k++)
            ck_assert_msg(id_of(o->f[k]) == r->edge[k], "object %lld field %d: %lld, want %lld",
                          (long long)id, k, (long long)id_of(o->f[k]), (long long)r->edge[k]);
        ck_assert_uint_eq(o->nwords, (r->size - sizeof(mobj)) / 8);
        for (uint64_t i = 0; i < o->nwords; i++)
            if (o->payload[i] != payload_word((uint64_t)id, i))
                ck_abort_msg("object %lld (size %zu): payload word %llu corrupted",
                             (long long)id, r->size, (unsigned long long)i);
        ck_assert_ptr_eq(gc_base((char *)o + r->size - 1), o);
        bytes += r->size > GH_MAX_SMALL_SIZE ? GH_ALIGN_UP(r->size, GH_PAGE_SIZE)
                                             : sc_class_to_size[sc_size_to_class(r->size)];
    }
    gc_stats st;
    gc_read_stats(&st);
    ck_assert_msg(st.heap_objects == n, "after collect %ld: heap_objects %llu, model reaches %zu",
                  m->collects, (unsigned long long)st.heap_objects, n);
    ck_assert_msg(st.heap_alloc == bytes, "after collect %ld: heap_alloc %llu, model %llu",
                  m->collects, (unsigned long long)st.heap_alloc, (unsigned long long)bytes);
    if (getenv("MODEL_DEBUG")) fprintf(stderr, "collect %ld: %zu reachable of %zu, %llu bytes, num_gc %u\n", m->collects, n, m->nobjs, (unsigned long long)bytes, st.num_gc);
    /* Forget the dead: their memory may be reused from now on. */
    for (size_t id = 0; id < m->nobjs; id++)
        if (!m->reach[id])
            m->objs[id].ptr = NULL;
}

static void run_level(model *m, int depth) {
    mobj *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    GC_FRAME(f, &a, &b, &c, &d);
    m->slots[depth][0] = &a;
    m->slots[depth][1] = &b;
    m->slots[depth][2] = &c;
    m->slots[depth][3] = &d;
    m->depth = depth;
    while (m->steps_left > 0) {
        m->steps_left--;
        unsigned op = (unsigned)xr_below(&m->r, 100);
        if (op < 45) {
            op_alloc(m);
        } else if (op < 67) {
            op_link(m, false);
        } else if (op < 72) {
            op_link(m, true);
        } else if (op < 78) {
            store_root(m, pick_slot(m), NULL);
        } else if (op < 84) {
            store_root(m, pick_slot(m), *pick_slot(m));
        } else if (op < 89) {
            if (depth < MAX_DEPTH)
                run_level(m, depth + 1);
            m->depth = depth;
        } else if (op < 93) {
            if (depth > 0)
                break;
        } else if (op < 96) {
            if (m->global_on) {
                gc_remove_roots(global_roots);
                memset(global_roots, 0, sizeof global_roots);
            } else {
                gc_add_roots(global_roots, sizeof global_roots);
            }
            m->global_on = !m->global_on;
        } else {
            verify(m);
        }
    }
    GC_UNFRAME(f);
    m->depth = depth - 1;
    (void)a, (void)b, (void)c, (void)d;
}

static void run_model(uint64_t seed, long steps) {
    model *m = calloc(1, sizeof *m);
    xr_seed(&m->r, seed);
    m->objs = calloc(MAX_OBJS, sizeof *m->objs);
    m->reach = calloc(MAX_OBJS, 1);
    m->queue = calloc(MAX_OBJS, sizeof *m->queue);
    static const size_t offs[NFIELDS] = {0, 8, 16, 24};
    for (size_t i = 0; i < NSIZES; i++)
        m->types[i] = gc_type_build("mobj", sizes[i], offs, NFIELDS);
    memset(global_roots, 0, sizeof global_roots);
    m->steps_left = steps;
    run_level(m, 0);
    /* Every frame is popped: only the global range may hold roots. */
    m->depth = -1;
    verify(m);
    if (m->global_on) {
        gc_remove_roots(global_roots);
        m->global_on = false;
    }
    verify(m);
    gc_stats st;
    gc_read_stats(&st);
    ck_assert_uint_eq(st.heap_objects, 0);
    ck_assert_uint_gt(m->collects, 10);
    free(m->objs);
    free(m->reach);
    free(m->queue);
    free(m);
}

START_TEST(test_model_random_seeds) { run_model(1000 + (uint64_t)_i * 7919, 6000); }
END_TEST

/* A longer run with small sizes only would need its own knobs; the same
 * model with GOGC at 10 makes automatic cycles run between almost every
 * verification, interleaving them with the random operations. */
START_TEST(test_model_frequent_cycles) {
    gc_set_percent(10);
    run_model(424242, 6000);
}
END_TEST

static Suite *model_suite(void) {
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("random");
    tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
    tcase_add_loop_test(tc, test_model_random_seeds, 0, 5);
    tcase_add_test(tc, test_model_frequent_cycles);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
