"""Printer status and what the kiosk is told: paper out, cover open, no answer, a
printer that cannot be reached, a bad URL. "No answer" is never "OK"."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest
from escpos.printer import Dummy

from printers.backends import PrinterURLError, parse_url
from printers.printer import Printer
from printers.samples import sample_slip
from printers.sim import PrinterSim, VirtualPrinter, virtual_printer
from printers.status import (
    NotReadable,
    PrinterStatus,
    parse_paper_answer,
    parse_status,
    query_status,
)
from printers.template import load_template

_names = itertools.count()


@pytest.fixture(scope="module")
def slip():
    return sample_slip("normal", load_template())


@pytest.fixture
def sim(tmp_path):
    with PrinterSim(VirtualPrinter(80, out_dir=tmp_path)) as s:
        yield s


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(("answers", "state", "ok"), [
    ({1: b"\x12", 2: b"\x12", 4: b"\x12"}, "ok", True),
    ({1: b"\x12", 2: b"\x12", 4: b"\x1e"}, "paper_near_end", True),
    ({1: b"\x1a", 2: b"\x32", 4: b"\x72"}, "paper_out", False),
    ({1: b"\x12", 2: b"\x12", 4: b"\x72"}, "paper_out", False),
    ({1: b"\x1a", 2: b"\x16", 4: b"\x12"}, "cover_open", False),
    ({1: b"\x1a", 2: b"\x12", 4: b"\x12"}, "offline", False),
    ({1: b"\x12", 2: b"\x52", 4: b"\x12"}, "error", False),
    ({1: b""}, "unknown", False),                     # no answer
    ({1: b"", 2: b"", 4: b""}, "unknown", False),
    ({1: b"\x00", 2: b"\xff", 4: b"A"}, "unknown", False),   # not status bytes at all
])
def test_status_bytes(answers, state: str, ok: bool) -> None:
    status = parse_status(answers)
    assert status.state == state
    assert status.ok is ok


def test_no_answer_is_unknown_where_python_escpos_says_paper_ok() -> None:
    class Silent(Dummy):
        def _read(self) -> bytes:
            return b""

    assert Silent().paper_status() == 2          # python-escpos: "paper adequate"
    status = parse_status({4: b""})
    assert status.paper is None and status.state == "unknown" and not status.ok
    with pytest.raises(NotImplementedError):     # and its Dummy cannot be read at all
        Dummy().paper_status()


def test_gs_r_paper_answer() -> None:
    assert parse_paper_answer(0x00) == "ok"
    assert parse_paper_answer(0x03) == "near_end"
    assert parse_paper_answer(0x0C) == "out"
    assert parse_paper_answer(0x12) is None      # a DLE EOT answer, not GS r


class _Channel:
    """A printer line for query_status: answers from a script, or silence."""

    def __init__(self, answers: dict[bytes, bytes] | None = None, readable: bool = True):
        self.answers, self.readable = answers or {}, readable
        self.inbox, self.sent = bytearray(), []

    def write(self, data: bytes) -> None:
        self.sent.append(data)
        self.inbox += self.answers.get(data, b"")

    def read(self, timeout: float) -> bytes:
        if not self.readable:
            raise NotReadable("cannot read")
        if not self.inbox:
            time.sleep(timeout)
            return b""
        data, self.inbox = bytes(self.inbox), bytearray()
        return data

    def drain(self) -> None:
        self.inbox.clear()


def test_a_silent_printer_is_unknown_after_one_timeout() -> None:
    chan = _Channel()
    start = time.monotonic()
    status = query_status(chan, timeout=0.3)
    took = time.monotonic() - start
    assert status.state == "unknown" and "no answer to DLE EOT 1 within 0.3 s" in status.message
    assert 0.25 <= took < 1.0
    assert chan.sent == [b"\x10\x04\x01"]        # not asked three times over


def test_late_and_stray_bytes_are_not_taken_for_answers() -> None:
    chan = _Channel({b"\x10\x04\x01": b"\x00\x13\x12", b"\x10\x04\x02": b"\x12",
                     b"\x10\x04\x04": b"\x12"})
    chan.inbox += b"\x1a"                          # an old "offline" answer, drained first
    status = query_status(chan, timeout=0.2)
    assert status.state == "ok"


def test_an_unreadable_backend_is_unknown() -> None:
    assert query_status(_Channel(readable=False)).state == "unknown"


# ---------------------------------------------------------------- printing


def test_paper_out_means_not_printed_and_says_why(sim, slip) -> None:
    sim.printer.set_state(paper="out")
    result = Printer(sim.url, 80, "native").print_ticket(slip)
    assert not result.ok and result.printed == "no" and not result.sent
    assert result.status_before.state == "paper_out"
    assert "paper out" in result.error and "缺纸" in result.error and sim.url in result.error
    assert sim.printer.tickets == []


def test_cover_open_means_not_printed(sim, slip) -> None:
    sim.printer.set_state(cover_open=True)
    result = Printer(sim.url, 58, "raster").print_ticket(slip)
    assert not result.ok and result.status_before.state == "cover_open"
    assert "cover open" in result.error
    assert sim.printer.tickets == []


def test_paper_running_out_mid_ticket_is_a_failure(sim, slip) -> None:
    sim.printer.set_state(paper_dots=400)          # a few lines of paper left
    start = time.monotonic()
    result = Printer(sim.url, 80, "native", print_timeout=5).print_ticket(slip)
    assert time.monotonic() - start < 3            # noticed by polling, not by timing out
    assert not result.ok and result.sent and result.printed == "no"
    assert result.status_after.state == "paper_out"
    assert "did not print completely" in result.error
    time.sleep(0.2)                                # the sim's connection closes
    assert [t.complete for t in sim.printer.tickets] == [False]


def test_paper_near_end_prints_with_a_warning(sim, slip) -> None:
    sim.printer.set_state(paper="near_end")
    result = Printer(sim.url, 80, "native").print_ticket(slip)
    assert result.ok and result.warning == "纸将用完 paper low"
    assert len(sim.printer.tickets) == 1


def test_status_of_the_sim(sim) -> None:
    assert Printer(sim.url).status().state == "ok"
    sim.printer.set_state(paper="out")
    assert Printer(sim.url).status().state == "paper_out"


def test_a_printer_that_never_answers_leaves_it_to_the_kiosk(slip) -> None:
    name = f"mute-{next(_names)}"
    result = Printer(f"virtual://{name}?mute=1", 80, "native", status_timeout=0.2,
                     print_timeout=0.4).print_ticket(slip)
    assert not result.ok and result.printed == "unknown" and result.sent
    assert "may or may not have printed" in result.error
    assert virtual_printer(name).tickets          # it did print, but could not say so


def test_file_counts_as_printed(tmp_path, slip) -> None:
    result = Printer(f"file://{tmp_path / 'out.bin'}", 58, "raster").print_ticket(slip)
    assert result.ok and result.printed == "yes"
    assert result.status_after.state == "unknown"
    assert (tmp_path / "out.bin").stat().st_size > 10_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_tcp_printer_fails_fast_naming_it(slip) -> None:
    url = f"tcp://127.0.0.1:{_free_port()}"          # nothing listens there
    start = time.monotonic()
    result = Printer(url, connect_timeout=1).print_ticket(slip)
    assert time.monotonic() - start < 2
    assert not result.ok and not result.sent and result.printed == "no"
    assert result.error.startswith(f"printer {url}: cannot connect")
    assert "\n" not in result.error


def test_connect_timeout_is_reported_as_such(monkeypatch, slip) -> None:
    def hang(self, address):
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket.socket, "connect", hang)
    result = Printer("tcp://192.0.2.7:9100", connect_timeout=1.5).print_ticket(slip)
    assert result.error == ("printer tcp://192.0.2.7:9100: cannot connect: no connection "
                            "within 1.5 s (is it on and on the network?)")


def test_a_host_that_accepts_but_never_answers(slip) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    received = bytearray()

    def swallow() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(65536):
                received.extend(data)

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    url = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    start = time.monotonic()
    result = Printer(url, status_timeout=0.3, print_timeout=0.5).print_ticket(slip)
    assert time.monotonic() - start < 3
    assert result.printed == "unknown" and not result.ok
    assert result.error.startswith(f"printer {url}:")
    thread.join(timeout=2)
    server.close()
    assert b"B017" in received


@pytest.mark.parametrize(("url", "reason"), [
    ("lpt1", "not a printer URL"),
    ("ftp://printer", "unknown scheme 'ftp'"),
    ("usb://printer", "expected usb://VID:PID"),
    ("usb://0416:5011?speed=2", "unknown option 'speed'"),
    ("serial://ttyUSB0", "three slashes"),
    ("serial:///dev/ttyUSB0?baudrate=fast", "baudrate='fast' is not a number"),
    ("serial:///dev/ttyUSB0?parity=X", "parity='X'"),
    ("tcp://:9100", "expected tcp://HOST:PORT"),
    ("tcp://printer:70000", "port is not a number"),
    ("tcp://printer?timeout=0", "out of range"),
    ("file://", "expected file:///absolute/path"),
    ("virtual://x?paper=gone", "paper='gone'"),
])
def test_bad_urls_are_refused_at_start_up(url: str, reason: str) -> None:
    with pytest.raises(PrinterURLError) as err:
        Printer(url)
    assert str(err.value).startswith(f"printer {url}: ")
    assert reason in str(err.value)


def test_good_urls_parse() -> None:
    usb = parse_url("usb://0x0416:0x5011?out_ep=0x03")
    assert (usb.kind, usb.address, usb.options["out_ep"]) == ("usb", "0416:5011", 3)
    serial = parse_url("serial:///dev/ttyUSB0?baudrate=19200&flow=rtscts")
    assert serial.address == "/dev/ttyUSB0" and serial.options["baudrate"] == 19200
    assert parse_url("tcp://10.0.0.5").options["port"] == 9100
    assert parse_url("virtual://").address == "default"


def test_usb_without_pyusb_or_device_says_what_to_do(slip) -> None:
    result = Printer("usb://0416:5011").print_ticket(slip)
    assert not result.ok and result.error.startswith("printer usb://0416:5011: ")
    assert "pyusb" in result.error or "no USB device 0416:5011" in result.error


def test_status_unknown_is_not_ok() -> None:
    assert not PrinterStatus.unknown("x").ok
    assert PrinterStatus(True, online=True).ok
