/*
 * stats.c — the heap counters (see stats.h).
 */
#include "stats.h"

#include <string.h>

heap_counters gstats;

void stats_init(void) { memset((void *)&gstats, 0, sizeof gstats); }
