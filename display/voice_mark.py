"""The small 语音关闭 voice off mark for staff, in a free stretch of the wall's header."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter

from .fit import fit_font

VOICE_OFF = "语音关闭 voice off"
MARK_BG = QColor("#b34700")       # white on it is 5.5:1
MARK_TEXT = QColor("#ffffff")


def free_span(rects: list[QRectF], band: QRectF) -> tuple[float, float]:
    """The widest stretch of ``band`` (left, right) that none of ``rects`` overlaps."""
    cover = sorted((r.left(), r.right()) for r in rects
                   if r.bottom() > band.top() and r.top() < band.bottom())
    best, x = (band.left(), band.left()), band.left()
    for left, right in [*cover, (band.right(), band.right())]:
        if left - x > best[1] - best[0]:
            best = (x, left)
        x = max(x, right)
    return best


def paint_voice_mark(wall: Any, p: QPainter, header: QRectF, u: float) -> None:
    """Paint the mark where the header's texts (``wall.drawn``) leave the most room."""
    h = header.height() * 0.4
    texts = [d.rect for d in wall.drawn if header.intersects(d.rect)]
    rows = [header.center().y(), header.top() + h * 0.6, header.bottom() - h * 0.6]
    spans = [(free_span(texts, QRectF(header.left(), y - h / 2, header.width(), h)), y)
             for y in rows]
    (left, right), y = max(spans, key=lambda s: s[0][1] - s[0][0])
    room = max(right - left - 2 * u, u)
    f = fit_font(VOICE_OFF, h * 0.62, room - u, bold=True)
    width = min(QFontMetricsF(f).horizontalAdvance(VOICE_OFF) + u, room)
    pill = QRectF((left + right - width) / 2, y - h / 2, width, h)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(MARK_BG)
    p.drawRoundedRect(pill, h * 0.2, h * 0.2)
    wall._text(p, pill, VOICE_OFF, f, MARK_TEXT, Qt.AlignmentFlag.AlignCenter)
