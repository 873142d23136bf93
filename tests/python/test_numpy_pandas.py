"""numpy and pandas in and out, without per-element Python work."""

import numpy as np
import pandas as pd
import pytest

import tagindex


def test_numpy_round_trip_large(index):
    rng = np.random.default_rng(7)
    keys = rng.choice(10**12, size=200_000, replace=False).astype(np.int64)
    rows = index.add_customers(keys)
    assert rows.dtype == np.uint32 and rows.tolist() == list(range(len(keys)))
    t = index.create_tag("t")
    members = rng.choice(len(keys), size=50_000, replace=False).astype(np.uint32)
    t.add(rows=members)
    assert np.array_equal(t.rows(), np.sort(members))
    assert np.array_equal(t.keys(), keys[np.sort(members)])
    assert np.array_equal(index.keys_of(t.rows()), keys[np.sort(members)])
    assert np.array_equal(index.live_rows(), np.arange(len(keys), dtype=np.uint32))


def test_returned_arrays_are_owned_and_writable(index):
    t = index.create_tag("t")
    t.add([1, 2, 3])
    r = t.rows()
    r[0] = 99  # a copy handed over, not a view into the index
    assert t.rows().tolist() == [0, 1, 2]
    assert r.flags.owndata is False and r.base is not None


def test_non_contiguous_and_other_dtypes(index):
    t = index.create_tag("t")
    keys = np.arange(20, dtype=np.int32)[::2]
    t.add(keys)
    assert t.keys().tolist() == list(range(0, 20, 2))
    t.remove(rows=np.arange(10, dtype=np.int64)[::3])
    assert len(t) == 10 - 4


def test_pandas_series_inputs(index):
    t = index.create_tag("t")
    t.add(pd.Series([5, 6, 7]))
    assert t.keys().tolist() == [5, 6, 7]
    s = tagindex.Index("string")
    u = s.create_tag("u")
    u.add(pd.Series(["a", "b"], dtype="string"))
    assert u.keys().tolist() == ["a", "b"]


def _frame():
    return pd.DataFrame({
        "user_id": [11, 12, 13, 14, 12],
        "vip": [True, False, True, False, False],
        "churn": [0, 1, np.nan, 0, 0],
        "freq": ["高频", None, "低频", "高频", "中频"],
        "tags": ["电子产品,兴趣:运动", "", "兴趣:运动 , 图书", None, "图书"],
    })


def test_from_dataframe_all_column_kinds():
    index = tagindex.Index.from_dataframe(
        _frame(), key="user_id", tags=["vip", "churn"], tag_column="tags",
        categories={"freq": "购买频率"})
    assert index.key_kind == "int64"
    assert len(index) == 4
    assert index.tag("vip").keys().tolist() == [11, 13]
    assert index.tag("churn").keys().tolist() == [12]
    assert index.tag("电子产品").keys().tolist() == [11]
    assert index.tag("兴趣:运动").keys().tolist() == [11, 13]
    assert index.tag("图书").keys().tolist() == [12, 13]
    assert index.category("购买频率").exclusive
    # user 12 appears twice: None then 中频 -> the last row wins.
    assert index.tag("购买频率:中频").keys().tolist() == [12]
    assert index.tag("购买频率:高频").keys().tolist() == [11, 14]
    assert index.tag("购买频率:低频").keys().tolist() == [13]


def test_from_dataframe_string_keys_from_index_and_lists():
    df = pd.DataFrame({"tags": [["a", "b"], [], ["b"]]},
                      index=pd.Index(["p1", "p2", "p3"], name="phone"))
    # The key kind is declared, never guessed from the data.
    index = tagindex.Index.from_dataframe(df, tag_column="tags", tag_category="兴趣",
                                          key_kind="string")
    assert index.key_kind == "string"
    assert index.tag("兴趣:b").keys().tolist() == ["p1", "p3"]
    assert index.category("兴趣").tag_count == 2
    assert "p2" in index


def test_from_dataframe_errors():
    df = _frame()
    with pytest.raises(tagindex.InvalidArgumentError, match="'nope' is not in the frame"):
        tagindex.Index.from_dataframe(df, key="nope")
    # Bad rows are rejected one by one (row position and reason), not the frame.
    with pytest.warns(tagindex.RejectedRowsWarning, match="1 of 2 rows rejected"):
        index = tagindex.Index.from_dataframe(pd.DataFrame({"k": [1.0, None]}), key="k")
    assert index.keys_of(index.live_rows()).tolist() == [1]
    assert [(r.record, r.reason) for r in index.last_import.rejects] == [(1, "empty key")]
    with pytest.warns(tagindex.RejectedRowsWarning, match="4 of 5 rows rejected"):
        index = tagindex.Index.from_dataframe(df, key="user_id", tags=["freq"])
    assert [r.record for r in index.last_import.rejects] == [0, 2, 3, 4]
    assert "not a boolean" in index.last_import.rejects[0].reason
    # Attribute columns are supported now (test_attributes.py); a missing one
    # is named.
    with pytest.raises(tagindex.InvalidArgumentError, match="attribute column 'spend'"):
        tagindex.Index.from_dataframe(df, key="user_id", attributes=["spend"])
    with pytest.raises(TypeError, match="DataFrame"):
        tagindex.Index.from_dataframe({"a": [1]}, key="a")


def test_from_dataframe_passes_options():
    df = pd.DataFrame({"k": [3, 4]})
    index = tagindex.Index.from_dataframe(df, key="k", key_kind="identity", max_tags=5)
    assert index.key_kind == "identity" and index.options.max_tags == 5
    assert index.live_rows().tolist() == [3, 4]


def test_from_dataframe_nullable_and_object_indicators():
    df = pd.DataFrame({"k": [1, 2, 3, 4],
                       "a": pd.array([True, None, False, True], dtype="boolean"),
                       "b": pd.array([1, None, 0, 2], dtype="Int64"),
                       "c": pd.Series([True, None, False, True], dtype=object)})
    with pytest.warns(tagindex.RejectedRowsWarning):
        index = tagindex.Index.from_dataframe(df, key="k", tags={"a": "A", "b": "B", "c": "C"})
    # 2 is not a boolean: that row (k = 4) is rejected, with its reason.
    assert [(r.record, r.column) for r in index.last_import.rejects] == [(3, "b")]
    assert index.tag("A").keys().tolist() == [1]
    assert index.tag("B").keys().tolist() == [1]
    assert index.tag("C").keys().tolist() == [1]


def test_from_dataframe_tag_column_repeats_and_duplicates():
    rng = np.random.default_rng(5)
    names = np.array(["x", "y", "z", "兴趣:w", ""])
    cells = [",".join(rng.choice(names, 3)) for _ in range(500)]
    df = pd.DataFrame({"k": np.arange(500), "t": cells})
    df.loc[7, "t"] = None
    index = tagindex.Index.from_dataframe(df, key="k", tag_column="t")
    for name, qualified in [("x", "x"), ("y", "y"), ("z", "z"), ("兴趣:w", "兴趣:w")]:
        expected = [k for k, c in enumerate(cells) if k != 7 and name in c.split(",")]
        assert index.tag(qualified).keys().tolist() == expected, name
