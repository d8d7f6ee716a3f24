"""Fan-out: every device brought up to the last seq told, each frame serialized once.

A durable batch is told in two steps, with no await between them (batching.py):
first to the devices that sent its commands (their events, then their replies), then
to every other device. Writing a frame to 2,000 connections costs the loop about as
much as deciding dozens of commands; told first, a reply does not wait for it, and
the commands that come meanwhile make the next batch bigger.

Each connection remembers the seq it has been sent through (``Client.through``), so
each device gets exactly what it has not had, in order: the senders their batch's
events (and anything before them) first, the others the same events next. Devices at
the same seq that see the events alike share one frame.

``websockets.broadcast`` builds the websocket frame again for every connection
(``protocol.send_text``, then ``send_data``). A server frame is not masked and the hub
negotiates no extension (``compression=None``), so its bytes are the same for every
connection: ``write_all`` serializes it once with websockets' own ``Frame`` and hands
the bytes to each open connection's transport, the same bytes ``send_text`` would
have written. Only whole frames are ever written, and only from the event loop, so
they never interleave with a ping or a close that websockets writes itself.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from .. import protocol as p
from .guard import fell_behind
from .privacy import sees_in_full
from .views import KEEPS_TICKETS

if TYPE_CHECKING:
    from .devices import Device
    from .ring import EventFrames
    from .server import Live

FAN_OUT_CHUNK = 256    # connections written in one turn of the loop (about 3-6 ms)
QUIET_EVERY = 0.1      # s: the quiet lane (kiosks) is caught up at most this often
Group = tuple[int, bool, tuple[int, ...]]   # (seq sent through, batch, sight per event)


class FanOut:
    live: Live
    ring: dict[int, EventFrames]
    told: int
    _fan_pass: asyncio.Handle | None = None   # the next chunk of a pass, if one is on
    _fan_again = False                        # a batch told during the pass
    _quiet_due: asyncio.TimerHandle | None = None   # the quiet lane's next catch-up
    _quiet_at = -math.inf                     # the loop's time of its last one
    # from Hub: _send, _drop_lagging, phone

    def catch_up(self, conns: Iterable[ServerConnection], target: int) -> None:
        """Send each of ``conns`` the events after its ``through`` up to ``target``: to
        a device that reads "events" frames in one frame, to any other an event frame
        each; one frame for every group of devices at the same seq that see them
        alike."""
        groups: dict[Group, list[ServerConnection]] = {}
        spans: dict[int, tuple[list[EventFrames], frozenset[str]]] = {}
        for ws in conns:
            client = self.live.get(ws)
            if client is None or client.through >= target:
                continue
            span = spans.get(client.through) or self._span(client.through, target)
            if span is None:       # older than the ring: it resyncs by reconnecting
                self._drop_lagging(ws)
                continue
            spans[client.through] = span
            sight = _sight(client.device, *span, slim=client.batch)
            groups.setdefault((client.through, client.batch, sight), []).append(ws)
            client.through = target
        for (through, batch, sight), group in groups.items():
            frames = [f.pick(k) for f, k in zip(spans[through][0], sight, strict=True)]
            for frame in p.events_frames(frames) if batch else frames:
                self._send(group, frame)

    def _span(self, through: int, target: int
              ) -> tuple[list[EventFrames], frozenset[str]] | None:
        if through + 1 not in self.ring:
            return None
        frames = [self.ring[s] for s in range(through + 1, target + 1)]
        return frames, frozenset().union(*(f.windows for f in frames))

    def fan_out(self) -> None:
        """Every live device up to the last seq told, FAN_OUT_CHUNK connections at a
        time with a turn of the loop between: a frame to 2,000 connections held the
        loop 25-50 ms, and the commands, replies and hellos that came meanwhile waited
        for all of it. A batch told during a pass is sent in another pass after it;
        a device not reached yet gets both batches in one frame."""
        self.phone.touch()
        if self._fan_pass is not None:
            self._fan_again = True
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:      # no loop: a test driving the hub by hand
            self.flush_fan_out()
            return
        self._fan_chunk(self._screens_first(), 0)
        self._fan_quiet()

    def _fan_chunk(self, conns: list[ServerConnection], start: int) -> None:
        end = start + FAN_OUT_CHUNK
        self.catch_up(conns[start:end], self.told)
        if end < len(conns):
            rest = conns
        elif self._fan_again:
            self._fan_again, rest, end = False, self._screens_first(), 0
        else:
            self._fan_pass = None
            return
        self._fan_pass = asyncio.get_running_loop().call_soon(self._fan_chunk, rest, end)

    def _screens_first(self) -> list[ServerConnection]:
        """The hall's displays and LED strips, then everyone else but the quiet lane: a
        call is shown to the citizens before 300 caller panels learn their queue
        counts (its own caller has had it with its reply)."""
        screens, quiet = self.live.screens, self.live.quiet
        return [*screens, *(ws for ws in self.live if ws not in screens and ws not in quiet)]

    def _fan_quiet(self) -> None:
        """The quiet lane, the kiosks, at most every QUIET_EVERY: a kiosk shows queue
        counts, which a person cannot tell from a tenth of a second late, and a kiosk
        that issues gets its events with its reply. Caught up with every batch, the
        16 idle kiosks of 20 took 9 writes a ticket when 4 were issuing (each a send
        that wakes a device), more than deciding the ticket."""
        if self._quiet_due is not None or not self.live.quiet:
            return
        loop = asyncio.get_running_loop()
        wait = self._quiet_at + QUIET_EVERY - loop.time()
        if wait <= 0:
            self._catch_up_quiet()
        else:
            self._quiet_due = loop.call_later(wait, self._catch_up_quiet)

    def _catch_up_quiet(self) -> None:
        self._quiet_due = None
        self._quiet_at = asyncio.get_running_loop().time()
        self.catch_up(list(self.live.quiet), self.told)

    def flush_fan_out(self) -> None:
        """Every live device up to the last seq told now (before the hub closes)."""
        if self._fan_pass is not None:
            self._fan_pass.cancel()
            self._fan_pass, self._fan_again = None, False
        if self._quiet_due is not None:
            self._quiet_due.cancel()
            self._quiet_due = None
        self.catch_up([*self._screens_first(), *self.live.quiet], self.told)


def _sight(device: Device, frames: list[EventFrames], concerned: frozenset[str],
           slim: bool) -> tuple[int, ...]:
    """How ``device`` sees each of ``frames``: alike for every frame at a console, and
    at a device at no window they concern (the lobby: most devices, sharing one
    frame)."""
    if device.role == "console" or concerned.isdisjoint(device.windows):
        return (sight_of(device, concerned, slim),) * len(frames)
    return tuple(sight_of(device, f.windows, slim) for f in frames)


LOBBY, PUBLIC, FULL = 0, 1, 2   # how a device sees an event: its frame in EventFrames


def sight_of(device: Device, windows: frozenset[str], slim: bool) -> int:
    """A device whose picture keeps no ticket records (kiosk, wall, LED, evaluator)
    and that reads "events" frames (the client library) gets the slim lobby frame:
    its view would drop the records anyway (views.KEEPS_TICKETS)."""
    if sees_in_full(device, windows):
        return FULL
    return LOBBY if slim and device.role not in KEEPS_TICKETS else PUBLIC


def write_all(conns: Iterable[ServerConnection], frame: str,
              held: Held | None = None) -> list[ServerConnection]:
    """Write ``frame`` to every open connection; return those that fell behind with it
    (guard.py drops them). With ``held``: keep it there instead, for ``write_held``."""
    payload = frame.encode()
    data = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    if held is not None:
        for ws in conns:
            held.setdefault(ws, []).append(data)
        return []
    return [ws for ws in conns if _write(ws, data)]


Held = dict[ServerConnection, list[bytes]]   # frames kept for each connection, in order


def write_held(held: Held) -> list[ServerConnection]:
    """Each connection's frames kept in ``held`` in one write: one send, and one
    wake-up of its device, for a batch's events and all its replies to that device."""
    return [ws for ws, frames in held.items() if _write(ws, b"".join(frames))]


def _write(ws: ServerConnection, data: bytes) -> bool:
    """Whether the connection fell behind with ``data``; nothing if it is not open."""
    transport = ws.transport
    if ws.protocol.state is not State.OPEN or transport is None:
        return False
    transport.write(data)
    return fell_behind(ws, len(data))
