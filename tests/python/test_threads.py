"""Threads: queries from several Python threads while another writes, and
proof that the GIL is released inside long C++ calls."""

import sys
import threading
import time

import numpy as np
import pytest

import tagindex


def test_readers_and_a_writer():
    index = tagindex.Index()
    index.create_category("tier", exclusive=True)
    gold = index.create_tag("gold", "tier")
    silver = index.create_tag("silver", "tier")
    everyone = index.create_tag("everyone")
    n = 20_000
    index.add_customers(np.arange(n, dtype=np.int64))
    everyone.add(rows=np.arange(n, dtype=np.uint32))
    errors = []
    stop = threading.Event()

    def writer():
        rng = np.random.default_rng(1)
        try:
            for i in range(300):
                batch = rng.choice(n, size=500, replace=False).astype(np.int64)
                (gold if i % 2 else silver).add(batch)
                if i % 7 == 0:
                    index.add_customers(np.arange(n + i * 10, n + i * 10 + 10, dtype=np.int64))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            stop.set()

    def reader(seed):
        # Each check reads one snapshot (one call): two separate calls may see
        # different states, as the writer keeps moving customers.
        rng = np.random.default_rng(seed)
        seen_customers = 0
        try:
            while not stop.is_set():
                g = gold.rows()
                assert np.all(np.diff(g.astype(np.int64)) > 0)
                assert len(g) <= n and len(everyone) == n
                customers = len(index)
                assert customers >= seen_customers  # the writer only adds
                seen_customers = customers
                key = int(rng.integers(n))
                held = {t.id for t in index.tags_of(key)}
                assert everyone.id in held
                assert not {gold.id, silver.id} <= held  # exclusive category
                assert index.has_tag(everyone, key)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert len(gold) + len(silver) <= n


@pytest.fixture
def no_preemption():
    """Makes the interpreter switch threads only when the GIL is released
    explicitly, so progress of another thread during a C++ call proves the
    call released the GIL."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    yield
    sys.setswitchinterval(old)


def _repeat_for(seconds, call):
    """Calls `call` again and again for at least `seconds` (so the other
    thread's timer surely fires while the main thread is in C++)."""
    def run():
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            call()
    return run


def _progress_during(call):
    ticks = [0]
    running = threading.Event()
    done = threading.Event()

    def ticker():
        running.set()
        while not done.is_set():
            ticks[0] += 1
            done.wait(0.0005)  # releases the GIL

    t = threading.Thread(target=ticker)
    t.start()
    running.wait()
    before = ticks[0]
    call()
    after = ticks[0]
    done.set()
    t.join()
    return after - before


def test_long_calls_release_the_gil(no_preemption):
    index = tagindex.Index()
    keys = np.arange(3_000_000, dtype=np.int64) * 7
    progress = [_progress_during(lambda: index.add_customers(keys))]
    t = index.create_tag("t")
    progress.append(_progress_during(_repeat_for(0.2, lambda: t.add(keys[::2]))))
    progress.append(_progress_during(_repeat_for(0.2, lambda: t.keys())))
    assert all(p > 0 for p in progress), progress


def test_queries_from_many_threads_while_one_writes():
    index = tagindex.Index()
    index.create_category("tier", exclusive=True)
    gold = index.create_tag("gold", "tier")
    silver = index.create_tag("silver", "tier")
    vip = index.create_tag("vip")
    n = 50_000
    index.add_customers(np.arange(n, dtype=np.int64))
    vip.add(np.arange(0, n, 3, dtype=np.int64))
    compiled = index.compile("tier = gold OR tier = silver")
    errors = []
    stop = threading.Event()
    counts = []

    def writer():
        rng = np.random.default_rng(2)
        try:
            for i in range(200):
                batch = rng.choice(n, size=2000, replace=False).astype(np.int64)
                (gold if i % 2 else silver).add(batch)
        except Exception as e:  # pragma: no cover
            errors.append(e)
        finally:
            stop.set()

    def reader():
        try:
            seen = 0
            while not stop.is_set():
                # Each call sees one consistent state.
                assert index.count("gold AND silver") == 0
                tiered = compiled.count()
                assert tiered >= seen  # customers only ever gain a tier
                seen = tiered
                s = index.query("vip AND (gold OR silver)")
                assert len(s) <= len(vip)
                assert index.count("tier IS NULL") + index.count("tier IS NOT NULL") >= n
                counts.append(len(s))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert counts, "the readers ran no query"
    assert index.count("gold AND silver") == 0
    assert index.count("tier IS NULL") + index.count("tier IS NOT NULL") == n


def test_query_releases_the_gil(no_preemption):
    # Sparse random tags (array containers): the slow path of CRoaring 0.2.66.
    rng = np.random.default_rng(3)
    index = tagindex.Index("identity")
    a = index.create_tag("a")
    b = index.create_tag("b")
    a.add(np.unique(rng.integers(0, 4_000_000, 200_000)))
    b.add(np.unique(rng.integers(0, 4_000_000, 200_000)))
    progress = [_progress_during(_repeat_for(0.2, lambda: index.query("a XOR b").to_numpy())),
                _progress_during(_repeat_for(0.2, lambda: index.count("a AND NOT b")))]
    assert all(p > 0 for p in progress), progress
