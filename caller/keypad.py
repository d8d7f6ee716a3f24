"""Caller keypads on a serial / RS-485 bus (pyserial).

Several keypads share one bus, each with an address. A frame of the default profile
(assets/keypad/default.toml, a keypad family sold in China; 9600 8N1):

    FF 68 L L 68 ADDR FUNC DATA… CS 16

* L (sent twice) = 2 + the number of DATA bytes; the two must agree.
* CS = (ADDR + FUNC + sum of DATA) mod 256.
* Keypad → host: the key is the last DATA byte, the DATA bytes before it are digits
  typed first (``6`` then confirm: no-show); a digit byte ``no_digit`` (00) means no
  digit, as keypads that always send a digit byte send it. FUNC ``rating_func``
  (0x11) is an evaluator's rating in DATA[0]. The host answers each frame by echoing it.
* Host → keypad: FUNC 0x02 with six digit cells (three for the waiting count, three
  for the number; 0–9, 0x0A blank); FUNC 0x03 beeps.

The keypad has digits only, so a ticket number like ``B017`` shows as ``017`` (its
last three digits). Everything vendor-specific is in ``KeypadProfile`` (TOML), so
another vendor's keypad is a new profile, not new code. ``FrameParser`` is a
streaming parser: it resynchronises on the preamble and drops (and logs) a frame
whose two L bytes differ, whose checksum or end byte is wrong. ``FakeKeypad`` is a
test double on a pty pair.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatcher import busprofile
from dispatcher.ptydouble import PtyDevice

log = logging.getLogger("onewindow.keypad")

PROFILE_DIR = Path(__file__).resolve().parent.parent / "assets" / "keypad"
DEFAULT_PROFILE = "default"


class KeypadError(Exception):
    """A keypad configuration or bus problem; the text says what is wrong."""


def _hex(value: Any, key: str) -> bytes:
    return busprofile.hex_bytes(value, key, "keypad profile", KeypadError, "FF 68")


def _byte(value: Any, key: str) -> int:
    return busprofile.one_byte(value, key, "keypad profile", KeypadError, "FF 68")


@dataclass(frozen=True)
class Frame:
    address: int
    func: int
    data: bytes
    raw: bytes = b""


@dataclass(frozen=True)
class KeyEvent:
    """A key pressed on keypad ``address``: ``key`` is a name of the profile's [keys]
    (or ``unknown``), ``digits`` what was typed before it, ``code`` the raw key byte."""

    address: int
    key: str
    digits: str = ""
    code: int = 0


@dataclass(frozen=True)
class Rating:
    address: int
    level: int


@dataclass(frozen=True)
class KeypadProfile:
    """One vendor's framing. Field names are the TOML keys (hex bytes as "FF 68")."""

    name: str = DEFAULT_PROFILE
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    preamble: bytes = b"\xff\x68"
    start: bytes = b"\x68"
    end: bytes = b"\x16"
    length_offset: int = 2
    checksum: str = "sum"
    key_func: int = 0x01
    rating_func: int = 0x11
    display_func: int = 0x02
    beep_func: int = 0x03
    echo: bool = True
    digits: bytes = bytes(range(10))
    no_digit: int | None = 0x00     # a digit byte meaning "no digit typed" (None: none)
    blank: int = 0x0A
    waiting_cells: int = 3
    number_cells: int = 3
    keys: dict[str, int] = field(default_factory=lambda: {
        "call_next": 0x0C, "recall": 0x0D, "evaluate": 0x0B, "pause": 0x12,
        "transfer": 0x13, "confirm": 0x0F})
    confirm: dict[str, str] = field(default_factory=lambda: {
        "6": "no_show", "2": "hold", "3": "call_back", "": "finish"})

    def __post_init__(self) -> None:
        if self.checksum not in ("sum", "xor", "none"):
            raise KeypadError(f"keypad profile {self.name}: checksum {self.checksum!r}: "
                              "use sum, xor or none")
        if len(self.digits) != 10:
            raise KeypadError(f"keypad profile {self.name}: digits must be ten bytes (0–9)")
        if len(set(self.keys.values())) != len(self.keys):
            raise KeypadError(f"keypad profile {self.name}: two keys share a code")
        if not self.preamble:
            raise KeypadError(f"keypad profile {self.name}: preamble is empty")
        if self.no_digit is not None and self.no_digit in self.digits:
            lost = str(self.digits.index(self.no_digit))
            for typed in self.confirm:
                if lost in typed:
                    raise KeypadError(
                        f"keypad profile {self.name}: [confirm] {typed!r}: digit {lost} is "
                        f"sent as {self.no_digit:02X}, which means no digit (no_digit); "
                        "use another digit")

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str = "") -> KeypadProfile:
        busprofile.reject_unknown(cls, data, name, "keypad profile", KeypadError)
        values = dict(data)
        for key in ("preamble", "start", "end", "digits"):
            if key in values:
                values[key] = _hex(values[key], key)
        for key in ("key_func", "rating_func", "display_func", "beep_func", "blank"):
            if key in values:
                values[key] = _byte(values[key], key)
        if "no_digit" in values:
            values["no_digit"] = _byte(values["no_digit"], "no_digit") \
                if values["no_digit"] != "" else None
        if "keys" in values:
            values["keys"] = {str(k): _byte(v, f"keys.{k}") for k, v in values["keys"].items()}
        if "confirm" in values:
            values["confirm"] = {str(k): str(v) for k, v in values["confirm"].items()}
        values.setdefault("name", name or DEFAULT_PROFILE)
        return cls(**values)

    # ------------------------------------------------------------ framing

    def check(self, body: bytes) -> bytes:
        """The check bytes over ADDR FUNC DATA."""
        if self.checksum == "none":
            return b""
        if self.checksum == "xor":
            value = 0
            for byte in body:
                value ^= byte
            return bytes([value])
        return bytes([sum(body) % 256])

    def frame(self, address: int, func: int, data: bytes = b"") -> bytes:
        if not 0 <= address <= 255:
            raise KeypadError(f"keypad address {address}: must be 0–255")
        length = self.length_offset + len(data)
        if length > 255:
            raise KeypadError("keypad frame too long")
        body = bytes([address, func]) + bytes(data)
        return (self.preamble + bytes([length, length]) + self.start + body +
                self.check(body) + self.end)

    def key_frame(self, address: int, key: str, digits: str = "",
                  always_digit: bool = False) -> bytes:
        """What a keypad sends for ``digits`` then ``key`` (FakeKeypad, tests);
        ``always_digit``: a keypad that sends the no-digit byte when none was typed."""
        if key not in self.keys:
            raise KeypadError(f"keypad profile {self.name}: no key {key!r}; "
                              f"known: {sorted(self.keys)}")
        typed = self.encode_digits(digits)
        if always_digit and not typed and self.no_digit is not None:
            typed = bytes([self.no_digit])
        return self.frame(address, self.key_func, typed + bytes([self.keys[key]]))

    def rating_frame(self, address: int, level: int) -> bytes:
        return self.frame(address, self.rating_func, bytes([level]))

    def beep_frame(self, address: int) -> bytes:
        return self.frame(address, self.beep_func)

    def encode_digits(self, text: str) -> bytes:
        out = bytearray()
        for char in text:
            if char == " ":
                out.append(self.blank)
            elif char.isdigit() and char.isascii():
                out.append(self.digits[int(char)])
            else:
                raise KeypadError(f"{char!r} in {text!r}: a keypad shows digits only")
        return bytes(out)

    def decode_digits(self, data: bytes) -> str:
        """Digit cells → text: digits, blank cells as spaces, anything else as ``?``."""
        return "".join(str(self.digits.index(b)) if b in self.digits else
                       " " if b == self.blank else "?" for b in data)

    def display_text(self, waiting: int | None, number: str | None) -> str:
        """The six cells as text: the waiting count right-aligned (blank when None; at
        most 999…), then the number's last digits (``B017`` → ``017``; blank when None)."""
        w = self.waiting_cells
        count = "" if waiting is None else str(min(max(waiting, 0), 10 ** w - 1))
        digits = "".join(c for c in (number or "") if c.isascii() and c.isdigit())
        digits = digits[-self.number_cells:].rjust(self.number_cells, "0") if digits else ""
        return count.rjust(w) + digits.rjust(self.number_cells)

    def display_frame(self, address: int, waiting: int | None, number: str | None) -> bytes:
        return self.frame(address, self.display_func,
                          self.encode_digits(self.display_text(waiting, number)))

    # ------------------------------------------------------------ keypad → host

    def interpret(self, frame: Frame) -> KeyEvent | Rating | None:
        """A keypad frame as a key event or a rating; None (logged) if it is neither."""
        if frame.func == self.rating_func:
            if len(frame.data) < 1 or not 1 <= frame.data[0] <= 5:
                log.warning("keypad %d: rating frame without a level 1–5: %s",
                            frame.address, frame.raw.hex(" "))
                return None
            return Rating(frame.address, frame.data[0])
        if not frame.data:
            log.warning("keypad %d: frame without a key: %s", frame.address, frame.raw.hex(" "))
            return None
        code = frame.data[-1]
        names = [k for k, v in self.keys.items() if v == code]
        typed = bytes(b for b in frame.data[:-1] if b != self.no_digit)
        digits = self.decode_digits(typed).replace(" ", "")
        return KeyEvent(frame.address, names[0] if names else "unknown", digits, code)


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> KeypadProfile:
    """A profile by name (assets/keypad/NAME.toml) or by TOML path."""
    data, name = busprofile.read_profile(name_or_path, PROFILE_DIR, "keypad profile",
                                         KeypadError)
    return KeypadProfile.from_dict(data, name)


class FrameParser:
    """Bytes in, whole checked frames out. Resynchronises on the preamble; a frame
    whose two L bytes differ, whose start byte, checksum or end byte is wrong is
    logged, counted in ``dropped`` and skipped (the search resumes after its preamble)."""

    def __init__(self, profile: KeypadProfile) -> None:
        self.profile = profile
        self.buffer = bytearray()
        self.dropped: list[bytes] = []

    def _drop(self, data: bytes, why: str) -> None:
        self.dropped.append(data)
        log.warning("keypad bus: dropped %s frame: %s", why, data.hex(" "))

    def feed(self, data: bytes) -> list[Frame]:
        p = self.profile
        buf = self.buffer
        buf += data
        out: list[Frame] = []
        pre, check_len = len(p.preamble), len(p.check(b""))
        head = pre + 2 + len(p.start)
        while True:
            at = buf.find(p.preamble)
            if at < 0:
                keep = 0
                for n in range(pre - 1, 0, -1):   # a preamble cut in two stays
                    if buf.endswith(p.preamble[:n]):
                        keep = n
                        break
                if len(buf) > keep:
                    log.debug("keypad bus: skipped %s", bytes(buf[:len(buf) - keep]).hex(" "))
                del buf[:len(buf) - keep]
                return out
            if at:
                log.debug("keypad bus: skipped %s", bytes(buf[:at]).hex(" "))
                del buf[:at]
            if len(buf) < head:
                return out
            l1, l2 = buf[pre], buf[pre + 1]
            if l1 != l2 or l1 < 2 or buf[pre + 2:head] != p.start:
                self._drop(bytes(buf[:head]), "bad header (L bytes differ or no start byte)")
                del buf[:pre]
                continue
            total = head + l1 + check_len + len(p.end)
            if len(buf) < total:
                return out
            raw = bytes(buf[:total])
            body = raw[head:head + l1]
            if raw[head + l1:head + l1 + check_len] != p.check(body) or \
                    raw[total - len(p.end):] != p.end:
                self._drop(raw, "corrupt (checksum or end byte)")
                del buf[:pre]
                continue
            del buf[:total]
            out.append(Frame(body[0], body[1], body[2:], raw))


# ---------------------------------------------------------------- the bus


FrameCallback = Callable[[Frame], None]
HealthCallback = Callable[[bool, str], None]   # (port works, why not)


class KeypadBus:
    """One serial port with the keypads on it. A reader thread parses what comes in and
    calls ``on_frame(frame)`` for every good frame (echoed first when the profile says
    so); ``send`` writes one frame (thread-safe). When the port fails (a USB adapter
    pulled out) ``on_health(False, why)`` is called once, the port is reopened every
    second, and ``on_health(True, "")`` follows once it reads again."""

    def __init__(self, port_url: str, profile: KeypadProfile, *,
                 on_frame: FrameCallback | None = None, serial_port: Any = None,
                 on_health: HealthCallback | None = None) -> None:
        self.port_url, self.profile = port_url, profile
        self.on_frame, self.on_health = on_frame, on_health
        self.healthy = True
        self._reopen = serial_port is None      # a port handed in is the caller's to mend
        self.parser = FrameParser(profile)
        self._lock = threading.Lock()
        self._port = serial_port if serial_port is not None else self._open(port_url)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _open(self, url: str) -> Any:
        import serial

        p = self.profile
        try:
            return serial.serial_for_url(url, baudrate=p.baudrate, bytesize=p.bytesize,
                                         parity=p.parity, stopbits=p.stopbits,
                                         timeout=0.1, write_timeout=2)
        except (serial.SerialException, ValueError) as exc:
            raise KeypadError(f"keypad bus {url}: cannot open: {exc}") from None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="keypad-bus", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._port.read(256)
            except Exception as exc:
                if not self._stop.is_set():
                    self._failed(str(exc) or type(exc).__name__)
                continue
            self._set_health(True, "")
            if not data:
                continue
            for frame in self.parser.feed(data):
                if self.profile.echo:
                    self.send(frame.raw)
                if self.on_frame is not None:
                    try:
                        self.on_frame(frame)
                    except Exception:
                        log.exception("keypad frame handler failed")

    def _failed(self, why: str) -> None:
        if self.healthy:
            log.warning("keypad bus %s: %s", self.port_url, why)
        self._set_health(False, f"keypad bus {self.port_url}: {why}")
        self._stop.wait(1.0)
        if self._reopen and not self._stop.is_set():
            with contextlib.suppress(Exception):
                self._port.close()
            try:
                self._port = self._open(self.port_url)
            except KeypadError as exc:
                log.debug("%s", exc)

    def _set_health(self, ok: bool, why: str) -> None:
        if ok == self.healthy:
            return
        self.healthy = ok
        if self.on_health is not None:
            try:
                self.on_health(ok, why)
            except Exception:
                log.exception("keypad health handler failed")

    def send(self, frame: bytes) -> None:
        with self._lock:
            try:
                self._port.write(frame)
                self._port.flush()
            except Exception as exc:
                log.warning("keypad bus %s: write failed: %s", self.port_url, exc)

    def show(self, address: int, waiting: int | None, number: str | None) -> None:
        self.send(self.profile.display_frame(address, waiting, number))

    def beep(self, address: int) -> None:
        self.send(self.profile.beep_frame(address))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        with contextlib.suppress(Exception):
            self._port.close()


# ---------------------------------------------------------------- test double


class FakeKeypad(PtyDevice):
    """Keypads on a pty pair: ``path`` is the serial device for the host to open.
    ``press(address, key, digits)`` and ``rate(address, level)`` send frames; what the
    host sends back is parsed: echoes (a frame equal to one sent) go to ``echoes``,
    display frames set ``shows[address]`` (the six cells as text, blanks as spaces),
    beeps count in ``beeps[address]``; anything else goes to ``other``."""

    thread_name = "fake-keypad"

    def __init__(self, profile: KeypadProfile | None = None) -> None:
        self.profile = profile or KeypadProfile()
        self.parser = FrameParser(self.profile)
        self.sent: list[bytes] = []
        self.echoes: list[bytes] = []
        self.shows: dict[int, str] = {}
        self.beeps: dict[int, int] = {}
        self.other: list[bytes] = []
        super().__init__()

    def press(self, address: int, key: str, digits: str = "") -> bytes:
        frame = self.profile.key_frame(address, key, digits)
        with self.changed:
            self.sent.append(frame)
        self.write(frame)
        return frame

    def rate(self, address: int, level: int) -> bytes:
        frame = self.profile.rating_frame(address, level)
        with self.changed:
            self.sent.append(frame)
        self.write(frame)
        return frame

    def shown(self, address: int) -> tuple[str, str]:
        """(waiting, number) as shown, stripped of blanks."""
        text = self.shows.get(address, " " * 6)
        w = self.profile.waiting_cells
        return text[:w].strip(), text[w:].strip()

    def wait_for_show(self, address: int, waiting: str, number: str,
                      timeout: float = 5.0) -> bool:
        return self.wait(lambda: self.shown(address) == (waiting, number), timeout)

    def wait_for_beeps(self, address: int, count: int, timeout: float = 5.0) -> bool:
        return self.wait(lambda: self.beeps.get(address, 0) >= count, timeout)

    def __enter__(self) -> FakeKeypad:
        return self

    def received(self, data: bytes) -> None:
        p = self.profile
        for frame in self.parser.feed(data):
            with self.changed:
                if frame.raw in self.sent:
                    self.echoes.append(frame.raw)
                elif frame.func == p.display_func:
                    self.shows[frame.address] = p.decode_digits(frame.data)
                elif frame.func == p.beep_func:
                    self.beeps[frame.address] = self.beeps.get(frame.address, 0) + 1
                else:
                    self.other.append(frame.raw)
                self.changed.notify_all()
