"""The Python example in examples/ runs and keeps its promises."""

import pathlib
import subprocess
import sys
import warnings

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs():
    script = EXAMPLES / "quickstart.py"
    p = subprocess.run([sys.executable, "-W", "ignore::UserWarning", str(script)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "imported 3 of 4 rows" in p.stdout
    assert "2 [1001, 1004]" in p.stdout
