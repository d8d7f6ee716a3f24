"""Read ESC/POS back: bytes → elements (text lines, pictures, QR codes, feeds, cuts).

The virtual printer and the tests use it to see what a printer would print. It
keeps the printer's state as it goes: Chinese mode (FS & / FS .) with GB18030
characters, or the code page chosen with ESC t; character size (GS !, ESC !),
bold, underline, reverse, alignment, line spacing. Text becomes a TextLine when a
line is printed (LF, ESC d, ESC J, a picture, a QR code or a cut).

``Decoder`` is incremental: ``feed`` takes bytes as they arrive (a command split
across two TCP reads waits for its end) and returns the elements completed so
far, including the status queries (DLE EOT n, GS r n) a printer must answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from escpos.capabilities import get_profile
from escpos.magicencode import Encoder
from PIL import Image

from .elements import (
    LINE_SPACING,
    Align,
    Cut,
    Element,
    Feed,
    Picture,
    QRCode,
    Query,
    Run,
    TextLine,
    Unknown,
)
from .paper import render

_ALIGN: dict[int, Align] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                            50: "right"}
_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
# ESC commands with a fixed number of parameter bytes that change nothing we draw
_ESC_SKIP = {b"R": 1, b"V": 1, b"{": 1, b"M": 1, b"r": 1, b" ": 1, b"$": 2, b"\\": 2,
             b"p": 3, b"=": 1, b"U": 1, b"%": 1, b"T": 1, b"L": 0, b"S": 0, b"<": 0,
             b"W": 8, b"i": 0, b"m": 0}
_GS_SKIP = {b"a": 1, b"L": 2, b"W": 2, b"H": 1, b"h": 1, b"w": 1, b"f": 1, b"b": 1,
            b"I": 1, b"P": 2, b"/": 1, b"$": 2, b"\\": 2, b"^": 3, b":": 0, b"T": 1}
_FS_SKIP = {b"!": 1, b"-": 1, b"C": 1, b"S": 2, b"W": 1, b"p": 2, b"?": 1, b"G": 1}


class _Need(Exception):
    """The buffer ends inside a command: wait for more bytes."""


@cache
def _codepage(n: int) -> tuple[str, ...] | None:
    """Characters 128-255 of code page slot n, from python-escpos's printer database."""
    names = {int(slot): name for name, slot in get_profile().get_code_pages().items()}
    try:
        return tuple(Encoder._get_codepage_char_list(names[n]))
    except (KeyError, LookupError, AssertionError):
        return None


@dataclass(frozen=True)
class _Style:
    width: int = 1
    height: int = 1
    bold: bool = False
    underline: bool = False
    invert: bool = False


class Decoder:
    """An ESC/POS byte stream, decoded as it arrives."""

    def __init__(self, chinese: bool = False) -> None:
        self.chinese_default = chinese
        self.elements: list[Element] = []
        self._buf = bytearray()
        self._reset()

    def _reset(self) -> None:
        self.style = _Style()
        self.align: Align = "left"
        self.chinese = self.chinese_default
        self.codepage = 0
        self.spacing = LINE_SPACING
        self._line: list[tuple[str, int, _Style]] = []
        self._qr: dict[str, object] = {"module": 3, "ec": "L", "data": b""}

    # ------------------------------------------------------------- stream

    def feed(self, data: bytes) -> list[Element]:
        self._buf += data
        out: list[Element] = []
        i = 0
        while i < len(self._buf):
            try:
                i = self._step(i, out)
            except _Need:
                break
        del self._buf[:i]
        self.elements.extend(out)
        return out

    def close(self) -> list[Element]:
        """The end of the stream: text still in the line buffer is printed as a line
        (a printer would hold it), and a truncated command is reported."""
        out: list[Element] = []
        if self._buf:
            out.append(Unknown(bytes(self._buf)))
            self._buf.clear()
        self._print_line(out, force=False)
        self.elements.extend(out)
        return out

    # ------------------------------------------------------------- helpers

    def _need(self, i: int, n: int) -> None:
        if i + n > len(self._buf):
            raise _Need

    def _print_line(self, out: list[Element], force: bool = True) -> None:
        """Print the line buffer; an empty buffer feeds one line when ``force``."""
        if not self._line:
            if force:
                out.append(Feed(self.spacing))
            return
        runs: list[Run] = []
        text, cells, style = "", [], self._line[0][2]
        for ch, n, s in self._line:
            if s != style:
                runs.append(self._run(text, cells, style))
                text, cells, style = "", [], s
            text += ch
            cells.append(n)
        runs.append(self._run(text, cells, style))
        out.append(TextLine(tuple(runs), self.align))
        self._line = []

    @staticmethod
    def _run(text: str, cells: list[int], s: _Style) -> Run:
        return Run(text, tuple(cells), s.width, s.height, s.bold, s.underline, s.invert)

    def _text(self, i: int) -> int:
        b = self._buf[i]
        if self.chinese and b >= 0x80:
            if not 0x81 <= b <= 0xFE:
                self._line.append(("\ufffd", 1, self.style))
                return i + 1
            self._need(i, 2)
            size = 4 if 0x30 <= self._buf[i + 1] <= 0x39 else 2
            self._need(i, size)
            ch = bytes(self._buf[i:i + size]).decode("gb18030", errors="replace")
            self._line.append((ch[:1], 2, self.style))
            return i + size
        if b < 0x80:
            ch = chr(b)
        else:
            table = _codepage(self.codepage)
            ch = table[b - 128] if table else "\ufffd"
        self._line.append((ch, 1, self.style))
        return i + 1

    # ------------------------------------------------------------- commands

    def _step(self, i: int, out: list[Element]) -> int:
        b = self._buf[i]
        if b == 0x0A:
            self._print_line(out)
            return i + 1
        if b in (0x0D, 0x00):
            return i + 1
        if b == 0x09:
            self._line.append((" ", 1, self.style))
            return i + 1
        if b == 0x0C:
            self._print_line(out, force=False)
            return i + 1
        if b == 0x10:
            return self._dle(i, out)
        if b == 0x1B:
            return self._esc(i, out)
        if b == 0x1C:
            return self._fs(i, out)
        if b == 0x1D:
            return self._gs(i, out)
        if b < 0x20 or b == 0x7F:
            out.append(Unknown(bytes([b])))
            return i + 1
        return self._text(i)

    def _dle(self, i: int, out: list[Element]) -> int:
        self._need(i, 2)
        c = self._buf[i + 1]
        if c == 0x04:                       # DLE EOT n: real-time status
            self._need(i, 3)
            out.append(Query("DLE EOT", self._buf[i + 2]))
            return i + 3
        if c == 0x05:                       # DLE ENQ n: real-time request
            self._need(i, 3)
            return i + 3
        if c == 0x14:                       # DLE DC4 fn m t
            self._need(i, 5)
            return i + 5
        out.append(Unknown(bytes(self._buf[i:i + 2])))
        return i + 2

    def _esc(self, i: int, out: list[Element]) -> int:
        self._need(i, 2)
        c = bytes(self._buf[i + 1:i + 2])
        if c == b"@":
            self._line = []
            self._reset()
            return i + 2
        if c == b"2":
            self.spacing = LINE_SPACING
            return i + 2
        self._need(i, 3)
        n = self._buf[i + 2]
        if c == b"!":                       # print mode: bold, double height/width, underline
            self.style = replace(self.style, bold=bool(n & 0x08), height=2 if n & 0x10 else 1,
                                 width=2 if n & 0x20 else 1, underline=bool(n & 0x80))
        elif c in (b"E", b"G"):
            self.style = replace(self.style, bold=bool(n & 1))
        elif c == b"-":
            self.style = replace(self.style, underline=n in (1, 2, 49, 50))
        elif c == b"a":
            self.align = _ALIGN.get(n, self.align)
        elif c == b"t":
            self.codepage = n
        elif c == b"3":
            self.spacing = n
        elif c == b"J":
            self._print_line(out, force=False)
            out.append(Feed(n))
        elif c == b"d":
            had_line = bool(self._line)
            self._print_line(out, force=False)
            lines = n - 1 if had_line else n
            if lines > 0:
                out.append(Feed(lines * self.spacing))
        elif c == b"c":                     # ESC c 3/4/5 n: sensors, panel buttons
            self._need(i, 4)
            return i + 4
        elif c == b"*":                     # ESC * m nL nH d...: column bit image
            self._need(i, 5)
            m, cols = self._buf[i + 2], self._buf[i + 3] + 256 * self._buf[i + 4]
            size = cols * (3 if m in (32, 33) else 1)
            self._need(i, 5 + size)
            out.append(Unknown(bytes(self._buf[i:i + 5 + size])))
            return i + 5 + size
        elif c == b"D":                     # tab positions, NUL-terminated
            end = self._buf.find(b"\x00", i + 2)
            if end < 0:
                raise _Need
            return end + 1
        else:
            return self._skip(i, c, _ESC_SKIP, out)
        return i + 3

    def _skip(self, i: int, c: bytes, table: dict[bytes, int], out: list[Element]) -> int:
        """A two-byte command the table says carries k argument bytes (which do not
        change the print): step over it; one not in the table is kept as Unknown."""
        if c in table:
            self._need(i, 2 + table[c])
            return i + 2 + table[c]
        out.append(Unknown(bytes(self._buf[i:i + 2])))
        return i + 2

    def _fs(self, i: int, out: list[Element]) -> int:
        self._need(i, 2)
        c = bytes(self._buf[i + 1:i + 2])
        if c == b"&":
            self.chinese = True
            return i + 2
        if c == b".":
            self.chinese = False
            return i + 2
        return self._skip(i, c, _FS_SKIP, out)

    def _gs(self, i: int, out: list[Element]) -> int:
        self._need(i, 2)
        c = bytes(self._buf[i + 1:i + 2])
        if c == b"v":
            return self._raster(i, out)
        if c == b"(":
            return self._gs_paren(i, out)
        if c == b"V":
            self._need(i, 3)
            m = self._buf[i + 2]
            self._print_line(out, force=False)
            out.append(Cut(partial=m in (1, 49, 66, 98, 104)))
            if m in (65, 66, 97, 98, 103, 104):
                self._need(i, 4)
                return i + 4
            return i + 3
        self._need(i, 3)
        n = self._buf[i + 2]
        if c == b"!":
            self.style = replace(self.style, width=(n >> 4) + 1, height=(n & 0x0F) + 1)
        elif c == b"B":
            self.style = replace(self.style, invert=bool(n & 1))
        elif c == b"r":
            out.append(Query("GS r", n))
        elif c == b"*":                     # GS * x y d...: define downloaded image
            self._need(i, 4)
            size = self._buf[i + 2] * self._buf[i + 3] * 8
            self._need(i, 4 + size)
            return i + 4 + size
        else:
            return self._skip(i, c, _GS_SKIP, out)
        return i + 3

    def _raster(self, i: int, out: list[Element]) -> int:
        """GS v 0 m xL xH yL yH d...: a raster picture, (xL + 256 xH) bytes per row."""
        self._need(i, 8)
        if self._buf[i + 2] not in (0x30, 0x00):
            out.append(Unknown(bytes(self._buf[i:i + 3])))
            return i + 3
        wbytes = self._buf[i + 4] + 256 * self._buf[i + 5]
        rows = self._buf[i + 6] + 256 * self._buf[i + 7]
        end = i + 8 + wbytes * rows
        self._need(i, end - i)
        data = bytes(self._buf[i + 8:end])
        # a set bit prints a dot; a "1" image has white = 1, so invert the bits
        im = Image.frombytes("1", (wbytes * 8, rows), bytes(255 - v for v in data))
        self._print_line(out, force=False)
        out.append(Picture(im, self.align))
        return end

    def _gs_paren(self, i: int, out: list[Element]) -> int:
        """GS ( X pL pH ...: QR codes (GS ( k, cn 49); other functions are skipped."""
        self._need(i, 5)
        kind = bytes(self._buf[i + 2:i + 3])
        size = self._buf[i + 3] + 256 * self._buf[i + 4]
        end = i + 5 + size
        self._need(i, end - i)
        body = bytes(self._buf[i + 5:end])
        if kind != b"k" or len(body) < 2 or body[0] != 49:
            out.append(Unknown(bytes(self._buf[i:end])))
            return end
        fn = body[1]
        if fn == 67 and len(body) >= 3:       # module size
            self._qr["module"] = body[2]
        elif fn == 69 and len(body) >= 3:     # error correction level
            self._qr["ec"] = _EC.get(body[2], "L")
        elif fn == 80:                        # store the data (after m = 48)
            self._qr["data"] = body[3:]
        elif fn == 81:                        # print the stored symbol
            self._print_line(out, force=False)
            payload = bytes(self._qr["data"]).decode("utf-8", errors="replace")  # type: ignore[arg-type]
            out.append(QRCode(payload, int(self._qr["module"]), self._qr["ec"],  # type: ignore[arg-type]
                              self.align))
        return end


# ------------------------------------------------------------------ whole streams


def decode(data: bytes, chinese: bool = False) -> list[Element]:
    """Every element of a complete byte stream."""
    d = Decoder(chinese)
    d.feed(data)
    d.close()
    return d.elements


def tickets(elements: list[Element]) -> list[list[Element]]:
    """Split at the cuts: each ticket's elements, the cut included (the last ticket may
    have no cut, when the stream ended without one)."""
    out: list[list[Element]] = [[]]
    for e in elements:
        out[-1].append(e)
        if isinstance(e, Cut):
            out.append([])
    return [t for t in out if any(not isinstance(e, Query) for e in t)]


def stacked_picture(elements: list[Element]) -> Image.Image | None:
    """The pictures of a ticket one under the other (a raster ticket sent in bands)."""
    pics = [e.image for e in elements if isinstance(e, Picture)]
    if not pics:
        return None
    width = max(p.width for p in pics)
    out = Image.new("1", (width, sum(p.height for p in pics)), 1)
    y = 0
    for p in pics:
        out.paste(p, (0, y))
        y += p.height
    return out


def render_decoded(elements: list[Element], dots: int) -> Image.Image:
    """What the printer would have put on paper for one ticket."""
    return render(elements, dots)
