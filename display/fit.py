"""Text fitted to its box on the wall: the font shrinks until the whole text fits.

Nothing the wall shows is cut or elided: a count, a ticket number, a name is either
drawn in full at a smaller size, or (English queue names) replaced by the hall
file's own abbreviation (``name_en_short``, docs/hall-config.md).
"""

from __future__ import annotations

import functools

from PySide6.QtGui import QFont, QFontMetricsF

FAMILY = "Noto Sans CJK SC"
ENGLISH_MINIMUM = 0.9    # a full English name shrinks to this share, then abbreviates


def font(px: float, bold: bool = False) -> QFont:
    f = QFont(FAMILY)
    f.setPixelSize(max(1, int(px)))
    f.setBold(bold)
    return f


@functools.lru_cache(maxsize=4096)
def _advance(text: str, px: int, bold: bool) -> float:
    return QFontMetricsF(font(px, bold)).horizontalAdvance(text)


@functools.lru_cache(maxsize=64)
def _line_height(px: int, bold: bool) -> float:
    return QFontMetricsF(font(px, bold)).height()


def text_width(text: str, f: QFont) -> float:
    return _advance(text, f.pixelSize(), f.bold())


def fits(text: str, f: QFont, width: float, height: float | None = None) -> bool:
    """Whether ``text`` in ``f`` fits a box ``width`` wide (and ``height`` tall)."""
    if text_width(text, f) > width:
        return False
    return height is None or _line_height(f.pixelSize(), f.bold()) <= height


def fit_font(text: str, px: float, width: float, height: float | None = None,
             bold: bool = False) -> QFont:
    """The largest font of at most ``px`` pixels in which ``text`` fits ``width``
    (and, when given, whose line fits ``height``): shrunk, never cut."""
    size = max(1, int(px))
    if height is not None and height > 0:
        size = max(1, min(size, int(height * 100 / _line_height(100, bold))))
    wide = _advance(text, size, bold)
    if wide > width > 0:
        size = max(1, int(size * width / wide))
    while size > 1 and not fits(text, font(size, bold), width, height):
        size -= 1
    return font(size, bold)


def english_name(full: str, short: str, px: float, width: float,
                 height: float | None = None, bold: bool = False,
                 minimum: float = ENGLISH_MINIMUM) -> tuple[str, QFont]:
    """An English name for a box: the full name if it fits at ``minimum`` of ``px``
    or more, else the hall's abbreviation ``short`` (when there is one), fitted.
    Never a name cut mid-word."""
    f = fit_font(full, px, width, height, bold)
    cap = fit_font("", px, width, height, bold).pixelSize()    # px, capped by height
    if not short or short == full or f.pixelSize() >= minimum * cap:
        return full, f
    g = fit_font(short, px, width, height, bold)
    return (short, g) if g.pixelSize() > f.pixelSize() else (full, f)
