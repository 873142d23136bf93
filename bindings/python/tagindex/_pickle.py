"""Restoring pickles of an :class:`Index` written before issue #13.

New pickles are one snapshot in the library's own file format
(``Index.__reduce__``, ``Index.save``); this module only reads the older
dict states, so pickles from earlier versions still load. Its placeholder
approach (below) is what the snapshot format replaced: a valid index whose
names collided with the placeholders could not be unpickled.

The old format:

The state is written as plain data: options, the customer keys in row order,
categories, and the live rows and each tag's members as standard portable
Roaring blobs. Unpickling rebuilds an in-memory index in which every live
customer keeps its row id and every live tag keeps its id, so segments pickled
together with their index stay valid.

Row ids are dense and assigned in order, and removed rows are never reused.
To reproduce the gaps left by removed customers the rebuild registers a
placeholder key for each removed row and then removes it; likewise a
placeholder tag for each deleted tag id below the largest live one.
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from ._convert import KEY_KIND_NAMES, KEY_KINDS
from ._options import INDEX_FIELDS, from_cpp, index_options

FORMAT_VERSION = 2  # 2: attribute columns (version 1 pickles, without them, still load)


def _placeholder_int_keys(live_keys: np.ndarray, count: int) -> np.ndarray:
    """`count` int64 keys distinct from `live_keys`."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    start = np.int64(-(2**62))
    candidates = np.arange(start, start + count + len(live_keys), dtype=np.int64)
    free = np.setdiff1d(candidates, live_keys, assume_unique=False)
    return free[:count]


def _placeholder_str_keys(live_keys: List[str], count: int) -> List[str]:
    live = set(live_keys)
    out: List[str] = []
    i = 0
    while len(out) < count:
        key = f"~tagindex-removed-row-{i}"
        if key not in live:
            out.append(key)
        i += 1
    return out


def index_state(index: Any) -> Dict[str, Any]:
    """The picklable state of an index (see module docstring)."""
    from . import _tagindex
    impl = index._impl
    options = from_cpp(impl.options(), INDEX_FIELDS)
    options["key_kind"] = KEY_KINDS[options["key_kind"]]  # stored as its number
    live_rows = impl.live_rows()
    keys = impl.keys_of_rows(live_rows)
    tags = []
    for tag_id, name, category, description, kind, *_ in impl.list_tags():
        tags.append((tag_id, name, category, description, kind,
                     impl.export_tag(tag_id)))
    return {
        "version": FORMAT_VERSION,
        "options": options,
        "row_id_limit": impl.row_id_limit(),
        "live_rows": _tagindex.export_rows(live_rows),
        "keys": keys,
        "categories": impl.list_categories(),
        "tags": sorted(tags),
        "attributes": _attribute_state(impl, live_rows),
    }


def _attribute_state(impl: Any, live_rows: np.ndarray) -> List[Any]:
    """(name, type, scale, description, rows with a value, their values)."""
    out = []
    for _id, name, type_code, scale, description, *_ in impl.list_attributes():
        values, present = impl.attribute_values(name, live_rows)
        present = np.asarray(present, dtype=bool)
        out.append((name, type_code, scale, description,
                    np.asarray(live_rows)[present].astype(np.uint32),
                    np.asarray(values, dtype=np.int64)[present]))
    return out


def restore_index(cls: Any, state: Dict[str, Any]) -> Any:
    """Rebuilds an index from :func:`index_state`'s output."""
    from ._errors import CorruptionError
    from . import _tagindex

    if state.get("version") not in (1, FORMAT_VERSION):
        raise CorruptionError(f"pickle: unknown tagindex pickle version {state.get('version')!r}")
    # The option fields this version knows (tagindex/_options.py), each at
    # its C++ default when the pickle predates it.
    o = dict(state["options"])
    if isinstance(o.get("key_kind"), int):
        o["key_kind"] = KEY_KIND_NAMES.get(o["key_kind"], o["key_kind"])
    impl = _tagindex._Index(index_options({f.name: o[f.name] for f in INDEX_FIELDS
                                           if f.name in o}))
    keys = state["keys"]
    limit = int(state["row_id_limit"])
    live_rows = _tagindex.parse_portable_rows(state["live_rows"], max(limit, 1))
    if len(keys) != len(live_rows) or (len(live_rows) and int(live_rows[-1]) >= limit):
        raise CorruptionError("pickle: customer keys do not match the live rows")
    identity = o["key_kind"] == "identity"
    if identity:
        all_keys = np.asarray(keys, dtype=np.int64)
        dead: Any = []
        if limit > (int(live_rows[-1]) + 1 if len(live_rows) else 0):
            # Reproduce the row-id limit set by a removed customer.
            all_keys = np.append(all_keys, np.int64(limit - 1))
            dead = [limit - 1]
        impl.add_customers_int(all_keys)
        for key in dead:
            impl.remove_customer_int(key)
    else:
        dead_rows = np.setdiff1d(np.arange(limit, dtype=np.uint32), live_rows)
        if o["key_kind"] == "string":
            placeholders = _placeholder_str_keys(list(keys), len(dead_rows))
            ordered: List[Any] = [None] * limit
            for row, key in zip(live_rows.tolist(), keys):
                ordered[row] = key
            for row, key in zip(dead_rows.tolist(), placeholders):
                ordered[row] = key
            impl.add_customers_str(ordered)
            for key in placeholders:
                impl.remove_customer_str(key)
        else:
            int_keys = np.asarray(keys, dtype=np.int64)
            placeholders = _placeholder_int_keys(int_keys, len(dead_rows))
            ordered_ints = np.empty(limit, dtype=np.int64)
            ordered_ints[live_rows] = int_keys
            ordered_ints[dead_rows] = placeholders
            impl.add_customers_int(ordered_ints)
            for key in placeholders.tolist():
                impl.remove_customer_int(key)

    for name, description, exclusive, _ in state["categories"]:
        impl.create_category(name, exclusive, description)
    next_id = 0
    for tag_id, name, category, description, kind, blob in state["tags"]:
        while next_id < tag_id:  # a deleted tag id: keep the numbering
            impl.delete_tag(impl.create_tag(f"~tagindex-deleted-tag-{next_id}", "", "", 0))
            next_id += 1
        new_id = impl.import_tag(name, category, description, kind, blob)
        if new_id != tag_id:
            raise CorruptionError(f"pickle: tag {name!r} came back with id {new_id}, "
                                  f"not {tag_id}")
        next_id = tag_id + 1
    for name, type_code, scale, description, rows, values in state.get("attributes", []):
        impl.create_attribute(name, type_code, scale, description)
        impl.set_attribute_rows(name, np.asarray(rows, dtype=np.uint32),
                                np.asarray(values, dtype=np.int64))
    return cls._from_impl(impl)
