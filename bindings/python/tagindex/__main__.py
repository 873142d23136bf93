"""``python -m tagindex ARGS``: the `tagindex` command (see tagindex._cli)."""

import sys

from ._cli import main

sys.exit(main())
