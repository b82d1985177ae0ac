#!/bin/sh
# Regenerates the PNG diagrams of docs/ from their Graphviz sources.
# Needs Graphviz's `dot` (Debian: apt-get install graphviz).
# Usage: docs/images/make-diagrams.sh   (from any directory)
set -eu
cd "$(dirname "$0")"
command -v dot >/dev/null 2>&1 || { echo "make-diagrams.sh: graphviz 'dot' not found" >&2; exit 1; }
for src in *.dot; do
    out="${src%.dot}.png"
    dot -Tpng -Gdpi=110 "$src" -o "$out"
    echo "wrote docs/images/$out"
done
