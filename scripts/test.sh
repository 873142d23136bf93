#!/usr/bin/env bash
# Runs the whole tagindex test suite on a fresh machine: installs the Debian
# packages, then builds and tests the default (RelWithDebInfo) and asan
# (ASan + UBSan) presets and the concurrency tests under the tsan preset, checks that the Python package installs with pip
# offline, and smoke-runs every benchmark briefly.
#
#   bash scripts/test.sh           # quick suite (what CI runs)
#   TAGINDEX_FULL=1 bash scripts/test.sh   # long suites too (more seeds, more
#                                          # crash iterations, longer fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

export TAGINDEX_FULL="${TAGINDEX_FULL:-0}"
# setup.sh installed Go Roaring and the machine has npm: the interop tests
# must run here, not skip.
export TAGINDEX_REQUIRE_INTEROP="${TAGINDEX_REQUIRE_INTEROP:-1}"
start=$(date +%s)

echo "== default preset: configure, build, test"
cmake --workflow --preset default

echo "== Python package: pip install . offline in a fresh venv, pytest against it"
bash scripts/python_install_check.sh

echo "== asan preset (ASan + UBSan): configure, build, test"
cmake --workflow --preset asan

echo "== tsan preset (ThreadSanitizer): the concurrency tests only"
cmake --workflow --preset tsan

echo "== benchmark smoke run (correctness of the harness, not timing)"
bash scripts/bench_smoke.sh build/default

echo "== libFuzzer targets (clang fuzz preset), bounded time each"
bash scripts/fuzz.sh

echo "== all test kinds passed in $(( $(date +%s) - start )) s"
