#!/usr/bin/python3
"""Prints the markdown tables of bench/compare.sh results files (the tables
in BENCHMARKS.md are this output, unedited):

    /usr/bin/python3 bench/compare/report.py bench/results/compare_1m_200.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the driver's table formatting)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        with open(path) as f:
            doc = json.load(f)
        m = doc["machine"]
        print(f"Results file `{os.path.relpath(path)}` — `{doc['command']}` at {doc['generated_utc']}; "
              f"{m.get('cpu', '?')}, {m.get('cpus')} vCPU, {m.get('mem_gb')} GB; medians of at least "
              f"{doc['reps_min']} timed runs (3 for queries slower than 0.2 s) after one warm-up.")
        for res in doc["workloads"]:
            print(compare.table(res))
        print("\nGeometric mean over the queries of (system median / tagindex median):\n")
        systems = [s for s in compare.SYSTEMS[1:]
                   if any(s in per for per in doc["geomean_ratio_to_tagindex"].values())]
        print("| workload | " + " | ".join(systems) + " |")
        print("| --- | " + " | ".join("---:" for _ in systems) + " |")
        for name, per in doc["geomean_ratio_to_tagindex"].items():
            print(f"| {name} | " + " | ".join(f"{per[s]:.3g}×" if per.get(s) else "-"
                                              for s in systems) + " |")
        if doc["mismatches"]:
            print("\nMISMATCHES:\n" + "\n".join(doc["mismatches"]))
        print()


if __name__ == "__main__":
    main()
