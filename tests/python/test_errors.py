"""The exception hierarchy and the one status -> exception translator."""

import pickle

import pytest

import tagindex
from tagindex import _tagindex

# absl::StatusCode -> expected class and built-in base.
CODES = [
    (1, tagindex.CancelledError, Exception),
    (2, tagindex.Error, Exception),
    (3, tagindex.InvalidArgumentError, ValueError),
    (4, tagindex.DeadlineExceededError, TimeoutError),
    (5, tagindex.NotFoundError, KeyError),
    (6, tagindex.AlreadyExistsError, ValueError),
    (7, tagindex.StorageError, OSError),
    (8, tagindex.ResourceExhaustedError, Exception),
    (9, tagindex.FailedPreconditionError, Exception),
    (10, tagindex.StorageError, OSError),
    (11, tagindex.OutOfRangeError, IndexError),
    (12, tagindex.UnimplementedError, NotImplementedError),
    (13, tagindex.InternalError, RuntimeError),
    (14, tagindex.StorageError, OSError),
    (15, tagindex.CorruptionError, Exception),
]


@pytest.mark.parametrize("code,cls,builtin", CODES, ids=[c[1].__name__ + str(c[0])
                                                         for c in CODES])
def test_every_code_maps_to_its_class(code, cls, builtin):
    e = _tagindex._error_for_testing(code, "component: context: problem")
    assert type(e) is cls
    assert isinstance(e, tagindex.Error) and isinstance(e, builtin)
    assert str(e) == "component: context: problem"
    assert e.message == "component: context: problem"


def test_not_found_subclasses_from_library_payloads(index):
    with pytest.raises(tagindex.UnknownTagError) as e:
        index.tag("nope")
    assert isinstance(e.value, KeyError) and isinstance(e.value, tagindex.NotFoundError)
    assert e.value.name == "nope" and e.value.code == "NOT_FOUND"
    assert e.value.kind == "unknown_tag" and e.value.subject == "nope"
    assert str(e.value) == 'index: unknown tag "nope"'  # not KeyError's repr
    with pytest.raises(tagindex.UnknownCategoryError) as e:
        index.category("无此类")
    assert (e.value.kind, e.value.name, e.value.subject) == ("unknown_category", "无此类", "无此类")
    with pytest.raises(tagindex.UnknownCustomerError) as e:
        index.key_of(3)
    assert (e.value.kind, e.value.name) == ("unknown_customer", "row 3")
    with pytest.raises(tagindex.UnknownCustomerError) as e:
        index.row_of(12345)
    assert (e.value.kind, e.value.name) == ("unknown_customer", "12345")
    with pytest.raises(tagindex.UnknownTagError) as e:
        index.add_tag(99, [1])
    assert e.value.name is None and e.value.subject == "tag id 99"  # a stale id, not a name


def test_class_comes_from_the_payload_never_the_message():
    # A message that reads like an unknown tag, without a payload: the code decides.
    e = _tagindex._error_for_testing(5, 'index: unknown tag "x"; did you mean "y"?')
    assert type(e) is tagindex.NotFoundError and e.kind is None
    e = _tagindex._error_for_testing(3, 'tag name "x" is in several categories')
    assert type(e) is tagindex.InvalidArgumentError
    # The payload decides, whatever the message says.
    e = _tagindex._error_for_testing(5, "anything", "unknown_tag", "高价值")
    assert type(e) is tagindex.UnknownTagError and e.name == "高价值" and e.kind == "unknown_tag"
    e = _tagindex._error_for_testing(5, "anything", "unknown_customer", "row 3")
    assert type(e) is tagindex.UnknownCustomerError and e.name == "row 3"
    e = _tagindex._error_for_testing(14, "anything", "io", "db/wal-1.log")
    assert type(e) is tagindex.StorageError and e.subject == "db/wal-1.log"
    e = _tagindex._error_for_testing(15, "anything", "corrupt_file", "db/snapshot-1.tix")
    assert type(e) is tagindex.CorruptionError
    # A kind this version does not know: the code's class, the kind kept.
    e = _tagindex._error_for_testing(9, "anything", "frozen", "x")
    assert type(e) is tagindex.FailedPreconditionError and e.kind == "frozen"


def test_each_family_class_and_attributes(index, tmp_path):
    index.create_tag("运动", "兴趣")
    index.create_tag("运动", "品类")
    index.create_tag("VIP")
    with pytest.raises(tagindex.AmbiguousTagError) as e:
        index.tag("运动")
    assert e.value.kind == "ambiguous_name" and e.value.subject == "运动"
    assert e.value.candidates == ["兴趣:运动", "品类:运动"]
    with pytest.raises(tagindex.AmbiguousTagError) as e:
        index.count("运动 OR VIP")
    assert e.value.candidates == ["兴趣:运动", "品类:运动"] and e.value.column == 1
    with pytest.raises(tagindex.UnknownTagError) as e:
        index.count("VIP AND VIPP")
    assert (e.value.name, e.value.suggestions, e.value.offset) == ("VIPP", ["VIP"], 8)
    with pytest.raises(tagindex.QuerySyntaxError) as e:
        index.count("VIP AND )")
    assert (e.value.kind, e.value.subject, e.value.line, e.value.column) == (
        "query_syntax", ")", 1, 9)
    assert "\n" not in e.value.message and e.value.snippet.endswith("^")
    with pytest.raises(tagindex.UnknownAttributeError) as e:
        index.count("颜色 = 红")
    assert e.value.kind == "unknown_attribute" and e.value.name == "颜色"
    with pytest.raises(tagindex.AlreadyExistsError) as e:
        index.create_tag("VIP")
    assert (e.value.kind, e.value.name) == ("already_exists", "VIP")
    with pytest.raises(tagindex.InvalidArgumentError) as e:
        index.create_tag("   ")
    assert e.value.kind == "bad_name"
    with pytest.raises(tagindex.InvalidArgumentError) as e:
        index.add_customer("not an int")
    assert (e.value.kind, e.value.subject) == ("bad_key", "not an int")
    with pytest.raises(tagindex.ResourceExhaustedError) as e:
        index.count("VIP OR VIP", max_query_bytes=4)
    assert (e.value.kind, e.value.limit) == ("limit", "QueryOptions::max_query_bytes")
    # Storage: busy, missing directory, corrupt snapshot.
    db = tmp_path / "db"
    first = tagindex.Index.open(db, create_if_missing=True)
    with pytest.raises(tagindex.FailedPreconditionError) as e:
        tagindex.Index.open(db, create_if_missing=True)
    assert e.value.kind == "busy" and e.value.path == str(db / "LOCK")
    first.close()
    with pytest.raises(tagindex.NotFoundError) as e:
        tagindex.Index.open(tmp_path / "none", create_if_missing=False)
    assert e.value.kind == "not_found" and e.value.subject == str(tmp_path / "none")
    snapshot = next(db.glob("snapshot-*.tix"))
    data = bytearray(snapshot.read_bytes())
    data[40] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    with pytest.raises(tagindex.CorruptionError) as e:
        tagindex.Index.open(db, create_if_missing=True)
    assert e.value.kind == "corrupt_file" and e.value.path == str(snapshot)
    assert isinstance(e.value.offset, int)


def test_unknown_tag_suggestions(index):
    for name in ["高价值客户", "高频", "低频", "电子产品"]:
        index.create_tag(name)
    with pytest.raises(tagindex.UnknownTagError) as e:
        index.tag("高价值客")
    assert "高价值客户" in e.value.suggestions
    with pytest.raises(KeyError):
        index["电子产"]


def test_suggestions_with_quotes_in_names(index):
    index.create_tag('say "hi"')
    with pytest.raises(tagindex.UnknownTagError) as e:
        index.tag('say "hi')
    assert e.value.suggestions == ['say "hi"']


def test_query_syntax_error_attributes():
    e = tagindex.QuerySyntaxError("query: line 1, column 5: unexpected ')'", line=1, column=5,
                                  offset=4, snippet="A AND )\n    ^")
    assert isinstance(e, tagindex.Error) and isinstance(e, ValueError)
    assert (e.line, e.column, e.offset) == (1, 5, 4)
    assert e.snippet.endswith("^")
    from tagindex._errors import _from_status
    # The class comes from the ErrorInfo kind; the location fills the attributes.
    built = _from_status(3, "bad", {"error": {"kind": "query_syntax", "subject": ")"},
                                    "location": {"line": 2, "column": 3, "offset": 9,
                                                 "snippet": "x"}})
    assert type(built) is tagindex.QuerySyntaxError and built.line == 2 and built.offset == 9
    # A location alone (no kind) does not make a syntax error: e.g. an
    # unknown tag in a query has a location too.
    plain = _from_status(3, "bad", {"location": {"line": 1, "column": 1, "offset": 0}})
    assert type(plain) is tagindex.InvalidArgumentError and plain.line == 1


def test_errors_pickle():
    e = tagindex.UnknownTagError("index: unknown tag \"x\"", name="x", suggestions=["y"],
                                 code="NOT_FOUND")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is tagindex.UnknownTagError
    assert back.suggestions == ["y"] and back.name == "x" and str(back) == str(e)
    q = pickle.loads(pickle.dumps(tagindex.QuerySyntaxError("m", line=1, column=2, offset=1)))
    assert (q.line, q.column, q.offset) == (1, 2, 1)


def test_resource_exhausted_from_limit():
    index = tagindex.Index(max_tags=2)
    index.create_tag("a")
    index.create_tag("b")
    with pytest.raises(tagindex.ResourceExhaustedError, match="max_tags") as e:
        index.create_tag("c")
    assert (e.value.kind, e.value.subject, e.value.limit) == (
        "limit", "IndexOptions::max_tags", "IndexOptions::max_tags")


def test_every_public_error_is_exported():
    from tagindex import _errors
    for name in _errors.__all__:
        assert getattr(tagindex, name) is getattr(_errors, name)
        assert issubclass(getattr(tagindex, name), tagindex.Error)


def test_query_habits_and_every_unknown_name():
    """IME full-width punctuation and SQL habits are named with what to
    write; every unknown name of a query is listed (habits.h)."""
    idx = tagindex.Index()
    idx.add_customers([1, 2, 3])
    idx.create_category("城市", exclusive=True)
    idx.create_tag("杭州", category="城市").add([2, 3])
    idx.create_tag("高价值客户").add([1, 2])
    with pytest.raises(tagindex.QuerySyntaxError) as e:
        idx.count("城市 == 杭州")
    assert '"==" is not an operator' in str(e.value) and e.value.column == 4
    with pytest.raises(tagindex.QuerySyntaxError) as e:
        idx.count("高价值客户 ＡＮＤ 城市 = 杭州")
    assert "write AND" in str(e.value)
    with pytest.raises(tagindex.NotFoundError) as e:
        idx.count("城市 = '杭州'")
    assert "single quotes" in str(e.value) and 'did you mean "杭州"?' in str(e.value)
    with pytest.raises(tagindex.UnknownTagError) as e:
        idx.count("高价值 AND 电子 OR 城市 IN (上海, 杭州)")
    msg = str(e.value)
    assert e.value.name == "高价值"
    assert 'also unknown: "电子" (column 9), "上海" (column 22)' in msg
    # A tag really named with full-width punctuation works as written.
    idx.create_tag("会员（金卡）").add([3])
    assert idx.count("会员（金卡） OR 高价值客户") == 3
