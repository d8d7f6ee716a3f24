"""A lean websocket client for bench/bench_peak.py's load: thousands of sockets.

websockets' asyncio client costs a task wake-up per frame and connection, and its
Sans-I/O parser a generator step per frame; a caller of a 2,000-listener hall receives
every event frame of the hall, so with 2,320 sockets the load processes, not the hub,
would set the figures. ``Wire`` is an ``asyncio.Protocol`` that speaks RFC 6455 from
the client side (the HTTP upgrade, masked frames out, unmasked frames in, pong to
ping, close) with a parser that only splits frames: each text frame goes to
``on_text(payload, t)`` with ``t = time.monotonic()`` read when its bytes came off the
socket. It talks only the hub's wire protocol (docs/protocol.md), never its code.

Event frames are recognised by their prefix anywhere in a payload (``{"type":"event",
"seq":N,"name":"…"``), so a frame carrying several events still counts each one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import struct
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.utils import apply_mask

from dispatcher.client.client import NOBODY_LISTENING_MAX, reconnect_delay

EVENT_MARK = b'{"type":"event","seq":'
EVENTS_START = b'{"type":"event'   # an event frame, or an "events" frame of one commit
_EVENT = re.compile(rb'\{"type":"event","seq":(\d+),"name":"([a-z_]+)"')
CALLED = b"ticket_called"
HEADER_END = b"\r\n\r\n"
TEXT, CONT, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA


def events_in(payload: bytes) -> Iterator[tuple[int, bytes]]:
    """(seq, name) of every event in a frame, in order."""
    if EVENT_MARK not in payload:
        return
    for m in _EVENT.finditer(payload):
        yield int(m[1]), m[2]


def read_tokens(path: Path) -> dict[str, str]:
    """The installer's list of `onewindow token --devices … --tokens FILE`."""
    return {k: str(v) for k, v in tomllib.loads(path.read_text()).items()}


def fail(fut: asyncio.Future[Any], exc: Exception) -> None:
    """Fail a future that nobody may be awaiting any more, without asyncio's warning."""
    if not fut.done():
        fut.set_exception(exc)
        fut.exception()


def frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)


class Wire(asyncio.Protocol):
    """One client websocket. Subclasses override ``on_text`` and ``on_lost``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.partial: list[bytes] = []
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.key = base64.b64encode(os.urandom(16)).decode()

    async def connect(self, timeout: float = 30.0) -> None:
        parts = urlsplit(self.url)
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.create_connection(
            lambda: self, parts.hostname, parts.port), timeout)
        await asyncio.wait_for(self.open, timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        parts = urlsplit(self.url)
        transport.write((
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        t = time.monotonic()
        self.buf += data
        if not self.upgraded and not self._upgrade():
            return
        self._frames(t)

    def _upgrade(self) -> bool:
        end = self.buf.find(HEADER_END)
        if end < 0:
            return False
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[:end + len(HEADER_END)]
        if not head.startswith("HTTP/1.1 101"):
            self._fail(ConnectionError(head.split("\r\n", 1)[0] or "no HTTP answer"))
            return False
        self.upgraded = True
        if not self.open.done():
            self.open.set_result(None)
        return True

    def _frames(self, t: float) -> None:
        buf = self.buf
        at, size = 0, len(buf)
        while size - at >= 2:
            b0, b1 = buf[at], buf[at + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if size - at < 4:
                    break
                n, head = (buf[at + 2] << 8) | buf[at + 3], 4
            elif n == 127:
                if size - at < 10:
                    break
                n, head = int.from_bytes(buf[at + 2:at + 10], "big"), 10
            if size - at < head + n:
                break
            payload = bytes(buf[at + head:at + head + n])
            at += head + n
            self._frame(b0 & 0x80, b0 & 0x0F, payload, t)
            if self.transport is None or self.transport.is_closing():
                break
        del buf[:at]

    def _frame(self, fin: int, opcode: int, payload: bytes, t: float) -> None:
        if opcode in (TEXT, CONT):
            if not fin:
                self.partial.append(payload)
                return
            if self.partial:
                payload = b"".join([*self.partial, payload])
                self.partial = []
            self.on_text(payload, t)
        elif opcode == PING:
            self._write(frame(PONG, payload))
        elif opcode == CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.on_close_frame(code)
            self._write(frame(CLOSE, payload[:2]))
            if self.transport is not None:
                self.transport.close()

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_text(self, text: str) -> None:
        self._write(frame(TEXT, text.encode()))

    def close(self, code: int = 1000) -> None:
        self._write(frame(CLOSE, code.to_bytes(2, "big")))
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, exc: Exception) -> None:
        fail(self.open, exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        fail(self.open, exc or ConnectionError("closed during the handshake"))
        self.on_lost()

    # ---- for subclasses

    def on_text(self, payload: bytes, t: float) -> None:
        pass

    def on_close_frame(self, code: int) -> None:
        pass

    def on_lost(self) -> None:
        pass


class Device(Wire):
    """A device of the hub: hello with its token, the welcome, then replies matched to
    command ids. Event frames only move ``last_seq`` (what a resync would ask for)."""

    def __init__(self, url: str, role: str, device: str, token: str) -> None:
        super().__init__(url)
        self.role, self.device, self.token = role, device, token
        self.last_seq: int | None = None
        self.welcome: asyncio.Future[dict[str, Any]] = \
            asyncio.get_running_loop().create_future()
        self.replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.lost: Callable[[], None] | None = None
        self.ids = 0
        self.target: int | None = None       # the welcome's seq, until resynced
        self.resynced_at: float | None = None

    async def hello(self, timeout: float = 60.0) -> dict[str, Any]:
        await self.connect(timeout)
        hello = {"type": "hello", "role": self.role, "device": self.device,
                 "token": self.token, "last_seq": self.last_seq, "protocol": 1,
                 "batch": True}   # as dispatcher/client does; a hub without it ignores it
        self.send_text(json.dumps(hello))
        welcome = await asyncio.wait_for(self.welcome, timeout)
        if welcome.get("type") != "welcome":
            raise ConnectionError(f"{self.device} refused: {str(welcome)[:300]}")
        if welcome.get("resync") == "snapshot" or self.last_seq is None:
            self.last_seq = int(welcome["seq"])
        if self.last_seq >= int(welcome["seq"]):
            self.resynced_at = time.monotonic()
        else:
            self.target = int(welcome["seq"])
        return welcome

    def on_text(self, payload: bytes, t: float) -> None:
        if payload.startswith(EVENTS_START):
            for seq, _ in events_in(payload):
                self.last_seq = seq
            if self.target is not None and self.last_seq is not None \
                    and self.last_seq >= self.target:
                self.target, self.resynced_at = None, t
            return
        message = json.loads(payload)
        if not self.welcome.done():   # keep none of the snapshot: hundreds of them add up
            self.welcome.set_result({k: message.get(k) for k in ("type", "seq", "resync",
                                                                 "error")})
            return
        fut = self.replies.pop(message.get("id", ""), None)
        if fut is not None and not fut.done():
            fut.set_result(message)

    def send_command(self, name: str, **args: Any) -> asyncio.Future[dict[str, Any]]:
        self.ids += 1
        message_id = f"{self.device}-{self.ids}-{os.getpid()}-{time.monotonic_ns()}"
        fut = self.replies[message_id] = asyncio.get_running_loop().create_future()
        self.send_text(json.dumps({"type": "command", "id": message_id, "name": name,
                                   "args": args}))
        return fut

    def on_lost(self) -> None:
        for fut in self.replies.values():
            fail(fut, ConnectionError(f"{self.device}: connection lost"))
        self.replies.clear()
        fail(self.welcome, ConnectionError(f"{self.device}: closed before welcome"))
        if self.lost is not None:
            self.lost()


def backoff(attempt: int, nobody_listening: bool) -> float:
    """The client library's reconnect delay (dispatcher/client/client.py): 0.2 s
    doubling to 5 s, or to 1 s while the hub's port refuses connections; jittered."""
    high = NOBODY_LISTENING_MAX if nobody_listening else 5.0
    return reconnect_delay(attempt, 0.2, high)


async def close_all(wires: list[Wire]) -> None:
    for wire in wires:
        with contextlib.suppress(Exception):
            wire.close()
    await asyncio.sleep(0.05)
