#!/usr/bin/env bash
# Builds the clang "fuzz" preset and runs every *_fuzzer for a bounded time
# on a seed corpus generated at run time (nothing binary is committed).
#
#   bash scripts/fuzz.sh                 # 20 s per fuzzer (CI)
#   TAGINDEX_FULL=1 bash scripts/fuzz.sh # 300 s per fuzzer
#   FUZZ_SECONDS=60 bash scripts/fuzz.sh # any budget
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-}"
if [ -z "$seconds" ]; then
  if [ "${TAGINDEX_FULL:-0}" = "1" ]; then seconds=300; else seconds=20; fi
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j2

build=build/fuzz
work="$build/fuzz-run"
rm -rf "$work"
mkdir -p "$work"
"$build/tests/fuzz/fuzz_seed_corpus" "$work/seeds"

shopt -s nullglob
ran=0
for f in "$build"/tests/fuzz/*_fuzzer; do
  name=$(basename "$f")
  corpus="$work/corpus/$name"
  mkdir -p "$corpus"
  if [ -d "$work/seeds/$name" ]; then cp "$work/seeds/$name"/* "$corpus"/; fi
  echo "-- $name for ${seconds}s"
  # -rss_limit_mb bounds memory: a crafted input that makes us allocate
  # beyond what it justifies is a finding, not a slow run.
  (cd "$work" && "../../../$f" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 "corpus/$name" 2>"$name.log") || {
    echo "fuzz: $name found a problem; see $work/$name.log and $work/crash-*"
    tail -50 "$work/$name.log"
    exit 1
  }
  tail -3 "$work/$name.log"
  ran=$((ran + 1))
done
echo "fuzz: $ran fuzzers ran ${seconds}s each without findings"
