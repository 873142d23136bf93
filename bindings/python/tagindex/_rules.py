"""Rule tags of an :class:`Index`: tags whose members are a query's result,
kept by the index (docs/rule_tags.md)::

    index.define_rule_tag("高价值客户", "消费金额 >= 1000", category="价值分层")
    index.define_rule_tag("流失风险", "最近购买 < today - 90d AND 订单数 >= 2")
    ... customers change ...
    results = index.refresh_rules()              # list of RuleRefreshResult
    frame = index.refresh_rules(as_frame=True)   # the same as a DataFrame
    index.rule_tags()                            # definitions and refresh state

Members are an ordinary tag bitmap: ``index.count("高价值客户 AND NOT 流失风险")``
costs what it costs with manual tags. Tagging a rule tag by hand raises
:class:`FailedPreconditionError`. A refresh re-evaluates only the customers
whose inputs changed since the last one when that is exact (the result
says so, and why); ``full=True`` re-evaluates everyone.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any, List, Optional, Sequence, Union

DateLike = Union[datetime.date, str, int, None]

_EPOCH = datetime.date(1970, 1, 1)


def _days(value: DateLike) -> Optional[int]:
    """Days since 1970-01-01 of a date, an ISO string or an int (None: today)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("as_of must be a date, an ISO date string or days since 1970-01-01")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value)
    if isinstance(value, datetime.date):
        return (value - _EPOCH).days
    raise TypeError("as_of must be a date, an ISO date string or days since 1970-01-01")


def _date(days: int) -> datetime.date:
    return _EPOCH + datetime.timedelta(days=days)


@dataclasses.dataclass(frozen=True)
class RuleTagInfo:
    """A rule tag: its query, refresh policy ("on_demand" or "on_commit"),
    the date its members were evaluated for, members now, rows noted as
    changed since (``pending``), and whether the next refresh must be full."""
    tag: int
    name: str
    category: str
    query: str
    policy: str
    as_of: datetime.date
    count: int
    pending: int
    full_needed: bool
    full_reason: str
    uses_today: bool
    depends_on: List[int]

    @property
    def qualified_name(self) -> str:
        """``"category:name"``, or just the name for a rule tag without a category."""
        return f"{self.category}:{self.name}" if self.category else self.name


@dataclasses.dataclass(frozen=True)
class RuleRefreshResult:
    """What one rule's refresh did: customers that entered and left, members
    after, the evaluation date, and whether it ran incrementally (``reason``
    says why, e.g. "incremental: 1234 changed rows" or "full: requested")."""
    tag: int
    name: str
    entered: int
    left: int
    count: int
    as_of: datetime.date
    incremental: bool
    reason: str
    evaluated_rows: int


def _info(t: tuple) -> RuleTagInfo:
    return RuleTagInfo(t[0], t[1], t[2], t[3], t[4], _date(t[5]), t[6], t[7], t[8], t[9], t[10],
                       list(t[11]))


def _result(t: tuple) -> RuleRefreshResult:
    return RuleRefreshResult(t[0], t[1], t[2], t[3], t[4], _date(t[5]), t[6], t[7], t[8])


class RulesMixin:
    """The rule-tag methods of :class:`Index`."""

    def _rule_id(self, tag: Any) -> int:
        return self._tag_id(tag)

    def define_rule_tag(self, name: str, query: str, *, category: str = "",
                        description: str = "", policy: str = "on_demand",
                        as_of: DateLike = None) -> Any:
        """Creates a rule tag holding ``query``'s result at ``as_of`` (the
        ``today`` of relative dates; default: today, UTC) and returns its
        :class:`Tag`. ``policy="on_commit"`` keeps it current inside every
        commit that changes its inputs (for cheap rules).

        Raises:
            AlreadyExistsError: the name is taken in the category.
            QuerySyntaxError / UnknownTagError / ...: the query's own errors.
            InvalidArgumentError: an exclusive category.
        """
        from ._index import Tag

        tag_id = self._impl.define_rule_tag(name, query, category, description, policy,
                                            _days(as_of))
        return Tag(self, tag_id)

    def redefine_rule_tag(self, tag: Any, query: str, *, policy: str = "on_demand",
                          as_of: DateLike = None) -> None:
        """Replaces a rule tag's query (and policy) and re-evaluates it.
        A redefinition that would make the rule depend on itself raises
        InvalidArgumentError naming the cycle ("A -> B -> A")."""
        self._impl.redefine_rule_tag(self._rule_id(tag), query, policy, _days(as_of))

    def drop_rule_tag(self, tag: Any) -> None:
        """Deletes a rule tag (FailedPreconditionError if another rule uses it)."""
        self._impl.drop_rule_tag(self._rule_id(tag))

    def rule_tag_info(self, tag: Any) -> RuleTagInfo:
        """The definition and refresh state of one rule tag."""
        return _info(self._impl.get_rule_tag(self._rule_id(tag)))

    def rule_tags(self) -> List[RuleTagInfo]:
        """Every rule tag, by tag id."""
        return [_info(t) for t in self._impl.list_rule_tags()]

    def refresh_rules(self, rules: Optional[Sequence[Any]] = None, *, as_of: DateLike = None,
                      full: bool = False, as_frame: bool = False) -> Any:
        """Refreshes the rule tags (all, or ``rules``: names or :class:`Tag`
        handles) in dependency order at ``as_of`` and returns one
        :class:`RuleRefreshResult` per rule, or with ``as_frame=True`` a
        pandas DataFrame of them (one row per rule)."""
        names: List[str] = []
        for r in rules or []:
            if isinstance(r, str):
                names.append(r)
            else:
                t = self._impl.get_tag(self._tag_id(r))
                names.append(f"{t[2]}:{t[1]}" if t[2] else t[1])
        results = [_result(t) for t in self._impl.refresh_rules(names, _days(as_of), bool(full))]
        if not as_frame:
            return results
        import pandas as pd

        columns = [f.name for f in dataclasses.fields(RuleRefreshResult)]
        return pd.DataFrame([dataclasses.astuple(r) for r in results], columns=columns)
