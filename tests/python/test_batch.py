"""tagindex.WriteBatch: all-or-nothing batches, against the same calls made
one by one (the oracle) and against Python sets."""

import random

import numpy as np
import pytest

import tagindex


def _state(index):
    """Everything observable, as plain Python values."""
    tags = {(t.category, t.name): (t.description, set(index.tag(t.name, t.category).keys()
                                                      .tolist()))
            for t in index.tag_infos()}
    cats = {c.name: c.exclusive for c in index.categories}
    return tags, cats, set(index.keys_of(index.live_rows()).tolist())


def test_batch_commits_every_item_and_returns_results():
    index = tagindex.Index()
    vip = index.create_tag("高价值客户")
    batch = index.batch()
    assert batch.create_category("购买频率", exclusive=True) == 0
    assert batch.create_tag("高频", category="购买频率") == 1
    assert batch.add_customers([1001, 1002, 1003]) == 2
    batch.tag(vip, [1001, 1002])
    batch.tag("高价值客户", rows=[2])
    batch.untag(vip, [1002])
    assert len(batch) == 6
    results = index.write(batch)
    assert isinstance(results[1], tagindex.Tag) and results[1].name == "高频"
    assert results[2].tolist() == [0, 1, 2]
    assert results[0] is None and results[3] is None
    assert set(vip.keys().tolist()) == {1001, 1003}
    assert index.category("购买频率").exclusive


def test_rejected_batch_changes_nothing_and_names_the_item():
    index = tagindex.Index()
    vip = index.create_tag("vip")
    index.add_customers([1, 2, 3])
    before = _state(index)
    batch = index.batch()
    batch.add_customers([4, 5])
    batch.tag(vip, [4, 5])
    batch.untag(vip, [2, 77])
    with pytest.raises(tagindex.UnknownCustomerError) as info:
        index.write(batch)
    e = info.value
    assert (e.item, e.item_kind, e.subject) == (2, "untag keys", "77")
    assert e.reason == "index: customer key 77 not found (batch position 1)"
    assert e.code == "NOT_FOUND"
    assert _state(index) == before

    strings = tagindex.Index("string")
    bad = strings.batch()
    bad.create_tag("a")
    bad.create_tag("a")
    with pytest.raises(tagindex.AlreadyExistsError) as info:
        strings.write(bad)
    assert info.value.item == 1 and info.value.subject == "a"
    assert strings.tag_count == 0


def test_context_manager_writes_on_success_only():
    index = tagindex.Index()
    with index.batch() as b:
        b.create_tag("t")
        b.add_customers(range(10))
    assert index.tag_count == 1 and len(index) == 10
    with pytest.raises(RuntimeError):
        with index.batch() as b:
            b.create_tag("u")
            raise RuntimeError("abandon")
    assert index.tag_count == 1


def test_batch_of_another_index_is_refused():
    a, b = tagindex.Index(), tagindex.Index()
    batch = a.batch()
    batch.add_customers([1])
    with pytest.raises(tagindex.InvalidArgumentError):
        b.write(batch)
    with pytest.raises(TypeError):
        a.write([1, 2])


@pytest.mark.parametrize("seed", range(8))
def test_random_batches_match_single_calls(seed, tmp_path):
    """Oracle: the same items as single calls on a twin index. A batch that
    the calls accept leaves both equal; one they reject fails at the same
    item and leaves the batch index unchanged (the twin is rebuilt)."""
    rng = random.Random(seed)
    path = tmp_path / "db"
    index = tagindex.Index.open(str(path), create_if_missing=True)
    history = []  # accepted single calls, (method name, args, kwargs)

    def twin():
        t = tagindex.Index()
        for name, args, kwargs in history:
            getattr(t, name)(*[t.tag(a[1], a[0]) if isinstance(a, tuple) else a for a in args],
                             **kwargs)
        return t

    for step in range(40):
        batch = index.batch()
        calls = []
        for _ in range(rng.randint(1, 5)):
            tags = index.tag_infos()
            pick = rng.random()
            keys = [rng.randrange(30) for _ in range(rng.randint(1, 5))]
            if pick < 0.15 or not tags:
                name = f"t{rng.randrange(8)}"
                batch.create_tag(name)
                calls.append(("create_tag", (name,), {}))
            elif pick < 0.45:
                t = rng.choice(tags)
                batch.tag(index.tag(t.name, t.category), keys)
                calls.append(("add_tag", ((t.category, t.name), keys), {}))
            elif pick < 0.6:
                t = rng.choice(tags)
                batch.untag(index.tag(t.name, t.category), keys)
                calls.append(("remove_tag", ((t.category, t.name), keys), {}))
            elif pick < 0.8:
                batch.add_customers(keys)
                calls.append(("add_customers", (keys,), {}))
            else:
                batch.remove_customers([keys[0]])
                calls.append(("remove_customer", (keys[0],), {}))
        oracle = twin()
        failed_at, want = None, None
        for i, (name, args, kwargs) in enumerate(calls):
            try:
                getattr(oracle, name)(*[oracle.tag(a[1], a[0]) if isinstance(a, tuple) else a
                                        for a in args], **kwargs)
            except tagindex.Error as e:
                failed_at, want = i, e
                break
        before = _state(index)
        if failed_at is None:
            index.write(batch)
            history.extend(calls)
            assert _state(index) == _state(oracle), f"seed {seed} step {step}"
        else:
            with pytest.raises(tagindex.Error) as info:
                index.write(batch)
            assert type(info.value) is type(want), f"seed {seed} step {step}"
            assert info.value.item == failed_at
            assert _state(index) == before
    final = _state(index)
    index.close()
    with tagindex.Index.open(str(path), create_if_missing=True) as reopened:   # replay of the batch records
        assert _state(reopened) == final


def test_batch_attribute_values_against_a_dict_and_all_or_nothing():
    seed = 20261201
    rng = random.Random(seed)
    index = tagindex.Index()
    index.create_attribute("消费金额", "decimal", scale=2)
    index.add_customers(range(100, 120))
    oracle = {}  # row -> value in storage units (cents), None for NULL
    for step in range(30):
        batch = index.batch()
        new_key = 1000 + step
        batch.add_customers([new_key])            # later items may use the new customer
        keys = [rng.choice(range(100, 120)) for _ in range(3)] + [new_key]
        cents = [rng.randrange(-5000, 5000) for _ in keys]
        batch.set_attribute("消费金额", keys, [c / 100 for c in cents])
        rows = [rng.randrange(0, 20) for _ in range(2)]
        batch.set_attribute("消费金额", rows=rows, values=[None, 12.5])
        cleared = [rng.randrange(0, 20)]
        batch.clear_attribute("消费金额", rows=cleared)
        index.write(batch)
        for k, c in zip(keys, cents):
            oracle[index.row_of(k)] = c
        oracle[rows[0]] = None
        oracle[rows[1]] = 1250
        oracle[cleared[0]] = None
        for row in index.live_rows().tolist():
            got = index.attribute_value("消费金额", row=row)
            want = oracle.get(row)
            assert (None if got is None else round(float(got) * 100)) == want, (seed, step, row)

    before = {row: index.attribute_value("消费金额", row=row) for row in index.live_rows().tolist()}
    count = index.customer_count
    bad = index.batch()
    bad.add_customers([5000])
    bad.set_attribute("消费金额", [100], [1.0])
    bad.set_attribute("消费金额", [100, 424242], [2.0, 3.0])   # 424242 is not a customer
    with pytest.raises(tagindex.UnknownCustomerError) as e:
        index.write(bad)
    assert (e.value.item, e.value.kind, e.value.name) == (2, "unknown_customer", "424242")
    assert index.customer_count == count
    assert {row: index.attribute_value("消费金额", row=row)
            for row in index.live_rows().tolist()} == before
    with pytest.raises(tagindex.UnknownAttributeError):
        index.batch().set_attribute("无此属性", [100], [1])
    with pytest.raises(tagindex.InvalidArgumentError):
        index.batch().set_attribute("消费金额", [100, 101], [1.0])   # lengths differ


@pytest.mark.parametrize("key_kind", ["int64", "string"])
def test_null_by_key_and_clear_by_key_against_a_dict(key_kind, tmp_path):
    """set_attribute(..., None) by key and clear_attribute by key, in batches
    and as Index calls: each call is one atomic commit (one log record),
    checked against a dict; a batch failing at its last item changes
    nothing."""
    seed = 20261202
    rng = random.Random(seed)
    keyof = (lambda k: k) if key_kind == "int64" else (lambda k: f"C{k}")
    index = tagindex.Index.open(tmp_path / "idx", key_kind=key_kind, create_if_missing=True)
    index.create_attribute("订单数")
    index.add_customers([keyof(k) for k in range(40)])
    oracle = {keyof(k): None for k in range(40)}
    for step in range(40):
        keys = [keyof(rng.randrange(40)) for _ in range(rng.randrange(1, 7))]
        values = [None if rng.random() < 0.4 else rng.randrange(-10**6, 10**6) for _ in keys]
        how = rng.randrange(4)
        if how == 0:
            index.set_attribute("订单数", keys, values)
        elif how == 1:
            index.clear_attribute("订单数", keys)
            values = [None] * len(keys)
        elif how == 2:
            b = index.batch()
            b.set_attribute("订单数", keys, values)
            b.clear_attribute("订单数", keys[:1])
            index.write(b)
            values = values + [None]
            keys = keys + keys[:1]
        else:
            before = dict(oracle)
            b = index.batch()
            b.set_attribute("订单数", keys, values)
            b.clear_attribute("订单数", keys)
            b.clear_attribute("订单数", [keys[0], keyof(4242)])   # not a customer
            with pytest.raises(tagindex.UnknownCustomerError) as e:
                index.write(b)
            assert e.value.item == len(b) - 1, (seed, step)
            keys, values = [], []
            assert oracle == before
        for k, v in zip(keys, values):
            oracle[k] = v   # the later value of a key wins, NULL included
        got = {keyof(k): index.attribute_value("订单数", row=index.row_of(keyof(k)))
               for k in range(40)}
        assert got == oracle, (seed, step, keys, values)
    # A set_attribute with NULLs whose set part fails changes nothing (it used
    # to clear first, in a commit of its own).
    snapshot = dict(oracle)
    with pytest.raises(tagindex.UnknownCustomerError):
        index.set_attribute("订单数", [keyof(1), keyof(2), keyof(4242)], [None, 5, 6])
    assert {keyof(k): index.attribute_value("订单数", row=index.row_of(keyof(k)))
            for k in range(40)} == snapshot
    # One log record per call, and the log replays to the same values.
    index.checkpoint()
    index.set_attribute("订单数", [keyof(1), keyof(2), keyof(3)], [None, 7, None])
    index.clear_attribute("订单数", [keyof(4)])
    index.close()
    reopened = tagindex.Index.open(tmp_path / "idx", create_if_missing=True)
    assert reopened.last_recovery.log_records_replayed == 2
    snapshot.update({keyof(1): None, keyof(2): 7, keyof(3): None, keyof(4): None})
    assert {keyof(k): reopened.attribute_value("订单数", row=reopened.row_of(keyof(k)))
            for k in range(40)} == snapshot
    reopened.close()
