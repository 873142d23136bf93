"""Differential test: random operation sequences against a model built from
Python sets and dicts. Fixed seeds; a failure names its seed in the test id
(test_random_operations[seed=N]) and the failing step in the message."""

import os
import random

import numpy as np
import pytest

import tagindex

SEEDS = list(range(25)) if os.environ.get("TAGINDEX_FULL") != "1" else list(range(200))


class Model:
    """Python-set oracle for an Index."""

    def __init__(self, key_kind):
        self.key_kind = key_kind
        self.rows = {}       # live key -> row
        self.next_row = 0
        self.tags = {}       # tag id -> (category, set of rows)
        self.exclusive = set()

    def add_keys(self, keys):
        for k in keys:
            if k not in self.rows:
                if self.key_kind == "identity":
                    self.rows[k] = k
                    self.next_row = max(self.next_row, k + 1)
                else:
                    self.rows[k] = self.next_row
                    self.next_row += 1
        return [self.rows[k] for k in keys]

    def tag_rows(self, tag, rows):
        category, members = self.tags[tag]
        if category in self.exclusive:
            for other, (c, m) in self.tags.items():
                if other != tag and c == category:
                    m.difference_update(rows)
        members.update(rows)

    def remove_key(self, key):
        row = self.rows.pop(key)
        for _, m in self.tags.values():
            m.discard(row)

    def key_of_row(self):
        return {r: k for k, r in self.rows.items()}


def _random_keys(rng, kind, n, pool):
    if kind == "string":
        return [f"客户-{rng.randrange(pool)}" for _ in range(n)]
    return [rng.randrange(pool) for _ in range(n)]


def _as_input(rng, kind, keys):
    """The same keys in one of the accepted container shapes."""
    shape = rng.randrange(4)
    if kind == "string":
        return [keys, tuple(keys), np.array(keys, dtype=object), np.array(keys)][shape]
    return [keys, tuple(keys), np.array(keys, dtype=np.int64),
            np.array(keys, dtype=np.uint32)][shape]


def _check(index, model, step):
    where = f"after step {step}"
    live = sorted(model.rows.values())
    assert index.live_rows().tolist() == live, where
    assert len(index) == len(live), where
    key_of = model.key_of_row()
    for tag_id, (_, members) in model.tags.items():
        t = tagindex.Tag(index, tag_id)
        expected = sorted(members)
        assert t.count == len(expected), f"{where}: count of tag {tag_id}"
        assert t.rows().tolist() == expected, f"{where}: rows of tag {tag_id}"
        assert t.keys().tolist() == [key_of[r] for r in expected], f"{where}: keys {tag_id}"
    if live:
        row = live[len(live) // 2]
        held = sorted(t for t, (_, m) in model.tags.items() if row in m)
        assert [t.id for t in index.tags_of(row=row)] == held, where


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed={s}" for s in SEEDS])
@pytest.mark.parametrize("kind", ["int64", "string", "identity"])
def test_random_operations(seed, kind):
    rng = random.Random(seed * 31 + len(kind))
    index = tagindex.Index(kind)
    model = Model(kind)
    index.create_category("excl", exclusive=True)
    model.exclusive.add("excl")
    pool = 400
    for step in range(150):
        op = rng.random()
        if op < 0.08 or not model.tags:
            category = rng.choice(["", "excl", "兴趣"])
            name = f"t{step}"
            tag = index.create_tag(name, category)
            model.tags[tag.id] = (category, set())
        elif op < 0.45:
            tag = rng.choice(list(model.tags))
            keys = _random_keys(rng, kind, rng.randrange(1, 40), pool)
            index.add_tag(tag, _as_input(rng, kind, keys))
            model.tag_rows(tag, model.add_keys(keys))
        elif op < 0.6 and model.rows:
            tag = rng.choice(list(model.tags))
            live = list(model.rows.values())
            rows = [rng.choice(live) for _ in range(rng.randrange(1, 20))]
            if rng.random() < 0.5:
                index.add_tag(tag, rows=np.array(rows, dtype=np.uint32))
                model.tag_rows(tag, rows)
            else:
                index.remove_tag(tag, rows=rows)
                model.tags[tag][1].difference_update(rows)
        elif op < 0.75 and model.rows:
            tag = rng.choice(list(model.tags))
            keys = rng.sample(list(model.rows), min(len(model.rows), rng.randrange(1, 15)))
            index.remove_tag(tag, _as_input(rng, kind, keys))
            model.tags[tag][1].difference_update(model.rows[k] for k in keys)
        elif op < 0.83 and model.rows:
            key = rng.choice(list(model.rows))
            index.remove_customer(key)
            model.remove_key(key)
        elif op < 0.88:
            keys = _random_keys(rng, kind, rng.randrange(0, 10), pool)
            rows = index.add_customers(_as_input(rng, kind, keys) if keys else [])
            assert rows.tolist() == model.add_keys(keys), f"step {step}: add_customers"
        elif op < 0.92 and len(model.tags) > 1:
            tag = rng.choice(list(model.tags))
            tagindex.Tag(index, tag).delete()
            del model.tags[tag]
        else:
            key = (_random_keys(rng, kind, 1, pool)[0])
            tag = rng.choice(list(model.tags))
            if key in model.rows:
                expected = model.rows[key] in model.tags[tag][1]
                assert index.has_tag(tag, key) == expected, f"step {step}: has_tag"
            else:
                with pytest.raises(tagindex.UnknownCustomerError):
                    index.has_tag(tag, key)
        if step % 10 == 0:
            _check(index, model, step)
    _check(index, model, "end")
