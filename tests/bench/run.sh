#!/bin/sh
# run.sh — run the benchmark suite on goheap and its peers, interleaved, and
# print one table per measurement.
#
#   REPS=5 SYSTEMS="goheap bdwgc go" tests/bench/run.sh -d build/tests/bench [workload...]
#
# Workloads: gcbench, gcbench-2t, alloc (= alloc16 alloc64 alloc256
# alloc4096) or a single allocN, pause, markrate (= markrate-list-1m
# markrate-list-2m markrate-graph-1m markrate-graph-2m) or a single one,
# toyvm. Default: all of them. A system a workload does not apply to (malloc
# has no pauses) is left out of that workload.
# -d DIR is the build directory holding the bench_* executables (meson's
# build/tests/bench); build them first with `ninja -C build bench`.
# Environment: REPS (default 5), SYSTEMS (default "goheap bdwgc bdwgc-incr
# glibc mimalloc go"), TIMEOUT (seconds per run, default 900), PAUSE_SECONDS
# (default 10), PAUSE_LIVE_MB (default 1024), PAUSE_REPS (repetitions of
# pause, default 3), TOYVM_DIR (default DIR/../../examples/toyvm),
# TOYVM_PROGRAM (default: examples/toyvm/programs/binary_trees.scm with
# max-depth 14 instead of 12, written into DIR), APPEND (set: add to the
# last run's results instead of starting afresh).
#
# Why interleaved: the development machine has two shared, noisy cores, so an
# absolute time means little and drifts over minutes. Each repetition runs
# every system once, back to back (A B C D A B C D ...), so slow phases of the
# machine hit all systems alike, and the tables report medians and the ratio
# of each system's median to goheap's. Runs are sequential: two benchmarks at
# once on two cores would measure each other.
#
# Each executable prints RESULT lines (see bench_util.h); they are collected in
# DIR/bench-results.txt and summarised by summary.awk: median, min and max of
# the value, median peak RSS, and system/goheap. The pause and markrate runs
# of goheap and Go run with gctrace on; their stderr is kept in
# DIR/traces/UNIT-SYSTEM-REP.trace and gctrace.awk turns it into more RESULT
# lines (single pauses, mark-phase rates). The pause runs also leave every
# mutator stall sample in DIR/traces/pause-SYSTEM-REP.stalls and bdwgc's
# single pauses in .stw files (for plot.sh).
# The Go twin (go/main.go) is built here with the go tool on PATH, into DIR,
# with GOCACHE inside DIR and no network.
set -eu

usage() {
    sed -n '2,21s/^# \{0,1\}//p' "$0" >&2
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
PAUSE_SECONDS=${PAUSE_SECONDS:-10}
PAUSE_REPS=${PAUSE_REPS:-3}
TOYVM_DIR=${TOYVM_DIR:-$dir/../../examples/toyvm}
if [ -z "${TOYVM_PROGRAM:-}" ]; then
    # The example program, deeper (about 9 times the work, 1 to 3 s).
    TOYVM_PROGRAM=$dir/binary_trees-depth14.scm
    sed 's/^(define max-depth 12)$/(define max-depth 14)/' \
        "$src/../../examples/toyvm/programs/binary_trees.scm" >"$TOYVM_PROGRAM"
    grep -q '^(define max-depth 14)$' "$TOYVM_PROGRAM" ||
        { echo "run.sh: binary_trees.scm no longer defines max-depth 12" >&2; exit 1; }
fi

[ $# -gt 0 ] || set -- gcbench gcbench-2t alloc pause markrate toyvm
units=
for w in "$@"; do
    case $w in
    alloc) units="$units alloc16 alloc64 alloc256 alloc4096" ;;
    markrate) units="$units markrate-list-1m markrate-list-2m markrate-graph-1m markrate-graph-2m" ;;
    gcbench | gcbench-2t | alloc16 | alloc64 | alloc256 | alloc4096 | pause | toyvm) units="$units $w" ;;
    markrate-list-[12]m | markrate-graph-[12]m) units="$units $w" ;;
    *) echo "run.sh: unknown workload '$w'" >&2; usage ;;
    esac
done

# The Go twin is built once, if go is among the systems.
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
    fi
    systems="$systems $s"
done
[ -n "$systems" ] || { echo "run.sh: no system to run" >&2; exit 1; }

# applies UNIT SYSTEM: whether the workload means anything on that system.
applies() {
    case $1 in
    pause) case $2 in goheap | go | bdwgc | bdwgc-incr | glibc) return 0 ;; esac; return 1 ;;
    markrate-*) case $2 in goheap | go | bdwgc) return 0 ;; esac; return 1 ;;
    toyvm) case $2 in goheap | bdwgc) return 0 ;; esac; return 1 ;;
    *) return 0 ;;
    esac
}

# command_for UNIT SYSTEM REP: the command line of one run (environment
# assignments first, through env); sets $bin to the executable it needs.
command_for() {
    trace= envs=
    case $2 in goheap) trace=GOHEAP_DEBUG=gctrace=1 ;; go) trace=GODEBUG=gctrace=1 ;; esac
    case $1 in
    gcbench) prog=gcbench args=1 ;;
    gcbench-2t) prog=gcbench args=2 ;;
    alloc*) prog=alloc args=${1#alloc} ;;
    pause)
        prog=pause args=$PAUSE_SECONDS
        envs="PAUSE_STALLS=$dir/traces/pause-$2-$3.stalls PAUSE_STW=$dir/traces/pause-$2-$3.stw $trace" ;;
    markrate-*) # markrate-SHAPE-Mm
        m=${1#markrate-} prog=markrate
        mk=${m##*-}
        args="${m%-*} ${mk%m}"
        envs=$trace ;;
    toyvm)
        case $2 in goheap) bin=$TOYVM_DIR/toyvm ;; *) bin=$TOYVM_DIR/toyvm-$2 ;; esac
        [ -x "$dir/bench_spawn" ] || bin=$dir/bench_spawn
        echo "$dir/bench_spawn toyvm $2 $bin $TOYVM_PROGRAM"
        return ;;
    esac
    if [ "$2" = go ]; then
        bin=$dir/bench_go
        args="$prog $args"
    else
        bin=$dir/bench_${prog}_$(echo "$2" | tr - _)
    fi
    echo "env $envs $bin $args"
}

mkdir -p "$dir/traces"
results=$dir/bench-results.txt
[ -n "${APPEND:-}" ] || : >"$results"
out=$dir/bench-run.out
err=$dir/bench-run.err
failed=0
for u in $units; do
    todo=
    for s in $systems; do
        applies "$u" "$s" || continue
        command_for "$u" "$s" 0 >/dev/null
        if [ ! -x "$bin" ]; then
            echo "run.sh: skipping $s for $u: $bin not built" >&2
            continue
        fi
        todo="$todo $s"
    done
    echo "# load $u begin $(cut -d' ' -f1-3 /proc/loadavg)" >>"$results"
    echo "# commit $u $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)" >>"$results"
    reps=$REPS
    [ "$u" != pause ] || reps=$PAUSE_REPS
    r=1
    while [ "$r" -le "$reps" ]; do
        printf '%s rep %d/%d:' "$u" "$r" "$reps" >&2
        for s in $todo; do
            printf ' %s' "$s" >&2
            # shellcheck disable=SC2046 # the command is split on purpose
            if timeout "$TIMEOUT" $(command_for "$u" "$s" "$r") >"$out" 2>"$err"; then
                grep '^RESULT ' "$out" >>"$results" || true
                case $u:$s in
                pause:goheap | pause:go | markrate-*:goheap | markrate-*:go)
                    cp "$err" "$dir/traces/$u-$s-$r.trace"
                    awk -v sys="$s" -f "$src/gctrace.awk" "$err" >>"$results" ;;
                esac
            else
                printf '(FAILED: exit %d)' $? >&2
                sed 's/^/    /' "$err" | tail -n 5 >&2
                failed=1
            fi
        done
        echo >&2
        r=$((r + 1))
    done
    echo "# load $u end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$results"
done
rm -f "$out" "$err"

echo
echo "goheap benchmark suite: $REPS interleaved runs per system ($PAUSE_REPS for pause); raw results in $results"
awk -v systems="$systems" -f "$src/summary.awk" "$results"
[ "$failed" -eq 0 ] || echo "run.sh: some runs failed; see the messages above" >&2
exit "$failed"
