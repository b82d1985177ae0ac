/*
 * track.c — the one piece of state behind track.h: whether this process
 * runs under valgrind's memcheck, read once so each hook costs a load and a
 * branch.
 *
 * Only memcheck keeps the block table and shadow memory the hooks describe.
 * It is told apart from the other tools by VALGRIND_GET_VBITS, which only
 * memcheck implements (it returns 1; other tools, and native runs, return
 * the default 0). Under callgrind, helgrind or DRD the hooks stay off, so a
 * callgrind count of the allocation path is the count of a native run.
 */
#include "track.h"

#if defined(GH_VALGRIND) && GH_VALGRIND
bool track_enabled;

void track_init(void) {
    track_enabled = false;
    if (!RUNNING_ON_VALGRIND)
        return;
    unsigned char probe = 0, vbits = 0;
    track_enabled = VALGRIND_GET_VBITS(&probe, &vbits, 1) == 1;
}
#endif
