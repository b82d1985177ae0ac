/*
 * roots.h — the collector's roots: registered global ranges and the shadow
 * stacks of registered threads.
 */
#ifndef GH_ROOTS_H
#define GH_ROOTS_H

#include "thread.h"

/* Calls fn(slot, arg) for every pointer-aligned word of every registered
 * global range. Takes roots_lock. */
void roots_for_each_global(void (*fn)(void **slot, void *arg), void *arg);

/* Calls fn(slot, arg) for every slot of every frame of thread t. t must be
 * the caller, stopped, or parked. */
void roots_for_each_frame_slot(gh_thread *t, void (*fn)(void **slot, void *arg), void *arg);

void roots_init(void);
void roots_shutdown(void);

#endif /* GH_ROOTS_H */
