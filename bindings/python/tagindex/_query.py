"""Segments (query results), compiled queries, query options and Explain."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Sequence, Union

import numpy as np

from ._convert import row_scalar, rows_array, text_arg
from ._errors import InvalidArgumentError, UnknownCustomerError
from ._options import QUERY_FIELDS, make_dataclass, query_options, with_options

if TYPE_CHECKING:  # pragma: no cover
    from ._index import Index

# Rows fetched per step when iterating a segment's keys.
_ITER_PAGE = 1 << 16


QueryOptions = make_dataclass(
    "QueryOptions", QUERY_FIELDS,
    "Options of one query (``tagindex::QueryOptions``; fields and defaults are the\n"
    "C++ struct's). The query methods take them as keyword arguments.")


@dataclasses.dataclass(frozen=True)
class ExplainNode:
    """One node of an executed query plan.

    Attributes:
        operation: ``"TAG"``, ``"ALL"``, ``"NONE"``, ``"AND"``, ``"OR"``,
            ``"XOR"`` or ``"NOT"``.
        detail: the tag (``"category:name"``) of a TAG node.
        subtracted: an AND operand that is subtracted (AND-NOT).
        estimated: the cardinality the planner expected.
        executed: False when skipped (an earlier AND operand was empty).
        actual: the cardinality after execution.
        nanos: wall time of the node including its children.
        children: the operand nodes.
    """

    operation: str
    detail: str
    subtracted: bool
    estimated: int
    executed: bool
    actual: int
    nanos: int
    children: List["ExplainNode"]

    @classmethod
    def _from_dict(cls, d: dict) -> "ExplainNode":
        return cls(operation=d["operation"], detail=d["detail"], subtracted=d["subtracted"],
                   estimated=d["estimated"], executed=d["executed"], actual=d["actual"],
                   nanos=d["nanos"], children=[cls._from_dict(c) for c in d["children"]])


@dataclasses.dataclass(frozen=True)
class Explanation:
    """A query's plan with estimated and actual cardinalities and times.

    ``str(explanation)`` is the plan as an indented tree, one node a line::

        AND  est=1200 actual=830 time=41.2us
          TAG 电子产品  est=5000 actual=5000 time=0.1us
          AND-NOT TAG 流失风险  est=900 actual=900 time=0.1us

    Attributes:
        query: the query text.
        normal_form: the normalised expression, e.g. ``(AND a b (NOT c))``.
        root: the plan's root :class:`ExplainNode`.
        count: the result's cardinality.
        compile_nanos, plan_nanos, execute_nanos: time per stage.
        text: the rendered plan (``str(explanation)``).
    """

    query: str
    normal_form: str
    root: ExplainNode
    count: int
    compile_nanos: int
    plan_nanos: int
    execute_nanos: int
    text: str

    @classmethod
    def _from_dict(cls, d: dict) -> "Explanation":
        return cls(query=d["query"], normal_form=d["normal_form"],
                   root=ExplainNode._from_dict(d["root"]), count=d["count"],
                   compile_nanos=d["compile_nanos"], plan_nanos=d["plan_nanos"],
                   execute_nanos=d["execute_nanos"], text=d["text"])

    def __str__(self) -> str:
        return self.text


class Segment:
    """The customers matching a query: a snapshot of row ids of one index.

    A segment does not change when the index changes afterwards. It behaves
    like an ordered set of customers (ascending row id):

    - ``len(seg)``, ``bool(seg)``; ``key in seg`` (a live customer's key);
    - iteration yields customer keys, fetched page by page;
    - ``seg[i]`` is the key at position ``i``; ``seg[a:b]`` is a smaller
      Segment (a page); :meth:`pages` walks a large segment page by page;
    - ``seg & other``, ``|``, ``-``, ``^`` combine segments of the same index;
    - :meth:`to_numpy` (row ids), :meth:`keys` and :meth:`to_frame` export it
      without a Python object per row;
    - it pickles (with its index) through the portable Roaring format.

    Example::

        seg = index.query("高价值客户 AND 电子产品 AND NOT 流失风险")
        len(seg), seg.keys()[:10]
        for page in seg.pages(10_000):
            send(page.keys())
    """

    __slots__ = ("_index", "_impl", "_query")

    def __init__(self, index: "Index", impl: Any, query: Optional[str] = None) -> None:
        self._index = index
        self._impl = impl
        self._query = query

    @property
    def index(self) -> "Index":
        """The index the segment came from."""
        return self._index

    @property
    def query(self) -> Optional[str]:
        """The query text that produced the segment (None for derived segments)."""
        return self._query

    @property
    def count(self) -> int:
        """Number of customers in the segment (also ``len(seg)``)."""
        return self._impl.count()

    def __len__(self) -> int:
        """Number of customers in the segment."""
        return self._impl.count()

    def __bool__(self) -> bool:
        """True unless the segment is empty."""
        return self._impl.count() > 0

    def __contains__(self, key: Any) -> bool:
        """``key in seg``: whether the live customer ``key`` is in the segment
        (False for keys that are not live customers)."""
        try:
            row = self._index.row_of(key)
        except UnknownCustomerError:
            return False
        return self._impl.contains(row)

    def contains_row(self, row: int) -> bool:
        """Whether row id ``row`` is in the segment."""
        return self._impl.contains(row_scalar(row))

    def to_numpy(self) -> np.ndarray:
        """All row ids, ascending, as a ``uint32`` array (4 bytes per row).

        Raises:
            ResourceExhaustedError: the array cannot be allocated (``kind``
                ``"out_of_memory"``; iterate, or page with :meth:`rows_after`).
        """
        return self._impl.rows()

    def rows_after(self, after: Optional[int], limit: int) -> np.ndarray:
        """Up to ``limit`` row ids greater than ``after`` (from the start when
        ``after`` is None), ascending, as ``uint32``: a cursor by row id, as a
        host API would page (``rows_after(last_row_of_previous_page, n)``)."""
        if limit < 0:
            raise InvalidArgumentError("segment: limit must be >= 0")
        return self._impl.page_after(None if after is None else row_scalar(after), limit)

    def keys_of(self, rows: Any) -> np.ndarray:
        """The customer keys of ``rows`` (e.g. from :meth:`rows_after`), in
        the same order; rows of customers removed since the query still report
        the key they had.

        Raises:
            NotFoundError: a row id the index never assigned.
        """
        return self._index._keys_array(self._impl.keys_of(rows_array(rows)))

    def keys(self) -> np.ndarray:
        """All customer keys in row order: an ``int64`` array, or an ``object``
        array of str for a string-keyed index. A customer removed from the
        index after the query still reports the key it had."""
        return self._index._keys_array(self._impl.keys_of(self._impl.rows()))

    def _key_list(self, rows: np.ndarray) -> list:
        keys = self._impl.keys_of(rows)
        return keys.tolist() if isinstance(keys, np.ndarray) else keys

    def __iter__(self) -> Iterator[Union[int, str]]:
        """Yields the customer keys in row order, fetched a page at a time."""
        after: Optional[int] = None
        while True:
            rows = self._impl.page_after(after, _ITER_PAGE)
            if len(rows) == 0:
                return
            yield from self._key_list(rows)
            after = int(rows[-1])

    def __getitem__(self, item: Union[int, slice]) -> Any:
        """``seg[i]``: the key at position ``i``; ``seg[a:b]``: the Segment of
        positions a..b-1 (a page)."""
        n = self._impl.count()
        if isinstance(item, slice):
            start, stop, step = item.indices(n)
            if step != 1:
                raise InvalidArgumentError(
                    "segment: slices are pages (step 1); for every k-th customer use "
                    "seg.to_numpy()[::k] or seg.keys()[::k]")
            return Segment(self._index, self._impl.slice(start, max(0, stop - start)))
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"segment indices must be integers or slices, not "
                            f"{type(item).__name__}")
        i = int(item)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"segment index {int(item)} out of range for {n} customers")
        return self._key_list(self._impl.page(i, 1))[0]

    def row_at(self, position: int) -> int:
        """The row id at ``position`` (0-based rank; negative counts from the end)."""
        if isinstance(position, (bool, np.bool_)) or not isinstance(position, (int, np.integer)):
            raise TypeError(f"segment: row_at position must be an int, got "
                            f"{type(position).__name__} {position!r} (it is not rounded)")
        n = self._impl.count()
        i = int(position) + (n if position < 0 else 0)
        if not 0 <= i < n:
            raise IndexError(f"segment position {position} out of range for {n} customers")
        return int(self._impl.page(i, 1)[0])

    def page(self, number: int, size: int) -> "Segment":
        """Page ``number`` (0-based) of ``size`` customers: ``self[number*size:(number+1)*size]``."""
        if number < 0 or size <= 0:
            raise InvalidArgumentError("segment: page number must be >= 0 and size > 0")
        return self[number * size:(number + 1) * size]

    def pages(self, size: int) -> Iterator["Segment"]:
        """Yields consecutive pages (Segments) of at most ``size`` customers.
        The segment is a snapshot, so pages never skip or repeat customers
        whatever happens to the index meanwhile."""
        if size <= 0:
            raise InvalidArgumentError("segment: page size must be > 0")
        n = self._impl.count()
        for offset in range(0, n, size):
            yield Segment(self._index, self._impl.slice(offset, size))

    # ---- set algebra ----------------------------------------------------------

    def _other(self, other: Any, op: str) -> Any:
        if not isinstance(other, Segment):
            raise TypeError(f"unsupported operand for {op}: Segment and "
                            f"{type(other).__name__}")
        return other._impl

    def __and__(self, other: "Segment") -> "Segment":
        """Customers in both segments (same index)."""
        return Segment(self._index, self._impl.intersect(self._other(other, "&")))

    def __or__(self, other: "Segment") -> "Segment":
        """Customers in either segment (same index)."""
        return Segment(self._index, self._impl.union(self._other(other, "|")))

    def __sub__(self, other: "Segment") -> "Segment":
        """Customers in this segment but not in ``other``."""
        return Segment(self._index, self._impl.difference(self._other(other, "-")))

    def __xor__(self, other: "Segment") -> "Segment":
        """Customers in exactly one of the segments."""
        return Segment(self._index, self._impl.symmetric_difference(self._other(other, "^")))

    def __eq__(self, other: object) -> bool:
        """Same index and exactly the same customers."""
        if not isinstance(other, Segment):
            return NotImplemented
        return other._index is self._index and self._impl.same_rows(other._impl)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking value semantics

    # ---- export -----------------------------------------------------------------

    def to_portable(self) -> bytes:
        """The row ids in the standard portable Roaring format (readable by
        CRoaring, pyroaring, Java/Go Roaring, pg_roaringbitmap, ClickHouse)."""
        return self._impl.to_portable()

    def to_frame(self, tags: Optional[Sequence[Any]] = None,
                 attributes: Optional[Sequence[str]] = None) -> Any:
        """A pandas DataFrame with one row per customer: columns ``row``
        (uint32) and ``key``, plus one boolean column per tag in ``tags``
        (tag names, ``"category:name"``, or :class:`Tag` handles) telling
        whether the customer holds it now, and one column per attribute in
        ``attributes`` (nullable ``Int64``, ``Decimal`` objects, or
        ``datetime64[ns]``; NULL is ``<NA>`` / ``None`` / ``NaT``).
        No Python loop per row for tags; attribute values are read per row
        in C++ (bits + 1 bitmap probes each).
        """
        import pandas as pd

        rows = self._impl.rows()
        data = {"row": rows, "key": self._index._keys_array(self._impl.keys_of(rows))}
        for tag in tags or ():
            handle = self._index._tag_handle(tag)
            members = handle.rows()
            data[handle.qualified_name] = np.isin(rows, members, assume_unique=True)
        if attributes:
            from ._attributes import column_from_storage
            for name in attributes:
                info = self._index._impl.get_attribute(name)
                values, present = self._index._impl.attribute_values(name, rows)
                data[info[1]] = column_from_storage(values, present, info[2], info[3]).to_numpy() \
                    if info[2] != 0 else column_from_storage(values, present, 0, 0).array
        return pd.DataFrame(data)

    def __reduce__(self) -> tuple:
        # Customers removed from the index since the query are left out: the
        # unpickled index does not know them (their keys are gone).
        live = self._impl.intersect(self._index._impl.all_customers())
        return (_restore_segment, (self._index, live.to_portable(), self._query))

    def __repr__(self) -> str:
        query = f" {self._query!r}" if self._query is not None else ""
        return f"<tagindex.Segment{query} count={self._impl.count()}>"


def _restore_segment(index: "Index", blob: bytes, query: Optional[str]) -> Segment:
    return Segment(index, index._impl.segment_from_portable(blob), query)


class CompiledQuery:
    """A query parsed, bound and normalised once, to run many times.

    Tag names are resolved at compile time (renaming a tag later does not
    change the query; deleting one makes later runs raise
    :class:`FailedPreconditionError`). Each run reads the current data.
    Safe to run from many threads at once.

    Example::

        q = index.compile("高价值客户 AND NOT 流失风险")
        q.count(), q.run()
    """

    __slots__ = ("_index", "_impl", "_options")

    def __init__(self, index: "Index", impl: Any, options: Optional[dict] = None) -> None:
        self._index = index
        self._impl = impl
        self._options = options

    def __reduce__(self) -> tuple:
        # Recompiled against the unpickled index (names bind again there).
        return (_recompile, (self._index, self.text, self._options))

    @property
    def index(self) -> "Index":
        """The index the query was compiled against."""
        return self._index

    @property
    def text(self) -> str:
        """The query text."""
        return self._impl.text()

    @property
    def normal_form(self) -> str:
        """The normalised expression, e.g. ``(AND 高价值客户 (NOT 流失风险))``."""
        return self._impl.debug_string()

    def run(self) -> Segment:
        """The matching customers now."""
        return Segment(self._index, self._impl.run(), self.text)

    def count(self) -> int:
        """The number of matching customers, without building the segment
        where the plan allows."""
        return self._impl.count()

    def explain(self) -> Explanation:
        """Runs the query and returns its plan."""
        return Explanation._from_dict(self._impl.explain())

    def __repr__(self) -> str:
        return f"<tagindex.CompiledQuery {self.text!r}>"


def _recompile(index: "Index", text: str, options: Any) -> CompiledQuery:
    if isinstance(options, tuple):  # pickled before the options were bound once
        options = {"max_query_bytes": options[0], "max_depth": options[1],
                   "max_operands": options[2], "unknown_tags_are_empty": options[3],
                   "rewrites": options[4], "today": options[8] if len(options) > 8 else None}
    options = dict(options or {})
    return CompiledQuery(index, index._impl.compile(text,
                                                    query_options(options)), options)
