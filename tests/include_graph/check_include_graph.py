#!/usr/bin/env python3
"""Checks the #include lines of the sources against the layering of src/:

    util <- bitmap <- query <- index -> storage        (storage -> bitmap, util)

An arrow points at what a folder may include. src/cli and bindings/ sit on
the public API: they include tagindex/ headers and their own files only.
Public headers (include/tagindex) include only each other, Abseil and the
standard library. CRoaring is included only in src/bitmap, xxHash only in
src/util.

With --compiler and --views it also proves the build enforces the same rule:
each folder's include view (src/CMakeLists.txt) resolves the headers of the
folders it may see and fails on the others (preprocessor only, so quick).

  check_include_graph.py ROOT [--compiler CXX --views DIR]
  check_include_graph.py --self-test        # the checker finds planted faults

Exit 0 and a summary when the graph holds; 1 and every violation
(file:line: what and why) otherwise.
"""

import argparse
import collections
import os
import pathlib
import re
import subprocess
import sys
import tempfile

# What each src/ folder may include (itself included). The same table is in
# src/CMakeLists.txt (TAGINDEX_LAYER_SEES_*); the views check ties them.
SEES = {
    "util": {"util"},
    "bitmap": {"bitmap", "util"},
    "query": {"query", "bitmap", "util"},
    "storage": {"storage", "bitmap", "util"},
    "index": {"index", "query", "storage", "bitmap", "util"},
    "import": {"import", "index", "query", "storage", "bitmap", "util"},
    "shard": {"shard", "util"},
}
# Folders on the public API only (they may include their own files).
API_USERS = {"cli"}
# Third-party headers confined to one folder.
CONFINED = {"roaring": "bitmap", "xxhash.h": "util"}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_SUFFIXES = {".h", ".hh", ".hpp", ".cc", ".cpp", ".cxx", ".c", ".inc"}


def includes_of(path):
    """(line number, delimiter, name) of each #include outside comments."""
    out = []
    in_block = False
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line
        if in_block:
            end = stripped.find("*/")
            if end < 0:
                continue
            stripped = stripped[end + 2:]
            in_block = False
        start = stripped.find("/*")
        if start >= 0 and stripped.find("*/", start) < 0:
            in_block = True
            stripped = stripped[:start]
        match = INCLUDE.match(stripped)
        if match:
            out.append((number, match.group(1), match.group(2)))
    return out


def sources_under(directory):
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*")
                  if p.is_file() and p.suffix in SOURCE_SUFFIXES)


def check(root):
    """Returns (violations, summary lines)."""
    root = pathlib.Path(root)
    src = root / "src"
    public = root / "include" / "tagindex"
    violations = []
    edges = collections.Counter()
    files = 0
    count = 0

    def bad(path, number, message):
        violations.append(f"{path.relative_to(root)}:{number}: {message}")

    def check_third_party(path, number, name, folder):
        first = name.split("/")[0]
        if first in CONFINED and CONFINED[first] != folder:
            bad(path, number, f'<{name}> may be included only in src/{CONFINED[first]}')

    def check_public(path, number, name):
        if not (public / name.split("/", 1)[1]).is_file():
            bad(path, number, f'"{name}" is not a public header in include/tagindex')

    for folder_path in sorted(p for p in src.iterdir() if p.is_dir()) if src.is_dir() else []:
        folder = folder_path.name
        if folder not in SEES and folder not in API_USERS:
            for path in sources_under(folder_path):
                bad(path, 0, f"src/{folder} is not in the include graph: add it to SEES or "
                             "API_USERS here and to src/CMakeLists.txt")
                break
            continue
        for path in sources_under(folder_path):
            files += 1
            for number, delim, name in includes_of(path):
                count += 1
                if ".." in pathlib.PurePosixPath(name).parts:
                    bad(path, number, f'"{name}": relative includes that leave the folder '
                                      "hide the dependency; include from the src/ root")
                    continue
                first = name.split("/")[0]
                if delim == "<":
                    check_third_party(path, number, name, folder)
                    if first in SEES or first in API_USERS or first == "tagindex":
                        bad(path, number, f"<{name}>: include project headers with quotes")
                    continue
                if first == "tagindex":
                    check_public(path, number, name)
                    edges[(folder, "tagindex (public)")] += 1
                elif first in SEES or first in API_USERS:
                    edges[(folder, first)] += 1
                    if folder in API_USERS:
                        if first != folder:
                            bad(path, number, f'"{name}": src/{folder} uses the public API '
                                              "only (tagindex/...), not src/" + first)
                    elif first not in SEES[folder]:
                        bad(path, number, f'"{name}": src/{folder} may include only '
                                          f"{', '.join(sorted(SEES[folder]))} "
                                          f"(util <- bitmap <- query <- index -> storage)")
                elif first == "absl":
                    pass
                elif "/" not in name and (path.parent / name).is_file():
                    pass  # a file beside it
                else:
                    check_third_party(path, number, name, folder)
                    bad(path, number, f'"{name}": not a header of this project')

    for path in sources_under(public):
        files += 1
        for number, delim, name in includes_of(path):
            count += 1
            first = name.split("/")[0]
            if delim == '"' and first == "tagindex":
                check_public(path, number, name)
            elif delim == '"' and first == "absl":
                pass
            elif delim == "<" and first not in CONFINED and first not in SEES:
                pass  # the standard library
            else:
                bad(path, number, f'public header includes "{name}": a host sees only '
                                  "include/ (and Abseil, whose types the API uses)")

    for path in sources_under(root / "bindings"):
        files += 1
        for number, delim, name in includes_of(path):
            count += 1
            first = name.split("/")[0]
            if delim == "<":
                check_third_party(path, number, name, "bindings")
                continue
            if first == "tagindex":
                check_public(path, number, name)
            elif first == "absl" or (path.parent / name).is_file():
                pass
            else:
                bad(path, number, f'"{name}": the bindings use the public API only')

    summary = [f"include graph: {files} files, {count} #include lines checked"]
    for (a, b), n in sorted(edges.items()):
        summary.append(f"  src/{a} -> {b}: {n}")
    return violations, summary


def check_views(compiler, views, include_dir, src):
    """Each folder's view resolves exactly the headers of the folders it sees."""
    violations = []
    probes = 0
    with tempfile.TemporaryDirectory() as scratch:
        for layer, seen in SEES.items():
            view = pathlib.Path(views) / layer
            if not view.is_dir():
                violations.append(f"{view}: no include view for src/{layer}")
                continue
            for other in SEES:
                headers = sorted((pathlib.Path(src) / other).glob("*.h"))
                if not headers:
                    continue
                probe = pathlib.Path(scratch) / f"{layer}_{other}.cc"
                probe.write_text(f'#include "{other}/{headers[0].name}"\n', encoding="utf-8")
                result = subprocess.run(
                    [compiler, "-std=c++20", "-E", "-o", os.devnull, f"-I{view}",
                     f"-I{include_dir}", str(probe)],
                    capture_output=True, text=True)
                probes += 1
                resolved = result.returncode == 0
                if resolved != (other in seen):
                    what = "resolves" if resolved else "does not resolve"
                    violations.append(
                        f"view of src/{layer} {what} {other}/{headers[0].name} "
                        f"(allowed: {other in seen}): {result.stderr.strip()[:300]}")
    return violations, [f"include views: {probes} probes compiled"]


def self_test():
    """Plants one fault of each kind in a scratch tree; each must be found."""
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(scratch)
        files = {
            "include/tagindex/index.h": '#include "absl/status/status.h"\n#include <vector>\n',
            "include/tagindex/leak.h": '#include "util/hash.h"\n',
            "src/util/hash.h": "// ok\n",
            "src/bitmap/bitmap.h": '#include "util/hash.h"\n#include <roaring/roaring.h>\n',
            "src/bitmap/up.cc": '#include "query/parser.h"\n',
            "src/query/parser.h": '#include "bitmap/bitmap.h"\n/* #include "index/x.h" */\n',
            "src/query/side.cc": '#include "storage/wal.h"\n',
            "src/storage/wal.h": '#include "../index/index_state.h"\n',
            "src/index/index_state.h": '#include "storage/wal.h"\n#include "query/parser.h"\n',
            "src/index/hash_user.cc": "#include <xxhash.h>\n",
            "src/cli/main.cc": '#include "tagindex/index.h"\n#include "index/index_state.h"\n',
            "src/newfolder/a.cc": "// not in the graph\n",
            "bindings/python/module.cc": '#include "tagindex/index.h"\n#include "bitmap/bitmap.h"\n',
        }
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        violations, _ = check(root)
        expected = [
            "include/tagindex/leak.h:1",
            "src/bitmap/up.cc:1",
            "src/query/side.cc:1",
            "src/storage/wal.h:1",
            "src/index/hash_user.cc:1",
            "src/cli/main.cc:2",
            "src/newfolder/a.cc:0",
            "bindings/python/module.cc:2",
        ]
        found = {v.split(": ")[0] for v in violations}
        missing = [e for e in expected if e not in found]
        unexpected = sorted(found - set(expected))
        for v in violations:
            print("  planted:", v)
        if missing or unexpected:
            print(f"self-test FAILED: missed {missing}, flagged clean lines {unexpected}")
            return 1
        print(f"self-test: all {len(expected)} planted faults found, no clean line flagged")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?")
    parser.add_argument("--compiler")
    parser.add_argument("--views")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.root:
        parser.error("ROOT is required")
    root = pathlib.Path(args.root)
    violations, summary = check(root)
    if args.compiler and args.views:
        more, lines = check_views(args.compiler, args.views, root / "include", root / "src")
        violations += more
        summary += lines
    print("\n".join(summary))
    if violations:
        print(f"{len(violations)} include-graph violation(s):")
        print("\n".join("  " + v for v in violations))
        return 1
    print("include graph holds: util <- bitmap <- query <- index -> storage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
