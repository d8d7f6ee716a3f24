"""The fan-out pump: every live device is brought up to the last seq told, in rounds
that carry whatever was told since the last one.

Writing a frame to 2,000 connections costs the hub's loop about as much as deciding
and writing dozens of commands, and the store's fsync is far quicker: told one batch
at a time, a busy hall's batches stay small and the loop spends itself on the
fan-out. So a batch is told in two steps (batching.py): at once to the devices that
sent its commands (their events, then their replies), and then, by this pump, to
everyone else, in a round on the loop's next turn. When the hall is quiet each batch
gets its own round at once; when it is busy the commands that came during a round
are read, decided and written between rounds, and a round carries every batch told
since the last in one frame per connection: the busier the hall, the more a round
carries, and the more commands share its cost.

Each connection remembers the seq it has been sent through (``Client.through``), so
a round sends each device exactly what it has not had, in order: those at the same
seq that see the events alike share one frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import protocol as p
from .privacy import sees_in_full
from .views import KEEPS_TICKETS

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from .devices import Device
    from .ring import EventFrames
    from .server import Client

Group = tuple[int, bool, tuple[int, ...]]   # (seq sent through, batch, sight per event)


class FanOutPump:
    live: dict[ServerConnection, Client]
    ring: dict[int, EventFrames]
    told: int
    # from Hub: _send, _drop_lagging, phone

    def _start_pump(self) -> None:
        self._round: asyncio.Handle | None = None
        self.rounds = 0             # fan-out rounds, and the batches they carried
        self.batches_told = 0

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

    def fan_out_soon(self) -> None:
        """A batch was told to its senders: the rest in the next round."""
        self.batches_told += 1
        if self._round is None:
            self._round = asyncio.get_running_loop().call_soon(self.fan_out)

    def fan_out(self) -> None:
        """One round: every live device up to the last seq told."""
        if self._round is not None:
            self._round.cancel()
            self._round = None
        self.rounds += 1
        self.phone.touch()
        self.catch_up(list(self.live), self.told)


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
