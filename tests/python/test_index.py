"""API behaviour of tagindex.Index, Tag and Category."""

import numpy as np
import pytest

import tagindex


def test_empty_index_repr_and_properties(index):
    assert len(index) == 0
    assert index.customer_count == 0
    assert index.tag_count == 0
    assert index.key_kind == "int64"
    assert index.row_id_limit == 0
    assert repr(index) == "<tagindex.Index key_kind=int64 customers=0 tags=0>"
    assert index.options == tagindex.IndexOptions()


def test_options_round_trip():
    index = tagindex.Index("string", create_missing_customers=False, max_tags=7,
                           max_name_code_points=10)
    o = index.options
    assert o.key_kind == "string" and not o.create_missing_customers
    assert o.max_tags == 7 and o.max_name_code_points == 10


def test_bad_options():
    with pytest.raises(tagindex.InvalidArgumentError, match="unknown key kind"):
        tagindex.Index("uuid")
    with pytest.raises(tagindex.InvalidArgumentError, match="must be positive"):
        tagindex.Index(max_tags=0)
    with pytest.raises(tagindex.InvalidArgumentError, match="max_tags must be an int"):
        tagindex.Index(max_tags=-1)
    with pytest.raises(tagindex.InvalidArgumentError, match="max_name_bytes"):
        tagindex.Index(max_name_bytes="x")


def test_customers_int_keys(index):
    assert index.add_customer(1001) == 0
    assert index.add_customer(1001) == 0  # existing key keeps its row
    rows = index.add_customers([5, 6, 1001, 5])
    assert rows.dtype == np.uint32
    assert rows.tolist() == [1, 2, 0, 1]
    assert len(index) == 3
    assert index.row_of(6) == 2
    assert index.key_of(2) == 6
    assert index.keys_of([2, 0]).tolist() == [6, 1001]
    assert 6 in index and 7 not in index
    index.remove_customer(6)
    assert 6 not in index
    assert index.live_rows().tolist() == [0, 1]
    assert index.add_customer(6) == 3  # a removed key gets a fresh row
    index.remove_row(3)
    assert len(index) == 2
    assert index.row_id_limit == 4


def test_customers_string_keys():
    index = tagindex.Index("string")
    assert index.key_kind == "string"
    rows = index.add_customers(["13800000000", "union-id-甲", "13800000000"])
    assert rows.tolist() == [0, 1, 0]
    assert index.row_of("union-id-甲") == 1
    assert index.key_of(1) == "union-id-甲"
    keys = index.keys_of(np.array([1, 0], dtype=np.uint32))
    assert keys.dtype == object and keys.tolist() == ["union-id-甲", "13800000000"]
    assert index.add_customers(np.array(["x", "y"])).tolist() == [2, 3]
    with pytest.raises(tagindex.InvalidArgumentError, match="integer but this index has string"):
        index.add_customer(5)


def test_identity_keys():
    index = tagindex.Index("identity")
    assert index.add_customer(42) == 42
    assert index.add_customers(range(10, 13)).tolist() == [10, 11, 12]
    assert index.row_of(11) == 11
    with pytest.raises(tagindex.InvalidArgumentError, match="identity"):
        index.add_customer(-1)


def test_categories(index):
    c = index.create_category("购买频率", exclusive=True, description="一个客户只有一个频率")
    assert c == tagindex.Category("购买频率", "一个客户只有一个频率", True, 0)
    index.create_tag("高频", "购买频率")
    assert index.category("购买频率").tag_count == 1
    index.create_tag("运动", "兴趣")  # created on the fly, non-exclusive
    assert [c.name for c in index.categories] == sorted(["购买频率", "兴趣"],
                                                        key=lambda s: s.encode())
    assert not index.category("兴趣").exclusive
    with pytest.raises(tagindex.AlreadyExistsError):
        index.create_category("购买频率")
    with pytest.raises(tagindex.UnknownCategoryError):
        index.category("无此类")


def test_tags_create_lookup_rename_delete(index):
    vip = index.create_tag("高价值客户", description="近一年消费 > 10万")
    sport = index.create_tag("运动", "兴趣")
    outdoor_sport = index.create_tag("运动", "户外")
    assert vip.name == "高价值客户" and vip.category == "" and vip.kind == "manual"
    assert vip.description == "近一年消费 > 10万"
    assert sport.qualified_name == "兴趣:运动"
    assert index.tag("高价值客户") == vip
    assert index["高价值客户"] == vip
    assert index.tag("兴趣:运动") == sport
    assert index.tag("运动", category="户外") == outdoor_sport
    with pytest.raises(tagindex.AmbiguousTagError) as e:
        index.tag("运动")
    assert sorted(e.value.candidates) == ["兴趣:运动", "户外:运动"]
    assert isinstance(e.value, ValueError)
    vip.rename("VIP")
    assert index.tag("VIP") == vip and vip.name == "VIP"
    vip.description = "changed"
    assert vip.info().description == "changed"
    assert [t.qualified_name for t in index.tags] == ["VIP", "兴趣:运动", "户外:运动"]
    assert index.tag_count == 3
    vip.delete()
    assert index.tag_count == 2
    with pytest.raises(tagindex.UnknownTagError):
        vip.count
    assert "deleted" in repr(vip)
    with pytest.raises(tagindex.AlreadyExistsError):
        index.create_tag("运动", "兴趣")
    with pytest.raises(tagindex.InvalidArgumentError, match="unknown tag kind"):
        index.create_tag("x", kind="automatic")
    rule = index.create_tag("规则", kind="rule")
    assert rule.kind == "rule"


def test_tag_names_with_colons(index):
    t = index.create_tag("a:b")  # a bare name containing ':'
    u = index.create_tag("c", "x:y")  # a category containing ':'
    assert index.tag("a:b") == t
    assert index.tag("x:y:c") == u


def test_memberships_from_every_input_kind(index):
    t = index.create_tag("t")
    t.add(1)
    t.add([2, 3])
    t.add((4,))
    t.add(range(10, 20, 5))
    t.add(np.array([30, 31], dtype=np.int64))
    t.add(np.array([40], dtype=np.uint16))
    t.add({50})
    assert t.keys().tolist() == [1, 2, 3, 4, 10, 15, 30, 31, 40, 50]
    assert len(t) == 10
    t.remove([2, 3])
    t.remove(rows=np.array([0], dtype=np.uint32))  # key 1 is row 0
    assert t.keys().tolist() == [4, 10, 15, 30, 31, 40, 50]
    t.remove(rows=range(0, index.row_id_limit))
    assert len(t) == 0
    t.add(rows=[1, 2])
    assert t.rows().tolist() == [1, 2]
    assert index.has_tag(t, 2) and index.has_tag("t", row=1)
    assert t.contains_row(2) and not t.contains_row(3)
    assert index.tags_of(2) == [t] and index.tags_of(row=0) == []


def test_string_key_memberships():
    index = tagindex.Index("string")
    t = index.create_tag("t")
    t.add("a")
    t.add(["b", "c"])
    t.add(np.array(["d"]))
    t.add(np.array(["e"], dtype=object))
    assert t.keys().tolist() == ["a", "b", "c", "d", "e"]
    assert "c" in t and "z" not in index and "z" not in t
    t.remove(["a", "b"])
    assert t.keys().tolist() == ["c", "d", "e"]
    with pytest.raises(tagindex.InvalidArgumentError, match="mixed key types: item 1 is a int"):
        t.add(["x", 5])
    assert len(index) == 5  # the failed batch changed nothing


def test_exclusive_category(index):
    index.create_category("购买频率", exclusive=True)
    high = index.create_tag("高频", "购买频率")
    low = index.create_tag("低频", "购买频率")
    high.add([1, 2, 3])
    low.add([2, 3, 4])
    assert high.keys().tolist() == [1]
    assert low.keys().tolist() == [2, 3, 4]


def test_batches_are_all_or_nothing():
    index = tagindex.Index(create_missing_customers=False)
    t = index.create_tag("t")
    index.add_customers([1, 2])
    with pytest.raises(tagindex.UnknownCustomerError, match="batch position 2"):
        t.add([1, 2, 3])
    assert len(t) == 0
    with pytest.raises(tagindex.UnknownCustomerError, match="row 7"):
        t.add(rows=[0, 7])
    assert len(t) == 0


def test_bad_inputs_are_clear_errors(index):
    t = index.create_tag("t")
    with pytest.raises(TypeError, match="float64"):
        t.add(np.array([1.5]))
    with pytest.raises(TypeError, match="bool"):
        t.add(True)
    with pytest.raises(TypeError, match="bytes"):
        t.add(b"abc")
    with pytest.raises(tagindex.InvalidArgumentError, match="outside"):
        t.add(rows=[-1])
    with pytest.raises(tagindex.InvalidArgumentError, match="outside"):
        t.add(rows=np.array([2**32], dtype=np.int64))
    with pytest.raises(tagindex.InvalidArgumentError, match="1-D"):
        t.add(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="either"):
        t.add()
    with pytest.raises(TypeError, match="either"):
        index.add_tag(t, [1], rows=[0])
    with pytest.raises(TypeError):
        index.add_tag(3.5, [1])
    with pytest.raises(tagindex.UnknownTagError):
        index.add_tag(-1, [1])
    with pytest.raises(tagindex.InvalidArgumentError, match="signed 64-bit"):
        t.add(np.array([2**63], dtype=np.uint64))
    other = tagindex.Index()
    with pytest.raises(tagindex.InvalidArgumentError, match="different index"):
        other.add_tag(t, 1)
    with pytest.raises(tagindex.InvalidArgumentError, match="empty"):
        index.create_tag("   ")
    with pytest.raises(tagindex.InvalidArgumentError, match="control character"):
        index.create_tag("a\x01b")
    assert len(t) == 0


def test_empty_batches_are_fine(index):
    t = index.create_tag("t")
    t.add([])
    t.add(np.array([], dtype=np.int64))
    t.add(rows=[])
    t.remove(range(0))
    assert index.add_customers([]).tolist() == []
    assert len(t) == 0 and len(index) == 0


def test_tag_handles_by_id_and_equality(index):
    a = index.create_tag("a")
    assert index.tag("a") == a and hash(index.tag("a")) == hash(a)
    index.add_tag(a.id, [1])
    assert a.count == 1
    assert a != tagindex.Index().create_tag("a")
    assert len({a, index.tag("a")}) == 1


def _snapshot(index):
    return {
        "options": index.options,
        "live": index.live_rows().tolist(),
        "limit": index.row_id_limit,
        "keys": index.keys_of(index.live_rows()).tolist(),
        "categories": index.categories,
        "tags": [(i.id, i.name, i.category, i.description, i.kind, i.count)
                 for i in index.tag_infos()],
        "rows": {t.id: t.rows().tolist() for t in index.tags},
    }


@pytest.mark.parametrize("kind", ["int64", "string", "identity"])
def test_pickle_index_keeps_rows_and_tag_ids(kind):
    import pickle
    index = tagindex.Index(kind, max_tags=10)
    keys = list(range(100, 140)) if kind != "string" else [f"k{i}" for i in range(40)]
    index.add_customers(keys)
    index.create_category("freq", exclusive=True, description="d")
    a = index.create_tag("a", "freq", description="first")
    gone = index.create_tag("gone")
    b = index.create_tag("b", "freq")
    c = index.create_tag("客户", kind="rule")
    a.add(keys[:10])
    b.add(keys[5:20])
    c.add(keys[::3])
    gone.delete()
    index.remove_customer(keys[7])
    index.remove_customer(keys[-1])  # the largest row: the limit must survive
    back = pickle.loads(pickle.dumps(index))
    assert _snapshot(back) == _snapshot(index)
    tag = pickle.loads(pickle.dumps(b))
    assert tag.name == "b" and tag.rows().tolist() == b.rows().tolist()
    both = pickle.loads(pickle.dumps([index, b]))
    assert both[1].index is both[0]
    # The copy is independent and still enforces its rules.
    back.tag("freq:a").add(keys[10])
    assert keys[10] not in back.tag("freq:b") and keys[10] in b


def test_text_that_is_not_unicode_or_not_str(index):
    with pytest.raises(tagindex.InvalidArgumentError, match="invalid UTF-8"):
        index.create_tag("bad\ud800")
    with pytest.raises(TypeError, match="tag name: expected a str"):
        index.create_tag(None)
    with pytest.raises(TypeError, match="query: expected a str"):
        index.count(b"x")
    with pytest.raises(tagindex.QuerySyntaxError) as e:
        index.count("a AND \ud800")
    assert e.value.column == 7
    with pytest.raises(tagindex.InvalidArgumentError, match="item 1 is not valid Unicode"):
        tagindex.Index("string").add_customers(["ok", "\udcff"])


def test_auto_increment_keys_bulk_tags_match_sets():
    """Ascending int64 keys (held as runs inside), tagged in bulk in sorted and
    shuffled order, with removals, re-additions and keys that extend the run
    one at a time: every tag's keys and the customers agree with Python sets."""
    rng = np.random.default_rng(16)
    first = 10_000_000_001
    index = tagindex.Index("int64")
    live = set(range(first, first + 5000))
    index.add_customers(np.arange(first, first + 5000, dtype=np.int64))
    for k in range(first + 5000, first + 5020):  # the next ids, one call each
        index.add_customer(k)
        live.add(k)
    members = {}
    for r in range(6):
        if r == 3:
            gone = [int(k) for k in rng.choice(sorted(live), 40, replace=False)]
            for k in gone:
                index.remove_customer(k)
                live.discard(k)
                for m in members.values():
                    m.discard(k)
            for k in gone[:20]:  # back, with new rows
                index.add_customer(k)
                live.add(k)
        pool = np.array(sorted(live), dtype=np.int64)
        keys = pool[rng.random(len(pool)) < 0.3]
        if r % 2:
            keys = rng.permutation(keys)
        tag = index.create_tag(f"t{r}")
        tag.add(keys)
        members[f"t{r}"] = set(keys.tolist())
        for name, m in members.items():
            assert set(index.tag(name).keys().tolist()) == m, name
    assert len(index) == len(live)
    for k in sorted(live)[::97]:
        assert k in index
    # Untagging in bulk by key, then the same check.
    drop = np.array(sorted(members["t0"])[::3], dtype=np.int64)
    index.tag("t0").remove(drop)
    members["t0"] -= set(drop.tolist())
    assert set(index.tag("t0").keys().tolist()) == members["t0"]
