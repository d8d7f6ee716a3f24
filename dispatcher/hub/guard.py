"""Bounded cost per client: what one connection, or one remote address, may take.

* Connections: at most ``Limits.max_per_address`` open websockets from one remote
  address and ``Limits.max_connections`` in all; one more is refused with HTTP 503
  before the websocket handshake (``Guard.admit``, from the server's
  process_request) and logged with its address.
* The send buffer: every write to a client goes through the hub's one send helper,
  which drops (4000 lagging) a client whose transport buffer is over
  SEND_BUFFER_LIMIT after the write (``fell_behind``). One frame written into an
  empty buffer is not falling behind, however big (a console's welcome on a busy
  day); the next write finds it still there and drops the client if it is still
  over. So a client holds at most the limit plus one frame.
* Slow messages: a fragmented message whose last fragment has not come within
  MESSAGE_TIMEOUT of its first is failed with 1008 (``GuardedConnection``). A single
  frame cannot be dribbled forever either: no pong can cross it, so the keepalive
  ping (20 s, 20 s) closes the connection.
* Welcomes: each remote address has a budget of welcomes (``Limits.welcomes``, 10 a
  second, bursts of 60: a hall's devices behind one address may all start at once).
  A reconnecting client gets a fresh rate-limit bucket and a free snapshot, so a
  client reconnecting in a loop is held back here instead: a welcome beyond the
  budget waits (``Guard.welcome_delay``) without holding back the loop or another
  address.
* Refused hellos: the k-th ``bad_credentials`` in a row from one address is answered
  only after 0.1 * 2^(k-1) s, at most 10 s (``Guard.failed``); a welcome from that
  address starts it again, and so do 15 quiet minutes. The delay holds back only
  that connection's refusal, never the loop, another address or a right hello.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State

from ..protocol import CLOSE_POLICY, PROTOCOL_ERRORS, ProtocolError
from .logs import log_json

SEND_BUFFER_LIMIT = 1024**2   # bytes a client may leave unread before it is dropped
FRAME_HEADER = 14             # the most a websocket frame header adds to its payload
MESSAGE_TIMEOUT = 10.0        # s from a message's first fragment to its last
DROP_GRACE = 5.0              # s a dropped client has to take its close frame
BACKOFF_FIRST = 0.1           # s: the first refused hello from an address
BACKOFF_MAX = 10.0
BACKOFF_FORGET = 900.0        # s without a refusal: the address starts afresh
BACKOFF_ADDRESSES = 10_000    # addresses remembered, the least recent forgotten first


@dataclass(frozen=True)
class Limits:
    max_per_address: int = 32     # open websockets from one remote address
    max_connections: int = 2500   # open websockets in all
    welcomes: tuple[float, float] | None = (10.0, 60.0)   # per address: a second, burst


def remote_host(ws: ServerConnection) -> str:
    """The remote address without its port: what the per-address limits count."""
    address = ws.remote_address
    return str(address[0]) if isinstance(address, tuple) and address else str(address)


def remote(ws: ServerConnection) -> str:
    """host:port (IPv6 in brackets) for the log."""
    address = ws.remote_address
    if not isinstance(address, tuple) or len(address) < 2:
        return str(address)
    host = str(address[0])
    return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"


def buffered(ws: ServerConnection) -> int:
    transport = ws.transport
    return transport.get_write_buffer_size() if transport is not None else 0


def fell_behind(ws: ServerConnection, frame_size: int) -> bool:
    """After writing a frame of ``frame_size`` bytes: over the limit, and more than
    that one frame waiting (one frame into an empty buffer is not falling behind,
    however big); a connection no longer open is being closed already."""
    waiting = buffered(ws)
    return (waiting > SEND_BUFFER_LIMIT and waiting > frame_size + FRAME_HEADER
            and ws.state is State.OPEN)



def hang_up(ws: ServerConnection, code: int, reason: str, grace: float = DROP_GRACE) -> None:
    """Fail the connection now, from synchronous code: a close frame after what is
    buffered, nothing more read from it, nothing more written to it (the state is no
    longer OPEN, so broadcasts skip it); the socket is cut if it is still there after
    ``grace`` seconds (a client that reads nothing never takes its close frame)."""
    if ws.transport is None or ws.state is State.CLOSED:
        return
    ws.protocol.fail(code, reason)
    try:
        ws.send_data()
    except Exception:   # the socket is already gone: connection_lost follows
        ws.transport.abort()
        return
    ws.loop.call_later(grace, ws.transport.abort)


class Guard:
    """Per-address state: open connections and refused hellos."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.open: dict[str, int] = {}
        self.total = 0
        self.failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self.welcomes: OrderedDict[str, tuple[float, float]] = OrderedDict()

    # ------------------------------------------------------------ connections

    def admit(self, ws: ServerConnection) -> Response | None:
        """None to let the connection go on to its handshake, or a 503 to send."""
        host = remote_host(ws)
        held = self.open.get(host, 0)
        if held >= self.limits.max_per_address:
            return self._refuse(ws, "per_address", held, self.limits.max_per_address)
        if self.total >= self.limits.max_connections:
            return self._refuse(ws, "total", self.total, self.limits.max_connections)
        self.open[host] = held + 1
        self.total += 1
        ws.connection_lost_waiter.add_done_callback(lambda _: self._release(host))
        return None

    def _release(self, host: str) -> None:
        self.total -= 1
        left = self.open[host] - 1
        if left:
            self.open[host] = left
        else:
            del self.open[host]

    def _refuse(self, ws: ServerConnection, which: str, held: int, limit: int) -> Response:
        log_json("connection_refused", remote=remote(ws), limit=which, open=held, max=limit)
        text = ("too many connections from this address\n" if which == "per_address"
                else "the hub has all the connections it can take\n")
        response = ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, text)
        response.headers["Retry-After"] = "10"
        return response

    # ------------------------------------------------------------ refused hellos

    def failed(self, host: str) -> float:
        """Note a refused hello from ``host``; the seconds to hold its refusal back."""
        now = time.monotonic()
        count, last = self.failures.pop(host, (0, now))
        count = 1 if now - last > BACKOFF_FORGET else count + 1
        self.failures[host] = (count, now)
        while len(self.failures) > BACKOFF_ADDRESSES:
            self.failures.popitem(last=False)
        return min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** min(count - 1, 30))

    def succeeded(self, host: str) -> None:
        self.failures.pop(host, None)

    # ------------------------------------------------------------ welcomes

    def welcome_delay(self, host: str) -> float:
        """Take one welcome from ``host``'s budget; the seconds to wait before it (the
        budget goes into debt, so each welcome beyond it waits one interval longer)."""
        if self.limits.welcomes is None:
            return 0.0
        rate, burst = self.limits.welcomes
        now = time.monotonic()
        tokens, stamp = self.welcomes.pop(host, (burst, now))
        tokens = min(burst, tokens + (now - stamp) * rate) - 1.0
        self.welcomes[host] = (tokens, now)
        while len(self.welcomes) > BACKOFF_ADDRESSES:
            self.welcomes.popitem(last=False)
        return 0.0 if tokens >= 0 else -tokens / rate


class GuardedConnection(ServerConnection):
    """A server connection that fails a fragmented message not finished in time."""

    message_timeout = MESSAGE_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unfinished: asyncio.TimerHandle | None = None

    def process_event(self, event: Any) -> None:
        super().process_event(event)
        if isinstance(event, Frame) and event.opcode in (Opcode.TEXT, Opcode.BINARY,
                                                         Opcode.CONT):
            self._watch(event)

    def _watch(self, frame: Frame) -> None:
        if frame.fin:
            if self.unfinished is not None:
                self.unfinished.cancel()
                self.unfinished = None
        elif self.unfinished is None:
            self.unfinished = self.loop.call_later(self.message_timeout, self._too_slow)

    def _too_slow(self) -> None:
        self.unfinished = None
        log_json("message_timeout", remote=remote(self), limit_s=self.message_timeout)
        hang_up(self, CLOSE_POLICY, f"message not finished within {self.message_timeout:g} s")

    def connection_lost(self, exc: Exception | None) -> None:
        if self.unfinished is not None:
            self.unfinished.cancel()
            self.unfinished = None
        super().connection_lost(exc)


class BadCredentials(ProtocolError):
    """A refused hello, the same to the client whatever failed; ``reason`` (which check
    failed) and ``device`` (the id claimed) are for the log only."""

    def __init__(self, reason: str, device: str) -> None:
        super().__init__("bad_credentials", PROTOCOL_ERRORS["bad_credentials"])

        self.reason, self.device = reason, device
