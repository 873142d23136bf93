"""The tagindex exception hierarchy and the one status -> exception translator.

Every error the C++ library reports is an ``absl::Status`` with a canonical
code and a message that reads "component: context: problem". The extension
module calls :func:`_from_status` for each failed status; this module is the
only place that decides which Python class a status becomes.

Hierarchy (each class also derives from the closest built-in exception, so
``except KeyError`` and ``except ValueError`` keep working)::

    Error
    ├── InvalidArgumentError (ValueError)
    │   ├── QuerySyntaxError            .line .column .offset .snippet
    │   └── AmbiguousTagError           .candidates
    ├── NotFoundError (KeyError)
    │   ├── UnknownTagError             .name .suggestions
    │   ├── UnknownAttributeError       .name .suggestions
    │   ├── UnknownCategoryError        .name
    │   └── UnknownCustomerError        .name
    ├── AlreadyExistsError (ValueError) .name
    ├── ResourceExhaustedError          a limit of the index options, or memory
    ├── FailedPreconditionError         the call does not fit the index's state
    ├── OutOfRangeError (IndexError)
    ├── CorruptionError                 a corrupt file or log (DataLoss)
    ├── StorageError (OSError)          I/O failed (Unavailable, PermissionDenied, Aborted)
    ├── DeadlineExceededError (TimeoutError)
    ├── CancelledError
    ├── UnimplementedError (NotImplementedError)
    └── InternalError (RuntimeError)    a bug in tagindex: please report it
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

__all__ = [
    "Error",
    "InvalidArgumentError",
    "QuerySyntaxError",
    "AmbiguousTagError",
    "NotFoundError",
    "UnknownTagError",
    "UnknownAttributeError",
    "UnknownCategoryError",
    "UnknownCustomerError",
    "AlreadyExistsError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "OutOfRangeError",
    "CorruptionError",
    "StorageError",
    "DeadlineExceededError",
    "CancelledError",
    "UnimplementedError",
    "InternalError",
]

# absl::StatusCode values (frozen by Abseil).
_CODE_NAMES = {
    0: "OK",
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}


class Error(Exception):
    """Base class of every error raised by tagindex.

    Attributes:
        message: the library's message ("component: context: problem").
        code: the canonical status code name, e.g. ``"NOT_FOUND"``.
        details: structured details the status carried (a dict; raw status
            payloads are under ``"payloads"``).
        line, column, offset, snippet: where in a query text the error is,
            for every error about a place in a query (else None / ""):
            1-based line, 1-based column in code points, 0-based byte
            offset, and the line with a caret under the problem.
        kind: what the error is about, from the library's ErrorInfo payload
            (a stable name: "unknown_tag", "ambiguous_name", "limit",
            "bad_key", "bad_name", "bad_value", "query_syntax",
            "corrupt_file", "io", "busy", ...; see include/tagindex/errors.h),
            or None for an error without one.
        subject: the name, key ("row <id>", "tag id <id>"), path or option
            the error is about (for a rejected batch: the batch's subject,
            below).
        path: the file or directory of a storage error (else None).
        offset: for a :class:`CorruptionError`, the byte offset into
            ``path`` when known.
        limit: the option (``"IndexOptions::max_tags"``, ...) of a limit.
        item, item_kind, subject, reason: for a rejected
            :class:`tagindex.WriteBatch` (else None): the index of the
            failing item, its kind ("tag keys", ...), what failed (the key,
            "row <id>", "tag id <id>" or a name) and the item's own message.
    """

    default_code = "UNKNOWN"
    line: Optional[int] = None
    column: Optional[int] = None
    offset: Optional[int] = None
    snippet: str = ""
    kind: Optional[str] = None
    path: Optional[str] = None
    limit: Optional[str] = None
    item: Optional[int] = None
    item_kind: Optional[str] = None
    subject: Optional[str] = None
    reason: Optional[str] = None

    def __init__(self, message: str = "", *, code: Optional[str] = None,
                 details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: Dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        # KeyError would otherwise show repr(message).
        return self.message


class InvalidArgumentError(Error, ValueError):
    """A bad argument: a malformed name, a key of the wrong kind, a bad query."""

    default_code = "INVALID_ARGUMENT"


class QuerySyntaxError(InvalidArgumentError):
    """A segment query that does not parse.

    Attributes:
        line: 1-based line of the error.
        column: 1-based column, counted in code points.
        offset: 0-based byte offset into the UTF-8 query text.
        snippet: the offending line with a caret under the error (may be "").
    """

    def __init__(self, message: str = "", *, line: Optional[int] = None,
                 column: Optional[int] = None, offset: Optional[int] = None,
                 snippet: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.line = line
        self.column = column
        self.offset = offset
        self.snippet = snippet


class AmbiguousTagError(InvalidArgumentError):
    """A tag name that exists in several categories; qualify it.

    Attributes:
        candidates: the qualified names ("category:name") it could mean.
    """

    def __init__(self, message: str = "", *, candidates: Sequence[str] = (),
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.candidates: List[str] = list(candidates)


class NotFoundError(Error, KeyError):
    """An unknown name, key or id."""

    default_code = "NOT_FOUND"


class UnknownTagError(NotFoundError):
    """An unknown tag name or id.

    Attributes:
        name: the name that was not found (None for a stale tag id).
        suggestions: up to three close existing names ("did you mean").
    """

    def __init__(self, message: str = "", *, name: Optional[str] = None,
                 suggestions: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.name = name
        self.suggestions: List[str] = list(suggestions)


class UnknownAttributeError(NotFoundError):
    """An attribute that does not exist.

    Attributes:
        name: the attribute's name (or "attribute id <n>").
        suggestions: close existing names ("did you mean"), best first.
    """

    name: Optional[str] = None
    suggestions: List[str] = []


class UnknownCategoryError(NotFoundError):
    """An unknown category name (``.name``)."""

    name: Optional[str] = None


class UnknownCustomerError(NotFoundError):
    """A customer key or row id that is not a live customer.

    Attributes:
        name: the key as text (an int64 key in decimal) or "row <id>".
    """

    name: Optional[str] = None


class AlreadyExistsError(Error, ValueError):
    """A tag, category or attribute of that name already exists (``.name``)."""

    name: Optional[str] = None

    default_code = "ALREADY_EXISTS"


class ResourceExhaustedError(Error):
    """A limit of the index options was reached, or memory ran out."""

    default_code = "RESOURCE_EXHAUSTED"


class FailedPreconditionError(Error):
    """The call does not fit the index's current state."""

    default_code = "FAILED_PRECONDITION"


class OutOfRangeError(Error, IndexError):
    """A position past the end (a page, an offset)."""

    default_code = "OUT_OF_RANGE"


class CorruptionError(Error):
    """A corrupt index file, log or serialised blob (DataLoss)."""

    default_code = "DATA_LOSS"


class StorageError(Error, OSError):
    """Reading or writing index files failed."""

    default_code = "UNAVAILABLE"


class DeadlineExceededError(Error, TimeoutError):
    """An operation ran past its deadline."""

    default_code = "DEADLINE_EXCEEDED"


class CancelledError(Error):
    """An operation was cancelled."""

    default_code = "CANCELLED"


class UnimplementedError(Error, NotImplementedError):
    """The operation is not supported by this build."""

    default_code = "UNIMPLEMENTED"


class InternalError(Error, RuntimeError):
    """An internal invariant broke: a bug in tagindex (please report it)."""

    default_code = "INTERNAL"


_BY_CODE = {
    "CANCELLED": CancelledError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "DEADLINE_EXCEEDED": DeadlineExceededError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": AlreadyExistsError,
    "PERMISSION_DENIED": StorageError,
    "RESOURCE_EXHAUSTED": ResourceExhaustedError,
    "FAILED_PRECONDITION": FailedPreconditionError,
    "ABORTED": StorageError,
    "OUT_OF_RANGE": OutOfRangeError,
    "UNIMPLEMENTED": UnimplementedError,
    "INTERNAL": InternalError,
    "UNAVAILABLE": StorageError,
    "DATA_LOSS": CorruptionError,
}

# ErrorInfo kinds (include/tagindex/errors.h) -> the class they become.
# The class is chosen from the payload only, never from message text; a
# status without a payload falls back to its code (_BY_CODE).
_BY_KIND = {
    "query_syntax": QuerySyntaxError,
    "ambiguous_name": AmbiguousTagError,
    "unknown_tag": UnknownTagError,
    "unknown_attribute": UnknownAttributeError,
    "unknown_category": UnknownCategoryError,
    "unknown_customer": UnknownCustomerError,
    "corrupt_file": CorruptionError,
    "io": StorageError,
}


def _from_status(code: int, message: str, details: Optional[Mapping[str, Any]] = None
                 ) -> Error:
    """Builds (does not raise) the exception for a failed C++ status.

    ``details`` carries the decoded payloads: ``error`` (the ErrorInfo:
    kind, subject, path, offset, limit, detail, id, suggestions,
    candidates), ``location`` (line, column, offset, snippet) for errors
    about a place in a query text, and ``batch`` for a rejected WriteBatch.
    The class comes from ``error["kind"]`` (see ``_BY_KIND``); without one,
    from the status code. Messages are never parsed.
    """
    details = dict(details or {})
    code_name = _CODE_NAMES.get(code, "UNKNOWN")
    info = details.get("error") or {}
    kind = info.get("kind")
    cls = _BY_KIND.get(kind) if kind else None
    if cls is None or (cls is StorageError and code_name == "NOT_FOUND"):
        cls = _BY_CODE.get(code_name, Error)
    # A kind whose class does not fit the code (e.g. a deleted tag of a
    # compiled query is FAILED_PRECONDITION with kind unknown_tag) keeps the
    # code's class: the code is the contract of the call.
    if not issubclass(cls, _BY_CODE.get(code_name, Error)):
        cls = _BY_CODE.get(code_name, Error)
    kwargs: Dict[str, Any] = {"code": code_name, "details": details}
    if cls is UnknownTagError:
        kwargs["name"] = None if info.get("id") is not None else info.get("subject")
        kwargs["suggestions"] = info.get("suggestions") or []
    elif cls is AmbiguousTagError:
        kwargs["candidates"] = info.get("candidates") or []
    error = cls(message, **kwargs)
    if info:
        error.kind = kind
        error.subject = info.get("subject")
        error.path = info.get("path")
        error.limit = info.get("limit")
        if info.get("offset") is not None:
            error.offset = info.get("offset")
        if cls in (UnknownAttributeError, UnknownCategoryError, UnknownCustomerError,
                   AlreadyExistsError):
            error.name = info.get("subject")
        if cls is UnknownAttributeError:
            error.suggestions = info.get("suggestions") or []
    location = details.get("location")
    if location is not None:
        error.line = location.get("line")
        error.column = location.get("column")
        error.offset = location.get("offset")
        error.snippet = location.get("snippet", "")
    batch = details.get("batch")
    if batch is not None:
        error.item = batch.get("item")
        error.item_kind = batch.get("kind")
        error.subject = batch.get("subject")
        error.reason = batch.get("reason")
    return error
