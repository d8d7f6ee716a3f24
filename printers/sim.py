"""The virtual printer: decodes the ESC/POS it receives and keeps each ticket as a PNG.

``VirtualPrinter`` is the printer itself (paper, cover, the tickets it printed); it
answers DLE EOT n at once, whatever its state, and GS r 1 only when it is printing
(a printer out of paper stops working through its buffer). ``PrinterSim`` puts it
on TCP (port 9100, what `onewindow printer-sim` runs) and ``virtual://NAME`` URLs
reach one in the same process. Tell it to run out of paper or open its cover with
``set_state`` (or --paper-out / --cover-open on the command line); ``paper_dots``
makes it run out part-way through a ticket.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from .elements import (
    PRINTED,
    Cut,
    Element,
    Picture,
    QRCode,
    Query,
    TextLine,
    Unknown,
    paper_dots,
    text_of,
)
from .escpos_decode import Decoder
from .paper import element_height, render
from .raster import paper_png

PaperState = Literal["ok", "near_end", "out"]


@dataclass
class SimTicket:
    """One ticket as the virtual printer printed it."""

    index: int
    elements: list[Element]
    complete: bool                       # ended with a cut, nothing lost to paper-out
    image: Image.Image = field(repr=False)
    png: Path | None = None

    @property
    def text(self) -> str:
        return text_of(self.elements)

    @property
    def lines(self) -> list[str]:
        return [e.text for e in self.elements if isinstance(e, TextLine)]

    @property
    def qr_payloads(self) -> list[str]:
        return [e.payload for e in self.elements if isinstance(e, QRCode)]

    @property
    def pictures(self) -> list[Picture]:
        return [e for e in self.elements if isinstance(e, Picture)]

    @property
    def cut(self) -> bool:
        return any(isinstance(e, Cut) for e in self.elements)

    @property
    def unknown(self) -> list[Unknown]:
        return [e for e in self.elements if isinstance(e, Unknown)]


class Session:
    """One connection's byte stream (a new TCP connection starts a fresh decoder)."""

    def __init__(self, printer: VirtualPrinter) -> None:
        self.printer = printer
        self.decoder = Decoder(chinese=printer.chinese_default)

    def receive(self, data: bytes) -> bytes:
        """Take bytes from the host; return the printer's answers."""
        return self.printer._take(self.decoder.feed(data))

    def close(self) -> None:
        self.printer._take(self.decoder.close(), end=True)


class VirtualPrinter:
    def __init__(self, width: int = 80, out_dir: str | Path | None = None,
                 paper: PaperState = "ok", cover_open: bool = False,
                 paper_dots: int | None = None, chinese: bool = False,
                 mute: bool = False, name: str = "virtual") -> None:
        self.width = width
        self.name = name
        self.out_dir = Path(out_dir) if out_dir else None
        self.paper: PaperState = paper
        self.cover_open = cover_open
        self.paper_dots = paper_dots      # dots of paper left on the roll; None = plenty
        self.chinese_default = chinese    # Chinese mode on at power-up (a DIP switch)
        self.mute = mute                  # answers no status query (an old or one-way printer)
        self.tickets: list[SimTicket] = []
        self.received = 0                 # bytes received in all
        self._current: list[Element] = []
        self._lost = False                # part of the current ticket was not printed
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ control

    def set_state(self, paper: PaperState | None = None, cover_open: bool | None = None,
                  paper_dots: int | None = None) -> None:
        with self._lock:
            if paper is not None:
                self.paper = paper
            if cover_open is not None:
                self.cover_open = cover_open
            if paper_dots is not None:
                self.paper_dots = paper_dots

    def session(self) -> Session:
        return Session(self)

    @property
    def printing(self) -> bool:
        return self.paper != "out" and not self.cover_open

    # ------------------------------------------------------------------ answers

    def status_byte(self, n: int) -> int:
        """The answer to DLE EOT n (0x12 plus the flags of the ESC/POS manual)."""
        stopped = not self.printing
        if n == 1:
            return 0x12 | (0x08 if stopped else 0)
        if n == 2:
            return 0x12 | (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        if n == 3:
            return 0x12
        if n == 4:
            return 0x12 | {"ok": 0, "near_end": 0x0C, "out": 0x6C}[self.paper]
        return 0x12

    def _paper_answer(self) -> int:
        return {"ok": 0x00, "near_end": 0x03, "out": 0x0F}[self.paper]

    # ------------------------------------------------------------------ printing

    def _take(self, elements: list[Element], end: bool = False) -> bytes:
        replies = bytearray()
        with self._lock:
            for e in elements:
                if isinstance(e, Query):
                    if self.mute:
                        continue
                    if e.command == "DLE EOT":
                        replies.append(self.status_byte(e.n))
                    elif self.printing and e.n in (1, 49):
                        replies.append(self._paper_answer())
                    continue
                if not self.printing:
                    self._lost = self._lost or isinstance(e, (*PRINTED, Cut))
                    continue
                if isinstance(e, PRINTED) and self.paper_dots is not None:
                    self.paper_dots -= element_height(e)
                    if self.paper_dots <= 0:        # the roll ran out under this element
                        self.paper_dots, self.paper, self._lost = 0, "out", True
                        continue
                self._current.append(e)
                if isinstance(e, Cut):
                    self._finish(complete=not self._lost)
            if end and any(isinstance(e, PRINTED) for e in self._current):
                self._finish(complete=False)
        return bytes(replies)

    def _finish(self, complete: bool) -> None:
        elements, self._current, self._lost = self._current, [], False
        index = len(self.tickets) + 1
        image = render(elements, paper_dots(self.width))
        ticket = SimTicket(index, elements, complete, image)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            stem = f"ticket-{index:04d}" + ("" if complete else "-incomplete")
            ticket.png = self.out_dir / f"{stem}.png"
            paper_png(image, self.width, ticket.png)
            (self.out_dir / f"{stem}.json").write_text(json.dumps(
                {"lines": ticket.lines, "qr": ticket.qr_payloads, "cut": ticket.cut,
                 "complete": complete}, ensure_ascii=False, indent=1), encoding="utf-8")
        self.tickets.append(ticket)


# ---------------------------------------------------------------------- TCP 9100


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        session = self.server.printer.session()
        sock: socket.socket = self.request
        try:
            while data := sock.recv(65536):
                self.server.printer.received += len(data)
                replies = session.receive(data)
                if replies:
                    sock.sendall(replies)
        except OSError:
            pass
        finally:
            session.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], printer: VirtualPrinter) -> None:
        self.printer = printer
        super().__init__(address, _Handler)


class PrinterSim:
    """A virtual printer on TCP: ``with PrinterSim(out_dir=d) as sim: ... sim.url``."""

    def __init__(self, printer: VirtualPrinter | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.printer = printer or VirtualPrinter()
        self._server = _Server((host, port), self.printer)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"tcp://{host}:{port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> PrinterSim:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True,
                                        name=f"printer-sim:{self.address[1]}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> PrinterSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------- virtual://

_VIRTUAL: dict[str, VirtualPrinter] = {}
_VIRTUAL_LOCK = threading.Lock()


def virtual_printer(name: str = "default", width: int = 80, **options: object) -> VirtualPrinter:
    """The in-process printer a ``virtual://NAME`` URL reaches, made on first use."""
    with _VIRTUAL_LOCK:
        printer = _VIRTUAL.get(name)
        if printer is None:
            printer = _VIRTUAL[name] = VirtualPrinter(width=width, name=name,
                                                      **options)  # type: ignore[arg-type]
        return printer


def forget_virtual(name: str) -> None:
    with _VIRTUAL_LOCK:
        _VIRTUAL.pop(name, None)
