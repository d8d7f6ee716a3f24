"""The resync ring: the frames of the day's last events, each built once in the three
ways a device may see it, for the fan-out (fanout.py) and for a device that
reconnects with its last seq (a welcome by events).

The newest KEEP_PLAIN events keep their frames as they are: the fan-out and most resyncs
read only those. Older ones are packed with zlib, PACK_CHUNK events in one piece: the
frames of neighbouring events are alike, so a piece packs to about 80 bytes an event
instead of 1,650, at 3–4 µs an event (zlib's level 1: level 6 packed 25% smaller at
9.5 µs, 5% of the hub's loop at 2,300 issues a second; one packer an event, with a
dictionary, cost 54–80 µs of every command's path). Only a resync from further back
unpacks them, a piece at a time. A ring of 10,000 events so holds a few MB instead of 23
(bench/bench_memory.py).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .fanout import sight_of

if TYPE_CHECKING:
    from .devices import Device

RING_SIZE = 10_000          # event frames kept for resync by events
# ... of which a start builds only the last ones: the frames are most of a start's
# work, and a device further behind than this across a restart gets its (role-sized)
# snapshot instead
RING_AFTER_START = 2_000
KEEP_PLAIN = 1_000          # the newest events' frames kept as they are
PACK_CHUNK = 100            # events packed together
PACK_LEVEL = 1              # zlib's fastest: see above
Frames = tuple[str, str, str]   # lobby, public, full (fanout.py's sights)

# json escapes every control character: a NUL parts an event's frames, a SOH the events
_FRAME, _EVENT = "\0", "\1"


@dataclass(frozen=True, slots=True)
class Packed:
    """The frames of up to PACK_CHUNK consecutive events, packed in one."""
    data: bytes

    @classmethod
    def of(cls, frames: list[Frames]) -> Packed:
        joined = _EVENT.join(_FRAME.join(f) for f in frames)
        return cls(zlib.compress(joined.encode(), PACK_LEVEL))

    def frames(self, index: int) -> Frames:
        lobby, public, full = _unpacked(self)[index].split(_FRAME)
        return lobby, public, full


@lru_cache(maxsize=2)   # a resync reads a piece event by event
def _unpacked(piece: Packed) -> list[str]:
    return zlib.decompress(piece.data).decode().split(_EVENT)


@dataclass(frozen=True, slots=True)
class EventFrames:
    """An event's frames by sight: lobby (public, less the ticket records: slim),
    public (what the lobby may see: for everyone else) and full (for the console, and
    the windows concerned); as they are, or the event's place in a packed piece."""
    frames: Frames | int
    windows: frozenset[str]     # the windows concerned
    piece: Packed | None = None

    def for_device(self, device: Device, slim: bool = False) -> str:
        return self.pick(sight_of(device, self.windows, slim))

    def pick(self, sight: int) -> str:
        frames = self.frames
        if isinstance(frames, int):
            assert self.piece is not None
            frames = self.piece.frames(frames)
        return frames[sight]

    @property
    def plain(self) -> Frames:
        return self.pick(0), self.pick(1), self.pick(2)


class Ring(OrderedDict[int, EventFrames]):
    """seq → EventFrames, oldest first, RING_SIZE at most."""

    def __init__(self) -> None:
        super().__init__()
        self._windows: dict[frozenset[str], frozenset[str]] = {}
        self._plain: list[int] = []    # the seqs whose frames are plain, oldest first

    def add(self, seq: int, frames: Frames, windows: frozenset[str]) -> None:
        self[seq] = EventFrames(frames, self._shared(windows))
        self._plain.append(seq)
        if len(self._plain) >= KEEP_PLAIN + PACK_CHUNK:
            self._pack(self._plain[:PACK_CHUNK])
            del self._plain[:PACK_CHUNK]
        while len(self) > RING_SIZE:
            self.popitem(last=False)

    def forget_after(self, seq: int) -> None:
        """A batch taken back: drop the frames built for its events."""
        for s in [s for s in self if s > seq]:
            del self[s]
        self._plain = [s for s in self._plain if s <= seq]

    def _shared(self, windows: frozenset[str]) -> frozenset[str]:
        """One frozenset for every event that concerns the same windows (a ring of
        10,000 events holds a few hundred sets, not 10,000)."""
        if len(self._windows) > RING_SIZE:
            self._windows.clear()
        return self._windows.setdefault(windows, windows)

    def _pack(self, seqs: list[int]) -> None:
        seqs = [s for s in seqs if s in self]
        piece = Packed.of([self[s].plain for s in seqs])
        for index, s in enumerate(seqs):
            self[s] = EventFrames(index, self[s].windows, piece)
