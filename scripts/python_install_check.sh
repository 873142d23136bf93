#!/usr/bin/env bash
# Proves the Python package installs offline with pip, the way the README
# says: a fresh venv that sees Debian's numpy/pandas/pytest, then
# `pip install --no-index --no-build-isolation .` (setup.py builds only the
# _tagindex extension with CMake, Release), then the pytest suite against the
# installed package from outside the source tree.
#
#   bash scripts/python_install_check.sh
#
# The CMake build directory of setup.py (build/temp.*) is kept between runs,
# so a second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
venv="$(mktemp -d /tmp/tagindex-venv.XXXXXX)"
trap 'rm -rf "$venv"' EXIT

/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -m pip install --quiet --no-index --no-build-isolation "$root"
cd "$venv"
"$venv/bin/python" - <<'PY'
import os
import tagindex
assert "site-packages" in tagindex.__file__, tagindex.__file__
index = tagindex.Index()
vip = index.create_tag("高价值客户")
vip.add([1001, 1002])
assert len(vip) == 2
print(f"pip install: imported tagindex {tagindex.__version__} from "
      f"{os.path.dirname(tagindex.__file__)}")
PY
# The `tagindex` command comes with the package: a console script and
# `python -m tagindex`, both running the bundled binary.
"$venv/bin/tagindex" demo --customers 20000 --repeat 1 | grep -q "高价值客户 AND 电子产品"
"$venv/bin/python" -m tagindex count --help | grep -q "Example"
echo "pip install: the tagindex console script runs the bundled command"
"$venv/bin/python" -m pytest -q -rs -p no:cacheprovider "$root/tests/python"
