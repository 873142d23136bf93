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

Writes go through :class:`tagindex.ShardedIndex` (one writer); readers here
see what was durable when each shard was opened. Profiles, TGI and
co-occurrence will merge the same way (per-shard counts add) once the
analytics calls exist.
"""

import time
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _tagindex
from ._errors import FailedPreconditionError
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
