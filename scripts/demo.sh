#!/usr/bin/env bash
# The main job: installs what is needed, builds the `tagindex` command, and
# runs `tagindex demo`: a synthetic shop of 1 M customers with Chinese tags
# (基本信息类 / 交易行为类 / 兴趣爱好类 / 忠诚度类), then a dozen segment
# queries, each printed with its count and time. Extra arguments go to the
# demo (e.g. --customers 10000000, --dir ./shop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake --preset default >/dev/null
cmake --build --preset default --target tagindex_cli
./build/default/src/cli/tagindex demo "$@"
