#!/usr/bin/env python3
"""Bulk load through Python (issue #16): N customers with int64 keys
(auto-increment CRM ids) and T tags of Zipf popularity (density
min(0.5, 0.5 / rank): 10 M x 200 tags is 29 M postings), from numpy arrays.

    PYTHONPATH=build/default/bindings/python/package \\
        /usr/bin/python3 bench/python/bench_bulk_load.py --customers 10000000 --repeat 3
    ... bench_bulk_load.py --smoke                      # tiny, for CI
    ... --redis /usr/bin/redis-server                   # Redis 7 bitmaps beside it

Timed per repetition (the per-tag key arrays are made before, untimed):

  tagindex            Index("int64"); add_customers(keys); then per tag
                      create_tag(name).add(tag_keys) — the whole load
  tagindex (shuffled) the same with each tag's keys in a random order
  numpy scatter       the floor: a bool array per tag, bits[tag_keys - first] = True
                      (it knows the ids are dense; tagindex does not)
  redis               (with --redis) SET of each tag's bitmap built by numpy
                      (np.packbits of that bool array) over loopback

Times are this process's CPU time by default (--clock wall for wall time);
Redis is always wall time (its server is another process).

Every tagindex load is checked: each tag's count equals its array's length,
and 1,000 random (customer, tag) pairs agree with the masks. Prints medians
and the minimum; the machine may be shared, so compare within one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import tagindex


def make(n: int, tags: int, seed: int):
    rng = np.random.default_rng(seed)
    keys = np.arange(n, dtype=np.int64) + 10_000_000_001
    masks, arrays = [], []
    for r in range(1, tags + 1):
        m = rng.random(n) < min(0.5, 0.5 / r)
        masks.append(m)
        arrays.append(keys[m])
    return keys, masks, arrays


# The clock: CPU time of this process (--clock cpu, the default: the load is
# single-threaded, and on a shared machine wall time mostly measures the
# neighbours) or wall time (--clock wall).
CLOCK = time.process_time


def load_tagindex(keys, arrays):
    t0 = CLOCK()
    index = tagindex.Index("int64")
    index.add_customers(keys)
    t1 = CLOCK()
    for r, a in enumerate(arrays):
        index.create_tag(f"t{r}").add(a)
    t2 = CLOCK()
    return index, t1 - t0, t2 - t1


def check(index, keys, masks, arrays, seed):
    for r, a in enumerate(arrays):
        got = index.tag(f"t{r}").count
        if got != len(a):
            sys.exit(f"tag t{r}: count {got}, expected {len(a)}")
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        i = int(rng.integers(len(keys)))
        r = int(rng.integers(len(arrays)))
        if (int(keys[i]) in index.tag(f"t{r}")) != bool(masks[r][i]):
            sys.exit(f"customer {int(keys[i])}, tag t{r}: membership differs from the mask")


def load_numpy(n, first, arrays):
    t0 = CLOCK()
    out = []
    for a in arrays:
        bits = np.zeros(n, dtype=bool)
        bits[a - first] = True
        out.append(bits)
    return CLOCK() - t0, out


def start_redis(server):
    d = tempfile.mkdtemp(prefix="bulk_redis_")
    port = 56391
    subprocess.run([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                    "--appendonly", "no", "--daemonize", "yes", "--pidfile",
                    os.path.join(d, "pid"), "--dir", d], check=True,
                   stdout=subprocess.DEVNULL)
    import redis  # python3-redis
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return client, d


def load_redis(client, n, first, arrays):
    client.flushall()
    t0 = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for r, a in enumerate(arrays):
        bits = np.zeros(n, dtype=bool)
        bits[a - first] = True
        pipe.set(f"t{r}", np.packbits(bits).tobytes())  # Redis bit order: MSB first
    pipe.execute()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--customers", type=int, default=10_000_000)
    p.add_argument("--tags", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--redis", help="path of redis-server (optional baseline)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    a = p.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    if a.smoke:
        a.customers, a.tags, a.repeat = 20_000, 20, 1
    keys, masks, arrays = make(a.customers, a.tags, a.seed)
    rng = np.random.default_rng(a.seed + 1)
    shuffled = [rng.permutation(x) for x in arrays]
    postings = sum(len(x) for x in arrays)
    print(f"{a.customers:,} customers x {a.tags} tags = {postings:,} postings "
          f"(tagindex {tagindex.__file__}; {a.clock} time; redis: wall time, server included)")
    redis_client = redis_dir = None
    if a.redis:
        redis_client, redis_dir = start_redis(a.redis)
    times = {k: [] for k in ("tagindex", "  add_customers", "  tags",
                             "tagindex (shuffled)", "numpy scatter", "redis")}
    try:
        for rep in range(a.repeat):
            index, tc, tt = load_tagindex(keys, arrays)
            check(index, keys, masks, arrays, a.seed + rep)
            del index
            times["tagindex"].append(tc + tt)
            times["  add_customers"].append(tc)
            times["  tags"].append(tt)
            index, tc, tt = load_tagindex(keys, shuffled)
            check(index, keys, masks, arrays, a.seed + rep)
            del index
            times["tagindex (shuffled)"].append(tc + tt)
            tn, _ = load_numpy(a.customers, int(keys[0]), arrays)
            times["numpy scatter"].append(tn)
            if redis_client is not None:
                times["redis"].append(load_redis(redis_client, a.customers, int(keys[0]), arrays))
    finally:
        if redis_client is not None:
            try:
                redis_client.shutdown(nosave=True)
            except Exception:  # the connection closes as the server stops
                pass
            shutil.rmtree(redis_dir, ignore_errors=True)
    print(f"{'method':24} {'median s':>9} {'min s':>9} {'ns/posting':>11}")
    for k, v in times.items():
        if not v:
            continue
        med = statistics.median(v)
        print(f"{k:24} {med:9.3f} {min(v):9.3f} {med / postings * 1e9:11.1f}")


if __name__ == "__main__":
    main()
