"""pytest configuration for the tagindex Python suite.

ctest runs this suite with PYTHONPATH pointing at the build tree's package
(build/<preset>/bindings/python/package); it also runs against an installed
package (pip install .).
"""

import os

import pytest

import tagindex


def pytest_report_header(config):
    return f"tagindex {tagindex.__version__} from {os.path.dirname(tagindex.__file__)}"


@pytest.fixture
def index():
    return tagindex.Index()


@pytest.fixture
def full() -> bool:
    """True for the long suites (TAGINDEX_FULL=1)."""
    return os.environ.get("TAGINDEX_FULL", "0") == "1"
