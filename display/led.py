"""LED window strips on an RS-485 bus (pyserial).

A frame of the default profile (``cn-a0-90``, strips commonly sold in China):

    A0 90 ADDR A5 LENH LENL  (GBK bytes of a character, colour byte) × n  CHECK

* LEN (big-endian, LENH LENL) = the number of payload bytes: those after LENL and
  before CHECK (each character's 1 or 2 GBK bytes plus its colour byte).
* CHECK = XOR of every byte from the first header byte (A0) through the last
  payload byte.
* The strip answers one byte, 0xAA, when it took the frame; a bad frame gets nothing.

Everything vendor-specific is in ``LedProfile`` (assets/led/*.toml), so another
vendor is a new profile, not new code. ``LedBus`` writes frames, waits for the
ack, retries, and reports a strip ``offline`` (and ``ok`` when it answers again)
through a callback. ``FakeStrip`` is a test double on a pty pair.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatcher import busprofile
from dispatcher.ptydouble import PtyDevice

log = logging.getLogger("onewindow.led")

PROFILE_DIR = Path(__file__).resolve().parent.parent / "assets" / "led"
DEFAULT_PROFILE = "cn-a0-90"
StatusCallback = Callable[[str, str, str], None]   # (window, "ok"/"offline", detail)


class LedError(Exception):
    """An LED configuration or bus problem; the text says what is wrong."""


def _hex_bytes(value: Any, key: str) -> bytes:
    return busprofile.hex_bytes(value, key, "LED profile", LedError, "A0 90")


@dataclass(frozen=True)
class LedProfile:
    """One vendor's framing. Field names are the TOML keys (hex bytes as "A0 90")."""

    name: str = DEFAULT_PROFILE
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    header: bytes = b"\xa0\x90"     # before the address
    command: bytes = b"\xa5"        # after the address: "show text"
    length_bytes: int = 2           # big-endian payload length after the command
    encoding: str = "gbk"           # gbk or gb2312
    colour_per_char: bool = True    # a colour byte after each character's bytes
    colours: dict[str, int] = field(default_factory=lambda: {
        "red": 0x01, "green": 0x02, "yellow": 0x03})
    default_colour: str = "red"
    checksum: str = "xor"           # xor over header … last payload byte; "none": no check
    ack: bytes = b"\xaa"
    ack_timeout: float = 0.3        # seconds to wait for the ack
    retries: int = 2                # resends after the first try before "offline"
    max_chars: int = 0              # 0: no limit; else the text is cut to this length

    def __post_init__(self) -> None:
        if self.checksum not in ("xor", "none"):
            raise LedError(f"LED profile {self.name}: checksum {self.checksum!r}: "
                           "use xor or none")
        if self.default_colour not in self.colours:
            raise LedError(f"LED profile {self.name}: default_colour {self.default_colour!r} "
                           f"is not one of its colours {sorted(self.colours)}")
        try:
            "".encode(self.encoding)
        except LookupError:
            raise LedError(f"LED profile {self.name}: unknown encoding {self.encoding!r}") \
                from None
        if self.length_bytes not in (1, 2):
            raise LedError(f"LED profile {self.name}: length_bytes must be 1 or 2")

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "") -> LedProfile:
        busprofile.reject_unknown(cls, data, name, "LED profile", LedError)
        values = dict(data)
        for key in ("header", "command", "ack"):
            if key in values:
                values[key] = _hex_bytes(values[key], key)
        if "colours" in values:
            values["colours"] = {str(k): int(v) for k, v in values["colours"].items()}
        values.setdefault("name", name or DEFAULT_PROFILE)
        return cls(**values)

    def colour_byte(self, colour: str | None) -> int:
        colour = colour or self.default_colour
        if colour not in self.colours:
            raise LedError(f"LED profile {self.name}: no colour {colour!r}; "
                           f"use one of {sorted(self.colours)}")
        return self.colours[colour]

    # ------------------------------------------------------------ framing

    def payload(self, text: str, colour: str | None = None) -> bytes:
        if self.max_chars:
            text = text[: self.max_chars]
        code = self.colour_byte(colour)
        out = bytearray()
        for char in text:
            try:
                out += char.encode(self.encoding)
            except UnicodeEncodeError:
                raise LedError(f"{char!r} in {text!r} cannot be shown: it has no "
                               f"{self.encoding} code") from None
            if self.colour_per_char:
                out.append(code)
        return bytes(out)

    def frame(self, address: int, text: str, colour: str | None = None) -> bytes:
        if not 0 <= address <= 255:
            raise LedError(f"LED address {address}: must be 0–255")
        body = self.payload(text, colour)
        if len(body) >= 256 ** self.length_bytes:
            raise LedError(f"text {text!r} is too long for one frame")
        head = self.header + bytes([address]) + self.command + \
            len(body).to_bytes(self.length_bytes, "big")
        frame = head + body
        return frame + self.check(frame)

    def check(self, data: bytes) -> bytes:
        if self.checksum == "none":
            return b""
        value = 0
        for byte in data:
            value ^= byte
        return bytes([value])

    def decode_payload(self, body: bytes) -> tuple[str, list[int]]:
        """Text and colour bytes of a payload (the FakeStrip's side)."""
        chars, colours, i = [], [], 0
        while i < len(body):
            width = 1 if body[i] < 0x80 else 2
            chars.append(body[i:i + width].decode(self.encoding))
            i += width
            if self.colour_per_char:
                colours.append(body[i])
                i += 1
        return "".join(chars), colours


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> LedProfile:
    """A profile by name (assets/led/NAME.toml) or by TOML path."""
    data, name = busprofile.read_profile(name_or_path, PROFILE_DIR, "LED profile", LedError)
    return LedProfile.from_dict(data, name)


def parse_map(text: str) -> dict[str, int]:
    """``B01=1,B02=2`` → {"B01": 1, "B02": 2}."""
    result: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        window, sep, addr = part.partition("=")
        if not sep or not window.strip() or not addr.strip().isdigit() or int(addr) > 255:
            raise LedError(f"--map {part!r}: expected WINDOW=ADDRESS with an address 0–255, "
                           "like B01=1,B02=2")
        if int(addr) in result.values():
            raise LedError(f"--map: address {int(addr)} is given to two windows")
        result[window.strip()] = int(addr)
    if not result:
        raise LedError("--map is empty; expected WINDOW=ADDRESS,… like B01=1,B02=2")
    return result


# ---------------------------------------------------------------- the bus


class LedBus:
    """The strips on one serial port. ``show`` blocks (one frame at a time on the bus)
    until the strip acknowledged or every retry timed out. ``on_status(window, status,
    detail)`` is called when a strip goes ``offline`` and when it answers again (``ok``)."""

    def __init__(self, port_url: str, profile: LedProfile, addresses: dict[str, int], *,
                 on_status: StatusCallback | None = None, serial_port: Any = None) -> None:
        self.port_url, self.profile = port_url, profile
        self.addresses = dict(addresses)
        self.on_status = on_status
        self.online: dict[str, bool] = dict.fromkeys(self.addresses, True)
        self.shown: dict[str, tuple[str, str | None]] = {}   # last text sent (acked or not)
        self._lock = threading.Lock()
        self._port = serial_port if serial_port is not None else self._open(port_url)

    def _open(self, url: str) -> Any:
        import serial

        p = self.profile
        try:
            return serial.serial_for_url(url, baudrate=p.baudrate, bytesize=p.bytesize,
                                         parity=p.parity, stopbits=p.stopbits,
                                         timeout=p.ack_timeout, write_timeout=2)
        except (serial.SerialException, ValueError) as exc:
            raise LedError(f"LED bus {url}: cannot open: {exc}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()

    def show(self, window: str, text: str, colour: str | None = None, *,
             tries: int | None = None) -> bool:
        """Show text on a window's strip; True if the strip acknowledged. ``tries``:
        how often to send it without an ack (default 1 + the profile's retries)."""
        if window not in self.addresses:
            raise LedError(f"window {window} has no strip address (see --map)")
        frame = self.profile.frame(self.addresses[window], text, colour)
        self.shown[window] = (text, colour)
        with self._lock:
            ok = self._send(frame, tries or 1 + max(self.profile.retries, 0))
        self._set_online(window, ok)
        return ok

    def _send(self, frame: bytes, tries: int) -> bool:
        ack = self.profile.ack
        for _ in range(tries):
            try:
                self._port.reset_input_buffer()
                self._port.write(frame)
                self._port.flush()
                if not ack:
                    return True
                got = self._port.read(len(ack))
            except Exception as exc:  # a lost USB adapter: every strip is unreachable
                log.warning("LED bus %s: %s", self.port_url, exc)
                got = b""
            if got == ack:
                return True
        return False

    def _set_online(self, window: str, ok: bool) -> None:
        if self.online.get(window, True) == ok:
            return
        self.online[window] = ok
        detail = "" if ok else (f"no answer from address {self.addresses[window]} after "
                                f"{1 + self.profile.retries} tries")
        log.info("LED strip %s: %s %s", window, "ok" if ok else "offline", detail)
        if self.on_status is not None:
            self.on_status(window, "ok" if ok else "offline", detail)


# ---------------------------------------------------------------- test double


class FakeStrip(PtyDevice):
    """Strips on a pty pair: ``path`` is the serial device to open. Decodes each frame,
    checks it, records what every address shows and acks with the profile's ack —
    except addresses in ``silent`` (an unplugged strip). Bad frames go to ``rejected``."""

    thread_name = "fake-strip"

    def __init__(self, profile: LedProfile | None = None) -> None:
        self.profile = profile or LedProfile()
        self.shows: dict[int, str] = {}
        self.colours: dict[int, list[int]] = {}
        self.frames: list[bytes] = []
        self.rejected: list[bytes] = []
        self.silent: set[int] = set()
        self._buffer = bytearray()
        super().__init__()

    def wait_for(self, address: int, text: str, timeout: float = 5.0) -> bool:
        return self.wait(lambda: self.shows.get(address) == text, timeout)

    def __enter__(self) -> FakeStrip:
        return self

    def received(self, data: bytes) -> None:
        self._buffer += data
        while self._parse_one():
            pass

    def _parse_one(self) -> bool:
        p = self.profile
        buf = self._buffer
        start = buf.find(p.header)
        if start < 0:
            del buf[: max(len(buf) - len(p.header) + 1, 0)]
            return False
        del buf[:start]
        head_len = len(p.header) + 1 + len(p.command) + p.length_bytes
        if len(buf) < head_len:
            return False
        length = int.from_bytes(buf[head_len - p.length_bytes:head_len], "big")
        check_len = 0 if p.checksum == "none" else 1
        total = head_len + length + check_len
        if len(buf) < total:
            return False
        frame = bytes(buf[:total])
        del buf[:total]
        address = frame[len(p.header)]
        body = frame[head_len:head_len + length]
        command = frame[len(p.header) + 1:len(p.header) + 1 + len(p.command)]
        try:
            if command != p.command or p.check(frame[:total - check_len]) != \
                    frame[total - check_len:]:
                raise ValueError("bad command or checksum")
            text, colours = p.decode_payload(body)
        except (ValueError, IndexError):
            self.rejected.append(frame)
            return True
        with self.changed:
            self.frames.append(frame)
            if address in self.silent:
                return True
            self.shows[address] = text
            self.colours[address] = colours
            self.changed.notify_all()
        os.write(self._master, p.ack)
        return True
