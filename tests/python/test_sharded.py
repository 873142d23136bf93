"""tagindex.ShardedIndex against Python sets and an unsharded tagindex.Index
holding the same data: counts, keys, paging, attribute aggregates, catalog
changes, persistence and errors. Fixed seeds (in the test ids)."""

import datetime
import decimal
import os
import random

import numpy as np
import pytest

import tagindex

TAGS = ["高价值客户", "电子产品", "流失风险", "新客户", "运动"]


def build(seed, shards, key_kind="int64"):
    """(sharded, unsharded, {tag: set of keys}, {key: spend})."""
    rng = random.Random(seed)
    if key_kind == "string":
        keys = [f"u{rng.randrange(10**9)}" for _ in range(2000)]
    elif key_kind == "identity":
        keys = list(range(2000))
    else:
        keys = [rng.randrange(-10**12, 10**12) for _ in range(2000)]
    keys = list(dict.fromkeys(keys))
    sharded = tagindex.ShardedIndex(shards, key_kind, threads=2,
                                    rows_per_shard=(-(-2000 // shards) if key_kind == "identity" else 0))
    plain = tagindex.Index(key_kind)
    members = {}
    for i, name in enumerate(TAGS):
        sharded.create_tag(name)
        plain.create_tag(name)
        chosen = [k for k in keys if rng.random() < (0.5 / (i + 1))]
        members[name] = set(chosen)
        sharded.tag(name, chosen)
        plain[name].add(chosen)
    sharded.add_customers(keys)
    plain.add_customers(keys)
    sharded.create_attribute("消费金额", "decimal(2)")
    plain.create_attribute("消费金额", "decimal(2)")
    spend = {k: decimal.Decimal(rng.randrange(-5000, 500000)).scaleb(-2)
             for k in keys if rng.random() < 0.8}
    sharded.set_attribute("消费金额", list(spend), list(spend.values()))
    plain.set_attribute("消费金额", list(spend), list(spend.values()))
    return sharded, plain, members, spend


QUERIES = [
    ("高价值客户 AND 电子产品 AND NOT 流失风险",
     lambda m, u: (m["高价值客户"] & m["电子产品"]) - m["流失风险"]),
    ("新客户 OR 运动", lambda m, u: m["新客户"] | m["运动"]),
    ("NOT 高价值客户", lambda m, u: u - m["高价值客户"]),
    ("消费金额 >= 1000 AND 高价值客户", None),
]


@pytest.mark.parametrize("shards", [1, 2, 7])
@pytest.mark.parametrize("key_kind", ["int64", "string", "identity"])
def test_sharded_equals_sets_and_the_unsharded_index(shards, key_kind):
    sharded, plain, members, spend = build(shards * 10 + len(key_kind), shards, key_kind)
    universe = set(plain.query("ALL").keys().tolist()) if key_kind != "string" else \
        set(plain.query("ALL").keys())
    assert len(sharded) == len(plain) == len(universe)
    assert sharded.shard_count == shards
    for text, oracle in QUERIES:
        want = plain.count(text)
        if oracle is not None:
            assert want == len(oracle(members, universe)), text
        assert sharded.count(text) == want, text
        assert sum(sharded.shard_counts(text)) == want
        seg = sharded.query(text)
        assert len(seg) == want
        got = list(seg.keys())
        assert sorted(got) == sorted(plain.query(text).keys().tolist()
                                     if key_kind != "string" else plain.query(text).keys())
        if key_kind == "identity":
            assert got == sorted(got)  # range routing: (shard, row) order is key order
        paged = []
        for shard_ids, rows in seg.pages(97):
            paged.extend(zip(shard_ids.tolist(), rows.tolist()))
        s_all, r_all = seg.rows()
        assert paged == list(zip(s_all.tolist(), r_all.tolist()))
        assert paged == sorted(paged)
        # Aggregates over the segment, against the unsharded index.
        pseg = plain.query(text)
        assert sharded.summarize("消费金额", seg) == plain.summarize("消费金额", pseg)
        for q in (0, 0.25, 0.5, 0.9, 1):
            assert sharded.quantile("消费金额", q, seg) == plain.quantile("消费金额", q, pseg)
        top = sharded.top_k("消费金额", 7, seg)
        assert [v for _, v in top] == list(plain.top_k("消费金额", 7, pseg)["消费金额"])
        for k, v in top:
            assert spend[k] == v
        bounds = [decimal.Decimal("-10"), decimal.Decimal("100"), decimal.Decimal("3000")]
        assert sharded.histogram("消费金额", bounds, seg).tolist() == \
            plain.histogram("消费金额", bounds, pseg).tolist()
        e = sharded.explain(text)
        assert e["count"] == want and len(e["shard_nanos"]) == shards
        assert "slowest" in e["text"]
    both = sharded.query("高价值客户") & sharded.query("电子产品")
    assert len(both) == plain.count("高价值客户 AND 电子产品")
    assert len(sharded.query("高价值客户") - sharded.query("电子产品")) == \
        plain.count("高价值客户 AND NOT 电子产品")


def test_catalog_reaches_every_shard_and_persists(tmp_path):
    path = tmp_path / "crm"
    with tagindex.ShardedIndex.open(path, shards=3, create_if_missing=True) as idx:
        idx.create_category("购买频率", exclusive=True)
        hi = idx.create_tag("高频", category="购买频率")
        lo = idx.create_tag("低频", category="购买频率")
        idx.tag(hi, range(1000))
        idx.tag(lo, range(500))          # exclusive: they leave 高频
        assert idx.tag_info("高频").count == 500
        idx.rename_tag("低频", "偶尔")
        assert idx.count("购买频率 = 偶尔") == 500
        gen = idx.generation
        with pytest.raises(tagindex.AlreadyExistsError):
            idx.create_tag("高频", category="购买频率")
        assert idx.generation == gen + 2
        idx.checkpoint()
    with tagindex.ShardedIndex.open(path, create_if_missing=True) as idx:   # shards etc. come from the manifest
        assert idx.shard_count == 3 and idx.repair_report == ""
        assert {t.name: t.count for t in idx.tags} == {"高频": 500, "偶尔": 500}
        assert [c.exclusive for c in idx.categories] == [True]
        counts = idx.all_customers().shard_counts()
        assert sum(counts) == 1000 and all(c > 200 for c in counts)
    # Every shard is an ordinary index.
    for i in range(3):
        with tagindex.Index.open(tagindex.ShardedIndex.shard_path(path, i),
                                 read_only=True) as shard:
            assert sorted(t.name for t in shard.tags) == ["偶尔", "高频"]


def test_errors_are_tagindex_errors(tmp_path):
    idx = tagindex.ShardedIndex(4)
    with pytest.raises(tagindex.QuerySyntaxError):
        idx.count("高价值客户 AND")
    with pytest.raises(tagindex.UnknownTagError):
        idx.count("没有")
    with pytest.raises(tagindex.InvalidArgumentError):
        idx.add_customers(["a string key"])
    with pytest.raises(tagindex.InvalidArgumentError):
        tagindex.ShardedIndex(0)
    with pytest.raises(tagindex.InvalidArgumentError):
        tagindex.ShardedIndex(2, "identity", rows_per_shard=10).add_customers([25])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "MANIFEST").write_text("tagindex-sharded-manifest 1\nchecksum 0\n")
    with pytest.raises(tagindex.CorruptionError):
        tagindex.ShardedIndex.open(tmp_path / "bad", create_if_missing=True)


def test_load_from_an_index_and_close():
    plain = tagindex.Index()
    plain.add_customers(range(3000))
    plain.create_category("购买频率", exclusive=True)
    plain.create_tag("高频", category="购买频率").add(range(0, 3000, 3))
    plain.create_tag("高价值客户").add(range(0, 3000, 2))
    plain.create_attribute("年龄")
    plain.set_attribute("年龄", list(range(0, 3000, 5)), [k % 90 for k in range(0, 3000, 5)])
    sharded = tagindex.ShardedIndex(5)
    sharded.load_from(plain)
    for q in ["高频 AND 高价值客户", "NOT 购买频率 = 高频", "年龄 >= 40 AND 高价值客户"]:
        assert sharded.count(q) == plain.count(q), q
    assert sharded.summarize("年龄") == plain.summarize("年龄")
    with pytest.raises(tagindex.FailedPreconditionError):
        sharded.load_from(plain)               # only into an empty sharded index
    sharded.close()
    sharded.close()
    with pytest.raises(tagindex.FailedPreconditionError):
        sharded.count("高频")
