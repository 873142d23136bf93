#!/usr/bin/env bash
# Installs every Debian package tagindex needs to build, test and benchmark.
# Idempotent and non-interactive; safe to run on a fresh machine or again.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev clang-format
  libroaring-dev libabsl-dev libxxhash-dev catch2 libcli11-dev
  libbenchmark-dev libedit-dev unzip xz-utils
  pybind11-dev python3-dev python3-pybind11 python3-pytest python3-numpy python3-pandas
  python3-venv python3-pip python3-setuptools python3-wheel
  libsqlite3-dev sqlite3 postgresql libpq-dev redis-server redis-tools libhiredis-dev
  python3-psycopg2 python3-redis
  # tagindex.dask: shard queries on Dask distributed workers (tests/python).
  python3-distributed
  # Interop tests (tests/interop): Go Roaring, an independent implementation
  # of the portable format. The npm `roaring` package is installed by the test
  # itself into the build tree (node and npm come with the machine).
  golang-go golang-github-roaringbitmap-roaring-dev
  # bench/compare.sh: charts with Chinese labels (Node and npm, for DuckDB
  # and the CRoaring 4.x sources, come with the machine; see ENVIRONMENT.md).
  python3-matplotlib fonts-wqy-microhei
  # Segment analytics charts (profile / cooccurrence / crosstab .plot()):
  # matplotlib (optional at run time) and a CJK font for Chinese tag names.
  fonts-noto-cjk
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
