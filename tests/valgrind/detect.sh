#!/bin/sh
# detect.sh VALGRIND EXE — memcheck must see goheap's objects (arena/track.h).
#
# Runs use_after_collect under memcheck for each object kind and checks that
# the wrong read is reported: a use after the sweeper freed the object reads
# "Invalid read ... inside a block of size N free'd"; a read past a tiny
# object into its block's unused tail reads "Invalid read ... alloc'd".
# Exits 77 (skipped) when valgrind is not installed or goheap was built
# without the client requests (-Dvalgrind=disabled).
set -u
vg=$1 exe=$2
if [ "$vg" = "" ] || ! command -v "$vg" >/dev/null 2>&1; then
    echo "valgrind not found: skipped"; exit 77
fi
out=$(mktemp); trap 'rm -f "$out"' EXIT
fail=0
check() { # kind size state
    "$vg" --error-exitcode=99 "$exe" "$1" >"$out" 2>&1
    rc=$?
    if [ $rc -ne 99 ] || ! grep -q "Invalid read of size" "$out" ||
       ! grep -q "inside a block of size $2 $3" "$out"; then
        echo "FAIL $1: want an invalid read of a $2-byte block $3 (valgrind exit $rc):"
        cat "$out"; fail=1
    else
        echo "ok   $1: $(grep -m1 'inside a block' "$out" | sed 's/^==[0-9]*== *//')"
    fi
}
"$vg" -q "$exe" small >"$out" 2>&1
if ! grep -q "Invalid read" "$out" && grep -q "^read " "$out"; then
    # Not an error of this test: goheap was built without GH_VALGRIND.
    echo "no memcheck report at all: built with -Dvalgrind=disabled? skipped"; exit 77
fi
check small 64 "free'd"
check fast 64 "free'd"
check fastscan 64 "free'd"
check large 65,536 "free'd"
check tiny 16 "free'd"
check tail 16 "alloc'd"
exit $fail
