"""Attribute columns from Python, against plain Python/pandas oracles."""
import datetime
import decimal
import random

import numpy as np
import pandas as pd
import pytest

import tagindex

SEED = 20261201
N = 3000


def build(seed=SEED):
    rng = random.Random(seed)
    index = tagindex.Index()
    keys = list(range(10_000, 10_000 + N))
    index.add_customers(keys)
    vip = index.create_tag("高价值客户")
    members = [k for k in keys if rng.random() < 0.3]
    vip.add(members)
    index.create_attribute("订单数", type="int64")
    index.create_attribute("消费金额", type="decimal(2)")
    index.create_attribute("最近购买", type="date")
    orders = [None if rng.random() < 0.1 else rng.randint(-50, 50) for _ in keys]
    cents = [None if rng.random() < 0.1 else rng.randint(0, 10**7) for _ in keys]
    epoch = datetime.date(2026, 1, 1)
    days = [None if rng.random() < 0.1 else epoch + datetime.timedelta(days=rng.randint(0, 330))
            for _ in keys]
    index.set_attribute("订单数", keys, pd.array(orders, dtype="Int64"))
    index.set_attribute("消费金额", keys,
                        [None if c is None else decimal.Decimal(c).scaleb(-2) for c in cents])
    index.set_attribute("最近购买", keys, days)
    return index, keys, set(members), orders, cents, days


def test_predicates_match_a_python_scan():
    index, keys, vip, orders, cents, days = build()
    for lo in (-60, -10, 0, 7, 49):
        want = sum(1 for o in orders if o is not None and o >= lo)
        assert index.count(f"订单数 >= {lo}") == want, (SEED, lo)
        want_vip = sum(1 for k, o in zip(keys, orders) if k in vip and o is not None and o < lo)
        assert index.count(f"高价值客户 AND 订单数 < {lo}") == want_vip, (SEED, lo)
    assert index.count("订单数 IS NULL") == sum(o is None for o in orders)
    assert index.count("消费金额 BETWEEN 1000 AND 50000.50") == sum(
        1 for c in cents if c is not None and 100000 <= c <= 5000050)
    today = datetime.date(2026, 11, 27)
    cutoff = today - datetime.timedelta(days=90)
    assert index.count("最近购买 < today - 90d", today=today) == sum(
        1 for d in days if d is not None and d < cutoff)
    # NOT includes the customers without a value.
    assert index.count("NOT (订单数 > 5)") == sum(1 for o in orders if o is None or o <= 5)


def test_aggregates_match_pandas():
    index, keys, vip, orders, cents, days = build()
    seg = index.query("高价值客户")
    in_seg = [o for k, o in zip(keys, orders) if k in vip and o is not None]
    s = index.summarize("订单数", seg)
    assert s["count"] == len(in_seg)
    assert s["sum"] == sum(in_seg)
    assert s["min"] == min(in_seg) and s["max"] == max(in_seg)
    money = [c for c in cents if c is not None]
    m = index.summarize("消费金额")
    assert m["sum"] == decimal.Decimal(sum(money)).scaleb(-2)
    assert m["max"] == decimal.Decimal(max(money)).scaleb(-2)
    d = index.summarize("最近购买")
    present_days = [x for x in days if x is not None]
    assert d["min"] == min(present_days) and d["max"] == max(present_days)
    top = index.top_k("订单数", 5, seg)
    assert list(top["订单数"]) == sorted(in_seg, reverse=True)[:5]
    bounds = [-50, -10, 0, 10, 51]
    hist = index.histogram("订单数", bounds, seg)
    want = [sum(1 for o in in_seg if bounds[j] <= o < bounds[j + 1]) for j in range(4)]
    assert list(hist) == want
    median = index.quantile("订单数", 0.5, seg)
    ordered = sorted(in_seg)
    assert median in ordered
    rank = ordered.index(median)
    assert abs(rank - 0.5 * (len(ordered) - 1)) <= ordered.count(median) + 1


def test_summarize_computes_only_what_is_asked_for():
    index, keys, vip, orders, cents, days = build()
    seg = index.query("高价值客户")
    in_seg = [o for k, o in zip(keys, orders) if k in vip and o is not None]
    small = index.segment_from_rows(list(range(0, N, 97)))   # a few rows per chunk
    in_small = [orders[r] for r in range(0, N, 97) if orders[r] is not None]
    for segment, vals in ((seg, in_seg), (small, in_small), (None, [o for o in orders
                                                                    if o is not None])):
        assert index.summarize("订单数", segment, aggregates=["sum"]) == {
            "count": len(vals), "sum": sum(vals)}
        assert index.summarize("订单数", segment, aggregates=["min", "max"]) == {
            "count": len(vals), "min": min(vals), "max": max(vals)}
        assert index.summarize("订单数", segment, aggregates=["mean"]) == {
            "count": len(vals), "mean": sum(vals) / len(vals)}
        assert index.summarize("订单数", segment, aggregates=[]) == {"count": len(vals)}
        assert index.summarize("订单数", segment) == {
            "count": len(vals), "sum": sum(vals), "min": min(vals), "max": max(vals),
            "mean": sum(vals) / len(vals)}
    with pytest.raises(tagindex.InvalidArgumentError, match="median"):
        index.summarize("订单数", aggregates=["median"])


def test_to_frame_and_errors():
    index, keys, vip, orders, cents, days = build()
    frame = index.query("订单数 IS NOT NULL AND 高价值客户").to_frame(attributes=["订单数"])
    by_key = dict(zip(keys, orders))
    assert len(frame) == sum(1 for k in vip if by_key[k] is not None)
    for key, value in zip(frame["key"], frame["订单数"]):
        assert by_key[int(key)] == int(value)
    with pytest.raises(tagindex.InvalidArgumentError):
        index.count("最近购买 > 12.5")
    with pytest.raises(tagindex.InvalidArgumentError):
        index.count("消费金额 >= 12.345")
    with pytest.raises(tagindex.InvalidArgumentError):
        index.set_attribute("消费金额", [keys[0]], [1.234])


def test_attributes_survive_reopen(tmp_path):
    _, keys, _, orders, _, _ = build()
    path = str(tmp_path / "idx")
    with tagindex.Index.open(path, create_if_missing=True) as disk:
        disk.add_customers(keys)
        disk.create_attribute("订单数", type="int64")
        disk.set_attribute("订单数", keys, pd.array(orders, dtype="Int64"))
        before = disk.count("订单数 >= 3")
    with tagindex.Index.open(path, create_if_missing=True) as disk:  # replayed from the log
        assert disk.count("订单数 >= 3") == before
        disk.checkpoint()
    with tagindex.Index.open(path, create_if_missing=True) as disk:  # from the snapshot
        assert disk.count("订单数 >= 3") == before
        assert disk.attribute("订单数").count == sum(o is not None for o in orders)


def test_from_dataframe_with_attribute_columns():
    df = pd.DataFrame({
        "user_id": ["1", "2", "C3", "4"],              # "C3" is a bad int64 key: rejected
        "vip": [True, False, True, True],
        "消费金额": [1299.5, None, 10.0, 0.01],
        "订单数": pd.array([3, 1, None, pd.NA], dtype="Int64"),
        "最近购买": pd.to_datetime(["2026-11-01", None, "2026-01-01", "2026-10-15"]),
    })
    with pytest.warns(tagindex.RejectedRowsWarning):
        index = tagindex.Index.from_dataframe(
            df, key="user_id", tags=["vip"],
            attributes={"消费金额": "decimal(2)", "订单数": "int64", "最近购买": "date"})
    assert len(index.all_customers()) == 3
    assert index.count("消费金额 >= 1000") == 1
    assert index.count("消费金额 IS NULL") == 1           # customer 2
    assert index.count("订单数 IS NOT NULL") == 2
    assert index.count("vip AND 最近购买 >= 2026-10-01") == 2
    assert index.summarize("消费金额")["sum"] == decimal.Decimal("1299.51")
    bad = df.iloc[[0, 1, 3]].copy()
    bad["消费金额"] = [1.234, None, 1.0]
    with pytest.raises(tagindex.InvalidArgumentError, match="position 0"):
        tagindex.Index.from_dataframe(bad, key="user_id", attributes={"消费金额": "decimal(2)"})


def test_pickle_keeps_attribute_columns():
    import pickle

    index, keys, vip, orders, cents, days = build()
    index.remove_customer(keys[5])
    copy = pickle.loads(pickle.dumps(index))
    assert [a.name for a in copy.attributes()] == [a.name for a in index.attributes()]
    for q in ("订单数 >= 3", "消费金额 < 500.25 AND 高价值客户", "最近购买 IS NULL",
              "最近购买 BETWEEN 2026-03-01 AND 2026-06-30"):
        assert copy.count(q) == index.count(q), q
    assert copy.summarize("消费金额") == index.summarize("消费金额")
    assert copy.attribute("消费金额").scale == 2
