"""Option structs derived from the C++ ones.

``bindings/python/options_binding.cc`` binds ``tagindex::IndexOptions``,
``OpenOptions`` and ``QueryOptions`` once, each field with its documentation;
its default is the C++ struct's. Everything here is derived from those tables
(``_tagindex._IndexOptions._fields`` ...): the public dataclasses
(:class:`IndexOptions`, :class:`QueryOptions`, their defaults and docstrings),
the checking and conversion of keyword arguments, the signatures of
``Index()``, ``Index.open`` and the query methods (so ``help()`` and the stub
check see every option), and the pickler's option state. A new C++ field is
one line in options_binding.cc; the stub test then names the stub lines to add.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import inspect
import textwrap
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from . import _tagindex
from ._convert import KEY_KINDS
from ._errors import InvalidArgumentError

SYNC_POLICIES = {"every_write": 0, "group_commit": 1, "none": 2}

# The Python names of enum fields, and how an error calls the field.
_ENUMS: Dict[str, Mapping[str, int]] = {"key_kind": KEY_KINDS, "sync": SYNC_POLICIES}
_ENUM_LABELS = {"key_kind": "key kind", "sync": "sync policy"}
_ANNOTATIONS = {"bool": bool, "int": int, "enum": str, "date": Any}


class Field(NamedTuple):
    name: str
    kind: str  # "bool", "int", "enum" or "date"
    max: int  # largest int (kind "int")
    default: Any  # in its Python form
    doc: str


def _table(cpp_cls: Any) -> List[Field]:
    out = []
    for name, kind, top, default, doc in cpp_cls._fields:
        if kind == "enum":
            default = {v: k for k, v in _ENUMS[name].items()}[default]
        out.append(Field(name, kind, top, default, doc))
    return out


INDEX_FIELDS = _table(_tagindex._IndexOptions)
OPEN_FIELDS = _table(_tagindex._OpenOptions)
QUERY_FIELDS = _table(_tagindex._QueryOptions)


def today_days(today: Any) -> Optional[int]:
    """``today`` (a date, an ISO string, days or None) as days since 1970-01-01."""
    if today is None:
        return None
    if isinstance(today, str):
        try:
            today = datetime.date.fromisoformat(today)
        except ValueError:
            raise InvalidArgumentError(f"query: today must be an ISO date, got {today!r}") \
                from None
    if isinstance(today, datetime.datetime):
        today = today.date()
    if isinstance(today, datetime.date):
        return (today - datetime.date(1970, 1, 1)).days
    if isinstance(today, (int, np.integer)) and not isinstance(today, bool):
        return int(today)
    raise InvalidArgumentError(f"query: today must be a date, an ISO string or days, got "
                               f"{today!r}")


def _cpp_value(field: Field, value: Any, component: str) -> Any:
    """``value`` checked and in the form the C++ field takes."""
    if field.kind == "bool":
        return bool(value)
    if field.kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                or not 0 <= value <= field.max:
            raise InvalidArgumentError(f"{component}: {field.name} must be an int in "
                                       f"[0, {field.max}], got {value!r}")
        return int(value)
    if field.kind == "enum":
        names = _ENUMS[field.name]
        if not isinstance(value, str) or value not in names:
            raise InvalidArgumentError(f"{component}: unknown {_ENUM_LABELS[field.name]} "
                                       f"{value!r}; use one of {sorted(names)}")
        return names[value]
    if field.kind == "date":
        return today_days(value)
    raise AssertionError(f"unknown option kind {field.kind!r}")  # pragma: no cover


def check_keywords(where: str, given: Mapping[str, Any], *tables: Sequence[Field]) -> None:
    """TypeError for a keyword that no table names."""
    known = [f.name for table in tables for f in table]
    for name in given:
        if name not in known:
            raise TypeError(f"{where}() got an unexpected keyword argument {name!r}; its "
                            f"options are: {', '.join(known)}")


def to_cpp(cpp_cls: Any, table: Sequence[Field], values: Mapping[str, Any],
           component: str) -> Any:
    """A C++ option struct with the fields of ``values`` that ``table`` names
    set, every other field at its C++ default."""
    out = cpp_cls()
    for field in table:
        if field.name in values:
            setattr(out, field.name, _cpp_value(field, values[field.name], component))
    return out


def from_cpp(cpp_obj: Any, table: Sequence[Field]) -> Dict[str, Any]:
    """The fields of a C++ option struct, in their Python form."""
    out = {}
    for field in table:
        value = getattr(cpp_obj, field.name)
        if field.kind == "enum":
            value = {v: k for k, v in _ENUMS[field.name].items()}[value]
        out[field.name] = value
    return out


def index_options(values: Mapping[str, Any]) -> Any:
    """A ``_IndexOptions`` from Python values (key_kind a name)."""
    return to_cpp(_tagindex._IndexOptions, INDEX_FIELDS, values, "index")


def open_options(values: Mapping[str, Any]) -> Any:
    """A ``_OpenOptions`` whose ``index`` holds the IndexOptions among ``values``."""
    out = to_cpp(_tagindex._OpenOptions, OPEN_FIELDS, values, "index")
    out.index = index_options(values)
    return out


def query_options(values: Mapping[str, Any]) -> Any:
    """A ``_QueryOptions`` from Python values, or None for all defaults."""
    if not values:
        return None
    return to_cpp(_tagindex._QueryOptions, QUERY_FIELDS, values, "query")


def make_dataclass(name: str, table: Sequence[Field], summary: str) -> type:
    """A frozen dataclass with one field per table row, its C++ default and
    its documentation."""
    lines = [summary, "", "Attributes:"]
    for field in table:
        lines += textwrap.wrap(f"{field.name}: {field.doc}", 76, initial_indent="    ",
                               subsequent_indent="        ")
    cls = dataclasses.make_dataclass(
        name, [(f.name, _ANNOTATIONS[f.kind], dataclasses.field(default=f.default))
               for f in table], frozen=True)
    cls.__doc__ = "\n".join(lines)
    cls.__module__ = "tagindex"
    return cls


def keyword_parameters(*tables: Sequence[Field], skip: Sequence[str] = ()) \
        -> List[inspect.Parameter]:
    return [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                              annotation=_ANNOTATIONS[f.kind])
            for table in tables for f in table if f.name not in skip]


def with_options(*tables: Sequence[Field], skip: Sequence[str] = ()) -> Callable:
    """Declares that a function's ``**options`` are the fields of ``tables``:
    its signature lists them as keyword-only parameters with their defaults,
    and an unknown keyword is a TypeError naming the known ones."""

    def wrap(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        params = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
        params += keyword_parameters(*tables, skip=skip)
        where = fn.__qualname__.replace(".__init__", "")

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            check_keywords(where, {k: v for k, v in kwargs.items()
                                   if k not in sig.parameters}, *tables)
            return fn(*args, **kwargs)

        inner.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        return inner

    return wrap


# ---- the stubs ---------------------------------------------------------------
#
# __init__.pyi holds generated blocks between `# <generated: NAME>` and
# `# </generated: NAME>`; `python -m tagindex._options FILE` rewrites them
# from the tables, and tests/python/test_options.py checks they are current.

_STUB_TYPES = {"bool": "bool", "int": "int", "enum": "str", "date": "Any"}


def _params(table: Sequence[Field], skip: Sequence[str] = ()) -> List[str]:
    return [f"{f.name}: {_STUB_TYPES[f.kind]} = ..." for f in table if f.name not in skip]


def _def(head: str, params: List[str], tail: str, indent: str = "    ") -> str:
    """A def line wrapped at 99 columns."""
    pieces = [p + "," for p in params[:-1]] + [(params[-1] if params else "") + tail]
    lines, line = [], f"{indent}def {head}"
    pad = " " * (len(indent) + 4 + head.index("(") + 1)
    for piece in pieces:
        if len(line) + 1 + len(piece) > 99:
            lines.append(line)
            line = pad + piece
        else:
            line = line + " " + piece
    lines.append(line)
    return "\n".join(lines) + "\n"


def _dataclass_block(table: Sequence[Field]) -> str:
    out = "".join(f"    {f.name}: {_STUB_TYPES[f.kind]}\n" for f in table)
    return out + _def("__init__(self,", _params(table), ") -> None: ...")


def stub_blocks() -> Dict[str, str]:
    query = {}
    for name, ret in [("query", "Segment"), ("count", "int"), ("explain", "Explanation"),
                      ("compile", "CompiledQuery")]:
        query[name] = _def(f"{name}(self, text: str, *,", _params(QUERY_FIELDS),
                           f") -> {ret}: ...")
    return {
        "IndexOptions": _dataclass_block(INDEX_FIELDS),
        "QueryOptions": _dataclass_block(QUERY_FIELDS),
        "Index.__init__": _def('__init__(self, key_kind: str = ..., *,',
                               _params(INDEX_FIELDS, skip=("key_kind",)), ") -> None: ..."),
        "Index.open": "    @classmethod\n" + _def(
            'open(cls, path: Union[str, os.PathLike[str]], *,',
            _params(OPEN_FIELDS) + _params(INDEX_FIELDS), ") -> Index: ..."),
        "Index.query": "".join(query.values()),
        "Snapshot.query": "".join(query.values()),
    }


def render_stub(text: str) -> str:
    """``text`` with every generated block replaced by its current form."""
    import re

    for name, body in stub_blocks().items():
        pattern = re.compile(r"(?m)^(\s*# <generated: %s>\n).*?^(\s*# </generated: %s>\n)"
                             % (re.escape(name), re.escape(name)), re.S)
        if not pattern.search(text):
            raise ValueError(f"stub: no generated block {name!r}")
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text, count=1)
    return text


if __name__ == "__main__":  # pragma: no cover
    import pathlib
    import sys

    path = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                        pathlib.Path(__file__).with_name("__init__.pyi"))
    path.write_text(render_stub(path.read_text(encoding="utf-8")), encoding="utf-8")
