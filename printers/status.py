"""Printer status: ask with DLE EOT n / GS r 1, read the answer bytes ourselves.

python-escpos 3.1 reads an empty answer to its paper query as "paper adequate", and
its Dummy printer raises on reads, so this module does the asking and the parsing:
every question has a timeout, an answer is checked against the bit pattern the
ESC/POS manual fixes for it, and no answer means "unknown" — never "OK".

DLE EOT n is answered at once, even while the printer is stopped (paper out,
cover open). GS r 1 is answered only when the printer has worked through all the
data sent before it, which is how ``wait_until_printed`` knows a ticket is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

DLE_EOT = b"\x10\x04"
GS_R = b"\x1dr"
ASK = {1: DLE_EOT + b"\x01", 2: DLE_EOT + b"\x02", 3: DLE_EOT + b"\x03", 4: DLE_EOT + b"\x04"}
ASK_PAPER_DONE = GS_R + b"\x01"   # answered after everything sent before it was printed

Paper = Literal["ok", "near_end", "out"]
State = Literal["ok", "paper_near_end", "paper_out", "cover_open", "offline", "error", "unknown"]
MESSAGES: dict[str, str] = {
    "ok": "正常 ready",
    "paper_near_end": "纸将用完 paper low",
    "paper_out": "缺纸 paper out",
    "cover_open": "纸仓盖打开 cover open",
    "offline": "脱机 offline",
    "error": "打印机故障 printer error",
    "unknown": "状态未知 no status answer",
}


class NotReadable(Exception):
    """The backend cannot read from the printer (a file, a write-only device)."""


class Channel(Protocol):
    """What status queries need from a connection."""

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes:
        """The bytes that arrive within ``timeout`` seconds (b"" if none); raises
        NotReadable when the backend cannot read at all."""
        ...

    def drain(self) -> None:
        """Throw away answers that arrived late, before asking anew."""
        ...


def is_dle_eot_answer(b: int) -> bool:
    """DLE EOT answers have bits 1 and 4 set and bits 0 and 7 clear (0x12 | flags)."""
    return (b & 0x93) == 0x12


def is_gs_r_answer(b: int) -> bool:
    """GS r answers have bits 4 and 7 clear."""
    return (b & 0x90) == 0


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said. ``None`` fields are ones it did not answer."""

    answered: bool
    online: bool | None = None
    cover_open: bool | None = None
    paper: Paper | None = None
    error: bool | None = None
    detail: str = ""

    @classmethod
    def unknown(cls, detail: str) -> PrinterStatus:
        return cls(answered=False, detail=detail)

    @property
    def state(self) -> State:
        if not self.answered:
            return "unknown"
        if self.cover_open:
            return "cover_open"
        if self.paper == "out":
            return "paper_out"
        if self.error:
            return "error"
        if self.online is False:
            return "offline"
        if self.online is None and self.paper is None:
            return "unknown"
        return "paper_near_end" if self.paper == "near_end" else "ok"

    @property
    def ok(self) -> bool:
        """Ready to print: it answered, is online and has paper (maybe running low)."""
        return self.state in ("ok", "paper_near_end")

    @property
    def message(self) -> str:
        text = MESSAGES[self.state]
        return f"{text} ({self.detail})" if self.detail and self.state == "unknown" else text


def parse_status(answers: dict[int, bytes]) -> PrinterStatus:
    """Status from the answer bytes to DLE EOT 1 (printer), 2 (offline cause),
    3 (errors) and 4 (paper sensors). A missing or malformed answer is left unknown."""
    valid = {n: a[-1] for n, a in answers.items() if a and is_dle_eot_answer(a[-1])}
    if not valid:
        heard = ", ".join(f"DLE EOT {n}: {a.hex() or 'nothing'}" for n, a in answers.items())
        return PrinterStatus.unknown(f"no valid answer ({heard})" if heard else "not asked")
    online = cover = error = None
    paper: Paper | None = None
    if 1 in valid:
        online = not valid[1] & 0x08
    if 2 in valid:
        cover = bool(valid[2] & 0x04)
        error = bool(valid[2] & 0x40)
        if valid[2] & 0x20:
            paper = "out"
    if 3 in valid:
        error = bool(error) or bool(valid[3] & 0x68)
    if 4 in valid:
        if valid[4] & 0x60 == 0x60:
            paper = "out"
        elif paper is None:
            paper = "near_end" if valid[4] & 0x0C == 0x0C else "ok"
    raw = " ".join(f"{n}:{b:02x}" for n, b in sorted(valid.items()))
    return PrinterStatus(True, online, cover, paper, error, detail=f"DLE EOT {raw}")


def parse_paper_answer(b: int) -> Paper | None:
    """Paper from a GS r 1 answer byte (bits 2-3 roll end, bits 0-1 near end)."""
    if not is_gs_r_answer(b):
        return None
    if b & 0x0C:
        return "out"
    return "near_end" if b & 0x03 else "ok"


def _answer(channel: Channel, timeout: float, valid: Callable[[int], bool]) -> bytes:
    """The first byte that fits ``valid`` within ``timeout``; others are skipped."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        for b in channel.read(left):
            if valid(b):
                return bytes([b])
    return b""


def query_status(channel: Channel, timeout: float = 1.0,
                 which: tuple[int, ...] = (1, 2, 4)) -> PrinterStatus:
    """Ask DLE EOT for each n in ``which``, waiting up to ``timeout`` for each answer.
    A printer that does not answer the first question is not asked the others. A
    broken connection raises OSError (the caller knows whether that is fatal)."""
    try:
        channel.drain()
        answers: dict[int, bytes] = {}
        for n in which:
            channel.write(ASK[n])
            answers[n] = _answer(channel, timeout, is_dle_eot_answer)
            if not answers[n] and n == which[0]:
                return PrinterStatus.unknown(f"no answer to DLE EOT {n} within {timeout:g} s")
    except NotReadable as exc:
        return PrinterStatus.unknown(str(exc) or "this backend cannot read status")
    return parse_status(answers)


Done = Literal["printed", "paper_out", "no_answer"]


def wait_until_printed(channel: Channel, timeout: float, poll: float = 0.3) -> Done:
    """Send GS r 1 after a job and wait for its answer: the printer answers it only
    when everything before it is printed. Meanwhile DLE EOT 4 is asked every ``poll``
    seconds, so a printer that stopped for lack of paper is noticed at once."""
    try:
        channel.write(ASK_PAPER_DONE)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            data = channel.read(min(poll, left))
            for b in data:
                if is_gs_r_answer(b):
                    return "paper_out" if parse_paper_answer(b) == "out" else "printed"
                if is_dle_eot_answer(b) and b & 0x60 == 0x60:
                    return "paper_out"
            if not data:
                channel.write(ASK[4])
    except (NotReadable, OSError):
        return "no_answer"
    return "no_answer"
