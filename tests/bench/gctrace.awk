# gctrace.awk — RESULT lines from the gctrace output (goheap's
# GOHEAP_DEBUG=gctrace=1 or Go's GODEBUG=gctrace=1, the same format) of one
# run of the pause or markrate workload. run.sh feeds it each such run's
# stderr; by hand:
#
#   GOHEAP_DEBUG=gctrace=1 bench_pause_goheap 2>&1 >/dev/null |
#       awk -v sys=goheap -f tests/bench/gctrace.awk
#
# A gctrace line reads "gc N @Ts P%: a+b+c ms clock, ...": a is pause 1
# (sweep termination), b the concurrent mark, c pause 2 (mark termination).
#
# pause (the trace holds "BENCH-PHASE" lines): every cycle of the run gives
# two stop-the-world pauses, a and c (see pause.c for why the whole run):
#   pause-stw-max, pause-stw-p99    over all of them (ms)
#   pause-stw1-max, pause-stw2-max  the longest pause 1 and pause 2 (ms)
#   pause-cycles-phase              cycles that ended inside the mutate phase
#
# markrate: each "BENCH-MARK name=X live_bytes=L" line is followed by one
# forced collection; the next "(forced)" line gives its mark time a+b+c (the
# cycle up to the end of mark termination: no sweep), and
#   X-mark = L / 2^20 / ((a+b+c) / 1000)   MiB/s, the median over the run.
#
# Go's runtime writes a gctrace line in several pieces, so another thread's
# line can land in the middle of it; a marker found inside a line is taken
# out and the rest of the line joined to the next one.

function quantile(v, n, q,    i, j, t, k) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
    k = int(q * n + 0.999999)
    if (k < 1) k = 1
    if (k > n) k = n
    return v[k]
}

function emit(name, unit, value) {
    printf "RESULT name=%s system=%s unit=%s value=%.6f maxrss_kb=0\n", name, sys, unit, value
}

function marker(m,    f, i, eq, kv) {
    if (m ~ /^BENCH-PHASE start/) inphase = sawphase = 1
    else if (m ~ /^BENCH-PHASE end/) inphase = 0
    else if (m ~ /^BENCH-MARK /) {
        split(m, f, " ")
        for (i = 2; i in f; i++) {
            eq = index(f[i], "=")
            kv[substr(f[i], 1, eq - 1)] = substr(f[i], eq + 1)
        }
        mname = kv["name"]; mlive = kv["live_bytes"] + 0; pending = 1
    }
}

function gcline(line,    clock, p) {
    if (!match(line, /: [0-9.]+\+[0-9.]+\+[0-9.]+ ms clock/)) return
    clock = substr(line, RSTART + 2, RLENGTH - 11)
    split(clock, p, "+")
    nphase += inphase
    stw[++nstw] = p[1] + 0; stw[++nstw] = p[3] + 0
    if (p[1] + 0 > max1) max1 = p[1] + 0
    if (p[3] + 0 > max2) max2 = p[3] + 0
    if (pending && line ~ /\(forced\)/) {
        t = p[1] + p[2] + p[3]
        if (t > 0) { rate[++nrate] = mlive / 1048576 / (t / 1000); ratename = mname }
        pending = 0
    }
}

{
    line = carry $0; carry = ""
    p = index(line, "BENCH-")
    if (p > 1) {            # a marker inside a gctrace line
        carry = substr(line, 1, p - 1)
        marker(substr(line, p))
        next
    }
    if (p == 1) { marker(line); next }
    if (line ~ /^gc [0-9]+ @/) gcline(line)
}

END {
    if (sawphase && nstw > 0) {
        emit("pause-cycles-phase", "n", nphase)
        emit("pause-stw-max", "ms", quantile(stw, nstw, 1))
        emit("pause-stw-p99", "ms", quantile(stw, nstw, 0.99))
        emit("pause-stw1-max", "ms", max1)
        emit("pause-stw2-max", "ms", max2)
    }
    if (nrate > 0)
        emit(ratename "-mark", "MiB/s", quantile(rate, nrate, 0.5))
}
