"""Snapshots (issue #11) and fork safety from Python."""

import multiprocessing
import threading

import pytest

import tagindex


def _shop(index):
    vip = index.create_tag("高价值客户")
    churn = index.create_tag("流失风险")
    vip.add(list(range(100)))
    churn.add(list(range(50, 150)))
    return vip, churn


def test_snapshot_answers_as_of_its_moment():
    index = tagindex.Index()
    vip, churn = _shop(index)
    snap = index.snapshot()
    before = snap.count("高价值客户 AND NOT 流失风险")
    assert before == 50
    vip.add(list(range(1000, 1100)))
    index.remove_customer(10)
    churn.remove(list(range(50, 100)))
    # The index moved on; the snapshot did not.
    assert index.count("高价值客户 AND NOT 流失风险") == 199
    assert snap.count("高价值客户 AND NOT 流失风险") == before
    assert snap.customer_count == 150
    assert snap.find_customer(10) == 10
    assert snap.key_of(10) == 10
    seg = snap.query("高价值客户")
    assert len(seg) == 100 and 10 in set(seg.keys())
    assert snap.compile("流失风险").count() == 100
    assert snap.sequence < index.snapshot().sequence
    assert ("", "高价值客户") in snap.tag_names()


def test_snapshot_and_segment_outlive_a_closed_index(tmp_path):
    index = tagindex.Index.open(tmp_path / "idx")
    _shop(index)
    snap = index.snapshot()
    seg = index.query("高价值客户")
    index.close()
    assert snap.count("高价值客户") == 100
    assert sorted(seg.keys())[:3] == [0, 1, 2]


def test_readers_in_threads_see_whole_batches():
    index = tagindex.Index()
    a = index.create_tag("a")
    b = index.create_tag("b")
    stop = threading.Event()
    bad = []

    def reader():
        while not stop.is_set():
            snap = index.snapshot()
            # The writer moves customers from a to b in one batch.
            if snap.count("a OR b") != 200 or snap.count("a AND b") != 0:
                bad.append(snap.sequence)

    a.add(list(range(200)))
    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(200):
        batch = tagindex.WriteBatch(index)
        batch.untag(a, [i])
        batch.tag(b, [i])
        index.write(batch)
    stop.set()
    for t in threads:
        t.join()
    assert bad == []
    assert index.count("b") == 200


def _child_uses_inherited(index, queue):
    results = []
    for call in (lambda: index.create_tag("x"), lambda: index.count("高价值客户"),
                 lambda: index.checkpoint()):
        try:
            call()
            results.append("ok")
        except tagindex.FailedPreconditionError as e:
            results.append("FailedPrecondition: " + str(e))
        except Exception as e:  # noqa: BLE001 (report anything else)
            results.append(type(e).__name__ + ": " + str(e))
    queue.put(results)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs the fork start method")
def test_fork_child_cannot_use_the_parents_index(tmp_path):
    path = tmp_path / "idx"
    index = tagindex.Index.open(path)
    _shop(index)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_uses_inherited, args=(index, queue))
    child.start()
    results = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert len(results) == 3
    for r in results:
        assert r.startswith("FailedPrecondition") and "fork" in r, r
    # The parent's index is intact: it writes, checkpoints and reopens.
    index.create_tag("after")
    index.checkpoint()
    with pytest.raises(tagindex.FailedPreconditionError):
        tagindex.Index.open(path)  # still locked by the parent
    index.close()
    with tagindex.Index.open(path) as again:
        assert again.count("高价值客户 AND NOT 流失风险") == 50
        assert again.tag("after") is not None


def test_backup_while_a_thread_writes_is_one_committed_prefix(tmp_path):
    index = tagindex.Index.open(tmp_path / "live", sync="none")
    t = index.create_tag("t")
    n = 20000
    done = threading.Event()
    errors = []

    def writer():
        try:
            for i in range(n):
                t.add([i])  # customer i is created and tagged in one commit
                if i % 5000 == 4999:
                    index.checkpoint()  # writes go on through checkpoints too
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    th = threading.Thread(target=writer)
    th.start()
    seen = []
    j = 0
    while not done.is_set() or j < 2:
        path = tmp_path / f"backup-{j}"
        index.backup(path)
        copy = tagindex.Index.open(path)
        keys = sorted(copy.query("t").keys())
        # The oracle: customers 0..k-1, all tagged, for some k.
        assert keys == list(range(len(keys))), f"backup {j} is not a prefix"
        assert copy.customer_count == len(keys)
        seen.append(len(keys))
        copy.close()
        j += 1
    th.join()
    assert not errors
    assert seen == sorted(seen)  # backups never go back in time
    with pytest.raises(tagindex.AlreadyExistsError):
        index.backup(tmp_path / "backup-0")
    final = tmp_path / "final"
    index.backup(final)
    assert tagindex.Index.open(final).count("t") == n
