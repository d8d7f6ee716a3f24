"""A serial printer over a pty pair: the backend opens the pty's slave through
serial:///dev/pts/N, and a thread on the master side plays the printer (decodes the
bytes, answers DLE EOT / GS r)."""

from __future__ import annotations

import os
import select
import threading
import tty
from collections.abc import Iterator

import pytest

from printers.elements import QRCode, text_of
from printers.paper import MARGIN
from printers.printer import Printer
from printers.samples import sample_slip
from printers.sim import VirtualPrinter
from printers.template import load_template


class PtyPrinter:
    """The printer end of a pty pair."""

    def __init__(self, printer: VirtualPrinter) -> None:
        self.printer = printer
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.session = printer.session()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:          # EIO: the other side is closed for now
                continue
            if replies := self.session.receive(data):
                os.write(self.master, replies)

    def __enter__(self) -> PtyPrinter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.session.close()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def pty_printer(tmp_path) -> Iterator[PtyPrinter]:
    with PtyPrinter(VirtualPrinter(58, out_dir=tmp_path)) as p:
        yield p


@pytest.mark.parametrize("mode", ["native", "raster"])
def test_serial_round_trip(pty_printer: PtyPrinter, mode: str) -> None:
    slip = sample_slip("green", load_template())
    url = f"serial://{pty_printer.path}?baudrate=19200"
    result = Printer(url, 58, mode).print_ticket(slip)
    assert result.ok, result.error
    assert result.status_before.state == "ok" and result.status_after.state == "ok"
    [ticket] = pty_printer.printer.tickets
    assert ticket.complete and ticket.cut and ticket.png.is_file()
    if mode == "native":
        lines = text_of(ticket.elements).splitlines()
        assert "B017" in lines and "自然人综合服务区 · 马上办" in lines
        assert [e.payload for e in ticket.elements if isinstance(e, QRCode)] == [
            "https://hall.example/t/x7Qk2mVb9RtL4wNp8sJd3A"]
    else:
        assert sum(p.size[1] for p in ticket.pictures) == ticket.image.height - 2 * MARGIN
        assert {p.size[0] for p in ticket.pictures} == {384}


def test_serial_paper_out_is_reported(pty_printer: PtyPrinter) -> None:
    pty_printer.printer.set_state(paper="out")
    url = f"serial://{pty_printer.path}?baudrate=19200"
    result = Printer(url, 58, "native").print_ticket(sample_slip())
    assert not result.ok and "缺纸 paper out" in result.error and url in result.error
    assert pty_printer.printer.tickets == []


def test_serial_status(pty_printer: PtyPrinter) -> None:
    url = f"serial://{pty_printer.path}?baudrate=9600"
    assert Printer(url).status().state == "ok"
    pty_printer.printer.set_state(cover_open=True)
    assert Printer(url).status().state == "cover_open"
