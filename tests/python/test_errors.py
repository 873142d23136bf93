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


def test_not_found_subclasses_from_library_messages(index):
    with pytest.raises(tagindex.UnknownTagError) as e:
        index.tag("nope")
    assert isinstance(e.value, KeyError) and isinstance(e.value, tagindex.NotFoundError)
    assert e.value.name == "nope" and e.value.code == "NOT_FOUND"
    assert str(e.value) == 'index: unknown tag "nope"'  # not KeyError's repr
    with pytest.raises(tagindex.UnknownCategoryError):
        index.category("nope")
    with pytest.raises(tagindex.UnknownCustomerError):
        index.key_of(3)
    with pytest.raises(tagindex.UnknownTagError):
        index.add_tag(99, [1])


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
    built = _from_status(3, "bad", {"location": {"line": 2, "column": 3, "offset": 9,
                                                 "snippet": "x"}})
    assert type(built) is tagindex.QuerySyntaxError and built.line == 2 and built.offset == 9


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
    with pytest.raises(tagindex.ResourceExhaustedError, match="max_tags"):
        index.create_tag("c")


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
