"""Segment analytics in Python against Python sets and pandas, and the charts
(saved to PNG, checked for size and content)."""
import math
import random
import struct
import zlib

import pytest

import tagindex

SEEDS = [3, 17, 2024]


def build(seed):
    """An index and its model: {tag name: set of keys}, the universe, spend."""
    rng = random.Random(seed)
    index = tagindex.Index()
    keys = rng.sample(range(1, 10 ** 9), 3000)
    index.add_customers(keys)
    model = {}
    for i in range(8):
        members = set(rng.sample(keys, rng.randrange(0, len(keys))))
        index.create_tag(f"兴趣{i}", "兴趣爱好类").add(sorted(members))
        model[("兴趣爱好类", f"兴趣{i}")] = members
    index.create_tag("空标签", "兴趣爱好类")
    model[("兴趣爱好类", "空标签")] = set()
    for category, names in (("城市", ["北京", "上海", "杭州"]), ("购买频率", ["高频", "低频"])):
        index.create_category(category, exclusive=True)
        groups = {n: set() for n in names}
        for k in keys:
            if rng.random() < 0.8:
                groups[rng.choice(names)].add(k)
        for n in names:
            index.create_tag(n, category).add(sorted(groups[n]))
            model[(category, n)] = groups[n]
    index.create_attribute("消费金额", "decimal(2)")
    spend = {k: rng.randrange(0, 10 ** 6) for k in keys if rng.random() < 0.7}
    index.set_attribute("消费金额", list(spend), [v / 100 for v in spend.values()])
    return index, model, set(keys), spend


@pytest.mark.parametrize("seed", SEEDS)
def test_profile_top_tags_against_sets(seed):
    index, model, universe, spend = build(seed)
    seg_keys = {k for k in universe if k in model[("兴趣爱好类", "兴趣0")] or k % 3 == 0}
    segment = index.segment_from_rows([index.row_of(k) for k in sorted(seg_keys)])
    p = index.profile(segment, attribute="消费金额")
    assert p.attrs["segment_count"] == len(seg_keys)
    assert p.attrs["universe_count"] == len(universe)
    want = sorted(model)
    assert list(zip(p["category"], p["name"])) == want, f"seed {seed}"
    for _, r in p.iterrows():
        members = model[(r["category"], r["name"])]
        c = len(members & seg_keys)
        assert r["count"] == c, f"seed {seed} {r['name']}"
        assert r["overall"] == len(members)
        assert r["share_in_segment"] == pytest.approx(c / len(seg_keys))
        if members:
            assert r["tgi"] == pytest.approx(100 * (c / len(seg_keys)) / (len(members) / len(universe)))
        else:
            assert math.isnan(r["tgi"])
        values = [spend[k] for k in members & seg_keys if k in spend]
        assert r["消费金额_count"] == len(values)
        assert float(r["消费金额_sum"]) == pytest.approx(sum(values) / 100)
        if values:
            assert r["消费金额_mean"] == pytest.approx(sum(values) / len(values) / 100)
    # One category only; top-N is the pandas sort of the profile.
    city = index.profile(segment, category="城市")
    assert set(city["name"]) == {"北京", "上海", "杭州"}
    for by, key in (("count", ["count", "tgi"]), ("tgi", ["tgi", "count"])):
        top = index.top_tags(segment, 4, by=by, min_count=10)
        full = p[(p["count"] >= 10) & ~p["tgi"].isna()] if by == "tgi" else p[p["count"] >= 10]
        expect = full.sort_values(key + ["category", "name"],
                                  ascending=[False, False, True, True]).head(4)
        assert list(top["tag"]) == list(expect["tag"]), f"seed {seed} by {by}"


@pytest.mark.parametrize("seed", SEEDS)
def test_cooccurrence_crosstab_coverage_against_sets(seed):
    index, model, universe, _ = build(seed)
    names = ["兴趣0", "兴趣1", "兴趣2", "空标签", "北京"]
    sets = [model[next(k for k in model if k[1] == n)] for n in names]
    segment = index.query("NOT 低频")
    pop = universe - model[("购买频率", "低频")]
    m = index.cooccurrence(names, segment)
    assert m.population == len(pop)
    assert list(m.counts.index) == names
    for i, a in enumerate(sets):
        for j, b in enumerate(sets):
            a2, b2 = a & pop, b & pop
            assert m.counts.iat[i, j] == len(a2 & b2), f"seed {seed} {names[i]} {names[j]}"
            if a2 | b2:
                assert m.jaccard.iat[i, j] == pytest.approx(len(a2 & b2) / len(a2 | b2))
            else:
                assert math.isnan(m.jaccard.iat[i, j])
            if a2 and b2:
                assert m.lift.iat[i, j] == pytest.approx(len(a2 & b2) * len(pop) / (len(a2) * len(b2)))
    x = index.crosstab("购买频率", "城市", "兴趣1")
    pop = model[("兴趣爱好类", "兴趣1")]
    assert x.attrs["total"] == len(pop)
    assert int(x.to_numpy().sum()) == len(pop)
    freq = {n: model[("购买频率", n)] for n in ["低频", "高频"]}
    city = {n: model[("城市", n)] for n in ["上海", "北京", "杭州"]}
    for r in list(freq) + ["(none)"]:
        rs = freq[r] if r != "(none)" else pop - set().union(*freq.values())
        for c in list(city) + ["(none)"]:
            cs = city[c] if c != "(none)" else pop - set().union(*city.values())
            assert x.loc[r, c] == len(rs & cs & pop), f"seed {seed} {r} {c}"
    cov = index.coverage()
    assert cov.population == len(universe)
    cats = cov.categories.set_index("category")
    for category in ["城市", "购买频率", "兴趣爱好类"]:
        covered = set().union(*(v for k, v in model.items() if k[0] == category))
        assert cats.loc[category, "covered"] == len(covered)
        assert cats.loc[category, "uncovered"] == len(universe - covered)
        without = index.customers_without(category)
        assert set(without.keys()) == universe - covered
    tags = cov.tags.set_index(["category", "name"])
    for k, v in model.items():
        assert tags.loc[k, "count"] == len(v)


def test_errors():
    index, _, _, _ = build(1)
    with pytest.raises(tagindex.NotFoundError):
        index.profile(None, category="没有")
    with pytest.raises(tagindex.InvalidArgumentError, match="not exclusive"):
        index.crosstab("兴趣爱好类", "城市")
    with pytest.raises(tagindex.InvalidArgumentError):
        index.top_tags(None, by="lift")
    other = tagindex.Index()
    with pytest.raises(tagindex.InvalidArgumentError):
        index.profile(other.all_customers())


def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return len(data), width, height


def distinct_colours(path):
    """Number of distinct pixel rows in the decoded image data (IDAT), a proof
    that something was drawn, not a blank canvas."""
    data = open(path, "rb").read()
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    return len(set(raw[i:i + 64] for i in range(0, len(raw), 997)))


def test_charts_are_pngs_of_the_asked_size(tmp_path):
    pytest.importorskip("matplotlib", reason="python3-matplotlib is not installed")
    from tagindex import _plot

    assert _plot.cjk_font() is not None, "no CJK font: scripts/setup.sh installs fonts-noto-cjk"
    index, _, _, _ = build(5)
    seg = index.query("兴趣0")
    charts = {
        "profile.png": lambda p: index.profile(seg).plot(p, width=8, height=6, dpi=100),
        "cooc.png": lambda p: index.cooccurrence(["兴趣0", "兴趣1", "北京", "高频"], seg).plot(
            p, width=7, height=6, dpi=100),
        "crosstab.png": lambda p: index.crosstab("购买频率", "城市", seg).plot(p, width=8, height=5,
                                                                             dpi=100),
    }
    import warnings
    for name, draw in charts.items():
        path = str(tmp_path / name)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing glyph warns: Chinese must render
            fig = draw(path)
        size, width, height = png_size(path)
        w_in, h_in = fig.get_size_inches()
        assert (width, height) == (round(w_in * 100), round(h_in * 100)), name
        assert size > 5000, name
        assert distinct_colours(path) > 5, name
    assert png_size(str(tmp_path / "profile.png"))[1:] == (800, 600)


def test_missing_matplotlib_is_a_clear_error(monkeypatch):
    import builtins
    from tagindex import _plot

    real = builtins.__import__

    def blocked(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("blocked for the test")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    with pytest.raises(ImportError, match="python3-matplotlib"):
        _plot.pyplot()
