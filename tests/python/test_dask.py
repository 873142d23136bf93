"""tagindex.dask on a real 2-worker Dask LocalCluster (processes, loopback,
no dashboard): per-shard tasks reduced on the client equal the unsharded
index; a worker process SIGKILLed while it runs a shard task is survived
with the exact answer (Dask reruns the task on the other worker)."""

import logging
import os
import signal
import threading
import time

import pytest

import tagindex

distributed = pytest.importorskip("distributed", reason="python3-distributed is not installed "
                                  "(scripts/setup.sh installs it)")
import tagindex.dask  # noqa: E402

QUERY = "高价值客户 AND 电子产品 AND NOT 流失风险"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask") / "crm"
    plain = tagindex.Index()
    with tagindex.ShardedIndex.open(path, shards=4, sync="none") as sharded:
        keys = list(range(0, 100000, 7))
        for i, name in enumerate(["高价值客户", "电子产品", "流失风险"]):
            sharded.create_tag(name)
            plain.create_tag(name)
            chosen = [k for k in keys if (k * (i + 3)) % (i + 2) == 0 or k % 11 == i]
            sharded.tag(name, chosen)
            plain[name].add(chosen)
        sharded.create_attribute("年龄")
        ages = [k % 83 for k in keys]
        sharded.add_customers(keys)
        plain.add_customers(keys)
        sharded.set_attribute("年龄", keys, ages)
        plain.create_attribute("年龄")
        plain.set_attribute("年龄", keys, ages)
        sharded.checkpoint()
    return str(path), plain


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:
        with Client(cluster) as c:
            yield c


def test_results_equal_the_unsharded_index(data, client):
    path, plain = data
    d = tagindex.dask.DaskShardedIndex(client, path)
    assert d.shard_count == 4
    assert d.count(QUERY) == plain.count(QUERY)
    assert sorted(d.keys(QUERY).tolist()) == sorted(plain.query(QUERY).keys().tolist())
    got = d.summarize("年龄", QUERY)
    want = plain.summarize("年龄", plain.query(QUERY))
    assert (got["count"], got["sum"], got["min"], got["max"]) == \
        (want["count"], want["sum"], want["min"], want["max"])
    top = d.top_k("年龄", 5, "高价值客户")
    assert [v for _, v in top] == list(plain.top_k("年龄", 5, plain.query("高价值客户"))["年龄"])


def test_a_worker_killed_mid_query_gives_the_exact_answer(data, client):
    path, plain = data
    want = plain.count(QUERY)
    slow = tagindex.dask.DaskShardedIndex(client, path, task_delay=0.5)
    pids = client.run(os.getpid)
    result = {}

    def run():
        try:
            result["count"] = slow.count(QUERY)
        except Exception as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 20
    victim = None
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.01)
    assert victim is not None, "no shard task started"
    os.kill(pids[victim], signal.SIGKILL)
    t.join(timeout=60)
    assert not t.is_alive()
    assert "error" not in result, result.get("error")
    assert result["count"] == want
    with pytest.raises(ProcessLookupError):
        os.kill(pids[victim], 0)  # the worker really died


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Random data (seed in failures) with categories and a decimal column,
    in a 3-shard directory and in an unsharded index, and the value model."""
    import random
    seed = 2917
    rng = random.Random(seed)
    path = tmp_path_factory.mktemp("daskshop") / "crm"
    plain = tagindex.Index()
    keys = rng.sample(range(1, 10 ** 12), 2500)
    spend = {k: rng.randrange(-10 ** 5, 10 ** 7) for k in keys if rng.random() < 0.8}
    with tagindex.ShardedIndex.open(path, shards=3, sync="none") as sharded:
        for idx in (sharded, plain):
            idx.add_customers(keys)
            idx.create_category("城市", exclusive=True)
            idx.create_attribute("消费金额", "decimal(2)")
            idx.set_attribute("消费金额", list(spend), [v / 100 for v in spend.values()])
        for i in range(5):
            chosen = [k for k in keys if rng.random() < 0.6 / (i + 1)]
            sharded.create_tag(f"兴趣{i}", "兴趣爱好类")
            sharded.tag(f"兴趣{i}", chosen)
            plain.create_tag(f"兴趣{i}", "兴趣爱好类").add(chosen)
        for name in ("北京", "上海"):
            chosen = [k for k in keys if rng.random() < 0.4]
            sharded.create_tag(name, "城市")
            sharded.tag(name, chosen)
            plain.create_tag(name, "城市").add(chosen)
        sharded.checkpoint()
    return seed, str(path), plain, spend


def test_dask_analytics_equal_the_unsharded_index(shop, client):
    import pandas as pd
    seed, path, plain, _ = shop
    d = tagindex.dask.DaskShardedIndex(client, path)
    for text in (None, "兴趣0 OR 北京"):
        seg = None if text is None else plain.query(text)
        where = f"seed {seed}, segment {text!r}"
        got, want = d.profile(text, attribute="消费金额"), plain.profile(seg, attribute="消费金额")
        pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(want), check_exact=True,
                                      obj=where)
        assert got.attrs == want.attrs and hasattr(got, "plot")
        for by in ("count", "tgi"):
            got, want = d.top_tags(text, 3, by=by, min_count=2), plain.top_tags(seg, 3, by=by,
                                                                              min_count=2)
            pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(want),
                                          check_exact=True, obj=f"{where} top by {by}")
        got = d.cooccurrence(["兴趣0", "兴趣2", "北京"], text)
        want = plain.cooccurrence(["兴趣0", "兴趣2", "北京"], seg)
        assert got.population == want.population
        for m in ("counts", "jaccard", "lift"):
            pd.testing.assert_frame_equal(getattr(got, m), getattr(want, m), check_exact=True)


def test_dask_quantiles_are_exact_against_numpy(shop, client):
    import decimal
    import math

    import numpy as np
    seed, path, plain, spend = shop
    d = tagindex.dask.DaskShardedIndex(client, path)
    members = set(plain.query("兴趣1").keys().tolist())
    for text, values in ((None, list(spend.values())),
                         ("兴趣1", [v for k, v in spend.items() if k in members])):
        arr = np.sort(np.asarray(values, np.int64))
        for q in (0, 0.25, 0.5, 0.999, 1):
            rank = min(max(math.ceil(q * len(arr)), 1), len(arr))
            want = decimal.Decimal(int(arr[rank - 1])).scaleb(-2)
            got = d.quantile("消费金额", q, text)
            where = f"seed {seed}, q {q}, segment {text!r}"
            assert got == want, where
            assert got == decimal.Decimal(int(np.quantile(arr, q, method="inverted_cdf"))).scaleb(
                -2) or q == 0, where
            assert got == plain.quantile("消费金额", q, None if text is None else
                                         plain.query(text)), where
    bounds = [decimal.Decimal(b) for b in ("-1000", "0", "100", "50000")]
    assert d.histogram("消费金额", bounds, "兴趣1").tolist() == \
        plain.histogram("消费金额", bounds, plain.query("兴趣1")).tolist()
    assert d.quantile("消费金额", 0.5, "兴趣0 AND NOT 兴趣0") is None
    with pytest.raises(tagindex.InvalidArgumentError):
        d.quantile("消费金额", 1.5)
