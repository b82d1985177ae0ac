/*
 * env.h — run-time settings from the environment.       Go: runtime1.go dbgvars
 */
#ifndef GH_ENV_H
#define GH_ENV_H

#include "base.h"

/* GOHEAP_DEBUG knobs (GODEBUG style: "gctrace=1,gccheckmark=1"). */
typedef struct gh_debug_vars {
    int64_t gctrace;        /* 1: one line per cycle on stderr */
    int64_t gccheckmark;    /* 1: verify every mark with a second, stopped mark */
    int64_t gcstoptheworld; /* 1: run whole cycles with the world stopped */
    int64_t invalidptr;     /* 1: a pointer slot into free heap memory is fatal */
    int64_t gcstress;       /* N > 0: a full cycle every N slow-path allocations */
    int64_t memprofilerate; /* bytes between heap profile samples */
    int64_t sysfail;        /* N > 0: the Nth OS mapping call fails */
    int64_t rootcheck;      /* 1: report unmarked objects that stack words point to */
} gh_debug_vars;

typedef struct gh_settings {
    int gogc;          /* GOHEAP_GOGC: -1 = off */
    int64_t memlimit;  /* GOHEAP_MEMLIMIT: bytes, INT64_MAX = none */
    int markers;       /* GOHEAP_MARKERS: background mark workers */
} gh_settings;

extern gh_debug_vars gh_debug;
extern gh_settings gh_env;

/* Reads GOHEAP_* into gh_debug and gh_env; malformed values are reported
 * once per process on stderr and the defaults kept. */
void env_parse(void);

/* Parsers, exposed for tests. Each returns false on malformed input. */
bool env_parse_int(const char *s, int64_t *out);
bool env_parse_bytes(const char *s, int64_t *out);

#endif /* GH_ENV_H */
