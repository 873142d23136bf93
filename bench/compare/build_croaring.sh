#!/usr/bin/env bash
# Builds bench/compare/compare_croaring.cc against modern CRoaring: the
# CRoaring 4.x sources bundled (amalgamated) in the npm package `roaring`,
# fetched with `npm pack` into WORK/npm-roaring (a cache under the build
# directory; never committed). The binary does not link tagindex or
# Debian's libroaring (their symbols clash). No -march: CRoaring picks its
# AVX2 / AVX-512 kernels at run time.
#
#   bash bench/compare/build_croaring.sh WORK_DIR   -> WORK_DIR/compare_croaring
set -euo pipefail
work="$1"
here="$(cd "$(dirname "$0")" && pwd)"
version="2.7.0"  # npm roaring 2.7.0 bundles CRoaring 4.5.0
cache="$work/npm-roaring"
src="$cache/package/roaring-node.cpp"
mkdir -p "$cache"
if [ ! -f "$src" ]; then
  echo "== compare: npm pack roaring@$version into $cache"
  (cd "$cache" && npm pack --silent "roaring@$version" >/dev/null && tar xzf "roaring-$version.tgz")
fi
out="$work/croaring"
mkdir -p "$out"
if [ ! -f "$out/roaring.o" ] || [ "$src" -nt "$out/roaring.o" ]; then
  echo "== compare: extracting and compiling CRoaring from roaring@$version (about a minute)"
  # The package's single source file is CRoaring's amalgamation wrapped in
  # the Node addon: take the CRoaring headers and sources out of it.
  line() { grep -n -m1 -F "$1" "$src" | cut -d: -f1; }
  h0=$(line '#line 1 "submodules/CRoaring/include/roaring/roaring.h"')
  h1=$(line '#line 8 "src/cpp/croaring.h"')
  s0=$(line '#line 1 "submodules/CRoaring/src/')
  s1=$(line '#line 47 "src/cpp/croaring.cpp"')
  if [ -z "$h0" ] || [ -z "$h1" ] || [ -z "$s0" ] || [ -z "$s1" ]; then
    echo "build_croaring: the layout of roaring-node.cpp changed; cannot extract CRoaring" >&2
    exit 1
  fi
  sed -n "${h0},$((h1 - 1))p" "$src" >"$out/roaring.h"
  { echo '#include "roaring.h"'; sed -n "${s0},$((s1 - 1))p" "$src"; } >"$out/roaring.c"
  gcc -O3 -DNDEBUG -std=c11 -c "$out/roaring.c" -o "$out/roaring.o"
fi
if [ ! -x "$work/compare_croaring" ] || [ "$here/compare_croaring.cc" -nt "$work/compare_croaring" ] ||
   [ "$here/compare_data.h" -nt "$work/compare_croaring" ] || [ "$out/roaring.o" -nt "$work/compare_croaring" ]; then
  g++ -O3 -DNDEBUG -std=c++20 -I"$here" -I"$out" "$here/compare_croaring.cc" "$out/roaring.o" \
    -o "$work/compare_croaring"
fi
