"""ShardedIndex analytics (profile, top_tags, cooccurrence, crosstab,
coverage, customers_without) against an unsharded tagindex.Index holding the
same random data (N = 1, 2, 7 shards; every key kind), and against Python
sets for the counts. Fixed seeds (in the test ids)."""

import os
import random

import pandas as pd
import pytest

import tagindex

SEGMENTS = [None, "兴趣0 OR 北京", "兴趣1 AND NOT 高频", "消费金额 >= 5000"]


def build(seed, shards, key_kind):
    """(sharded, unsharded, {(category, name): set of keys}) with interest
    tags, two exclusive categories and a decimal attribute."""
    rng = random.Random(seed)
    n = 1500
    if key_kind == "string":
        keys = list(dict.fromkeys(f"c{rng.randrange(10 ** 9)}" for _ in range(n)))
    elif key_kind == "identity":
        keys = list(range(n))
    else:
        keys = rng.sample(range(-10 ** 12, 10 ** 12), n)
    rows = -(-n // shards) if key_kind == "identity" else 0
    sharded = tagindex.ShardedIndex(shards, key_kind, threads=2, rows_per_shard=rows)
    plain = tagindex.Index(key_kind)
    model = {}
    for idx in (sharded, plain):
        idx.add_customers(keys)
        idx.create_category("城市", exclusive=True)
        idx.create_category("购买频率", exclusive=True)
    for i in range(6):
        members = [k for k in keys if rng.random() < 0.6 / (i + 1)]
        model[("兴趣爱好类", f"兴趣{i}")] = set(members)
        for idx in (sharded, plain):
            idx.create_tag(f"兴趣{i}", "兴趣爱好类")
        sharded.tag(f"兴趣{i}", members)
        plain.tag(f"兴趣{i}").add(members)
    for category, names in (("城市", ["北京", "上海", "杭州"]), ("购买频率", ["高频", "低频"])):
        groups = {name: [] for name in names}
        for k in keys:
            if rng.random() < 0.8:
                groups[rng.choice(names)].append(k)
        for name in names:
            model[(category, name)] = set(groups[name])
            for idx in (sharded, plain):
                idx.create_tag(name, category)
            sharded.tag(sharded._impl.find_tag(name), groups[name])
            plain.tag(category + ":" + name).add(groups[name])
    spend = {k: rng.randrange(0, 10 ** 6) / 100 for k in keys if rng.random() < 0.7}
    for idx in (sharded, plain):
        idx.create_attribute("消费金额", "decimal(2)")
        idx.set_attribute("消费金额", list(spend), list(spend.values()))
    # Removed customers must not count anywhere.
    gone = rng.sample(keys, 40)
    sharded.remove_customers(gone)
    for k in gone:
        plain.remove_customer(k)
    for members in model.values():
        members.difference_update(gone)
    return sharded, plain, model


def same_frame(got, want, what):
    pd.testing.assert_frame_equal(pd.DataFrame(got), pd.DataFrame(want), check_exact=True,
                                  obj=what)
    assert got.attrs == want.attrs, what


@pytest.mark.parametrize("shards", [1, 2, 7])
@pytest.mark.parametrize("key_kind", ["int64", "string", "identity"])
def test_sharded_analytics_equal_the_unsharded_index(shards, key_kind):
    seed = shards * 100 + len(key_kind)
    sharded, plain, model = build(seed, shards, key_kind)
    where = f"seed {seed}, {shards} shards, {key_kind}"
    for text in SEGMENTS:
        s_seg = None if text is None else sharded.query(text)
        p_seg = None if text is None else plain.query(text)
        ctx = f"{where}, segment {text!r}"
        # Segments as objects and as query texts give the same answers.
        for s_arg in ((s_seg, text) if text is not None else (None,)):
            same_frame(sharded.profile(s_arg, attribute="消费金额"),
                       plain.profile(p_seg, attribute="消费金额"), f"profile {ctx}")
        same_frame(sharded.profile(s_seg, category="城市"), plain.profile(p_seg, category="城市"),
                   f"profile 城市 {ctx}")
        for by in ("count", "tgi"):
            same_frame(sharded.top_tags(s_seg, 4, by=by, min_count=3),
                       plain.top_tags(p_seg, 4, by=by, min_count=3), f"top_tags {by} {ctx}")
        assert sharded.count_of(s_seg) == plain.count_of(p_seg)
        tags = ["兴趣0", "兴趣3", "北京", "高频"]
        got = sharded.cooccurrence(tags, s_seg)
        want = plain.cooccurrence(tags, p_seg)
        assert got.population == want.population, ctx
        for m in ("counts", "jaccard", "lift"):
            pd.testing.assert_frame_equal(getattr(got, m), getattr(want, m), check_exact=True,
                                          obj=f"cooccurrence {m} {ctx}")
        same_frame(sharded.crosstab("购买频率", "城市", s_seg),
                   plain.crosstab("购买频率", "城市", p_seg), f"crosstab {ctx}")
        got_c, want_c = sharded.coverage(s_seg), plain.coverage(p_seg)
        assert got_c.population == want_c.population, ctx
        pd.testing.assert_frame_equal(got_c.tags, want_c.tags, check_exact=True)
        pd.testing.assert_frame_equal(got_c.categories, want_c.categories, check_exact=True)
        without = sharded.customers_without("城市", s_seg)
        assert isinstance(without, tagindex.ShardedSegment)
        want_keys = plain.customers_without("城市", p_seg).keys()
        got_keys = without.keys()
        assert sorted(list(got_keys)) == sorted(list(want_keys)), ctx
    # The counts themselves, against the set model (every customer).
    p = sharded.profile()
    for _, r in p.iterrows():
        assert r["count"] == len(model[(r["category"], r["name"])]), where
    beijing = model[("城市", "北京")]
    cross = sharded.crosstab("购买频率", "城市")
    assert cross.loc["高频", "北京"] == len(beijing & model[("购买频率", "高频")]), where


def test_sharded_analytics_errors_and_charts(tmp_path):
    sharded, plain, _ = build(5, 3, "int64")
    other = tagindex.ShardedIndex(2)
    with pytest.raises(tagindex.InvalidArgumentError):
        sharded.profile(other.all_customers())
    with pytest.raises(tagindex.InvalidArgumentError):
        sharded.profile(plain.query("兴趣0"))  # a segment of another index
    with pytest.raises(tagindex.InvalidArgumentError):
        sharded.crosstab("兴趣爱好类", "城市")  # not exclusive
    with pytest.raises(tagindex.NotFoundError):
        sharded.profile(None, category="没有这个类")
    with pytest.raises(tagindex.InvalidArgumentError):
        sharded.top_tags(None, 0)
    pytest.importorskip("matplotlib", reason="python3-matplotlib is not installed")
    seg = sharded.query("兴趣0")
    for name, draw in {
            "profile.png": lambda f: sharded.profile(seg).plot(f),
            "cooc.png": lambda f: sharded.cooccurrence(["兴趣0", "兴趣1", "北京"], seg).plot(f),
            "crosstab.png": lambda f: sharded.crosstab("购买频率", "城市", seg).plot(f)}.items():
        out = tmp_path / name
        draw(str(out))
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000, name


def snapshot_of(idx):
    """Everything a sharded index answers about its data, shard-count free."""
    keys = idx.all_customers().keys()
    out = {"customers": sorted(list(keys)),
           "categories": [(c.name, c.exclusive, c.description) for c in idx.categories],
           "tags": [(t.id, t.category, t.name, t.description, t.count) for t in idx.tags],
           "attributes": [(a.name, a.type, a.scale) for a in idx.attributes()]}
    for t in idx.tags:
        out[("members", t.category, t.name)] = sorted(
            list(idx.query(f"{t.category}:{t.name}" if t.category else t.name).keys()))
    out["spend"] = idx.summarize("消费金额")
    out["q"] = [idx.quantile("消费金额", q) for q in (0, 0.3, 0.5, 0.99, 1)]
    return out


# Every key kind x (1 -> 2, 2 -> 7, 7 -> 1) with TAGINDEX_FULL=1; one of each
# in the quick suite.
_RESHARDS = [(k, a, b) for k in ("int64", "string", "identity") for a, b in ((1, 2), (2, 7), (7, 1))]
if os.environ.get("TAGINDEX_FULL") != "1":
    _RESHARDS = [("int64", 2, 7), ("string", 7, 1), ("identity", 1, 2)]


@pytest.mark.parametrize("key_kind,shards,new", _RESHARDS)
def test_reshard_keeps_everything(tmp_path, key_kind, shards, new):
    seed = shards * 10 + new
    _, plain, _ = build(seed, shards, key_kind)
    src, dest = tmp_path / "src", tmp_path / "dest"
    rows = -(-1500 // shards) if key_kind == "identity" else 0
    with tagindex.ShardedIndex.open(src, shards=shards, key_kind=key_kind, rows_per_shard=rows,
                                    sync="none") as s:
        s.load_from(plain)
        s.create_category("说明类", description="类别说明")
        s.set_tag_description("兴趣0", "标签说明")
        s.checkpoint()
    before = sorted((p, p.stat().st_size, p.stat().st_mtime_ns) for p in src.rglob("*")
                    if p.is_file())
    tagindex.ShardedIndex.reshard(src, dest, new, threads=2)
    assert sorted((p, p.stat().st_size, p.stat().st_mtime_ns) for p in src.rglob("*")
                  if p.is_file()) == before
    with tagindex.ShardedIndex.open(src, read_only=True) as a, \
            tagindex.ShardedIndex.open(dest, read_only=True) as b:
        assert b.shard_count == new and b.key_kind == key_kind
        assert snapshot_of(b) == snapshot_of(a), f"seed {seed}"
        for text in SEGMENTS[1:]:
            assert b.count(text) == a.count(text) == plain.count(text)
            same_frame(b.profile(text, attribute="消费金额"),
                       plain.profile(plain.query(text), attribute="消费金额"), text)
    with pytest.raises(tagindex.AlreadyExistsError):
        tagindex.ShardedIndex.reshard(src, dest, 3)
    with pytest.raises(tagindex.InvalidArgumentError):
        tagindex.ShardedIndex.reshard(src, tmp_path / "none", 0)
    assert not (tmp_path / "none").exists() and not (tmp_path / "none.reshard-tmp").exists()


def test_merge_helpers_equal_the_whole_index_and_refuse_other_catalogs():
    """_tagindex.merge_profiles / rank_top_tags / merge_cooccurrences (the
    Dask reducer's helpers) over two indexes holding disjoint halves of the
    customers equal the whole index's answers."""
    from tagindex import _tagindex
    rng = random.Random(808)
    keys = rng.sample(range(1, 10 ** 9), 1200)
    whole, halves = tagindex.Index(), [tagindex.Index(), tagindex.Index()]
    for idx in [whole] + halves:
        for i in range(4):
            idx.create_tag(f"兴趣{i}", "兴趣爱好类")
        idx.create_attribute("消费金额", "int64")
    for k in keys:
        part = halves[k % 2]
        tags = [f"兴趣{i}" for i in range(4) if rng.random() < 0.5 / (i + 1)]
        value = rng.randrange(-4 * 10 ** 18, 4 * 10 ** 18)  # sums overflow int64
        for idx in (whole, part):
            idx.add_customers([k])
            for t in tags:
                idx.tag(t).add([k])
            idx.set_attribute("消费金额", [k], [value])
    raw = [h._impl.profile(None, None, "消费金额") for h in halves]
    segment_count, universe_count, rows = _tagindex.merge_profiles(raw, "消费金额")
    want = whole._impl.profile(None, None, "消费金额")
    assert (segment_count, universe_count, rows) == want
    plain_rows = _tagindex.merge_profiles([h._impl.profile(None, None, "") for h in halves], "")[2]
    for by in (0, 1):
        assert _tagindex.rank_top_tags(plain_rows, 2, by, 0) == \
            whole._impl.top_tags(None, 2, by, 0, None)
    ids = [whole._tag_id(f"兴趣{i}") for i in range(3)]
    parts = [(ids, h._impl.cooccurrence(ids, None)) for h in halves]
    assert _tagindex.merge_cooccurrences(parts) == whole._impl.cooccurrence(ids, None)
    with pytest.raises(tagindex.InvalidArgumentError):
        _tagindex.merge_cooccurrences([parts[0], (ids[:2], halves[1]._impl.cooccurrence(
            ids[:2], None))])
    other = tagindex.Index()
    other.create_tag("别的")
    with pytest.raises(tagindex.InvalidArgumentError):
        _tagindex.merge_profiles([raw[0], other._impl.profile(None, None, "")], "")
    with pytest.raises(tagindex.InvalidArgumentError):
        _tagindex.merge_profiles([], "")
