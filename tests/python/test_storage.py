"""Persistent indexes (Index.open, checkpoint, recovery) and the portable
Roaring format in and out."""

import os
import pathlib
import pickle

import numpy as np
import pytest

import tagindex

# ../shared/testdata from the repository root (TAGINDEX_TESTDATA overrides).
TESTDATA = pathlib.Path(os.environ.get(
    "TAGINDEX_TESTDATA",
    pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "testdata"))


def _fill(index):
    index.create_category("购买频率", exclusive=True)
    vip = index.create_tag("高价值客户", description="近一年消费 > 10万")
    high = index.create_tag("高频", "购买频率")
    vip.add(range(1000, 1100))
    high.add(range(1050, 1200))
    index.remove_customer(1199)
    return vip, high


def _state(index):
    return ([(t.qualified_name, t.rows().tolist(), t.keys().tolist()) for t in index.tags],
            index.live_rows().tolist(), index.row_id_limit, index.categories)


def test_open_mutate_reopen(tmp_path):
    path = tmp_path / "tags"
    with tagindex.Index.open(path, create_if_missing=True) as index:
        assert index.persistent and "persistent" in repr(index)
        _fill(index)
        before = _state(index)
    assert "closed" in repr(index)
    with tagindex.Index.open(str(path), create_if_missing=True) as again:
        assert _state(again) == before  # replayed from the log
        assert again.last_recovery.log_records_replayed > 0
        again.checkpoint()
    with tagindex.Index.open(path, create_if_missing=True) as third:
        assert _state(third) == before  # loaded from the snapshot
        assert third.last_recovery.log_records_replayed == 0
        assert third.last_recovery.generation > 0
        assert third.count("高价值客户 AND NOT 购买频率 = 高频") == 50


@pytest.mark.parametrize("sync", ["every_write", "group_commit", "none"])
def test_sync_policies(tmp_path, sync):
    with tagindex.Index.open(tmp_path / sync, sync=sync, key_kind="string", create_if_missing=True) as index:
        index.create_tag("t").add(["a", "b"])
    with tagindex.Index.open(tmp_path / sync, create_if_missing=True) as index:
        assert index.key_kind == "string"  # stored options win
        assert index.tag("t").keys().tolist() == ["a", "b"]


def test_bad_open_arguments(tmp_path):
    with pytest.raises(tagindex.InvalidArgumentError, match="sync policy"):
        tagindex.Index.open(tmp_path / "x", sync="sometimes", create_if_missing=True)
    with pytest.raises(tagindex.NotFoundError):
        tagindex.Index.open(tmp_path / "missing", create_if_missing=False)


def test_directory_lock_and_read_only(tmp_path):
    path = tmp_path / "tags"
    writer = tagindex.Index.open(path, create_if_missing=True)
    _fill(writer)
    with pytest.raises(tagindex.FailedPreconditionError):
        tagindex.Index.open(path, create_if_missing=True)
    with tagindex.Index.open(path, read_only=True) as reader:
        assert reader.tag("高价值客户").count == 100
        with pytest.raises(tagindex.FailedPreconditionError):
            reader.create_tag("x")
        with pytest.raises(tagindex.FailedPreconditionError):
            reader.checkpoint()
    writer.close()
    writer.close()  # twice is fine
    with pytest.raises(tagindex.FailedPreconditionError, match="closed"):
        writer.tag_count
    with tagindex.Index.open(path, create_if_missing=True) as again:  # the lock went with the index
        assert again.tag_count == 2


def test_checkpoint_of_in_memory_index_fails(index):
    with pytest.raises(tagindex.FailedPreconditionError):
        index.checkpoint()
    assert not index.persistent
    assert index.last_recovery == tagindex.RecoveryReport()


def test_corrupt_files_raise_corruption_error(tmp_path):
    path = tmp_path / "tags"
    with tagindex.Index.open(path, create_if_missing=True) as index:
        _fill(index)
        index.checkpoint()
    snapshots = [p for p in path.iterdir() if p.suffix == ".tix"]
    assert snapshots, list(path.iterdir())
    data = bytearray(snapshots[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    snapshots[0].write_bytes(bytes(data))
    with pytest.raises(tagindex.CorruptionError) as e:
        tagindex.Index.open(path, create_if_missing=True)
    assert snapshots[0].name in str(e.value)


def test_tag_export_import_round_trip(index):
    vip, high = _fill(index)
    blob = vip.to_portable()
    assert isinstance(blob, bytes)
    copy = index.import_tag("高价值客户副本", blob, "复制", description="copy")
    assert copy.rows().tolist() == vip.rows().tolist()
    assert copy.category == "复制" and copy.description == "copy"
    assert np.array_equal(tagindex.parse_portable_rows(blob), vip.rows())
    rows = np.array([5, 1, 3, 3], dtype=np.uint32)
    assert tagindex.parse_portable_rows(tagindex.export_rows(rows)).tolist() == [1, 3, 5]
    with pytest.raises(tagindex.ResourceExhaustedError):
        tagindex.parse_portable_rows(blob, max_ids=10)
    with pytest.raises(tagindex.CorruptionError):
        index.import_tag("坏", blob[:-1])
    gone = tagindex.export_rows([10**6])
    with pytest.raises(tagindex.UnknownCustomerError):
        index.import_tag("不在", gone)
    with pytest.raises(tagindex.UnknownTagError):
        index.tag("不在")  # nothing was created


@pytest.mark.skipif(not TESTDATA.is_dir(),
                    reason=f"shared test data not present at {TESTDATA} "
                           "(clone ../shared beside the repository or set TAGINDEX_TESTDATA)")
def test_standard_portable_files_from_other_implementations():
    spec = TESTDATA / "roaring-format-spec"
    for name in ["bitmapwithoutruns.bin", "bitmapwithruns.bin"]:
        rows = tagindex.parse_portable_rows((spec / name).read_bytes())
        assert len(rows) == 200_100 and rows[0] == 0 and rows[-1] == 799_999
        assert np.all(rows[:100] == np.arange(0, 100_000, 1000))
    offset = tagindex.parse_portable_rows((TESTDATA / "croaring" / "addoffsetinput.bin")
                                          .read_bytes())
    assert len(offset) == 933_468 and offset[-1] == 939_335
    for i in range(1, 8):
        blob = (TESTDATA / "croaring" / f"crashproneinput{i}.bin").read_bytes()
        with pytest.raises((tagindex.CorruptionError, tagindex.ResourceExhaustedError)):
            tagindex.parse_portable_rows(blob)


def test_pickle_of_a_persistent_index_is_in_memory(tmp_path):
    with tagindex.Index.open(tmp_path / "tags", create_if_missing=True) as index:
        _fill(index)
        copy = pickle.loads(pickle.dumps(index))
        assert not copy.persistent
        assert _state(copy) == _state(index)
