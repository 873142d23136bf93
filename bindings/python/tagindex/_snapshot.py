"""Snapshots (issue #11): a point-in-time, read-only view of an :class:`Index`.

A :class:`Snapshot` answers every read the :class:`Index` answers, with the
same names, arguments, return types and errors: its read methods are the
Index's own functions (the same code objects, see :func:`_share`), run on
the low-level ``_Snapshot``, whose bindings are the same C++ templates as
``_Index``'s. Only the docstrings differ (they say "as of the snapshot").
"""
from __future__ import annotations

import types
from typing import Any, List, Union

from ._analytics import AnalyticsMixin
from ._convert import KEY_KIND_NAMES
from ._attributes import AttributeMixin
from ._index import Index, IndexOptions
from ._segments import SegmentsMixin

# The read methods a Snapshot shares, by the class that defines them.
_READS = {
    Index: ("customer_count", "__len__", "row_id_limit", "tag_count", "_keys_array",
            "row_of", "key_of", "keys_of", "__contains__", "live_rows", "category",
            "categories", "tag", "__getitem__", "tags", "tag_infos", "tag_info",
            "_tag_id", "_tag_handle", "has_tag", "tags_of", "rows_with_tag",
            "keys_with_tag", "query", "count", "explain", "compile", "all_customers",
            "segment_from_rows", "segment_from_portable"),
    AttributeMixin: ("attribute", "attributes", "attribute_value", "_seg", "summarize",
                     "top_k", "histogram", "quantile"),
    AnalyticsMixin: ("_population", "_attribute_columns", "_profile_frame", "profile",
                     "top_tags", "count_of", "cooccurrence", "crosstab", "coverage",
                     "customers_without"),
    SegmentsMixin: ("_wrap_segment", "_diff", "saved_segment_info", "saved_segments",
                    "saved_segment", "export_segment", "diff", "segment_drift"),
}

_AS_OF = "As of the snapshot (the index as it stood when the snapshot was taken). "


def _as_of(doc: Any) -> Any:
    return None if doc is None else _AS_OF + doc


def _copy(fn: Any) -> Any:
    # The same code object under a new function object, so only the
    # docstring differs.
    out = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                             fn.__closure__)
    out.__kwdefaults__ = fn.__kwdefaults__
    out.__annotations__ = dict(fn.__annotations__)
    out.__qualname__ = f"Snapshot.{fn.__name__}"
    out.__doc__ = _as_of(fn.__doc__)
    return out


def _share(cls: type) -> None:
    for owner, names in _READS.items():
        for name in names:
            member = vars(owner)[name]
            if isinstance(member, property):
                member = property(_copy(member.fget), doc=_as_of(member.__doc__))
            else:
                member = _copy(member)
            setattr(cls, name, member)


class Snapshot:
    """A point-in-time, read-only view of an :class:`Index`
    (``index.snapshot()``): every read method of the index answers on it as
    the index stood when the snapshot was taken, while writes (from any
    thread) go on — customers and keys, categories, tags and memberships
    (``has_tag``, ``tags_of``, ``rows_with_tag``, ``keys_with_tag``,
    ``tag_info``), queries, attribute values and aggregates, saved segments
    (info, list, load, diff, drift) and analytics (``profile``,
    ``top_tags``, ``cooccurrence``, ``crosstab``, ``coverage``,
    ``customers_without``), with the index's names, arguments, return
    types and errors.

    Its Segments and :class:`Tag` handles belong to the index (they combine
    and compare with the index's own). A ``Tag`` handle names a tag by id:
    its own ``count`` / ``name`` read the index now; ask the snapshot
    (``snap.tag_info(tag)``, ``snap.rows_with_tag(tag)``) for the values as
    of the snapshot.

    Taking one never waits for a writer; holding one keeps the version it
    sees alive (what writers replaced since: at most one copy of each
    changed 2^16-row container, attribute column and in-memory key table),
    so hold snapshots for a request or a report, not for days. Thread-safe.
    """

    def __init__(self, index: Index, impl: Any) -> None:
        self._index = index
        self._owner = index
        self._impl = impl

    @property
    def index(self) -> Index:
        """The index this is a snapshot of."""
        return self._index

    @property
    def sequence(self) -> int:
        """Commits applied before the snapshot (since create/open): snapshots
        of one index are ordered by it."""
        return self._impl.sequence()

    @property
    def key_kind(self) -> str:
        """``"int64"``, ``"string"`` or ``"identity"`` (fixed at creation)."""
        return KEY_KIND_NAMES[self._impl.key_kind]

    @property
    def options(self) -> IndexOptions:
        """The options the index was created with (read from the index:
        FailedPreconditionError once it is closed)."""
        return self._index.options

    def tag_names(self) -> List[tuple]:
        """``(category, name)`` of every tag then, ordered like ``tag_infos``."""
        return [(t.category, t.name) for t in self.tag_infos()]

    def find_customer(self, key: Union[int, str]) -> int:
        """The row id the customer had then (:meth:`row_of`)."""
        return self.row_of(key)

    def __repr__(self) -> str:
        return f"<tagindex.Snapshot sequence={self.sequence} customers={self.customer_count}>"


_share(Snapshot)
