"""Qt widgets the citizen-facing touch screens share (the kiosk, the evaluation pad):
the font, and a big touch button whose bilingual text grows with it."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QPushButton

FONT_FAMILY = "Noto Sans CJK SC"
SECOND_RATIO = 0.55   # the second language's size, as a share of the first's

# The house colours (kiosk, evaluation pad, caller panel): ink on a light page, white
# buttons with a grey border, and one colour per kind of state.
INK = "#1a1a1a"        # text
PAGE = "#f4f6f9"       # page background
BORDER = "#b8c2d0"     # a plain button's border
PRESSED = "#dde6f3"    # a button held down
BLUE = "#0b5cad"       # the primary action; a number being called
GREEN = "#1e7d32"      # done, served, the green channel
AMBER = "#b3541e"      # needs attention (unsure, held aside)
RED = "#b00020"        # stopped, refused, an error
MUTED = "#5a6472"      # secondary text, hints


def page_style(name: str = "page") -> str:
    """The stylesheet of a page (a QWidget named ``name``): the house font and colours,
    rounded buttons, and ``kind`` = primary / green / help for coloured ones."""
    return f"""
        QWidget#{name} {{ background: {PAGE}; }}
        QLabel {{ color: {INK}; font-family: "{FONT_FAMILY}"; }}
        QPushButton {{ font-family: "{FONT_FAMILY}"; border-radius: 18px;
                       border: 3px solid {BORDER}; background: white; color: {INK}; }}
        QPushButton:pressed {{ background: {PRESSED}; }}
        QPushButton[kind="primary"] {{ background: {BLUE}; color: white; border: none; }}
        QPushButton[kind="green"] {{ background: {GREEN}; color: white; border: none; }}
        QPushButton[kind="help"] {{ background: {AMBER}; color: white; border: none; }}
    """


def html_lines(lines: list[tuple[str, int, bool]]) -> str:
    """Lines of (text, pixel size, bold) as the rich text of a QLabel."""
    return "".join(f"<div style='font-size:{px}px; font-weight:{700 if bold else 400}'>"
                   f"{html.escape(text).replace(chr(10), '<br>')}</div>"
                   for text, px, bold in lines)


def label(text: str | tuple[str, str], size: float, px: Callable[[float], int], *,
          bold: bool = False, color: str | None = None, ratio: float = SECOND_RATIO,
          align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> QLabel:
    """A word-wrapped label of ``px(size)`` pixels; a (Chinese, English) pair is two
    lines, the English ``ratio`` times as big and not bold."""
    if isinstance(text, tuple):
        first, second = text
        lab = QLabel(html_lines([(first, px(size), bold), (second, px(size * ratio), False)]))
        lab.setTextFormat(Qt.TextFormat.RichText)
        lab.setAccessibleName(f"{first}\n{second}")
    else:
        lab = QLabel(text)
        lab.setTextFormat(Qt.TextFormat.PlainText)
    font = QFont(FONT_FAMILY)
    font.setPixelSize(px(size))
    font.setBold(bold)
    lab.setFont(font)
    lab.setAlignment(align)
    lab.setWordWrap(True)
    if color:
        lab.setStyleSheet(f"color: {color};")
    return lab


class BigButton(QPushButton):
    """A touch button whose text grows with it.

    ``lines`` are (text, size relative to the title, bold). The title is ``base`` px at
    least, ``grow`` × the button's height when that is more, never
    over ``cap``, and shrinks only to fit the button's width and height; the other
    lines keep their ratio to it. The text is a label laid over the button by hand,
    so it never pushes the button (or the page) bigger."""

    def __init__(self, lines: list[tuple[str, float, bool]], base: int, *, grow: float,
                 cap: int) -> None:
        super().__init__()
        self.lines, self.base, self.grow, self.cap = lines, base, grow, max(cap, base)
        self.title_px = base
        self.text_label = QLabel(self)
        self.text_label.setTextFormat(Qt.TextFormat.RichText)
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label.setWordWrap(True)
        self.text_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text_label.setAccessibleName("\n".join(t for t, _, _ in lines))
        self.setAccessibleName("\n".join(t for t, _, _ in lines))
        self._fit()

    def _colour(self) -> None:
        colour = "white" if self.property("kind") else "#1a1a1a"
        self.text_label.setStyleSheet(f"color: {colour}; font-family: '{FONT_FAMILY}';"
                                      " background: transparent;")

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def _sizes(self, title: float) -> list[int]:
        return [max(14, int(title * ratio)) for _, ratio, _ in self.lines]

    def _fit(self) -> None:
        w, h = self.width(), self.height()
        pad_x, pad_y = 12 + w // 25, 6 + h // 30
        avail_w, avail_h = max(1, w - 2 * pad_x), max(1, h - 2 * pad_y)
        title = float(min(self.cap, max(self.base, self.grow * h)))
        floor = self.base * 0.6
        while True:
            sizes = self._sizes(title)
            widest, tall = 0.0, 0.0
            for (text, _, bold), px in zip(self.lines, sizes, strict=True):
                metrics = _metrics(px, bold)
                widest = max(widest, metrics.horizontalAdvance(text) / avail_w)
                tall += metrics.height()
            if (widest <= 1 and tall <= avail_h) or title <= floor:
                self.text_label.setText(html_lines([(t, px, b) for (t, _, b), px
                                                    in zip(self.lines, sizes, strict=True)]))
                # the rich text's own height (its line spacing) must fit too
                if title <= floor or self.text_label.heightForWidth(w - pad_x) <= avail_h:
                    break
            title = max(floor, title * 0.94)
        self.title_px = sizes[0]
        self.text_label.setGeometry(pad_x // 2, pad_y, w - pad_x, h - 2 * pad_y)
        self._colour()


@functools.lru_cache(maxsize=512)
def _metrics(px: int, bold: bool) -> QFontMetrics:
    """The metrics of the font at a size (a page rebuild asks for the same few
    sizes many times while fitting its buttons' text)."""
    font = QFont(FONT_FAMILY)
    font.setPixelSize(px)
    font.setBold(bold)
    return QFontMetrics(font)
