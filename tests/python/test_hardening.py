"""Python edges of issue #13: inputs the C++ types cannot hold become tagindex
errors with a clear message, never pybind11 or codec errors, and nothing is
silently converted (a float position, an int among str keys, a path cut at a
NUL)."""

import inspect
import os

import pytest

import tagindex


@pytest.fixture
def index():
    ix = tagindex.Index()
    ix.add_customers([1, 2, 3])
    return ix


@pytest.mark.parametrize("value", [2**63, 2**64, -2**63 - 1, 2**70])
def test_integer_keys_outside_int64_are_invalid_argument(index, value):
    with pytest.raises(tagindex.InvalidArgumentError, match="does not fit in a signed 64-bit"):
        index.add_customers([5, value])
    with pytest.raises(tagindex.InvalidArgumentError, match="does not fit in a signed 64-bit"):
        index.add_customer(value)
    assert index.customer_count == 3  # nothing was added


def test_int64_bounds_themselves_are_keys(index):
    index.add_customers([2**63 - 1, -2**63])
    assert index.customer_count == 5


@pytest.mark.parametrize("keys,position", [([1, "x"], 1), ([1, 2, 3, "4"], 3)])
def test_mixed_int_and_str_keys_are_refused_by_position(index, keys, position):
    # numpy would have turned [1, "x"] into the strings "1" and "x".
    with pytest.raises(tagindex.InvalidArgumentError,
                       match=f"mixed key types: item 0 is a int but item {position} is a str"):
        index.add_customers(keys)
    tag = index.create_tag("t")
    with pytest.raises(tagindex.InvalidArgumentError, match="mixed key types"):
        tag.add(keys)
    assert index.customer_count == 3


def test_mixed_str_and_int_keys_are_refused_by_position():
    ix = tagindex.Index(key_kind="string")
    with pytest.raises(tagindex.InvalidArgumentError, match="mixed key types: item 1 is a int"):
        ix.add_customers(["a", 1])
    assert ix.customer_count == 0


def test_surrogates_in_keys_are_invalid_argument():
    ix = tagindex.Index(key_kind="string")
    with pytest.raises(tagindex.InvalidArgumentError, match="item 1 is not valid Unicode"):
        ix.add_customers(["ok", "a\udc80"])
    with pytest.raises(tagindex.InvalidArgumentError, match="invalid UTF-8"):
        ix.add_customer("a\udc80")
    assert ix.customer_count == 0


@pytest.mark.parametrize("position", [1.0, 1.7, "1", None])
def test_row_at_refuses_a_non_integer_position(index, position):
    segment = index.query("ALL")
    with pytest.raises(TypeError, match="row_at position must be an int"):
        segment.row_at(position)
    assert segment.row_at(1) == 1  # an int still works


def test_a_path_with_a_nul_byte_creates_nothing(tmp_path):
    prefix = tmp_path / "idx"
    with pytest.raises(tagindex.InvalidArgumentError, match="NUL byte at position"):
        tagindex.Index.open(str(prefix) + "\0rest", create_if_missing=True)
    assert not prefix.exists()
    with pytest.raises(tagindex.InvalidArgumentError, match="NUL byte"):
        tagindex.Index.open(os.fsencode(str(prefix)) + b"\0x", create_if_missing=True)
    assert not prefix.exists()


def test_checkpoint_of_an_in_memory_index_names_the_python_api(index):
    with pytest.raises(tagindex.FailedPreconditionError, match=r"tagindex\.Index\.open"):
        index.checkpoint()


def test_help_of_from_dataframe_documents_every_argument():
    doc = tagindex.Index.from_dataframe.__doc__
    assert "tagindex._import" not in doc  # the user's help, not a pointer to a private module
    params = [p for p in inspect.signature(tagindex.Index.from_dataframe).parameters
              if p != "cls"]
    for p in params:
        name = "**options" if p == "options" else p
        assert f"{name}:" in doc, f"help(Index.from_dataframe) lacks {name}"


# ---- one format for pickling and saving ----------------------------------------

def _state(ix):
    """Everything observable, with row ids: tags (id, category, name,
    members), every row's key (removed rows too), the next tag id."""
    tags = sorted((t.id, t.category, t.name, tuple(int(r) for r in t.rows()))
                  for t in ix.tags)
    keys = []
    for r in range(ix.row_id_limit):
        try:
            keys.append(ix.key_of(r))
        except tagindex.UnknownCustomerError:
            keys.append(None)  # a removed row
    return tags, keys


def test_pickle_is_the_snapshot_format_and_keeps_removed_rows_keys():
    import pickle
    ix = tagindex.Index(key_kind="string")
    # Names an old placeholder pickler would have collided with.
    ix.add_customers(["~tagindex-removed-row-0", "b", "c", "d"])
    ix.remove_customer("c")
    t = ix.create_tag("~tagindex-removed-tag-0")
    t.add(["b", "d"])
    gone = ix.create_tag("gone")
    gone.delete()
    ix.create_tag("kept", category="cat")
    blob = pickle.dumps(ix)
    assert b"TAGINDEX" in blob  # the snapshot's magic: one format
    back = pickle.loads(blob)
    assert _state(back) == _state(ix)
    assert back.row_id_limit == ix.row_id_limit == 4
    # The removed row stays removed; its key comes back on a fresh row in both.
    assert back.add_customer("c") == ix.add_customer("c") == 4
    assert back.create_tag("next").id == ix.create_tag("next").id  # the id counter too


def test_save_writes_a_directory_that_open_opens(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"user_id": [1, 2, 3], "vip": [True, False, True]})
    ix = tagindex.Index.from_dataframe(df, key="user_id", tags=["vip"])
    ix.remove_customer(2)
    ix.save(tmp_path / "saved")
    with tagindex.Index.open(tmp_path / "saved", create_if_missing=False) as opened:
        assert _state(opened) == _state(ix)
        assert opened.count("vip") == 2
    with pytest.raises(tagindex.AlreadyExistsError, match="already holds an index"):
        ix.save(tmp_path / "saved")
    with pytest.raises(tagindex.InvalidArgumentError, match="NUL byte"):
        ix.save(str(tmp_path / "x") + "\0y")


def test_an_oversized_query_is_refused_at_its_position(index):
    index.create_tag("VIP")
    # Three lines; the limit (20 bytes) falls on the third, at 值 (column 6 in code points).
    text = "VIP\nOR VIP\nOR 高价值客户" + " OR VIP" * 10_000
    with pytest.raises(tagindex.ResourceExhaustedError,
                       match=r"line 3, column 6: query is longer than the limit of 20 bytes") as e:
        index.count(text, max_query_bytes=20)
    assert (e.value.kind, e.value.limit) == ("limit", "QueryOptions::max_query_bytes")
    # A str of fewer code points than the limit but more UTF-8 bytes.
    with pytest.raises(tagindex.ResourceExhaustedError, match="longer than the limit of 8 bytes"):
        index.count("高价值客户", max_query_bytes=8)   # 5 code points, 15 bytes
    # Every query entry point, the snapshot's too.
    snap = index.snapshot()
    for call in (index.query, index.count, index.explain, index.compile, snap.query, snap.count):
        with pytest.raises(tagindex.ResourceExhaustedError, match="max_query_bytes"):
            call("VIP OR VIP", max_query_bytes=4)
    with pytest.raises(TypeError, match="query: expected a str, got int"):
        index.count(5)
    # Text with a lone surrogate still reaches the library's UTF-8 check.
    with pytest.raises(tagindex.InvalidArgumentError, match="invalid UTF-8"):
        index.count("VIP OR \udc80")
    assert index.count("VIP OR VIP") == 0


_BOUNDED_QUERY_CHILD = r"""
import resource, sys
import tagindex
index = tagindex.Index()
index.add_customers([1, 2, 3])
index.create_tag("VIP")
text = "é" * (128 << 20)       # 128 Mi code points: 128 MiB as a str, 256 MiB as UTF-8
def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
limit = vm_bytes() + (48 << 20)   # far less than one UTF-8 copy of the text
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    index.count(text)
except tagindex.ResourceExhaustedError as e:
    print("refused", e.limit)
"""


def test_an_oversized_query_is_refused_before_it_is_copied():
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-c", _BOUNDED_QUERY_CHILD], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "refused QueryOptions::max_query_bytes"


def test_open_creates_only_when_asked(tmp_path):
    path = tmp_path / "idx"
    with pytest.raises(tagindex.NotFoundError, match="create_if_missing"):
        tagindex.Index.open(path)
    assert not path.exists()
    path.mkdir()
    with pytest.raises(tagindex.NotFoundError):
        tagindex.Index.open(path)
    assert list(path.iterdir()) == []          # nothing left behind, not even a LOCK
    with tagindex.Index.open(path, create_if_missing=True) as index:
        index.add_customers([1, 2])
    with tagindex.Index.open(path) as index:   # an index now: opens without the flag
        assert index.customer_count == 2
    # Its snapshot removed: never silently a new, empty index.
    for snapshot in path.glob("snapshot-*"):
        snapshot.unlink()
    with pytest.raises(tagindex.CorruptionError, match="held a tagindex index"):
        tagindex.Index.open(path, create_if_missing=True)
    # A directory of someone else's files is not an index to create.
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(tagindex.FailedPreconditionError, match="is not empty"):
        tagindex.Index.open(other, create_if_missing=True)
    # The sharded index follows the same rule.
    with pytest.raises(tagindex.NotFoundError):
        tagindex.ShardedIndex.open(tmp_path / "sharded")
    with tagindex.ShardedIndex.open(tmp_path / "sharded", shards=2, create_if_missing=True) as s:
        assert s.shard_count == 2


_HUGE_ROWS_CHILD = r"""
import resource
import numpy as np
import tagindex
index = tagindex.Index()
index.add_customers(np.arange(8_000_000, dtype=np.int64))
segment = index.all_customers()
small = segment.rows_after(None, 10)          # allocated before the limit
def vm_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
limit = vm_bytes() + (4 << 20)   # 32 MB of row ids cannot fit
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
# The heap may hold free memory from the build (reused without new address
# space, so the limit would not bite): take it all, then give 2 MiB back.
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
held = []
for size in (1 << 20, 4096):
    while True:
        p = libc.malloc(size)
        if not p:
            break
        held.append(p)
for p in held[:2]:
    libc.free(p)
try:
    segment.to_numpy()
    print("allocated")
except tagindex.ResourceExhaustedError as e:
    print("refused", e.kind)
except MemoryError:
    print("bare MemoryError")
print("small", list(segment.rows_after(None, 10)) == list(small) == list(range(10)))
"""


def test_rows_of_a_huge_segment_raise_the_tagindex_out_of_memory_error():
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-c", _HUGE_ROWS_CHILD], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["refused out_of_memory", "small True"], p.stdout
