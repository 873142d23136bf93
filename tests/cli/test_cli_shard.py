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
    # The sharded `tags --json` prints the same fields as the unsharded one.
    sharded = json.loads(run("tags", dst, "--json", check_rc=0).stdout)
    plain = json.loads(run("tags", src, "--json", check_rc=0).stdout)
    assert sharded == plain
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


@pytest.fixture(scope="module")
def random_shards(tmp_path_factory):
    """A random on-disk index written through the Python package (seed
    printed in failures), and `shard split` of it into 1, 2 and 7 shards."""
    import random

    import tagindex
    seed = 1717
    rng = random.Random(seed)
    root = tmp_path_factory.mktemp("shardanalytics")
    src = root / "plain"
    keys = rng.sample(range(1, 10 ** 12), 3000)
    with tagindex.Index.open(src, create_if_missing=True) as index:
        index.add_customers(keys)
        for i in range(5):
            index.create_tag(f"兴趣{i}", "兴趣爱好类").add(
                [k for k in keys if rng.random() < 0.5 / (i + 1)])
        for category, names in (("城市", ["北京", "上海", "杭州"]), ("会员等级", ["金卡", "银卡"])):
            index.create_category(category, exclusive=True)
            groups = {n: [] for n in names}
            for k in keys:
                if rng.random() < 0.75:
                    groups[rng.choice(names)].append(k)
            for n in names:
                index.create_tag(n, category).add(groups[n])
        index.create_attribute("消费金额", "decimal(2)")
        spend = {k: rng.randrange(0, 10 ** 6) / 100 for k in keys if rng.random() < 0.7}
        index.set_attribute("消费金额", list(spend), list(spend.values()))
        for k in rng.sample(keys, 25):
            index.remove_customer(k)
        index.checkpoint()
    dirs = {}
    for n in (1, 2, 7):
        dirs[n] = root / f"sharded{n}"
        run("shard", "split", src, dirs[n], "--shards", n, check_rc=0)
    return seed, src, dirs


ANALYTICS = [
    ["profile", "{d}", "兴趣0 OR 北京", "--attribute", "消费金额"],
    ["profile", "{d}", "NOT 金卡", "--category", "城市"],
    ["top", "{d}", "兴趣1", "-n", 4],
    ["top", "{d}", "消费金额 >= 5000", "--by", "tgi", "--min-count", 5],
    ["cooccur", "{d}", "兴趣0", "兴趣2", "北京", "会员等级:金卡", "--metric", "count"],
    ["cooccur", "{d}", "兴趣0", "上海", "--segment", "兴趣3"],
    ["crosstab", "{d}", "会员等级", "城市"],
    ["crosstab", "{d}", "城市", "会员等级", "--segment", "兴趣0 AND NOT 兴趣1"],
    ["coverage", "{d}"],
    ["coverage", "{d}", "--segment", "兴趣2"],
]


@pytest.mark.parametrize("shards", [1, 2, 7])
def test_analytics_commands_on_a_sharded_dir_print_what_the_unsharded_index_prints(
        random_shards, shards):
    """profile / top / cooccur / crosstab / coverage read the MANIFEST and
    print exactly the unsharded index's tables and JSON (stdout and the
    summary line on stderr)."""
    seed, src, dirs = random_shards
    for args in ANALYTICS:
        for extra in ([], ["--json"]):
            want = run(*[str(a).format(d=src) for a in args], *extra, check_rc=0)
            got = run(*[str(a).format(d=dirs[shards]) for a in args], *extra,
                      "--threads", 2, check_rc=0)
            where = f"seed {seed}, {shards} shards: {args} {extra}"
            assert got.stdout == want.stdout, where
            assert got.stderr == want.stderr, where
    # --without prints keys in (shard, row) order: the same set.
    want = run("coverage", src, "--without", "城市", check_rc=0).stdout.split()
    got = run("coverage", dirs[shards], "--without", "城市", check_rc=0).stdout.split()
    assert sorted(got) == sorted(want) and len(want) > 0
    # Errors as the unsharded index's.
    for bad in (["crosstab", "{d}", "兴趣爱好类", "城市"],
                ["profile", "{d}", "兴趣0", "--category", "没有这个"],
                ["top", "{d}", "兴趣0 AND"]):
        want = run(*[str(a).format(d=src) for a in bad])
        got = run(*[str(a).format(d=dirs[shards]) for a in bad])
        assert want.returncode == got.returncode == 1, bad
        assert got.stderr == want.stderr, bad


def test_shard_reshard_copies_everything_and_never_writes_the_source(random_shards, tmp_path):
    seed, src, dirs = random_shards
    source = dirs[7]
    before = sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                    for p in source.rglob("*") if p.is_file())
    dest = tmp_path / "re3"
    report = json.loads(run("shard", "reshard", source, dest, "--shards", 3, "--json",
                            check_rc=0).stdout)
    assert report["shards"] == 3 and sum(report["shard_customers"]) == report["customers"]
    assert sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in source.rglob("*") if p.is_file()) == before
    assert not (tmp_path / "re3.reshard-tmp").exists()
    info = json.loads(run("shard", "info", dest, "--json", check_rc=0).stdout)
    assert info["shards"] == 3
    assert json.loads(run("tags", dest, "--json", check_rc=0).stdout) == \
        json.loads(run("tags", source, "--json", check_rc=0).stdout)
    assert {(t["category"], t["name"], t["count"])
            for t in json.loads(run("tags", dest, "--json", check_rc=0).stdout)} == \
        {(t["category"], t["name"], t["count"])
         for t in json.loads(run("tags", src, "--json", check_rc=0).stdout)}
    for args in ANALYTICS:
        want = run(*[str(a).format(d=src) for a in args], "--json", check_rc=0)
        got = run(*[str(a).format(d=dest) for a in args], "--json", check_rc=0)
        assert got.stdout == want.stdout, f"seed {seed}: {args}"
    for q in ("兴趣0 AND NOT 北京", "消费金额 >= 1000 OR 金卡"):
        want = sorted(run("query", src, q, check_rc=0).stdout.split())
        assert sorted(run("query", dest, q, check_rc=0).stdout.split()) == want, q
    # Errors: an existing destination, a bad shard count; help with an example.
    p = run("shard", "reshard", source, dest, "--shards", 2)
    assert p.returncode == 1 and "exists" in p.stderr
    assert run("shard", "reshard", source, tmp_path / "z", "--shards", 0).returncode == 1
    assert not (tmp_path / "z").exists()
    h = run("shard", "reshard", "--help", check_rc=0).stdout
    assert "Example" in h and "tagindex shard reshard" in h
