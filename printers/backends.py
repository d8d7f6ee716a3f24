"""Printer URLs → open connections, on python-escpos's printer classes.

    usb://0416:5011[?in_ep=0x81&out_ep=0x03&timeout=5]      Usb (needs pyusb + libusb)
    serial:///dev/ttyUSB0?baudrate=19200[&flow=rtscts...]    Serial (pyserial)
    tcp://192.168.1.50[:9100][?timeout=3]                     Network
    file:///dev/usb/lp0   or   file:///tmp/ticket.bin         File (write only, no status)
    virtual://NAME[?paper=out&cover=open&out=DIR&mute=1]      in-process virtual printer

A connection writes bytes and reads the printer's answers with a timeout (the
``status.Channel`` the status queries use); python-escpos's own ``_read`` has no
per-call timeout (a network read waits for the socket's 60 s default). Every
failure is a PrinterError whose text names the URL.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from escpos.exceptions import DeviceNotFoundError

from .status import NotReadable

Kind = Literal["usb", "serial", "tcp", "file", "virtual"]
EXAMPLES = ("usb://VID:PID, serial:///dev/ttyUSB0?baudrate=19200, tcp://HOST:9100, "
            "file:///path or virtual://NAME")
_OPTIONS: dict[str, tuple[str, ...]] = {
    "usb": ("in_ep", "out_ep", "timeout"),
    "serial": ("baudrate", "bytesize", "parity", "stopbits", "flow", "timeout"),
    "tcp": ("timeout",),
    "file": (),
    "virtual": ("paper", "cover", "out", "width", "mute", "paper_dots", "chinese"),
}
_USB_ID = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})$")


class PrinterError(Exception):
    """Something about a printer went wrong; the text is one line naming its URL."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"printer {url}: {reason}")


class PrinterURLError(PrinterError, ValueError):
    """The URL itself is wrong (a kiosk configuration error)."""


class PrinterUnavailable(PrinterError):
    """The printer cannot be opened or reached."""


class PrinterIOError(PrinterError, OSError):
    """Writing to or reading from an open printer failed."""


@dataclass(frozen=True)
class PrinterTarget:
    url: str
    kind: Kind
    address: str                         # VID:PID, device path, host:port, file path or name
    options: dict[str, Any] = field(default_factory=dict)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def parse_url(url: str) -> PrinterTarget:
    """Check a printer URL and take it apart; raise PrinterURLError saying what is wrong."""
    if not isinstance(url, str) or "://" not in url:
        raise PrinterURLError(str(url), f"not a printer URL; use {EXAMPLES}")
    parts = urlsplit(url)
    kind = parts.scheme.lower()
    if kind not in _OPTIONS:
        raise PrinterURLError(url, f"unknown scheme {parts.scheme!r}; use {EXAMPLES}")
    raw: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _OPTIONS[kind]:
            allowed = ", ".join(_OPTIONS[kind]) or "none"
            raise PrinterURLError(url, f"unknown option {key!r} for {kind}:// (options: {allowed})")
        if key in raw:
            raise PrinterURLError(url, f"option {key!r} is given twice")
        raw[key] = value
    return PrinterTarget(url, kind, *_address_and_options(url, kind, parts, raw))  # type: ignore[arg-type]


def _number(url: str, key: str, value: str, kind: type = float, low: float = 0,
            high: float = float("inf")) -> Any:
    try:
        number = int(value, 0) if kind is int else float(value)
    except ValueError:
        raise PrinterURLError(url, f"option {key}={value!r} is not a number") from None
    if not low <= number <= high:
        raise PrinterURLError(url, f"option {key}={value} is out of range {low:g}-{high:g}")
    return number


def _address_and_options(url: str, kind: str, parts: Any,
                         raw: dict[str, str]) -> tuple[str, dict[str, Any]]:
    opts: dict[str, Any] = {}
    if "timeout" in raw:
        opts["timeout"] = _number(url, "timeout", raw["timeout"], float, 0.05, 600)
    if kind == "usb":
        m = _USB_ID.match(parts.netloc + parts.path.rstrip("/"))
        if not m:
            raise PrinterURLError(url, "expected usb://VID:PID in hex, like usb://0416:5011 "
                                  "(lsusb shows them)")
        opts["vid"], opts["pid"] = int(m[1], 16), int(m[2], 16)
        for key in ("in_ep", "out_ep"):
            if key in raw:
                opts[key] = _number(url, key, raw[key], int, 0, 255)
        return f"{opts['vid']:04x}:{opts['pid']:04x}", opts
    if kind == "serial":
        if parts.netloc:
            raise PrinterURLError(url, "a serial URL has three slashes and a device path, "
                                  "like serial:///dev/ttyUSB0?baudrate=19200")
        path = parts.path
        if re.fullmatch(r"/COM\d+", path, re.IGNORECASE):
            path = path[1:]
        if not path or path == "/":
            raise PrinterURLError(url, "no serial device path, like serial:///dev/ttyUSB0")
        opts["baudrate"] = _number(url, "baudrate", raw.get("baudrate", "9600"), int, 50,
                                   4_000_000)
        opts["bytesize"] = _number(url, "bytesize", raw.get("bytesize", "8"), int, 5, 8)
        parity = raw.get("parity", "N").upper()
        if parity not in ("N", "E", "O", "M", "S"):
            raise PrinterURLError(url, f"parity={parity!r}: use N, E, O, M or S")
        opts["parity"] = parity
        stopbits = raw.get("stopbits", "1")
        if stopbits not in ("1", "1.5", "2"):
            raise PrinterURLError(url, f"stopbits={stopbits!r}: use 1, 1.5 or 2")
        opts["stopbits"] = float(stopbits) if stopbits == "1.5" else int(stopbits)
        flow = raw.get("flow", "none").lower()
        if flow not in ("none", "rtscts", "dsrdtr", "xonxoff"):
            raise PrinterURLError(url, f"flow={flow!r}: use none, rtscts, dsrdtr or xonxoff")
        opts["flow"] = flow
        return path, opts
    if kind == "tcp":
        host = parts.hostname
        try:
            port = parts.port or 9100
        except ValueError:
            raise PrinterURLError(url, "the port is not a number from 1 to 65535") from None
        if not host or parts.path not in ("", "/"):
            raise PrinterURLError(url, "expected tcp://HOST:PORT, like tcp://192.168.1.50:9100")
        opts["host"], opts["port"] = host, port
        return f"{host}:{port}", opts
    if kind == "file":
        if parts.netloc not in ("", "localhost") or not parts.path or parts.path == "/":
            raise PrinterURLError(url, "expected file:///absolute/path (three slashes)")
        return parts.path, opts
    # virtual
    name = parts.netloc or "default"
    if "paper" in raw:
        if raw["paper"] not in ("ok", "near_end", "out"):
            raise PrinterURLError(url, f"paper={raw['paper']!r}: use ok, near_end or out")
        opts["paper"] = raw["paper"]
    if "cover" in raw:
        if raw["cover"] not in ("open", "closed"):
            raise PrinterURLError(url, f"cover={raw['cover']!r}: use open or closed")
        opts["cover_open"] = raw["cover"] == "open"
    opts.update(out_dir=raw.get("out") or None,
                mute=raw.get("mute", "0") in ("1", "true", "yes"),
                chinese=raw.get("chinese", "0") in ("1", "true", "yes"))
    if "width" in raw:
        opts["width"] = _number(url, "width", raw["width"], int, 58, 80)
        if opts["width"] not in (58, 80):
            raise PrinterURLError(url, "width is 58 or 80")
    if "paper_dots" in raw:
        opts["paper_dots"] = _number(url, "paper_dots", raw["paper_dots"], int, 0)
    return name, opts


# ---------------------------------------------------------------------- connections


class Connection:
    """An open printer. ``readable`` says whether it can answer status queries."""

    readable = True

    def __init__(self, target: PrinterTarget) -> None:
        self.target = target
        self.url = target.url
        self.escpos: Any = None           # the python-escpos printer object, if any

    def write(self, data: bytes) -> None:
        try:
            self.escpos._raw(data)
        except Exception as exc:  # each backend raises its own kind (socket, serial, usb)
            raise PrinterIOError(self.url, f"write failed: {_one_line(exc)}") from exc

    def read(self, timeout: float) -> bytes:
        raise NotReadable(f"{self.target.kind}:// cannot read answers from the printer")

    def drain(self) -> None:
        if not self.readable:
            raise NotReadable(f"{self.target.kind}:// cannot read answers from the printer")

    def close(self) -> None:
        if self.escpos is not None:
            with contextlib.suppress(Exception):  # a broken device must not hide the error
                self.escpos.close()
            self.escpos = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: BaseException) -> str:
    """python-escpos wraps errors as "Could not open ...:\\n<cause>"; keep the cause."""
    text = str(getattr(exc, "msg", exc)).strip()
    return _one_line(text.splitlines()[-1] if text else type(exc).__name__)


class NetworkConnection(Connection):
    def __init__(self, target: PrinterTarget, timeout: float) -> None:
        super().__init__(target)
        from escpos.printer import Network

        timeout = target.options.get("timeout", timeout)
        self.escpos = Network(target.options["host"], target.options["port"], timeout=timeout)
        try:
            self.escpos.open()
        except DeviceNotFoundError as exc:
            self.escpos = None
            reason = _reason(exc)
            if "timed out" in reason:
                reason = f"no connection within {timeout:g} s (is it on and on the network?)"
            raise PrinterUnavailable(target.url, f"cannot connect: {reason}") from None
        # connected: writes may wait while the printer prints and its buffer is full
        self.escpos.device.settimeout(max(timeout, 10.0))

    def read(self, timeout: float) -> bytes:
        sock: socket.socket = self.escpos.device
        old = sock.gettimeout()
        sock.settimeout(max(timeout, 0.001))
        try:
            data = sock.recv(64)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise PrinterIOError(self.url, f"read failed: {_one_line(exc)}") from exc
        finally:
            sock.settimeout(old)
        if not data:
            raise PrinterIOError(self.url, "the printer closed the connection")
        return data

    def drain(self) -> None:
        sock: socket.socket = self.escpos.device
        old = sock.gettimeout()
        sock.setblocking(False)
        try:
            while sock.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        finally:
            sock.settimeout(old)


class SerialConnection(Connection):
    def __init__(self, target: PrinterTarget, timeout: float) -> None:
        super().__init__(target)
        from escpos.printer import Serial

        o = target.options
        timeout = o.get("timeout", timeout)
        self.escpos = Serial(target.address, baudrate=o["baudrate"], bytesize=o["bytesize"],
                             timeout=timeout, parity=o["parity"], stopbits=o["stopbits"],
                             xonxoff=o["flow"] == "xonxoff", dsrdtr=o["flow"] == "dsrdtr")
        try:
            self.escpos.open()
        except DeviceNotFoundError as exc:
            self.escpos = None
            raise PrinterUnavailable(target.url, f"cannot open: {_reason(exc)}") from None
        self.timeout = timeout
        if o["flow"] == "rtscts":
            self.escpos.device.rtscts = True

    def write(self, data: bytes) -> None:
        # a printer holding flow control must not hang the kiosk, but a raster ticket
        # takes its time on the wire: 10 bits a byte at the baud rate, twice over
        wire = len(data) * 10 / self.target.options["baudrate"]
        self.escpos.device.write_timeout = self.timeout + 2 * wire
        super().write(data)

    def read(self, timeout: float) -> bytes:
        dev = self.escpos.device
        dev.timeout = max(timeout, 0.001)
        try:
            data = dev.read(1)
            if data and dev.in_waiting:
                data += dev.read(dev.in_waiting)
        except Exception as exc:  # serial.SerialException and OSError
            raise PrinterIOError(self.url, f"read failed: {_one_line(exc)}") from exc
        return bytes(data)

    def drain(self) -> None:
        self.escpos.device.reset_input_buffer()


class UsbConnection(Connection):
    def __init__(self, target: PrinterTarget, timeout: float) -> None:
        super().__init__(target)
        from escpos.printer import Usb
        from escpos.printer.usb import is_usable

        if not is_usable():   # checked first: python-escpos's Usb raises even in __del__
            raise PrinterUnavailable(target.url, "USB printing needs pyusb and libusb "
                                     "(pip install pyusb; apt-get install libusb-1.0-0)")
        o = target.options
        kwargs = {k: o[k] for k in ("in_ep", "out_ep") if k in o}
        # writes wait while the printer prints (it stops taking data when its buffer is
        # full), so they get at least 10 s; reads have their own timeout
        self.timeout_ms = int(o.get("timeout", max(timeout, 10.0)) * 1000)
        self.escpos = Usb(o["vid"], o["pid"], timeout=self.timeout_ms, **kwargs)
        try:
            self.escpos.open()
        except DeviceNotFoundError:
            self.escpos = None
            raise PrinterUnavailable(target.url, f"no USB device {target.address} (is it "
                                     "plugged in and on? lsusb lists devices)") from None
        except Exception as exc:  # pyusb's NoBackendError when libusb is missing
            self.escpos = None
            raise PrinterUnavailable(target.url, f"cannot open: {_one_line(exc)}") from None

    def read(self, timeout: float) -> bytes:
        import usb.core

        try:
            data = self.escpos.device.read(self.escpos.in_ep, 64,
                                           timeout=max(1, int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise PrinterIOError(self.url, f"read failed: {_one_line(exc)}") from exc
        return bytes(data)

    def drain(self) -> None:
        for _ in range(16):
            if not self.read(0.02):
                return


class FileConnection(Connection):
    readable = False

    def __init__(self, target: PrinterTarget) -> None:
        super().__init__(target)
        from escpos.printer import File

        self.escpos = File(target.address, auto_flush=True)
        try:
            self.escpos.open()
        except DeviceNotFoundError as exc:
            self.escpos = None
            raise PrinterUnavailable(target.url, f"cannot open: {_reason(exc)}") from None


class VirtualConnection(Connection):
    """A session with an in-process VirtualPrinter (printers/sim.py)."""

    def __init__(self, target: PrinterTarget, width: int) -> None:
        super().__init__(target)
        from .sim import virtual_printer

        o = target.options
        self.printer = virtual_printer(target.address, width=o.get("width", width),
                                       out_dir=o["out_dir"], mute=o["mute"],
                                       chinese=o["chinese"])
        self.printer.set_state(**{k: o[k] for k in ("paper", "cover_open", "paper_dots")
                                  if k in o})
        self.session = self.printer.session()
        self._inbox = bytearray()

    def write(self, data: bytes) -> None:
        self._inbox += self.session.receive(data)

    def read(self, timeout: float) -> bytes:
        if not self._inbox:
            time.sleep(timeout)           # a real printer's silence takes this long too
            return b""
        data, self._inbox = bytes(self._inbox), bytearray()
        return data

    def drain(self) -> None:
        self._inbox.clear()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None  # type: ignore[assignment]


def open_connection(target: str | PrinterTarget, width: int = 80,
                    timeout: float = 3.0) -> Connection:
    """Open the printer a URL names; PrinterUnavailable says why it cannot be."""
    if isinstance(target, str):
        target = parse_url(target)
    if target.kind == "tcp":
        return NetworkConnection(target, timeout)
    if target.kind == "serial":
        return SerialConnection(target, timeout)
    if target.kind == "usb":
        return UsbConnection(target, timeout)
    if target.kind == "file":
        return FileConnection(target)
    return VirtualConnection(target, width)
