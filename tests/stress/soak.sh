#!/bin/sh
# soak.sh — a long run of the concurrent stress test, not part of any suite.
#
#   tests/stress/soak.sh [-C BUILDDIR] [SECONDS [THREADS [SEED]]]
#
# Runs build/tests/stress/stress_graph at low priority for SECONDS (default
# 1800) with every mark verified (gccheckmark=1) and two background markers,
# printing every 10 s the cycles so far, nodes allocated and verified, the
# heap and the RSS. A corruption aborts with a message; a steadily growing
# RSS with a flat heap is a leak in goheap's own metadata. GOHEAP_DEBUG and
# GOHEAP_MARKERS from the environment replace the defaults.
set -eu
build=build
if [ "${1:-}" = "-C" ]; then build=$2; shift 2; fi
seconds=${1:-1800}
threads=${2:-4}
seed=${3:-$(date +%s)}
echo "soak: $seconds s, $threads threads, seed $seed, $(date)"
start=$(date +%s)
GOHEAP_DEBUG=${GOHEAP_DEBUG:-gccheckmark=1} GOHEAP_MARKERS=${GOHEAP_MARKERS:-2} \
GOHEAP_STRESS_PROGRESS=${GOHEAP_STRESS_PROGRESS:-10} \
    nice -n 10 "$build/tests/stress/stress_graph" "$threads" "$seconds" "$seed"
echo "soak: passed in $(( $(date +%s) - start )) s"
