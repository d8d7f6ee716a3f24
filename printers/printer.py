"""The kiosk's printer: ``Printer(url, width, mode).print_ticket(slip) -> PrintResult``.

A ticket counts as printed only when the printer says so afterwards: it answered
GS r 1 (it worked through the ticket) or its DLE EOT status after the job says
online with paper. A printer that does not answer at all gives ``printed ==
"unknown"`` and the kiosk decides (ask the citizen, show the number on screen);
file:// cannot answer and counts as printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from .backends import Connection, PrinterError, open_connection, parse_url
from .elements import paper_dots
from .layout import compose, encode_native
from .raster import encode_raster
from .slip import TicketSlip
from .status import PrinterStatus, query_status, wait_until_printed
from .template import TicketTemplate, load_template

Mode = Literal["native", "raster"]
WIDTHS = (58, 80)
MODES = ("native", "raster")


@dataclass(frozen=True)
class PrintResult:
    ok: bool                        # the ticket is on paper, as far as the printer says
    status_before: PrinterStatus
    status_after: PrinterStatus
    error: str | None = None        # one line naming the printer URL, when not ok
    sent: bool = False              # the ticket's bytes went out to the printer
    url: str = ""
    seconds: float = 0.0

    @property
    def printed(self) -> Literal["yes", "no", "unknown"]:
        if self.ok:
            return "yes"
        if self.sent and not self.status_after.answered:
            return "unknown"
        return "no"

    @property
    def warning(self) -> str | None:
        """Something to report although the ticket printed (paper running low)."""
        state = self.status_after.state
        return self.status_after.message if self.ok and state == "paper_near_end" else None


class Printer:
    """One ticket printer, from the kiosk's config: URL, paper width, text mode."""

    def __init__(self, url: str, width: int = 80, mode: Mode = "native",
                 template: TicketTemplate | None = None, *, connect_timeout: float = 3.0,
                 status_timeout: float = 1.0, print_timeout: float = 5.0) -> None:
        self.target = parse_url(url)           # a bad URL fails here, at start-up
        if width not in WIDTHS:
            raise PrinterError(url, f"width {width!r}: paper is 58 or 80 mm")
        if mode not in MODES:
            raise PrinterError(url, f"mode {mode!r}: use native (Chinese-firmware printers, "
                               "GB18030 text) or raster (any ESC/POS printer)")
        if mode == "raster":                   # raster draws with a CJK font: check now
            from .paper import FontMissing, font_file

            try:
                font_file(False), font_file(True)
            except FontMissing as exc:
                raise PrinterError(url, str(exc)) from None
        self.url, self.width, self.mode = url, width, mode
        self.template = template or load_template()
        self.connect_timeout = connect_timeout
        self.status_timeout = status_timeout
        self.print_timeout = print_timeout

    def ticket_bytes(self, slip: TicketSlip) -> bytes:
        """The ESC/POS for one ticket in this printer's mode and width."""
        elements = compose(slip, self.template, self.width, self.mode)
        if self.mode == "native":
            return encode_native(elements, self.width)
        from .paper import render

        return encode_raster(render(elements, paper_dots(self.width)), self.width)

    def _open(self) -> Connection:
        return open_connection(self.target, self.width, self.connect_timeout)

    def status(self) -> PrinterStatus:
        """Ask the printer how it is (unknown if it cannot be reached or does not say).
        A file:// printer is not opened: it cannot answer, and opening truncates it."""
        if self.target.kind == "file":
            return PrinterStatus.unknown("file:// cannot answer status; the file was not "
                                         "opened")
        try:
            with self._open() as conn:
                return query_status(conn, self.status_timeout)
        except PrinterError as exc:
            return PrinterStatus.unknown(exc.reason)
        except OSError as exc:
            return PrinterStatus.unknown(f"status query failed: {_why(exc)}")

    def print_ticket(self, slip: TicketSlip) -> PrintResult:
        return self.print_bytes(self.ticket_bytes(slip))

    def print_bytes(self, data: bytes) -> PrintResult:
        start = time.monotonic()
        none = PrinterStatus.unknown("not asked")

        def result(ok: bool, before: PrinterStatus, after: PrinterStatus,
                   error: str | None, sent: bool) -> PrintResult:
            return PrintResult(ok, before, after, error, sent, self.url,
                               round(time.monotonic() - start, 3))

        try:
            conn = self._open()
        except PrinterError as exc:
            return result(False, PrinterStatus.unknown(exc.reason), none, str(exc), False)
        with conn:
            try:
                before = query_status(conn, self.status_timeout) if conn.readable else none
            except OSError as exc:
                why = _why(exc)
                return result(False, PrinterStatus.unknown(why), none,
                              f"printer {self.url}: {why}; the ticket was not printed", False)
            if before.answered and not before.ok:
                return result(False, before, before, f"printer {self.url}: {before.message}; "
                              "the ticket was not printed", False)
            try:
                conn.write(data)
            except PrinterError as exc:
                return result(False, before, none, str(exc), False)
            if not conn.readable:                # file://: written is printed
                return result(True, before, PrinterStatus.unknown("file: no status"),
                              None, True)
            done = wait_until_printed(conn, self.print_timeout)
            try:
                after = query_status(conn, self.status_timeout)
            except OSError as exc:
                after = PrinterStatus.unknown(f"status query failed: {_why(exc)}")
        if done == "paper_out" or (after.answered and not after.ok):
            what = after.message if after.answered and not after.ok else "缺纸 paper out"
            return result(False, before, after, f"printer {self.url}: {what}; the ticket did "
                          "not print completely", True)
        if after.ok or (done == "printed" and not after.answered):
            return result(True, before, after, None, True)
        return result(False, before, after, f"printer {self.url}: no status answer after "
                      "printing; the ticket may or may not have printed", True)


def _why(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, PrinterError) else " ".join(str(exc).split())
