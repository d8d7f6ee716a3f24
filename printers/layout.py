"""A slip laid out for a paper width, and that layout as native ESC/POS bytes.

``compose`` turns a TicketSlip into elements (printers/elements.py): lines wrapped
and aligned by display width (a CJK character is two columns), sizes shrunk where
a line would not fit, nothing ever cut off. ``encode_native`` sends those elements
to a Chinese-firmware printer: ESC @, then FS & (Chinese mode) and GB18030 text,
which python-escpos 3.1 does not do (its encoder sends GB18030 without FS &, and
turns a line of only full-width punctuation into '?'). Styles, QR codes, pictures
and the cut go through python-escpos itself.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterator
from typing import Any, Literal

import qrcode
import qrcode.constants
from escpos.constants import QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.printer import Dummy
from PIL import Image

from .elements import (
    CELL_DOTS,
    LINE_SPACING,
    Align,
    Cut,
    Element,
    Feed,
    Picture,
    QRCode,
    Run,
    TextLine,
    clean_text,
    display_width,
    paper_columns,
    paper_dots,
)
from .slip import TicketSlip
from .template import TicketTemplate

Mode = Literal["native", "raster"]

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
CHINESE_ON = FS + b"&"     # FS &: Chinese (Kanji) mode, 2-byte GB18030/GBK characters
CHINESE_OFF = FS + b"."
INIT = ESC + b"@"
REPLACEMENT = "□"          # printed for a character a GBK printer has no glyph for
_NO_LINE_START = set("，。、：；！？）》」』】〕…,.:;!?)]}%")
_QR_EC = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}
_QRCODE_EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
              "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
LOGO_MAX_HEIGHT = 160
# Most of a ticket is the same on every ticket (hall name, labels, rules, notice): the
# pure steps below are cached by their arguments, so a ticket composes and encodes
# only what changed (number, people ahead, wait, time, ticket id, QR code).
_CACHE = 2048


# ------------------------------------------------------------------ text helpers


@functools.lru_cache(maxsize=_CACHE)
def printable(text: str, mode: Mode = "native") -> str:
    """Text as the printer can show it: no control characters, and a character it has
    no glyph for as □. Native mode: the printer's GBK font (two-byte GB18030, so no
    emoji or rare characters of the extension planes); raster mode: the CJK font the
    picture is drawn with, which has 㐀 or 𬌗 (printers/paper.has_glyph)."""
    if mode == "raster":
        from .paper import has_glyph

        return "".join(ch if has_glyph(ch) else REPLACEMENT for ch in clean_text(text))
    out = []
    for ch in clean_text(text):
        out.append(ch if len(ch.encode("gb18030")) <= 2 else REPLACEMENT)
    return "".join(out)


def encode_text(text: str) -> bytes:
    """GB18030 bytes of a line for a printer in Chinese mode (FS & already sent)."""
    return printable(text).encode("gb18030")


def wrap(text: str, columns: int) -> list[str]:
    """Break text into lines of at most ``columns`` display columns.

    English breaks at spaces, Chinese between any two characters, and closing
    punctuation (，。）) never starts a line.
    """
    text = " ".join(text.split())
    lines: list[str] = []
    while display_width(text) > columns:
        cut, used = 0, 0
        for i, ch in enumerate(text):
            used += 2 if ord(ch) >= 0x80 else 1
            if used > columns:
                break
            cut = i + 1
        cut = max(cut, 1)
        space = text.rfind(" ", 0, cut + 1)
        if text[cut:cut + 1].isascii() and text[cut - 1:cut].isascii() and \
                text[cut:cut + 1] not in (" ", "") and space > 0:
            cut = space                          # do not split an English word
        cut = _keep_number_with_unit(text, cut)
        while 1 < cut < len(text) and text[cut] in _NO_LINE_START:
            cut -= 1                             # keep 。with the character before it
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not lines:
        lines.append(text)
    return lines


def _keep_number_with_unit(text: str, cut: int) -> int:
    """Move a break at a space back before the number it follows, so a unit never starts
    a line alone ("about 1 h 20" / "min" becomes "about 1 h" / "20 min")."""
    if text[cut:cut + 1] != " " and text[cut - 1:cut] != " ":
        return cut
    head = text[:cut].rstrip()
    word_at = head.rfind(" ") + 1
    if word_at > 0 and head[word_at:].isdigit() and text[cut:].strip():
        return word_at
    return cut


def _fit(text: str, size: int, columns: int) -> int:
    """The magnification for a line, the same across and up (GS ! n·0x11): the
    template's size if the line fits, else the largest that does, else 1 (the caller
    wraps). Never tall and narrow: that is what an OCR and a citizen misread."""
    for s in range(size, 0, -1):
        if display_width(text) * s <= columns:
            return s
    return 1


@functools.lru_cache(maxsize=_CACHE)
def _lines(text: str, columns: int, size: int = 1, align: Align = "center",
           bold: bool = False, invert: bool = False, pad: int = 0,
           mode: Mode = "native") -> tuple[TextLine, ...]:
    """A paragraph as lines that fit: made smaller first, then wrapped. ``pad`` spaces
    go either side of each line (room around reversed text)."""
    text = printable(text, mode)
    edge = " " * pad
    s = _fit(edge + text + edge, size, columns)
    return tuple(TextLine((Run(edge + line + edge, width=s, height=s, bold=bold,
                               invert=invert),), align)
                 for line in wrap(text, columns // s - 2 * pad))


@functools.lru_cache(maxsize=_CACHE)
def _pair(label: str, values: tuple[str, ...], columns: int,
          mode: Mode = "native") -> tuple[TextLine, ...]:
    """A table row: label at the left, the values joined by " / " (bold) at the right
    edge, padded by display width so mixed Chinese/ASCII rows line up. Too long for
    one line: the values go on the next line, still at the right edge; still too long:
    one value a line (约 1 小时 20 分钟 / about 1 h 20 min on 58 mm), wrapped only if one
    value alone is wider than the paper."""
    label = printable(label, mode)
    parts = [printable(v, mode) for v in values]
    value = " / ".join(parts)
    gap = columns - display_width(label) - display_width(value)
    if gap >= 1:
        return (TextLine((Run(label + " " * gap), Run(value, bold=True))),)
    rows = [TextLine((Run(line),)) for line in wrap(label, columns)]
    values_lines = [value] if display_width(value) <= columns else \
        [line for part in parts for line in wrap(part, columns)]
    for line in values_lines:
        pad = columns - display_width(line)
        runs = (Run(" " * pad), Run(line, bold=True)) if pad else (Run(line, bold=True),)
        rows.append(TextLine(runs))
    return tuple(rows)


# ------------------------------------------------------------------ composing


def compose(slip: TicketSlip, template: TicketTemplate, width: int,
            mode: Mode = "native") -> list[Element]:
    """The ticket for ``width`` mm paper (58 or 80) as elements, ending with a cut.
    ``mode`` says which font prints it, so which characters become □ (``printable``)."""
    columns = paper_columns(width)
    out: list[Element] = []
    for block in template.blocks:
        out.extend(_block(block, slip, template, width, columns, mode))
    while out and isinstance(out[-1], Feed):
        out.pop()
    out.append(Cut(partial=True))
    return out


def _block(block: str, slip: TicketSlip, t: TicketTemplate, width: int,
           columns: int, mode: Mode) -> Iterator[Element]:
    sizes = t.sizes

    def lines(text: str, size: int = 1, **style: Any) -> tuple[TextLine, ...]:
        return _lines(text, columns, size, mode=mode, **style)

    def pair(label: str, *values: str) -> tuple[TextLine, ...]:
        return _pair(label, values, columns, mode)

    if block == "logo" and slip.logo:
        yield Picture(_logo(slip.logo, paper_dots(width), _mtime(slip.logo)))
        yield Feed(12)
    elif block == "hall":
        yield from lines(slip.hall_name, sizes.hall, bold=True)
        if slip.hall_name_en:
            yield from lines(slip.hall_name_en)
        yield Feed(6)
    elif block == "rule":
        yield TextLine((Run("-" * columns),))
    elif block == "queue":
        zh = " · ".join(p for p in (slip.zone_name, slip.queue_name) if p)
        en = " · ".join(p for p in (slip.zone_name_en, slip.queue_name_en) if p)
        yield Feed(6)
        yield from lines(zh, sizes.queue, bold=True)
        if display_width(en) > columns:     # too long: zone and queue on lines of their own
            for part in (slip.zone_name_en, slip.queue_name_en):
                if part:
                    yield from lines(part)
        elif en:
            yield from lines(en)
    elif block == "class" and slip.class_mark:
        zh, en = slip.class_mark
        yield Feed(10)
        yield from lines(f"{zh} {en}", 2, bold=True, invert=True, pad=1)
    elif block == "number":
        yield Feed(12)
        yield from lines("您的号码 Your number")
        yield Feed(6)
        yield from lines(slip.number, sizes.number, bold=True)
        yield Feed(12)
    elif block == "ahead":
        zh, en = slip.ahead_text
        yield from pair("前面还有 Ahead", zh, en)
    elif block == "wait":
        zh, en = slip.wait_text
        yield from pair("预计等候 Wait", zh, en)
    elif block == "issued":
        yield from pair("取号时间 Issued", slip.issued)
    elif block == "ticket_id":
        yield from lines(f"票号 Ticket {slip.ticket_id}")
    elif block == "qr" and slip.qr_payload:
        yield Feed(16)
        yield QRCode(slip.qr_payload, module=qr_module(slip.qr_payload, sizes.qr, width))
        yield Feed(8)
        if t.qr_caption:
            yield from lines(t.qr_caption)
        yield Feed(6)
    elif block == "notice":
        for line in slip.notice:
            yield from lines(line)


def qr_module(payload: str, module: int, width: int, ec: str = "M") -> int:
    """The template's module size, made smaller if the code would not fit the paper."""
    modules = qr_modules(payload, ec)
    while module > 1 and modules * module > paper_dots(width) - 2 * CELL_DOTS:
        module -= 1
    return module


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1                        # logo_image says what is wrong with it


@functools.lru_cache(maxsize=8)
def _logo(path: str, dots: int, mtime: int) -> Image.Image:
    """logo_image, once per file version and paper (the image is only ever read)."""
    return logo_image(path, dots)


def qr_modules(payload: str, ec: str = "M") -> int:
    """Modules across the QR code of ``payload``: len(qr_matrix(payload, ec)), from the
    version that fits (as qr_matrix chooses it) without drawing and masking the code,
    which is most of the time a ticket takes to compose."""
    qr = qrcode.QRCode(error_correction=_QRCODE_EC[ec], border=0)
    qr.add_data(payload)
    qr.best_fit()
    return qr.version * 4 + 17


def logo_image(path: str, dots: int) -> Image.Image:
    """The logo as a 1-bit picture, fitted into the paper width and centred on it."""
    with Image.open(path) as src:
        im = src.convert("RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    im = Image.alpha_composite(white, im).convert("L")
    scale = min(1.0, dots / im.width, LOGO_MAX_HEIGHT / im.height)
    if scale < 1.0:
        im = im.resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))),
                       Image.Resampling.LANCZOS)
    bw = im.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    page = Image.new("1", (dots, bw.height), 1)
    page.paste(bw, ((dots - bw.width) // 2, 0))
    return page


# ------------------------------------------------------------------ native bytes


def escpos_dummy(dots: int) -> Dummy:
    """A python-escpos Dummy that knows the paper width (so image() checks it and does
    not print a warning), with a profile of its own (profiles share their data)."""
    p = Dummy()
    p.profile.profile_data = _profile_data(dots)
    return p


@functools.lru_cache(maxsize=8)
def _profile_data(dots: int) -> dict:
    """The default profile's data with the paper width set: copied once per width
    (python-escpos only reads it)."""
    data = copy.deepcopy(Dummy().profile.profile_data)
    data["media"]["width"]["pixels"] = dots
    return data


@functools.lru_cache(maxsize=_CACHE)
def _line_bytes(line: TextLine) -> bytes:
    """One text line's ESC/POS: its alignment, each run's style and GB18030 text. The
    style commands are sent in full for every run, so a line's bytes do not depend
    on the lines before it."""
    p = Dummy()
    p.set(align=line.align)
    for run in line.runs:
        p.set(custom_size=True, width=run.width, height=run.height, bold=run.bold,
              underline=int(run.underline), invert=run.invert)
        p._raw(encode_text(run.text))
    p._raw(b"\n")
    return p.output


def encode_native(elements: list[Element], width: int) -> bytes:
    """ESC/POS for a Chinese-firmware printer: text as GB18030 in Chinese mode."""
    dots = paper_dots(width)
    p = escpos_dummy(dots)
    p.hw("INIT")
    p._raw(ESC + b"3" + bytes([LINE_SPACING]))
    p._raw(CHINESE_ON)
    for e in elements:
        if isinstance(e, TextLine):
            p._raw(_line_bytes(e))
        elif isinstance(e, Feed):
            for chunk in range(0, e.dots, 255):
                p._raw(ESC + b"J" + bytes([min(255, e.dots - chunk)]))
        elif isinstance(e, Picture):
            p.set(align="left")
            p.image(e.image, impl="bitImageRaster")
        elif isinstance(e, QRCode):
            p.set(align=e.align)
            p.qr(e.payload, ec=_QR_EC[e.ec], size=e.module, native=True)
        elif isinstance(e, Cut):
            p.cut(mode="PART" if e.partial else "FULL")
    return p.output
