"""Today's command ids in the store, kept small: which commands may be retries.

A hub keeps a 64-bit fingerprint of every (device, command id) recorded today, 8
bytes each in a sorted array (a day of 60,000 commands: under 0.5 MB), instead of the
keys themselves. A fingerprint only says "look in the store": two keys may share one,
so a hit is a retry only once the store has the command under that very key
(``EventStore.stored_command``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import chain

CommandKey = tuple[str | None, str]    # (device, command id)
MERGE_AT = 4_096      # fingerprints added before they are merged into the sorted array


def fingerprint(key: CommandKey) -> int:
    """64 bits of the key (Python's hash: seeded at random per process, so nobody can
    aim two keys at one fingerprint)."""
    return hash(key)


class CommandKeys:
    """A set of command keys that may answer "perhaps" but never misses one added."""

    def __init__(self, keys: Iterable[CommandKey] = ()) -> None:
        self._sorted = array("q", sorted(map(fingerprint, keys)))   # (no set: the store's
        # keys are distinct, and a key twice does no harm)
        self._added: set[int] = set()

    def add(self, key: CommandKey) -> None:
        self._added.add(fingerprint(key))
        if len(self._added) > max(MERGE_AT, len(self._sorted) // 8):
            self._merge()

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` may have been added (certain only after the store says so)."""
        mark = fingerprint(key)   # type: ignore[arg-type]
        if mark in self._added:
            return True
        at = bisect_left(self._sorted, mark)
        return at < len(self._sorted) and self._sorted[at] == mark

    def __len__(self) -> int:
        return len(self._sorted) + len(self._added)

    def _merge(self) -> None:
        merged = array("q", sorted(chain(self._sorted, self._added)))
        self._sorted, self._added = merged, set()
