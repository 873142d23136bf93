"""End-to-end tests of `tagindex shard split / info` and of query / count /
explain / tags on a sharded directory, against the unsharded index (opened
with the Python package) as the oracle."""

import json
import os
import subprocess

import pytest

CLI = os.environ.get("TAGINDEX_CLI", "")

pytestmark = pytest.mark.skipif(not CLI or not os.path.exists(CLI),
                                reason="TAGINDEX_CLI is not set to the built tagindex binary")

QUERIES = ["高价值客户 AND 电子产品 AND NOT 流失风险", "新客户 OR 活跃客户", "NOT 高价值客户"]


def run(*args, check_rc=None):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout, p.stderr)
    return p


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("shardcli")
    src = root / "shop"
    run("demo", "--customers", 20000, "--dir", src, "--json", "--repeat", 1, check_rc=0)
    dst = root / "shop4"
    report = json.loads(run("shard", "split", src, dst, "--shards", 4, "--json",
                            check_rc=0).stdout)
    return src, dst, report


def test_split_spreads_every_customer(shop):
    src, dst, report = shop
    assert report["shards"] == 4 and report["customers"] == 20000
    assert sum(report["shard_customers"]) == 20000
    assert all(n > 3000 for n in report["shard_customers"])  # hashed: about 5000 each
    info = json.loads(run("shard", "info", dst, "--json", check_rc=0).stdout)
    assert info["shards"] == 4 and info["key_kind"] == "int64"
    assert info["shard_customers"] == report["shard_customers"]
    assert run("shard", "split", src, dst).returncode == 1  # exists already


def test_count_query_explain_tags_match_the_unsharded_index(shop):
    src, dst, _ = shop
    import tagindex
    with tagindex.Index.open(src, read_only=True) as index:
        for q in QUERIES:
            want = index.count(q)
            got = json.loads(run("count", dst, q, "--json", check_rc=0).stdout)
            assert got["count"] == want and sum(got["shard_counts"]) == want, q
            one = json.loads(run("count", dst, q, "--json", "--threads", 1, check_rc=0).stdout)
            assert one["count"] == want
            keys = json.loads(run("query", dst, q, "--json", check_rc=0).stdout)["keys"]
            assert sorted(keys) == sorted(int(k) for k in index.query(q).keys()), q
            plan = json.loads(run("explain", dst, q, "--json", check_rc=0).stdout)
            assert plan["count"] == want and len(plan["shards"]) == 4
            assert 0 <= plan["slowest_shard"] < 4
        assert "slowest" in run("explain", dst, QUERIES[0], check_rc=0).stdout
        tags = {t["name"]: t["count"] for t in json.loads(run("tags", dst, "--json",
                                                              check_rc=0).stdout)}
        assert tags == {t.name: t.count for t in index.tags}
    limited = run("query", dst, QUERIES[1], "--limit", 5, check_rc=0).stdout.split()
    assert len(limited) == 5


def test_errors_and_help(shop):
    _, dst, _ = shop
    p = run("count", dst, "高价值客户 AND")
    assert p.returncode == 1 and "column" in p.stderr
    p = run("count", dst, "没有这个标签")
    assert p.returncode == 1
    for sub in ("split", "info"):
        h = run("shard", sub, "--help", check_rc=0).stdout
        assert "Example" in h and "tagindex shard " + sub in h
