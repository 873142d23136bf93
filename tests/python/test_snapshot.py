"""Snapshots (issue #11) and fork safety from Python."""

import multiprocessing
import threading

import pytest

import tagindex


def _shop(index):
    vip = index.create_tag("高价值客户")
    churn = index.create_tag("流失风险")
    vip.add(list(range(100)))
    churn.add(list(range(50, 150)))
    return vip, churn


def test_snapshot_answers_as_of_its_moment():
    index = tagindex.Index()
    vip, churn = _shop(index)
    snap = index.snapshot()
    before = snap.count("高价值客户 AND NOT 流失风险")
    assert before == 50
    vip.add(list(range(1000, 1100)))
    index.remove_customer(10)
    churn.remove(list(range(50, 100)))
    # The index moved on; the snapshot did not.
    assert index.count("高价值客户 AND NOT 流失风险") == 199
    assert snap.count("高价值客户 AND NOT 流失风险") == before
    assert snap.customer_count == 150
    assert snap.find_customer(10) == 10
    assert snap.key_of(10) == 10
    seg = snap.query("高价值客户")
    assert len(seg) == 100 and 10 in set(seg.keys())
    assert snap.compile("流失风险").count() == 100
    assert snap.sequence < index.snapshot().sequence
    assert ("", "高价值客户") in snap.tag_names()


def test_snapshot_and_segment_outlive_a_closed_index(tmp_path):
    index = tagindex.Index.open(tmp_path / "idx", create_if_missing=True)
    _shop(index)
    snap = index.snapshot()
    seg = index.query("高价值客户")
    index.close()
    assert snap.count("高价值客户") == 100
    # Every read of a snapshot works on after its index is closed.
    assert snap.key_kind == "int64" and len(snap) == 150
    assert snap.tag_info("流失风险").count == 100
    assert snap.profile(snap.query("高价值客户")).set_index("name")["count"].to_dict() == \
        {"高价值客户": 100, "流失风险": 50}
    assert snap.rows_with_tag("高价值客户").tolist() == list(range(100))
    assert sorted(seg.keys())[:3] == [0, 1, 2]


def test_readers_in_threads_see_whole_batches():
    index = tagindex.Index()
    a = index.create_tag("a")
    b = index.create_tag("b")
    stop = threading.Event()
    bad = []

    def reader():
        while not stop.is_set():
            snap = index.snapshot()
            # The writer moves customers from a to b in one batch.
            if snap.count("a OR b") != 200 or snap.count("a AND b") != 0:
                bad.append(snap.sequence)

    a.add(list(range(200)))
    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(200):
        batch = tagindex.WriteBatch(index)
        batch.untag(a, [i])
        batch.tag(b, [i])
        index.write(batch)
    stop.set()
    for t in threads:
        t.join()
    assert bad == []
    assert index.count("b") == 200


def _child_uses_inherited(index, queue):
    results = []
    for call in (lambda: index.create_tag("x"), lambda: index.count("高价值客户"),
                 lambda: index.checkpoint()):
        try:
            call()
            results.append("ok")
        except tagindex.FailedPreconditionError as e:
            results.append("FailedPrecondition: " + str(e))
        except Exception as e:  # noqa: BLE001 (report anything else)
            results.append(type(e).__name__ + ": " + str(e))
    queue.put(results)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs the fork start method")
def test_fork_child_cannot_use_the_parents_index(tmp_path):
    path = tmp_path / "idx"
    index = tagindex.Index.open(path, create_if_missing=True)
    _shop(index)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_uses_inherited, args=(index, queue))
    child.start()
    results = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert len(results) == 3
    for r in results:
        assert r.startswith("FailedPrecondition") and "fork" in r, r
    # The parent's index is intact: it writes, checkpoints and reopens.
    index.create_tag("after")
    index.checkpoint()
    with pytest.raises(tagindex.FailedPreconditionError):
        tagindex.Index.open(path, create_if_missing=True)  # still locked by the parent
    index.close()
    with tagindex.Index.open(path, create_if_missing=True) as again:
        assert again.count("高价值客户 AND NOT 流失风险") == 50
        assert again.tag("after") is not None


def test_backup_while_a_thread_writes_is_one_committed_prefix(tmp_path):
    index = tagindex.Index.open(tmp_path / "live", sync="none", create_if_missing=True)
    t = index.create_tag("t")
    n = 20000
    done = threading.Event()
    errors = []

    def writer():
        try:
            for i in range(n):
                t.add([i])  # customer i is created and tagged in one commit
                if i % 5000 == 4999:
                    index.checkpoint()  # writes go on through checkpoints too
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    th = threading.Thread(target=writer)
    th.start()
    seen = []
    j = 0
    while not done.is_set() or j < 2:
        path = tmp_path / f"backup-{j}"
        index.backup(path)
        copy = tagindex.Index.open(path, create_if_missing=True)
        keys = sorted(copy.query("t").keys())
        # The oracle: customers 0..k-1, all tagged, for some k.
        assert keys == list(range(len(keys))), f"backup {j} is not a prefix"
        assert copy.customer_count == len(keys)
        seen.append(len(keys))
        copy.close()
        j += 1
    th.join()
    assert not errors
    assert seen == sorted(seen)  # backups never go back in time
    with pytest.raises(tagindex.AlreadyExistsError):
        index.backup(tmp_path / "backup-0")
    final = tmp_path / "final"
    index.backup(final)
    assert tagindex.Index.open(final, create_if_missing=True).count("t") == n


# ---- every read of the Index, on a Snapshot (issue #11) ---------------------
#
# The oracle is the Index itself: each read is recorded on the index first,
# then a snapshot is taken, the index is changed in every way a read can see
# (memberships, customers, attributes, saved segments, tags, categories), and
# the snapshot must still give the recorded answer while the index's moved.

import dataclasses  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SEED = 20261201


def _norm(x):
    """A comparable plain value for every kind of answer."""
    if isinstance(x, tagindex.Segment):
        return ("segment", x.to_numpy().tolist(), x.query)
    if isinstance(x, tagindex.Tag):
        return ("tag", x.id)
    if isinstance(x, tagindex.CompiledQuery):
        return ("compiled", x.text, x.count(), x.run().to_numpy().tolist())
    if isinstance(x, tagindex.Explanation):
        return ("explanation", x.query, x.normal_form, x.count)
    if isinstance(x, pd.DataFrame):
        cells = [[_norm(v) for v in row] for row in x.astype(object).values.tolist()]
        return ("frame", type(x).__name__, [str(c) for c in x.columns], list(x.index), cells,
                _norm(dict(x.attrs)))
    if isinstance(x, pd.Series):
        return ("series", [_norm(v) for v in x.tolist()])
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, [_norm(v) for v in x.tolist()])
    if dataclasses.is_dataclass(x):
        return (type(x).__name__,) + tuple(_norm(getattr(x, f.name))
                                           for f in dataclasses.fields(x))
    if isinstance(x, dict):
        return ("dict", sorted((str(k), _norm(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return [_norm(v) for v in x]
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if x is pd.NaT or x is pd.NA:
        return "null"
    return x


def _answer(call, reader):
    try:
        return _norm(call(reader))
    except tagindex.Error as e:
        return ("error", type(e).__name__, str(e))


def _crm(seed):
    """A small shop with tags, exclusive categories, attributes and saved
    segments; the data come from `seed`."""
    rng = random.Random(seed)
    index = tagindex.Index()
    n = 300
    index.add_customers(list(range(n)))
    index.create_category("性别", exclusive=True)
    index.create_category("城市", exclusive=True)
    for name, p in [("高价值客户", 0.3), ("流失风险", 0.4), ("运动", 0.2), ("图书", 0.5)]:
        t = index.create_tag(name, "兴趣" if name in ("运动", "图书") else "")
        t.add([k for k in range(n) if rng.random() < p])
    for cat, names in [("性别", ["男", "女"]), ("城市", ["北京", "上海", "广州"])]:
        tags = [index.create_tag(x, cat) for x in names]
        for k in range(n):
            if rng.random() < 0.9:
                tags[rng.randrange(len(tags))].add([k])
    index.create_attribute("消费金额", type="decimal(2)")
    index.create_attribute("最近购买", type="date")
    keys = [k for k in range(n) if rng.random() < 0.8]
    index.set_attribute("消费金额", keys, [rng.randrange(0, 100000) / 100 for _ in keys])
    index.set_attribute("最近购买", keys,
                        [np.datetime64("2026-01-01") + rng.randrange(300) for _ in keys])
    index.save_segment("老客", "高价值客户 AND NOT 流失风险")
    index.save_segment("动态", "高价值客户 AND 图书", dynamic=True)
    return index


def _change_everything(index, seed):
    rng = random.Random(seed + 1)
    vip = index.tag("高价值客户")
    vip.remove([k for k in vip.keys().tolist() if rng.random() < 0.3])
    vip.add([k for k in range(300) if rng.random() < 0.2])
    index.tag("图书").add([7])
    index.tag("城市:北京").add(list(range(0, 300, 3)))  # moves customers between cities
    index.add_customers([1000, 1001, 1002])
    index.tag("流失风险").add([1000, 1001, 7, 8])
    index.set_attribute("消费金额", [3, 4, 7], [999.5, 1.25, 88])
    index.clear_attribute("消费金额", rows=[index.row_of(10)])
    index.set_attribute("最近购买", [7], ["2026-12-01"])
    index.remove_customer(5)
    index.remove_customer(2)
    index.save_segment("新包", "运动")
    index.drop_segment("老客")
    index.tag("运动").delete()
    index.create_tag("新标签", "兴趣").add([1, 3])
    index.create_tag("旅游", "兴趣")
    index.create_category("新类")
    index.create_attribute("新列")


_BLOB = tagindex.export_rows([1, 2, 3, 5])

# Every read of the Index: (name, call, whether the change above moves it).
READS = [
    ("customer_count", lambda r: r.customer_count, True),
    ("len", lambda r: len(r), True),
    ("row_id_limit", lambda r: r.row_id_limit, True),
    ("tag_count", lambda r: r.tag_count, True),
    ("row_of", lambda r: r.row_of(5), True),
    ("key_of", lambda r: r.key_of(2), True),
    ("keys_of", lambda r: r.keys_of([1, 2, 5]), True),
    ("contains", lambda r: (5 in r, 1000 in r), True),
    ("live_rows", lambda r: r.live_rows(), True),
    ("category", lambda r: r.category("兴趣"), True),
    ("categories", lambda r: r.categories, True),
    ("tag", lambda r: r.tag("运动"), True),
    ("tag_in_category", lambda r: r.tag("北京", category="城市"), False),
    ("tag_qualified", lambda r: r["兴趣:运动"], True),
    ("tag_unknown", lambda r: r.tag("不存在的标签"), False),
    ("tags", lambda r: r.tags, True),
    ("tag_infos", lambda r: r.tag_infos(), True),
    ("tag_info", lambda r: r.tag_info("高价值客户"), True),
    ("has_tag", lambda r: (r.has_tag("图书", 7), r.has_tag("流失风险", 7)), True),
    ("has_tag_row", lambda r: r.has_tag("高价值客户", row=5), True),
    ("tags_of", lambda r: r.tags_of(7), True),
    ("tags_of_row", lambda r: r.tags_of(row=2), True),
    ("rows_with_tag", lambda r: r.rows_with_tag("高价值客户"), True),
    ("keys_with_tag", lambda r: r.keys_with_tag("流失风险"), True),
    ("query", lambda r: r.query("高价值客户 AND NOT 流失风险"), True),
    ("query_options", lambda r: r.query("高价值客户 OR 不存在", unknown_tags_are_empty=True),
     True),
    ("query_error", lambda r: r.query("高价值客户 AND (", ), False),
    ("count", lambda r: r.count("城市:北京 OR 运动"), True),
    ("explain", lambda r: r.explain("高价值客户 AND 图书"), True),
    ("compile", lambda r: r.compile("流失风险 AND NOT 城市:北京"), True),
    ("all_customers", lambda r: r.all_customers(), True),
    ("segment_from_rows", lambda r: r.segment_from_rows([1, 2, 3]), True),
    ("segment_from_portable", lambda r: r.segment_from_portable(_BLOB), True),
    ("attribute", lambda r: r.attribute("消费金额"), True),
    ("attributes", lambda r: r.attributes(), True),
    ("attribute_value", lambda r: (r.attribute_value("消费金额", row=3),
                                   r.attribute_value("最近购买", row=7)), True),
    ("summarize", lambda r: r.summarize("消费金额"), True),
    ("summarize_segment", lambda r: r.summarize("最近购买", r.query("高价值客户")), True),
    ("top_k", lambda r: r.top_k("消费金额", 5, largest=False), True),
    ("histogram", lambda r: r.histogram("消费金额", [0, 1, 100, 500, 1000]), True),
    ("quantile", lambda r: (r.quantile("消费金额", 0.5), r.quantile("最近购买", 0.9)), True),
    ("saved_segment_info", lambda r: r.saved_segment_info("老客"), True),
    ("saved_segment_info_dynamic", lambda r: r.saved_segment_info("动态"), True),
    ("saved_segments", lambda r: r.saved_segments(), True),
    ("saved_segment", lambda r: r.saved_segment("动态"), True),
    ("export_segment", lambda r: r.export_segment("老客"), True),
    ("diff", lambda r: r.diff("高价值客户", "流失风险", rows=True), True),
    ("segment_drift", lambda r: r.segment_drift("老客", rows=True), True),
    ("profile", lambda r: r.profile(), True),
    ("profile_segment", lambda r: r.profile("高价值客户", category="兴趣",
                                            attribute="消费金额"), True),
    ("profile_date", lambda r: r.profile(r.query("流失风险"), category="城市",
                                         attribute="最近购买"), True),
    ("top_tags", lambda r: r.top_tags("高价值客户", n=3), True),
    ("top_tags_tgi", lambda r: r.top_tags(n=4, by="tgi", min_count=1), True),
    ("count_of", lambda r: r.count_of("高价值客户"), True),
    ("cooccurrence", lambda r: r.cooccurrence(["高价值客户", "流失风险", "运动"]), True),
    ("cooccurrence_segment", lambda r: r.cooccurrence(["图书", "流失风险"],
                                                      r.query("高价值客户")), True),
    ("crosstab", lambda r: r.crosstab("性别", "城市"), True),
    ("crosstab_segment", lambda r: r.crosstab("城市", "性别", "流失风险"), True),
    ("crosstab_error", lambda r: r.crosstab("兴趣", "城市"), False),
    ("coverage", lambda r: r.coverage(), True),
    ("coverage_segment", lambda r: r.coverage("高价值客户"), True),
    ("customers_without", lambda r: r.customers_without("城市"), True),
]


@pytest.mark.parametrize("seed", [SEED, SEED + 1])
def test_snapshot_answers_every_read_as_the_index_did(seed):
    index = _crm(seed)
    before = {name: _answer(call, index) for name, call, _ in READS}
    snap = index.snapshot()
    _change_everything(index, seed)
    for name, call, moves in READS:
        got = _answer(call, snap)
        assert got == before[name], f"seed {seed}: snapshot.{name} differs from the index's " \
                                    f"answer before the change"
        if moves:
            assert _answer(call, index) != before[name], \
                f"seed {seed}: the change did not move index.{name} (the test would prove nothing)"
    # The snapshot answers as of its moment, however many snapshots came later.
    later = index.snapshot()
    assert later.sequence > snap.sequence
    assert _answer(READS[0][1], later) == _answer(READS[0][1], index)


def test_snapshot_has_every_read_method_of_the_index():
    # Every public Index member that reads (not writes, storage, pandas
    # import or pickling) is on Snapshot, with the same signature.
    import inspect

    not_reads = {"open", "checkpoint", "save", "backup", "persistent", "last_recovery",
                 "close", "snapshot", "add_customer", "add_customers", "remove_customer",
                 "remove_row", "create_category", "create_tag", "import_tag", "batch",
                 "write", "add_tag", "remove_tag", "from_dataframe", "import_csv",
                 "import_dataframe", "demo", "create_attribute", "rename_attribute",
                 "drop_attribute", "set_attribute", "clear_attribute", "save_segment",
                 "rename_segment", "drop_segment", "last_import", "to_dataframe",
                 "define_rule_tag", "redefine_rule_tag", "drop_rule_tag", "refresh_rules"}
    # Known gap, stated in issue #14's note: rule definitions are not yet
    # readable from a snapshot (the C++ Snapshot has no rule calls yet).
    not_yet = {"rule_tag_info", "rule_tags"}
    index_reads = ({n for n in vars(tagindex.Index) if not n.startswith("_")} - not_reads
                   - not_yet)
    missing = sorted(n for n in index_reads if n not in vars(tagindex.Snapshot))
    assert not missing, f"Snapshot lacks {missing}"
    for n in index_reads:
        a, b = vars(tagindex.Index)[n], vars(tagindex.Snapshot)[n]
        if callable(a):
            assert inspect.signature(a) == inspect.signature(b), n
            assert "As of the snapshot" in b.__doc__, n


def test_snapshot_segments_and_tags_belong_to_the_index():
    index = _crm(SEED)
    snap = index.snapshot()
    vip_then = snap.query("高价值客户")
    index.tag("高价值客户").add([1, 2, 3, 4])
    vip_now = index.query("高价值客户")
    # Segments of a snapshot combine with the index's own; the oracle is sets.
    assert set((vip_now - vip_then).keys().tolist()) == \
        set(vip_now.keys().tolist()) - set(vip_then.keys().tolist())
    assert snap.tag("高价值客户") == index.tag("高价值客户")
    assert snap.has_tag(index.tag("高价值客户"), 1) == (1 in set(vip_then.keys().tolist()))
    d = snap.diff(vip_then, vip_now)
    assert d.entered == len(set(vip_now.keys().tolist()) - set(vip_then.keys().tolist()))
    other = tagindex.Index()
    other.create_tag("高价值客户")
    with pytest.raises(tagindex.InvalidArgumentError):
        snap.profile(other.query("高价值客户"))
    with pytest.raises(tagindex.InvalidArgumentError):
        snap.has_tag(other.tag("高价值客户"), 1)
    assert snap.index is index and snap.key_kind == "int64"
    assert snap.options == index.options


def test_snapshot_analytics_while_a_writer_commits():
    # One writer moves customers 0, 1, 2, ... from tag a to tag b, one batch
    # each; readers run analytics on snapshots. The oracle: at every
    # committed prefix k, b = {0..k-1} and a = {k..n-1}; every answer of one
    # snapshot must be that of one k, whichever call asked.
    n = 120
    index = tagindex.Index()
    a = index.create_tag("a")
    b = index.create_tag("b")
    a.add(list(range(n)))
    stop = threading.Event()
    bad = []
    seen = []

    def reader():
        last = -1
        while not stop.is_set():
            snap = index.snapshot()
            p = snap.profile()
            counts = dict(zip(p["name"], p["count"]))
            k = int(counts["b"])
            if counts["a"] != n - k:
                bad.append(("profile", dict(counts)))
            if snap.rows_with_tag("b").tolist() != list(range(k)):
                bad.append(("rows_with_tag", k))
            cov = snap.coverage()
            if dict(zip(cov.tags["name"], cov.tags["count"])) != counts:
                bad.append(("coverage", k))
            top = snap.top_tags(n=2)
            if dict(zip(top["name"], top["count"])) != counts:  # both tags, best first
                bad.append(("top_tags", k))
            co = snap.cooccurrence(["a", "b"])
            if int(co.counts.loc["a", "b"]) != 0 or int(co.counts.loc["b", "b"]) != k:
                bad.append(("cooccurrence", k))
            if k < last:
                bad.append(("went back", last, k))
            last = k
            seen.append(k)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(n):
        batch = tagindex.WriteBatch(index)
        batch.untag(a, [i])
        batch.tag(b, [i])
        index.write(batch)
    stop.set()
    for t in threads:
        t.join()
    assert bad == [], bad[:5]
    assert seen, "the readers never ran"
    assert index.count("b") == n
