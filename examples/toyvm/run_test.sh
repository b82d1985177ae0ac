#!/bin/sh
# run_test.sh — runs a toyvm program and compares what it prints with the
# expected output. Used by meson's toyvm tests.
#
#   run_test.sh out VM PROGRAM EXPECTED   stdout must equal EXPECTED, status 0
#   run_test.sh err VM PROGRAM EXPECTED   stderr must equal EXPECTED, status 1
#   run_test.sh repl VM INPUT EXPECTED    INPUT fed to the REPL on stdin; stdout
#                                         and stderr, merged, must equal EXPECTED
#
# The program runs in its own directory, so it can open data files next to
# it by relative paths. TOYVM_TEST_NOFILE, when set, is the limit on open
# file descriptors (ulimit -n) the program runs under.
#
# On a mismatch the diff is printed and the status is 1.
set -u
mode=$1 vm=$2 program=$3 expected=$4
abspath() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
vm=$(abspath "$vm") program=$(abspath "$program") expected=$(abspath "$expected")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$(dirname "$program")" || exit 1
if [ -n "${TOYVM_TEST_NOFILE:-}" ]; then
    # The soft limit is the one enforced; valgrind (the 'valgrind' test
    # setup) refuses changes to the hard limit, which it reserves.
    ulimit -Sn "$TOYVM_TEST_NOFILE" || exit 1
fi

if [ "$mode" = repl ]; then
    "$vm" <"$program" >"$tmp/stdout" 2>&1
else
    "$vm" "$program" >"$tmp/stdout" 2>"$tmp/stderr"
fi
status=$?

case $mode in
out | repl) want_status=0 stream=stdout ;;
err) want_status=1 stream=stderr ;;
*) echo "run_test.sh: unknown mode $mode" >&2; exit 2 ;;
esac

if [ "$status" -ne "$want_status" ]; then
    echo "$program: exit status $status, expected $want_status"
    [ -f "$tmp/stderr" ] && { echo "--- stderr:"; cat "$tmp/stderr"; }
    exit 1
fi
if ! diff -u "$expected" "$tmp/$stream"; then
    echo "$program: $stream differs from $expected"
    exit 1
fi
[ "$mode" = out ] && [ -s "$tmp/stderr" ] && { echo "--- stderr:"; cat "$tmp/stderr"; }
exit 0
