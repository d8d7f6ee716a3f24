"""Raster mode: the ticket drawn as one picture with a CJK font, sent as GS v 0.

Works on any ESC/POS printer, Chinese firmware or not, since the printer only
places dots. The picture is the ticket's PNG render too (for the screen and docs).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from .elements import paper_dots
from .layout import compose, escpos_dummy
from .paper import render
from .slip import TicketSlip
from .template import TicketTemplate

FRAGMENT_ROWS = 960   # python-escpos sends taller pictures as several GS v 0 bands


def render_ticket(slip: TicketSlip, template: TicketTemplate, width: int) -> Image.Image:
    """The ticket on ``width`` mm paper (58 or 80), 1-bit, paper width in dots."""
    return render(compose(slip, template, width, "raster"), paper_dots(width))


def encode_raster(image: Image.Image, width: int, cut: bool = True) -> bytes:
    """ESC @, the picture as GS v 0 raster bands (python-escpos), then feed and cut."""
    dots = paper_dots(width)
    if image.width > dots:
        raise ValueError(f"the picture is {image.width} dots wide; {width} mm paper has {dots}")
    p = escpos_dummy(dots)
    p.hw("INIT")
    p.image(image, impl="bitImageRaster", fragment_height=FRAGMENT_ROWS)
    if cut:
        p.cut(mode="PART")
    return p.output


def paper_png(image: Image.Image, width: int, path: str | Path | None = None) -> Image.Image:
    """The printed area on a strip of paper as wide as the roll (58 mm paper is 48 mm of
    dots and 5 mm of blank each side; 80 mm is 72 + 4), with a grey edge: the PNG for
    the screen and the docs. Saved to ``path`` when given."""
    side = {58: 40, 80: 32}.get(width, 32)
    paper = ImageOps.expand(image.convert("L"), border=(side, 0, side, 0), fill=255)
    framed = ImageOps.expand(paper, border=1, fill=160)
    if path is not None:
        framed.save(path, optimize=True)
    return framed
