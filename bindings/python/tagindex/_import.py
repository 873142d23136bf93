"""CSV and DataFrame import (the library's importer, include/tagindex/import.h),
and the demo shop. One behaviour for CSV files and pandas frames: the key kind
is declared (never guessed from the data), every bad row is reported with its
line (or frame position) and reason instead of one exception for the whole
load, and the mapping options are the same.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import warnings
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from ._convert import KEY_KINDS
from ._errors import InvalidArgumentError, NotFoundError, UnimplementedError

__all__ = ["ImportReport", "RejectedRow", "RejectedRowsWarning", "demo_queries"]


class RejectedRowsWarning(UserWarning):
    """Issued by :meth:`Index.from_dataframe` when rows were rejected; the
    index's :attr:`Index.last_import` report lists them."""


@dataclasses.dataclass(frozen=True)
class RejectedRow:
    """One rejected row.

    Attributes:
        file: the file name (``"<DataFrame>"`` for a frame).
        line: the line the row starts on (the header is line 1).
        record: 0-based position of the data row (for a frame: its position,
            ``df.iloc[record]``).
        column: the column at fault, or ``""``.
        reason: why the row was rejected.
        raw: the row's bytes as in the file.
        kind: what is wrong, as an error kind (:attr:`TagindexError.kind`):
            ``"bad_key"`` (the key cell), ``"bad_name"`` (a tag name the
            index refuses) or ``"bad_value"`` (anything else).
        subject: the key, name or cell at fault (the column's name for
            invalid UTF-8, ``"line N"`` when no column is at fault).
    """

    file: str
    line: int
    record: int
    column: str
    reason: str
    raw: bytes
    kind: str = "bad_value"
    subject: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: "
        if self.file == "<DataFrame>":
            where = f"row {self.record}: "
        column = f"column {self.column!r}: " if self.column else ""
        return f"{where}{column}{self.reason}"


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What an import did (mirrors ``tagindex::ImportReport``).

    ``rejects`` holds the rejected rows (up to ``max_rejects`` of them; the
    count ``rows_rejected`` is always complete).
    """

    file: str
    rows_read: int
    rows_imported: int
    rows_rejected: int
    customers_added: int
    tag_assignments: int
    tag_removals: int
    tags_created: int
    attribute_values: int
    attribute_clears: int
    bytes: int
    seconds: float
    rejects: List[RejectedRow]

    def write_rejects(self, path: str) -> None:
        """Writes the kept rejected rows as CSV: file, line, column, reason, row."""
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["file", "line", "column", "reason", "row"])
            for r in self.rejects:
                w.writerow([r.file, r.line, r.column, r.reason,
                            r.raw.decode("utf-8", errors="replace")])


def _report(d: dict) -> ImportReport:
    rejects = [RejectedRow(**r) for r in d.pop("rejects")]
    return ImportReport(rejects=rejects, **d)


def _pairs(spec: Any, what: str) -> List[Tuple[str, str]]:
    """(column, value) pairs from None, a column, a list of columns or a dict."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [(spec, "")]
    if isinstance(spec, Mapping):
        return [(str(c), "" if v is None else str(v)) for c, v in spec.items()]
    try:
        return [(str(c), "") for c in spec]
    except TypeError:
        raise TypeError(f"import: {what} must be a column name, a list of columns or a dict, "
                        f"got {type(spec).__name__}") from None


def _key_kind(index: Any, key_kind: Optional[str]) -> int:
    if key_kind is None:
        return -1  # the index's own (declared when it was created)
    if key_kind not in KEY_KINDS:
        raise InvalidArgumentError(
            f"import: key_kind must be one of {sorted(KEY_KINDS)}, got {key_kind!r}")
    return KEY_KINDS[key_kind]


def mapping_args(index: Any, key: str, key_kind: Optional[str], tags: Any, tag_category: str,
                 multi: Any, separator: str, qualified_names: bool, categories: Any,
                 attributes: Any) -> tuple:
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError("import: key= must name the customer key column")
    tag_specs = [(c, n, tag_category) for c, n in _pairs(tags, "tags")]
    multi_specs = [(c, separator, cat, qualified_names) for c, cat in _pairs(multi, "multi")]
    category_specs = _pairs(categories, "categories")
    return (key, _key_kind(index, key_kind), tag_specs, multi_specs, category_specs,
            _attribute_specs(attributes))


def _attribute_specs(attributes: Any) -> List[Tuple[str, str, int, int, bool]]:
    """(column, attribute, type code, scale, declared) of each attribute
    column: ``{column: "decimal(2)" | "date" | "int64" | None}`` or a list of
    columns (None / a bare column: the existing attribute's type, int64 when
    it is created)."""
    from ._attributes import parse_type

    specs = []
    for column, spec in _pairs(attributes, "attributes"):
        if spec:
            code, scale = parse_type(spec)
            specs.append((column, "", code, scale, True))
        else:
            specs.append((column, "", 0, 0, False))
    return specs


def import_csv(index: Any, path: Any, *, key: str, key_kind: Optional[str] = None,
               tags: Any = None, tag_category: str = "", multi: Any = None,
               separator: str = ",", qualified_names: bool = False, categories: Any = None,
               attributes: Any = None, delimiter: str = ",", strict: bool = False,
               replace: bool = False, rejects: Optional[str] = None,
               batch_rows: int = 1 << 14, max_rejects: int = 1000,
               threads: int = 0) -> ImportReport:
    args = mapping_args(index, key, key_kind, tags, tag_category, multi, separator,
                        qualified_names, categories, attributes)
    report = _report(index._impl.import_csv(str(path), *args, delimiter, strict, replace,
                                            batch_rows, max_rejects, threads))
    if rejects is not None:
        report.write_rejects(rejects)
    return report


def _cell_strings(series: Any, what: str) -> Any:
    """A column as CSV cell text: missing values are empty cells."""
    import pandas as pd

    mask = series.isna().to_numpy()
    if series.dtype.kind == "f":
        values = series.to_numpy()
        integral = (values[~mask] == values[~mask].round()).all() if (~mask).any() else True
        if integral:
            out = pd.Series(values, index=series.index).astype("Int64").astype(str)
            return out.where(~mask, "")
    if series.dtype.kind == "b" or str(series.dtype) == "boolean":
        out = series.map({True: "1", False: "0"}).astype(object)
        return out.where(~mask, "")
    out = series.astype(str)
    return out.where(~mask, "")


def _indicator_strings(series: Any) -> Any:
    """A tag column as cells the importer reads: booleans and 0/1 (of any
    dtype) as 1/0, missing as empty (false), anything else as its text (the
    importer then rejects the row unless it is yes/no/是/否/...)."""
    import numpy as np

    mask = series.isna().to_numpy()

    def cell(v: Any) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "1" if v else "0"
        if isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
            return "1" if v == 1 else "0"
        return str(v)

    out = series.astype(object).map(cell)
    return out.where(~mask, "")


def _list_cells(series: Any, separator: str) -> Any:
    def cell(v: Any) -> Any:
        if isinstance(v, (list, tuple, set, frozenset)):
            return separator.join(str(x) for x in v)
        return v
    return series.map(cell)


def import_dataframe(index: Any, df: Any, key: Optional[str] = None, *,
                     key_kind: Optional[str] = None, tags: Any = None, tag_category: str = "",
                     tag_column: Any = None, multi: Any = None, separator: str = ",",
                     qualified_names: Optional[bool] = None, categories: Any = None,
                     attributes: Any = None, strict: bool = False, replace: bool = False,
                     max_rejects: int = 1000) -> ImportReport:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"from_dataframe: expected a pandas DataFrame, got {type(df).__name__}")
    attr_pairs = _pairs(attributes, "attributes")
    for column, _ in attr_pairs:
        if column not in df.columns:
            raise InvalidArgumentError(
                f"from_dataframe: attribute column {column!r} is not in the frame (columns: "
                f"{list(df.columns)[:20]})")
    if attr_pairs:
        from ._attributes import parse_type, to_storage

        # Every value is checked before anything is imported.
        for column, spec in attr_pairs:
            code, scale = parse_type(spec or "int64")
            to_storage(df[column].reset_index(drop=True), code, scale,
                       f"from_dataframe: attribute {column!r}")
        # Every rejected row must be listed to leave its values out.
        max_rejects = max(max_rejects, len(df) + 1)
    key_series = df.index.to_series(index=df.index) if key is None else None
    if key is not None and key not in df.columns:
        raise InvalidArgumentError(
            f"from_dataframe: key column {key!r} is not in the frame (columns: "
            f"{list(df.columns)[:20]})")
    tag_pairs = _pairs(tags, "tags")
    cat_pairs = _pairs(categories, "categories")
    multi_pairs = _pairs(multi, "multi")
    if tag_column is not None:
        # The historical spelling: one column listing tags; "category:name"
        # items name their category unless tag_category is given.
        multi_pairs.append((str(tag_column), tag_category))
        if qualified_names is None:
            qualified_names = not tag_category
    for column, _ in tag_pairs + cat_pairs + multi_pairs:
        if column not in df.columns:
            raise InvalidArgumentError(
                f"from_dataframe: column {column!r} is not in the frame (columns: "
                f"{list(df.columns)[:20]})")
    # The frame as CSV text, each mapped column converted once, vectorised;
    # a trailing position column keeps every row a non-blank line.
    key_name = "\x00key" if key is None else key
    out = {key_name: _cell_strings(df[key] if key is not None else key_series, "key")}
    for column, _ in tag_pairs:
        out[column] = _indicator_strings(df[column])
    for column, _ in multi_pairs:
        out[column] = _cell_strings(_list_cells(df[column], separator), column)
    for column, _ in cat_pairs:
        out[column] = _cell_strings(df[column], column)
    frame = pd.DataFrame(out)
    frame["\x00row"] = range(len(frame))
    text = frame.to_csv(index=False, lineterminator="\n")
    args = mapping_args(index, key_name, key_kind, dict(tag_pairs), tag_category,
                        dict(multi_pairs), separator, bool(qualified_names), dict(cat_pairs), None)
    # Tag names default to the column name: pass them explicitly.
    key_arg, kind, tag_specs, multi_specs, category_specs, attr_specs = args
    tag_specs = [(c, n or c, cat) for c, n, cat in tag_specs]
    category_specs = [(c, cat or c) for c, cat in category_specs]
    report = _report(index._impl.import_csv_text(text, "<DataFrame>", key_arg, kind, tag_specs,
                                                 multi_specs, category_specs, attr_specs, ",",
                                                 strict, replace, 1 << 14, max_rejects))
    if attr_pairs:
        _import_attributes(index, df, key, key_series, attr_pairs, report)
    return report


def _import_attributes(index: Any, df: Any, key: Optional[str], key_series: Any,
                       attr_pairs: List[Tuple[str, str]], report: ImportReport) -> None:
    """Attribute columns of a frame: each ``{column: "int64" | "decimal(2)" |
    "date"}`` column becomes (or fills) an attribute column named after it;
    the values of the rows the importer accepted are set by key, NULLs
    (None, NaN, NaT, pd.NA) leave the customer without a value."""
    import numpy as np

    from ._attributes import parse_type

    rejected = {r.record for r in report.rejects}
    keep = np.array([i not in rejected for i in range(len(df))], dtype=bool)
    keys = (df[key] if key is not None else key_series).to_numpy()[keep]
    if index.key_kind == "string":
        keys = [str(k) for k in keys]
    elif index.key_kind == "int64":
        keys = np.asarray(keys, dtype=np.int64)
    else:
        keys = np.asarray(keys, dtype=np.uint32)
    for column, spec in attr_pairs:
        values = df[column].iloc[np.flatnonzero(keep)].reset_index(drop=True)
        try:
            index.attribute(column)
        except NotFoundError:
            index.create_attribute(column, type=spec or "int64")
        if index.key_kind == "identity":
            index.set_attribute(column, values=values, rows=keys)
        else:
            index.set_attribute(column, keys, values)


def from_dataframe(cls: Any, df: Any, key: Optional[str] = None, *,
                   tags: Any = None, tag_column: Optional[str] = None, separator: str = ",",
                   tag_category: str = "", categories: Any = None, attributes: Any = None,
                   key_kind: Optional[str] = None, multi: Any = None,
                   qualified_names: Optional[bool] = None, strict: bool = False,
                   **options: Any) -> Any:
    """The implementation of :meth:`Index.from_dataframe` (documented there)."""
    index = cls(key_kind or "int64", **options)
    report = import_dataframe(index, df, key, tags=tags, tag_category=tag_category,
                              tag_column=tag_column, multi=multi, separator=separator,
                              qualified_names=qualified_names, categories=categories,
                              attributes=attributes, strict=strict)
    index.last_import = report
    if report.rows_rejected:
        first = "; ".join(str(r) for r in report.rejects[:3])
        warnings.warn(f"from_dataframe: {report.rows_rejected} of {report.rows_read} rows "
                      f"rejected ({first}); see index.last_import.rejects",
                      RejectedRowsWarning, stacklevel=3)
    return index


def demo_queries() -> List[Tuple[str, str]]:
    """The demo shop's dozen segment queries, as (query, description) pairs."""
    from . import _tagindex
    return [tuple(q) for q in _tagindex.demo_queries()]
