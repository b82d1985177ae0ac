/*
 * type.c — gc_type descriptors built at run time (for VMs whose object
 * layouts are only known when the program runs).
 *
 * GC_TYPE (goheap.h) covers types known at compile time. gc_type_build
 * makes the same descriptor from a list of pointer offsets; descriptors live
 * in memory owned by the library until gc_shutdown, since objects allocated
 * with a type keep no reference to it (the heap bitmap is written from it at
 * allocation and the descriptor is not needed afterwards).
 */
#include <stdlib.h>
#include <string.h>

#include "goheap.h"
#include "lock.h"
#include "thread.h"

typedef struct built_type {
    struct built_type *next;
    gc_type type;
} built_type;

static gh_mutex types_lock = GH_MUTEX_INIT;
static built_type *built_types;

const gc_type *gc_type_build(const char *name, size_t size, const size_t *ptr_offsets,
                             size_t count) {
    thr_current("gc_type_build");
    if (count > 0 && ptr_offsets == NULL)
        gh_throw("gc_type_build: NULL offsets");
    size_t ptrdata = 0;
    for (size_t i = 0; i < count; i++) {
        size_t off = ptr_offsets[i];
        if (off % sizeof(void *) != 0 || off + sizeof(void *) > size)
            gh_fatalf("gc_type_build(%s): pointer offset %zu is misaligned or outside %zu bytes",
                      name ? name : "?", off, size);
        ptrdata = GH_MAX(ptrdata, off + sizeof(void *));
    }
    size_t words = ptrdata / sizeof(void *);
    size_t name_len = name ? strlen(name) + 1 : 1;
    built_type *bt = calloc(1, sizeof *bt + (words + 7) / 8 + name_len);
    if (bt == NULL)
        gh_throw("gc_type_build: out of memory");
    uint8_t *mask = (uint8_t *)(bt + 1);
    char *name_copy = (char *)mask + (words + 7) / 8;
    for (size_t i = 0; i < count; i++) {
        size_t w = ptr_offsets[i] / sizeof(void *);
        mask[w / 8] |= (uint8_t)(1u << (w % 8));
    }
    memcpy(name_copy, name ? name : "", name_len);
    bt->type = (gc_type){name_copy, size, ptrdata, mask};
    gh_lock(&types_lock);
    bt->next = built_types;
    built_types = bt;
    gh_unlock(&types_lock);
    return &bt->type;
}

/* Frees every built type (gc_shutdown). */
void type_release_all(void) {
    gh_lock(&types_lock);
    while (built_types != NULL) {
        built_type *next = built_types->next;
        free(built_types);
        built_types = next;
    }
    gh_unlock(&types_lock);
}
