"""Atomic write batches: :class:`WriteBatch` and :meth:`Index.write`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Tuple

import numpy as np

from . import _tagindex
from ._convert import keys_batch, rows_array, text_arg
from ._errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    from ._index import Index, TagLike

_TAG_KINDS = {"manual": 0, "rule": 1}


class WriteBatch:
    """Many mutations of one index, committed all-or-nothing by
    :meth:`Index.write` as one log record with one sync.

    Items are validated in order against the index as the earlier items
    leave it (a batch may create a category and then a tag in it, or add a
    customer and remove it again), then all are applied; readers see none
    or all of them, and after a crash the index holds none or all of them.
    A rejected batch changes nothing and raises the item's error class with
    ``.item`` (its index), ``.item_kind``, ``.subject`` (the key, row or
    name) and ``.reason`` set.

    Tags are given as :class:`Tag` handles, names or ids and are resolved
    when the item is added, so a tag created by a batch can be used by a
    later batch, not by the same one. The batch copies its arguments.

    ::

        batch = index.batch()
        batch.add_customers([1, 2, 3])
        batch.tag("高价值客户", [1, 2])
        batch.untag("流失风险", [3])
        index.write(batch)                  # or: with index.batch() as b: ...

    Each method returns the item's index in the batch.
    """

    def __init__(self, index: "Index") -> None:
        self._index = index
        self._impl = _tagindex._WriteBatch()
        # Per item, what Index.write returns for it: "tag", "rows" or "".
        self._results: List[str] = []

    def __len__(self) -> int:
        """The number of items."""
        return len(self._results)

    def __repr__(self) -> str:
        return f"<tagindex.WriteBatch items={len(self)}>"

    def __enter__(self) -> "WriteBatch":
        """``with index.batch() as b:`` collects items in the block."""
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        """Writes the batch if the block ended without an exception;
        otherwise discards it (nothing is written)."""
        if exc_type is None:
            self._index.write(self)

    def clear(self) -> None:
        """Removes every item."""
        self._impl.clear()
        self._results.clear()

    def _added(self, item: int, result: str = "") -> int:
        self._results.append(result)
        return item

    def _keys(self, method: str, keys: Any, *args: Any) -> int:
        kind, value = keys_batch(keys)
        if kind in ("int", "ints"):
            return getattr(self._impl, f"{method}_int")(
                *args, np.atleast_1d(np.asarray(value, np.int64)))
        return getattr(self._impl, f"{method}_str")(*args, [value] if kind == "str" else value)

    # ---- customers ----

    def add_customers(self, keys: Any) -> int:
        """Registers customers (:meth:`Index.add_customers`); :meth:`Index.write`
        returns their row ids for this item."""
        return self._added(self._keys("add_customers", keys), "rows")

    def remove_customers(self, keys: Any) -> int:
        """Removes live customers by key (:meth:`Index.remove_customer`)."""
        return self._added(self._keys("remove_customers", keys))

    def remove_rows(self, rows: Any) -> int:
        """Removes live customers by row id (:meth:`Index.remove_row`)."""
        return self._added(self._impl.remove_rows(rows_array(rows)))

    # ---- categories and tags ----

    def create_category(self, name: str, *, exclusive: bool = False,
                        description: str = "") -> int:
        """As :meth:`Index.create_category`."""
        return self._added(self._impl.create_category(
            text_arg(name, "category name"), bool(exclusive), text_arg(description, "description")))

    def create_tag(self, name: str, category: str = "", *, description: str = "",
                   kind: str = "manual") -> int:
        """As :meth:`Index.create_tag`; :meth:`Index.write` returns the new
        :class:`Tag` for this item."""
        if kind not in _TAG_KINDS:
            raise InvalidArgumentError(f"index: unknown tag kind {kind!r}; use 'manual' or "
                                       "'rule'")
        return self._added(self._impl.create_tag(
            text_arg(name, "tag name"), text_arg(category or "", "category name"),
            text_arg(description, "description"), _TAG_KINDS[kind]), "tag")

    def rename_tag(self, tag: "TagLike", new_name: str) -> int:
        """As :meth:`Tag.rename`."""
        return self._added(self._impl.rename_tag(self._index._tag_id(tag),
                                                 text_arg(new_name, "tag name")))

    def set_tag_description(self, tag: "TagLike", description: str) -> int:
        """As setting :attr:`Tag.description`."""
        return self._added(self._impl.set_tag_description(
            self._index._tag_id(tag), text_arg(description, "description")))

    def delete_tag(self, tag: "TagLike") -> int:
        """As :meth:`Tag.delete`."""
        return self._added(self._impl.delete_tag(self._index._tag_id(tag)))

    def import_tag(self, name: str, blob: bytes, category: str = "", *,
                   description: str = "", kind: str = "manual") -> int:
        """As :meth:`Index.import_tag`; :meth:`Index.write` returns the new
        :class:`Tag` for this item."""
        if kind not in _TAG_KINDS:
            raise InvalidArgumentError(f"index: unknown tag kind {kind!r}; use 'manual' or "
                                       "'rule'")
        return self._added(self._impl.import_tag(
            text_arg(name, "tag name"), text_arg(category or "", "category name"),
            text_arg(description, "description"), _TAG_KINDS[kind], bytes(blob)), "tag")

    # ---- memberships ----

    def _members(self, add: bool, tag: "TagLike", keys: Any, rows: Any) -> int:
        op = "tag" if add else "untag"
        if (keys is None) == (rows is None):
            raise TypeError(f"{op}: pass either customer keys or rows=, not both or neither")
        tag_id = self._index._tag_id(tag)
        if rows is not None:
            return self._added(self._impl.members_rows(add, tag_id, rows_array(rows)))
        return self._added(self._keys("members", keys, add, tag_id))

    def tag(self, tag: "TagLike", keys: Any = None, *, rows: Any = None) -> int:
        """As :meth:`Index.add_tag`: customers by key(s) or ``rows=``."""
        return self._members(True, tag, keys, rows)

    def untag(self, tag: "TagLike", keys: Any = None, *, rows: Any = None) -> int:
        """As :meth:`Index.remove_tag`."""
        return self._members(False, tag, keys, rows)


    # ---- attribute values ----

    def set_attribute(self, name: str, keys: Any = None, values: Any = None, *,
                      rows: Any = None) -> int:
        """Sets values of an attribute column (:meth:`Index.set_attribute`),
        by ``keys`` or by ``rows``, as one item; a ``None`` / ``NaN`` / ``NaT``
        value clears the customer's value, so values with NULLs are two items
        (a clear and a set; the index of the last one is returned). For a
        customer given twice the later value wins, NULL included. The column
        is resolved now, by name; the keys and rows must be live when the
        batch is written (an earlier item may add them).

        Raises:
            UnknownAttributeError: no column of that name.
            InvalidArgumentError: values that do not fit the column, or keys
                and values of different lengths.
        """
        return self._add_plan(name, plan_values(self._index._impl, name, keys, values, rows))

    def _add_plan(self, name: str, ops: List[tuple]) -> int:
        attribute = info_id(self._index._impl, name)
        last = -1
        for op, kind, batch, vals in ops:
            last = self._add_values(op, attribute, kind, batch, vals)
        return last

    def _add_values(self, op: str, attribute: int, kind: str, batch: Any, vals: Any) -> int:
        impl = self._impl
        if op == "clear":
            if kind == "rows":
                return self._added(impl.clear_attribute_rows(attribute, batch))
            if kind == "ints":
                return self._added(impl.clear_attribute_keys_int(attribute, batch))
            return self._added(impl.clear_attribute_keys_str(attribute, batch))
        if kind == "rows":
            return self._added(impl.set_attribute_rows(attribute, batch, vals))
        if kind == "ints":
            return self._added(impl.set_attribute_keys_int(attribute, batch, vals))
        return self._added(impl.set_attribute_keys_str(attribute, batch, vals))

    def clear_attribute(self, name: str, keys: Any = None, *, rows: Any = None) -> int:
        """Makes the values of the customers ``keys`` (or of ``rows``) NULL
        (:meth:`Index.clear_attribute`), as one item."""
        kind, batch = value_targets(keys, rows, "clear_attribute")
        return self._add_values("clear", info_id(self._index._impl, name), kind, batch, None)


def info_id(impl: Any, name: str) -> int:
    return impl.get_attribute(text_arg(name, "attribute name"))[0]


def value_targets(keys: Any, rows: Any, what: str) -> Tuple[str, Any]:
    """("ints" | "strs" | "rows", the int64 array, str list or uint32 rows)."""
    if (keys is None) == (rows is None):
        raise TypeError(f"{what}: give exactly one of keys or rows")
    if rows is not None:
        return "rows", rows_array(rows)
    kind, batch = keys_batch(keys)
    if kind in ("int", "str"):
        batch = [batch] if kind == "str" else np.asarray([batch], dtype=np.int64)
        kind += "s"
    if kind == "ints":
        return kind, np.asarray(batch, dtype=np.int64)
    return kind, list(batch)


def plan_values(impl: Any, name: str, keys: Any, values: Any, rows: Any) -> List[tuple]:
    """The items that set ``values`` of ``keys`` / ``rows``: [("set" | "clear",
    kind, targets, storage values or None)]. One set item without NULLs;
    with NULLs a clear item and (when some values are present) a set item,
    over disjoint customers: the last value of each customer decides."""
    from ._attributes import to_storage
    info = impl.get_attribute(text_arg(name, "attribute name"))
    code, scale = info[2], info[3]
    vals, present = to_storage(values, code, scale, f"set_attribute {name!r}")
    kind, batch = value_targets(keys, rows, "set_attribute")
    if len(batch) != len(vals):
        what = "rows" if kind == "rows" else "keys"
        raise InvalidArgumentError(
            f"set_attribute: {len(batch)} {what} but {len(vals)} values")
    if present.all():
        return [("set", kind, batch, vals)]
    keep = _last_of_each(batch)
    vals, present = vals[keep], present[keep]
    if kind == "strs":
        nulls = [batch[i] for i, p in zip(keep.tolist(), present.tolist()) if not p]
        batch = [batch[i] for i, p in zip(keep.tolist(), present.tolist()) if p]
    else:
        picked = batch[keep]
        nulls, batch = picked[~present], picked[present]
    ops = [("clear", kind, nulls, None)]
    if len(batch):
        ops.append(("set", kind, batch, vals[present]))
    return ops


def _last_of_each(batch: Any) -> np.ndarray:
    """Ascending positions of the last occurrence of each distinct element."""
    if isinstance(batch, list):
        last = {k: i for i, k in enumerate(batch)}
        return np.fromiter(sorted(last.values()), dtype=np.int64, count=len(last))
    arr = np.asarray(batch)
    _, first_in_reversed = np.unique(arr[::-1], return_index=True)
    return np.sort(len(arr) - 1 - first_in_reversed)


def write(index: "Index", batch: WriteBatch) -> List[Optional[Any]]:
    """Implements :meth:`Index.write`."""
    from ._index import Tag
    if not isinstance(batch, WriteBatch):
        raise TypeError(f"write: expected a tagindex.WriteBatch, got {type(batch).__name__}")
    if batch._index is not index:
        raise InvalidArgumentError("index: the batch was made for a different index (its tags "
                                   "were resolved there)")
    out = index._impl.write(batch._impl, batch._results)
    return [Tag(index, r) if kind == "tag" else r for kind, r in zip(batch._results, out)]
