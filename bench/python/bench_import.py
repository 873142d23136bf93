"""CSV import throughput: `tagindex import` (parse to durable index) beside
pandas.read_csv of the same file, in the same run, medians of repeated runs.

    /usr/bin/python3 bench/python/bench_import.py --cli build/default/src/cli/tagindex \
        --rows 1000000 --repeat 5

The file is generated (fixed seed) in a temporary directory: 10 columns of a
CRM export with Chinese headers and values — an int64 key, three categorical
columns (exclusive categories), four 0/1 tag columns, a multi-value interest
column ("电子产品|运动") and a free-text column that is sometimes quoted with
embedded commas. Timed, interleaved per repetition:

  pandas      pandas.read_csv(path) alone (C engine, default dtypes)
  pandas+str  pandas.read_csv with the tag columns as str (closer to the work
              the importer does, which must look at every cell)
  tagindex    `tagindex import DIR FILE ...` into a fresh directory, process
              start to exit: parse, validate, build, save (fsync'd); a new
              index is built in memory and written once as a snapshot
  tagindex (existing index)
              the same into a directory that already holds an (empty) index:
              every batch goes through its log, then a checkpoint
  tagindex (1 thread)
              the fresh import with --threads 1 (no committer thread)
  python      tagindex.Index.import_csv into an in-memory index (if the
              package is importable)
  duckdb      DuckDB read_csv via node @duckdb/node-api (with --duckdb-node DIR
              holding node_modules/@duckdb/node-api)

Prints a table of medians and ratios against pandas.read_csv, and rows/s and
tag assignments/s of the import. The machine may be shared: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆"]
TIERS = ["普通会员", "银卡会员", "金卡会员", "钻石会员"]
INTERESTS = ["电子产品", "运动", "美妆护肤", "母婴用品", "图书音像", "户外旅行"]


def generate(path: str, rows: int, seed: int) -> int:
    """Writes the CSV; returns the number of tag assignments it holds."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(np.array(["男", "女", ""]), size=rows, p=[0.48, 0.5, 0.02])
    city = rng.choice(np.array(CITIES), size=rows)
    tier = rng.choice(np.array(TIERS), size=rows, p=[0.7, 0.18, 0.09, 0.03])
    flags = (rng.random((rows, 4)) < np.array([0.1, 0.15, 0.12, 0.08])).astype(np.int8)
    interest_mask = rng.random((rows, len(INTERESTS))) < 0.15
    combos = {}
    assignments = int(flags.sum()) + int(interest_mask.sum())
    assignments += int((gender != "").sum()) + rows * 2
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("客户ID,性别,城市,会员等级,高价值客户,高频购买者,流失风险,新客户,兴趣,备注\n")
        lines = []
        for i in range(rows):
            bits = interest_mask[i]
            key = bits.tobytes()
            cell = combos.get(key)
            if cell is None:
                cell = "|".join(n for n, b in zip(INTERESTS, bits) if b)
                combos[key] = cell
            fl = flags[i]
            note = '"备注,含逗号"' if i % 7 == 0 else "无"
            lines.append(f"{10000001 + i},{gender[i]},{city[i]},{tier[i]},{fl[0]},{fl[1]},"
                         f"{fl[2]},{fl[3]},{cell},{note}\n")
            if len(lines) >= 100000:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))
    return assignments


MAPPING = ["--key", "客户ID", "--key-kind", "int64", "--category", "性别", "--category", "城市",
           "--category", "会员等级", "--tag", "高价值客户", "--tag", "高频购买者", "--tag",
           "流失风险", "--tag", "新客户", "--multi", "兴趣=兴趣爱好类", "--separator", "|"]


def time_pandas(path: str, as_str: bool) -> float:
    import pandas as pd
    start = time.perf_counter()
    if as_str:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_csv(path)
    elapsed = time.perf_counter() - start
    assert len(frame) > 0
    return elapsed


def time_cli(cli: str, path: str, workdir: str, existing: bool = False,
             extra: tuple = ()) -> tuple[float, dict]:
    target = os.path.join(workdir, "idx")
    shutil.rmtree(target, ignore_errors=True)
    if existing:
        # An empty index (the header alone), not timed.
        header = os.path.join(workdir, "header.csv")
        with open(path, encoding="utf-8") as src, open(header, "w", encoding="utf-8") as dst:
            dst.write(src.readline())
        subprocess.run([cli, "import", target, header, *MAPPING, "--no-progress"], check=True,
                       capture_output=True)
    start = time.perf_counter()
    out = subprocess.run([cli, "import", target, path, *MAPPING, "--json", "--no-progress",
                          *extra], check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(out.stdout)


def time_python(path: str):
    try:
        import tagindex
    except ImportError:
        return None
    if not hasattr(tagindex.Index, "import_csv"):
        return None
    index = tagindex.Index()
    start = time.perf_counter()
    report = index.import_csv(path, key="客户ID", key_kind="int64",
                              categories=["性别", "城市", "会员等级"],
                              tags=["高价值客户", "高频购买者", "流失风险", "新客户"],
                              multi={"兴趣": "兴趣爱好类"}, separator="|")
    elapsed = time.perf_counter() - start
    assert report.rows_rejected == 0
    return elapsed


DUCKDB_JS = r"""
const { DuckDBInstance } = require('@duckdb/node-api');
(async () => {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const t0 = process.hrtime.bigint();
  await c.run(`CREATE TABLE t AS SELECT * FROM read_csv('${process.argv[2]}', header=true)`);
  const t1 = process.hrtime.bigint();
  const r = await c.runAndReadAll('SELECT count(*) FROM t');
  console.log(JSON.stringify({seconds: Number(t1 - t0) / 1e9, rows: Number(r.getRows()[0][0])}));
})();
"""


def time_duckdb(node_dir: str, path: str):
    node_dir = os.path.abspath(node_dir)  # node runs with node_dir as its cwd
    script = os.path.join(node_dir, "bench_read_csv.js")
    with open(script, "w") as f:
        f.write(DUCKDB_JS)
    out = subprocess.run(["node", script, path], check=True, capture_output=True, text=True,
                         cwd=node_dir)
    return json.loads(out.stdout)["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True, help="the built tagindex binary")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--duckdb-node", default="", help="dir with node_modules/@duckdb/node-api")
    parser.add_argument("--quick", action="store_true",
                        help="only the fresh-directory import beside pandas (no logged or "
                             "one-thread variants)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="tagindex_bench_import_")
    try:
        path = os.path.join(workdir, "customers.csv")
        t0 = time.perf_counter()
        assignments = generate(path, args.rows, args.seed)
        size = os.path.getsize(path)
        print(f"generated {args.rows:,} rows, {size / 1e6:.1f} MB, {assignments:,} tag "
              f"assignments in {time.perf_counter() - t0:.1f} s (seed {args.seed})",
              file=sys.stderr)
        times = {"pandas.read_csv": [], "pandas.read_csv(dtype=str)": [],
                 "tagindex import (CLI, durable)": [],
                 "tagindex import (CLI, durable, existing index: logged)": [],
                 "tagindex import (CLI, durable, --threads 1)": [],
                 "Index.import_csv (Python, memory)": [],
                 "duckdb read_csv": []}
        report = None
        load_before = os.getloadavg()
        for r in range(args.repeat):
            times["pandas.read_csv"].append(time_pandas(path, False))
            times["pandas.read_csv(dtype=str)"].append(time_pandas(path, True))
            elapsed, report = time_cli(args.cli, path, workdir)
            times["tagindex import (CLI, durable)"].append(elapsed)
            if not args.quick:
                times["tagindex import (CLI, durable, existing index: logged)"].append(
                    time_cli(args.cli, path, workdir, existing=True)[0])
                times["tagindex import (CLI, durable, --threads 1)"].append(
                    time_cli(args.cli, path, workdir, extra=("--threads", "1"))[0])
            py = time_python(path)
            if py is not None:
                times["Index.import_csv (Python, memory)"].append(py)
            if args.duckdb_node:
                times["duckdb read_csv"].append(time_duckdb(args.duckdb_node, path))
            print(f"repetition {r + 1}/{args.repeat} done", file=sys.stderr)
        base = statistics.median(times["pandas.read_csv"])
        load_after = os.getloadavg()
        print(f"\n{args.rows:,} rows, {size / 1e6:.1f} MB, medians of {args.repeat} "
              f"interleaved runs; load average (1/5/15 min) before "
              f"{'/'.join(f'{x:.2f}' for x in load_before)}, after "
              f"{'/'.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} CPUs")
        print(f"| what | median | ÷ pandas.read_csv | rows/s | tag assignments/s |")
        print(f"| --- | ---: | ---: | ---: | ---: |")
        for name, values in times.items():
            if not values:
                continue
            m = statistics.median(values)
            tag_rate = (f"{report['tag_assignments'] / m:,.0f}"
                        if name.startswith(("tagindex", "Index")) else "")
            print(f"| {name} | {m:.3f} s | {m / base:.2f}× | {args.rows / m:,.0f} | {tag_rate} |")
        print(f"\nimport report (last run): {json.dumps(report, ensure_ascii=False)}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
