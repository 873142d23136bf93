"""Queries and segments: index.query/count/explain/compile and Segment."""

import os
import pickle
import random

import numpy as np
import pytest

import tagindex


@pytest.fixture
def shop():
    index = tagindex.Index()
    vip = index.create_tag("高价值客户")
    tech = index.create_tag("电子产品")
    churn = index.create_tag("流失风险")
    index.create_category("购买频率", exclusive=True)
    high = index.create_tag("高频", "购买频率")
    low = index.create_tag("低频", "购买频率")
    vip.add(range(0, 100))
    tech.add(range(50, 150))
    churn.add(range(60, 70))
    high.add(range(0, 30))
    low.add(range(30, 40))
    index.add_customers(range(150, 160))  # customers without tags
    return index


def test_query_count_and_segment_basics(shop):
    s = shop.query("高价值客户 AND 电子产品 AND NOT 流失风险")
    assert len(s) == s.count == 40 and bool(s)
    assert s.query == "高价值客户 AND 电子产品 AND NOT 流失风险"
    assert repr(s) == "<tagindex.Segment '高价值客户 AND 电子产品 AND NOT 流失风险' count=40>"
    assert shop.count("高价值客户 AND 电子产品 AND NOT 流失风险") == 40
    expected = [k for k in range(50, 100) if not 60 <= k < 70]
    assert list(s) == expected
    assert s.keys().tolist() == expected
    assert s.to_numpy().dtype == np.uint32
    assert s.to_numpy().tolist() == [shop.row_of(k) for k in expected]
    assert 55 in s and 65 not in s and 10**9 not in s
    assert s.contains_row(shop.row_of(55))
    assert not shop.query("NONE") and len(shop.query("NONE")) == 0
    assert shop.count("ALL") == len(shop) == 160
    assert shop.all_customers() == shop.query("ALL")
    assert shop.count("购买频率 = 高频") == 30
    assert shop.count("购买频率 IS NULL") == 120
    assert shop.count("购买频率:低频 OR 购买频率:高频") == 40


def test_indexing_slicing_and_pages(shop):
    s = shop.query("高价值客户")
    keys = list(range(100))
    assert s[0] == 0 and s[99] == 99 and s[-1] == 99 and s[-100] == 0
    with pytest.raises(IndexError):
        s[100]
    with pytest.raises(IndexError):
        s[-101]
    with pytest.raises(TypeError):
        s["a"]
    page = s[10:20]
    assert isinstance(page, tagindex.Segment) and list(page) == keys[10:20]
    assert list(s[95:200]) == keys[95:]
    with pytest.raises(tagindex.InvalidArgumentError, match="step 1"):
        s[::10]
    assert list(s[-3:]) == keys[-3:]
    assert len(s[50:40]) == 0 and len(s[500:]) == 0
    with pytest.raises(tagindex.InvalidArgumentError):
        s[::-1]
    assert page.index is shop and page.to_numpy().tolist() == s.to_numpy()[10:20].tolist()
    assert list(s.page(3, 7)) == keys[21:28]
    pages = list(s.pages(30))
    assert [len(p) for p in pages] == [30, 30, 30, 10]
    assert [k for p in pages for k in p] == keys
    assert s.row_at(-1) == shop.row_of(99)
    first = s.rows_after(None, 40)
    second = s.rows_after(int(first[-1]), 40)
    assert np.array_equal(np.concatenate([first, second]), s.to_numpy()[:80])
    assert s.keys_of(second).tolist() == keys[40:80]
    assert len(s.rows_after(int(s.to_numpy()[-1]), 10)) == 0
    with pytest.raises(tagindex.NotFoundError):
        s.keys_of([10**6])


def test_set_algebra_matches_python_sets(shop):
    vip, tech, churn = (shop.query(t) for t in ["高价值客户", "电子产品", "流失风险"])
    sv, st, sc = (set(x) for x in (vip, tech, churn))
    assert set(vip & tech) == sv & st
    assert set(vip | churn) == sv | sc
    assert set(tech - churn) == st - sc
    assert set(vip ^ tech) == sv ^ st
    assert (vip & tech) == shop.query("高价值客户 AND 电子产品")
    assert (vip & tech) != vip
    with pytest.raises(TypeError):
        vip & {1, 2}
    other = tagindex.Index()
    other.create_tag("高价值客户").add([1])
    with pytest.raises(tagindex.InvalidArgumentError):
        vip & other.query("高价值客户")


def test_tag_segments(shop):
    vip = shop.tag("高价值客户").segment()
    assert vip == shop.query("高价值客户") and vip.query == "高价值客户"
    assert (vip & shop.tag("购买频率:高频").segment()) == shop.query("高价值客户 AND 高频")


def test_segment_is_a_snapshot(shop):
    s = shop.query("流失风险")
    shop.tag("流失风险").add([0, 1])
    shop.remove_customer(60)
    assert len(s) == 10 and len(shop.query("流失风险")) == 11
    assert s[0] == 60  # a removed customer keeps reporting its key
    assert 60 not in s  # ... but `in` looks up live customers
    assert list(s[0:2]) == [60, 61]  # pages of the snapshot keep it too
    assert [len(p) for p in s.pages(4)] == [4, 4, 2]
    index2, s2 = pickle.loads(pickle.dumps((shop, s)))
    assert list(s2) == list(range(61, 70))  # pickled: only customers still live


def test_to_frame_and_numpy_round_trip(shop):
    s = shop.query("电子产品 AND NOT 流失风险")
    df = s.to_frame(tags=["高价值客户", shop.tag("购买频率:低频")])
    assert list(df.columns) == ["row", "key", "高价值客户", "购买频率:低频"]
    assert len(df) == len(s)
    assert df["key"].tolist() == list(s)
    assert df["高价值客户"].tolist() == [k < 100 for k in s]
    assert not df["购买频率:低频"].any()
    again = shop.segment_from_rows(df["row"].to_numpy())
    assert again == s
    assert shop.segment_from_rows(range(3)).keys().tolist() == [0, 1, 2]
    with pytest.raises(tagindex.UnknownCustomerError, match="not a live customer"):
        shop.segment_from_rows([10**6])
    shop.remove_customer(0)
    with pytest.raises(tagindex.UnknownCustomerError):
        shop.segment_from_rows([0])


def test_string_keyed_segments():
    index = tagindex.Index("string")
    t = index.create_tag("t")
    t.add(["a", "b", "c"])
    s = index.query("t")
    assert list(s) == ["a", "b", "c"] and s[1] == "b" and "c" in s
    assert s.keys().dtype == object
    assert s.to_frame()["key"].tolist() == ["a", "b", "c"]


def test_portable_round_trip_and_corruption(shop):
    s = shop.query("高价值客户 XOR 电子产品")
    blob = s.to_portable()
    assert isinstance(blob, bytes)
    assert shop.segment_from_portable(blob) == s
    with pytest.raises(tagindex.CorruptionError):
        shop.segment_from_portable(blob[:-3])
    with pytest.raises(tagindex.CorruptionError):
        shop.segment_from_portable(b"")
    with pytest.raises(tagindex.CorruptionError):
        shop.segment_from_portable(b"\x00" * 64)


def test_pickle_segment_with_its_index(shop):
    s = shop.query("高价值客户 AND NOT 流失风险")
    index2, s2 = pickle.loads(pickle.dumps((shop, s)))
    assert s2.index is index2
    assert list(s2) == list(s) and s2.query == s.query
    alone = pickle.loads(pickle.dumps(s))
    assert list(alone) == list(s) and alone.index is not shop


def test_explain_and_compiled_queries(shop):
    e = shop.explain("高价值客户 AND 电子产品 AND NOT 流失风险")
    assert e.count == 40
    assert e.normal_form == "(AND 高价值客户 电子产品 (NOT 流失风险))"
    assert e.root.operation == "AND"
    assert any(c.subtracted and c.detail == "流失风险" for c in e.root.children)
    assert "AND-NOT TAG 流失风险" in str(e)
    q = shop.compile("高价值客户 AND NOT 流失风险")
    assert q.text == "高价值客户 AND NOT 流失风险"
    assert q.count() == 90 and len(q.run()) == 90
    assert q.explain().count == 90
    q2 = pickle.loads(pickle.dumps(q))
    assert q2.count() == 90 and q2.index is not shop
    shop.tag("流失风险").rename("churn")  # bound by id: still runs
    assert q.count() == 90
    shop.tag("churn").delete()
    with pytest.raises(tagindex.FailedPreconditionError):
        q.count()


def test_query_errors_carry_locations_and_suggestions(shop):
    with pytest.raises(tagindex.QuerySyntaxError) as e:
        shop.query("高价值客户 AND")
    err = e.value
    assert isinstance(err, ValueError) and err.code == "INVALID_ARGUMENT"
    assert (err.line, err.column, err.offset) == (1, 10, 19)
    assert err.snippet.splitlines()[-1].strip() == "^"
    with pytest.raises(tagindex.QuerySyntaxError) as e:
        shop.count("高价值客户\nAND (电子产品")
    assert e.value.line == 2
    with pytest.raises(tagindex.UnknownTagError) as e:
        shop.count("高价值客 AND 电子产品")
    assert "高价值客户" in e.value.suggestions and e.value.column == 1
    assert isinstance(e.value, KeyError)
    with pytest.raises(tagindex.UnknownAttributeError):
        shop.count("消费金额 >= 1000")
    with pytest.raises(tagindex.ResourceExhaustedError):
        shop.count("(" * 100 + "高价值客户" + ")" * 100)
    with pytest.raises(tagindex.ResourceExhaustedError):
        shop.count("高价值客户 OR 电子产品", max_query_bytes=10)
    assert shop.count("nope OR 高价值客户", unknown_tags_are_empty=True) == 100
    with pytest.raises(tagindex.InvalidArgumentError, match="max_depth"):
        shop.count("高价值客户", max_depth=-1)


def test_ambiguous_names_in_queries():
    index = tagindex.Index()
    index.create_tag("运动", "兴趣")
    index.create_tag("运动", "户外")
    with pytest.raises(tagindex.AmbiguousTagError) as e:
        index.count("运动")
    assert sorted(e.value.candidates) == ["兴趣:运动", "户外:运动"]
    assert e.value.line == 1
    assert index.count("兴趣:运动 OR 户外:运动") == 0


def test_rewrites_off_gives_the_same_answers(shop):
    for q in ["高价值客户 AND 高价值客户", "NOT NOT 电子产品", "流失风险 AND NONE",
              "(高价值客户 OR 电子产品) AND NOT 流失风险"]:
        assert shop.count(q) == shop.count(q, rewrites=False)


# ---- differential: random queries against Python set algebra ----

def _random_expr(rng, sets, universe, depth):
    """A random query text and its value computed with Python set algebra."""
    if depth == 0 or rng.random() < 0.3:
        name = rng.choice(sorted(sets) + ["ALL", "NONE"])
        value = universe if name == "ALL" else frozenset() if name == "NONE" else sets[name]
        return name, value
    op = rng.choice(["AND", "OR", "XOR", "NOT", "&", "|", "^", "!", "且", "或", "非"])
    a_text, a = _random_expr(rng, sets, universe, depth - 1)
    if op in ("NOT", "!", "非"):
        return f"{op} ({a_text})", universe - a
    b_text, b = _random_expr(rng, sets, universe, depth - 1)
    value = {"AND": a & b, "&": a & b, "且": a & b, "OR": a | b, "|": a | b, "或": a | b,
             "XOR": a ^ b, "^": a ^ b}[op]
    return f"({a_text} {op} {b_text})", value


SEEDS = list(range(20)) if os.environ.get("TAGINDEX_FULL") != "1" else list(range(300))


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed={s}" for s in SEEDS])
def test_random_queries_against_python_sets(seed):
    rng = random.Random(seed)
    index = tagindex.Index()
    n = 2000
    index.add_customers(range(n))
    names = [f"t{i}" for i in range(6)]
    sets = {}
    for name in names:
        density = rng.choice([0.01, 0.1, 0.5, 0.9])
        members = [k for k in range(n) if rng.random() < density]
        index.create_tag(name).add(members)
        sets[name] = frozenset(members)
    for k in rng.sample(range(n), 50):
        index.remove_customer(k)
        sets = {t: s - {k} for t, s in sets.items()}
    universe = frozenset(index.keys_of(index.live_rows()).tolist())
    for _ in range(40):
        text, expected = _random_expr(rng, sets, universe, 4)
        assert index.count(text) == len(expected), text
        segment = index.query(text)
        assert set(segment.keys().tolist()) == expected, text
        assert index.count(text, rewrites=False) == len(expected), text
