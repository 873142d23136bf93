#!/usr/bin/python3
"""Driver of bench/compare.sh (which builds the runners and starts the servers).

For each workload it writes the data once (compare_gen), writes the queries,
runs every system's runner on them, checks that every system returned the
same count (and, for materialised results, the same id checksum) as
tagindex, prints tables of medians with ratios to tagindex, and writes
bench/results/NAME.json and charts. A mismatch, or a runner that fails,
makes the run exit non-zero (after writing what it has).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile

SYSTEMS = ["tagindex", "tagindex_before", "scan", "croaring", "sqlite", "postgres", "postgres_gin", "duckdb", "redis"]
# Attribute columns of compare_gen attrs (PERFORMANCE.md: 7, 20 and 32 bits).
ATTR_COLUMNS = ["age", "spend", "ts"]
REAL = ["census-income", "census-income_srt", "census1881", "census1881_srt",
        "weather_sept_85.PARTIAL-192of200", "weather_sept_85_srt.PARTIAL-192of200"]
# Published bits per value after run optimisation (Chambi et al. 2016; see
# ../shared/testdata/README.md). The weather sets here are incomplete.
PUBLISHED_BPV = {"census-income": 2.60, "census-income_srt": 0.60, "census1881": 15.08,
                 "census1881_srt": 2.16}
PUBLISHED_PLAIN_BPV = {"census-income": 2.74, "census-income_srt": 2.99, "census1881": 15.97,
                       "census1881_srt": 6.09}


def log(msg):
    print(msg, flush=True)


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--pg-port", type=int, default=0)
    p.add_argument("--redis-port", type=int, default=0)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--tags", type=int, default=200)
    p.add_argument("--layouts", default="uniform,cohort,mixed")
    p.add_argument("--only", default="croaring,sqlite,postgres,postgres_gin,duckdb,redis")
    p.add_argument("--subset", default="all", choices=["all", "queried"])
    p.add_argument("--real", action="store_true")
    p.add_argument("--attributes", action="store_true")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--budget", type=float, default=0.3)
    p.add_argument("--name", default="")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--before", default="", help="a compare_tagindex built from an earlier commit")
    a = p.parse_args()
    if a.smoke:
        a.customers, a.tags, a.reps, a.budget = min(a.customers, 20_000), min(a.tags, 70), 1, 0.0
    a.peers = [s for s in a.only.split(",") if s]
    for s in a.peers:
        if s not in SYSTEMS[3:]:
            sys.exit(f"compare: unknown system {s!r} in --only (one of {', '.join(SYSTEMS[3:])})")
    return a


# ---- workloads and queries ---------------------------------------------------------

def synth_queries(tags):
    """Shapes x popularity buckets. Tags are consecutive popularity ranks
    from the start of the bucket (head: the most popular tags, mid: from
    rank T/10, tail: the least popular tags)."""
    shapes = [("and2", "and2", 2), ("andnot3", "andnot3", 3), ("mat3", "mat3", 3),
              ("andor8", "andor", 9), ("andor64", "andor", 65), ("and5", "andall", 5)]
    out = []
    for label, shape, m in shapes:
        if m > tags:
            continue
        for bucket in ("head", "mid", "tail"):
            start = {"head": 0, "mid": min(tags // 10, tags - m), "tail": tags - m}[bucket]
            ranks = list(range(start, start + m))
            out.append((f"{label}_{bucket}", shape, bucket, ranks))
    return out


def real_queries(tags):
    allt = list(range(tags))
    return [("pairs_and", "pairs_and", "all", allt), ("pairs_or", "pairs_or", "all", allt),
            ("pairs_andcount", "pairs_andcount", "all", allt), ("wide_or", "wide_or", "all", allt)]


def attr_queries(tags):
    """Shape 6 of PERFORMANCE.md: range counts alone and with a tag, and the
    sum of a column over a tag's customers, for each column; tags from the
    head (rank 0) and mid (rank T/10) buckets. Ranges select about 12 %, 15 %
    and 12.5 % of the values (age uniform 18..97, spend (2^20-1)·u^3, ts
    uniform 32-bit)."""
    ranges = {"age": (30, 39), "spend": (1 << 14, 1 << 16), "ts": (1 << 31, (1 << 31) + (1 << 29))}
    buckets = {"head": 0, "mid": min(tags // 10, tags - 1)}
    out = []
    for col in ATTR_COLUMNS:
        lo, hi = ranges[col]
        out.append((f"range_{col}", "range", "all", [], col, lo, hi))
    for col in ATTR_COLUMNS:
        lo, hi = ranges[col]
        for b, t in buckets.items():
            out.append((f"range_tag_{col}_{b}", "range_tag", b, [t], col, lo, hi))
    for col in ATTR_COLUMNS:
        for b, t in buckets.items():
            out.append((f"sum_tag_{col}_{b}", "sum_tag", b, [t], col, 0, 0))
    return out


def write_attr_queries(path, queries):
    with open(path, "w") as f:
        for name, shape, bucket, ranks, col, lo, hi in queries:
            tag = str(ranks[0]) if ranks else ""
            f.write(f"{name}\t{shape}\t{bucket}\t{tag}\t{col}\t{lo}\t{hi}\n")


def attr_oracle(wl):
    """Counts (and sums) of the attribute queries by numpy over attrs.bin."""
    import numpy as np
    raw = open(os.path.join(wl["dir"], "attrs.bin"), "rb").read()
    customers = int.from_bytes(raw[8:12], "little")
    ncols = int.from_bytes(raw[12:16], "little")
    pos, cols = 16, {}
    for _ in range(ncols):
        n = raw[pos]
        name = raw[pos + 1:pos + 1 + n].decode()
        pos += 2 + n
        values = np.frombuffer(raw, dtype=np.int64, count=customers, offset=pos)
        pos += 8 * customers
        present = np.frombuffer(raw, dtype=np.uint8, count=customers, offset=pos).astype(bool)
        pos += customers
        cols[name] = (values, present)
    tags = load_tags(wl["dir"])
    out = {}
    for name, shape, _, ranks, col, lo, hi in wl["attr_queries"]:
        values, present = cols[col]
        if shape == "range":
            out[name] = (int((present & (values >= lo) & (values <= hi)).sum()), 0)
            continue
        rows = tags[ranks[0]]
        v, p = values[rows], present[rows]
        if shape == "range_tag":
            out[name] = (int((p & (v >= lo) & (v <= hi)).sum()), 0)
        else:
            out[name] = (int(p.sum()), int(v[p].astype(object).sum()) % (1 << 64))
    return out


def write_queries(path, queries):
    with open(path, "w") as f:
        for name, shape, bucket, ranks in queries:
            f.write(f"{name}\t{shape}\t{bucket}\t{','.join(map(str, ranks))}\n")


def read_tags_tsv(path):
    out = []
    with open(path) as f:
        for line in f:
            t, n, d = line.split("\t")
            out.append((int(t), int(n), float(d)))
    return out


def extract_real(root, work, name):
    testdata = os.environ.get("TAGINDEX_TESTDATA") or os.path.join(os.path.dirname(root), "shared",
                                                                   "testdata")
    src_dir = os.path.join(testdata, "real-roaring")
    dest = os.path.join(work, "real", name)
    if os.path.isdir(dest) and os.listdir(dest):
        return dest
    os.makedirs(dest, exist_ok=True)
    zip_path = os.path.join(src_dir, name + ".zip")
    tar_path = os.path.join(src_dir, name + ".tar.xz")
    if os.path.exists(zip_path):
        with zipfile.ZipFile(zip_path) as z:
            for m in z.namelist():
                if m.endswith(".txt"):
                    with open(os.path.join(dest, os.path.basename(m)), "wb") as f:
                        f.write(z.read(m))
    elif os.path.exists(tar_path):
        with tarfile.open(tar_path) as t:
            for m in t.getmembers():
                if m.isfile() and m.name.endswith(".txt"):
                    with open(os.path.join(dest, os.path.basename(m.name)), "wb") as f:
                        f.write(t.extractfile(m).read())
    else:
        shutil.rmtree(dest)
        return None
    return dest


def load_tags(d, with_customers=False):
    """tags.bin as a list of numpy id arrays (and the customer count)."""
    import numpy as np
    raw = np.fromfile(os.path.join(d, "tags.bin"), dtype=np.uint32, offset=8)
    customers, ntags = int(raw[0]), int(raw[1])
    tags, pos = [], 2
    for _ in range(ntags):
        n = int(raw[pos])
        tags.append(raw[pos + 1:pos + 1 + n])
        pos += 1 + n
    return (customers, tags) if with_customers else tags


def oracle(wl):
    """Counts (and id checksums for mat3) of every query by a plain numpy
    evaluation of tags.bin: boolean arrays for the synthetic shapes, sorted
    set operations for the real-data ones. Not timed; every system must
    agree with it too."""
    import numpy as np
    customers, tags = load_tags(wl["dir"], with_customers=True)

    def mask(t):
        m = np.zeros(customers, dtype=bool)
        m[tags[t]] = True
        return m
    out = {}
    for name, shape, _, ranks in wl["queries"]:
        checksum = 0
        if shape in ("and2", "andall"):
            m = mask(ranks[0])
            for t in ranks[1:]:
                m &= mask(t)
            count = int(m.sum())
        elif shape in ("andnot3", "mat3"):
            m = mask(ranks[0]) & mask(ranks[1]) & ~mask(ranks[2])
            count = int(m.sum())
            if shape == "mat3":
                checksum = int(np.flatnonzero(m).sum())
        elif shape == "andor":
            u = np.zeros(customers, dtype=bool)
            for t in ranks[1:]:
                u |= mask(t)
            count = int((mask(ranks[0]) & u).sum())
        elif shape in ("pairs_and", "pairs_andcount", "pairs_or"):
            count = 0
            for x, y in zip(ranks, ranks[1:]):
                both = len(np.intersect1d(tags[x], tags[y], assume_unique=True))
                count += both if shape != "pairs_or" else len(tags[x]) + len(tags[y]) - both
        elif shape == "wide_or":
            count = len(np.unique(np.concatenate([tags[t] for t in ranks])))
        else:
            raise ValueError(shape)
        out[name] = (count, checksum)
    return out


# ---- running the systems ------------------------------------------------------------

def run_runner(cmd, label, env=None):
    log(f"   {label}: {' '.join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))}")
    t0 = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    records = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            records.append(json.loads(line))
    if proc.returncode != 0:
        log(f"   {label} FAILED (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        return records, False
    log(f"   {label}: {len(records)} records in {time.time() - t0:.1f} s")
    return records, True


def run_workload(a, build, wl):
    """wl: dict(name, dir, queries, systems, subset). Returns the result dict."""
    data, queries_path, work = (os.path.join(wl["dir"], "tags.bin"),
                                os.path.join(wl["dir"], "queries.tsv"), wl["dir"])
    common = [data, queries_path, "--reps", str(a.reps), "--budget", str(a.budget)]
    records, ok = [], True
    sub = ["--subset", wl["subset"]]
    attrs = []
    if wl.get("attr_queries"):
        attrs = ["--attrs", os.path.join(wl["dir"], "attrs.bin"), "--attr-queries",
                 os.path.join(wl["dir"], "attr_queries.tsv")]
    plan = [("tagindex", [os.path.join(build, "bench", "compare_tagindex")] + common +
             ["--work", work] + attrs)]
    if a.before:
        # The same runner built from an earlier commit, in the same run: its
        # records are relabelled tagindex_before (before/after of one change).
        plan.append(("tagindex_before", [a.before] + common + ["--work", work] + attrs))
    peers = wl["systems"]
    if "croaring" in peers:
        plan.append(("croaring", [os.path.join(a.work, "compare_croaring")] + common))
    if "sqlite" in peers:
        plan.append(("sqlite", [os.path.join(build, "bench", "compare_peers"), "sqlite"] + common +
                     ["--work", work] + sub + attrs))
    if "postgres" in peers or "postgres_gin" in peers:
        plan.append(("postgres", [os.path.join(build, "bench", "compare_peers"), "postgres"] +
                     common + ["--port", str(a.pg_port)] + sub + attrs))
    if "redis" in peers:
        plan.append(("redis", [os.path.join(build, "bench", "compare_peers"), "redis"] + common +
                     ["--port", str(a.redis_port)]))
    if "duckdb" in peers:
        plan.append(("duckdb", ["node", os.path.join(a.work, "npm", "compare_duckdb.mjs"), wl["dir"],
                                queries_path, work, str(a.reps), str(a.budget), wl["subset"]] +
                     ([attrs[3], ",".join(ATTR_COLUMNS)] if attrs else [])))
    for label, cmd in plan:
        recs, good = run_runner(cmd, label)
        if label == "tagindex_before":
            recs = [dict(r, system="tagindex_before") if r.get("system") == "tagindex" else r
                    for r in recs if r.get("system") == "tagindex"]
        records += recs
        ok = ok and good
    # postgres_gin comes from the postgres runner; drop what was not asked for.
    records = [r for r in records
               if r["system"] in ("tagindex", "tagindex_before", "scan") or r["system"] in peers]
    res = summarise(wl, records, ok)
    expected = oracle(wl)
    results = [res]
    if wl.get("attr_queries"):
        # The attribute shapes are a table of their own (their own geomean).
        awl = dict(wl, name=wl["name"] + "_attributes",
                   queries=[q[:4] for q in wl["attr_queries"]])
        ares = summarise(awl, records, ok)
        ares["loads"] = {r["system"]: {k: v for k, v in r.items() if k not in ("type", "system")}
                         for r in records if r["type"] == "attr_load"}
        ares["systems"] = [s for s in ares["systems"]
                           if any(s in row["systems"] for row in ares["queries"])]
        res["systems"] = [s for s in res["systems"] if s != "scan"]
        expected.update(attr_oracle(wl))
        results.append(ares)
    for q, (count, checksum) in expected.items():
        got = next((r for r in records if r["system"] == "tagindex" and r.get("query") == q), None)
        if got is None or (got["count"], got["checksum"]) != (count, checksum):
            res["mismatches"].append(f"{wl['name']} {q}: tagindex {got and got['count']} / "
                                     f"{got and got['checksum']}, numpy oracle {count} / {checksum}")
    log(f"   numpy oracle: checked {len(expected)} queries")
    return results


def summarise(wl, records, ok):
    loads = {r["system"]: {k: v for k, v in r.items() if k not in ("type", "system")}
             for r in records if r["type"] == "load"}
    # Best variant (SQL form) per system and query.
    best = {}
    for r in records:
        if r["type"] != "query":
            continue
        key = (r["system"], r["query"])
        if key not in best or r["median_us"] < best[key]["median_us"]:
            best[key] = r
    floors = {s: r["median_us"] for (s, q), r in best.items() if q == "floor"}
    queries = [q[0] for q in wl["queries"]]
    systems = [s for s in SYSTEMS if any(k[0] == s for k in best) or s in loads]
    rows, mismatches = [], []
    for q in queries:
        ref = best.get(("tagindex", q))
        row = {"query": q, "shape": next(x[1] for x in wl["queries"] if x[0] == q),
               "bucket": next(x[2] for x in wl["queries"] if x[0] == q),
               "tags": next(x[3] for x in wl["queries"] if x[0] == q),
               "count": ref["count"] if ref else None, "systems": {}}
        for s in systems:
            r = best.get((s, q))
            if r is None:
                continue
            row["systems"][s] = {"median_us": r["median_us"], "min_us": r["min_us"],
                                 "reps": r["reps"], "variant": r.get("variant", ""),
                                 "count": r["count"], "checksum": r["checksum"]}
            # Every form a system ran must agree, not only the fastest.
            for v in records:
                if v["type"] == "query" and v["system"] == s and v["query"] == q and ref and (
                        v["count"] != ref["count"] or v["checksum"] != ref["checksum"]):
                    mismatches.append(f"{wl['name']} {q}: {s}/{v.get('variant', '')} returned "
                                      f"count {v['count']} checksum {v['checksum']}, tagindex "
                                      f"{ref['count']} / {ref['checksum']}")
        if ref is None:
            mismatches.append(f"{wl['name']} {q}: tagindex gave no result")
        rows.append(row)
    return {"name": wl["name"], "customers": wl["customers"], "tags": wl["tag_count"],
            "layout": wl["layout"], "subset": wl["subset"], "assignments": wl["assignments"],
            "systems": systems, "loads": loads, "floors_us": floors, "queries": rows,
            "mismatches": mismatches, "runners_ok": ok}


# ---- output ----------------------------------------------------------------------------

def fmt_us(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e3:
        return f"{us / 1e3:.2f} ms"
    if us < 1:
        return f"{us:.2f} µs"
    return f"{us:.1f} µs"


def table(result):
    systems = result["systems"]
    lines = [f"\n### {result['name']}: {result['customers']:,} customers x {result['tags']:,} tags,"
             f" layout {result['layout']}, {result['assignments']:,} tag assignments"
             + (", SQL peers loaded the queried tags only" if result["subset"] == "queried" else ""),
             "", "| query | count | " + " | ".join(systems) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in systems) + " |"]
    for row in result["queries"]:
        ti = row["systems"].get("tagindex", {}).get("median_us")
        cells = []
        for s in systems:
            r = row["systems"].get(s)
            if r is None:
                cells.append("-")
            elif s == "tagindex" or not ti:
                cells.append(fmt_us(r["median_us"]))
            else:
                cells.append(f"{fmt_us(r['median_us'])} ({r['median_us'] / ti:.3g}×)")
        lines.append(f"| {row['query']} | {row['count']:,} | " + " | ".join(cells) + " |")
    lines += ["", "| system | load | storage | bytes / assignment | round-trip floor |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for s in systems:
        ld = result["loads"].get(s, {})
        st = ld.get("storage_bytes")
        bpa = ld.get("bytes_per_assignment") or (st / ld["assignments"] if st and ld.get("assignments") else None)
        size = f"{(st or 0) / 1e6:.1f} MB" if (st or 0) >= 1e6 else f"{(st or 0) / 1e3:.1f} kB"
        lines.append(f"| {s} | {ld.get('load_s', 0):.2f} s | {size} | {bpa or 0:.3g} | "
                     f"{fmt_us(result['floors_us'].get(s))} |")
    forms = {}
    for row in result["queries"]:
        for s, r in row["systems"].items():
            if r.get("variant"):
                forms.setdefault(s, {}).setdefault(r["variant"], 0)
                forms[s][r["variant"]] += 1
    if forms:
        lines.append("\nfaster SQL form (queries won): " + "; ".join(
            f"{s} " + ", ".join(f"{v} {n}" for v, n in sorted(f.items())) for s, f in forms.items()))
    cr = result["loads"].get("croaring")
    if cr:
        plain = ""
        if "plain_array_containers" in cr:
            plain = (f"; without run_optimize: {cr['plain_array_containers']:.0f} array, "
                     f"{cr['plain_bitset_containers']:.0f} bitset, "
                     f"{cr['plain_bits_per_value']:.2f} bits per value")
        published = ""
        if result.get("published_bits_per_value"):
            published = (f" (published: {result['published_bits_per_value']:.2f} run-optimised,"
                         f" {result['published_plain_bits_per_value']:.2f} plain)")
        lines.append(f"\ncontainer mix after run_optimize (CRoaring): {cr['array_containers']:.0f} "
                     f"array, {cr['bitset_containers']:.0f} bitset, {cr['run_containers']:.0f} run"
                     f"{plain}; bits per value (portable format): CRoaring run-optimised "
                     f"{cr['bits_per_value']:.2f}{published}, tagindex "
                     f"{result['loads']['tagindex']['bits_per_value']:.2f}")
    return "\n".join(lines)


def geomean(xs):
    import math
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def charts(results, out_prefix):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    for font in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP"):
        try:
            font_manager.findfont(font, fallback_to_default=False)
            matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
            break
        except ValueError:
            continue
    matplotlib.rcParams["axes.unicode_minus"] = False
    written = []
    for res in results:
        systems = res["systems"]
        qs = [r["query"] for r in res["queries"]]
        fig, ax = plt.subplots(figsize=(max(8, len(qs) * 0.75), 5))
        width = 0.8 / max(1, len(systems))
        for i, s in enumerate(systems):
            ys = [r["systems"].get(s, {}).get("median_us", float("nan")) for r in res["queries"]]
            ax.bar([x + i * width for x in range(len(qs))], ys, width, label=s)
        ax.set_yscale("log")
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(qs))])
        ax.set_xticklabels(qs, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("中位耗时 median (µs, 对数坐标 log scale)")
        ax.set_title(f"人群圈选查询耗时 segment query time — {res['name']}: "
                     f"{res['customers']:,} 客户 customers × {res['tags']:,} 标签 tags")
        ax.legend(fontsize=8, ncol=4)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = f"{out_prefix}_{res['name']}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)
    return written


def main():
    a = parse_args()
    build = os.path.dirname(a.work)  # the build directory compare.sh used
    layouts = [x for x in a.layouts.split(",") if x]
    workloads = []
    for layout in layouts:
        name = f"{layout}_{a.customers // 1000}k_{a.tags}"
        d = os.path.join(a.work, "data", name)
        os.makedirs(d, exist_ok=True)
        log(f"== workload {name}: generating")
        subprocess.run([os.path.join(build, "bench", "compare_gen"), "synth", d, str(a.customers),
                        str(a.tags), layout, str(a.seed)], check=True)
        wl = {"name": name, "dir": d, "layout": layout, "customers": a.customers,
              "tag_count": a.tags, "systems": a.peers, "subset": a.subset,
              "queries": synth_queries(a.tags)}
        if a.attributes and layout == layouts[0]:
            subprocess.run([os.path.join(build, "bench", "compare_gen"), "attrs", d,
                            str(a.customers), str(a.seed)], check=True)
            wl["attr_queries"] = attr_queries(a.tags)
            write_attr_queries(os.path.join(d, "attr_queries.tsv"), wl["attr_queries"])
        workloads.append(wl)
    if a.real:
        for name in REAL:
            src = extract_real(a.root, a.work, name)
            if src is None:
                log(f"== real dataset {name}: skipped (no ../shared/testdata/real-roaring next to the "
                    "repository and TAGINDEX_TESTDATA not set)")
                continue
            d = os.path.join(a.work, "data", "real_" + name)
            os.makedirs(d, exist_ok=True)
            subprocess.run([os.path.join(build, "bench", "compare_gen"), "real", d, src], check=True)
            info = read_tags_tsv(os.path.join(d, "tags.tsv"))
            with open(os.path.join(d, "tags.bin"), "rb") as f:
                f.read(8)
                customers = int.from_bytes(f.read(4), "little")
            workloads.append({"name": "real_" + name, "dir": d, "layout": "real",
                              "customers": customers, "tag_count": len(info),
                              "systems": [s for s in a.peers if s == "croaring"], "subset": "all",
                              "queries": real_queries(len(info))})
    results, failed = [], []
    for wl in workloads:
        write_queries(os.path.join(wl["dir"], "queries.tsv"), wl["queries"])
        wl["assignments"] = sum(n for _, n, _ in read_tags_tsv(os.path.join(wl["dir"], "tags.tsv")))
        log(f"== workload {wl['name']}: {wl['assignments']:,} assignments, "
            f"{len(wl['queries'])} queries, systems tagindex,{','.join(wl['systems'])}")
        for res in run_workload(a, build, wl):
            if res["layout"] == "real" and res["name"][5:] in PUBLISHED_BPV:
                res["published_bits_per_value"] = PUBLISHED_BPV[res["name"][5:]]
                res["published_plain_bits_per_value"] = PUBLISHED_PLAIN_BPV[res["name"][5:]]
            results.append(res)
            print(table(res), flush=True)
            failed += res["mismatches"]
            if not res["runners_ok"]:
                failed.append(f"{res['name']}: a runner failed")
    summary = {}
    for res in results:
        for s in res["systems"]:
            if s == "tagindex":
                continue
            ratios = [r["systems"][s]["median_us"] / r["systems"]["tagindex"]["median_us"]
                      for r in res["queries"] if s in r["systems"] and "tagindex" in r["systems"]]
            summary.setdefault(res["name"], {})[s] = geomean(ratios)
    log("\n### geometric mean of (system median / tagindex median) over the queries")
    for name, per in summary.items():
        log(f"{name}: " + ", ".join(f"{s} {g:.3g}×" for s, g in per.items() if g))
    doc = {"generated_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/compare.sh " + " ".join(sys.argv[sys.argv.index("--redis-port") + 2:]),
           "machine": machine(), "reps_min": a.reps, "budget_s": a.budget, "seed": a.seed,
           "workloads": results, "geomean_ratio_to_tagindex": summary, "mismatches": failed}
    if not results:
        log("compare: no workload ran (nothing written)")
    elif not a.smoke:
        out_dir = os.path.join(a.root, "bench", "results")
        os.makedirs(out_dir, exist_ok=True)
        name = a.name or f"compare_{a.customers // 1000}k_{a.tags}"
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
        pngs = charts(results, os.path.join(out_dir, name))
        log(f"\nwrote bench/results/{name}.json and {len(pngs)} charts")
    else:
        # The smoke run still renders one chart, so CI notices a broken
        # matplotlib / font setup, but into the build directory.
        charts(results[:1], os.path.join(a.work, "smoke"))
    if failed:
        log("\nCOMPARE FAILED:\n  " + "\n  ".join(failed))
        sys.exit(1)
    log(f"\ncompare: all {sum(len(r['queries']) for r in results)} queries agree across "
        f"{len(set(s for r in results for s in r['systems']))} systems")


def machine():
    info = {"cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        flags = open("/proc/cpuinfo").read()
        info["avx512"] = " avx512f " in flags
        info["avx2"] = " avx2 " in flags
    except OSError:
        pass
    try:
        info["mem_gb"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    info["note"] = "shared with other engineers' builds during the run"
    return info


if __name__ == "__main__":
    main()
