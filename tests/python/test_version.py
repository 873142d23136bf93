"""tagindex.__version__ is the C++ library's version, which is project(VERSION)
of the top CMakeLists.txt (and the version pip installs, setup.py reads it)."""

import pathlib
import re

import tagindex

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_version_is_the_projects_version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    project = re.search(r"project\(tagindex VERSION ([0-9.]+)", text).group(1)
    assert tagindex.__version__ == project


def test_version_is_the_headers_version():
    header = (ROOT / "include" / "tagindex" / "version.h").read_text(encoding="utf-8")
    string = re.search(r'#define TAGINDEX_VERSION_STRING "([^"]+)"', header).group(1)
    parts = [re.search(rf"#define TAGINDEX_VERSION_{name} (\d+)", header).group(1)
             for name in ("MAJOR", "MINOR", "PATCH")]
    assert tagindex.__version__ == string == ".".join(parts)
