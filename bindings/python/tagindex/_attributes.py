"""Attribute columns (numeric and date) of an :class:`Index`.

Values cross to C++ as int64 storage units: the integer itself, a decimal
times 10**scale, a date as days since 1970-01-01. This module converts
Python / numpy / pandas values (int, float with a scale, ``Decimal``,
``datetime64``, ``datetime.date``, ISO strings, nullable ``Int64``) and
NULLs (``None``, ``NaN``, ``NaT``, ``pd.NA``) both ways.
"""
from __future__ import annotations

import dataclasses
import datetime
import decimal
import re
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ._convert import keys_batch, rows_array
from ._errors import InvalidArgumentError

_TYPES = {"int64": 0, "int": 0, "integer": 0, "decimal": 1, "date": 2}
_TYPE_NAMES = {0: "int64", 1: "decimal", 2: "date"}
_EPOCH = datetime.date(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class AttributeInfo:
    """Description of an attribute column."""
    id: int
    name: str
    type: str  # "int64", "decimal" or "date"
    scale: int
    description: str
    count: int  # customers with a value
    bits: int   # value slices in use (plus a sign slice)


def parse_type(type: str, scale: int = 0) -> Tuple[int, int]:
    """("decimal", 2) or "decimal(2)" -> (1, 2)."""
    m = re.fullmatch(r"\s*(\w+)\s*(?:\(\s*(\d+)\s*\))?\s*", str(type))
    if m is None or m.group(1).lower() not in _TYPES:
        raise InvalidArgumentError(
            f"attribute type {type!r}: expected 'int64', 'decimal' (or 'decimal(2)') or 'date'")
    code = _TYPES[m.group(1).lower()]
    if m.group(2) is not None:
        scale = int(m.group(2))
    return code, scale


def _info(t: tuple) -> AttributeInfo:
    return AttributeInfo(t[0], t[1], _TYPE_NAMES[t[2]], t[3], t[4], t[5], t[6])


def to_storage(values: Any, type_code: int, scale: int, what: str) -> Tuple[np.ndarray, np.ndarray]:
    """(int64 storage values, bool mask of non-NULL) for any supported input."""
    import pandas as pd

    if isinstance(values, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        series = pd.Series(values)
    else:
        if np.isscalar(values) or values is None or isinstance(values, (datetime.date, decimal.Decimal)):
            values = [values]
        series = pd.Series(list(values) if not isinstance(values, np.ndarray) else values)
    present = ~series.isna().to_numpy()
    out = np.zeros(len(series), dtype=np.int64)
    if type_code == 2:  # date
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            days = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) else series
            out[present] = days[present].to_numpy().astype("datetime64[D]").astype(np.int64)
            return out, present
        for i, v in enumerate(series.tolist()):
            if not present[i]:
                continue
            if isinstance(v, datetime.datetime):
                v = v.date()
            if isinstance(v, str):
                try:
                    v = datetime.date.fromisoformat(v)
                except ValueError:
                    raise InvalidArgumentError(f"{what}: position {i}: {v!r} is not an ISO date")
            if isinstance(v, np.datetime64):
                out[i] = int(v.astype("datetime64[D]").astype(np.int64))
            elif isinstance(v, datetime.date):
                out[i] = (v - _EPOCH).days
            else:
                raise InvalidArgumentError(
                    f"{what}: position {i}: expected a date, datetime64 or ISO string, got {v!r}")
        return out, present
    if pd.api.types.is_bool_dtype(series.dtype):
        raise InvalidArgumentError(f"{what}: expected numbers, got booleans")
    factor = 10 ** scale if type_code == 1 else 1
    if pd.api.types.is_integer_dtype(series.dtype):
        ints = series[present].to_numpy(dtype=np.int64)
        big = np.abs(ints) > (2**63 - 1) // factor
        if big.any():
            raise InvalidArgumentError(f"{what}: {int(ints[big][0])} does not fit at scale {scale}")
        out[present] = ints * factor
        return out, present
    if pd.api.types.is_float_dtype(series.dtype):
        f = series[present].to_numpy(dtype=np.float64) * factor
        r = np.round(f)
        bad = np.abs(f - r) > 1e-6 * np.maximum(1.0, np.abs(f))
        if bad.any():
            first = int(np.flatnonzero(present)[np.flatnonzero(bad)[0]])
            raise InvalidArgumentError(
                f"{what}: position {first}: {series.iloc[first]!r} has more decimals than "
                + (f"the scale of {scale}" if type_code == 1 else "an integer column allows")
                + " (values are never rounded)")
        if (np.abs(r) >= 2.0**63).any():
            raise InvalidArgumentError(f"{what}: a value is outside the int64 range")
        out[present] = r.astype(np.int64)
        return out, present
    for i, v in enumerate(series.tolist()):  # objects: int, Decimal, str
        if not present[i]:
            continue
        if isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.floating):
            v = float(v)
        try:
            d = decimal.Decimal(v) if not isinstance(v, float) else decimal.Decimal(repr(v))
        except (decimal.InvalidOperation, TypeError, ValueError):
            raise InvalidArgumentError(f"{what}: position {i}: {v!r} is not a number")
        scaled = d.scaleb(scale if type_code == 1 else 0)
        if scaled != scaled.to_integral_value():
            raise InvalidArgumentError(
                f"{what}: position {i}: {v!r} has more decimals than "
                + (f"the scale of {scale}" if type_code == 1 else "an integer column allows")
                + " (values are never rounded)")
        iv = int(scaled)
        if not -2**63 <= iv < 2**63:
            raise InvalidArgumentError(f"{what}: position {i}: {v!r} is outside the int64 range")
        out[i] = iv
    return out, present


def from_storage(value: Optional[int], type_code: int, scale: int) -> Any:
    """A storage value as int, Decimal or date."""
    if value is None:
        return None
    if type_code == 1:
        return decimal.Decimal(value).scaleb(-scale)
    if type_code == 2:
        return _EPOCH + datetime.timedelta(days=int(value))
    return int(value)


def column_from_storage(values: np.ndarray, present: np.ndarray, type_code: int, scale: int) -> Any:
    """A pandas Series: nullable Int64, object Decimals, or datetime64[ns] with NaT."""
    import pandas as pd

    present = present.astype(bool)
    if type_code == 0:
        return pd.Series(pd.arrays.IntegerArray(values.astype(np.int64), ~present))
    if type_code == 2:
        dates = values.astype("datetime64[D]").astype("datetime64[ns]")
        dates[~present] = np.datetime64("NaT")
        return pd.Series(dates)
    return pd.Series([from_storage(int(v), 1, scale) if p else None
                      for v, p in zip(values, present)], dtype=object)


class AttributeMixin:
    """The attribute methods of :class:`Index` (see docs/query_language.md)."""

    def create_attribute(self, name: str, type: str = "int64", *, scale: int = 0,
                         description: str = "") -> AttributeInfo:
        """Creates a numeric or date column, e.g.
        ``index.create_attribute("消费金额", type="decimal", scale=2)`` or
        ``type="decimal(2)"``, ``type="date"``, ``type="int64"``.

        Raises:
            InvalidArgumentError: bad name, type or scale (decimal: 1..18).
            AlreadyExistsError: the name is an attribute or a category.
        """
        code, scale = parse_type(type, scale)
        self._impl.create_attribute(name, code, scale, description)
        return self.attribute(name)

    def attribute(self, name: str) -> AttributeInfo:
        """The column's description. Raises NotFoundError (with suggestions)."""
        return _info(self._impl.get_attribute(name))

    def attributes(self) -> List[AttributeInfo]:
        """Every attribute column, by name."""
        return [_info(t) for t in self._impl.list_attributes()]

    def rename_attribute(self, name: str, new_name: str) -> None:
        """Renames a column (its values and id stay). Raises NotFoundError
        for an unknown column, AlreadyExistsError when ``new_name`` is an
        attribute or a category, InvalidArgumentError for a bad name."""
        self._impl.rename_attribute(name, new_name)

    def drop_attribute(self, name: str) -> None:
        """Drops a column and all its values (its id is never reused).
        Raises NotFoundError for an unknown column."""
        self._impl.drop_attribute(name)

    def set_attribute(self, name: str, keys: Any = None, values: Any = None, *,
                      rows: Any = None) -> None:
        """Sets values of live customers, by ``keys`` or by ``rows``:
        ints, floats (must fit the scale exactly), ``Decimal``, ``datetime64``,
        ``datetime.date``, ISO strings, pandas ``Int64``. ``None``, ``NaN``,
        ``NaT`` and ``pd.NA`` clear the value (NULL). One atomic commit (one
        log record) whatever the mix of values and NULLs; for a customer
        given twice the later value wins. Bulk: one sorted slice build per
        call.

        Raises:
            UnknownAttributeError: no column of that name.
            UnknownCustomerError: a key or row that is not a live customer
                (nothing changes).
            InvalidArgumentError: values that do not fit the column, or keys
                and values of different lengths.
        """
        from ._batch import WriteBatch, plan_values
        ops = plan_values(self._impl, name, keys, values, rows)
        if len(ops) == 1 and ops[0][0] == "set":  # no NULLs: one direct call
            _, kind, batch, vals = ops[0]
            if kind == "rows":
                self._impl.set_attribute_rows(name, batch, vals)
            elif kind == "ints":
                self._impl.set_attribute_keys_int(name, batch, vals)
            else:
                self._impl.set_attribute_keys_str(name, batch, vals)
            return
        b = WriteBatch(self)  # NULLs too: one atomic commit of a clear and a set
        b._add_plan(name, ops)
        self._impl.write(b._impl, b._results)

    def clear_attribute(self, name: str, keys: Any = None, *, rows: Any = None) -> None:
        """Makes the values of the customers ``keys`` (or of ``rows``) NULL,
        in one commit; customers without a value are fine.

        Raises:
            UnknownAttributeError: no column of that name.
            UnknownCustomerError: a key or row that is not a live customer
                (nothing changes).
        """
        from ._batch import WriteBatch
        b = WriteBatch(self)
        b.clear_attribute(name, keys, rows=rows)
        self._impl.write(b._impl, b._results)

    def attribute_value(self, name: str, *, row: int) -> Any:
        """One live row's value (int, Decimal or date), ``None`` for NULL."""
        info = self._impl.get_attribute(name)
        v, p = self._impl.attribute_values(name, np.asarray([row], dtype=np.uint32))
        return from_storage(int(v[0]) if p[0] else None, info[2], info[3])

    def _seg(self, segment: Any) -> Any:
        return None if segment is None else segment._impl

    def summarize(self, name: str, segment: Any = None, *,
                  aggregates: Optional[Iterable[str]] = None) -> dict:
        """count, sum, min, max, mean over the segment's customers with a value
        (every customer when ``segment`` is None), from the bit slices. sum,
        min, max are int / ``Decimal`` (dates: min and max as ``date``, no
        sum); mean is a float (``Decimal`` for decimals).

        ``aggregates`` names the ones to compute (``"sum"``, ``"mean"``,
        ``"min"``, ``"max"``; default all): each costs a walk of the slices,
        so ``aggregates=["sum"]`` is cheaper than everything. The count is
        always there; the dict holds only what was asked for.
        """
        info = self._impl.get_attribute(name)
        code, scale = info[2], info[3]
        wanted = {"sum", "mean", "min", "max"} if aggregates is None else set(aggregates)
        unknown = wanted - {"sum", "mean", "min", "max"}
        if unknown:
            raise InvalidArgumentError(f"summarize: unknown aggregates {sorted(unknown)}; use "
                                       "sum, mean, min, max")
        count, total, lo, hi, mean = self._impl.summarize_attribute(
            name, self._seg(segment), bool(wanted & {"sum", "mean"}), "min" in wanted,
            "max" in wanted)
        out = {"count": count, "min": from_storage(lo, code, scale),
               "max": from_storage(hi, code, scale)}
        out = self._summary(code, scale, count, total, out)
        return {k: v for k, v in out.items() if k == "count" or k in wanted}

    @staticmethod
    def _summary(code: int, scale: int, count: int, total: Any, out: dict) -> dict:
        if code == 2:
            out["mean"] = (None if count == 0 else
                           _EPOCH + datetime.timedelta(days=total / count))
        elif code == 1:
            out["sum"] = decimal.Decimal(total).scaleb(-scale)
            out["mean"] = None if count == 0 else out["sum"] / count
        else:
            out["sum"] = total
            out["mean"] = None if count == 0 else total / count
        return out

    def top_k(self, name: str, k: int, segment: Any = None, *, largest: bool = True) -> Any:
        """The k customers with the largest (``largest=False``: smallest)
        values in the segment, as a DataFrame (row, key, value), best first."""
        import pandas as pd

        info = self._impl.get_attribute(name)
        rows, values = self._impl.top_attribute(name, int(k), bool(largest), self._seg(segment))
        return pd.DataFrame({"row": rows, "key": self._keys_array(self._impl.keys_of_rows(rows)),
                             name: column_from_storage(values, np.ones(len(values), bool),
                                                       info[2], info[3])})

    def histogram(self, name: str, bounds: Sequence[Any], segment: Any = None) -> np.ndarray:
        """counts[j] = customers with bounds[j] <= value < bounds[j+1]."""
        info = self._impl.get_attribute(name)
        b, present = to_storage(list(bounds), info[2], info[3], "histogram bounds")
        if not present.all():
            raise InvalidArgumentError("histogram: bounds must not be NULL")
        return self._impl.attribute_histogram(name, b, self._seg(segment))

    def quantile(self, name: str, q: float, segment: Any = None) -> Any:
        """The exact q-quantile (nearest rank) in the segment, or None."""
        info = self._impl.get_attribute(name)
        return from_storage(self._impl.attribute_quantile(name, float(q), self._seg(segment)),
                            info[2], info[3])
