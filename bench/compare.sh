#!/usr/bin/env bash
# One command for the peer comparison of BENCHMARKS.md: tagindex against
# modern CRoaring, SQLite, PostgreSQL 15, Redis 7 and DuckDB on the same
# generated data, the same queries, in the same run.
#
#   bench/compare.sh                                  # 1 M customers x 200 tags, all systems
#   bench/compare.sh --customers 10000000 --tags 1000 --subset queried
#   bench/compare.sh --only croaring --customers 10000000 --tags 1000
#   bench/compare.sh --smoke                          # tiny; checks counts only (CI)
#   bench/compare.sh --real                           # + the Roaring papers' real datasets
#   bench/compare.sh --attributes --layouts uniform   # + attribute ranges and sums
#
# Options (all optional):
#   --customers N     customers (default 1000000)
#   --tags T          tags, Zipf popularity (default 200)
#   --layouts L,..    uniform,cohort,mixed (default all three)
#   --only S,..       peers to run besides tagindex: croaring,sqlite,postgres,
#                     postgres_gin,duckdb,redis (default all)
#   --subset S        all | queried: SQL peers load only the tags the queries
#                     name (sensible at 10 M; reported in the results)
#   --attributes      also the attribute shapes (range count, range AND tag, sum
#                     over a tag) on three columns of 7, 20 and 32 bits, for
#                     tagindex, a plain column scan, SQLite, PostgreSQL and
#                     DuckDB, on the first layout's data
#   --real            also the real datasets (tagindex and CRoaring only), from
#                     ../shared/testdata/real-roaring or $TAGINDEX_TESTDATA/real-roaring
#   --reps N          minimum timed repetitions per query (default 7)
#   --budget S        seconds per query and system beyond the minimum (default 0.3)
#   --name NAME       results file bench/results/NAME.json (+ NAME_*.png)
#   --build DIR       CMake build directory (default build/default)
#   --before BIN      also run BIN, a compare_tagindex built from an earlier
#                     commit, in the same run (column tagindex_before)
#   --smoke           20,000 x 70, one repetition, no results written
# Servers (PostgreSQL, Redis) are started on free loopback ports in a
# temporary directory and stopped on exit, whatever happens. npm packages
# are installed into DIR/compare/npm (a cache; never committed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

build="build/default"
only="croaring,sqlite,postgres,postgres_gin,duckdb,redis"
args=()
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --only) only="$2"; args+=("$1" "$2"); shift 2 ;;
    --smoke) smoke=1; args+=("$1"); shift ;;
    --real|--attributes) args+=("$1"); shift ;;
    --customers|--tags|--layouts|--subset|--reps|--budget|--name) args+=("$1" "$2"); shift 2 ;;
    --before) args+=("$1" "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {print}' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
wants() { [[ ",$only," == *",$1,"* ]]; }

work="$root/$build/compare"
mkdir -p "$work"
PY=/usr/bin/python3

echo "== compare: building the runners in $build"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset default >/dev/null
fi
targets=(compare_gen compare_tagindex)
if wants sqlite || wants postgres || wants postgres_gin || wants redis; then
  targets+=(compare_peers)
fi
cmake --build "$build" -j2 --target "${targets[@]}" >/dev/null

if wants croaring; then
  bash "$root/bench/compare/build_croaring.sh" "$work"
fi
if wants duckdb; then
  npm_dir="$work/npm"
  mkdir -p "$npm_dir"
  if [ ! -d "$npm_dir/node_modules/@duckdb/node-api" ]; then
    echo "== compare: npm install @duckdb/node-api into $npm_dir"
    (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error \
       "@duckdb/node-api@1.5.6-r.1" >/dev/null)
  fi
  # ESM imports resolve next to the script: run a copy inside the cache.
  cp "$root/bench/compare/compare_duckdb.mjs" "$npm_dir/"
fi

# ---- servers on loopback, stopped on exit -------------------------------------
tmp="$(mktemp -d /tmp/tagindex-compare.XXXXXX)"
chmod 755 "$tmp"
pg_port="" redis_port=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbin=/usr/lib/postgresql/15/bin
cleanup() {
  set +e
  if [ -n "$redis_port" ]; then redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1; fi
  if [ -n "$pg_port" ] && [ -f "$tmp/pg/postmaster.pid" ]; then
    (cd /tmp && as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast -w stop >/dev/null 2>&1)
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if wants postgres || wants postgres_gin; then
  pg_port="$(free_port)"
  mkdir -p "$tmp/pg"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$tmp/pg"; fi
  (cd /tmp && as_pg "$pgbin/initdb" -D "$tmp/pg" -A trust -U postgres >"$tmp/initdb.log" 2>&1) ||
    { cat "$tmp/initdb.log"; exit 1; }
  # Settings of the PostgreSQL docs' tuning advice for a dedicated machine
  # (shared_buffers ~25% of RAM, capped as the machine is shared; work_mem
  # for hash set operations; no durability cost: this is a benchmark).
  (cd /tmp && as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg/server.log" -w -o \
    "-p $pg_port -k $tmp/pg -c listen_addresses=127.0.0.1 -c shared_buffers=2GB \
     -c work_mem=256MB -c maintenance_work_mem=1GB -c effective_cache_size=8GB \
     -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
     -c random_page_cost=1.1 -c max_wal_size=8GB" start >/dev/null) ||
    { cat "$tmp/pg/server.log"; exit 1; }
  echo "== compare: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
fi
if wants redis; then
  redis_port="$(free_port)"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --daemonize yes --pidfile "$tmp/redis.pid" --dir "$tmp" --logfile "$tmp/redis.log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== compare: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$redis_port"
fi

"$PY" "$root/bench/compare/compare.py" --root "$root" --work "$work" \
  --pg-port "${pg_port:-0}" --redis-port "${redis_port:-0}" "${args[@]}"
