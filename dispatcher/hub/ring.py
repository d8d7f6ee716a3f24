"""The resync ring: the frames of the day's last events, each built once in the three
ways a device may see it, for the fan-out (fanout.py) and for a device that
reconnects with its last seq (a welcome by events).

The newest KEEP_PLAIN events keep their frames as they are: the fan-out and most resyncs
read only those. Older ones are packed with zlib and one dictionary made of recent
frames (about 134 bytes instead of 1,800 an event); only a resync from further back
unpacks them, at about 11 µs a frame. A ring of 10,000 events so holds 3.8 MB instead
of 23 (bench/bench_memory.py).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
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
PACK_SAMPLE = 16            # the newest events whose frames make the dictionary
Frames = tuple[str, str, str]   # lobby, public, full (fanout.py's sights)


@dataclass(frozen=True, slots=True)
class EventFrames:
    """An event's frames by sight: lobby (public, less the ticket records: slim),
    public (what the lobby may see: for everyone else) and full (for the console, and
    the windows concerned); as they are, or packed in one."""
    frames: Frames | bytes
    windows: frozenset[str]     # the windows concerned
    zdict: bytes = b""          # packed: the dictionary it was packed with

    def for_device(self, device: Device, slim: bool = False) -> str:
        return self.pick(sight_of(device, self.windows, slim))

    def pick(self, sight: int) -> str:
        frames = self.frames
        if isinstance(frames, bytes):
            frames = _unpack(frames, self.zdict)
        return frames[sight]

    def packed(self, zdict: bytes) -> EventFrames:
        """The same frames packed with ``zdict`` (not empty)."""
        if isinstance(self.frames, bytes):
            return self
        packer = zlib.compressobj(zdict=zdict)
        data = packer.compress(_joined(self.frames)) + packer.flush()
        return EventFrames(data, self.windows, zdict)


class Ring(OrderedDict[int, EventFrames]):
    """seq → EventFrames, oldest first, RING_SIZE at most."""

    def __init__(self) -> None:
        super().__init__()
        self._windows: dict[frozenset[str], frozenset[str]] = {}
        self._pack_dict = b""   # the frames of the newest events when it first packed

    def add(self, seq: int, frames: Frames, windows: frozenset[str]) -> None:
        self[seq] = EventFrames(frames, self._shared(windows))
        self._pack(seq - KEEP_PLAIN)
        while len(self) > RING_SIZE:
            self.popitem(last=False)

    def forget_after(self, seq: int) -> None:
        """A batch taken back: drop the frames built for its events."""
        for s in [s for s in self if s > seq]:
            del self[s]

    def _shared(self, windows: frozenset[str]) -> frozenset[str]:
        """One frozenset for every event that concerns the same windows (a ring of
        10,000 events holds a few hundred sets, not 10,000)."""
        if len(self._windows) > RING_SIZE:
            self._windows.clear()
        return self._windows.setdefault(windows, windows)

    def _pack(self, seq: int) -> None:
        """Pack the frames of ``seq``, all with the one dictionary: the frames of the
        events around at the first packing, most like those of the rest of the day."""
        older = self.get(seq)
        if older is None or isinstance(older.frames, bytes):
            return
        if not self._pack_dict:
            newest = islice(reversed(self.values()), PACK_SAMPLE)
            self._pack_dict = b"\n".join(_joined(f.frames) for f in newest
                                         if isinstance(f.frames, tuple))[-32_768:]
        self[seq] = older.packed(self._pack_dict)


def _joined(frames: Frames) -> bytes:
    """json escapes every control character: a NUL parts the frames."""
    return "\0".join(frames).encode()


def _unpack(packed: bytes, zdict: bytes) -> Frames:
    lobby, public, full = zlib.decompressobj(zdict=zdict).decompress(packed).decode() \
        .split("\0")
    return lobby, public, full
