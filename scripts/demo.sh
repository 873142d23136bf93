#!/usr/bin/env bash
# The main job: installs what is needed, builds, and runs the example that
# builds a small index of customers with Chinese tag names and prints
# segment counts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake --preset default >/dev/null
cmake --build --preset default --target segment_counts
./build/default/examples/segment_counts
