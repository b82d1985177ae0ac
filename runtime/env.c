/*
 * env.c — GOHEAP_* environment variables.               Go: runtime1.go (dbgvars),
 *                                                           mgcpacer.go (readGOGC)
 *
 * All run-time knobs are read once, by gc_init, from four variables:
 *
 *   GOHEAP_GOGC      integer percent, or "off" (= -1). Default 100.
 *   GOHEAP_MEMLIMIT  bytes with an optional unit B, KiB, MiB, GiB, TiB, or
 *                    "off". Default: no limit.
 *   GOHEAP_MARKERS   background mark workers, >= 1. Default: a quarter of the
 *                    cores, at least one.
 *   GOHEAP_DEBUG     comma-separated name=value list; names in debug_table.
 *
 * A malformed value never stops the program: it is reported on stderr (once
 * per process, even across gc_shutdown/gc_init) and the default is kept, so
 * a typo in a deployment's environment costs a warning, not an outage.
 */
#include "env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

gh_debug_vars gh_debug;
gh_settings gh_env;

static const struct {
    const char *name;
    int64_t *value;
    int64_t dflt;
    const char *doc;
} debug_table[] = {
    {"gctrace", &gh_debug.gctrace, 0, "print one line per cycle on stderr"},
    {"gccheckmark", &gh_debug.gccheckmark, 0, "verify each mark with a stopped re-mark"},
    {"gcstoptheworld", &gh_debug.gcstoptheworld, 0, "run whole cycles with the world stopped"},
    {"invalidptr", &gh_debug.invalidptr, GH_DEBUG >= 2, "die on pointers into free heap memory"},
    {"gcstress", &gh_debug.gcstress, 0, "a cycle every N refills and in each world-lock call"},
    {"memprofilerate", &gh_debug.memprofilerate, 512 * 1024, "bytes between heap profile samples"},
    {"sysfail", &gh_debug.sysfail, 0, "make the Nth OS mapping call fail (tests)"},
    {"rootcheck", &gh_debug.rootcheck, 0, "report objects only unframed C locals point to"},
};

static bool reported;

static void report(const char *var, const char *what, const char *value) {
    if (!reported)
        gh_printf("%s: %s '%s'; keeping the default", var, what, value);
}

bool env_parse_int(const char *s, int64_t *out) {
    if (s == NULL || *s == '\0')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || isspace((unsigned char)*s))
        return false;
    *out = v;
    return true;
}

bool env_parse_bytes(const char *s, int64_t *out) {
    if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > ((unsigned long long)INT64_MAX >> units[i].shift))
                return false;
            *out = (int64_t)(v << units[i].shift);
            return true;
        }
    }
    return false;
}

static void parse_debug(const char *env) {
    char buf[512];
    if (strlen(env) >= sizeof buf) {
        report("GOHEAP_DEBUG", "value too long", "...");
        return;
    }
    strcpy(buf, env);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            report("GOHEAP_DEBUG", "setting without '=':", item);
            continue;
        }
        *eq = '\0';
        size_t i;
        for (i = 0; i < sizeof debug_table / sizeof debug_table[0]; i++)
            if (strcmp(item, debug_table[i].name) == 0)
                break;
        if (i == sizeof debug_table / sizeof debug_table[0]) {
            report("GOHEAP_DEBUG", "unknown setting", item);
            continue;
        }
        int64_t v;
        if (!env_parse_int(eq + 1, &v) || v < 0) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s=%s", item, eq + 1);
            report("GOHEAP_DEBUG", "malformed value in", msg);
            continue;
        }
        *debug_table[i].value = v;
    }
}

void env_parse(void) {
    for (size_t i = 0; i < sizeof debug_table / sizeof debug_table[0]; i++)
        *debug_table[i].value = debug_table[i].dflt;
    gh_env.gogc = 100;
    gh_env.memlimit = INT64_MAX;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    gh_env.markers = cores >= 8 ? (int)(cores / 4) : 1;

    const char *v;
    if ((v = getenv("GOHEAP_GOGC")) != NULL) {
        int64_t n;
        if (strcmp(v, "off") == 0)
            gh_env.gogc = -1;
        else if (env_parse_int(v, &n) && n >= -1 && n <= 1000000)
            gh_env.gogc = (int)n;
        else
            report("GOHEAP_GOGC", "malformed value", v);
    }
    if ((v = getenv("GOHEAP_MEMLIMIT")) != NULL) {
        int64_t n;
        if (strcmp(v, "off") == 0)
            gh_env.memlimit = INT64_MAX;
        else if (env_parse_bytes(v, &n))
            gh_env.memlimit = n;
        else
            report("GOHEAP_MEMLIMIT", "malformed value", v);
    }
    if ((v = getenv("GOHEAP_MARKERS")) != NULL) {
        int64_t n;
        if (env_parse_int(v, &n) && n >= 1 && n <= 256)
            gh_env.markers = (int)n;
        else
            report("GOHEAP_MARKERS", "malformed value", v);
    }
    if ((v = getenv("GOHEAP_DEBUG")) != NULL)
        parse_debug(v);
    reported = true;
}
