"""Rule tags in Python against Python sets: define, refresh (incremental and
full, today moving), errors, the DataFrame form, and across reopening."""
import datetime
import random

import pytest

import tagindex

TODAY = datetime.date(2026, 11, 20)


def build(seed, path=None):
    rng = random.Random(seed)
    index = tagindex.Index.open(str(path), create_if_missing=True) if path else tagindex.Index()
    keys = rng.sample(range(1, 10 ** 6), 1500)
    index.add_customers(keys)
    model = {"tags": {}, "spend": {}, "last": {}, "live": set(keys)}
    for name in ["VIP", "流失", "电子产品"]:
        members = set(rng.sample(keys, rng.randrange(100, 900)))
        index.create_tag(name).add(sorted(members))
        model["tags"][name] = members
    index.create_attribute("消费金额", "int64")
    index.create_attribute("最近购买", "date")
    with_spend = rng.sample(keys, 1000)
    spend = [rng.randrange(0, 3000) for _ in with_spend]
    index.set_attribute("消费金额", with_spend, spend)
    model["spend"].update(zip(with_spend, spend))
    with_last = rng.sample(keys, 1200)
    last = [TODAY - datetime.timedelta(days=rng.randrange(0, 200)) for _ in with_last]
    index.set_attribute("最近购买", with_last, last)
    model["last"].update(zip(with_last, last))
    return index, model, rng


def high_value(m, today):
    return {k for k in m["live"]
            if m["spend"].get(k, -1) >= 1000 and k not in m["tags"]["流失"]}


def churn_risk(m, today):
    cut = today - datetime.timedelta(days=90)
    return {k for k in m["live"] if k not in m["last"] or m["last"][k] < cut}


def winback(m, today):
    return high_value(m, today) & churn_risk(m, today) | (m["tags"]["VIP"] - m["tags"]["电子产品"])


RULES = [("高价值客户", "消费金额 >= 1000 AND NOT 流失", high_value),
         ("流失风险", "最近购买 IS NULL OR 最近购买 < today - 90d", churn_risk),
         ("挽回对象", "(高价值客户 AND 流失风险) OR (VIP AND NOT 电子产品)", winback)]


def keys_of(index, name):
    return set(index.query(name).keys())


def test_rules_against_sets():
    index, m, rng = build(5)
    for name, query, _ in RULES:
        tag = index.define_rule_tag(name, query, as_of=TODAY, description="规则")
        assert tag.info().kind == "rule" and tag.info().rule == query
    for name, _, fn in RULES:
        assert keys_of(index, name) == fn(m, TODAY)
    infos = {r.name: r for r in index.rule_tags()}
    assert set(infos) == {n for n, _, _ in RULES}
    assert infos["挽回对象"].depends_on == sorted(
        [index.tag("高价值客户").id, index.tag("流失风险").id])
    assert infos["流失风险"].uses_today and infos["流失风险"].as_of == TODAY

    today = TODAY
    incremental = 0
    for step in range(12):
        # Changes: tags, attribute values, customers added and removed.
        keys = sorted(m["live"])
        tagged = rng.sample(keys, 20)
        index.add_tag("流失", tagged)
        m["tags"]["流失"] |= set(tagged)
        untagged = rng.sample(keys, 20)
        index.remove_tag("VIP", untagged)
        m["tags"]["VIP"] -= set(untagged)
        changed = rng.sample(keys, 15)
        values = [rng.randrange(0, 3000) for _ in changed]
        index.set_attribute("消费金额", changed, values)
        m["spend"].update(zip(changed, values))
        new = [10 ** 6 + step * 10 + i for i in range(5)]
        index.add_customers(new)
        m["live"] |= set(new)
        gone = rng.choice(keys)
        index.remove_customer(gone)
        m["live"].discard(gone)
        for t in m["tags"].values():
            t.discard(gone)
        before = {name: keys_of(index, name) for name, _, _ in RULES}
        if step % 3 == 2:
            today = today + datetime.timedelta(days=rng.randrange(1, 10))
        results = index.refresh_rules(as_of=today, full=(step == 7))
        assert [r.name for r in results].index("挽回对象") == 2
        for r in results:
            fn = dict((n, f) for n, _, f in RULES)[r.name]
            want = fn(m, today)
            assert keys_of(index, r.name) == want, (r.name, r.reason)
            assert r.entered == len(want - before[r.name])
            assert r.left == len(before[r.name] - want)
            assert r.count == len(want) and r.as_of == today
            incremental += r.incremental
            if step == 7:
                assert not r.incremental and r.reason == "full: requested"
    assert incremental >= 20

    frame = index.refresh_rules(as_of=today, as_frame=True)
    assert list(frame["name"]) == [r.name for r in index.refresh_rules(as_of=today)]
    assert set(frame.columns) >= {"entered", "left", "count", "as_of", "incremental", "reason"}


def test_rule_errors():
    index, m, _ = build(6)
    index.define_rule_tag("A", "VIP OR 流失", as_of=TODAY)
    index.define_rule_tag("B", "A AND NOT 电子产品", as_of=TODAY, policy="on_commit")
    with pytest.raises(tagindex.FailedPreconditionError, match="A"):
        index.add_tag("A", [next(iter(m["live"]))])
    with pytest.raises(tagindex.InvalidArgumentError, match="A -> B -> A"):
        index.redefine_rule_tag("A", "B OR VIP")
    with pytest.raises(tagindex.FailedPreconditionError):
        index.drop_rule_tag("A")  # B uses it
    with pytest.raises(tagindex.FailedPreconditionError):
        index.tag("电子产品").delete()
    with pytest.raises(tagindex.AlreadyExistsError):
        index.define_rule_tag("A", "VIP")
    with pytest.raises(tagindex.QuerySyntaxError):
        index.define_rule_tag("C", "VIP AND (")
    with pytest.raises(ValueError):
        index.define_rule_tag("C", "VIP", policy="sometimes")
    # B is kept current on commit: it follows A's refreshes at once.
    index.add_tag("VIP", sorted(m["live"])[:10])
    index.refresh_rules(["A"], as_of=TODAY)
    a = keys_of(index, "A")
    assert keys_of(index, "B") == a - m["tags"]["电子产品"]
    index.drop_rule_tag("B")
    index.drop_rule_tag("A")
    assert index.rule_tags() == []


def test_rules_survive_reopen(tmp_path):
    index, m, rng = build(7, tmp_path / "idx")
    for name, query, _ in RULES:
        index.define_rule_tag(name, query, as_of=TODAY)
    index.add_tag("流失", sorted(m["live"])[:50])
    m["tags"]["流失"] |= set(sorted(m["live"])[:50])
    pending = {r.name: r.pending for r in index.rule_tags()}
    assert pending["高价值客户"] > 0
    index.checkpoint()
    index.add_tag("电子产品", sorted(m["live"])[-40:])
    m["tags"]["电子产品"] |= set(sorted(m["live"])[-40:])
    pending = {r.name: r.pending for r in index.rule_tags()}
    del index
    reopened = tagindex.Index.open(str(tmp_path / "idx"), create_if_missing=True)
    assert {r.name: r.pending for r in reopened.rule_tags()} == pending
    results = reopened.refresh_rules(as_of=TODAY)
    assert all(r.incremental for r in results)
    for name, _, fn in RULES:
        assert keys_of(reopened, name) == fn(m, TODAY)


def test_clearing_values_by_key_reaches_an_incremental_refresh():
    # The oracle: Python's own evaluation of "x >= 5" over the values left.
    import tagindex
    ix = tagindex.Index()
    ix.add_customers([1, 2, 3])
    ix.create_attribute("x", "int64")
    ix.set_attribute("x", [1, 2, 3], [10, 10, 1])
    ix.define_rule_tag("big", "x >= 5")
    values = {1: 10, 2: 10, 3: 1}
    assert set(ix.query("big").keys().tolist()) == {k for k, v in values.items() if v >= 5}
    ix.clear_attribute("x", [1])
    del values[1]
    (r,) = ix.refresh_rules()
    assert r.incremental and r.left == 1 and r.entered == 0
    assert set(ix.query("big").keys().tolist()) == {k for k, v in values.items() if v >= 5}
