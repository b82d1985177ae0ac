/*
 * track.c — the one piece of state behind track.h: whether this process
 * runs under valgrind, read once so the hooks cost a load and a branch.
 */
#include "track.h"

#if defined(GH_VALGRIND) && GH_VALGRIND
bool track_enabled;

void track_init(void) { track_enabled = RUNNING_ON_VALGRIND != 0; }
#endif
