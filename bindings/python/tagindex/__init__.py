"""tagindex: a columnar tag index for customer tagging and segment selection.

Every customer tag is a compressed (Roaring) bitmap over dense customer row
ids, so segment selection is bitmap algebra, not a scan of rows.

Quick start::

    import tagindex
    index = tagindex.Index()                       # int64 customer keys
    index.create_category("购买频率", exclusive=True)
    vip = index.create_tag("高价值客户")
    high = index.create_tag("高频", category="购买频率")
    vip.add([1001, 1002, 1003])
    high.add(1001)
    len(vip), index.tags_of(1001)
    seg = index.query("高价值客户 AND NOT 购买频率 = 高频")   # a Segment
    list(seg), index.count("高价值客户 OR 高频"), seg.to_numpy()
    print(index.explain("高价值客户 AND NOT 高频"))

Persistent indexes: ``Index.open(path, create_if_missing=True)``; many cores or machines:
``ShardedIndex`` (and ``tagindex.dask``); pandas: ``Index.from_dataframe`` and
``Segment.to_frame``; ``Index`` and ``Segment`` pickle. Errors derive from
:class:`tagindex.Error` (see ``tagindex._errors`` for the hierarchy). The
package wraps the private extension ``tagindex._tagindex``.
"""

from . import _errors
from ._errors import (AlreadyExistsError, AmbiguousTagError, CancelledError, CorruptionError,
                      DeadlineExceededError, Error, FailedPreconditionError, InternalError,
                      InvalidArgumentError, NotFoundError, OutOfRangeError, QuerySyntaxError,
                      ResourceExhaustedError, StorageError, UnimplementedError,
                      UnknownAttributeError, UnknownCategoryError, UnknownCustomerError,
                      UnknownTagError)
from ._index import (Category, Index, IndexOptions, RecoveryReport, Tag, TagInfo, export_rows,
                     parse_portable_rows)
from ._batch import WriteBatch
from ._import import ImportReport, RejectedRow, RejectedRowsWarning, demo_queries
from ._attributes import AttributeInfo
from ._analytics import CoOccurrence, Coverage
from ._segments import SavedSegmentInfo, SegmentDiff
from ._rules import RuleRefreshResult, RuleTagInfo
from ._query import CompiledQuery, Explanation, ExplainNode, QueryOptions, Segment
from ._snapshot import Snapshot
from ._sharded import ShardedIndex, ShardedSegment

# The C++ library's TAGINDEX_VERSION_STRING (include/tagindex/version.h).
from ._tagindex import __version__

__all__ = [
    "AttributeInfo",
    "CoOccurrence",
    "Coverage",
    "SavedSegmentInfo",
    "RuleTagInfo",
    "RuleRefreshResult",
    "SegmentDiff",
    "Snapshot",
    "Index",
    "IndexOptions",
    "Tag",
    "TagInfo",
    "Category",
    "RecoveryReport",
    "export_rows",
    "parse_portable_rows",
    "WriteBatch",
    "Segment",
    "ShardedIndex",
    "ShardedSegment",
    "CompiledQuery",
    "QueryOptions",
    "Explanation",
    "ExplainNode",
    "ImportReport",
    "RejectedRow",
    "RejectedRowsWarning",
    "demo_queries",
    # Every exception class, as the error module lists them (one list to keep).
    *_errors.__all__,
]
