"""The hall service: the pure core joined to the durable store.

``execute`` is the write path of one command: decide (may refuse, changes
nothing) → append and commit (durable) → apply to the in-memory state → return the
events with their seqs, for the caller to tell. Nobody is told of an event that is
not on disk. The hub commits in groups (dispatcher/hub/batching.py): it ``decide``s
every command that is waiting, ``take``s them, ``commit``s them in one transaction
off its event loop, then ``settle``s: a batch that did not commit is taken back by
rebuilding from the store.

An ``observer`` sees each event right after it is applied, with its seq, the
core and how many events of the same batch are still to come: the hub builds its
event frames there, from the state of that moment (and skips the frames of a
rebuild's events that its resync ring would not keep). It sees them again whenever
the state is rebuilt from the store: every event of the day, or, from a snapshot
(store/snapshots.py), first a ``Resumed`` at the snapshot's seq (carrying the
console's floor history as of then), then the events after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .core.commands import Command
from .core.dispatcher import Dispatcher
from .core.events import Event
from .hall import Hall
from .store import Appended, EventStore
from .store.snapshots import SnapshotWriter, load_start, paused_gc

Observer = Callable[[int, Event, Dispatcher, int], None]


class HallService:
    def __init__(self, hall: Hall, store: EventStore, observer: Observer | None = None
                 ) -> None:
        """Join ``hall`` to ``store`` and rebuild today's state from its events."""
        self.hall = hall
        self.store = store
        self.observer = observer
        self._lock = threading.Lock()
        self._pending: list[Appended] = []     # decided, not yet taken for a commit
        self._rebuild_after = False
        self.core = self._rebuild()
        self.next_seq = store.last_seq() + 1   # the seq the next decided event gets
        self.snapshots = SnapshotWriter(hall, store).start()   # off the command path

    @classmethod
    def open(cls, hall: Hall, url: str, observer: Observer | None = None) -> HallService:
        store = EventStore.open(url, hall=hall)
        try:
            return cls(hall, store, observer)
        except Exception:
            store.close()
            raise

    def close(self) -> None:
        self.snapshots.stop()
        self.store.close()

    def __enter__(self) -> HallService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rebuild(self) -> Dispatcher:
        """Today's state: the newest usable snapshot and the events after it, or every
        event of the day (store/snapshots.py); the observer is told the snapshot first."""
        with paused_gc():   # a start's objects all live on: collecting finds nothing
            start = load_start(self.hall, self.store)
            if start.seed is not None and self.observer is not None:
                self.observer(*start.seed, start.core, len(start.events))
            self._apply(start.core, start.events)
        return start.core

    def _apply(self, core: Dispatcher, events: list[tuple[int, Event]]) -> None:
        left = len(events)
        for seq, event in events:
            core.apply(event)
            left -= 1
            if self.observer is not None:
                self.observer(seq, event, core, left)

    def execute(self, command: Command, now: float, *, device: str | None = None,
                actor: str | None = None, command_id: str | None = None,
                command_hash: str | None = None) -> list[tuple[int, Event]]:
        """Run one command; raise DispatchError (nothing written) or StoreError (nothing
        applied), else return the committed events with their seqs."""
        with self._lock:
            if self._pending:
                raise RuntimeError("execute() between decide() and commit()")
            events = self.core.decide(command, now)
            before = self.store.last_seq()
            try:
                seqs = self.store.append(events, device=device, actor=actor,
                                         command_id=command_id, command_hash=command_hash)
            except Exception:
                if self.store.last_seq() != before:  # the commit happened after all
                    self.core = self._rebuild()
                raise
            finally:
                self.next_seq = self.store.last_seq() + 1
            committed = list(zip(seqs, events, strict=True))
            try:
                self._apply(self.core, committed)
            except Exception:  # a core bug: the store is the truth, rebuild from it
                self.core = self._rebuild()
                raise
            return committed

    # ------------------------------------------------------------ group commit

    def decide(self, command: Command, now: float, *, device: str | None = None,
               actor: str | None = None, command_id: str | None = None,
               command_hash: str | None = None) -> list[tuple[int, Event]]:
        """Decide one command against the live state and apply its events at once, so
        the next command is decided after it; they are written by the next ``commit``.
        Nobody may be told of them before that commit returned. DispatchError: nothing
        decided."""
        events = self.core.decide(command, now)
        if not events:
            return []
        first = self.next_seq
        decided = list(zip(range(first, first + len(events)), events, strict=True))
        self._pending.append(Appended(tuple(events), device, actor, command_id,
                                      command_hash))
        self.next_seq += len(events)
        try:
            self._apply(self.core, decided)
        except Exception:   # a core bug: the events stand (they are decided); rebuild after
            self._rebuild_after = True
            raise
        return decided

    @property
    def waiting(self) -> bool:
        """Whether commands were decided that no ``take`` has taken yet."""
        return bool(self._pending)

    def take(self) -> list[Appended]:
        """The commands decided since the last ``take``: the next transaction."""
        batch, self._pending = self._pending, []
        return batch

    def commit(self, batch: list[Appended]) -> None:
        """Write ``batch`` in one transaction: on any thread, one commit at a time; the
        other methods run on the thread that decides. StoreError: see ``settle``."""
        if batch:
            self.store.append_many(batch)

    def settle(self, failed: bool, forget: Callable[[int], None] | None = None) -> bool:
        """After ``commit``: whether the batch is durable. A failed write that committed
        all the same (a connection lost on the way back) is durable; one that did not
        takes back everything decided since the last durable point (this batch and any
        decided since) by rebuilding from the store, after ``forget(last durable
        seq)`` (for an observer to drop what it built of them). Call it on the thread
        that decides."""
        durable = not failed or self.store.last_seq() >= self._written_through()
        # after a core bug, rebuild at the first point where nothing decided is waiting
        if not durable or (self._rebuild_after and not self._pending):
            if forget is not None:
                forget(self.store.last_seq())
            self._pending = []
            self.core = self._rebuild()
            self.next_seq = self.store.last_seq() + 1
            self._rebuild_after = False
        return durable

    def _written_through(self) -> int:
        return self.next_seq - 1 - sum(len(a.events) for a in self._pending)
