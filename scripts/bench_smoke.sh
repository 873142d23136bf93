#!/usr/bin/env bash
# Runs every Google Benchmark binary (and bench/python/*.py against the build
# tree's Python package) once with a tiny time budget and the
# smallest workload, so CI notices a benchmark that crashes or whose
# built-in result check fails, then the peer comparison's smoke
# configuration (counts across systems). Timings from this run mean nothing.
set -euo pipefail
build="${1:-build/default}"
shopt -s nullglob
ran=0
for b in "$build"/bench/*_benchmark; do
  echo "-- $(basename "$b")"
  TAGINDEX_BENCH_SMOKE=1 "$b" --benchmark_min_time=0.001 >/dev/null
  ran=$((ran + 1))
done
# The Python benchmark (bench/python/), against the build tree's package.
package="$build/bindings/python/package"
if [ -d "$package/tagindex" ]; then
  for py in bench/python/*.py; do
    echo "-- $(basename "$py")"
    args=(--smoke)
    # The import benchmark times the built command on a generated CSV.
    if [ "$(basename "$py")" = bench_import.py ]; then
      args=(--cli "$build/src/cli/tagindex" --rows 2000 --repeat 1)
    fi
    TAGINDEX_BENCH_SMOKE=1 PYTHONPATH="$package" /usr/bin/python3 "$py" "${args[@]}" >/dev/null
    ran=$((ran + 1))
  done
fi
# The peer comparison (bench/compare.sh) on a tiny workload: every system
# (CRoaring 4.x, SQLite, PostgreSQL, Redis, DuckDB) must return the same
# counts as tagindex; it exits non-zero on any mismatch. Timings mean nothing.
echo "-- compare.sh --smoke"
bash bench/compare.sh --smoke --attributes --build "$build" > "$build/compare_smoke.log" 2>&1 || {
  tail -60 "$build/compare_smoke.log"
  exit 1
}
tail -1 "$build/compare_smoke.log"
ran=$((ran + 1))
echo "bench smoke: $ran benchmarks ran"
