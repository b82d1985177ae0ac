#!/bin/sh
# run.sh — run the benchmark suite on goheap and its peers, interleaved, and
# print one table per measurement.
#
#   REPS=5 SYSTEMS="goheap bdwgc go" tests/bench/run.sh -d build/tests/bench [workload...]
#
# Workloads: gcbench, gcbench-2t, alloc (= alloc16 alloc64 alloc256
# alloc4096), or a single allocN. Default: all of them.
# -d DIR is the build directory holding the bench_* executables (meson's
# build/tests/bench); build them first with `ninja -C build bench`.
# Environment: REPS (default 5), SYSTEMS (default "goheap bdwgc bdwgc-incr
# glibc mimalloc go"), TIMEOUT (seconds per run, default 900).
#
# Why interleaved: the development machine has two shared, noisy cores, so an
# absolute time means little and drifts over minutes. Each repetition runs
# every system once, back to back (A B C D A B C D ...), so slow phases of the
# machine hit all systems alike, and the tables report medians and the ratio
# of each system's median to goheap's. Runs are sequential: two benchmarks at
# once on two cores would measure each other.
#
# Each executable prints RESULT lines (see bench_util.h); they are collected in
# DIR/bench-results.txt and summarised by the awk program at the bottom:
# median, min and max of the value, median peak RSS, and system/goheap.
# The Go twin (go/main.go) is built here with the go tool on PATH, into DIR,
# with GOCACHE inside DIR and no network.
set -eu

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

src=$(cd "$(dirname "$0")" && pwd)
dir=
while getopts d:h opt; do
    case $opt in
    d) dir=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
if [ -z "$dir" ] || [ ! -d "$dir" ]; then usage; fi
dir=$(cd "$dir" && pwd)

REPS=${REPS:-5}
SYSTEMS=${SYSTEMS:-"goheap bdwgc bdwgc-incr glibc mimalloc go"}
TIMEOUT=${TIMEOUT:-900}

[ $# -gt 0 ] || set -- gcbench gcbench-2t alloc
units=
for w in "$@"; do
    case $w in
    alloc) units="$units alloc16 alloc64 alloc256 alloc4096" ;;
    gcbench | gcbench-2t | alloc16 | alloc64 | alloc256 | alloc4096) units="$units $w" ;;
    *) echo "run.sh: unknown workload '$w'" >&2; usage ;;
    esac
done

# Keep only the systems that can run; say why the others cannot.
systems=
for s in $SYSTEMS; do
    if [ "$s" = go ]; then
        if ! command -v go >/dev/null 2>&1; then
            echo "run.sh: skipping go: no go tool on PATH" >&2
            continue
        fi
        echo "run.sh: building the Go twin" >&2
        if ! (cd "$src/go" && GOCACHE="$dir/go-cache" GOPATH="$dir/go-path" \
            GOFLAGS='' GOPROXY=off go build -o "$dir/bench_go" .); then
            echo "run.sh: skipping go: go build failed" >&2
            continue
        fi
    else
        exe=$(echo "$s" | tr - _)
        if [ ! -x "$dir/bench_gcbench_$exe" ] || [ ! -x "$dir/bench_alloc_$exe" ]; then
            echo "run.sh: skipping $s: $dir/bench_*_$exe not built" >&2
            continue
        fi
    fi
    systems="$systems $s"
done
[ -n "$systems" ] || { echo "run.sh: no system to run" >&2; exit 1; }

# command_for UNIT SYSTEM: the command line of one run.
command_for() {
    case $1 in
    gcbench) prog=gcbench arg=1 ;;
    gcbench-2t) prog=gcbench arg=2 ;;
    alloc*) prog=alloc arg=${1#alloc} ;;
    esac
    if [ "$2" = go ]; then
        echo "$dir/bench_go $prog $arg"
    else
        echo "$dir/bench_${prog}_$(echo "$2" | tr - _) $arg"
    fi
}

results=$dir/bench-results.txt
: >"$results"
out=$dir/bench-run.out
err=$dir/bench-run.err
failed=0
for u in $units; do
    r=1
    while [ "$r" -le "$REPS" ]; do
        printf '%s rep %d/%d:' "$u" "$r" "$REPS" >&2
        for s in $systems; do
            printf ' %s' "$s" >&2
            # shellcheck disable=SC2046 # the command is split on purpose
            if timeout "$TIMEOUT" $(command_for "$u" "$s") >"$out" 2>"$err"; then
                grep '^RESULT ' "$out" >>"$results" || true
            else
                printf '(FAILED: exit %d)' $? >&2
                sed 's/^/    /' "$err" | tail -n 5 >&2
                failed=1
            fi
        done
        echo >&2
        r=$((r + 1))
    done
done
rm -f "$out" "$err"

echo
echo "goheap benchmark suite: $REPS interleaved runs per system; raw results in $results"
awk -v systems="$systems" '
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)        # insertion sort: n is a handful of runs
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    name = f["name"]; sys = f["system"]
    if (!(name in unit)) { order[++nnames] = name; unit[name] = f["unit"] }
    k = ++count[name, sys]
    val[name, sys, k] = f["value"] + 0
    rss[name, sys, k] = f["maxrss_kb"] + 0
}
END {
    ns = split(systems, S, " ")
    for (i = 1; i <= nnames; i++) {
        name = order[i]; u = unit[name]
        better = u == "x" ? "higher is better" : "lower is better"
        fmt = u == "s" ? "%10.3f" : u == "x" ? "%10.2f" : "%10.1f"
        printf "\n== %s  [%s, %s]\n", name, u, better
        printf "%-12s %10s %10s %10s %12s %12s\n", "system", "median", "min", "max", "maxrss_MiB", "x/goheap"
        base = ""
        if (count[name, "goheap"] > 0) {
            n = count[name, "goheap"]
            for (k = 1; k <= n; k++) v[k] = val[name, "goheap", k]
            base = median(v, n)
        }
        for (j = 1; j <= ns; j++) {
            s = S[j]; n = count[name, s]
            if (n == 0) { printf "%-12s %10s\n", s, "(no result)"; continue }
            for (k = 1; k <= n; k++) { v[k] = val[name, s, k]; m[k] = rss[name, s, k] }
            med = median(v, n)
            printf "%-12s " fmt " " fmt " " fmt " %12.1f", s, med, v[1], v[n], median(m, n) / 1024
            if (base != "" && base > 0) printf " %12.2f\n", med / base
            else printf " %12s\n", "-"
        }
    }
}' "$results"
[ "$failed" -eq 0 ] || echo "run.sh: some runs failed; see the messages above" >&2
exit "$failed"
