"""Charts of the analytics results, through matplotlib (an optional
dependency: Debian's ``python3-matplotlib``).

Chinese tag names need a CJK font: ``scripts/setup.sh`` installs
``fonts-noto-cjk``; :func:`cjk_font` finds it (or WenQuanYi / any installed
CJK font) and every chart is drawn with it first in ``font.sans-serif``.
Without matplotlib the plotting methods raise :class:`ImportError` saying
what to install; without a CJK font they still draw, and warn once that
Chinese labels will show as boxes.
"""
from __future__ import annotations

import glob
import os
import warnings
from typing import Any, Optional

_CJK_HINTS = ("Noto Sans CJK", "Noto Serif CJK", "WenQuanYi", "Source Han Sans", "Droid Sans Fallback",
              "AR PL")
_FONT_GLOBS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
               "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
               "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
               "/usr/share/fonts/**/*CJK*Regular*.tt[cf]",
               "/usr/share/fonts/**/*CJK*Regular*.otf")
_font_name: Optional[str] = None
_font_searched = False


def pyplot() -> Any:
    """matplotlib.pyplot, on a non-interactive backend when there is no display."""
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - exercised by test_plot with a blocked import
        raise ImportError(
            "tagindex: charts need matplotlib, which is not installed; on Debian: "
            "apt-get install python3-matplotlib (and fonts-noto-cjk for Chinese labels)") from e
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def cjk_font() -> Optional[str]:
    """The family name of an installed CJK font, or None. Looks at the fonts
    matplotlib knows, then adds the usual Debian font files (its font cache
    may predate the font package)."""
    global _font_name, _font_searched
    if _font_searched:
        return _font_name
    _font_searched = True
    from matplotlib import font_manager

    def known() -> Optional[str]:
        names = sorted({f.name for f in font_manager.fontManager.ttflist})
        for hint in _CJK_HINTS:
            for n in names:
                if n.startswith(hint):
                    return n
        return None

    _font_name = known()
    if _font_name is None:
        for pattern in _FONT_GLOBS:
            for path in sorted(glob.glob(pattern, recursive=True)):
                try:
                    font_manager.fontManager.addfont(path)
                except Exception:  # an unreadable font file: try the next one
                    continue
        _font_name = known()
    return _font_name


def rc() -> dict:
    """rcParams for a chart: the CJK font first, minus signs that it has."""
    import matplotlib

    font = cjk_font()
    if font is None:
        warnings.warn("tagindex: no CJK font found (install fonts-noto-cjk); Chinese labels "
                      "will not render", RuntimeWarning, stacklevel=3)
        return {}
    return {"font.sans-serif": [font] + list(matplotlib.rcParams["font.sans-serif"]),
            "font.family": "sans-serif", "axes.unicode_minus": False}


def new_figure(plt: Any, width: float, height: float, dpi: int) -> Any:
    return plt.figure(figsize=(width, height), dpi=dpi)


def finish(fig: Any, path: Optional[str], dpi: int) -> Any:
    """Saves to `path` (exactly figsize × dpi pixels) if given; returns the figure."""
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig
