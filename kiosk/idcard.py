"""Second-generation resident ID cards (二代身份证) at the kiosk: the reader driver
and its test double.

The reader is a SAM reader on a serial port (most USB readers show up as one:
CH340/PL2303/CDC), speaking the frame protocol of the GA 467 style SAM module that
most vendors' readers expose. Every frame::

    request  AA AA AA 96 69 | LEN1 LEN2 | CMD PARA | DATA… | CHK
    response AA AA AA 96 69 | LEN1 LEN2 | SW1 SW2 SW3 | DATA… | CHK

* LEN (big-endian) counts the bytes after it, the checksum included;
* CHK is the XOR of every byte after the preamble and before CHK;
* SW3 is the SAM's status: 0x90 done, 0x9F card found; anything else is a failure
  (0x80 no card found, 0x81 select failed: see docs/devices.md for what is confirmed).

A read is three exchanges: 20 01 find the card, 20 02 select it, 30 01 read the
text and the photo. The read's DATA is the text's length (2 bytes, 256), the photo's
length (2 bytes, 1024), the text, the photo (a wlt file: ignored here). The text is
UCS-2 little-endian, each field padded with spaces: name 30 bytes, sex 2, nation 4,
birth date 16, address 70, ID number 36, issuing authority 30, valid from 16,
valid to 16, reserved 36.

``IdCardReader.read()`` is the one interface the kiosk uses: an ``IdCard``, None when
no card lies on the reader, or ``IdCardError`` (the reader does not answer, a frame
is broken) / ``BadCard`` (the card was read but its number fails its check digit).

``IdCard`` never shows its holder's name or number in full: its repr and ``masked_*``
give 张*三 and 3301**********1234. The full number leaves the kiosk only in the
``id_card`` argument of a command to the hub, which hashes it (dispatcher/hub/identity.py).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from dispatcher.hub.identity import number_problem
from dispatcher.ptydouble import PtyDevice

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
FIND, SELECT, READ = (0x20, 0x01), (0x20, 0x02), (0x30, 0x01)
SW_OK, SW_FOUND, SW_NO_CARD, SW_SELECT_FAILED = 0x90, 0x9F, 0x80, 0x81
BAUDRATE = 115200              # the SAM readers' usual default (some ship at 9600)
TEXT_BYTES, PHOTO_BYTES = 256, 1024
#: the text block's fields, in order, and their sizes in bytes (UCS-2LE)
FIELDS = (("name", 30), ("sex", 2), ("nation", 4), ("birth", 16), ("address", 70),
          ("number", 36), ("authority", 30), ("valid_from", 16), ("valid_to", 16),
          ("reserved", 36))
SEXES = {"1": ("男", "male"), "2": ("女", "female")}


class IdCardError(Exception):
    """The reader failed: it does not answer, or a frame is broken. One line."""


class BadCard(IdCardError):
    """A card was read, but what it says cannot be right (a bad check digit)."""


# ------------------------------------------------------------------ the number


def mask_number(number: str) -> str:
    """3301**********1234: the region's first four and the last four."""
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 \
        else "*" * len(number)


def mask_name(name: str) -> str:
    """张*三 / 李* / 欧**明: the first and (from three characters) the last character."""
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# ------------------------------------------------------------------ the card


@dataclass(frozen=True, repr=False)
class IdCard:
    """What the card's text says. The repr is masked; use the fields deliberately."""

    name: str
    sex: str
    nation: str
    birth: str
    address: str
    number: str
    authority: str = ""
    valid_from: str = ""
    valid_to: str = ""

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_number(self) -> str:
        return mask_number(self.number)

    def __repr__(self) -> str:
        return f"IdCard({self.masked_name}, {self.masked_number})"

    def text_block(self) -> bytes:
        """The card's 256-byte text as the reader sends it (for the double)."""
        out = b""
        values = {**vars(self), "reserved": ""}
        for name, size in FIELDS:
            raw = values[name].encode("utf-16-le")[:size]
            out += raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)
        return out

    @classmethod
    def from_text(cls, text: bytes) -> IdCard:
        if len(text) < TEXT_BYTES:
            raise IdCardError(f"the card's text is {len(text)} bytes, not {TEXT_BYTES}")
        values, at = {}, 0
        for name, size in FIELDS:
            chunk = text[at:at + size]
            at += size
            try:
                values[name] = chunk.decode("utf-16-le").rstrip(" \x00")
            except UnicodeDecodeError:
                raise IdCardError(f"the card's {name} is not UCS-2 text") from None
        values.pop("reserved")
        return cls(**values)


# ------------------------------------------------------------------ frames


def checksum(body: bytes) -> int:
    return reduce(lambda a, b: a ^ b, body, 0)


def request(cmd: int, para: int, data: bytes = b"") -> bytes:
    body = (len(data) + 3).to_bytes(2, "big") + bytes((cmd, para)) + data
    return PREAMBLE + body + bytes((checksum(body),))


def response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    body = (len(data) + 4).to_bytes(2, "big") + bytes((sw1, sw2, sw3)) + data
    return PREAMBLE + body + bytes((checksum(body),))


def read_payload(card: IdCard | bytes, photo: bytes = b"") -> bytes:
    """The DATA of a 30 01 answer: the lengths, the text, the photo."""
    text = card if isinstance(card, bytes) else card.text_block()
    photo = (photo + bytes(PHOTO_BYTES))[:PHOTO_BYTES]
    return len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo


def split_frame(buffer: bytearray) -> bytes | None:
    """Take the first whole frame off ``buffer`` (dropping noise before a preamble);
    None while it is not whole. Its checksum is checked by the caller."""
    start = buffer.find(PREAMBLE)
    if start < 0:
        del buffer[: max(len(buffer) - len(PREAMBLE) + 1, 0)]
        return None
    del buffer[:start]
    if len(buffer) < 7:
        return None
    total = 7 + int.from_bytes(buffer[5:7], "big")
    if len(buffer) < total:
        return None
    frame = bytes(buffer[:total])
    del buffer[:total]
    return frame


def frame_ok(frame: bytes) -> bool:
    return len(frame) >= 8 and checksum(frame[5:-1]) == frame[-1]


# ------------------------------------------------------------------ the driver


class IdCardReader:
    """A SAM ID card reader on a serial port. ``read()`` polls it once."""

    def __init__(self, port: str, *, baudrate: int = BAUDRATE, timeout: float = 1.0,
                 serial_port: Any = None) -> None:
        self.port, self.timeout = port, timeout
        self._lock = threading.Lock()
        self._port = serial_port if serial_port is not None else self._open(port, baudrate)

    def _open(self, port: str, baudrate: int) -> Any:
        import serial

        try:
            return serial.serial_for_url(port, baudrate=baudrate, timeout=0.05,
                                         write_timeout=2)
        except (serial.SerialException, ValueError) as exc:
            raise IdCardError(f"ID card reader {port}: cannot open: {exc}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()

    def read(self) -> IdCard | None:
        """The card on the reader, None when there is none."""
        with self._lock:
            if self._exchange(*FIND)[0] != SW_FOUND:
                return None
            if self._exchange(*SELECT)[0] != SW_OK:
                return None                # lifted off between find and select
            status, data = self._exchange(*READ)
        if status != SW_OK:
            raise IdCardError(f"ID card reader {self.port}: the card could not be read "
                              f"(status {status:02X})")
        card = _card_of(data)
        problem = number_problem(card.number)
        if problem:
            raise BadCard(problem)
        return card

    def _exchange(self, cmd: int, para: int) -> tuple[int, bytes]:
        """Send a command; (SW3, DATA) of the answer."""
        try:
            self._port.reset_input_buffer()
            self._port.write(request(cmd, para))
            self._port.flush()
        except Exception as exc:   # a USB reader pulled out
            raise IdCardError(f"ID card reader {self.port}: {exc}") from None
        frame = self._frame()
        if not frame_ok(frame):
            raise IdCardError(f"ID card reader {self.port}: a broken frame (bad checksum)")
        return frame[9], frame[10:-1]

    def _frame(self) -> bytes:
        buffer = bytearray()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                chunk = self._port.read(max(getattr(self._port, "in_waiting", 0), 1))
            except Exception as exc:
                raise IdCardError(f"ID card reader {self.port}: {exc}") from None
            buffer += chunk
            frame = split_frame(buffer)
            if frame is not None:
                return frame
        raise IdCardError(f"ID card reader {self.port}: no answer within "
                          f"{self.timeout:g} s")


def _card_of(data: bytes) -> IdCard:
    if len(data) < 4:
        raise IdCardError("the card's answer has no text")
    text_len = int.from_bytes(data[0:2], "big")
    if text_len < TEXT_BYTES or len(data) < 4 + text_len:
        raise IdCardError(f"the card's answer is {len(data)} bytes, too short for its text")
    return IdCard.from_text(data[4:4 + TEXT_BYTES])


# ------------------------------------------------------------------ test double


@dataclass
class _Behaviour:
    card: IdCard | None = None
    text: bytes | None = None          # the text block to send instead of the card's
    mute: bool = False                 # stops answering (a reader unplugged mid-way)
    corrupt: bool = False              # answers with a wrong checksum
    requests: list[bytes] = field(default_factory=list)


class FakeIdReader(PtyDevice):
    """A SAM reader on a pty pair: ``path`` is the serial device to open. ``place()``
    lays a card on it, ``remove()`` lifts it; ``mute`` and ``corrupt`` break it.
    Every request frame it received is in ``requests`` (bad ones in ``rejected``)."""

    thread_name = "fake-id-reader"

    def __init__(self) -> None:
        self.state = _Behaviour()
        self.rejected: list[bytes] = []
        self._buffer = bytearray()
        super().__init__()

    def place(self, card: IdCard | None = None, *, text: bytes | None = None) -> None:
        with self.changed:
            self.state.card, self.state.text = card, text

    def remove(self) -> None:
        self.place(None)

    @property
    def requests(self) -> list[bytes]:
        return self.state.requests

    def __enter__(self) -> FakeIdReader:
        return self

    def received(self, data: bytes) -> None:
        self._buffer += data
        while (frame := split_frame(self._buffer)) is not None:
            with self.changed:
                if not frame_ok(frame):
                    self.rejected.append(frame)
                    continue
                self.state.requests.append(frame)
                answer = self._answer(frame[7], frame[8])
                self.changed.notify_all()
            if answer and not self.state.mute:
                if self.state.corrupt:
                    answer = answer[:-1] + bytes((answer[-1] ^ 0xFF,))
                self.write(answer)

    def _answer(self, cmd: int, para: int) -> bytes:
        s = self.state
        present = s.card is not None or s.text is not None
        if (cmd, para) == FIND:
            return response(SW_FOUND, bytes(4)) if present else response(SW_NO_CARD)
        if (cmd, para) == SELECT:
            return response(SW_OK, bytes(8)) if present else response(SW_SELECT_FAILED)
        if (cmd, para) == READ and present:
            return response(SW_OK, read_payload(s.text if s.text is not None
                                                else s.card))  # type: ignore[arg-type]
        return response(0x41)    # not a command it knows, or no card to read
