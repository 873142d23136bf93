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
    with tagindex.ShardedIndex.open(path, shards=4, sync="none", create_if_missing=True) as sharded:
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
