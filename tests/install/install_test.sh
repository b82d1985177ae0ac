#!/bin/sh
# Proves the install path: installs the built library into a scratch
# DESTDIR, then compiles the C examples against the *installed* header and
# library found through pkg-config (shared, then static), and runs them.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp" --no-rebuild --quiet >/dev/null
pc=$(find "$tmp" -name goheap.pc | head -n 1)
[ -n "$pc" ] || { echo "goheap.pc was not installed"; exit 1; }
# The .pc names the configured prefix; point it at the scratch copy.
prefix=$(sed -n 's/^prefix=//p' "$pc")
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$tmp$prefix|" "$pc" > "$tmp/pc/goheap.pc"
export PKG_CONFIG_PATH="$tmp/pc"
libdir=$(pkg-config --variable=libdir goheap)
[ -f "$(pkg-config --variable=includedir goheap)/goheap.h" ] || { echo "goheap.h not installed"; exit 1; }
cc=${CC:-cc}
for ex in hello list threads finalizers; do
    [ -f "$src/examples/$ex.c" ] || continue
    # Shared library, found at run time through the rpath.
    $cc -std=gnu11 -Wall -Wextra -Werror "$src/examples/$ex.c" -o "$tmp/$ex" \
        $(pkg-config --cflags --libs goheap) -Wl,-rpath,"$libdir"
    "$tmp/$ex" > "$tmp/$ex.out"
    # Static library.
    $cc -std=gnu11 -Wall -Wextra -Werror "$src/examples/$ex.c" -o "$tmp/$ex-static" \
        $(pkg-config --cflags goheap) "$libdir/libgoheap.a" $(pkg-config --static --libs goheap | sed 's/-lgoheap//')
    "$tmp/$ex-static" > "$tmp/$ex-static.out"
    echo "ok: $ex (shared and static, via pkg-config)"
done
