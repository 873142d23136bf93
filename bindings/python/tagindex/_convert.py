"""Coercion of user inputs (scalars, lists, ranges, numpy, pandas) to what the
extension takes: numpy uint32 row ids, numpy int64 keys, or lists of str.

Everything here is vectorised: no Python loop runs per element except where a
list of Python objects must be inspected anyway (and then only via numpy).
"""

from __future__ import annotations

from typing import Any, List, Tuple, Union

import numpy as np

from ._errors import InvalidArgumentError

MAX_ROW_ID = 0xFFFFFFFE
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min

# Key kinds as the extension numbers them (tagindex::KeyKind).
KEY_KINDS = {"int64": 0, "string": 1, "identity": 2}
KEY_KIND_NAMES = {v: k for k, v in KEY_KINDS.items()}


def _describe(obj: Any) -> str:
    if isinstance(obj, np.ndarray):
        return f"a numpy array of dtype {obj.dtype}"
    return f"a {type(obj).__name__}"


def _unwrap_pandas(obj: Any) -> Any:
    # pandas Series / Index / ExtensionArray, without importing pandas.
    to_numpy = getattr(obj, "to_numpy", None)
    if to_numpy is not None and not isinstance(obj, np.ndarray):
        return to_numpy()
    return obj


def _one_dimensional(a: np.ndarray, what: str) -> np.ndarray:
    if a.ndim != 1:
        raise InvalidArgumentError(f"{what}: expected a 1-D sequence, got an array of shape "
                                   f"{a.shape}", code="INVALID_ARGUMENT")
    return a


def _int_array(a: np.ndarray, what: str) -> np.ndarray:
    """Checks an integer-valued array and returns it as int64."""
    if a.size == 0:
        return np.empty(0, dtype=np.int64)
    if a.dtype.kind == "u":
        if a.dtype.itemsize == 8 and int(a.max()) > _INT64_MAX:
            raise InvalidArgumentError(
                f"{what}: value {int(a.max())} does not fit in a signed 64-bit key")
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "i":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "O":
        # Python ints beyond int64 end up in object arrays.
        try:
            return np.asarray(a, dtype=np.int64)
        except (OverflowError, TypeError, ValueError):
            pass
        for i, v in enumerate(a.tolist()):
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidArgumentError(
                    f"{what}: mixed key types: item {i} is a {type(v).__name__}, not an int "
                    "(every key of a batch must be an int)")
            if not _INT64_MIN <= v <= _INT64_MAX:
                raise InvalidArgumentError(
                    f"{what}: item {i}: value {v} does not fit in a signed 64-bit key")
    raise TypeError(f"{what}: expected integers, got {_describe(a)}")


def rows_array(rows: Any, what: str = "row ids") -> np.ndarray:
    """Row ids (list, range, numpy array, pandas Series) as a uint32 array."""
    if isinstance(rows, range):
        if len(rows) == 0:
            return np.empty(0, dtype=np.uint32)
        lo, hi = min(rows[0], rows[-1]), max(rows[0], rows[-1])
        _check_row_bounds(lo, hi, what)
        return np.arange(rows.start, rows.stop, rows.step, dtype=np.int64).astype(np.uint32)
    a = np.asarray(_unwrap_pandas(rows))
    if a.ndim == 0:
        a = a.reshape(1)
    _one_dimensional(a, what)
    if a.size == 0:
        return np.empty(0, dtype=np.uint32)
    if a.dtype == np.uint32:
        return np.ascontiguousarray(a)
    if a.dtype.kind == "b" or a.dtype.kind not in "iuO":
        raise TypeError(f"{what}: expected integers, got {_describe(a)}")
    if a.dtype.kind == "O":
        a = _int_array(a, what)
    _check_row_bounds(int(a.min()), int(a.max()), what)
    return a.astype(np.uint32)


def _check_row_bounds(lo: int, hi: int, what: str) -> None:
    if lo < 0 or hi > MAX_ROW_ID:
        bad = lo if lo < 0 else hi
        raise InvalidArgumentError(f"{what}: row id {bad} is outside [0, {MAX_ROW_ID}]")


def row_scalar(row: Any) -> int:
    if isinstance(row, (bool, np.bool_)) or not isinstance(row, (int, np.integer)):
        raise TypeError(f"row id: expected an int, got {_describe(row)}")
    row = int(row)
    _check_row_bounds(row, row, "row id")
    return row


def text_arg(value: Any, what: str) -> Union[str, bytes]:
    """A str argument for the extension. Text that is not valid Unicode (lone
    surrogates, e.g. from os.fsdecode) is passed on as its raw UTF-8-like
    bytes, so the library itself reports where it is invalid."""
    if not isinstance(value, str):
        raise TypeError(f"{what}: expected a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


KeyBatch = Union[Tuple[str, int], Tuple[str, str], Tuple[str, np.ndarray], Tuple[str, List[str]]]


def keys_batch(keys: Any, what: str = "customer keys") -> KeyBatch:
    """Classifies customer keys as one of

    ("int", int), ("str", str)           a single key
    ("ints", int64 ndarray)              integer keys
    ("strs", list of str)                string keys
    """
    if isinstance(keys, str):
        return ("str", text_arg(keys, what))
    if isinstance(keys, (bool, np.bool_)):
        raise TypeError(f"{what}: expected int or str keys, got a bool")
    if isinstance(keys, (int, np.integer)):
        k = int(keys)
        if not _INT64_MIN <= k <= _INT64_MAX:
            raise InvalidArgumentError(f"{what}: value {k} does not fit in a signed 64-bit key")
        return ("int", k)
    if isinstance(keys, (bytes, bytearray)):
        raise TypeError(f"{what}: expected str keys, got bytes (decode them first)")
    if isinstance(keys, range):
        return ("ints", np.arange(keys.start, keys.stop, keys.step, dtype=np.int64))
    keys = _unwrap_pandas(keys)
    if not isinstance(keys, np.ndarray):
        if isinstance(keys, (set, frozenset)):
            keys = list(keys)
        elif not isinstance(keys, (list, tuple)):
            try:
                keys = list(keys)
            except TypeError:
                raise TypeError(f"{what}: expected a key or a sequence of keys, got "
                                f"{_describe(keys)}") from None
        if len(keys) > 0 and isinstance(keys[0], str):
            # The extension checks every item is a str (and names the first
            # that is not).
            return ("strs", keys if isinstance(keys, list) else list(keys))
        a = np.asarray(keys) if len(keys) > 0 else np.empty(0, dtype=np.int64)
        if a.dtype.kind == "f" and all(isinstance(v, (int, np.integer)) for v in keys):
            # Python ints on both sides of the int64 range: numpy made floats.
            a = np.asarray(keys, dtype=object)
        if a.dtype.kind in "US":
            # The first key is not a str, yet numpy found text: a mixed list
            # (np.asarray turns [1, "x"] into the strings "1" and "x").
            i = next(i for i, v in enumerate(keys) if isinstance(v, (str, bytes)))
            raise InvalidArgumentError(
                f"{what}: mixed key types: item 0 is a {type(keys[0]).__name__} but item {i} "
                f"is a {type(keys[i]).__name__} (every key of a batch must have one type)")
    else:
        a = keys
    if a.ndim == 0:
        a = a.reshape(1)
    _one_dimensional(a, what)
    if a.size == 0:
        return ("ints", np.empty(0, dtype=np.int64))
    kind = a.dtype.kind
    if kind == "U":
        return ("strs", a.tolist())
    if kind == "O" and isinstance(a[0], str):
        return ("strs", a.tolist())
    if kind == "b":
        raise TypeError(f"{what}: expected int or str keys, got booleans")
    if kind == "f":
        raise TypeError(f"{what}: expected int or str keys, got {_describe(a)} "
                        "(drop missing values and cast to int64 first)")
    if kind == "S":
        raise TypeError(f"{what}: expected str keys, got bytes (decode them first)")
    return ("ints", np.ascontiguousarray(_int_array(a, what)))
