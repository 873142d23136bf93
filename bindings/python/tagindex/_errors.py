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
    │   ├── UnknownAttributeError
    │   ├── UnknownCategoryError
    │   └── UnknownCustomerError
    ├── AlreadyExistsError (ValueError)
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

import re
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
    """A query names an attribute that does not exist."""


class UnknownCategoryError(NotFoundError):
    """An unknown category name."""


class UnknownCustomerError(NotFoundError):
    """A customer key or row id that is not a live customer."""


class AlreadyExistsError(Error, ValueError):
    """A tag or category of that name already exists."""

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

# A name as the C++ library quotes it: "..." with \" and \\ escaped.
_QUOTED = r'"((?:[^"\\]|\\.)*)"'
_UNKNOWN_TAG = re.compile(r"unknown tag " + _QUOTED)
_STALE_TAG_ID = re.compile(r"\btag id \d+ not found")
_DID_YOU_MEAN = re.compile(r"did you mean ([^\n]*)\?")
_UNKNOWN_ATTRIBUTE = re.compile(r"unknown attribute " + _QUOTED)
_UNKNOWN_CATEGORY = re.compile(r"\bcategory " + _QUOTED + " not found")
_UNKNOWN_CUSTOMER = re.compile(
    r"\bcustomer key .* not found|\brow \d+ is not a live customer|not live customers")
_AMBIGUOUS_TAG = re.compile(r"tag name " + _QUOTED + r" is in several categories")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _quoted_list(text: str) -> List[str]:
    return [_unquote(m.group(1)) for m in re.finditer(_QUOTED, text)]


def _candidates(rest: str) -> List[str]:
    """The names after "qualify it as one of", quoted or not."""
    line = rest.split("\n")[0]
    quoted = _quoted_list(line)
    if quoted:
        return quoted
    _, sep, names = line.partition("one of ")
    return [n.strip() for n in names.split(", ") if n.strip()] if sep else []


def _from_status(code: int, message: str, details: Optional[Mapping[str, Any]] = None
                 ) -> Error:
    """Builds (does not raise) the exception for a failed C++ status.

    ``details`` may carry decoded structured payloads: ``location`` (a dict
    with line, column, offset, snippet) for query syntax errors and
    ``suggestions`` / ``name`` for unknown tags; classification falls back to
    the library's documented message forms.
    """
    details = dict(details or {})
    code_name = _CODE_NAMES.get(code, "UNKNOWN")
    common = {"code": code_name, "details": details}

    error = _classify(code_name, message, details, common)
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


def _classify(code_name: str, message: str, details: Dict[str, Any],
              common: Dict[str, Any]) -> Error:
    if code_name == "INVALID_ARGUMENT":
        m = _AMBIGUOUS_TAG.search(message)
        if m:
            return AmbiguousTagError(message, candidates=_candidates(message[m.end():]),
                                     **common)
        if details.get("location") is not None:
            return QuerySyntaxError(message, **common)
        return InvalidArgumentError(message, **common)

    if code_name == "NOT_FOUND":
        m = _UNKNOWN_TAG.search(message)
        if m or "suggestions" in details:
            suggestions = details.get("suggestions")
            if suggestions is None and m:
                hint = _DID_YOU_MEAN.search(message, m.end())
                suggestions = _quoted_list(hint.group(1)) if hint else []
            return UnknownTagError(message, name=_unquote(m.group(1)) if m else None,
                                   suggestions=suggestions or [], **common)
        if _STALE_TAG_ID.search(message):
            return UnknownTagError(message, **common)
        if _UNKNOWN_ATTRIBUTE.search(message):
            return UnknownAttributeError(message, **common)
        if _UNKNOWN_CATEGORY.search(message):
            return UnknownCategoryError(message, **common)
        if _UNKNOWN_CUSTOMER.search(message):
            return UnknownCustomerError(message, **common)
        return NotFoundError(message, **common)

    return _BY_CODE.get(code_name, Error)(message, **common)
