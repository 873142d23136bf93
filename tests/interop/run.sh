#!/usr/bin/env bash
# Interop tests against independent Roaring implementations, built or
# installed at test time (ctest: interop.go_roaring, interop.npm_roaring):
#
#   run.sh go   TOOL SCRATCH CACHE   Go Roaring (Debian golang-go +
#                                    golang-github-roaringbitmap-roaring-dev)
#   run.sh node TOOL SCRATCH CACHE   npm `roaring` 2.7.0 (bundles CRoaring 4.5),
#                                    built from source into CACHE on first use
#
# TOOL is tagindex's side (interop_tool). For each seed, both ways:
# tagindex writes random sets and the other implementation reads them; the
# other implementation writes its own random sets and tagindex reads them.
# Every file comes with its set in text, the oracle of the reader; sets with
# long runs must travel as run containers.
#
# Seeds: TAGINDEX_INTEROP_SEEDS (default "1 2 3"; 1..20 with TAGINDEX_FULL=1).
# A missing tool is a skip (exit 77, reason printed) unless
# TAGINDEX_REQUIRE_INTEROP=1 (scripts/test.sh sets it: setup.sh installed them).
set -euo pipefail
impl="$1" tool="$2" scratch="$3" cache="$4"
here="$(cd "$(dirname "$0")" && pwd)"

unavailable() {
  if [ "${TAGINDEX_REQUIRE_INTEROP:-0}" = "1" ]; then
    echo "interop $impl: FAILED: $* (TAGINDEX_REQUIRE_INTEROP=1: scripts/setup.sh installs it)" >&2
    exit 1
  fi
  echo "TAGINDEX_TEST_SKIPPED: interop $impl: $* (bash scripts/setup.sh installs it)"
  exit 77
}

seeds="${TAGINDEX_INTEROP_SEEDS:-}"
if [ -z "$seeds" ]; then
  if [ "${TAGINDEX_FULL:-0}" = "1" ]; then seeds="$(seq 1 20)"; else seeds="1 2 3"; fi
fi
mkdir -p "$scratch" "$cache"

case "$impl" in
  go)
    gopath=/usr/share/gocode
    command -v go > /dev/null || unavailable "no go compiler (Debian golang-go)"
    [ -d "$gopath/src/github.com/RoaringBitmap/roaring" ] \
      || unavailable "no Go Roaring in $gopath (golang-github-roaringbitmap-roaring-dev)"
    other="$scratch/go_interop"
    # Offline, against Debian's sources only; the build cache lives in CACHE.
    GOPATH="$gopath" GO111MODULE=off GOCACHE="$cache/go-build" \
      go build -o "$other" "$here/go/main.go" 2> "$scratch/go-build.log" \
      || { cat "$scratch/go-build.log" >&2; echo "interop go: FAILED: go build" >&2; exit 1; }
    other=("$other")
    ;;
  node)
    command -v node > /dev/null || unavailable "no node"
    command -v npm > /dev/null || unavailable "no npm"
    package="$cache/node/node_modules/roaring/package.json"
    if ! grep -q '"version": "2.7.0"' "$package" 2> /dev/null; then
      echo "interop node: installing npm roaring 2.7.0 into $cache/node (source build, once)"
      mkdir -p "$cache/node"
      # The prebuilt download fails offline; the source build needs Node's headers.
      if ! (cd "$cache/node" && flock "$cache/node.lock" env npm_config_nodedir=/usr \
              npm install --no-audit --no-fund --no-save --loglevel=error --prefix "$cache/node" \
              roaring@2.7.0 > "$scratch/npm-install.log" 2>&1); then
        tail -20 "$scratch/npm-install.log" >&2
        unavailable "npm install roaring@2.7.0 failed (see above)"
      fi
    fi
    export NODE_PATH="$cache/node/node_modules"
    other=(node "$here/node/roaring_interop.js")
    ;;
  *)
    echo "usage: run.sh go|node TOOL SCRATCH CACHE" >&2
    exit 2
    ;;
esac

for seed in $seeds; do
  dir="$scratch/seed-$seed"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "-- $impl, seed $seed (replay: TAGINDEX_INTEROP_SEEDS=$seed)"
  "$tool" write "$dir" tagindex "$seed" || { echo "interop $impl: FAILED, seed $seed" >&2; exit 1; }
  "${other[@]}" read "$dir" tagindex || { echo "interop $impl: FAILED, seed $seed" >&2; exit 1; }
  "${other[@]}" write "$dir" other "$seed" || { echo "interop $impl: FAILED, seed $seed" >&2; exit 1; }
  "$tool" read "$dir" other || { echo "interop $impl: FAILED, seed $seed" >&2; exit 1; }
  rm -rf "$dir"
done
echo "interop $impl: seeds $(echo $seeds | tr '\n' ' ')passed both ways"
