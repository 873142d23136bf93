#!/usr/bin/env python3
"""Times index.count("A AND B AND NOT C") against the same query in pure-Python
sets and in numpy boolean arrays, on the same data, and prints medians and
ratios.

    PYTHONPATH=build/default/bindings/python/package \\
        /usr/bin/python3 bench/python/bench_count.py            # 1 M customers
    ... bench_count.py --customers 10000000 --samples 21
    ... bench_count.py --smoke                                 # tiny, for CI

Membership is uniform random (PERFORMANCE.md layout a) at three density
pairs, from the Zipf head to the tail: A, B at 50 % / 5 % / 1 %, C at a fifth
of that. Samples of the methods are interleaved (A1 B1 C1 A2 B2 C2 ...) so
that machine noise hits them alike; each sample times a batch of calls long
enough (>= 5 ms) to be measured with warm caches. The median and the minimum
per call are reported, and every method's result is checked against the
others.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

import tagindex

QUERY = "A AND B AND NOT C"


def build(n, p_ab, p_c, seed):
    rng = np.random.default_rng(seed)
    masks = {"A": rng.random(n) < p_ab, "B": rng.random(n) < p_ab, "C": rng.random(n) < p_c}
    index = tagindex.Index("identity")
    index.add_customers(np.arange(n, dtype=np.int64))
    for name, mask in masks.items():
        index.create_tag(name).add(rows=np.flatnonzero(mask).astype(np.uint32))
    sets = {name: set(np.flatnonzero(mask).tolist()) for name, mask in masks.items()}
    return index, sets, masks


def calls_per_batch(fn, target=0.005):
    """Like timeit's autorange: calls per timed batch so a batch takes >= 5 ms
    (a single call's timer noise and cold caches then do not dominate)."""
    fn()  # warm up
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= target or number >= 1 << 16:
            return number
        number *= 2


def time_interleaved(methods, samples):
    numbers = {name: calls_per_batch(fn) for name, fn in methods.items()}
    times = {name: [] for name in methods}
    results = {name: fn() for name, fn in methods.items()}
    for _ in range(samples):
        for name, fn in methods.items():
            number = numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times[name].append((time.perf_counter() - start) / number)
    return times, results


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.3f} s "


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=11)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny workload, 3 samples (checks the harness, not speed)")
    args = parser.parse_args(argv)
    if args.smoke or os.environ.get("TAGINDEX_BENCH_SMOKE") == "1":
        args.customers, args.samples = 20_000, 3

    print(f"tagindex {tagindex.__version__}: count({QUERY!r}) at {args.customers:,} customers, "
          f"median of {args.samples} interleaved samples")
    print(f"{'A,B / C density':>16} {'result':>9} | {'method':<34} {'median':>11} {'min':>11} "
          f"{'vs tagindex':>11}")
    for p_ab, p_c in [(0.5, 0.1), (0.05, 0.01), (0.01, 0.002)]:
        index, sets, masks = build(args.customers, p_ab, p_c, seed=42)
        a, b, c = masks["A"], masks["B"], masks["C"]
        sa, sb, sc = sets["A"], sets["B"], sets["C"]
        compiled = index.compile(QUERY)
        methods = {
            "tagindex index.count(text)": lambda: index.count(QUERY),
            "tagindex compiled.count()": compiled.count,
            "tagindex len(index.query(text))": lambda: len(index.query(QUERY)),
            "numpy bool count_nonzero(a&b&~c)": lambda: int(np.count_nonzero(a & b & ~c)),
            "python sets len(a & b - c)": lambda: len((sa & sb) - sc),
        }
        times, results = time_interleaved(methods, args.samples)
        if len(set(results.values())) != 1:
            print(f"MISMATCH at density {p_ab}/{p_c}: {results}", file=sys.stderr)
            return 1
        base = statistics.median(times["tagindex index.count(text)"])
        label = f"{p_ab:.1%} / {p_c:.1%}"
        for name, samples in times.items():
            median = statistics.median(samples)
            print(f"{label:>16} {results[name]:>9,} | {name:<34} {fmt(median)} "
                  f"{fmt(min(samples))} {median / base:>10.1f}x")
            label = ""
    return 0


if __name__ == "__main__":
    sys.exit(main())
