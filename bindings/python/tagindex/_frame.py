"""pandas in: :func:`from_dataframe`. (pandas out lives with the types that
produce frames.) pandas is imported lazily: ``import tagindex`` does not need it.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from ._convert import keys_batch
from ._errors import (InvalidArgumentError, UnimplementedError, UnknownCategoryError,
                      UnknownTagError)


def _columns(spec: Any, what: str) -> List[Tuple[str, str]]:
    """(column, name) pairs from a list of columns or a {column: name} dict."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [(spec, spec)]
    if isinstance(spec, Mapping):
        return [(str(c), str(n)) for c, n in spec.items()]
    return [(str(c), str(c)) for c in spec]


def _require(df: Any, column: str, what: str) -> None:
    if column not in df.columns:
        raise InvalidArgumentError(
            f"from_dataframe: {what} column {column!r} is not in the frame (columns: "
            f"{list(df.columns)[:20]})")


def _indicator(series: Any, column: str) -> np.ndarray:
    """A boolean membership mask from a bool / 0-1 / nullable column."""
    if str(series.dtype) == "boolean":  # pandas' nullable booleans
        return series.fillna(False).to_numpy(dtype=bool)
    kind = series.dtype.kind
    if kind == "b":
        return series.to_numpy(dtype=bool)
    if kind in "iuf":
        values = series.to_numpy(dtype=np.float64, na_value=0.0)
        return values != 0
    import pandas as pd

    if pd.api.types.infer_dtype(series, skipna=True) not in ("boolean", "empty"):
        raise TypeError(f"from_dataframe: tag column {column!r} must hold booleans or 0/1, "
                        f"got dtype {series.dtype}")
    return series.fillna(False).to_numpy(dtype=bool)


def _tag_column_members(cells: Any, rows: np.ndarray, separator: str
                        ) -> Iterator[Tuple[str, np.ndarray]]:
    """(tag name, row ids) for a column listing each customer's tags.

    Strings are split once per *distinct* cell value (real columns repeat a
    few combinations over millions of rows), and the rows of each value are
    gathered with one argsort, so the per-row work stays in numpy.
    """
    import pandas as pd

    kind = pd.api.types.infer_dtype(cells, skipna=True)
    if kind in ("string", "empty"):
        codes, uniques = pd.factorize(cells)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        by_name: Dict[str, set] = {}
        for u, text in enumerate(uniques):
            for name in str(text).split(separator):
                name = name.strip()
                if name:
                    by_name.setdefault(name, set()).add(u)
        for name in sorted(by_name):
            parts = [order[bounds[u]:bounds[u + 1]] for u in sorted(by_name[name])]
            yield name, rows[np.concatenate(parts)]
        return
    # Cells holding lists (or other iterables) of names.
    pairs = pd.DataFrame({"row": rows, "tag": cells.to_numpy()}).explode("tag")
    names = pairs["tag"].astype("string").str.strip()
    pairs = pairs.assign(tag=names)
    pairs = pairs[pairs["tag"].notna() & (pairs["tag"] != "")]
    for name, group in pairs.groupby("tag", sort=True):
        yield str(name), group["row"].to_numpy(dtype=np.uint32)


def _split_qualified(name: str, default_category: str) -> Tuple[str, str]:
    if default_category:
        return default_category, name
    category, sep, bare = name.partition(":")
    return (category, bare) if sep and bare else ("", name)


def _get_or_create_tag(index: Any, category: str, name: str, cache: Dict) -> int:
    key = (category, name)
    if key not in cache:
        try:
            cache[key] = index._impl.find_tag_in(category, name)
        except UnknownTagError:
            cache[key] = index.create_tag(name, category).id
    return cache[key]


def from_dataframe(cls: Any, df: Any, key: Optional[str] = None, *,
                   tags: Any = None, tag_column: Optional[str] = None, separator: str = ",",
                   tag_category: str = "", categories: Any = None, attributes: Any = None,
                   key_kind: Optional[str] = None, **options: Any) -> Any:
    """Builds an :class:`Index` from a pandas DataFrame, one customer per row.

    Args:
        df: the frame. Every row's key becomes a customer (duplicates are the
            same customer; their memberships are merged).
        key: the column of customer keys; ``None`` uses the frame's index.
            Integer keys give an ``"int64"`` index, str keys a ``"string"`` one
            (override with ``key_kind=``). Keys must not be missing.
        tags: indicator columns (bool, or 0/1 with missing = 0): a list of
            column names (the tag is named after the column) or a
            ``{column: tag name}`` dict. Created in ``tag_category``.
        tag_column: a column whose cells list a customer's tags, as strings
            joined by ``separator`` (``"高价值客户,电子产品"``) or as lists.
            A name ``"category:name"`` puts the tag in that category (unless
            ``tag_category`` is given, which then holds every such tag).
        categories: columns holding one value per customer (``"高频"``):
            a list of columns (the category is named after the column) or a
            ``{column: category name}`` dict. Each distinct value becomes a tag
            of an exclusive category; for a key that appears on several rows
            the last row's value wins. Missing values mean no tag.
        attributes: numeric attribute columns; not supported by this version
            of the library (raises :class:`UnimplementedError` if given).
        key_kind, **options: passed to :class:`Index`.

    Returns:
        The new index.

    Raises:
        InvalidArgumentError: a missing column, missing keys, bad names.
        TypeError: a column of an unusable type.

    Example::

        df = pd.DataFrame({"user_id": [1, 2, 3],
                           "vip": [True, False, True],
                           "freq": ["高频", None, "低频"],
                           "tags": ["电子产品,运动", "", "运动"]})
        index = tagindex.Index.from_dataframe(
            df, key="user_id", tags=["vip"], tag_column="tags",
            categories={"freq": "购买频率"})
    """
    import pandas as pd

    if attributes:
        raise UnimplementedError(
            "from_dataframe: attribute columns are not supported by this version of the "
            "tagindex library (no attribute API yet)")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"from_dataframe: expected a pandas DataFrame, got {type(df).__name__}")

    if key is None:
        keys = df.index.to_series(index=df.index)
        key_label = "the frame's index"
    else:
        _require(df, key, "key")
        keys = df[key]
        key_label = f"key column {key!r}"
    missing = keys.isna().to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise InvalidArgumentError(
            f"from_dataframe: {key_label} has {int(missing.sum())} missing keys (first at "
            f"position {first})")
    kind, batch = keys_batch(keys.to_numpy(), f"from_dataframe: {key_label}")
    if kind == "int":
        kind, batch = "ints", np.asarray([batch], dtype=np.int64)
    elif kind == "str":
        kind, batch = "strs", [batch]
    if key_kind is None:
        key_kind = "string" if kind == "strs" else "int64"

    tag_specs = _columns(tags, "tag")
    category_specs = _columns(categories, "category")
    for column, _ in tag_specs:
        _require(df, column, "tag")
    for column, _ in category_specs:
        _require(df, column, "category")
    if tag_column is not None:
        _require(df, tag_column, "tag_column")

    index = cls(key_kind, **options)
    rows = index.add_customers(batch)

    for column, name in tag_specs:
        mask = _indicator(df[column], column)
        tag = index.create_tag(name, tag_category)
        tag.add(rows=rows[mask])

    if tag_column is not None:
        cache: Dict = {}
        for name, tag_rows in _tag_column_members(df[tag_column], rows, separator):
            category, bare = _split_qualified(name, tag_category)
            tag_id = _get_or_create_tag(index, category, bare, cache)
            index._impl.tag_rows(tag_id, tag_rows)

    for column, category in category_specs:
        try:
            index.category(category)
        except UnknownCategoryError:
            index.create_category(category, exclusive=True)
        # Last row wins per customer: unique over the reversed rows.
        codes, uniques = pd.factorize(df[column], sort=True)
        reversed_rows = rows[::-1]
        _, first_of_reversed = np.unique(reversed_rows, return_index=True)
        chosen_rows = reversed_rows[first_of_reversed]
        chosen_codes = codes[::-1][first_of_reversed]
        keep = chosen_codes >= 0
        chosen_rows, chosen_codes = chosen_rows[keep], chosen_codes[keep]
        order = np.argsort(chosen_codes, kind="stable")
        chosen_rows, chosen_codes = chosen_rows[order], chosen_codes[order]
        bounds = np.searchsorted(chosen_codes, np.arange(len(uniques) + 1))
        cache = {}
        for code, value in enumerate(uniques):
            tag_id = _get_or_create_tag(index, category, str(value), cache)
            index._impl.tag_rows(tag_id, chosen_rows[bounds[code]:bounds[code + 1]])

    return index
