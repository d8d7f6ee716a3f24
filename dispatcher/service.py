"""The hall service: the pure core joined to the durable store.

``execute`` is the write path every device's command takes:
decide (may refuse, changes nothing) → append and commit (durable) → apply to the
in-memory state → return the events with their seqs, for the caller to tell.
Nobody is told of an event that is not on disk.

An ``observer`` sees each event right after it is applied, with its seq, the
core and how many events of the same batch are still to come: the hub builds its
event frames there, from the state of that moment (and skips the frames of a
rebuild's events that its resync ring would not keep). It sees today's events
again whenever the state is rebuilt from the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .core.commands import Command
from .core.dispatcher import Dispatcher
from .core.events import Event
from .hall import Hall
from .store import EventStore

Observer = Callable[[int, Event, Dispatcher, int], None]


class HallService:
    def __init__(self, hall: Hall, store: EventStore, observer: Observer | None = None
                 ) -> None:
        """Join ``hall`` to ``store`` and rebuild today's state from its events."""
        self.hall = hall
        self.store = store
        self.observer = observer
        self._lock = threading.Lock()
        self.core = self._rebuild()

    @classmethod
    def open(cls, hall: Hall, url: str, observer: Observer | None = None) -> HallService:
        store = EventStore.open(url, hall=hall)
        try:
            return cls(hall, store, observer)
        except Exception:
            store.close()
            raise

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> HallService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rebuild(self) -> Dispatcher:
        core = Dispatcher(self.hall)
        self._apply(core, self.store.current_day_events())
        return core

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
            events = self.core.decide(command, now)
            before = self.store.last_seq()
            try:
                seqs = self.store.append(events, device=device, actor=actor,
                                         command_id=command_id, command_hash=command_hash)
            except Exception:
                if self.store.last_seq() != before:  # the commit happened after all
                    self.core = self._rebuild()
                raise
            committed = list(zip(seqs, events, strict=True))
            try:
                self._apply(self.core, committed)
            except Exception:  # a core bug: the store is the truth, rebuild from it
                self.core = self._rebuild()
                raise
            return committed
