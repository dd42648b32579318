#!/usr/bin/env bash
# Rebuilds the runtime fixture objects from their C sources:
#
#   test/fixtures/runtime/NAME.bpf.c -> NAME.bpf.o            (every source)
#                                    -> NAME.v3.bpf.o         (V3_FIXTURES, -mcpu=v3)
#                                    -> NAME.btf-twin.bpf.o   (TWIN_FIXTURES, -DTSBPF_BTF_TWIN)
#
# Flags are pinned: clang -O2 -g -target bpf -I/usr/include/<arch>-linux-gnu -c,
# plus -fdebug-prefix-map so the objects do not depend on the checkout path.
# The committed objects were built with Debian's clang 14.0.6; another clang
# gives different (but equivalent) code, so rebuild only when a source changes
# and re-record the kernel goldens afterwards (scripts/record-kernel.ts).
#
#   scripts/build-fixtures.sh            build every fixture
#   scripts/build-fixtures.sh NAME...    build only these (NAME = file name without .bpf.c)
#   CLANG=clang-14 scripts/build-fixtures.sh
set -euo pipefail

CLANG=${CLANG:-clang}
DIR="$(cd "$(dirname "$0")/../test/fixtures/runtime" && pwd)"
ARCH_INC=${ARCH_INC:-/usr/include/$(uname -m)-linux-gnu}
CFLAGS=(-O2 -g -target bpf "-I$ARCH_INC" -Wall -Wno-unused-function "-fdebug-prefix-map=$DIR=.")

# Sources that are also built for the v3 ISA (ALU32 and JMP32 instructions).
# clang 14 has no -mcpu=v4.
V3_FIXTURES="array_basic subprogs global_data bpf_loop"
# Sources with legacy SEC("maps") definitions: libbpf >= 1.0 refuses them, so a
# twin with BTF-defined maps is built for the kernel recording.
TWIN_FIXTURES="legacy_maps"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "build-fixtures: '$CLANG' not found; install clang (Debian: apt-get install clang llvm libbpf-dev)" >&2
	echo "build-fixtures: or set CLANG=/path/to/clang. The committed objects were left unchanged." >&2
	exit 1
fi
if ! "$CLANG" -print-targets 2>/dev/null | grep -qw bpf; then
	echo "build-fixtures: $CLANG has no BPF target" >&2
	exit 1
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
	echo "build-fixtures: /usr/include/bpf/bpf_helpers.h missing (Debian: apt-get install libbpf-dev)" >&2
	exit 1
fi
if [ ! -d "$ARCH_INC" ]; then
	echo "build-fixtures: $ARCH_INC missing (needed for <asm/types.h>); set ARCH_INC" >&2
	exit 1
fi
version=$("$CLANG" --version | head -n1)
case "$version" in
*"clang version 14."*) ;;
*) echo "build-fixtures: warning: the committed objects come from clang 14.0.6, this is: $version" >&2 ;;
esac

cd "$DIR"
if [ $# -gt 0 ]; then
	names=("$@")
else
	names=()
	for src in *.bpf.c; do names+=("${src%.bpf.c}"); done
fi

has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; }

built=0
for name in "${names[@]}"; do
	src="$name.bpf.c"
	[ -f "$src" ] || { echo "build-fixtures: no such source: $DIR/$src" >&2; exit 1; }
	"$CLANG" "${CFLAGS[@]}" -c "$src" -o "$name.bpf.o"
	echo "  CC  $name.bpf.o"
	built=$((built + 1))
	if has "$V3_FIXTURES" "$name"; then
		"$CLANG" "${CFLAGS[@]}" -mcpu=v3 -c "$src" -o "$name.v3.bpf.o"
		echo "  CC  $name.v3.bpf.o (-mcpu=v3)"
		built=$((built + 1))
	fi
	if has "$TWIN_FIXTURES" "$name"; then
		"$CLANG" "${CFLAGS[@]}" -DTSBPF_BTF_TWIN -c "$src" -o "$name.btf-twin.bpf.o"
		echo "  CC  $name.btf-twin.bpf.o (-DTSBPF_BTF_TWIN, for the kernel recording)"
		built=$((built + 1))
	fi
done
echo "build-fixtures: $built objects in $DIR"
