"""The `tagindex` console script and ``python -m tagindex``: runs the bundled
C++ command (installed by ``pip install .`` as ``tagindex/_bin/tagindex``),
so the command line behaves exactly as the one ``cmake --install`` installs.
``TAGINDEX_CLI`` names another binary (e.g. a build tree's)."""

from __future__ import annotations

import os
import sys
from typing import List, Optional


def binary() -> Optional[str]:
    """The path of the `tagindex` binary to run, or None."""
    override = os.environ.get("TAGINDEX_CLI")
    if override:
        return override
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "tagindex")
    return bundled if os.access(bundled, os.X_OK) else None


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = binary()
    if path is None:
        sys.stderr.write("tagindex: error: the tagindex command is not bundled with this "
                         "package (build it: cmake --build --preset default --target "
                         "tagindex_cli, and set TAGINDEX_CLI to build/default/src/cli/tagindex)\n")
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(path, [path, *args])
    return 2  # not reached
