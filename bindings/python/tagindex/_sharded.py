"""tagindex.ShardedIndex: one logical index split into N ordinary shard
indexes (a directory of shard directories plus a MANIFEST), queried on a
thread pool. See include/tagindex/sharded_index.h and docs/sharding.md;
``tagindex.dask`` maps the same directory over Dask workers."""

import datetime
import decimal
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _tagindex
from ._analytics import AnalyticsMixin
from ._attributes import AttributeInfo, _info, from_storage, parse_type, to_storage
from ._convert import keys_batch
from ._errors import InvalidArgumentError
from ._index import Category, Index, TagInfo, _ClosedIndex, _SYNC_POLICIES, _tag_info

_KEY_KINDS = {"int64": 0, "string": 1, "identity": 2}
_KEY_KIND_NAMES = {v: k for k, v in _KEY_KINDS.items()}
_EPOCH = datetime.date(1970, 1, 1)


def _today(today: Any) -> Optional[int]:
    if today is None or isinstance(today, int):
        return today
    if isinstance(today, datetime.date):
        return (today - _EPOCH).days
    raise TypeError("today: expected a datetime.date or days since 1970-01-01")


class ShardedSegment:
    """A query result over every shard: (shard, row) pairs in (shard, row)
    order. A snapshot; ``len``, ``keys``, ``rows``, ``pages``, ``& | -``."""

    def __init__(self, index: "ShardedIndex", impl: Any) -> None:
        self._index = index
        self._impl = impl

    def __len__(self) -> int:
        """Number of customers in the segment."""
        return self._impl.count()

    def shard_counts(self) -> List[int]:
        """Customers of the segment in each shard."""
        return list(self._impl.shard_counts())

    def keys(self, offset: int = 0, limit: Optional[int] = None) -> Any:
        """Customer keys from rank ``offset`` (all when ``limit`` is None):
        an int64 array, or a list of str for string keys."""
        n = len(self) if limit is None else int(limit)
        return self._impl.keys(int(offset), n)

    def rows(self, offset: int = 0, limit: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(shard ids, row ids) as two uint32 arrays."""
        n = len(self) if limit is None else int(limit)
        return self._impl.page(int(offset), n)

    def pages(self, size: int = 1000) -> Any:
        """Cursor paging: yields (shards, rows) arrays of up to ``size``."""
        after = None
        while True:
            shards, rows = self._impl.page_after(after, int(size))
            if len(rows) == 0:
                return
            yield shards, rows
            after = (int(shards[-1]), int(rows[-1]))

    def __and__(self, other: "ShardedSegment") -> "ShardedSegment":
        """Intersection, shard by shard."""
        return ShardedSegment(self._index, self._impl.intersect(other._impl))

    def __or__(self, other: "ShardedSegment") -> "ShardedSegment":
        """Union, shard by shard."""
        return ShardedSegment(self._index, self._impl.union(other._impl))

    def __sub__(self, other: "ShardedSegment") -> "ShardedSegment":
        """Difference, shard by shard."""
        return ShardedSegment(self._index, self._impl.difference(other._impl))

    def __repr__(self) -> str:
        return f"ShardedSegment({len(self)} customers over {len(self.shard_counts())} shards)"


class ShardedIndex:
    """N shard indexes behind one catalog. ``ShardedIndex(shards=8)`` is in
    memory; ``ShardedIndex.open(path, shards=8)`` is on disk. Catalog changes
    (tags, categories, attributes) reach every shard; writes are routed by a
    frozen hash of the key (identity keys: by row range); queries run on
    every shard on a thread pool (``threads``, default: the cores) and merge
    exactly.

        idx = tagindex.ShardedIndex.open("/data/crm", shards=8)
        vip = idx.create_tag("高价值客户")
        idx.tag("高价值客户", [1001, 1002])
        idx.count("高价值客户 AND NOT 流失风险")
    """

    def __init__(self, shards: int = 8, key_kind: str = "int64", *, threads: int = 0,
                 rows_per_shard: int = 0) -> None:
        self._impl = _tagindex._ShardedIndex.in_memory(int(shards), self._kind(key_kind),
                                                      int(rows_per_shard), int(threads))

    @staticmethod
    def _kind(key_kind: str) -> int:
        if key_kind not in _KEY_KINDS:
            raise InvalidArgumentError(
                f"sharded index: unknown key kind {key_kind!r}; use one of {sorted(_KEY_KINDS)}")
        return _KEY_KINDS[key_kind]

    @classmethod
    def open(cls, path: Union[str, "os.PathLike[str]"], *, shards: int = 8,
             key_kind: str = "int64", rows_per_shard: int = 0, threads: int = 0,
             create_if_missing: bool = True, read_only: bool = False,
             sync: str = "every_write") -> "ShardedIndex":
        """Opens (or creates: ``shards``, ``key_kind`` and ``rows_per_shard``
        apply on creation only) the sharded index in ``path``, repairing an
        interrupted catalog change (``repair_report``)."""
        if sync not in _SYNC_POLICIES:
            raise InvalidArgumentError(f"sharded index: unknown sync policy {sync!r}")
        self = cls.__new__(cls)
        self._impl = _tagindex._ShardedIndex.open(
            os.fspath(path), int(shards), cls._kind(key_kind), int(rows_per_shard),
            int(threads), bool(create_if_missing), bool(read_only), _SYNC_POLICIES[sync])
        return self

    @staticmethod
    def shard_path(path: Union[str, "os.PathLike[str]"], shard: int) -> str:
        """The directory of one shard (an ordinary index: ``Index.open``)."""
        return _tagindex._ShardedIndex.shard_path(os.fspath(path), int(shard))

    @staticmethod
    def reshard(source: Union[str, "os.PathLike[str]"], dest: Union[str, "os.PathLike[str]"],
                shards: int, *, rows_per_shard: int = 0, threads: int = 0) -> None:
        """Writes a new sharded index of ``shards`` shards in ``dest`` with
        every customer, category, tag (and description), attribute column and
        value of the sharded index in ``source``, which is only read. Built in
        ``dest + ".reshard-tmp"`` and renamed to ``dest`` once durable, so
        ``dest`` is complete or absent. Identity keys: ``rows_per_shard``
        (0: the source's key space split evenly). Same as ``tagindex shard
        reshard``. Raises AlreadyExistsError when ``dest`` exists."""
        _tagindex._ShardedIndex.reshard(os.fspath(source), os.fspath(dest), int(shards),
                                        int(rows_per_shard), int(threads))

    def close(self) -> None:
        """Releases the shards (and their directory locks, once no
        ShardedSegment refers to them): later calls raise
        FailedPreconditionError. Closing twice is fine."""
        self._impl = _ClosedIndex()

    def __enter__(self) -> "ShardedIndex":
        """Context manager: closes on exit."""
        return self

    def __exit__(self, *exc: Any) -> None:
        """Closes the index."""
        self.close()

    # ---- properties ----
    @property
    def shard_count(self) -> int:
        """Number of shards (fixed at creation)."""
        return self._impl.shard_count()

    @property
    def key_kind(self) -> str:
        """'int64', 'string' or 'identity'."""
        return _KEY_KIND_NAMES[self._impl.key_kind()]

    @property
    def threads(self) -> int:
        """Threads of the query pool (the caller included)."""
        return self._impl.threads()

    @property
    def generation(self) -> int:
        """The manifest's generation (two per catalog change)."""
        return self._impl.generation()

    @property
    def repair_report(self) -> str:
        """What open repaired ('' when nothing was pending)."""
        return self._impl.repair_report()

    @property
    def customer_count(self) -> int:
        """Live customers over all shards."""
        return self._impl.customer_count()

    def __len__(self) -> int:
        """Live customers over all shards."""
        return self.customer_count

    @property
    def _owner(self) -> "ShardedIndex":
        # The index a segment must belong to (AnalyticsMixin checks it).
        return self

    def __repr__(self) -> str:
        return (f"ShardedIndex({self.customer_count} customers, {len(self.tags)} tags, "
                f"{self.shard_count} shards, {self.threads} threads)")

    def shard_of(self, key: Union[int, str]) -> int:
        """The shard a customer key routes to."""
        if isinstance(key, str):
            return self._impl.shard_of_str(key)
        return self._impl.shard_of_int(int(key))

    # ---- catalog ----
    def create_category(self, name: str, *, exclusive: bool = False, description: str = "") -> None:
        """Creates a category in every shard."""
        self._impl.create_category(name, bool(exclusive), description)

    @property
    def categories(self) -> List[Category]:
        """Every category, by name."""
        return [Category(name=c[0], description=c[1], exclusive=c[2], tag_count=c[3])
                for c in self._impl.list_categories()]

    def create_tag(self, name: str, category: str = "", description: str = "") -> int:
        """Creates the tag in every shard; returns its id (the same everywhere)."""
        return self._impl.create_tag(name, category, description)

    def _tag_id(self, tag: Union[str, int]) -> int:
        if isinstance(tag, str):
            return self._impl.find_tag(tag)
        return int(tag)

    def tag_info(self, tag: Union[str, int]) -> TagInfo:
        """The tag with its count summed over the shards."""
        return _tag_info(self._impl.get_tag(self._tag_id(tag)))

    @property
    def tags(self) -> List[TagInfo]:
        """Every live tag with counts summed over the shards."""
        return [_tag_info(t) for t in self._impl.list_tags()]

    def rename_tag(self, tag: Union[str, int], new_name: str) -> None:
        """Renames a tag in every shard."""
        self._impl.rename_tag(self._tag_id(tag), new_name)

    def set_tag_description(self, tag: Union[str, int], description: str) -> None:
        """Replaces a tag's description in every shard."""
        self._impl.set_tag_description(self._tag_id(tag), description)

    def delete_tag(self, tag: Union[str, int]) -> None:
        """Deletes a tag (and its memberships) in every shard."""
        self._impl.delete_tag(self._tag_id(tag))

    def create_attribute(self, name: str, type: str = "int64", *, scale: int = 0,
                         description: str = "") -> int:
        """Creates an attribute column ('int64', 'decimal(2)', 'date') in every shard; returns its id."""
        code, scale = parse_type(type, scale)
        return self._impl.create_attribute(name, code, scale, description)

    def rename_attribute(self, name: str, new_name: str) -> None:
        """Renames an attribute in every shard."""
        self._impl.rename_attribute(name, new_name)

    def drop_attribute(self, name: str) -> None:
        """Drops an attribute and its values in every shard."""
        self._impl.drop_attribute(name)

    def attribute(self, name: str) -> AttributeInfo:
        """An attribute with its count summed over the shards."""
        return _info(self._impl.get_attribute(name))

    def attributes(self) -> List[AttributeInfo]:
        """Every attribute column."""
        return [_info(a) for a in self._impl.list_attributes()]

    # ---- data ----
    def _keys(self, keys: Any) -> Tuple[Any, bool]:
        kind, value = keys_batch(keys)
        if kind in ("int", "ints"):
            return np.atleast_1d(np.asarray(value, np.int64)), False
        return ([value] if kind == "str" else list(value)), True

    def add_customers(self, keys: Any) -> None:
        """Registers customers, each in its shard (atomic per shard)."""
        self._impl.add_customers(*self._keys(keys))

    def remove_customers(self, keys: Any) -> None:
        """Removes customers, each from its shard."""
        self._impl.remove_customers(*self._keys(keys))

    def tag(self, tag: Union[str, int], keys: Any) -> None:
        """Tags customers (registering unknown keys), grouped per shard."""
        self._impl.tag_many(self._tag_id(tag), *self._keys(keys))

    def untag(self, tag: Union[str, int], keys: Any) -> None:
        """Untags customers, grouped per shard."""
        self._impl.untag_many(self._tag_id(tag), *self._keys(keys))

    def set_attribute(self, name: str, keys: Any, values: Any) -> None:
        """Sets values (int, Decimal / float text for decimals, date) of live
        customers; NULL values are not accepted here."""
        info = self._impl.get_attribute(name)
        k, strings = self._keys(keys)
        v, present = to_storage(values, info[2], info[3], f"attribute {name}")
        if not present.all():
            raise InvalidArgumentError(f"sharded index: {name}: NULL values are not supported")
        self._impl.set_attribute_many(name, k, strings, v)

    def load_from(self, index: Index) -> None:
        """Copies all of ``index`` (catalog, customers, tags, attribute values)
        into this empty sharded index, the shards written in parallel: e.g.
        ``Index.import_csv`` or ``Index.from_dataframe`` first, then
        ``load_from``. Same as ``tagindex shard split``."""
        self._impl.load_from(index._impl)

    def checkpoint(self) -> None:
        """Checkpoints every shard."""
        self._impl.checkpoint()

    # ---- queries ----
    def count(self, text: str, *, today: Any = None, unknown_tags_are_empty: bool = False) -> int:
        """Matching customers over every shard (counts add)."""
        return self._impl.count(text, _today(today), bool(unknown_tags_are_empty))

    def shard_counts(self, text: str, *, today: Any = None,
                     unknown_tags_are_empty: bool = False) -> List[int]:
        """Matching customers in each shard."""
        return list(self._impl.shard_counts(text, _today(today), bool(unknown_tags_are_empty)))

    def query(self, text: str, *, today: Any = None,
              unknown_tags_are_empty: bool = False) -> ShardedSegment:
        """The matching customers of every shard, as a ShardedSegment."""
        return ShardedSegment(self, self._impl.query(text, _today(today),
                                                     bool(unknown_tags_are_empty)))

    def all_customers(self) -> ShardedSegment:
        """Every live customer, as a ShardedSegment."""
        return ShardedSegment(self, self._impl.all_customers())

    def explain(self, text: str, *, today: Any = None) -> Dict[str, Any]:
        """Per-shard counts and times, the slowest shard, and ``text`` (the
        readable report with the slowest shard's plan)."""
        return self._impl.explain(text, _today(today), False)

    # ---- attribute aggregates ----
    @staticmethod
    def _seg(segment: Optional[ShardedSegment]) -> Any:
        return None if segment is None else segment._impl

    def summarize(self, name: str, segment: Optional[ShardedSegment] = None) -> dict:
        """count, sum, min, max, mean over the segment (merged exactly)."""
        info = self._impl.get_attribute(name)
        code, scale = info[2], info[3]
        count, total, lo, hi, _ = self._impl.summarize_attribute(name, self._seg(segment))
        out = {"count": count, "min": from_storage(lo, code, scale),
               "max": from_storage(hi, code, scale)}
        if code == 2:
            out["mean"] = None if count == 0 else _EPOCH + datetime.timedelta(days=total / count)
        elif code == 1:
            out["sum"] = decimal.Decimal(total).scaleb(-scale)
            out["mean"] = None if count == 0 else out["sum"] / count
        else:
            out["sum"] = total
            out["mean"] = None if count == 0 else total / count
        return out

    def top_k(self, name: str, k: int, segment: Optional[ShardedSegment] = None, *,
              largest: bool = True) -> List[Tuple[Any, Any]]:
        """(key, value) of the k best customers, best first (ties by shard, row)."""
        info = self._impl.get_attribute(name)
        keys, values = self._impl.top_attribute(name, int(k), bool(largest), self._seg(segment))
        return [(k if isinstance(k, str) else int(k), from_storage(int(v), info[2], info[3]))
                for k, v in zip(list(keys), values)]

    def histogram(self, name: str, bounds: Sequence[Any],
                  segment: Optional[ShardedSegment] = None) -> np.ndarray:
        """counts[j] = customers with bounds[j] <= value < bounds[j+1], summed over shards."""
        info = self._impl.get_attribute(name)
        b, present = to_storage(list(bounds), info[2], info[3], "histogram bounds")
        if not present.all():
            raise InvalidArgumentError("histogram: bounds must not be NULL")
        return self._impl.attribute_histogram(name, b, self._seg(segment))

    def quantile(self, name: str, q: float, segment: Optional[ShardedSegment] = None) -> Any:
        """The exact q-quantile (nearest rank) over every shard, or None."""
        info = self._impl.get_attribute(name)
        return from_storage(self._impl.attribute_quantile(name, float(q), self._seg(segment)),
                            info[2], info[3])

    # ---- analytics: Index's own methods (tagindex/_analytics.py) ----
    def customers_without(self, category: str, segment: Any = None) -> ShardedSegment:
        """The customers (of the segment, if given) holding no tag of
        ``category``, as a ShardedSegment."""
        return ShardedSegment(self, self._impl.customers_without_category(
            category, self._population(segment)))


# profile, top_tags, count_of, cooccurrence, crosstab and coverage are Index's
# functions (AnalyticsMixin), run on `_ShardedIndex`, whose bindings are the
# same C++ templates as `_Index`'s (the shards' counts summed, then the
# derived fields computed again): the same DataFrames, objects and charts,
# with a ShardedSegment (or a query text) as the segment.
for _name in ("_population", "_attribute_columns", "_profile_frame", "profile", "top_tags",
              "count_of", "cooccurrence", "crosstab", "coverage"):
    setattr(ShardedIndex, _name, vars(AnalyticsMixin)[_name])
del _name
