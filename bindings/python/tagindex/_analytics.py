"""Segment analytics (用户画像) of an :class:`Index`, as pandas DataFrames,
and their charts (``.plot()``, see :mod:`tagindex._plot`).

Every number is counted from the tag bitmaps (intersection counts and bit
sliced sums in C++); nothing iterates over customers. Definitions are those
of the C++ header ``tagindex/analytics.h``::

    share_in_segment = count / |segment|      share_overall = overall / |all|
    tgi = 100 * share_in_segment / share_overall   (NaN for a tag nobody holds)
    jaccard = |a & b| / |a | b|                lift = |a & b| * M / (|a| * |b|)

Example::

    vip = index.query("高价值客户")
    p = index.profile(vip, category="兴趣爱好类")     # DataFrame, one row per tag
    p.plot("profile.png")                           # TGI bar chart
    index.top_tags(vip, n=10, by="tgi", min_count=100)
    index.cooccurrence(["电子产品", "图书音像", "运动"], vip).plot()
    index.crosstab("购买频率", "城市", vip).plot()
    index.coverage().categories
"""
from __future__ import annotations

import dataclasses
import decimal
import math
from typing import Any, Optional, Sequence

from . import _plot
from ._errors import InvalidArgumentError

_BY = {"count": 0, "tgi": 1}
_NONE = "(none)"
_classes: dict = {}


def _frame_classes() -> dict:
    """DataFrame subclasses, made on first use (pandas is imported lazily)."""
    if _classes:
        return _classes
    import pandas as pd

    class ProfileFrame(pd.DataFrame):
        """One row per tag: tag (id), name, category, count (in the
        segment), overall, share_in_segment, share_overall, tgi, and with an
        attribute ``<attr>_count``, ``<attr>_sum``, ``<attr>_mean``.
        ``.attrs`` holds segment_count, universe_count and attribute.
        ``plot()`` draws the TGI bar chart (``pd.DataFrame(frame).plot`` is
        pandas' own plotting); derived frames are plain DataFrames."""

        @property
        def _constructor(self) -> Any:
            return pd.DataFrame

        def plot(self, path: Optional[str] = None, *, top: int = 30, width: float = 8.0,
                 height: Optional[float] = None, dpi: int = 100,
                 title: Optional[str] = None) -> Any:
            """Horizontal bars of TGI (tags sorted by TGI, at most ``top``),
            a line at 100 (the population's rate), each bar labelled with its
            count. Saves to ``path`` (``width`` × ``height`` inches at ``dpi``)
            when given; returns the matplotlib Figure."""
            return _plot_profile(self, path, top, width, height, dpi, title)

    class CrosstabFrame(pd.DataFrame):
        """Counts: index = row category's tags, columns = column category's
        tags, plus a ``(none)`` row and column for customers holding no tag
        of that category; the cells sum to ``.attrs["total"]``. ``plot()``
        draws stacked bars of each row's mix of column tags."""

        @property
        def _constructor(self) -> Any:
            return pd.DataFrame

        def plot(self, path: Optional[str] = None, *, normalize: bool = True,
                 width: float = 8.0, height: float = 5.0, dpi: int = 100,
                 title: Optional[str] = None) -> Any:
            """One horizontal bar per row tag, split by column tag (shares of
            the row when ``normalize``, else counts)."""
            return _plot_crosstab(self, path, normalize, width, height, dpi, title)

    _classes.update(ProfileFrame=ProfileFrame, CrosstabFrame=CrosstabFrame)
    return _classes


@dataclasses.dataclass
class CoOccurrence:
    """Pairwise statistics of a tag list within a population (the segment or
    every customer): ``counts`` (the diagonal is each tag's count),
    ``jaccard`` and ``lift``, each a square DataFrame labelled by tag name."""
    counts: Any
    jaccard: Any
    lift: Any
    population: int

    def plot(self, path: Optional[str] = None, *, metric: str = "lift", width: float = 7.0,
             height: float = 6.0, dpi: int = 100, title: Optional[str] = None) -> Any:
        """Heat map of ``metric`` ("lift", "jaccard" or "count"), values
        written in the cells when the matrix is at most 20 × 20 (the
        diagonal is left blank for lift and Jaccard)."""
        return _plot_matrix(self, path, metric, width, height, dpi, title)


@dataclasses.dataclass
class Coverage:
    """``tags``: tag, name, category, count, share; ``categories``: category,
    tags, covered, uncovered, share — over ``population`` customers."""
    population: int
    tags: Any
    categories: Any


def cooccurrence_of(raw: tuple) -> CoOccurrence:
    """A CoOccurrence from the bindings' (names, population, counts, jaccard,
    lift) tuple (an index's, or merged by ``_tagindex.merge_cooccurrences``)."""
    import pandas as pd

    names, population, counts, jaccard, lift = raw
    k = len(names)

    def square(values: list, dtype: str) -> Any:
        return pd.DataFrame([values[i * k:(i + 1) * k] for i in range(k)], index=names,
                            columns=names, dtype=dtype)

    return CoOccurrence(square(counts, "int64"), square(jaccard, "float64"),
                        square(lift, "float64"), population)


class AnalyticsMixin:
    """The analytics methods of :class:`Index`."""

    def _population(self, segment: Any) -> Any:
        """The native segment of a Segment, a query text, or None (all)."""
        if segment is None:
            return None
        if isinstance(segment, str):
            segment = self.query(segment)
        impl = getattr(segment, "_impl", None)
        if impl is None or getattr(segment, "_index", None) is None:
            raise InvalidArgumentError(
                f"analytics: expected a Segment or a query text, not {type(segment).__name__}")
        if segment._index is not self._owner:
            raise InvalidArgumentError("analytics: the segment belongs to another index")
        return impl

    def _attribute_columns(self, frame: Any, attribute: str, raw: dict) -> None:
        import pandas as pd

        info = self._impl.get_attribute(attribute)
        code, scale = info[2], info[3]
        counts = raw["attribute_count"]
        frame[f"{attribute}_count"] = pd.Series(counts, dtype="int64")
        if code == 1:
            frame[f"{attribute}_sum"] = [decimal.Decimal(s).scaleb(-scale) for s in raw["attribute_sum"]]
            frame[f"{attribute}_mean"] = [m / 10 ** scale if c else math.nan
                                          for m, c in zip(raw["attribute_mean"], counts)]
        elif code == 2:  # dates: a sum means nothing; the mean is a date
            frame[f"{attribute}_mean"] = pd.to_datetime(
                [m if c else math.nan for m, c in zip(raw["attribute_mean"], counts)], unit="D")
        else:
            frame[f"{attribute}_sum"] = pd.Series(raw["attribute_sum"], dtype=object)
            frame[f"{attribute}_mean"] = [m if c else math.nan
                                          for m, c in zip(raw["attribute_mean"], counts)]

    def _profile_frame(self, raw: dict, segment_count: int, universe_count: int,
                       attribute: Optional[str]) -> Any:
        import pandas as pd

        cls = _frame_classes()["ProfileFrame"]
        frame = cls({
            "tag": pd.Series(raw["tag"], dtype="int64"),
            "name": pd.Series(raw["name"], dtype=object),
            "category": pd.Series(raw["category"], dtype=object),
            "count": pd.Series(raw["count"], dtype="int64"),
            "overall": pd.Series(raw["overall"], dtype="int64"),
            "share_in_segment": pd.Series(raw["share_in_segment"], dtype="float64"),
            "share_overall": pd.Series(raw["share_overall"], dtype="float64"),
            "tgi": pd.Series(raw["tgi"], dtype="float64"),
        })
        if attribute:
            self._attribute_columns(frame, attribute, raw)
        frame.attrs.update(segment_count=segment_count, universe_count=universe_count,
                           attribute=attribute or "")
        return frame

    def profile(self, segment: Any = None, *, category: Optional[str] = None,
                attribute: Optional[str] = None) -> Any:
        """Per tag of ``category`` (every tag when None; ``""``: tags without
        a category): its count in the segment, shares and TGI; with
        ``attribute``, that column's count / sum / mean over segment ∩ tag.
        ``segment``: a Segment, a query text, or None (every customer).
        Returns a DataFrame (``.plot()``: TGI chart), ordered by
        (category, name).

        Raises:
            UnknownCategoryError / NotFoundError: unknown category or attribute.
        """
        seg = self._population(segment)
        segment_count, universe_count, raw = self._impl.profile(seg, category, attribute or "")
        return self._profile_frame(raw, segment_count, universe_count, attribute)

    def top_tags(self, segment: Any = None, n: int = 10, *, by: str = "count",
                 min_count: int = 0, category: Optional[str] = None) -> Any:
        """The ``n`` tags with the most customers in the segment (``by="tgi"``:
        the highest TGI), among tags with at least ``min_count`` customers in
        it; exact. Columns as :meth:`profile`, best first."""
        if by not in _BY:
            raise InvalidArgumentError(f"analytics: by must be 'count' or 'tgi', not {by!r}")
        if int(n) < 1 or int(min_count) < 0:
            raise InvalidArgumentError("analytics: top_tags needs n >= 1 and min_count >= 0")
        seg = self._population(segment)
        raw = self._impl.top_tags(seg, int(n), _BY[by], int(min_count), category)
        total = self.count_of(segment) if segment is not None else self.customer_count
        return self._profile_frame(raw, total, self.customer_count, None)

    def count_of(self, segment: Any) -> int:
        """Live customers of a Segment or query text (None: every customer)."""
        seg = self._population(segment)
        if seg is None:
            return self.customer_count
        return int(self._impl.profile(seg, "", "")[0])

    def cooccurrence(self, tags: Sequence[Any], segment: Any = None) -> CoOccurrence:
        """Pairwise intersection counts, Jaccard and lift of ``tags`` (Tag
        objects, names or ids) within the segment (every customer when None)."""
        ids = [self._tag_id(t) for t in tags]
        return cooccurrence_of(self._impl.cooccurrence(ids, self._population(segment)))

    def crosstab(self, rows: str, columns: str, segment: Any = None) -> Any:
        """Counts of customers of the segment per (row tag, column tag) of two
        exclusive categories, with ``(none)`` margins. Raises
        InvalidArgumentError for a category that is not exclusive."""
        (row_category, col_category, row_names, col_names, counts, row_none_by_col,
         col_none_by_row, none_none, total) = self._impl.crosstab(rows, columns,
                                                                  self._population(segment))
        nc = len(col_names)
        table = [counts[r * nc:(r + 1) * nc] + [col_none_by_row[r]] for r in range(len(row_names))]
        table.append(list(row_none_by_col) + [none_none])
        cls = _frame_classes()["CrosstabFrame"]
        import pandas as pd

        frame = cls(table, index=pd.Index(row_names + [_NONE], name=row_category),
                    columns=pd.Index(col_names + [_NONE], name=col_category), dtype="int64")
        frame.attrs.update(total=total, row_category=row_category, col_category=col_category)
        return frame

    def coverage(self, segment: Any = None) -> Coverage:
        """Per tag and per category: customers covered and their share of the
        population (the segment, or every customer); ``uncovered`` counts the
        customers with no tag of the category."""
        import pandas as pd

        population, tags, cats = self._impl.coverage(self._population(segment))
        tag_frame = pd.DataFrame(tags, columns=["tag", "name", "category", "count", "share"])
        cat_frame = pd.DataFrame(cats, columns=["category", "tags", "covered", "uncovered",
                                                "share"])
        return Coverage(population, tag_frame, cat_frame)

    def customers_without(self, category: str, segment: Any = None) -> Any:
        """The customers (of the segment, if given) holding no tag of
        ``category``, as a Segment."""
        from ._query import Segment

        impl = self._impl.customers_without_category(category, self._population(segment))
        return Segment(self._owner, impl, None)


# ---- charts -------------------------------------------------------------------

def _label(name: str, category: str, ambiguous: bool) -> str:
    return f"{category}:{name}" if ambiguous and category else name


def _plot_profile(frame: Any, path: Optional[str], top: int, width: float,
                  height: Optional[float], dpi: int, title: Optional[str]) -> Any:
    plt = _plot.pyplot()
    data = frame[~frame["tgi"].isna()].sort_values(["tgi", "count"], ascending=False).head(top)
    data = data.iloc[::-1]  # best at the top of a barh
    dup = set(frame["name"][frame["name"].duplicated()])
    labels = [_label(n, c, n in dup) for n, c in zip(data["name"], data["category"])]
    if height is None:
        height = max(3.0, 0.35 * len(labels) + 1.5)
    import matplotlib

    with matplotlib.rc_context(_plot.rc()):
        fig = _plot.new_figure(plt, width, height, dpi)
        ax = fig.add_subplot(1, 1, 1)
        colours = ["#c0392b" if t >= 100 else "#2e86c1" for t in data["tgi"]]
        # Bars grow from 100 (the population's rate): over- and
        # under-represented tags point opposite ways.
        bars = ax.barh(labels, data["tgi"] - 100, left=100, color=colours)
        ax.axvline(100, color="#555555", linewidth=1)
        for bar, tgi, count in zip(bars, data["tgi"], data["count"]):
            ax.text(tgi, bar.get_y() + bar.get_height() / 2,
                    f" {tgi:.0f} ({count:,}) " , va="center", fontsize=8,
                    ha="left" if tgi >= 100 else "right")
        ax.margins(x=0.2)
        ax.set_xlabel("TGI (100 = 全体客户水平; 括号内为人群内客户数)")
        seg = frame.attrs.get("segment_count")
        ax.set_title(title or (f"人群画像 TGI (n = {seg:,})" if seg is not None else "TGI"))
        fig.tight_layout()
        return _plot.finish(fig, path, dpi)


def _plot_matrix(m: CoOccurrence, path: Optional[str], metric: str, width: float, height: float,
                 dpi: int, title: Optional[str]) -> Any:
    tables = {"lift": m.lift, "jaccard": m.jaccard, "count": m.counts}
    if metric not in tables:
        raise InvalidArgumentError(f"analytics: metric must be one of {sorted(tables)}, not {metric!r}")
    table = tables[metric]
    plt = _plot.pyplot()
    import matplotlib
    import numpy as np

    values = table.to_numpy(dtype=float).copy()
    if metric != "count":
        # A tag with itself (lift |M|/|a|, Jaccard 1) says nothing and would
        # dominate the colour scale.
        np.fill_diagonal(values, np.nan)
    with matplotlib.rc_context(_plot.rc()):
        fig = _plot.new_figure(plt, width, height, dpi)
        ax = fig.add_subplot(1, 1, 1)
        masked = np.ma.masked_invalid(values)
        if metric == "lift":
            finite = values[np.isfinite(values)]
            span = max(abs(np.log2(finite[finite > 0])).max(), 0.5) if (finite > 0).any() else 1.0
            image = ax.imshow(np.ma.log2(masked), cmap="RdBu_r", vmin=-span, vmax=span)
            fig.colorbar(image, ax=ax, label="log2(lift)")
        else:
            image = ax.imshow(masked, cmap="viridis")
            fig.colorbar(image, ax=ax, label=metric)
        labels = list(table.index)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        if len(labels) <= 20:
            fmt = "{:,.0f}" if metric == "count" else "{:.2f}"
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if np.isfinite(values[i, j]):
                        ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center",
                                fontsize=7, color="black")
        ax.set_title(title or f"标签共现 {metric} (n = {m.population:,})")
        fig.tight_layout()
        return _plot.finish(fig, path, dpi)


def _plot_crosstab(frame: Any, path: Optional[str], normalize: bool, width: float, height: float,
                   dpi: int, title: Optional[str]) -> Any:
    plt = _plot.pyplot()
    import matplotlib
    import numpy as np

    data = frame.to_numpy(dtype=float)
    if normalize:
        sums = data.sum(axis=1, keepdims=True)
        data = np.divide(data, sums, out=np.zeros_like(data), where=sums > 0)
    rows, cols = list(frame.index), list(frame.columns)
    with matplotlib.rc_context(_plot.rc()):
        fig = _plot.new_figure(plt, width, height, dpi)
        ax = fig.add_subplot(1, 1, 1)
        left = np.zeros(len(rows))
        cmap = matplotlib.colormaps["tab20"]
        for j, col in enumerate(cols):
            ax.barh(rows, data[:, j], left=left, label=str(col), color=cmap(j % 20))
            left += data[:, j]
        ax.invert_yaxis()
        ax.set_xlabel("占比" if normalize else "客户数")
        ax.set_ylabel(frame.index.name or "")
        ax.legend(title=frame.columns.name, fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
        ax.set_title(title or f"{frame.index.name} × {frame.columns.name} (n = {frame.attrs.get('total', 0):,})")
        fig.tight_layout()
        return _plot.finish(fig, path, dpi)
