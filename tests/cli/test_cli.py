"""End-to-end tests of the `tagindex` command: the built binary on generated
CSV fixtures, with the Python package (the same library) as the oracle for
what the index holds. ctest runs this with TAGINDEX_CLI set to the binary and
PYTHONPATH to the build tree's package.
"""

import csv
import io
import json
import os
import random
import shutil
import subprocess
import sys

import pytest

import tagindex

CLI = os.environ.get("TAGINDEX_CLI", "")

pytestmark = pytest.mark.skipif(not CLI or not os.path.exists(CLI),
                                reason="TAGINDEX_CLI is not set to the built tagindex binary")


def run(*args, stdin=None, check_rc=None):
    p = subprocess.run([CLI, *map(str, args)], input=stdin, capture_output=True, text=True,
                       timeout=300)
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout, p.stderr)
    return p


SHOP = ("\ufeff客户ID,高价值客户,兴趣,城市,备注\r\n"
        "1001,1,\"电子产品,运动\",上海,\"说明, 带逗号\"\r\n"
        "1002,0,运动,北京,\"两行\r\n备注\"\r\n"
        "1003,是,,上海,\r\n"
        "abc,1,运动,上海,bad key\r\n"           # line 6
        ",1,运动,上海,empty key\r\n"            # line 7
        "1004,maybe,运动,上海,bad bool\r\n"     # line 8
        "1005,1\r\n"                             # line 9
        "1006,1,\"x\"y,上海,\r\n"                # line 10
        "1007,1,运动,\udcff,\r\n"                # line 11: invalid UTF-8 (surrogateescape)
        "1008,1,\"" + "长" * 70 + "\",上海,\r\n"  # line 12: tag name over 64 code points
        "1002,1,图书,广州,again\r\n")            # line 13

EXPECTED_REJECTS = {
    6: ("客户ID", 'key "abc" is not an integer'),
    7: ("客户ID", "empty key"),
    8: ("高价值客户", 'not a boolean: "maybe"'),
    9: ("", "expected 5 fields (as in the header), found 2"),
    10: ("", "column 11: unexpected character after a closing quote"),
    11: ("城市", "invalid UTF-8"),
    12: ("兴趣", "64"),
}
MAPPING = ["--key", "客户ID", "--key-kind", "int64", "--tag", "高价值客户",
           "--multi", "兴趣=兴趣爱好类", "--category", "城市"]


def write_shop(path):
    with open(path, "wb") as f:
        f.write(SHOP.encode("utf-8", errors="surrogateescape"))


def open_ro(path):
    return tagindex.Index.open(str(path), read_only=True, create_if_missing=False)


@pytest.fixture
def shop(tmp_path):
    csv_path = tmp_path / "shop.csv"
    write_shop(csv_path)
    return csv_path


def test_import_reports_every_bad_row_and_imports_every_good_one(tmp_path, shop):
    idx = tmp_path / "idx"
    rejects = tmp_path / "rejects.csv"
    p = run("import", idx, shop, *MAPPING, "--rejects", rejects, check_rc=0)
    # Messages on stderr, nothing on stdout; no progress bar without a terminal.
    assert p.stdout == ""
    assert "import [" not in p.stderr and "\r" not in p.stderr
    for line, (column, reason) in EXPECTED_REJECTS.items():
        assert f"shop.csv:{line}: " in p.stderr
    assert "imported 4 of 11 rows" in p.stderr
    assert "7 rejected" in p.stderr
    # The rejects file: one row per bad line, with the reason.
    with open(rejects, encoding="utf-8", errors="surrogateescape", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["line"]) for r in rows] == sorted(EXPECTED_REJECTS)
    for r in rows:
        column, reason = EXPECTED_REJECTS[int(r["line"])]
        assert r["column"] == column, r
        assert reason in r["reason"], r
        assert r["file"].endswith("shop.csv")
    assert rows[0]["row"] == "abc,1,运动,上海,bad key"
    # Every good row arrived (the library is the oracle).
    with open_ro(idx) as index:
        assert len(index) == 3
        assert sorted(index.tag("高价值客户").keys().tolist()) == [1001, 1002, 1003]
        assert index.tag("兴趣爱好类:运动").keys().tolist() == [1001, 1002]
        assert index.tag("兴趣爱好类:电子产品").keys().tolist() == [1001]
        assert index.tag("兴趣爱好类:图书").keys().tolist() == [1002]
        assert index.tag("城市:上海").keys().tolist() == [1001, 1003]
        assert index.tag("城市:广州").keys().tolist() == [1002]   # the last value wins
        assert index.category("城市").exclusive


def test_import_json_report_and_idempotent_reimport(tmp_path, shop):
    idx = tmp_path / "idx"
    first = json.loads(run("import", idx, shop, *MAPPING, "--json", check_rc=0).stdout)
    assert first["rows_read"] == 11 and first["rows_imported"] == 4
    assert first["rows_rejected"] == 7
    assert [r["line"] for r in first["rejects"]] == sorted(EXPECTED_REJECTS)
    assert first["customers_added"] == 3 and first["customers"] == 3
    with open_ro(idx) as index:
        before = {t.qualified_name: t.count for t in index.tags}
    second = json.loads(run("import", idx, shop, *MAPPING, "--json", check_rc=0).stdout)
    assert second["customers_added"] == 0 and second["tags_created"] == 0
    with open_ro(idx) as index:
        assert {t.qualified_name: t.count for t in index.tags} == before


def test_strict_stops_at_the_first_bad_row(tmp_path, shop):
    idx = tmp_path / "idx"
    p = run("import", idx, shop, *MAPPING, "--strict", check_rc=1)
    assert 'shop.csv:6: column "客户ID": key "abc" is not an integer (strict)' in p.stderr
    with open_ro(idx) as index:
        assert len(index) == 3   # the rows before it are in


def test_key_kind_is_declared_not_guessed(tmp_path, shop):
    p = run("import", tmp_path / "idx", shop, "--key", "客户ID", check_rc=1)
    assert "--key-kind is required" in p.stderr
    run("import", tmp_path / "idx2", shop, *MAPPING, check_rc=0)
    p = run("import", tmp_path / "idx2", shop, "--key", "客户ID", "--key-kind", "string",
            check_rc=1)
    assert "declares string keys but the index has int64 keys" in p.stderr
    p = run("import", tmp_path / "idx3", shop, "--key", "没有", "--key-kind", "int64",
            check_rc=1)
    assert 'key column "没有" is not in the header' in p.stderr
    p = run("import", tmp_path / "idx4", tmp_path / "missing.csv", *MAPPING, check_rc=1)
    assert "missing.csv" in p.stderr


def test_mapping_file(tmp_path, shop):
    mapping = tmp_path / "m.toml"
    mapping.write_text('key = "客户ID"\nkey-kind = "int64"\ntag = ["高价值客户=VIP"]\n'
                       'multi = ["兴趣=兴趣爱好类"]\ncategory = ["城市"]\n', encoding="utf-8")
    run("import", tmp_path / "idx", shop, "--mapping", mapping, check_rc=0)
    with open_ro(tmp_path / "idx") as index:
        assert sorted(index.tag("VIP").keys().tolist()) == [1001, 1002, 1003]
    mapping.write_text('key = "客户ID"\nkye-kind = "int64"\n', encoding="utf-8")
    p = run("import", tmp_path / "idx5", shop, "--mapping", mapping, check_rc=1)
    assert 'unknown key "kye-kind"' in p.stderr


def test_replace_versus_merge(tmp_path):
    idx = tmp_path / "idx"
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("id,vip,兴趣,城市\n1,1,运动|图书,上海\n2,1,运动,北京\n", encoding="utf-8")
    b.write_text("id,vip,兴趣,城市\n1,0,图书,\n", encoding="utf-8")
    m = ["--key", "id", "--key-kind", "int64", "--tag", "vip", "--multi", "兴趣=兴趣",
         "--separator", "|", "--category", "城市"]
    run("import", idx, a, *m, check_rc=0)
    run("import", idx, b, *m, check_rc=0)   # merge: nothing taken away
    with open_ro(idx) as index:
        assert index.tag("vip").keys().tolist() == [1, 2]
        assert index.tag("兴趣:运动").keys().tolist() == [1, 2]
        assert index.tag("城市:上海").keys().tolist() == [1]
    run("import", idx, b, *m, "--replace", check_rc=0)
    with open_ro(idx) as index:
        assert index.tag("vip").keys().tolist() == [2]
        assert index.tag("兴趣:运动").keys().tolist() == [2]
        assert index.tag("兴趣:图书").keys().tolist() == [1]
        assert index.count("城市 IS NULL") == 1 and 1 in index.query("城市 IS NULL")


def random_csv(path, rng, rows):
    """A file with random good and bad rows; returns the oracle."""
    interests = ["电子产品", "运动", "美妆", "图书"]
    cities = ["上海", "北京", "杭州"]
    model, bad_lines = {}, set()
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("客户ID,高价值客户,兴趣,城市\r\n")
        line = 2
        for _ in range(rows):
            key = rng.randrange(200)
            vip = rng.random() < 0.3
            items = [i for i in interests if rng.random() < 0.3]
            city = rng.choice(cities + [""])
            fault = rng.random() < 0.1
            key_cell = f"k{key}" if fault else str(key)
            f.write(f'{key_cell},{int(vip)},"{",".join(items)}",{city}\r\n')
            if fault:
                bad_lines.add(line)
            else:
                tags = model.setdefault(key, set())
                if vip:
                    tags.add(":高价值客户")
                tags.update(f"兴趣爱好类:{i}" for i in items)
                if city:
                    tags = {t for t in tags if not t.startswith("城市:")} | {f"城市:{city}"}
                    model[key] = tags
            line += 1
    return model, bad_lines


def test_random_files_agree_with_a_python_model(tmp_path):
    seed = 1515
    rng = random.Random(seed)
    path = tmp_path / "r.csv"
    model, bad_lines = random_csv(path, rng, 2000)
    idx = tmp_path / "idx"
    out = run("import", idx, path, *MAPPING, "--json", "--batch-rows", "97", check_rc=0)
    report = json.loads(out.stdout)
    assert report["rows_rejected"] == len(bad_lines), seed
    got = {}
    with open_ro(idx) as index:
        assert len(index) == len(model), seed
        for info in index.tags:
            for key in info.keys().tolist():
                got.setdefault(key, set()).add(f"{info.category}:{info.name}")
        for key, tags in model.items():
            assert got.get(key, set()) == tags, (seed, key)
        # Printed counts agree with the library.
        for q in ["高价值客户 AND 城市 = 上海", "兴趣爱好类:运动 OR 兴趣爱好类:图书", "ALL"]:
            printed = run("count", idx, q, check_rc=0).stdout.strip()
            assert int(printed) == index.count(q), q
            data = json.loads(run("count", idx, q, "--json", check_rc=0).stdout)
            assert data["count"] == index.count(q) and data["query"] == q


def test_new_index_snapshot_path_equals_the_logged_path(tmp_path):
    """A new index is built in memory and saved once (no log records); an
    existing one takes the batches through its log. Both, with one thread or
    two, hold the same customers, row ids and tags."""
    seed = 1516
    rng = random.Random(seed)
    path = tmp_path / "r.csv"
    model, bad_lines = random_csv(path, rng, 3000)
    header_only = tmp_path / "h.csv"
    header_only.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n",
                           encoding="utf-8")

    def contents(idx):
        with open_ro(idx) as index:
            return {(info.qualified_name, tuple(info.rows().tolist())) for info in index.tags}, \
                {key: index.row_of(key) for key in model}

    results = []
    for threads in ("1", "2"):
        fresh = tmp_path / f"fresh{threads}"
        out = json.loads(run("import", fresh, path, *MAPPING, "--json", "--batch-rows", "101",
                             "--threads", threads, check_rc=0).stdout)
        assert out["rows_rejected"] == len(bad_lines), seed
        # Saved as generation 0 with an empty log: nothing was logged.
        assert sorted(p.name for p in fresh.glob("wal-*")) == ["wal-00000000000000000000.log"]
        assert (fresh / "wal-00000000000000000000.log").stat().st_size <= 64
        results.append(contents(fresh))
        logged = tmp_path / f"logged{threads}"
        run("import", logged, header_only, *MAPPING, check_rc=0)   # an (empty) index exists
        out2 = json.loads(run("import", logged, path, *MAPPING, "--json", "--batch-rows", "101",
                              "--threads", threads, check_rc=0).stdout)
        # (The header-only import created the tag columns' tags already.)
        same = [k for k in out if "seconds" not in k and k != "tags_created"]
        assert {k: out2[k] for k in same} == {k: out[k] for k in same}, seed
        results.append(contents(logged))
    assert all(r == results[0] for r in results), seed
    # An empty directory is a new index too; a file is not a directory.
    empty = tmp_path / "empty"
    empty.mkdir()
    run("import", empty, path, *MAPPING, check_rc=0)
    assert contents(empty) == results[0]
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    assert run("import", not_dir, path, *MAPPING).returncode != 0


@pytest.fixture
def demo_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo") / "shop"
    p = run("demo", "--customers", 20000, "--dir", d, "--json", "--repeat", 1, check_rc=0)
    return d, json.loads(p.stdout)


def test_demo_json_counts_match_the_library(demo_dir):
    d, report = demo_dir
    assert report["customers"] == 20000 and len(report["queries"]) == 12
    with open_ro(d) as index:
        assert len(index) == 20000
        for q in report["queries"]:
            assert q["count"] == index.count(q["query"]), q["query"]
    # The same data as the in-memory Python demo.
    mem = tagindex.Index.demo(20000)
    for q, _ in tagindex.demo_queries():
        assert mem.count(q) == [x for x in report["queries"] if x["query"] == q][0]["count"]


def test_demo_prints_a_table():
    p = run("demo", "--customers", 5000, "--repeat", 1, check_rc=0)
    assert "segment query" in p.stdout and "高价值客户 AND 电子产品 AND NOT 流失风险" in p.stdout
    assert len([l for l in p.stdout.splitlines() if l.strip()[:2].strip().isdigit()]) == 12


def test_query_count_explain_stats_tags_json(demo_dir):
    d, _ = demo_dir
    with open_ro(d) as index:
        q = "高价值客户 AND 电子产品 AND NOT 流失风险"
        data = json.loads(run("query", d, q, "--json", "--limit", 5, check_rc=0).stdout)
        assert data["count"] == index.count(q)
        assert data["keys"] == index.query(q)[:5].keys().tolist()
        keys = run("query", d, q, check_rc=0).stdout.split()
        assert [int(k) for k in keys] == index.query(q).keys().tolist()
        e = json.loads(run("explain", d, q, "--json", check_rc=0).stdout)
        assert e["count"] == index.count(q) and e["plan"]["operation"] == "AND"
        assert "est=" in run("explain", d, q, check_rc=0).stdout
        stats = json.loads(run("stats", d, "--json", check_rc=0).stdout)
        assert stats["customers"] == len(index)
        by_name = {(c["name"], t["name"]): t for c in stats["categories"] for t in c["tags"]}
        for info in index.tags:
            t = by_name[(info.category, info.name)]
            assert t["count"] == info.count
            assert abs(t["coverage"] - info.count / len(index)) < 1e-9
        gender = [c for c in stats["categories"] if c["name"] == "性别"][0]
        assert gender["exclusive"] and gender["assigned"] == len(index)
        tags = json.loads(run("tags", d, "--json", check_rc=0).stdout)
        assert {(t["category"], t["name"], t["count"]) for t in tags} == \
            {(i.category, i.name, i.count) for i in index.tags}
        table = run("stats", d, check_rc=0).stdout
        assert "coverage" in table and "新客户" in table


def test_export_streams_keys_and_tag_columns(demo_dir, tmp_path):
    d, _ = demo_dir
    q = "流失风险 AND 高价值客户"
    out = tmp_path / "winback.csv"
    run("export", d, q, "--columns", "电子产品,会员等级:金卡会员", "-o", out, check_rc=0)
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["key", "电子产品", "会员等级:金卡会员"]
    with open_ro(d) as index:
        seg = index.query(q)
        assert [int(r[0]) for r in rows[1:]] == seg.keys().tolist()
        e = set(index.tag("电子产品").keys().tolist())
        g = set(index.tag("会员等级:金卡会员").keys().tolist())
        for r in rows[1:]:
            assert r[1] == ("1" if int(r[0]) in e else "0")
            assert r[2] == ("1" if int(r[0]) in g else "0")
    stdout = run("export", d, q, "--no-header", check_rc=0).stdout
    assert len(stdout.splitlines()) == len(rows) - 1


def test_errors_exit_codes_and_caret(demo_dir, tmp_path):
    d, _ = demo_dir
    p = run("count", d, "高价值客户 AND", check_rc=1)
    assert p.stdout == ""
    assert 'expected an operand after "AND"' in p.stderr
    assert "^" in p.stderr
    p = run("count", d, "高价值客护", check_rc=1)
    assert "高价值客户" in p.stderr   # did you mean
    run("count", tmp_path / "nope", "ALL", check_rc=1)
    run("bogus-command", check_rc=1)
    run("count", check_rc=1)
    # A corrupt index is an internal/I-O error: exit 2.
    broken = tmp_path / "broken"
    shutil.copytree(d, broken)
    snap = sorted(broken.glob("snapshot-*"))[-1]
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snap.write_bytes(bytes(data))
    p = run("check", broken)
    assert p.returncode == 2, p.stderr


def test_json_errors_carry_the_kind(tmp_path, shop):
    """With --json an error is also a JSON object on stdout, with the
    ErrorInfo kind and subject; the exit code follows the kind."""
    def error(*args, rc):
        p = run(*args, "--json", check_rc=rc)
        assert "tagindex: error:" in p.stderr
        return json.loads(p.stdout.splitlines()[-1])["error"]

    e = error("import", tmp_path / "a", shop, *MAPPING, "--strict", rc=1)
    assert (e["kind"], e["subject"], e["code"], e["exit_code"]) == \
        ("bad_key", "abc", "INVALID_ARGUMENT", 1)
    assert e["path"].endswith("shop.csv") and e["detail"] == "line 6"
    e = error("import", tmp_path / "b", shop, "--key", "没有", "--key-kind", "int64", rc=1)
    assert (e["kind"], e["subject"]) == ("bad_value", "没有")
    e = error("import", tmp_path / "c", tmp_path / "missing.csv", *MAPPING, rc=1)
    assert e["kind"] == "not_found" and e["path"].endswith("missing.csv")
    run("import", tmp_path / "d", shop, *MAPPING, check_rc=0)
    e = error("count", tmp_path / "d", "高价值客护", rc=1)
    assert e["kind"] == "unknown_tag" and "高价值客户" in e["suggestions"]
    # A corrupt index: corrupt_file, exit 2.
    snap = sorted((tmp_path / "d").glob("snapshot-*"))[-1]
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0xFF
    snap.write_bytes(bytes(data))
    e = error("count", tmp_path / "d", "ALL", rc=2)
    assert e["kind"] == "corrupt_file" and e["exit_code"] == 2
    # Without --json nothing is printed on stdout.
    p = run("count", tmp_path / "d", "ALL", check_rc=2)
    assert p.stdout == ""
    # The JSON reject list names kind and subject too.
    out = json.loads(run("import", tmp_path / "e", shop, *MAPPING, "--json", check_rc=0).stdout)
    assert [(r["line"], r["kind"]) for r in out["rejects"]][:3] == [
        (6, "bad_key"), (7, "bad_key"), (8, "bad_value")]


def test_check_reports_a_healthy_index(demo_dir):
    d, _ = demo_dir
    data = json.loads(run("check", d, "--json", check_rc=0).stdout)
    assert data["ok"] and data["customers"] == 20000 and data["keys_checked"] == 20000
    assert data["problems"] == []
    assert run("check", d, check_rc=0).stdout.strip().splitlines()[-1].startswith("ok")


def test_backup_copies_an_index_that_check_and_queries_agree_on(demo_dir, tmp_path):
    d, _ = demo_dir
    dest = str(tmp_path / "copy")
    data = json.loads(run("backup", d, dest, "--json", check_rc=0).stdout)
    assert data["customers"] == 20000 and data["backup"] == dest
    assert json.loads(run("check", dest, "--json", check_rc=0).stdout)["ok"]
    for q in ("高价值客户 AND NOT 流失风险", "ALL"):
        assert run("count", dest, q, check_rc=0).stdout == run("count", d, q, check_rc=0).stdout
    # A second backup into the same place is refused (exit 1, nothing printed on stdout).
    again = run("backup", d, dest, check_rc=1)
    assert again.stdout == "" and "already holds an index" in again.stderr


def test_import_attribute_columns_and_the_attributes_command(tmp_path):
    """--attribute columns land as typed attributes (checked against Python's
    own parse of the file); bad cells reject their row naming the column;
    `attributes` summarises over everyone and over a segment."""
    from decimal import Decimal
    import datetime
    path = tmp_path / "crm.csv"
    rows = [("1", "1", "1299.50", "2026-08-01", "3"),
            ("2", "0", "88", "2026-11-20", ""),
            ("3", "1", "", "2025-12-31", "7"),
            ("4", "1", "12.345", "2026-01-01", "1"),    # line 5: three decimals
            ("5", "0", "10", "2026-02-30", "1"),        # line 6: no such date
            ("6", "1", "5.5", "2026-03-01", "一")]      # line 7: not an integer
    with open(path, "w", encoding="utf-8") as f:
        f.write("客户ID,高价值客户,消费金额,最近购买,订单数\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    d = tmp_path / "idx"
    p = run("import", d, path, "--key", "客户ID", "--key-kind", "int64", "--tag", "高价值客户",
            "--attribute", "消费金额:decimal(2)", "--attribute", "最近购买:date",
            "--attribute", "订单数=订单:int64", "--json", "--no-progress", check_rc=0)
    report = json.loads(p.stdout)
    assert report["rows_imported"] == 3 and report["rows_rejected"] == 3
    assert [(j["line"], j["column"]) for j in report["rejects"]] == [
        (5, "消费金额"), (6, "最近购买"), (7, "订单数")]
    assert report["attribute_values"] == 7
    ix = open_ro(d)
    good = rows[:3]
    for key, _, spend, last, orders in good:
        row = ix.row_of(int(key))
        assert ix.attribute_value("消费金额", row=row) == (Decimal(spend).quantize(Decimal("0.01"))
                                                           if spend else None)
        assert ix.attribute_value("最近购买", row=row) == datetime.date.fromisoformat(last)
        assert ix.attribute_value("订单", row=row) == (int(orders) if orders else None)
    ix.close()
    assert run("count", d, "消费金额 >= 100 AND 高价值客户", check_rc=0).stdout.strip() == "1"
    out = json.loads(run("attributes", d, "--json", check_rc=0).stdout)
    by = {a["name"]: a for a in out}
    assert by["消费金额"] == {"name": "消费金额", "type": "decimal(2)", "count": 2,
                           "min": "88.00", "max": "1299.50", "mean": "693.7500"}
    assert by["最近购买"]["min"] == "2025-12-31" and by["最近购买"]["max"] == "2026-11-20"
    assert by["订单"]["count"] == 2 and by["订单"]["mean"] == "5.0000"
    seg = json.loads(run("attributes", d, "--where", "高价值客户", "--json", check_rc=0).stdout)
    assert {a["name"]: a["count"] for a in seg} == {"消费金额": 1, "最近购买": 2, "订单": 2}
    table = run("attributes", d, check_rc=0).stdout
    assert "decimal(2)" in table and "1299.50" in table
    # A declared type that contradicts the existing column is a mapping error.
    p = run("import", d, path, "--key", "客户ID", "--key-kind", "int64",
            "--attribute", "消费金额:date", "--no-progress", check_rc=1)
    assert "is declared date but attribute \"消费金额\" exists as decimal(2)" in p.stderr


@pytest.mark.parametrize("command", ["import", "query", "count", "explain", "stats", "tags",
                                     "export", "check", "demo", "shell", "attributes", "profile",
                                     "top", "cooccur", "crosstab", "coverage", "segment"])
def test_every_subcommand_has_help_with_examples(command):
    p = run(command, "--help", check_rc=0)
    assert "Example" in p.stdout and "tagindex " + command in p.stdout


def test_shell_through_a_pipe(demo_dir):
    d, _ = demo_dir
    script = ("高价值客户 AND 电子产品\n\\timing\n新客户\n\\explain 新客户 AND 活跃客户\n"
              "高价值客户 AND\n\\tags\n\\keys 新客户\n\\q\n")
    p = run("shell", d, stdin=script, check_rc=0)
    with open_ro(d) as index:
        n1 = index.count("高价值客户 AND 电子产品")
        n2 = index.count("新客户")
        first = index.query("新客户")[:20].keys().tolist()
    lines = p.stdout.splitlines()
    assert lines[0] == f"{n1:,} customers"
    assert "Timing is on." in lines
    assert f"{n2:,} customers" in lines
    assert any(l.startswith("Time: ") for l in lines)
    assert any("est=" in l for l in lines)
    assert 'expected an operand after "AND"' in p.stderr and "^" in p.stderr
    assert any("新客户" in l and "忠诚度类" in l for l in lines)
    assert [int(x) for x in lines if x.isdigit()] == first


def test_shell_through_a_pseudo_terminal(demo_dir, tmp_path):
    if shutil.which("script") is None:
        pytest.skip("util-linux `script` is not installed")
    d, _ = demo_dir
    history = tmp_path / "history"
    with open_ro(d) as index:
        n = index.count("新客户 AND 活跃客户")
    # `script` gives the shell a terminal: libedit reads the lines, echoes
    # them, and keeps a history file.
    cmd = f"{CLI} shell {d} --history {history}"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       input="新客户 AND 活跃客户\n\\timing\n\\q\n", capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "tagindex shell:" in p.stdout
    assert f"{n:,} customers" in p.stdout
    assert "Timing is on." in p.stdout
    assert history.exists()   # libedit wrote the history file


def test_analytics_commands_agree_with_python_sets(demo_dir):
    """profile / top / cooccur / crosstab / coverage --json against sets of
    keys read through the Python package."""
    d, _ = demo_dir
    with open_ro(d) as index:
        universe = set(index.all_customers().keys().tolist())
        members = {(t.category, t.name): set(t.keys().tolist()) for t in index.tags}
    seg = members[("交易行为类", "高价值客户")]
    p = json.loads(run("profile", d, "高价值客户", "--category", "兴趣爱好类", "--json",
                       check_rc=0).stdout)
    assert p["segment_count"] == len(seg)
    interest = sorted(k for k in members if k[0] == "兴趣爱好类")
    assert [(t["category"], t["name"]) for t in p["tags"]] == interest
    for t in p["tags"]:
        m = members[(t["category"], t["name"])]
        assert t["count"] == len(m & seg)
        assert t["tgi"] == pytest.approx(100 * (len(m & seg) / len(seg)) / (len(m) / len(universe)))
    top = json.loads(run("top", d, "高价值客户", "-n", 3, "--json", check_rc=0).stdout)
    want = sorted(members, key=lambda k: -len(members[k] & seg))[:3]
    assert [t["count"] for t in top["tags"]] == [len(members[k] & seg) for k in want]
    names = ["电子产品", "图书音像", "流失风险"]
    sets = [next(v for k, v in members.items() if k[1] == n) for n in names]
    c = json.loads(run("cooccur", d, *names, "--segment", "高价值客户", "--json",
                       check_rc=0).stdout)
    assert c["population"] == len(seg)
    for i, a in enumerate(sets):
        for j, b in enumerate(sets):
            assert c["counts"][i][j] == len(a & b & seg)
    x = json.loads(run("crosstab", d, "会员等级", "性别", "--segment", "高价值客户", "--json",
                       check_rc=0).stdout)
    assert x["total"] == len(seg)
    for r, rn in enumerate(x["rows"]):
        for col, cn in enumerate(x["columns"]):
            assert x["counts"][r][col] == len(members[("会员等级", rn)] & members[("性别", cn)] & seg)
    assert sum(map(sum, x["counts"])) == len(seg)
    cov = json.loads(run("coverage", d, "--json", check_rc=0).stdout)
    for k in cov["categories"]:
        covered = set().union(*(v for key, v in members.items() if key[0] == k["category"]))
        assert k["covered"] == len(covered) and k["uncovered"] == len(universe - covered)
    without = run("coverage", d, "--without", "兴趣爱好类", check_rc=0).stdout.split()
    interest_any = set().union(*(members[k] for k in interest))
    assert set(map(int, without)) == universe - interest_any
    err = run("crosstab", d, "兴趣爱好类", "城市", check_rc=1)
    assert "not exclusive" in err.stderr
    assert run("profile", d, "高价值客户", "--category", "没有这个", check_rc=1).returncode == 1


def test_segment_commands_agree_with_python_sets(tmp_path):
    d = tmp_path / "idx"
    rng = random.Random(5)
    with tagindex.Index.open(str(d), create_if_missing=True) as index:
        keys = list(range(1, 3001))
        index.add_customers(keys)
        members = {}
        for name in ["复购客户", "大促敏感"]:
            members[name] = set(rng.sample(keys, 1200))
            index.create_tag(name).add(sorted(members[name]))
    want = members["复购客户"] & members["大促敏感"]
    saved = json.loads(run("segment", "save", d, "双十一老客", "复购客户 AND 大促敏感", "--json",
                           check_rc=0).stdout)
    assert saved["kind"] == "static" and saved["count"] == len(want)
    run("segment", "save", d, "促销", "大促敏感", "--dynamic", check_rc=0)
    assert int(run("count", d, "人群:双十一老客", check_rc=0).stdout) == len(want)
    listed = json.loads(run("segment", "list", d, "--json", check_rc=0).stdout)
    assert [(x["name"], x["kind"]) for x in listed] == [("促销", "dynamic"), ("双十一老客", "static")]
    # Change the index through Python, then diff the frozen segment with its query now.
    left = sorted(want)[:40]
    with tagindex.Index.open(str(d), create_if_missing=True) as index:
        index.remove_tag("复购客户", left)
    diff = json.loads(run("segment", "diff", d, "双十一老客", "--json", check_rc=0).stdout)
    assert (diff["left"], diff["entered"], diff["stayed"]) == (40, 0, len(want) - 40)
    vs = json.loads(run("segment", "diff", d, "双十一老客", "--against", "促销", "--json",
                        check_rc=0).stdout)
    assert vs["entered"] == len(members["大促敏感"] - want) and vs["left"] == 0
    out = tmp_path / "seg.roaring"
    run("segment", "export", d, "双十一老客", "-o", out, check_rc=0)
    assert set(tagindex.parse_portable_rows(out.read_bytes()).tolist()) == \
        {k - 1 for k in want}  # rows follow first sight: key k is row k - 1
    run("segment", "rename", d, "双十一老客", "老客", check_rc=0)
    run("segment", "drop", d, "促销", check_rc=0)
    assert [x["name"] for x in json.loads(run("segment", "list", d, "--json", check_rc=0).stdout)] == ["老客"]
    err = run("segment", "drop", d, "促销", check_rc=1)
    assert "unknown saved segment" in err.stderr
    assert run("segment", "save", d, "老客", "大促敏感", check_rc=1).returncode == 1


def test_commands_never_create_an_index_unasked_or_over_a_former_one(tmp_path, shop):
    # Read commands on a missing path: an error, and nothing is made.
    missing = tmp_path / "missing"
    run("count", missing, "ALL", check_rc=1)
    run("tags", missing, check_rc=1)
    assert not missing.exists()
    # An index whose snapshot was removed: import (which creates new
    # indexes) and the read commands refuse it as a former index.
    d = tmp_path / "idx"
    run("import", d, shop, *MAPPING, check_rc=0)
    for snapshot in d.glob("snapshot-*"):
        snapshot.unlink()
    p = run("import", d, shop, *MAPPING)
    assert p.returncode == 2, p.stderr
    assert "held a tagindex index" in p.stderr
    p = run("count", d, "ALL")
    assert p.returncode == 2 and "held a tagindex index" in p.stderr
    assert not list(d.glob("snapshot-*"))   # nothing was created over it
