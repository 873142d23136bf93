"""Saved segments (人群包) of an :class:`Index`.

A static segment freezes the members of a query when it is saved (with the
query text and the creation time); a dynamic one stores the query and is
evaluated whenever it is used. Both are usable by name in queries as
``人群:NAME`` or ``segment:NAME`` (docs/query_language.md)::

    index.save_segment("双十一老客", "复购客户 AND 大促敏感")
    index.save_segment("高潜新客", "新客户 AND 消费金额 >= 500", dynamic=True)
    index.count("人群:双十一老客 AND NOT 流失风险")
    index.segment_drift("双十一老客")          # entered / left vs its query now
    blob = index.export_segment("双十一老客")   # portable Roaring
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any, List, Optional


@dataclasses.dataclass(frozen=True)
class SavedSegmentInfo:
    """A saved segment: ``kind`` is "static" or "dynamic"; ``count`` is the
    live members now (static) or the query's count now (dynamic)."""
    name: str
    kind: str
    query: str
    created: datetime.datetime  # UTC
    count: int


@dataclasses.dataclass(frozen=True)
class SegmentDiff:
    """Who entered (in ``after``, not in ``before``) and who left; the rows
    themselves only when asked for (``rows=True``)."""
    before: int
    after: int
    entered: int
    left: int
    stayed: int
    entered_rows: Optional[Any] = None  # Segment
    left_rows: Optional[Any] = None


def _info(t: tuple) -> SavedSegmentInfo:
    created = datetime.datetime.fromtimestamp(t[3] / 1e6, tz=datetime.timezone.utc)
    return SavedSegmentInfo(t[0], t[1], t[2], created, t[4])


class SegmentsMixin:
    """The saved-segment methods of :class:`Index`."""

    def _wrap_segment(self, impl: Any, query: Optional[str]) -> Any:
        from ._query import Segment

        return Segment(self._owner, impl, query)

    def _diff(self, t: tuple) -> SegmentDiff:
        entered = None if t[5] is None else self._wrap_segment(t[5], None)
        left = None if t[6] is None else self._wrap_segment(t[6], None)
        return SegmentDiff(t[0], t[1], t[2], t[3], t[4], entered, left)

    def save_segment(self, name: str, query: str, *, dynamic: bool = False) -> SavedSegmentInfo:
        """Saves ``query``'s result under ``name`` (``dynamic=True``: the
        query itself, compiled now to check it).

        Raises:
            AlreadyExistsError: the name is taken.
            QuerySyntaxError / UnknownTagError / ...: the query's own errors.
        """
        self._impl.save_segment(name, query, bool(dynamic))
        return self.saved_segment_info(name)

    def saved_segment_info(self, name: str) -> SavedSegmentInfo:
        """The definition and count of a saved segment. Raises NotFoundError."""
        return _info(self._impl.get_saved_segment(name))

    def saved_segments(self) -> List[SavedSegmentInfo]:
        """Every saved segment, by name."""
        return [_info(t) for t in self._impl.list_saved_segments()]

    def saved_segment(self, name: str) -> Any:
        """The members now, as a Segment (static: frozen; dynamic: its query run now)."""
        info = self._impl.get_saved_segment(name)
        return self._wrap_segment(self._impl.load_saved_segment(name), info[2])

    def rename_segment(self, name: str, new_name: str) -> None:
        """Renames a saved segment (queries naming the old name stop working)."""
        self._impl.rename_saved_segment(name, new_name)

    def drop_segment(self, name: str) -> None:
        """Drops a saved segment. Raises NotFoundError."""
        self._impl.drop_saved_segment(name)

    def export_segment(self, name: str) -> bytes:
        """The members now in the standard portable Roaring format."""
        return self.saved_segment(name).to_portable()

    def diff(self, before: Any, after: Any, *, rows: bool = False) -> SegmentDiff:
        """Entered / left from ``before`` to ``after`` (Segments or query texts)."""
        def seg(x: Any) -> Any:
            return self.query(x) if isinstance(x, str) else x
        b, a = seg(before), seg(after)
        for x in (b, a):
            if getattr(x, "_index", None) is not self._owner:
                from ._errors import InvalidArgumentError
                raise InvalidArgumentError("index: the segment belongs to another index")
        return self._diff(self._impl.diff_segments(b._impl, a._impl, bool(rows)))

    def segment_drift(self, name: str, *, rows: bool = False) -> SegmentDiff:
        """A static segment against its own query now: who would enter and
        who would leave if it were saved again. Raises InvalidArgumentError
        for a dynamic segment."""
        return self._diff(self._impl.diff_saved_segment(name, bool(rows)))
