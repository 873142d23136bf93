"""The Pythonic face of tagindex: :class:`Index`, :class:`Tag`, :class:`Category`."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, List, Optional, Union

import numpy as np

from . import _tagindex
from ._convert import (KEY_KIND_NAMES, KEY_KINDS, keys_batch, row_scalar, rows_array,
                       text_arg)
from ._errors import (FailedPreconditionError, InvalidArgumentError, NotFoundError,
                      UnknownCustomerError, UnknownTagError)
from ._analytics import AnalyticsMixin
from ._attributes import AttributeMixin
from ._rules import RulesMixin
from ._segments import SegmentsMixin
from ._options import (INDEX_FIELDS, OPEN_FIELDS, QUERY_FIELDS, SYNC_POLICIES, from_cpp,
                       index_options, make_dataclass, open_options, query_options,
                       with_options)
from ._query import CompiledQuery, Explanation, Segment

_TAG_KINDS = {"manual": 0, "rule": 1}
_TAG_KIND_NAMES = {v: k for k, v in _TAG_KINDS.items()}


IndexOptions = make_dataclass(
    "IndexOptions", INDEX_FIELDS,
    "Options fixed when an index is created (``tagindex::IndexOptions``; fields and\n"
    "defaults are the C++ struct's).")


@dataclasses.dataclass(frozen=True)
class Category:
    """A category of tags (a snapshot; see :meth:`Index.category`).

    Attributes:
        name: the category's name.
        description: free text.
        exclusive: a customer holds at most one tag of an exclusive category;
            tagging one removes the others.
        tag_count: number of live tags in the category.
    """

    name: str
    description: str
    exclusive: bool
    tag_count: int


@dataclasses.dataclass(frozen=True)
class TagInfo:
    """A snapshot of a tag's description and count (see :meth:`Tag.info`)."""

    id: int
    name: str
    category: str
    description: str
    kind: str
    count: int
    rule: str = ""  # a rule tag's query ("" for a manual tag)

    @property
    def qualified_name(self) -> str:
        """``"category:name"``, or just the name for a tag without a category."""
        return f"{self.category}:{self.name}" if self.category else self.name


@dataclasses.dataclass(frozen=True)
class RecoveryReport:
    """What :meth:`Index.open` found and did (see ``tagindex::RecoveryReport``).

    Attributes:
        generation: generation of the snapshot loaded.
        snapshot_bytes: its size.
        log_records_replayed: write-ahead-log records applied after it.
        torn_tail_truncated: a record cut short by a crash during its write
            (never acknowledged) was dropped.
        log_bytes_dropped: bytes dropped from the end of the log.
        salvage_message: what ``salvage_log=True`` dropped, and where ("" if
            nothing).
    """

    generation: int = 0
    snapshot_bytes: int = 0
    log_records_replayed: int = 0
    torn_tail_truncated: bool = False
    log_bytes_dropped: int = 0
    salvage_message: str = ""


_SYNC_POLICIES = SYNC_POLICIES  # (also used by the sharded index)


class _ClosedIndex:
    """Stands in for the C++ index after Index.close()."""

    def __getattr__(self, name: str) -> Any:
        raise FailedPreconditionError("index: this Index was closed")


def _tag_info(t: tuple) -> TagInfo:
    return TagInfo(id=t[0], name=t[1], category=t[2], description=t[3],
                   kind=_TAG_KIND_NAMES.get(t[4], str(t[4])), count=t[5],
                   rule=t[6] if len(t) > 6 else "")


TagLike = Union["Tag", str, int]


class Tag:
    """A handle to one tag of an :class:`Index`.

    A ``Tag`` is cheap: it holds the index and the tag's stable id, and reads
    its name, category and count from the index on every access (so a rename
    made through any handle is visible through all of them). Handles compare
    equal when they name the same tag of the same index.

    Example::

        vip = index.create_tag("高价值客户", category="价值分层")
        vip.add([1001, 1002, 1003])          # customer keys
        vip.add(rows=np.arange(10, dtype=np.uint32))
        len(vip), 1001 in vip                # (13, True)
    """

    __slots__ = ("_index", "_id")

    def __init__(self, index: "Index", tag_id: int) -> None:
        self._index = index
        self._id = index._tag_id(int(tag_id))

    @property
    def index(self) -> "Index":
        """The index this tag belongs to."""
        return self._index

    @property
    def id(self) -> int:
        """The tag's stable id (never reused within its index)."""
        return self._id

    def info(self) -> TagInfo:
        """All of the tag's fields in one consistent snapshot."""
        return _tag_info(self._index._impl.get_tag(self._id))

    @property
    def name(self) -> str:
        """The tag's display name."""
        return self.info().name

    @property
    def category(self) -> str:
        """The tag's category, or ``""`` for none."""
        return self.info().category

    @property
    def qualified_name(self) -> str:
        """``"category:name"`` (or the bare name without a category)."""
        return self.info().qualified_name

    @property
    def description(self) -> str:
        """Free text describing the tag (assignable)."""
        return self.info().description

    @description.setter
    def description(self, text: str) -> None:
        self._index._impl.set_tag_description(self._id, text_arg(text, "description"))

    @property
    def kind(self) -> str:
        """``"manual"`` (members assigned by the host) or ``"rule"``."""
        return self.info().kind

    @property
    def count(self) -> int:
        """Number of customers holding the tag."""
        return self._index._impl.tag_cardinality(self._id)

    def __len__(self) -> int:
        """Number of customers holding the tag."""
        return self.count

    def __contains__(self, key: Any) -> bool:
        """``key in tag``: whether ``key`` is a live customer holding the tag."""
        try:
            return self._index.has_tag(self, key)
        except UnknownCustomerError:
            return False

    def contains_row(self, row: int) -> bool:
        """Whether the live customer at ``row`` holds this tag."""
        return self._index.has_tag(self, row=row)

    def add(self, keys: Any = None, *, rows: Any = None) -> None:
        """Tags customers given by key(s) or by ``rows=`` (see :meth:`Index.add_tag`)."""
        self._index.add_tag(self, keys, rows=rows)

    def remove(self, keys: Any = None, *, rows: Any = None) -> None:
        """Untags customers given by key(s) or ``rows=`` (see :meth:`Index.remove_tag`)."""
        self._index.remove_tag(self, keys, rows=rows)

    def rows(self) -> np.ndarray:
        """Row ids of the customers holding the tag: ascending ``uint32`` array."""
        return self._index._impl.rows_with_tag(self._id)

    def keys(self) -> np.ndarray:
        """Keys of the customers holding the tag, in row order (``int64`` array,
        or an ``object`` array of str for a string-keyed index)."""
        return self._index._keys_array(self._index._impl.keys_with_tag(self._id))

    def segment(self) -> Segment:
        """The tag's members now, as a :class:`Segment` (a snapshot), for set
        algebra with query results: ``vip.segment() & index.query("电子产品")``."""
        return Segment(self._index, self._index._impl.segment_from_rows(self.rows()),
                       self.qualified_name)

    def to_portable(self) -> bytes:
        """The tag's members (row ids) in the standard portable Roaring format,
        readable by CRoaring, Java/Go Roaring, pyroaring, pg_roaringbitmap.
        See :meth:`Index.import_tag` for the way back."""
        return self._index._impl.export_tag(self._id)

    def rename(self, new_name: str) -> None:
        """Renames the tag within its category.

        Raises:
            AlreadyExistsError: the category already has a tag of that name.
            InvalidArgumentError: the name is not valid.
        """
        self._index._impl.rename_tag(self._id, text_arg(new_name, "tag name"))

    def delete(self) -> None:
        """Deletes the tag and its memberships; this handle becomes stale
        (later calls raise :class:`UnknownTagError`)."""
        self._index._impl.delete_tag(self._id)

    def __reduce__(self) -> tuple:
        # Pickled with its index (tag ids survive an index's pickling).
        return (Tag, (self._index, self._id))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Tag) and other._index is self._index
                and other._id == self._id)

    def __hash__(self) -> int:
        return hash((id(self._index), self._id))

    def __repr__(self) -> str:
        try:
            info = self.info()
        except UnknownTagError:
            return f"<tagindex.Tag id={self._id} (deleted)>"
        category = f", category={info.category!r}" if info.category else ""
        return f"<tagindex.Tag {info.name!r}{category} id={info.id} count={info.count}>"


class Index:
    """A tag index: customers, categories, tags and memberships.

    Every tag is a compressed (Roaring) bitmap over dense customer row ids;
    the index maps the host's customer keys (int64 or str) to row ids.

    Thread safety: an ``Index`` may be shared by many threads. Reads run
    concurrently, writes are serialised, and the GIL is released inside every
    call into the C++ library.

    Example::

        import tagindex
        index = tagindex.Index()                      # int64 customer keys
        vip = index.create_tag("高价值客户")
        index.create_category("购买频率", exclusive=True)
        high = index.create_tag("高频", category="购买频率")
        vip.add([1001, 1002, 1003])
        index.add_tag("购买频率:高频", 1001)
        index.tags_of(1001)        # [<Tag '高价值客户' ...>, <Tag '高频' ...>]

    Errors are subclasses of :class:`tagindex.Error`.
    """

    __slots__ = ("_impl", "__weakref__", "last_import")

    @with_options(INDEX_FIELDS, skip=("key_kind",))
    def __init__(self, key_kind: str = "int64", **options: Any) -> None:
        """Creates an empty in-memory index.

        Args:
            key_kind: ``"int64"`` (default), ``"string"`` or ``"identity"``
                (see :class:`IndexOptions`).
            create_missing_customers, max_*: see :class:`IndexOptions`.

        Raises:
            InvalidArgumentError: an unknown key kind or a zero limit.
        """
        self._impl = _tagindex._Index(index_options(dict(options, key_kind=key_kind)))
        #: The :class:`ImportReport` of :meth:`from_dataframe`, else None.
        self.last_import = None

    @classmethod
    @with_options(OPEN_FIELDS, INDEX_FIELDS)
    def open(cls, path: Union[str, "os.PathLike[str]"], **options: Any) -> "Index":
        """Opens a persistent index in directory ``path`` (with
        ``create_if_missing=True``, creates it if there is none).

        Loads the last snapshot and replays the write-ahead log after it.
        Every mutation is logged before it is applied and before the call
        returns; :meth:`checkpoint` writes a new snapshot and retires the log.
        Use as a context manager (or call :meth:`close`) to release the
        directory lock before reopening it::

            with tagindex.Index.open("/var/lib/crm/tags", create_if_missing=True) as index:
                index.create_tag("高价值客户").add([1001, 1002])
                index.checkpoint()

        Args:
            path: the index directory.
            create_if_missing: create the directory and an empty index if
                there is none (default False, as in leveldb: a removed or
                mistyped path is NotFoundError instead of a new empty index).
                Never creates over a directory that held an index whose
                files are gone (CorruptionError) or one holding other files
                (FailedPreconditionError).
            read_only: write nothing (no lock; the log is replayed in memory);
                mutations and checkpoint raise FailedPreconditionError.
            sync: when a log record reaches stable storage: ``"every_write"``
                (fdatasync before returning), ``"group_commit"`` (a background
                fsync every ``group_commit_interval_ms`` shared by concurrent
                writers, each waiting for its own) or ``"none"`` (survives a
                process crash, not a machine crash).
            salvage_log: keep the records before a corrupt spot in the log
                instead of failing (reported in :attr:`last_recovery`).
            max_tag_id_on_load, max_log_record_bytes: safety limits on load.
            key_kind, create_missing_customers, max_*: options of a *new*
                index (see :class:`IndexOptions`); a stored index keeps its own.

        Raises:
            FailedPreconditionError: another writer holds the directory, or a
                newer format version.
            CorruptionError: a corrupt snapshot or log (names file and offset).
            NotFoundError: no index there and ``create_if_missing=False``.
            CorruptionError: also a directory that held an index whose
                snapshot is gone.
            StorageError: the file system failed.
        """
        cpp_options = open_options(options)
        encoded = os.fsencode(path)
        nul = encoded.find(b"\0")
        if nul >= 0:
            raise InvalidArgumentError(
                f"storage: index path {path!r} contains a NUL byte at position {nul}; "
                "a path cannot hold one")
        impl = _tagindex._Index.open(encoded, cpp_options)
        return cls._from_impl(impl)

    def checkpoint(self) -> None:
        """Writes a new snapshot atomically and retires the log it covers.
        Queries and writes continue meanwhile (changes made during it start
        the next log).

        Raises:
            FailedPreconditionError: an in-memory or read-only index.
            StorageError: the file system failed.
        """
        if not self.persistent:
            raise FailedPreconditionError(
                "index: checkpoint() needs an index opened from a directory with "
                "tagindex.Index.open(path); this one is in memory: index.save(path) writes "
                "it to a directory that Index.open opens")
        self._impl.checkpoint()

    @property
    def persistent(self) -> bool:
        """Whether the index was opened from a directory."""
        return self._impl.persistent()

    @property
    def last_recovery(self) -> RecoveryReport:
        """What :meth:`open` found (all zero for an in-memory index)."""
        return RecoveryReport(**self._impl.last_recovery())

    def close(self) -> None:
        """Releases the index: later calls through this object (and its Tag
        handles) raise FailedPreconditionError. The C++ index, and with it the
        directory lock of a persistent index, goes away once no Segment or
        CompiledQuery refers to it any more. Closing twice is fine."""
        self._impl = _ClosedIndex()

    def __enter__(self) -> "Index":
        """``with Index.open(path) as index:`` closes the index on exit."""
        return self

    def __exit__(self, *exc: Any) -> None:
        """Closes the index (see :meth:`close`)."""
        self.close()

    @classmethod
    def _from_impl(cls, impl: Any) -> "Index":
        index = cls.__new__(cls)
        index._impl = impl
        index.last_import = None
        return index

    # ---- pickling -------------------------------------------------------------

    def __reduce__(self) -> tuple:
        """Pickles the whole index as one snapshot in the library's own file
        format (:meth:`save` writes the same bytes to a directory):
        unpickling gives an in-memory index where every customer keeps its
        row id (the keys of removed rows included) and every tag its id, so
        segments pickled along with it stay valid."""
        return (_restore_snapshot, (self._impl.serialize_snapshot(),))

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Saves the index (in memory, e.g. built by :meth:`from_dataframe`,
        or opened) to directory ``path`` as a new index that
        :meth:`Index.open` opens. ``path`` is created if missing and must not
        hold an index already. It writes the index as it stood when the call
        began; queries and writes continue meanwhile.

        Raises:
            AlreadyExistsError: ``path`` holds an index.
            InvalidArgumentError: ``path`` contains a NUL byte.
            StorageError: the file system failed.
        """
        self._impl.save_to(_checked_path(path, "save"))

    def backup(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Online backup: writes a consistent copy of this (live) index, as
        of one committed state, to the new directory ``path`` while other
        threads go on writing; :meth:`Index.open` opens the copy. Prefer it to
        copying a live directory with ``cp -r``, which can catch a log
        mid-append or files of two generations.

        Raises:
            AlreadyExistsError: ``path`` holds an index.
            InvalidArgumentError: ``path`` contains a NUL byte.
            StorageError: the file system failed.
        """
        self._impl.backup(_checked_path(path, "backup"))

    # ---- properties ---------------------------------------------------------

    @property
    def _owner(self) -> "Index":
        # The index that Tag handles and Segments belong to (a Snapshot,
        # which shares the read methods, has its index here).
        return self

    @property
    def key_kind(self) -> str:
        """``"int64"``, ``"string"`` or ``"identity"``."""
        return KEY_KIND_NAMES[self._impl.key_kind]

    @property
    def options(self) -> IndexOptions:
        """The options the index was created with."""
        return IndexOptions(**from_cpp(self._impl.options(), INDEX_FIELDS))

    @property
    def customer_count(self) -> int:
        """Number of live customers (also ``len(index)``)."""
        return self._impl.customer_count()

    def __len__(self) -> int:
        """Number of live customers."""
        return self._impl.customer_count()

    @property
    def row_id_limit(self) -> int:
        """One past the largest row id ever assigned."""
        return self._impl.row_id_limit()

    @property
    def tag_count(self) -> int:
        """Number of live tags."""
        return self._impl.tag_count()

    def __repr__(self) -> str:
        if isinstance(self._impl, _ClosedIndex):
            return "<tagindex.Index (closed)>"
        where = " persistent" if self._impl.persistent() else ""
        return (f"<tagindex.Index{where} key_kind={self.key_kind} customers={len(self)} "
                f"tags={self.tag_count}>")

    # ---- customers ------------------------------------------------------------

    def _keys_array(self, keys: Any) -> np.ndarray:
        if isinstance(keys, np.ndarray):
            return keys
        out = np.empty(len(keys), dtype=object)
        out[:] = keys
        return out

    def add_customer(self, key: Union[int, str]) -> int:
        """Registers a customer; returns its row id (the existing one if the
        key is already live).

        Raises:
            InvalidArgumentError: a key of the wrong kind or a bad string key.
            ResourceExhaustedError: row ids are used up.
        """
        kind, value = keys_batch(key, "customer key")
        if kind == "int":
            return self._impl.add_customer_int(value)
        if kind == "str":
            return self._impl.add_customer_str(value)
        raise TypeError("add_customer: expected one key; use add_customers for many")

    def add_customers(self, keys: Any) -> np.ndarray:
        """Registers many customers (a list, range, numpy int64 array, pandas
        Series, or a list of str); returns their row ids in input order as a
        ``uint32`` array. All-or-nothing: a bad key changes nothing."""
        kind, value = keys_batch(keys)
        if kind in ("int", "ints"):
            return self._impl.add_customers_int(np.atleast_1d(np.asarray(value, np.int64)))
        return self._impl.add_customers_str([value] if kind == "str" else value)

    def row_of(self, key: Union[int, str]) -> int:
        """Row id of a live customer.

        Raises:
            UnknownCustomerError: the key is not a live customer.
        """
        kind, value = keys_batch(key, "customer key")
        if kind == "int":
            return self._impl.find_customer_int(value)
        if kind == "str":
            return self._impl.find_customer_str(value)
        raise TypeError("row_of: expected one key")

    def key_of(self, row: int) -> Union[int, str]:
        """The key of the live customer at ``row``.

        Raises:
            UnknownCustomerError: the row is not a live customer.
        """
        return self._impl.key_of(row_scalar(row))

    def keys_of(self, rows: Any) -> np.ndarray:
        """Keys of live rows, in input order (``int64`` array, or ``object``
        array of str for a string-keyed index)."""
        return self._keys_array(self._impl.keys_of_rows(rows_array(rows)))

    def __contains__(self, key: Any) -> bool:
        """``key in index``: whether ``key`` is a live customer."""
        try:
            self.row_of(key)
            return True
        except UnknownCustomerError:
            return False

    def remove_customer(self, key: Union[int, str]) -> None:
        """Removes a customer from every tag and from the universe. Its row id
        is not reused.

        Raises:
            UnknownCustomerError: the key is not a live customer.
        """
        kind, value = keys_batch(key, "customer key")
        if kind == "int":
            self._impl.remove_customer_int(value)
        elif kind == "str":
            self._impl.remove_customer_str(value)
        else:
            raise TypeError("remove_customer: expected one key")

    def remove_row(self, row: int) -> None:
        """Removes the customer at ``row`` (see :meth:`remove_customer`)."""
        self._impl.remove_row(row_scalar(row))

    def live_rows(self) -> np.ndarray:
        """Row ids of all live customers: ascending ``uint32`` array."""
        return self._impl.live_rows()

    # ---- categories -------------------------------------------------------------

    def create_category(self, name: str, *, exclusive: bool = False,
                        description: str = "") -> Category:
        """Creates a category and returns it.

        Raises:
            AlreadyExistsError: a category of that name exists.
            InvalidArgumentError: a bad name or description.
        """
        self._impl.create_category(text_arg(name, "category name"), bool(exclusive),
                                   text_arg(description, "description"))
        return self.category(name)

    def category(self, name: str) -> Category:
        """The category called ``name``.

        Raises:
            UnknownCategoryError: no such category.
        """
        return Category(*self._impl.get_category(text_arg(name, "category name")))

    @property
    def categories(self) -> List[Category]:
        """All categories, ordered by name."""
        return [Category(*c) for c in self._impl.list_categories()]

    # ---- tags ---------------------------------------------------------------------

    def create_tag(self, name: str, category: str = "", *, description: str = "",
                   kind: str = "manual") -> Tag:
        """Creates an empty tag and returns its handle. A category that does
        not exist yet is created (non-exclusive).

        Raises:
            AlreadyExistsError: the category already has a tag of that name.
            InvalidArgumentError: a bad name, category or description.
            ResourceExhaustedError: the index holds ``max_tags`` tags.
        """
        if kind not in _TAG_KINDS:
            raise InvalidArgumentError(f"index: unknown tag kind {kind!r}; use 'manual' or "
                                       "'rule'")
        return Tag(self, self._impl.create_tag(text_arg(name, "tag name"),
                                               text_arg(category or "", "category name"),
                                               text_arg(description, "description"),
                                               _TAG_KINDS[kind]))

    def tag(self, name: str, category: Optional[str] = None) -> Tag:
        """Looks a tag up by name.

        ``name`` may be qualified as ``"category:name"``; a bare name must be
        unique across categories. Pass ``category=`` to look a tag up in one
        category (``""`` for tags without a category).

        Raises:
            UnknownTagError: no such tag (``.suggestions`` lists close names).
            AmbiguousTagError: the bare name is in several categories
                (``.candidates`` lists the qualified names).
        """
        if category is not None:
            return Tag(self._owner,
                       self._impl.find_tag_in(text_arg(category, "category name"),
                                              text_arg(name, "tag name")))
        try:
            return Tag(self._owner, self._impl.find_tag(text_arg(name, "tag name")))
        except UnknownTagError as not_found:
            # "category:name" (the category itself may contain ':').
            start = 0
            while (colon := name.find(":", start)) >= 0:
                start = colon + 1
                try:
                    return Tag(self._owner,
                               self._impl.find_tag_in(text_arg(name[:colon], "category"),
                                                      text_arg(name[colon + 1:], "tag")))
                except (NotFoundError, InvalidArgumentError):
                    continue
            raise not_found

    def __getitem__(self, name: str) -> Tag:
        """``index["高频"]`` is ``index.tag("高频")``."""
        if not isinstance(name, str):
            raise TypeError(f"index[...]: expected a tag name, got {type(name).__name__}")
        return self.tag(name)

    @property
    def tags(self) -> List[Tag]:
        """All live tags, ordered by (category, name)."""
        return [Tag(self._owner, t[0]) for t in self._impl.list_tags()]

    def tag_infos(self) -> List[TagInfo]:
        """Snapshots of all live tags (with counts), ordered by (category, name)."""
        return [_tag_info(t) for t in self._impl.list_tags()]

    def _tag_id(self, tag: TagLike) -> int:
        if isinstance(tag, Tag):
            if tag._index is not self._owner:
                raise InvalidArgumentError(
                    f"index: tag {tag.id} belongs to a different index")
            return tag._id
        if isinstance(tag, str):
            return self.tag(tag)._id
        if isinstance(tag, (int, np.integer)) and not isinstance(tag, (bool, np.bool_)):
            if not 0 <= tag <= 0xFFFFFFFF:
                raise UnknownTagError(f"index: tag id {int(tag)} not found (tag ids are in "
                                      "[0, 2**32))", code="NOT_FOUND")
            return int(tag)
        raise TypeError(f"expected a Tag, a tag name or a tag id, got {type(tag).__name__}")

    def _tag_handle(self, tag: TagLike) -> Tag:
        return Tag(self._owner, self._tag_id(tag))

    def import_tag(self, name: str, blob: bytes, category: str = "", *,
                   description: str = "", kind: str = "manual") -> Tag:
        """Creates a tag holding the row ids of a portable Roaring blob (what
        :meth:`Tag.to_portable` and :func:`export_rows` write). Exclusivity of
        the category applies as for :meth:`add_tag`; all-or-nothing.

        Raises:
            CorruptionError: a damaged blob.
            UnknownCustomerError: a row id in the blob is not a live customer.
            AlreadyExistsError, InvalidArgumentError: as for :meth:`create_tag`.
        """
        if kind not in _TAG_KINDS:
            raise InvalidArgumentError(f"index: unknown tag kind {kind!r}; use 'manual' or "
                                       "'rule'")
        return Tag(self, self._impl.import_tag(text_arg(name, "tag name"),
                                               text_arg(category or "", "category name"),
                                               text_arg(description, "description"),
                                               _TAG_KINDS[kind], bytes(blob)))

    # ---- queries -----------------------------------------------------------------

    @with_options(QUERY_FIELDS)
    def query(self, text: str, **options: Any) -> Segment:
        """The customers matching a segment query, as a :class:`Segment`.

        The language (docs/query_language.md)::

            高价值客户 AND 电子产品 AND NOT 流失风险
            (兴趣:运动 OR 兴趣:户外) AND 购买频率 IN (高频, 中频)

        Options mirror :class:`QueryOptions`.

        Raises:
            QuerySyntaxError: the text does not parse (``.line``, ``.column``,
                ``.offset``, ``.snippet``).
            UnknownTagError: an unknown tag (``.suggestions``).
            AmbiguousTagError: a bare name in several categories.
            ResourceExhaustedError: a limit of the options.
        """
        opts = query_options(options)
        return Segment(self._owner, self._impl.query(text, opts), text)

    @with_options(QUERY_FIELDS)
    def count(self, text: str, **options: Any) -> int:
        """The number of customers matching ``text``, without materialising
        the result where the plan allows. Same options and errors as
        :meth:`query`."""
        opts = query_options(options)
        return self._impl.count(text, opts)

    @with_options(QUERY_FIELDS)
    def explain(self, text: str, **options: Any) -> Explanation:
        """Runs ``text`` and returns its plan with estimated and actual
        cardinalities and times (``print(index.explain(q))``). Same options
        and errors as :meth:`query`."""
        opts = query_options(options)
        return Explanation._from_dict(self._impl.explain(text, opts))

    def snapshot(self) -> "Snapshot":
        """A point-in-time read view (:class:`Snapshot`): every read method
        of the index (lookups, tags, memberships, queries, attributes, saved
        segments, analytics) answers on it as of now while writes go on.
        Never waits for a writer."""
        from ._snapshot import Snapshot  # noqa: PLC0415 (import cycle)
        return Snapshot(self, self._impl.snapshot())

    @with_options(QUERY_FIELDS)
    def compile(self, text: str, **options: Any) -> CompiledQuery:
        """Parses, binds and normalises ``text`` once; the result runs many
        times, from many threads. Same options and errors as :meth:`query`."""
        opts = query_options(options)
        return CompiledQuery(self._owner, self._impl.compile(text, opts),
                             options)

    def all_customers(self) -> Segment:
        """Every live customer, as a :class:`Segment`."""
        return Segment(self._owner, self._impl.all_customers(), "ALL")

    def segment_from_rows(self, rows: Any) -> Segment:
        """A :class:`Segment` of this index holding exactly ``rows`` (list,
        range or numpy array of row ids; any order, duplicates allowed).

        Raises:
            UnknownCustomerError: a row that is not a live customer.
        """
        return Segment(self._owner, self._impl.segment_from_rows(rows_array(rows)))

    def segment_from_portable(self, blob: bytes) -> Segment:
        """A :class:`Segment` from a portable Roaring blob (what
        :meth:`Segment.to_portable` writes).

        Raises:
            CorruptionError: a damaged blob.
            UnknownCustomerError: a row that is not a live customer.
        """
        return Segment(self._owner, self._impl.segment_from_portable(bytes(blob)))

    # ---- batches -------------------------------------------------------------------

    def batch(self) -> "WriteBatch":
        """A new, empty :class:`WriteBatch` for this index (commit it with
        :meth:`write`, or use it as a context manager: ``with index.batch()
        as b: ...`` writes it when the block ends without an exception)."""
        from ._batch import WriteBatch
        return WriteBatch(self)

    def write(self, batch: "WriteBatch") -> List[Any]:
        """Commits every item of ``batch`` all-or-nothing, as one log record
        and one sync. Returns one entry per item: the new :class:`Tag` for
        ``create_tag`` / ``import_tag`` items, the row ids (``uint32``
        array) for ``add_customers`` items, None for the others.

        Raises:
            the failing item's error class (e.g. UnknownCustomerError), with
            ``.item``, ``.item_kind``, ``.subject`` and ``.reason``; nothing
            is changed then. ResourceExhaustedError if the batch exceeds
            ``max_log_record_bytes`` (split it).
        """
        from ._batch import write
        return write(self, batch)

    # ---- memberships -------------------------------------------------------------

    def _membership(self, op: str, tag: TagLike, keys: Any, rows: Any) -> None:
        tag_id = self._tag_id(tag)
        if (keys is None) == (rows is None):
            raise TypeError(f"{op}: pass either customer keys or rows=, not both or neither")
        impl = self._impl
        if rows is not None:
            getattr(impl, f"{op}_rows")(tag_id, rows_array(rows))
            return
        kind, value = keys_batch(keys)
        if kind == "int":
            getattr(impl, f"{op}_int")(tag_id, value)
        elif kind == "str":
            getattr(impl, f"{op}_str")(tag_id, value)
        elif kind == "ints":
            getattr(impl, f"{op}_many_int")(tag_id, value)
        else:
            getattr(impl, f"{op}_many_str")(tag_id, value)

    def add_tag(self, tag: TagLike, keys: Any = None, *, rows: Any = None) -> None:
        """Tags customers.

        Args:
            tag: a :class:`Tag`, a tag name (``"name"`` or ``"category:name"``)
                or a tag id.
            keys: one customer key, or many: a list, tuple, range, numpy
                integer array, pandas Series, or a list of str. Unknown keys
                are registered if ``create_missing_customers``.
            rows: instead of keys, row ids (int, list, range, numpy array;
                converted to ``uint32``). Rows must be live customers.

        Tagging with a tag of an exclusive category removes the customers'
        other tags of that category. All-or-nothing: a bad key or row changes
        nothing.

        Raises:
            UnknownTagError, UnknownCustomerError, InvalidArgumentError.
        """
        self._membership("tag", tag, keys, rows)

    def remove_tag(self, tag: TagLike, keys: Any = None, *, rows: Any = None) -> None:
        """Untags customers (same arguments as :meth:`add_tag`). Customers must
        be live; untagging a customer who lacks the tag is a no-op."""
        self._membership("untag", tag, keys, rows)

    # ---- reads ---------------------------------------------------------------------

    def has_tag(self, tag: TagLike, key: Any = None, *, row: Optional[int] = None) -> bool:
        """Whether a live customer (by key, or by ``row=``) holds ``tag``.

        Raises:
            UnknownTagError, UnknownCustomerError.
        """
        tag_id = self._tag_id(tag)
        if (key is None) == (row is None):
            raise TypeError("has_tag: pass either a customer key or row=")
        if row is not None:
            return self._impl.has_tag_row(tag_id, row_scalar(row))
        kind, value = keys_batch(key, "customer key")
        if kind == "int":
            return self._impl.has_tag_int(tag_id, value)
        if kind == "str":
            return self._impl.has_tag_str(tag_id, value)
        raise TypeError("has_tag: expected one customer key")

    def tags_of(self, key: Any = None, *, row: Optional[int] = None) -> List[Tag]:
        """The tags a live customer (by key, or by ``row=``) holds, by tag id.

        Raises:
            UnknownCustomerError.
        """
        if (key is None) == (row is None):
            raise TypeError("tags_of: pass either a customer key or row=")
        if row is not None:
            ids = self._impl.tags_of_row(row_scalar(row))
        else:
            kind, value = keys_batch(key, "customer key")
            if kind == "int":
                ids = self._impl.tags_of_int(value)
            elif kind == "str":
                ids = self._impl.tags_of_str(value)
            else:
                raise TypeError("tags_of: expected one customer key")
        return [Tag(self._owner, int(i)) for i in ids]

    def tag_info(self, tag: TagLike) -> TagInfo:
        """All fields of one tag (with its count) in one consistent read.

        Raises:
            UnknownTagError: no such tag.
        """
        return _tag_info(self._impl.get_tag(self._tag_id(tag)))

    def rows_with_tag(self, tag: TagLike) -> np.ndarray:
        """Row ids of the customers holding ``tag``: ascending ``uint32`` array
        (:meth:`Tag.rows`)."""
        return self._impl.rows_with_tag(self._tag_id(tag))

    def keys_with_tag(self, tag: TagLike) -> np.ndarray:
        """Keys of the customers holding ``tag``, in row order (:meth:`Tag.keys`)."""
        return self._keys_array(self._impl.keys_with_tag(self._tag_id(tag)))

    # ---- pandas ---------------------------------------------------------------------

    @classmethod
    def from_dataframe(cls, df: Any, key: Optional[str] = None, *,
                       tags: Any = None, tag_column: Optional[str] = None,
                       separator: str = ",", tag_category: str = "",
                       categories: Any = None, attributes: Any = None,
                       key_kind: Optional[str] = None, multi: Any = None,
                       qualified_names: Optional[bool] = None, strict: bool = False,
                       **options: Any) -> "Index":
        """Builds an :class:`Index` from a pandas DataFrame, one customer per row,
        with the CSV importer's rules (see :meth:`Index.import_csv`).

        Args:
            df: the frame. Rows for the same key are the same customer; their
                memberships merge, and the last value of a category wins.
            key: the column of customer keys; ``None`` uses the frame's index.
            key_kind: ``"int64"`` (the default), ``"string"`` or ``"identity"``:
                declared, never guessed from the data. A key that does not fit
                (``"C1004"`` in an int64 index, a missing key) rejects its row.
            tags: boolean tag columns (bool, 0/1, yes/no, 是/否; missing = false):
                a list of columns (the tag is named after the column) or a
                ``{column: tag name}`` dict. Created in ``tag_category``.
            separator: what joins the names in a ``tag_column`` or ``multi``
                cell (default ``","``).
            tag_category: the category of the ``tags`` tags and, when given,
                of every tag named by ``tag_column`` / ``multi`` cells
                (default ``""``: no category).
            tag_column: a column whose cells list a customer's tags, as strings
                joined by ``separator`` (``"高价值客户,电子产品"``) or as lists. An
                item ``"category:name"`` puts the tag in that category (unless
                ``tag_category`` is given, which then holds every such tag).
            multi: more such columns: a list, or ``{column: category}``.
            qualified_names: whether an item ``"category:name"`` of a
                ``tag_column`` / ``multi`` cell names its own category
                (default ``None``: yes unless ``tag_category`` is given).
            categories: columns holding one value per customer (``"高频"``): a
                list (the category is named after the column) or a ``{column:
                category name}`` dict; exclusive categories. Missing = no value.
            attributes: attribute columns, ``{column: type}`` with types
                ``"int64"``, ``"decimal(2)"`` (a scale of 2) or ``"date"``
                (``{"消费金额": "decimal(2)", "最近购买": "date"}``); each becomes an
                attribute named after its column. NULL (None, NaN, NaT, pd.NA)
                means no value; a value that does not fit the type (more decimals
                than the scale, a non-date) raises :class:`InvalidArgumentError`
                naming its position before anything is imported. Values of
                rejected rows are left out with their rows.
            strict: raise :class:`InvalidArgumentError` at the first bad row
                instead of rejecting it.
            **options: passed to :class:`Index` (``key_kind`` aside): the new
            index's limits, e.g. ``max_tags``.

        Returns:
            The new index. Its :attr:`Index.last_import` is the
            :class:`ImportReport`; when rows were rejected a
            :class:`RejectedRowsWarning` names the first ones (row positions and
            reasons), and ``last_import.rejects`` lists them all.

        Example::

            df = pd.DataFrame({"user_id": [1, 2, 3], "vip": [True, False, True],
                               "freq": ["高频", None, "低频"], "tags": ["电子产品,运动", "", "运动"]})
            index = tagindex.Index.from_dataframe(
                df, key="user_id", tags=["vip"], tag_column="tags",
                categories={"freq": "购买频率"})
        """
        from ._import import from_dataframe
        return from_dataframe(cls, df, key, tags=tags, tag_column=tag_column,
                              separator=separator, tag_category=tag_category,
                              categories=categories, attributes=attributes,
                              key_kind=key_kind, multi=multi, qualified_names=qualified_names,
                              strict=strict, **options)

    # ---- import ---------------------------------------------------------------------

    def import_csv(self, path: Any, *, key: str, key_kind: Optional[str] = None,
                   tags: Any = None, tag_category: str = "", multi: Any = None,
                   separator: str = ",", qualified_names: bool = False,
                   categories: Any = None, attributes: Any = None, delimiter: str = ",",
                   strict: bool = False, replace: bool = False,
                   rejects: Optional[str] = None, batch_rows: int = 1 << 14,
                   max_rejects: int = 1000, threads: int = 0) -> "ImportReport":
        """Imports customers and tags from a CSV file (RFC 4180, UTF-8 with or
        without BOM, LF or CRLF, header required); the library's importer, the
        same as ``tagindex import``.

        Args:
            path: the CSV file.
            key: the customer key column.
            key_kind: ``"int64"``, ``"string"`` or ``"identity"``; must be the
                index's own (the default). A key that does not fit rejects its row.
            tags: boolean tag columns: a list (tag named after the column) or
                ``{column: tag name}``; true is 1/true/yes/y/t/是, false is
                0/false/no/n/f/否 or empty, anything else rejects the row.
            tag_category: the category of the ``tags`` tags.
            multi: multi-value tag columns: a column, a list, or
                ``{column: category}``; cells are names joined by ``separator``.
            qualified_names: in ``multi`` columns without a category, an item
                ``"category:name"`` names its own category.
            categories: categorical columns as exclusive categories: a list
                (category named after the column) or ``{column: category}``.
            attributes: numeric/decimal/date columns: a list of columns or
                ``{column: "int64" | "decimal(2)" | "date" | None}``; each is
                the attribute of that name (created with the type when
                missing; a declared type must match an existing one). Cells
                are parsed as in queries (``1299.50``, ``2026-08-01``); a bad
                value rejects its row; an empty cell is no value (NULL under
                ``replace``).
            delimiter: the CSV field separator (one byte).
            strict: raise :class:`InvalidArgumentError` at the first bad row
                (rows before it stay imported).
            replace: rows state the whole truth for the mapped columns (false
                cells untag, empty category cells clear, unlisted multi tags of
                the column's category are removed); default merge only adds,
                except that a category value replaces the previous one.
            rejects: write the rejected rows here as CSV (file, line, column,
                reason, row).
            batch_rows: rows per atomic WriteBatch.
            max_rejects: rejected rows kept in the report (all are counted).
            threads: 2 commits each batch on a worker thread while the next
                is read, 1 keeps everything on the calling thread, 0 (the
                default) is 2 on a machine with two or more cores; the index
                is the same either way.

        Returns:
            An :class:`ImportReport`. Re-importing the same file is idempotent.
            Each rejected row has a ``kind`` (``"bad_key"``, ``"bad_name"``,
            ``"bad_value"``) and a ``subject``.

        Raises:
            InvalidArgumentError: a bad mapping (unknown column, wrong key
                kind), a missing header, or the first bad row under ``strict``;
                its ``kind`` is ``"bad_value"`` for a mapping or header (the
                ``subject`` names the column or option), the row's kind under
                ``strict``.
            NotFoundError: the file does not exist.
        """
        from ._import import import_csv
        return import_csv(self, path, key=key, key_kind=key_kind, tags=tags,
                          tag_category=tag_category, multi=multi, separator=separator,
                          qualified_names=qualified_names, categories=categories,
                          attributes=attributes, delimiter=delimiter, strict=strict,
                          replace=replace, rejects=rejects, batch_rows=batch_rows,
                          max_rejects=max_rejects, threads=threads)

    def import_dataframe(self, df: Any, key: Optional[str] = None, *,
                         key_kind: Optional[str] = None, tags: Any = None,
                         tag_category: str = "", tag_column: Optional[str] = None,
                         multi: Any = None, separator: str = ",",
                         qualified_names: Optional[bool] = None, categories: Any = None,
                         attributes: Any = None, strict: bool = False, replace: bool = False,
                         max_rejects: int = 1000) -> "ImportReport":
        """Imports a pandas DataFrame into this index with the CSV importer's
        rules (see :meth:`import_csv` and :meth:`from_dataframe`); rejected rows
        carry their frame position in ``record``."""
        from ._import import import_dataframe
        return import_dataframe(self, df, key, key_kind=key_kind, tags=tags,
                                tag_category=tag_category, tag_column=tag_column, multi=multi,
                                separator=separator, qualified_names=qualified_names,
                                categories=categories, attributes=attributes, strict=strict,
                                replace=replace, max_rejects=max_rejects)

    @classmethod
    def demo(cls, customers: int = 1_000_000, seed: int = 20261201) -> "Index":
        """An in-memory synthetic shop (the ``tagindex demo`` data): int64 keys
        10000001... in signup order, 35 tags in 基本信息类 / 交易行为类 / 兴趣爱好类
        / 忠诚度类 with 性别, 城市, 会员等级 as exclusive categories, correlated
        popularity. :func:`tagindex.demo_queries` lists its dozen queries."""
        index = cls("int64")
        index._impl.build_demo_shop(int(customers), int(seed))
        return index


def _checked_path(path: Union[str, "os.PathLike[str]"], what: str) -> bytes:
    encoded = os.fsencode(path)
    nul = encoded.find(b"\0")
    if nul >= 0:
        raise InvalidArgumentError(
            f"storage: {what} path {path!r} contains a NUL byte at position {nul}; "
            "a path cannot hold one")
    return encoded


def _restore_snapshot(snapshot: bytes) -> Index:
    return Index._from_impl(_tagindex._Index.from_snapshot(snapshot))


def _restore_index(state: dict) -> Index:
    # Pickles written before the snapshot format was used (dict states).
    from ._pickle import restore_index
    return restore_index(Index, state)


def export_rows(rows: Any) -> bytes:
    """Any set of row ids (list, range, numpy array) as a portable Roaring blob."""
    return _tagindex.export_rows(rows_array(rows))


def parse_portable_rows(blob: bytes, max_ids: int = 1 << 26) -> np.ndarray:
    """The row ids of a portable Roaring blob, ascending, as a ``uint32`` array.
    The blob is validated completely before use; since run containers let a
    small blob describe billions of ids, at most ``max_ids`` are expanded.

    Raises:
        CorruptionError: a damaged blob.
        ResourceExhaustedError: it holds more than ``max_ids`` ids.
    """
    return _tagindex.parse_portable_rows(bytes(blob), max_ids)


# The attribute methods live in _attributes.py; they are Index's own methods.
# So do the analytics methods of _analytics.py.
for _mixin in (AttributeMixin, AnalyticsMixin, SegmentsMixin, RulesMixin):
    for _name, _member in vars(_mixin).items():
        if not _name.startswith("__"):
            setattr(Index, _name, _member)
del _mixin, _name, _member
