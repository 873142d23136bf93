"""Dask analytics and the exact quantile against the in-process ShardedIndex on the same
directory: 1 M customers x 20 tags + a decimal column in 8 shards (written to argv[1],
which must not exist), a 2-worker LocalCluster on loopback; medians of 5, results asserted
equal. Prints one line per call (BENCHMARKS.md, sharded section)."""
import logging
import statistics
import sys
import time

import numpy as np
from distributed import Client, LocalCluster

import tagindex
import tagindex.dask


def main():
    path = sys.argv[1]
    rng = np.random.default_rng(17)
    n = 1_000_000
    keys = rng.choice(10**12, size=n, replace=False).astype(np.int64)
    with tagindex.ShardedIndex.open(path, shards=8, sync="none") as s:
        s.add_customers(keys)
        for i in range(20):
            s.create_tag(f"t{i}", "兴趣")
            s.tag(f"t{i}", keys[rng.random(n) < 0.5 / (i + 1)])
        s.create_attribute("消费金额", "decimal(2)")
        vals = rng.integers(0, 10**8, size=n)
        s.set_attribute("消费金额", keys, [f"{v // 100}.{v % 100:02d}" for v in vals])
        s.checkpoint()

    def med(fn, reps=5):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts), out

    with tagindex.ShardedIndex.open(path, read_only=True, threads=2) as s, \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        d = tagindex.dask.DaskShardedIndex(client, path)
        calls = {"n": 0}
        orig = d._map
        def counting(op, args_of):
            calls["n"] += 1
            return orig(op, args_of)
        d._map = counting
        seg = s.query("t0")
        for q in (0.5, 0.99):
            t_local, a = med(lambda: s.quantile("消费金额", q, seg))
            calls["n"] = 0
            t_dask, b = med(lambda: d.quantile("消费金额", q, "t0"))
            assert a == b, (a, b)
            print(f"quantile q={q}: in-process {t_local*1e3:.1f} ms, dask {t_dask*1e3:.1f} ms, "
                  f"{calls['n'] // 5} rounds of 8 tasks (incl. the attribute-info round)")
        t_local, a = med(lambda: s.profile(seg))
        t_dask, b = med(lambda: d.profile("t0"))
        assert a.equals(b)
        print(f"profile (20 tags): in-process {t_local*1e3:.1f} ms, dask {t_dask*1e3:.1f} ms")
        t_local, a = med(lambda: s.count("t0 AND t1 AND NOT t2"))
        t_dask, b = med(lambda: d.count("t0 AND t1 AND NOT t2"))
        assert a == b
        print(f"count: in-process {t_local*1e3:.2f} ms, dask {t_dask*1e3:.1f} ms")


if __name__ == "__main__":
    main()
