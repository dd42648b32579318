#!/bin/sh
# Rebuilds the object-loader fixtures (test/fixtures/loader/*.c -> *.o) with the
# pinned flags. Tests use the committed objects, so `npm test` needs no clang.
# Big-endian sources (big_endian.c) are built with -target bpfeb.
set -eu
cd "$(dirname "$0")/../test/fixtures/loader"
CLANG=${CLANG:-clang}
FLAGS="-O2 -g -I/usr/include/x86_64-linux-gnu"
for src in *.c; do
	obj="${src%.c}.o"
	target=bpf
	case "$src" in
	big_endian.c) target=bpfeb ;;
	esac
	echo "  CC $obj ($target)"
	$CLANG $FLAGS -target "$target" -c "$src" -o "$obj"
done
