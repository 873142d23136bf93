"""tagindex.dask: queries over the shards of a sharded index on a Dask
distributed cluster (Debian's ``python3-distributed``).

Each shard of a sharded index directory (``ShardedIndex.open(path)``) is an
ordinary index directory. A query here becomes one Dask task per shard: the
worker opens that shard **read-only** from ``path`` (every worker must see the
directory: a shared or replicated file system, or a copy at the same path)
and returns a small partial result (a count, keys, an aggregate), which the
client reduces exactly (counts add; keys concatenate in shard order;
sums, counts, min and max merge; top-k from the per-shard top-k). Dask does
the scheduling, data movement and retries: a worker lost mid-query has its
tasks rerun on another worker, and since a task only reads, the answer is
the same. Nothing here is a scheduler, an RPC layer or a membership protocol.

    from dask.distributed import Client
    import tagindex.dask
    client = Client("tcp://scheduler:8786")
    shards = tagindex.dask.DaskShardedIndex(client, "/data/crm")
    shards.count("高价值客户 AND 电子产品 AND NOT 流失风险")
    shards.keys("高价值客户 AND NOT 流失风险")[:10]
    shards.summarize("消费金额", "高价值客户")

Profiles (TGI), top-N tags and co-occurrence are exact too: each shard
returns its counts and the client adds them with the merge helpers the C++
ShardedIndex uses (``MergeProfiles``, ``RankTopTags``,
``MergeCoOccurrences`` of tagindex/analytics.h), so the DataFrames equal the
unsharded index's. Quantiles are exact: a rank search in which every round
asks each shard for one histogram of 64 bounds (counted on the bit slices)
and narrows the interval holding the nearest-rank value 64-fold.

    shards.profile("高价值客户", category="兴趣爱好类")      # the same frame as Index.profile
    shards.top_tags("高价值客户", 5, by="tgi")
    shards.cooccurrence(["电子产品", "图书音像"], "高价值客户").lift
    shards.quantile("消费金额", 0.9, "高价值客户")

Writes go through :class:`tagindex.ShardedIndex` (one writer); readers here
see what was durable when each shard was opened.
"""

import math
import time
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _tagindex
from ._analytics import _BY, AnalyticsMixin, CoOccurrence, cooccurrence_of
from ._attributes import from_storage, to_storage
from ._errors import FailedPreconditionError, InvalidArgumentError
from ._index import Index
from ._sharded import ShardedIndex, _today


def _open_shard(path: str, shard: int) -> Index:
    return Index.open(ShardedIndex.shard_path(path, shard), read_only=True,
                      create_if_missing=False)


def _shard_task(path: str, shard: int, op: str, args: tuple, delay: float) -> Any:
    """One shard's part of a query (runs on a worker)."""
    if delay:
        time.sleep(delay)
    index = _open_shard(path, shard)
    try:
        if op == "count":
            text, today = args
            return index.count(text, today=today)
        if op == "keys":
            text, today, offset = args
            keys = index.query(text, today=today).keys()
            if offset:
                keys = keys + np.int64(offset)
            return keys
        if op == "attribute":
            return index._impl.get_attribute(args[0])
        if op == "profile":
            text, today, category, attribute = args
            seg = index.all_customers() if text is None else index.query(text, today=today)
            return index._impl.profile(seg._impl, category, attribute)
        if op == "cooccurrence":
            tags, text, today = args
            ids = [index._tag_id(t) for t in tags]
            seg = None if text is None else index.query(text, today=today)._impl
            return ids, index._impl.cooccurrence(ids, seg)
        if op == "rank_probe":
            # Storage units: (count with a value, this shard's q-quantile) for
            # q given, and counts of values < each bound.
            attribute, text, today, q, bounds = args
            seg = None if text is None else index.query(text, today=today)._impl
            first = None
            if q is not None:
                count = index._impl.summarize_attribute(attribute, seg, False, False, False)[0]
                first = (int(count), index._impl.attribute_quantile(attribute, float(q), seg))
            hist = None
            if bounds is not None:
                hist = index._impl.attribute_histogram(attribute, np.asarray(bounds, np.int64),
                                                       seg)
            return first, hist
        seg = None
        if args[1] is not None:
            seg = index.query(args[1], today=args[2])
        if op == "summarize":
            return index.summarize(args[0], seg)
        if op == "top_k":
            frame = index.top_k(args[0], args[3], seg, largest=args[4])
            keys = list(frame["key"])
            if offset_of(args[5], shard):
                keys = [k + offset_of(args[5], shard) for k in keys]
            return list(zip(keys, list(frame[args[0]])))
        raise ValueError(f"tagindex.dask: unknown shard operation {op!r}")
    finally:
        index.close()


def offset_of(rows_per_shard: int, shard: int) -> int:
    """Identity keys: the first key of a shard's range (0 for hashed keys)."""
    return rows_per_shard * shard


class DaskShardedIndex:
    """A sharded index directory queried through a Dask ``Client``.

    ``task_delay`` (seconds) makes every shard task sleep first: for tests
    that kill a worker while a query runs."""

    def __init__(self, client: Any, path: str, *, task_delay: float = 0.0) -> None:
        self.client = client
        self.path = str(path)
        generation, shards, kind, rows_per_shard, pending = \
            _tagindex._ShardedIndex.read_manifest(self.path)
        if pending:
            raise FailedPreconditionError(
                f"tagindex.dask: {self.path}: a catalog change is pending repair; open it once "
                "with tagindex.ShardedIndex.open (writable) first")
        self.generation = generation
        self.shard_count = shards
        self.key_kind = {0: "int64", 1: "string", 2: "identity"}[kind]
        self.rows_per_shard = rows_per_shard
        self.task_delay = float(task_delay)

    def _map(self, op: str, args_of: Any) -> List[Any]:
        futures = [self.client.submit(_shard_task, self.path, i, op, args_of(i),
                                      self.task_delay, pure=False, retries=2,
                                      key=f"tagindex-{op}-{i}-{time.monotonic_ns()}")
                   for i in range(self.shard_count)]
        return self.client.gather(futures)

    def shard_counts(self, text: str, *, today: Any = None) -> List[int]:
        """Matching customers in each shard (one task per shard)."""
        t = _today(today)
        return [int(c) for c in self._map("count", lambda i: (text, t))]

    def count(self, text: str, *, today: Any = None) -> int:
        """Matching customers over every shard: the per-shard counts added."""
        return sum(self.shard_counts(text, today=today))

    def keys(self, text: str, *, today: Any = None) -> Any:
        """The matching customers' keys in (shard, row) order: an int64
        array, or a list of str for string keys."""
        t = _today(today)
        parts = self._map("keys", lambda i: (text, t, offset_of(self.rows_per_shard, i)))
        if self.key_kind == "string":
            return [k for p in parts for k in p]
        return np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else \
            np.empty(0, np.int64)

    def summarize(self, attribute: str, text: Optional[str] = None, *,
                  today: Any = None) -> Dict[str, Any]:
        """count, sum, min, max, mean of an attribute over the customers of
        ``text`` (every customer when None), merged from the shards'."""
        t = _today(today)
        parts = self._map("summarize", lambda i: (attribute, text, t))
        count = sum(p["count"] for p in parts)
        mins = [p["min"] for p in parts if p["min"] is not None]
        maxs = [p["max"] for p in parts if p["max"] is not None]
        out = {"count": count, "min": min(mins) if mins else None,
               "max": max(maxs) if maxs else None}
        if all("sum" in p for p in parts):
            out["sum"] = sum((p["sum"] for p in parts), type(parts[0]["sum"])(0)) if parts else 0
            out["mean"] = None if count == 0 else out["sum"] / count
        return out

    def top_k(self, attribute: str, k: int, text: Optional[str] = None, *,
              largest: bool = True, today: Any = None) -> List[Any]:
        """(key, value) of the k best customers, best first: the global top k
        is among the shards' top k. Ties are broken by shard, then row."""
        t = _today(today)
        parts = self._map("top_k", lambda i: (attribute, text, t, int(k), bool(largest),
                                              self.rows_per_shard))
        merged = [(v, i, j, key) for i, p in enumerate(parts) for j, (key, v) in enumerate(p)]
        merged.sort(key=lambda e: ((-e[0] if largest else e[0]), e[1], e[2])
                    if not hasattr(e[0], "toordinal") else
                    ((-e[0].toordinal() if largest else e[0].toordinal()), e[1], e[2]))
        return [(key, v) for v, _, _, key in merged[:int(k)]]

    # ---- analytics: per-shard counts merged exactly ----
    def _attribute_info(self, attribute: str) -> tuple:
        return self._map("attribute", lambda i: (attribute,))[0]

    def profile(self, text: Optional[str] = None, *, category: Optional[str] = None,
                attribute: Optional[str] = None, today: Any = None) -> Any:
        """Index.profile over every shard: the same DataFrame (``plot()``:
        the TGI chart) for the customers of ``text`` (every customer when
        None), from the shards' counts added (MergeProfiles)."""
        t = _today(today)
        parts = self._map("profile", lambda i: (text, t, category, attribute or ""))
        segment_count, universe_count, raw = _tagindex.merge_profiles(list(parts),
                                                                      attribute or "")
        frames = _Frames(self._attribute_info(attribute) if attribute else None)
        return frames._profile_frame(raw, segment_count, universe_count, attribute)

    def top_tags(self, text: Optional[str] = None, n: int = 10, *, by: str = "count",
                 min_count: int = 0, category: Optional[str] = None, today: Any = None) -> Any:
        """Index.top_tags over every shard, exact: every tag's counts are
        merged first, then ranked (RankTopTags), so a tag that is nowhere a
        shard's best but is the global best is found."""
        if by not in _BY:
            raise InvalidArgumentError(f"analytics: by must be 'count' or 'tgi', not {by!r}")
        if int(n) < 1 or int(min_count) < 0:
            raise InvalidArgumentError("analytics: top_tags needs n >= 1 and min_count >= 0")
        t = _today(today)
        parts = self._map("profile", lambda i: (text, t, category, ""))
        segment_count, universe_count, raw = _tagindex.merge_profiles(list(parts), "")
        ranked = _tagindex.rank_top_tags(raw, int(n), _BY[by], int(min_count))
        return _Frames(None)._profile_frame(ranked, segment_count, universe_count, None)

    def cooccurrence(self, tags: List[Union[str, int]], text: Optional[str] = None, *,
                     today: Any = None) -> CoOccurrence:
        """Index.cooccurrence over every shard: counts and population added
        (MergeCoOccurrences), Jaccard and lift computed from the sums."""
        t = _today(today)
        parts = self._map("cooccurrence", lambda i: (list(tags), text, t))
        return cooccurrence_of(_tagindex.merge_cooccurrences([tuple(p) for p in parts]))

    # ---- attribute aggregates ----
    def histogram(self, attribute: str, bounds: List[Any], text: Optional[str] = None, *,
                  today: Any = None) -> np.ndarray:
        """counts[j] = customers of ``text`` with bounds[j] <= value <
        bounds[j+1], the shards' histograms added."""
        info = self._attribute_info(attribute)
        b, present = to_storage(list(bounds), info[2], info[3], "histogram bounds")
        if not present.all():
            raise InvalidArgumentError("histogram: bounds must not be NULL")
        t = _today(today)
        parts = self._map("rank_probe", lambda i: (attribute, text, t, None, b.tolist()))
        return np.sum([np.asarray(p[1], np.uint64) for p in parts], axis=0, dtype=np.uint64)

    def quantile(self, attribute: str, q: float, text: Optional[str] = None, *,
                 today: Any = None) -> Any:
        """The exact q-quantile (nearest rank: the ceil(q * n)-th smallest of
        the n values, as Index.quantile) of the customers of ``text`` over
        every shard, or None when no customer has a value.

        The answer lies between the smallest and the largest of the shards'
        own q-quantiles; each round then asks every shard (one task each)
        for a histogram of up to 64 bounds in that interval and keeps the
        sub-interval where the merged count of values <= v reaches the rank,
        so a 64-bit range takes at most 11 rounds and a range of m values
        about log64(m)."""
        if not 0.0 <= float(q) <= 1.0:
            raise InvalidArgumentError(f"quantile: q = {q} is outside [0, 1]")
        info = self._attribute_info(attribute)
        t = _today(today)
        first = self._map("rank_probe", lambda i: (attribute, text, t, float(q), None))
        counts = [p[0][0] for p in first]
        total = sum(counts)
        if total == 0:
            return None
        rank = min(max(int(math.ceil(float(q) * float(total))), 1), total)
        own = [p[0][1] for p in first if p[0][1] is not None]
        lo, hi = min(own), max(own)
        while lo < hi:
            step = -(-(hi - lo) // _PROBES)
            probes = list(range(lo, hi, step))
            bounds = [_INT64_MIN] + [p + 1 for p in probes]
            parts = self._map("rank_probe", lambda i: (attribute, text, t, None, bounds))
            below = np.cumsum(np.sum([np.asarray(p[1], np.uint64) for p in parts], axis=0,
                                     dtype=np.uint64))
            j = int(np.searchsorted(below, rank))  # the first probe v with count_le(v) >= rank
            if j == 0:
                hi = lo  # probes[0] == lo
            elif j < len(probes):
                lo, hi = probes[j - 1] + 1, probes[j]
            else:
                lo = probes[-1] + 1
        return from_storage(lo, info[2], info[3])


_PROBES = 64
_INT64_MIN = -(1 << 63)


class _CatalogOf:
    """What AnalyticsMixin's frame builders read of an index (the attribute
    column's type), fetched from a worker."""

    def __init__(self, info: Optional[tuple]) -> None:
        self._info = info

    def get_attribute(self, name: str) -> tuple:
        return self._info


class _Frames:
    """Index's own frame builders (AnalyticsMixin), on merged counts."""
    _attribute_columns = AnalyticsMixin._attribute_columns
    _profile_frame = AnalyticsMixin._profile_frame

    def __init__(self, info: Optional[tuple]) -> None:
        self._impl = _CatalogOf(info)
