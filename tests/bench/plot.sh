#!/bin/sh
# plot.sh — the plots of docs/performance.md from the traces a run.sh pause
# run leaves in DIR/traces (gnuplot; Debian: apt-get install gnuplot-nox).
#
#   tests/bench/plot.sh build-rel/tests/bench docs/images
#
# perf-pauses.png  left: the distribution (CDF) of single stop-the-world
#                  pauses over all pause runs — goheap and Go from their
#                  gctrace (pause 1 and pause 2 each one sample), bdwgc and
#                  bdwgc-incr from their collection events (.stw files);
#                  right: the mutator's tick lateness as a complementary CDF
#                  (fraction of 1-ms ticks at least that late), glibc being
#                  the machine's own floor with no collector.
# perf-heap.png    heap size over time from the gctrace of the first pause
#                  run, goheap vs Go: heap at the start of each cycle (X of
#                  X->Y->Z) at its start time, heap at the end of marking (Y)
#                  and bytes marked (Z) at its end time.
set -eu

[ $# -eq 2 ] && [ -d "$1/traces" ] || {
    echo "usage: $0 BENCH_BUILD_DIR OUTPUT_DIR   (after run.sh pause)" >&2
    exit 2
}
traces=$(cd "$1/traces" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cdf FILE...: sorted values with their cumulative fraction (v, i/n) on
# stdout; ccdf: (v, (n-i+1)/n), the fraction at least v.
cdf() { cat "$@" 2>/dev/null | sort -g | awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], i / NR }'; }
ccdf() { cat "$@" 2>/dev/null | sort -g | awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) print v[i], (NR - i + 1) / NR }'; }

# Single pauses of goheap and Go from gctrace: a and c of every cycle.
stw_from_trace() {
    for f in "$@"; do
        [ -f "$f" ] || continue
        sed -n 's/.*: \([0-9.]*\)+[0-9.]*+\([0-9.]*\) ms clock.*/\1\n\2/p' "$f"
    done
}
stw_from_trace "$traces"/pause-goheap-*.trace >"$tmp/stw-goheap.raw"
stw_from_trace "$traces"/pause-go-*.trace >"$tmp/stw-go.raw"
for s in goheap go; do cdf "$tmp/stw-$s.raw" >"$tmp/stw-$s.dat"; done
for s in bdwgc bdwgc-incr; do cdf "$traces"/pause-$s-*.stw >"$tmp/stw-$s.dat"; done
for s in goheap go bdwgc bdwgc-incr glibc; do ccdf "$traces"/pause-$s-*.stalls >"$tmp/stall-$s.dat"; done

# Heap over time, from each cycle of the first run: start time T (@Ts),
# end of mark termination T + (a+b+c) ms, and X->Y->Z MB: columns
# "T X T_end Y Z".
heap() {
    [ -f "$1" ] || return 0
    sed -n 's/^gc [0-9]* @\([0-9.]*\)s [0-9]*%: \([0-9.]*\)+\([0-9.]*\)+\([0-9.]*\) ms clock.* \([0-9]*\)->\([0-9]*\)->\([0-9]*\) MB, .*/\1 \2 \3 \4 \5 \6 \7/p' "$1" |
        awk '{ print $1, $5, $1 + ($2 + $3 + $4) / 1000, $6, $7 }'
}
heap "$traces/pause-goheap-1.trace" >"$tmp/heap-goheap.dat"
heap "$traces/pause-go-1.trace" >"$tmp/heap-go.dat"

# plotline FILE TITLE STYLE: a plot clause, or nothing when FILE is empty.
plotline() { [ -s "$1" ] && printf "'%s' using 1:2 with steps %s title '%s', " "$1" "$3" "$2" || true; }

stwplots=$(plotline "$tmp/stw-goheap.dat" goheap 'lw 2 lc rgb "#1f77b4"')$(plotline "$tmp/stw-go.dat" Go 'lw 2 lc rgb "#2ca02c"')$(plotline "$tmp/stw-bdwgc.dat" bdwgc 'lw 2 lc rgb "#d62728"')$(plotline "$tmp/stw-bdwgc-incr.dat" 'bdwgc-incr' 'lw 2 dt 2 lc rgb "#ff7f0e"')
stallplots=$(plotline "$tmp/stall-goheap.dat" goheap 'lw 2 lc rgb "#1f77b4"')$(plotline "$tmp/stall-go.dat" Go 'lw 2 lc rgb "#2ca02c"')$(plotline "$tmp/stall-bdwgc.dat" bdwgc 'lw 2 lc rgb "#d62728"')$(plotline "$tmp/stall-bdwgc-incr.dat" 'bdwgc-incr' 'lw 2 dt 2 lc rgb "#ff7f0e"')$(plotline "$tmp/stall-glibc.dat" 'glibc (no GC: machine floor)' 'lw 2 dt 3 lc rgb "#555555"')

gnuplot <<EOF
set terminal pngcairo size 1400,560 font "DejaVu Sans,12"
set output '$out/perf-pauses.png'
set multiplot layout 1,2 title "pause workload: ${PAUSE_LIVE_MB:-1024} MiB of live 32-byte nodes, all runs"
set grid
set logscale x
set key bottom right
set xrange [0.001:*]
set xlabel "single stop-the-world pause (ms, log scale)"
set ylabel "fraction of pauses <= x"
set yrange [0:1.02]
set title "Stop-the-world pauses (CDF)"
plot ${stwplots%, }
set key top right
set logscale y
set format y "%g"
set yrange [*:1.2]
set xrange [0.01:*]
set xlabel "lateness of a 1-ms tick seen by the mutator (ms, log scale)"
set ylabel "fraction of ticks at least this late"
set title "Mutator stalls (complementary CDF)"
plot ${stallplots%, }
unset multiplot

set terminal pngcairo size 1000,560 font "DejaVu Sans,12" noenhanced
set output '$out/perf-heap.png'
unset logscale
set grid
set key top left
set xlabel "seconds since start (gctrace @T; a cycle's mark ends at @T + a+b+c)"
set ylabel "MiB"
set xrange [0:*]
set yrange [0:*]
set title "pause workload, first run: heap at cycle start (X), at mark end (Y), marked (Z)"
plot '$tmp/heap-goheap.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title 'goheap X: heap at cycle start', \
     '$tmp/heap-goheap.dat' using 3:4 with points pt 9 ps 1.5 lc rgb "#1f77b4" title 'goheap Y: heap at mark end', \
     '$tmp/heap-goheap.dat' using 3:5 with points pt 4 ps 1.5 lc rgb "#1f77b4" title 'goheap Z: marked', \
     '$tmp/heap-go.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb "#2ca02c" title 'Go X: heap at cycle start', \
     '$tmp/heap-go.dat' using 3:4 with points pt 9 ps 1.5 lc rgb "#2ca02c" title 'Go Y: heap at mark end', \
     '$tmp/heap-go.dat' using 3:5 with points pt 4 ps 1.5 lc rgb "#2ca02c" title 'Go Z: marked'
EOF
echo "plot.sh: wrote $out/perf-pauses.png and $out/perf-heap.png" >&2
