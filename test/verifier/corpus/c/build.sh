#!/usr/bin/env bash
# Rebuilds the verifier corpus's C cases: NAME.bpf.c -> NAME.bpf.o.
#
# Flags are pinned as for the runtime fixtures: clang -O2 -g -target bpf
# -I/usr/include/<arch>-linux-gnu, plus -fdebug-prefix-map so the objects do not
# depend on the checkout path. The committed objects come from Debian's clang
# 14.0.6; after rebuilding, re-record the goldens:
#
#   test/verifier/corpus/c/build.sh [NAME...]
#   npx tsx scripts/record-verifier-corpus.ts
set -euo pipefail

CLANG=${CLANG:-clang}
DIR="$(cd "$(dirname "$0")" && pwd)"
ARCH_INC=${ARCH_INC:-/usr/include/$(uname -m)-linux-gnu}
CFLAGS=(-O2 -g -target bpf "-I$ARCH_INC" -Wall -Wno-unused-function "-fdebug-prefix-map=$DIR=.")

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "build.sh: '$CLANG' not found (Debian: apt-get install clang llvm libbpf-dev); objects left unchanged" >&2
	exit 1
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
	echo "build.sh: /usr/include/bpf/bpf_helpers.h missing (Debian: apt-get install libbpf-dev)" >&2
	exit 1
fi
version=$("$CLANG" --version | head -n1)
case "$version" in
*"clang version 14."*) ;;
*) echo "build.sh: warning: the committed objects come from clang 14.0.6, this is: $version" >&2 ;;
esac

cd "$DIR"
if [ $# -gt 0 ]; then names=("$@"); else names=(); for s in *.bpf.c; do names+=("${s%.bpf.c}"); done; fi
for name in "${names[@]}"; do
	"$CLANG" "${CFLAGS[@]}" -c "$name.bpf.c" -o "$name.bpf.o"
	echo "  CC  $name.bpf.o"
done
