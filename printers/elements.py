"""What a ticket is made of on paper: text lines, pictures, QR codes, feeds and cuts.

The same model comes out of the layout (a slip composed for a paper width) and out
of the decoder (the bytes a printer received), so a test can compare what was meant
with what arrived, and one renderer (printers/paper.py) draws both.

Widths are counted the way a thermal printer counts them in Chinese mode: an ASCII
character is one column (12 dots of font A), every other character a full-width
cell of two columns (24 dots). 58 mm paper has 32 columns (384 dots), 80 mm 48
columns (576 dots).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

Align = Literal["left", "center", "right"]

CELL_DOTS = 12          # font A: one column is 12 dots wide ...
LINE_DOTS = 24          # ... and 24 dots high
LINE_SPACING = 30       # dots from one line to the next at size 1 (ESC 3 30)
PAPER = {58: (384, 32), 80: (576, 48)}  # paper width in mm -> (dots, columns of font A)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def paper_dots(width_mm: int) -> int:
    return PAPER[width_mm][0]


def paper_columns(width_mm: int) -> int:
    return PAPER[width_mm][1]


def char_columns(ch: str) -> int:
    """Columns one character takes on paper: 1 for ASCII, 2 (a full-width cell) otherwise."""
    return 1 if ord(ch) < 0x80 else 2


def display_width(text: str) -> int:
    return sum(char_columns(ch) for ch in text)


def clean_text(text: str) -> str:
    """Text safe to send as print data: control characters (which a printer would
    obey as commands) become spaces."""
    return _CONTROL.sub(" ", text)


@dataclass(frozen=True)
class Run:
    """Characters printed in one style. ``cells`` holds each character's columns."""

    text: str
    cells: tuple[int, ...] = ()
    width: int = 1        # character magnification, 1-8 (GS !)
    height: int = 1
    bold: bool = False
    underline: bool = False
    invert: bool = False  # white on black (GS B)

    def __post_init__(self) -> None:
        if not self.cells:
            object.__setattr__(self, "cells", tuple(char_columns(c) for c in self.text))

    @property
    def columns(self) -> int:
        return sum(self.cells) * self.width


@dataclass(frozen=True)
class TextLine:
    runs: tuple[Run, ...]
    align: Align = "left"

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    @property
    def columns(self) -> int:
        return sum(r.columns for r in self.runs)

    @property
    def height(self) -> int:
        return max((r.height for r in self.runs), default=1)


@dataclass(frozen=True)
class Picture:
    """A raster image; black pixels print. ``image`` is mode "1"."""

    image: Image.Image = field(compare=False)
    align: Align = "left"

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Picture) and self.align == other.align
                and self.image.size == other.image.size
                and self.image.tobytes() == other.image.tobytes())

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class QRCode:
    payload: str
    module: int = 6       # dots per module (GS ( k fn 67)
    ec: Literal["L", "M", "Q", "H"] = "M"
    align: Align = "center"


@dataclass(frozen=True)
class Feed:
    dots: int


@dataclass(frozen=True)
class Cut:
    partial: bool = True


@dataclass(frozen=True)
class Query:
    """A status request the printer must answer: DLE EOT n (real time) or GS r n."""

    command: Literal["DLE EOT", "GS r"]
    n: int


@dataclass(frozen=True)
class Unknown:
    """Bytes the decoder does not understand (a test can insist there are none)."""

    data: bytes


Element = TextLine | Picture | QRCode | Feed | Cut | Query | Unknown
PRINTED = (TextLine, Picture, QRCode, Feed)


def text_of(elements: list[Element]) -> str:
    """The text lines of a ticket, one per line (what a test or a log reads)."""
    return "\n".join(e.text for e in elements if isinstance(e, TextLine))
