"""Builds and installs the tagindex Python package.

The extension `tagindex._tagindex` and the `tagindex` command are built by the
project's own CMake (only those targets, Release; the command is installed
inside the package as tagindex/_bin/tagindex, run by the `tagindex` console
script and `python -m tagindex`); setuptools then packages it with the pure-Python
sources from bindings/python/tagindex. Offline install, in a venv that sees
Debian's numpy/pandas/pybind11:

    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/python -m pip install --no-index --no-build-isolation .

Environment: CMAKE_BUILD_PARALLEL_LEVEL (default 2) sets the build jobs;
TAGINDEX_CMAKE_ARGS adds CMake arguments (space-separated).
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).parent.resolve()


def _version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    match = re.search(r"project\(tagindex VERSION ([0-9.]+)", text)
    if not match:
        raise RuntimeError("setup.py: no 'project(tagindex VERSION x.y.z' in CMakeLists.txt")
    return match.group(1)


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    """build_ext that runs CMake for the `_tagindex` target only."""

    def build_extension(self, ext: Extension) -> None:
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build_dir),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DTAGINDEX_BUILD_TESTS=OFF",
            "-DTAGINDEX_BUILD_BENCHMARKS=OFF",
            "-DTAGINDEX_BUILD_EXAMPLES=OFF",
            "-DTAGINDEX_BUILD_PYTHON=ON",
            f"-DPython_EXECUTABLE={sys.executable}",
        ]
        if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
            configure += ["-G", "Ninja"]
        configure += os.environ.get("TAGINDEX_CMAKE_ARGS", "").split()
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
        subprocess.check_call(configure)
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "_tagindex",
                               "tagindex_cli", "--parallel", jobs])
        package_dir = build_dir / "bindings" / "python" / "package" / "tagindex"
        built = sorted(package_dir.glob("_tagindex*.so"))
        if not built:
            raise RuntimeError(f"setup.py: CMake built no _tagindex*.so in {package_dir}")
        destination = pathlib.Path(self.get_ext_fullpath(ext.name))
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], destination)
        # The `tagindex` command rides along inside the package (tagindex/_bin);
        # the console script `tagindex` and `python -m tagindex` run it.
        cli = build_dir / "src" / "cli" / "tagindex"
        bin_dir = destination.parent / "_bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cli, bin_dir / "tagindex")
        os.chmod(bin_dir / "tagindex", 0o755)


setup(
    name="tagindex",
    version=_version(),
    description="Columnar tag index for CRM customer tagging and segment selection "
                "(Roaring bitmaps)",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=["tagindex"],
    package_dir={"tagindex": "bindings/python/tagindex"},
    package_data={"tagindex": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("tagindex._tagindex")],
    cmdclass={"build_ext": CMakeBuild},
    install_requires=["numpy"],
    extras_require={"pandas": ["pandas"], "plot": ["pandas", "matplotlib"]},
    entry_points={"console_scripts": ["tagindex = tagindex._cli:main"]},
    zip_safe=False,
)
