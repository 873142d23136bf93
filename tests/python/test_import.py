"""Index.import_csv / import_dataframe / from_dataframe: one behaviour for CSV
files and pandas frames, checked against plain Python sets."""

import csv
import random
import warnings

import numpy as np
import pandas as pd
import pytest

import tagindex

SHOP = ("\ufeff客户ID,高价值客户,兴趣,城市\r\n"
        "1001,1,\"电子产品,运动\",上海\r\n"
        "1002,否,运动,北京\r\n"
        "C1004,1,运动,上海\r\n"
        "1003,maybe,运动,上海\r\n"
        "1002,1,图书,广州\r\n")


def test_import_csv_reports_rejects_and_imports_good_rows(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(SHOP, encoding="utf-8", newline="")
    index = tagindex.Index()
    rejects = tmp_path / "rejects.csv"
    report = index.import_csv(path, key="客户ID", tags=["高价值客户"],
                              multi={"兴趣": "兴趣爱好类"}, categories=["城市"],
                              rejects=str(rejects))
    assert isinstance(report, tagindex.ImportReport)
    assert (report.rows_read, report.rows_imported, report.rows_rejected) == (5, 3, 2)
    assert [(r.line, r.column) for r in report.rejects] == [(4, "客户ID"), (5, "高价值客户")]
    assert 'key "C1004" is not an integer' in report.rejects[0].reason
    assert str(report.rejects[0]).endswith('shop.csv:4: column \'客户ID\': key "C1004" is not '
                                           'an integer')
    assert report.rejects[0].raw == "C1004,1,运动,上海".encode()
    assert [(r.kind, r.subject) for r in report.rejects] == [("bad_key", "C1004"),
                                                            ("bad_value", "maybe")]
    assert sorted(index.tag("高价值客户").keys().tolist()) == [1001, 1002]
    assert index.tag("兴趣爱好类:运动").keys().tolist() == [1001, 1002]
    assert index.tag("城市:广州").keys().tolist() == [1002]
    with open(rejects, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["line"] for r in rows] == ["4", "5"]
    # Idempotent.
    again = index.import_csv(path, key="客户ID", tags=["高价值客户"],
                             multi={"兴趣": "兴趣爱好类"}, categories=["城市"])
    assert again.customers_added == 0 and again.tags_created == 0


def test_import_csv_errors(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(SHOP, encoding="utf-8")
    index = tagindex.Index()
    for threads in (1, 2):
        index = tagindex.Index()
        with pytest.raises(tagindex.InvalidArgumentError, match="strict") as e:
            index.import_csv(path, key="客户ID", tags=["高价值客户"], strict=True,
                             batch_rows=1, threads=threads)
        assert (e.value.kind, e.value.subject) == ("bad_key", "C1004")
        assert len(index) == 2   # the rows before the bad one
    with pytest.raises(tagindex.InvalidArgumentError, match="declares string keys") as e:
        index.import_csv(path, key="客户ID", key_kind="string")
    assert (e.value.kind, e.value.subject) == ("bad_value", "key_kind")
    with pytest.raises(tagindex.InvalidArgumentError, match="not in the header") as e:
        index.import_csv(path, key="nope")
    assert (e.value.kind, e.value.subject) == ("bad_value", "nope")
    with pytest.raises(tagindex.NotFoundError, match="missing.csv") as e:
        index.import_csv(tmp_path / "missing.csv", key="客户ID")
    assert e.value.kind == "not_found"
    with pytest.raises(tagindex.InvalidArgumentError, match="attribute column .消费金额. is not"):
        index.import_csv(path, key="客户ID", attributes=["消费金额"])


def test_import_csv_attribute_columns_against_python(tmp_path):
    """Typed attribute columns from a CSV, compared with Python's own reading
    of the same rows (Decimal, date, int; empty = NULL; last row wins)."""
    import datetime
    from decimal import Decimal
    rng = random.Random(77)
    lines = ["客户ID,消费金额,最近购买,订单数"]
    model = {}
    bad = set()
    for i in range(400):
        key = rng.randrange(60)
        spend = "" if rng.random() < 0.2 else f"{rng.randrange(-500, 100000) / 100:.2f}"
        day = "" if rng.random() < 0.2 else (datetime.date(2025, 1, 1) +
                                             datetime.timedelta(days=rng.randrange(600))).isoformat()
        orders = "" if rng.random() < 0.2 else str(rng.randrange(20))
        if rng.random() < 0.05:
            spend = "1.234"   # three decimals: the row is rejected
            bad.add(i + 2)
        lines.append(f"{key},{spend},{day},{orders}")
        if i + 2 in bad:
            continue
        m = model.setdefault(key, {})
        for col, v, conv in (("消费金额", spend, Decimal), ("最近购买", day, datetime.date.fromisoformat),
                             ("订单数", orders, int)):
            if v:
                m[col] = conv(v)
    path = tmp_path / "crm.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = tagindex.Index()
    report = index.import_csv(path, key="客户ID", attributes={"消费金额": "decimal(2)",
                                                             "最近购买": "date", "订单数": None},
                              batch_rows=37)
    assert {r.line for r in report.rejects} == bad
    assert all(r.column == "消费金额" for r in report.rejects)
    assert index.attribute("订单数").type == "int64"
    for key, values in model.items():
        row = index.row_of(key)
        for col in ("消费金额", "最近购买", "订单数"):
            assert index.attribute_value(col, row=row) == values.get(col), (key, col)


def test_string_keys_are_declared():
    df = pd.DataFrame({"phone": ["13800000000", "C1004", None], "vip": [1, 0, 1]})
    index = tagindex.Index.from_dataframe(df, key="phone", key_kind="string", tags=["vip"])
    assert index.key_kind == "string"
    assert index.tag("vip").keys().tolist() == ["13800000000"]
    assert index.last_import.rows_rejected == 1   # the missing key
    assert index.last_import.rejects[0].record == 2


def test_from_dataframe_rejects_rows_instead_of_raising():
    df = pd.DataFrame({"user_id": ["1", "2", "C1004", "4", None],
                       "vip": [True, False, True, "maybe", True],
                       "tags": ["高价值客户,电子产品", "", "运动", "运动", "运动"]})
    with pytest.warns(tagindex.RejectedRowsWarning, match="3 of 5 rows rejected"):
        index = tagindex.Index.from_dataframe(df, key="user_id", tags=["vip"],
                                              tag_column="tags")
    assert index.key_kind == "int64"   # declared by default, never guessed
    report = index.last_import
    assert [r.record for r in report.rejects] == [2, 3, 4]
    assert "C1004" in report.rejects[0].reason
    assert "maybe" in report.rejects[1].reason
    assert "empty key" in report.rejects[2].reason
    assert str(report.rejects[0]).startswith("row 2: ")
    # Multi-value cells are split, never one tag "高价值客户,电子产品".
    assert index.tag("高价值客户").keys().tolist() == [1]
    assert index.tag("电子产品").keys().tolist() == [1]
    assert index.tag("vip").keys().tolist() == [1]
    with pytest.raises(tagindex.InvalidArgumentError, match="strict"):
        tagindex.Index.from_dataframe(df, key="user_id", tags=["vip"], strict=True)


def test_dataframe_and_csv_give_the_same_index(tmp_path):
    seed = 1599
    rng = random.Random(seed)
    n = 3000
    frame = pd.DataFrame({
        "id": [rng.randrange(800) for _ in range(n)],
        "vip": [rng.random() < 0.3 for _ in range(n)],
        "兴趣": ["|".join(x for x in ["运动", "图书", "电子"] if rng.random() < 0.4)
               for _ in range(n)],
        "城市": [rng.choice(["上海", "北京", None]) for _ in range(n)],
    })
    path = tmp_path / "f.csv"
    frame.to_csv(path, index=False)
    a = tagindex.Index()
    a.import_csv(path, key="id", tags=["vip"], multi={"兴趣": "兴趣"}, separator="|",
                 categories=["城市"])
    b = tagindex.Index.from_dataframe(frame, key="id", tags=["vip"], multi={"兴趣": "兴趣"},
                                      separator="|", categories=["城市"])
    # Python-set oracle: merge semantics, last non-empty city wins.
    model = {}
    for row in frame.itertuples(index=False):
        tags = model.setdefault(row.id, set())
        if row.vip:
            tags.add(":vip")
        tags.update(f"兴趣:{x}" for x in row.兴趣.split("|") if x)
        if isinstance(row.城市, str):
            model[row.id] = {t for t in tags if not t.startswith("城市:")} | {f"城市:{row.城市}"}
    for index in (a, b):
        got = {}
        for tag in index.tags:
            for k in tag.keys().tolist():
                got.setdefault(k, set()).add(f"{tag.category}:{tag.name}")
        assert len(index) == len(model), seed
        assert {k: v for k, v in got.items()} == {k: v for k, v in model.items() if v}, seed


def test_demo_shop_and_queries():
    index = tagindex.Index.demo(10000)
    assert len(index) == 10000
    queries = tagindex.demo_queries()
    assert len(queries) == 12
    for text, description in queries:
        assert 0 < index.count(text) < 10000, text
        assert description
