#!/usr/bin/env bash
# The scale benchmark of issue #17 (bench/shard_benchmark.cc): N customers x
# 100 Zipf tags, one unsharded index against the same data in S shards,
# count(A AND B AND NOT C) and a 100-tag profile, on 1 thread, 2 threads and
# every core. Prints Google Benchmark's medians and the peak memory.
#
#   bash bench/scale/run_scale.sh [customers=10000000] [shards=8] [repetitions=9]
#   bash bench/scale/run_scale.sh 100000000 8      # the full size
#   bash bench/scale/run_scale.sh 1000000000 16    # 1 B on a 16-core, 128 GB machine
#
# Memory: both copies (unsharded + sharded) are in memory at once, plus the
# generator's row vectors for one tag; about 2 x 3.3 bytes per customer-tag
# membership at these densities (docs in BENCHMARKS.md). Nothing on disk.
set -euo pipefail
customers="${1:-10000000}"
shards="${2:-8}"
reps="${3:-9}"
build="${BUILD:-build/default}"
bin="$build/bench/shard_benchmark"
[ -x "$bin" ] || { echo "run_scale: build $bin first (cmake --build $build --target shard_benchmark)" >&2; exit 1; }
echo "scale benchmark: $customers customers, $shards shards, $(nproc) cores, $reps repetitions"
TAGINDEX_SCALE_CUSTOMERS="$customers" TAGINDEX_SCALE_SHARDS="$shards" \
  /usr/bin/time -v "$bin" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true 2>&1 \
  | grep -E "scale benchmark|_median|Maximum resident|Elapsed" || true
