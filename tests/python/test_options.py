"""Option structs bound once (issue #9 item 5): the fields, defaults and docs of
IndexOptions, OpenOptions and QueryOptions come from the C++ tables in
bindings/python/options_binding.cc; keyword arguments, signatures, stubs and
the pickler derive from them."""

import datetime
import inspect
import pathlib
import pickle

import pytest

import tagindex
from tagindex import _options, _tagindex
from tagindex._options import INDEX_FIELDS, OPEN_FIELDS, QUERY_FIELDS

# A non-default value for each kind of field (the enum ones by name).
_ENUM_OTHER = {"key_kind": "string", "sync": "none"}


def _other(field):
    if field.kind == "bool":
        return not field.default
    if field.kind == "int":
        return field.default + 3 if field.default + 3 <= field.max else field.default - 3
    if field.kind == "enum":
        return _ENUM_OTHER[field.name]
    if field.kind == "date":
        return 20000
    raise AssertionError(field)


def test_tables_name_every_field_of_the_cpp_structs():
    assert [f.name for f in INDEX_FIELDS] == [
        "key_kind", "create_missing_customers", "max_name_bytes", "max_name_code_points",
        "max_description_bytes", "max_string_key_bytes", "max_tags"]
    assert [f.name for f in OPEN_FIELDS] == [
        "create_if_missing", "read_only", "sync", "group_commit_interval_ms", "salvage_log",
        "max_tag_id_on_load", "max_log_record_bytes"]
    assert [f.name for f in QUERY_FIELDS] == [
        "max_query_bytes", "max_depth", "max_operands", "unknown_tags_are_empty",
        "rewrites", "today"]
    for f in INDEX_FIELDS + OPEN_FIELDS + QUERY_FIELDS:
        assert f.doc, f.name


@pytest.mark.parametrize("cpp_cls,table,dataclass", [
    (_tagindex._IndexOptions, INDEX_FIELDS, tagindex.IndexOptions),
    (_tagindex._OpenOptions, OPEN_FIELDS, None),
    (_tagindex._QueryOptions, QUERY_FIELDS, tagindex.QueryOptions),
])
def test_defaults_are_the_cpp_defaults(cpp_cls, table, dataclass):
    cpp_defaults = _options.from_cpp(cpp_cls(), table)
    assert {f.name: f.default for f in table} == cpp_defaults
    if dataclass is not None:
        assert dataclass() == dataclass(**cpp_defaults)
        for f in table:
            assert getattr(dataclass(), f.name) == cpp_defaults[f.name]
            assert f.name in dataclass.__doc__


def test_defaults_match_the_documented_header_values():
    # include/tagindex/options.h, storage.h, query.h (read by the C++ side).
    assert tagindex.IndexOptions() == tagindex.IndexOptions(
        key_kind="int64", create_missing_customers=True, max_name_bytes=256,
        max_name_code_points=64, max_description_bytes=4096, max_string_key_bytes=1024,
        max_tags=1 << 20)
    o = {f.name: f.default for f in OPEN_FIELDS}
    assert o == {"create_if_missing": False, "read_only": False, "sync": "every_write",
                 "group_commit_interval_ms": 2, "salvage_log": False,
                 "max_tag_id_on_load": 1 << 24, "max_log_record_bytes": 1 << 30}
    assert tagindex.QueryOptions() == tagindex.QueryOptions(65536, 64, 4096, False, True, None)


@pytest.mark.parametrize("cpp_cls,table", [
    (_tagindex._IndexOptions, INDEX_FIELDS), (_tagindex._OpenOptions, OPEN_FIELDS),
    (_tagindex._QueryOptions, QUERY_FIELDS)])
def test_every_field_round_trips_through_cpp(cpp_cls, table):
    for f in table:
        value = _other(f)
        back = _options.from_cpp(_options.to_cpp(cpp_cls, table, {f.name: value}, "t"), table)
        assert back[f.name] == value, f.name
        # Every other field stays at its default.
        assert all(back[g.name] == g.default for g in table if g is not f)


def test_query_rewrites_and_today_reach_cpp():
    o = _options.query_options({"rewrites": False, "today": datetime.date(2026, 12, 1)})
    assert not o.rewrites and o.today == (datetime.date(2026, 12, 1) -
                                          datetime.date(1970, 1, 1)).days
    assert _options.query_options({"today": "1970-01-11"}).today == 10
    assert _options.query_options({}) is None  # all defaults


@pytest.mark.parametrize("field", INDEX_FIELDS, ids=lambda f: f.name)
def test_every_index_option_round_trips_through_index_and_pickle(field, tmp_path):
    value = _other(field)
    if field.name == "max_tags":
        value = 5
    index = tagindex.Index(**{field.name: value})
    assert getattr(index.options, field.name) == value
    assert getattr(pickle.loads(pickle.dumps(index)).options, field.name) == value
    # The pre-snapshot pickle format (dict state) restores it too.
    from tagindex._pickle import index_state, restore_index
    assert getattr(restore_index(tagindex.Index, index_state(index)).options,
                   field.name) == value
    # A new persistent index keeps it, and a reopen reads it back.
    path = tmp_path / "idx"
    with tagindex.Index.open(path, **{field.name: value}, create_if_missing=True) as opened:
        assert getattr(opened.options, field.name) == value
    with tagindex.Index.open(path, create_if_missing=True) as reopened:
        assert getattr(reopened.options, field.name) == value


def test_old_pickle_state_without_a_new_field_gets_the_default():
    from tagindex._pickle import index_state, restore_index
    state = index_state(tagindex.Index("string", max_tags=9))
    del state["options"]["max_description_bytes"]  # a pickle from before that field
    o = restore_index(tagindex.Index, state).options
    assert o.key_kind == "string" and o.max_tags == 9
    assert o.max_description_bytes == tagindex.IndexOptions().max_description_bytes


def test_open_options_take_effect(tmp_path):
    path = tmp_path / "idx"
    with tagindex.Index.open(path, sync="none", group_commit_interval_ms=0, create_if_missing=True) as index:
        index.create_tag("a").add([1, 2])
    with tagindex.Index.open(path, read_only=True) as index:
        assert index.count("a") == 2
        with pytest.raises(tagindex.FailedPreconditionError):
            index.create_tag("b")
    with pytest.raises(tagindex.NotFoundError):
        tagindex.Index.open(tmp_path / "missing", create_if_missing=False)


def test_query_options_take_effect():
    index = tagindex.Index()
    index.create_tag("a").add([1, 2])
    assert index.count("a OR 没有", unknown_tags_are_empty=True) == 2
    with pytest.raises(tagindex.UnknownTagError):
        index.count("a OR 没有")
    with pytest.raises(tagindex.ResourceExhaustedError):
        index.count("a", max_query_bytes=0)
    q = index.compile("a AND a", rewrites=False, max_depth=9)
    assert "AND" in q.normal_form
    q2 = pickle.loads(pickle.dumps(q))  # options travel with a compiled query
    assert q2.normal_form == q.normal_form and q2.count() == 2


@pytest.mark.parametrize("call", [
    lambda: tagindex.Index(max_tag=3),
    lambda: tagindex.Index("int64", sync="none"),  # an open option, not an index one
    lambda: tagindex.Index.open("/nonexistent/never", max_tagz=1, create_if_missing=True),
    lambda: tagindex.Index().query("a", max_dept=3),
    lambda: tagindex.Index().count("a", rewrite=False),
    lambda: tagindex.Index().explain("a", today_=1),
    lambda: tagindex.Index().compile("a", bogus=1),
    lambda: tagindex.Index().snapshot().count("a", max_dept=3),
    lambda: tagindex.Index.from_dataframe(__import__("pandas").DataFrame({"k": [1]}), key="k",
                                          max_tag=1),
])
def test_unknown_keyword_is_a_clear_type_error(call):
    with pytest.raises(TypeError, match="unexpected keyword argument .*options are: "):
        call()


def test_bad_values_are_invalid_argument():
    with pytest.raises(tagindex.InvalidArgumentError, match="unknown key kind 'uuid'"):
        tagindex.Index("uuid")
    with pytest.raises(tagindex.InvalidArgumentError, match="unknown sync policy"):
        tagindex.Index.open("/nonexistent/never", sync="sometimes", create_if_missing=True)
    with pytest.raises(tagindex.InvalidArgumentError, match=r"max_tags must be an int in "
                                                            r"\[0, 4294967295\]"):
        tagindex.Index(max_tags=1 << 32)
    with pytest.raises(tagindex.InvalidArgumentError, match="max_depth"):
        tagindex.Index().count("a", max_depth=-1)
    with pytest.raises(tagindex.InvalidArgumentError, match="today"):
        tagindex.Index().count("a", today="yesterday")


def test_signatures_list_every_option_with_its_default():
    init = inspect.signature(tagindex.Index.__init__).parameters
    assert list(init) == ["self", "key_kind"] + [f.name for f in INDEX_FIELDS[1:]]
    opened = inspect.signature(tagindex.Index.open).parameters
    assert list(opened) == ["path"] + [f.name for f in OPEN_FIELDS + INDEX_FIELDS]
    for f in OPEN_FIELDS + INDEX_FIELDS:
        assert opened[f.name].default == f.default
    for cls in (tagindex.Index, tagindex.Snapshot):
        for method in ("query", "count", "explain", "compile"):
            params = inspect.signature(getattr(cls, method)).parameters
            assert list(params) == ["self", "text"] + [f.name for f in QUERY_FIELDS]


def test_generated_stub_blocks_are_current():
    stub = pathlib.Path(tagindex.__file__).with_name("__init__.pyi").read_text(encoding="utf-8")
    assert _options.render_stub(stub) == stub, \
        "run: python3 -m tagindex._options bindings/python/tagindex/__init__.pyi"
