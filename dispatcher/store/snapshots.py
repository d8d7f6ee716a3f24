"""Snapshots of the core's state in the store: how the hub starts fast on a long day.

A start (``load_start``) reads the newest usable snapshot of today and decodes only
the events after it; with none it replays the day from its DayOpened, as before. A
snapshot is usable only when the events after it still cover what the hub's observer
builds from events with the state at each one (dispatcher/hub/server.py): the resync
ring's frames (the last ``TAIL_EVENTS``) and the wall's recent calls (the last
``TAIL_CALLS``). The console's floor history (core/floor.py, the last hour) is a fold
over the whole day, so the snapshot keeps it as folded up to its seq: the observer is
first told ``Resumed`` (that history) at the snapshot's seq, then the events after it.

``SnapshotWriter`` is a thread beside the service that, every ``SNAPSHOT_EVERY``
committed events, has a worker process (``Follower``: its own core, fed from the store,
never from the command path) write its state in a transaction of its own and delete
the snapshots no start can need any more. A kill at any point leaves either the whole
row or none; a snapshot that does not decode, or that another code version or hall
file wrote, is passed over for the events.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlalchemy as sa

from ..core import codec
from ..core import events as ev
from ..core.dispatcher import Dispatcher
from ..core.floor import FloorHistory
from ..hall import Hall
from .schema import events, snapshots
from .store import EventStore

SNAPSHOT_EVERY = int(os.environ.get("ONEWINDOW_SNAPSHOT_EVERY", "2000"))  # events; 0: none
TAIL_EVENTS = 2_000        # the hub's RING_AFTER_START (tests/test_start_snapshot.py checks)
TAIL_CALLS = 20            # the wall's recent calls (hub/views.py RECENT_CALLS)
POLL_S = 1.0               # how often the writer looks at the store's last seq
# The writer's first look: after a start's reconnect storm (its catch-up decodes a
# snapshot and competes with the event loop for the GIL)
START_DELAY_S = 5.0
_CALLS = (ev.TicketCalled.NAME, ev.TicketRecalled.NAME)
log = logging.getLogger("onewindow.hub")


@dataclass(frozen=True)
class Resumed(ev.Event):
    """Not a stored event: what an observer is told first on a start from a snapshot,
    with the floor history folded up to it (its ``at`` is the snapshot's event's)."""

    NAME: ClassVar[str] = "resumed"
    floor: FloorHistory = field(default_factory=FloorHistory, compare=False)


@dataclass
class Start:
    """The core at the snapshot (or empty), the events to apply after it, and what the
    observer is first told: (seq, Resumed) of the snapshot, None without one."""

    core: Dispatcher
    events: list[tuple[int, ev.Event]]
    seed: tuple[int, Resumed] | None = None


def load_start(hall: Hall, store: EventStore, *, use_snapshots: bool = True) -> Start:
    with store.engine.connect() as conn:
        first = _day_start(conn)
        if first is None:
            return Start(Dispatcher(hall), [])
        found = None
        if use_snapshots:
            found = _newest(conn, hall, first, usable_until(conn, first, store.last_seq()))
        if found is None:
            start = Start(Dispatcher(hall), _rows_after(conn, first - 1))
        else:
            seq, at, core, floor = found
            start = Start(core, _rows_after(conn, seq), (seq, Resumed(at=at, floor=floor)))
    _log("start", snapshot=start.seed[0] if start.seed else None, events=len(start.events))
    return start


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: a start allocates millions of objects that
    all live on, and the collector's passes over them took a fifth of it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def usable_until(conn: sa.Connection, first: int, last: int) -> int:
    """The newest seq a snapshot may be at for a start at ``last``; below ``first``
    (the day's DayOpened): none is usable."""
    calls = conn.scalar(sa.select(events.c.seq)
                        .where(events.c.seq >= first, events.c.name.in_(_CALLS))
                        .order_by(events.c.seq.desc()).limit(1).offset(TAIL_CALLS - 1))
    if calls is None:
        return first - 1
    return min(last - TAIL_EVENTS, calls - 1)


def _day_start(conn: sa.Connection) -> int | None:
    return conn.scalar(sa.select(sa.func.max(events.c.seq))
                       .where(events.c.name == ev.DayOpened.NAME))


def _newest(conn: sa.Connection, hall: Hall, first: int, until: int
            ) -> tuple[int, float, Dispatcher, FloorHistory] | None:
    """The newest snapshot of this code and hall in [first, until], decoded."""
    if until < first:
        return None
    row = conn.execute(
        sa.select(snapshots.c.seq, snapshots.c.day, snapshots.c.at, snapshots.c.data)
        .where(snapshots.c.seq.between(first, until), snapshots.c.code == codec.CODE_DIGEST,
               snapshots.c.hall == codec.hall_digest(hall))
        .order_by(snapshots.c.seq.desc()).limit(1)).first()
    if row is None:
        return None
    try:
        state, floor = codec.decode_state(row.data, hall)
    except Exception as exc:   # a snapshot is only a shortcut: the events are the truth
        _log("snapshot_unreadable", seq=row.seq, error=f"{type(exc).__name__}: {exc}")
        return None
    if state.day != row.day or floor is None or floor.last_seq != row.seq:
        _log("snapshot_unreadable", seq=row.seq, error="not the state of its own seq")
        return None
    return row.seq, row.at, Dispatcher(hall, state), floor


def _rows_after(conn: sa.Connection, seq: int) -> list[tuple[int, ev.Event]]:
    query = (sa.select(events.c.seq, events.c.data).where(events.c.seq > seq)
             .order_by(events.c.seq))
    return codec.decode_events(conn.execute(query))


def _log(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False))


# ------------------------------------------------------------------ writing

def write_snapshot(engine: sa.Engine, hall: Hall, seq: int, at: float,
                   core: Dispatcher, floor: FloorHistory) -> None:
    """Write the state just after event ``seq`` (at ``at``), and the floor history
    folded up to it, then delete the snapshots no start can need now: one transaction
    of its own."""
    blob = codec.encode_state(core.state, floor)   # before the write lock: it takes a while
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":   # as the store's appends (store.py _begin)
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
        conn.execute(snapshots.delete().where(snapshots.c.seq == seq))
        conn.execute(snapshots.insert(), {
            "seq": seq, "day": core.state.day, "at": at, "code": codec.CODE_DIGEST,
            "hall": codec.hall_digest(hall), "data": blob, "written_at": time.time()})
        _prune(conn, hall, seq)


def _prune(conn: sa.Connection, hall: Hall, seq: int) -> None:
    """Keep today's snapshots of this code and hall from the newest one a start at
    ``seq`` could use; later starts can only use the same or newer ones."""
    first = _day_start(conn) or 0
    until = usable_until(conn, first, seq)
    keep = conn.scalar(sa.select(sa.func.max(snapshots.c.seq))
                       .where(snapshots.c.seq.between(first, until),
                              snapshots.c.code == codec.CODE_DIGEST,
                              snapshots.c.hall == codec.hall_digest(hall)))
    conn.execute(snapshots.delete().where(sa.or_(
        snapshots.c.seq < (keep if keep is not None else first),
        snapshots.c.code != codec.CODE_DIGEST, snapshots.c.hall != codec.hall_digest(hall))))


class Follower:
    """Follows the store with its own core and floor history, fed only what is
    committed, and writes their snapshot: never a state the events do not give."""

    def __init__(self, hall: Hall, engine: sa.Engine) -> None:
        self.hall, self.engine = hall, engine
        self.core: Dispatcher | None = None
        self.floor = FloorHistory()     # folded as the hub's (core/floor.py)
        self.seq = 0                    # the seq self.core is at

    def write_now(self) -> int | None:
        """Catch up with the store and write a snapshot at its last committed event;
        return that seq (None on a store with no day yet)."""
        try:
            with self.engine.connect() as conn:
                at = self._catch_up(conn)
            if self.core is None or self.core.state.day is None or at is None:
                return None
            write_snapshot(self.engine, self.hall, self.seq, at, self.core, self.floor)
        except Exception:
            self.core = None            # start again from the store next time
            raise
        return self.seq

    def _catch_up(self, conn: sa.Connection) -> float | None:
        """Bring self.core up to the last committed event; return that event's time."""
        if self.core is None:
            first = _day_start(conn)
            if first is None:
                return None
            last = conn.scalar(sa.select(sa.func.max(events.c.seq))) or 0
            found = _newest(conn, self.hall, first, last)
            if found is None:
                self.core, self.seq, self.floor = Dispatcher(self.hall), first - 1, FloorHistory()
            else:
                self.seq, _, self.core, self.floor = found
        for seq, event in _rows_after(conn, self.seq):
            self.core.apply(event)
            self.floor.note(seq, event, self.core.state)
            self.seq = seq
        return conn.scalar(sa.select(events.c.at).where(events.c.seq == self.seq))


class SnapshotWriter:
    """Beside the service: a thread that looks at the store's last seq every ``poll``
    seconds and, every ``every`` events, has a snapshot written. The writing (catching
    up, encoding: half a second of CPU at 20,000 tickets) runs in a worker process of
    its own by default, so it never holds the service's GIL; ``in_process``: in this
    thread (tests, tools)."""

    def __init__(self, hall: Hall, store: EventStore, every: int = SNAPSHOT_EVERY,
                 poll: float = POLL_S, delay: float = START_DELAY_S,
                 in_process: bool = False) -> None:
        self.hall, self.store, self.every, self.poll = hall, store, every, poll
        self.delay = delay
        self.written: int | None = None  # the last snapshot's seq (or the day's start)
        self.follower = Follower(hall, store.engine) if in_process else None
        self._worker: ProcessPoolExecutor | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="snapshots", daemon=True)

    def start(self) -> SnapshotWriter:
        if self.every > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.wait(self.poll):
            try:
                if self.written is None:
                    self.written = self._last_written()
                if self.store.last_seq() - self.written >= self.every:
                    self.written = self._write() or self.store.last_seq()
                    _log("snapshot_written", seq=self.written)
            except Exception as exc:   # a missed snapshot costs a slower start, no more
                _log("snapshot_failed", error=f"{type(exc).__name__}: {exc}")
                self.written = None
                if self._worker is not None:   # it may be broken: a fresh one next time
                    self._worker.shutdown(wait=False, cancel_futures=True)
                    self._worker = None
                self._stop.wait(self.poll * 10)

    def _write(self) -> int | None:
        if self.follower is not None:
            return self.follower.write_now()
        if self._worker is None:
            self._worker = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_leave_with_parent, initargs=(os.getpid(),))
        url = self.store.engine.url.render_as_string(hide_password=False)
        return self._worker.submit(_write_in_worker, self.hall, url).result()

    def _last_written(self) -> int:
        """Today's newest snapshot of this code and hall, else the day's start: cheap
        reads, so a start decodes nothing here."""
        with self.store.engine.connect() as conn:
            first = _day_start(conn) or 0
            newest = conn.scalar(sa.select(sa.func.max(snapshots.c.seq)).where(
                snapshots.c.seq >= first, snapshots.c.code == codec.CODE_DIGEST,
                snapshots.c.hall == codec.hall_digest(self.hall)))
        return newest if newest is not None else max(first - 1, 0)


_FOLLOWERS: dict[str, Follower] = {}   # in the worker process: one per store


def _write_in_worker(hall: Hall, url: str) -> int | None:
    """In the worker process: the store's follower (kept between calls, so each call
    decodes only the events since the last) writes a snapshot."""
    follower = _FOLLOWERS.get(url)
    if follower is None or follower.hall != hall:
        follower = _FOLLOWERS[url] = Follower(hall, EventStore.open(url).engine)
    return follower.write_now()


def _leave_with_parent(parent: int) -> None:
    """In the worker: exit when the hub is gone (a hub killed with -9 cannot shut its
    pool down); a snapshot being written then is rolled back whole."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="leave-with-parent").start()
