"""Draw elements on paper, dot for dot, the way a thermal printer prints them.

One renderer for two jobs: raster mode draws the ticket with it and sends the image
(GS v 0), and the decoder draws what a printer received with it, so a native
ticket and a raster ticket of the same slip come out alike. Text sits on the
printer's grid: a column is 12 dots, a line 24 dots, times the magnification;
the font is Noto Sans Mono CJK SC, whose Latin letters are exactly half as wide as
its Chinese characters, like a printer's own font.
"""

from __future__ import annotations

import os
from functools import cache, lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from .elements import (
    CELL_DOTS,
    LINE_DOTS,
    LINE_SPACING,
    Cut,
    Element,
    Feed,
    Picture,
    QRCode,
    Run,
    TextLine,
)

FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/noto-cjk",
             "/usr/share/fonts/google-noto-cjk", "/usr/local/share/fonts",
             "/System/Library/Fonts", "C:/Windows/Fonts")
MONO_SC = 7          # face index of Noto Sans Mono CJK SC in NotoSansCJK-*.ttc
MARGIN = 24          # blank paper drawn above and below a ticket in a PNG
_EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
       "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}


class FontMissing(RuntimeError):
    pass


@cache
def font_file(bold: bool) -> tuple[str, int]:
    """(path, face index) of the CJK font; ONEWINDOW_CJK_FONT overrides (a .ttc whose
    face 7 is the mono SC face, or any .ttf/.otf with CJK glyphs, face 0)."""
    env = os.environ.get("ONEWINDOW_CJK_FONT_BOLD" if bold else "ONEWINDOW_CJK_FONT")
    if env:
        if not Path(env).is_file():
            raise FontMissing(f"no CJK font: {env} (from ONEWINDOW_CJK_FONT) does not exist")
        return env, (MONO_SC if env.endswith(".ttc") else 0)
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    for folder in FONT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return str(path), MONO_SC
    raise FontMissing(f"no CJK font: {name} is not in {', '.join(FONT_DIRS)}; install "
                      "fonts-noto-cjk (apt-get install fonts-noto-cjk) or set "
                      "ONEWINDOW_CJK_FONT to a font file")


@cache
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path, index = font_file(bold)
    return ImageFont.truetype(path, size, index=index)


@lru_cache(maxsize=8192)
def has_glyph(ch: str) -> bool:
    """Whether the CJK font draws ``ch`` (raster mode prints □ for one it does not):
    a character without a glyph is drawn as the font's .notdef, like U+10FFFD."""
    if not ch.strip() or ord(ch) < 0x80:
        return True
    font = _font(LINE_DOTS, False)
    return bytes(font.getmask(ch)) != _notdef()


@cache
def _notdef() -> bytes:
    return bytes(_font(LINE_DOTS, False).getmask("\U0010fffd"))


@lru_cache(maxsize=8192)
def _glyph(ch: str, cells: int, width: int, height: int, bold: bool) -> Image.Image:
    """One character in its cell: (cells*12*width) x (24*height) dots, "L" mode, ink=255."""
    size = LINE_DOTS * height
    cell_w = cells * CELL_DOTS * height          # drawn square, then stretched to width
    im = Image.new("L", (cell_w, size), 0)
    if ch.strip():
        font = _font(size, bold)
        advance = font.getlength(ch)
        x = (cell_w - advance) / 2
        ImageDraw.Draw(im).text((x, round(size * 0.88)), ch, fill=255, font=font, anchor="ls")
    if width != height:
        im = im.resize((cells * CELL_DOTS * width, size), Image.Resampling.BILINEAR)
    return im


def line_advance(line: TextLine, spacing: int = LINE_SPACING) -> int:
    """Dots the paper moves for a text line: the line spacing, or the tallest character."""
    return max(spacing, LINE_DOTS * line.height)


def _draw_run(ink: Image.Image, x: int, bottom: int, run: Run, dots: int) -> int:
    top = bottom - LINE_DOTS * run.height
    for ch, cells in zip(run.text, run.cells, strict=True):
        glyph = _glyph(ch, cells, run.width, run.height, run.bold)
        w = glyph.width
        if x + w > dots:
            break
        if run.invert:
            ink.paste(255, (x, top, x + w, bottom))
            ink.paste(0, (x, top), mask=glyph)
        else:
            ink.paste(255, (x, top), mask=glyph)
        if run.underline:
            ink.paste(255 if not run.invert else 0, (x, bottom - 2, x + w, bottom))
        x += w
    return x


@cache
def qr_matrix(payload: str, ec: str = "M") -> tuple[tuple[bool, ...], ...]:
    """The modules of a QR code (version chosen to fit), without a quiet zone."""
    qr = qrcode.QRCode(error_correction=_EC[ec], border=0)
    qr.add_data(payload)
    qr.make(fit=True)
    return tuple(tuple(row) for row in qr.get_matrix())


def qr_image(code: QRCode) -> Image.Image:
    """The QR code as a printer prints it (no quiet zone): ink=255, "L" mode."""
    matrix = qr_matrix(code.payload, code.ec)
    n, m = len(matrix), code.module
    im = Image.new("L", (n * m, n * m), 0)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                im.paste(255, (x * m, y * m, (x + 1) * m, (y + 1) * m))
    return im


def _x(align: str, width: int, dots: int) -> int:
    return {"left": 0, "center": (dots - width) // 2, "right": dots - width}[align]


def element_height(e: Element) -> int:
    if isinstance(e, TextLine):
        return line_advance(e)
    if isinstance(e, Feed):
        return e.dots
    if isinstance(e, Picture):
        return e.image.height
    if isinstance(e, QRCode):
        return len(qr_matrix(e.payload, e.ec)) * e.module
    return 0


def render(elements: list[Element], dots: int, margin: int = MARGIN) -> Image.Image:
    """Paper with the elements printed on it: mode "1", white paper, black print.

    Feeds before a cut (the paper moved up to the cutter) are not drawn; a cut ends
    the drawing, so pass one ticket at a time (escpos_decode.tickets splits them).
    """
    body: list[Element] = []
    for e in elements:
        if isinstance(e, Cut):
            break
        body.append(e)
    while body and isinstance(body[-1], Feed):
        body.pop()
    height = margin * 2 + sum(element_height(e) for e in body)
    ink = Image.new("L", (dots, max(height, 1)), 0)
    y = margin
    for e in body:
        if isinstance(e, TextLine):
            advance = line_advance(e)
            x = _x(e.align, min(e.columns * CELL_DOTS, dots), dots)
            for run in e.runs:
                x = _draw_run(ink, x, y + LINE_DOTS * e.height, run, dots)
        elif isinstance(e, Picture):
            im = e.image.convert("L").point(lambda v: 255 - v)  # black pixels are ink
            ink.paste(im.crop((0, 0, min(im.width, dots), im.height)),
                      (_x(e.align, min(im.width, dots), dots), y))
            advance = im.height
        elif isinstance(e, QRCode):
            im = qr_image(e)
            ink.paste(im, (_x(e.align, min(im.width, dots), dots), y))
            advance = im.height
        else:
            advance = element_height(e)
        y += advance
    paper = ink.point(lambda v: 0 if v >= 128 else 255)   # a print head dot is on or off
    return paper.convert("1", dither=Image.Dither.NONE)
