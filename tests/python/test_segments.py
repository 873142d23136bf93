"""Saved segments (人群包) in Python against Python sets, and across reopening."""
import datetime
import random

import pytest

import tagindex


def build(seed, path=None):
    rng = random.Random(seed)
    index = tagindex.Index.open(str(path), create_if_missing=True) if path else tagindex.Index()
    keys = rng.sample(range(1, 10 ** 6), 2000)
    index.add_customers(keys)
    model = {}
    for name in ["复购客户", "大促敏感", "流失风险"]:
        members = set(rng.sample(keys, rng.randrange(100, 1500)))
        index.create_tag(name).add(sorted(members))
        model[name] = members
    return index, model, set(keys)


def test_static_and_dynamic_against_sets():
    index, model, universe = build(11)
    want = model["复购客户"] & model["大促敏感"]
    info = index.save_segment("双十一老客", "复购客户 AND 大促敏感")
    assert info.kind == "static" and info.count == len(want)
    assert info.query == "复购客户 AND 大促敏感"
    assert abs((datetime.datetime.now(datetime.timezone.utc) - info.created).total_seconds()) < 60
    index.save_segment("高危", "流失风险", dynamic=True)
    assert set(index.query("人群:双十一老客 AND NOT 人群:高危").keys()) == want - model["流失风险"]
    # The index changes: static stays, dynamic follows, drift counts both ways.
    left = sorted(want)[:len(want) // 2]
    index.remove_tag("复购客户", left)
    entered = sorted((model["大促敏感"] - model["复购客户"]))[:30]
    assert len(want) >= 2 and len(entered) == 30
    index.add_tag("复购客户", entered)
    index.add_tag("流失风险", entered)
    assert set(index.saved_segment("双十一老客").keys()) == want
    d = index.segment_drift("双十一老客")
    assert (d.before, d.entered, d.left, d.stayed) == (len(want), len(entered), len(left),
                                                       len(want) - len(left))
    assert d.entered_rows is None
    d = index.segment_drift("双十一老客", rows=True)
    assert set(d.entered_rows.keys()) == set(entered) and set(d.left_rows.keys()) == set(left)
    assert set(index.saved_segment("高危").keys()) == model["流失风险"] | set(entered)
    d2 = index.diff("复购客户", "大促敏感")
    now_a = (model["复购客户"] - set(left)) | set(entered)
    assert d2.entered == len(model["大促敏感"] - now_a)
    # export / rename / list / drop
    blob = index.export_segment("双十一老客")
    assert set(index.segment_from_portable(blob).keys()) == want
    index.rename_segment("双十一老客", "老客")
    assert [s.name for s in index.saved_segments()] == ["老客", "高危"]
    index.drop_segment("高危")
    with pytest.raises(tagindex.NotFoundError, match="did you mean"):
        index.count("人群:老课")
    with pytest.raises(tagindex.AlreadyExistsError):
        index.save_segment("老客", "流失风险")
    index.save_segment("动态", "流失风险", dynamic=True)
    with pytest.raises(tagindex.InvalidArgumentError, match="dynamic"):
        index.segment_drift("动态")


def test_segments_survive_reopen(tmp_path):
    index, model, _ = build(12, tmp_path / "idx")
    index.save_segment("甲", "复购客户 OR 流失风险")
    index.save_segment("乙", "NOT 大促敏感", dynamic=True)
    index.checkpoint()
    index.save_segment("丙", "人群:甲 AND 人群:乙")  # in the log only
    index.drop_segment("甲")
    index.close()
    del index
    reopened = tagindex.Index.open(str(tmp_path / "idx"), create_if_missing=True)
    names = [s.name for s in reopened.saved_segments()]
    assert names == ["丙", "乙"]
    want = (model["复购客户"] | model["流失风险"]) - model["大促敏感"]
    assert set(reopened.saved_segment("丙").keys()) == want
    assert reopened.saved_segment_info("乙").kind == "dynamic"
