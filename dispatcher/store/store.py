"""The durable event store: append events and their projections in one transaction.

The store is the hall's single writer. It numbers events itself (last seq + 1,
gap-free) and only advances its count after the commit returned, so an event
that failed to commit leaves no trace and no hole. SQLite (WAL, synchronous=FULL)
and PostgreSQL run the same code.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import compact_json
from ..core import events as ev
from ..core.events import Event, event_from_dict
from ..hall import Hall
from .command_keys import CommandKeys
from .migrate import SchemaVersionError, migrate
from .projection import Planned, Projector
from .schema import events

_INSERT_EVENTS = events.insert()  # built once: SQLAlchemy memoizes its cache key
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",   # fsync the WAL at every commit: survives power loss
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
# The writer's page cache: 512 KiB, not SQLite's 2 MB, which a day of 20,000 tickets
# fills. Appends touch the tables' and indexes' newest pages: on that day 1 page in
# 80 commands is read again (from the OS's cache), none at 2 MB.
WRITER_CACHE = "PRAGMA cache_size=-512"


@dataclass(frozen=True)
class Appended:
    """One command's events, and who sent it: what ``append_many`` writes."""
    events: tuple[Event, ...]
    device: str | None = None
    actor: str | None = None
    command_id: str | None = None
    command_hash: str | None = None


@dataclass(frozen=True)
class StoredCommand:
    """A command as recorded: the hash of its arguments (None: not recorded) and its
    events."""
    command_hash: str | None
    events: list[tuple[int, Event]]


class StoreError(Exception):
    """An append that did not commit; nothing of it was written. ``__cause__`` says why."""


class StoreOpenError(Exception):
    """The store could not be opened; the message is one line for the operator."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"database {url}: {reason}")


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # The driver never begins on its own; an append begins with BEGIN IMMEDIATE
        # (EventStore._begin), a read runs in autocommit on a WAL snapshot.
        dbapi_conn.isolation_level = None
        for pragma in SQLITE_PRAGMAS:
            dbapi_conn.execute(pragma)

    return engine


def _engine(url: sa.URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(url)


def _open_failure(url: sa.URL, exc: Exception) -> str:
    """Why the store at ``url`` did not open, in one line."""
    if isinstance(exc, sa.exc.NoSuchModuleError):
        return (f"unknown database kind {url.drivername!r}; expected sqlite:///FILE or "
                "postgresql+psycopg://USER@HOST:PORT/DATABASE")
    if isinstance(exc, ImportError):
        return f"the driver for {url.drivername!r} is not installed ({exc.name or exc})"
    if isinstance(exc, OSError):
        folder = Path(url.database or ".").expanduser().parent
        why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        return f"cannot create the folder {folder}: {why or exc}"
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    return f"cannot open it: {lines[0] if lines else type(cause).__name__}"


class EventStore:
    def __init__(self, engine: sa.Engine, planned: Planned | None = None) -> None:
        self.engine = engine
        self._planned: Planned = planned or {}
        self._writer: sa.Connection | None = None
        self._lock = threading.Lock()  # one append at a time on the writer connection
        self._sqlite = engine.dialect.name == "sqlite"
        migrate(engine)   # create, or bring an older store up to SCHEMA_VERSION
        self._last_seq, self._day = self._read_position()

    @classmethod
    def open(cls, url: str, *, hall: Hall | None = None) -> EventStore:
        """Open (and on first use create) the store at ``url``.

        With ``hall`` the ``windows`` table lists every window of the hall and puts
        each back on its planned profile when a day opens, as the core does.
        """
        planned = None
        if hall is not None:
            planned = {w.id: (w.profile.main, w.profile.side, w.profile.side_when_overdue)
                       for w in hall.windows.values()}
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError:
            raise StoreOpenError(url, "not a database URL; expected sqlite:///FILE or "
                                 "postgresql+psycopg://USER@HOST:PORT/DATABASE") from None
        shown = parsed.render_as_string(hide_password=True)
        try:
            engine = _engine(parsed)
        except (sa.exc.ArgumentError, ImportError, OSError) as exc:
            raise StoreOpenError(shown, _open_failure(parsed, exc)) from exc
        try:
            return cls(engine, planned)
        except SchemaVersionError as exc:
            engine.dispose()
            raise StoreOpenError(shown, str(exc)) from None
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreOpenError(shown, _open_failure(parsed, exc)) from exc
        except Exception:
            engine.dispose()
            raise

    def close(self) -> None:
        self._drop_writer()
        self.engine.dispose()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ writing

    def append(self, batch: Sequence[Event], *, device: str | None = None,
               actor: str | None = None, command_id: str | None = None,
               command_hash: str | None = None) -> list[int]:
        """Write the events and their projections in one transaction; return their seqs.

        On any failure nothing is written and StoreError is raised."""
        return self.append_many([Appended(tuple(batch), device, actor, command_id,
                                          command_hash)])[0]

    def append_many(self, commands: Sequence[Appended]) -> list[list[int]]:
        """Several commands' events in one transaction (one fsync: group commit), in
        order; return each command's seqs. On any failure nothing is written and
        StoreError is raised."""
        with self._lock:
            seq, day, rows, batch = self._last_seq + 1, self._day, [], []
            recorded_at, seqs = time.time(), []
            for command in commands:
                seqs.append(list(range(seq, seq + len(command.events))))
                for event in command.events:
                    if isinstance(event, ev.DayOpened):
                        day = event.day
                    rows.append(_row(seq, event, day, command, recorded_at))
                    batch.append(event)
                    seq += 1
            if rows:
                self._write(rows, batch)
                self._last_seq, self._day = seq - 1, day
        return seqs

    def _write(self, rows: list[dict[str, Any]], batch: Sequence[Event]) -> None:
        first = rows[0]["seq"]
        try:
            conn = self._writer_connection()
            with conn.begin():
                self._begin(conn)
                conn.execute(_INSERT_EVENTS, rows)
                projector = Projector(conn, first, self._day, self._planned)
                for seq, event in enumerate(batch, first):
                    projector.project(seq, event)
                projector.flush()
        except Exception as exc:
            self._drop_writer()
            self._resync()
            raise StoreError(f"could not append {len(batch)} event(s) at seq {first}: "
                             f"{type(exc).__name__}: {exc}") from exc

    def _writer_connection(self) -> sa.Connection:
        """The one connection appends use, kept open (the store is the single writer)."""
        if self._writer is None:
            self._writer = self.engine.connect()
            if self._sqlite:
                self._writer.connection.driver_connection.execute(WRITER_CACHE)
        return self._writer

    def _begin(self, conn: sa.Connection) -> None:
        """SQLite: take the write lock at the start, straight through the driver (no
        SQLAlchemy event listener, which would slow every statement). PostgreSQL
        begins by itself."""
        if self._sqlite:
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")

    def _drop_writer(self) -> None:
        """After a failure start again on a fresh connection: the old one may be broken."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None

    def _resync(self) -> None:
        """After a failure, believe the database (a lost connection may hide a commit)."""
        with contextlib.suppress(Exception):  # unreachable: keep what we knew
            self._last_seq, self._day = self._read_position()

    # ------------------------------------------------------------ reading

    def last_seq(self) -> int:
        return self._last_seq

    @property
    def day(self) -> str | None:
        """The business day of the last DayOpened, or None on an empty store."""
        return self._day

    def events_since(self, seq: int) -> list[tuple[int, Event]]:
        return self._select(events.c.seq > seq)

    def current_day_events(self) -> list[tuple[int, Event]]:
        """Every event from the last DayOpened on: what rebuilds today's state."""
        with self.engine.connect() as conn:
            start = conn.scalar(self._last_day_opened())
        return [] if start is None else self._select(events.c.seq >= start)

    def stored_command(self, device: str | None, command_id: str) -> StoredCommand | None:
        """Today's command of this device with this id (its hash and its events), or
        None: what a retry after a restart is checked against and answered from."""
        with self.engine.connect() as conn:
            start = conn.scalar(self._last_day_opened())
            if start is None:
                return None
            query = (sa.select(events.c.seq, events.c.data, events.c.command_hash)
                     .where(events.c.seq >= start, events.c.command_id == command_id,
                            events.c.device == device)
                     .order_by(events.c.seq))
            rows = conn.execute(query).all()
        if not rows:
            return None
        return StoredCommand(rows[0].command_hash,
                             [(seq, event_from_dict(json.loads(data))) for seq, data, _ in rows])

    def command_keys_today(self) -> CommandKeys:
        """(device, command id) of every command recorded since the last DayOpened, as
        fingerprints (command_keys.py): a hit is confirmed by ``stored_command``."""
        with self.engine.connect() as conn:
            start = conn.scalar(self._last_day_opened())
            if start is None:
                return CommandKeys()
            query = (sa.select(events.c.device, events.c.command_id).distinct()
                     .where(events.c.seq >= start, events.c.command_id.is_not(None)))
            return CommandKeys((device, cid) for device, cid in conn.execute(query))

    def _select(self, where: sa.ColumnElement[bool]) -> list[tuple[int, Event]]:
        query = sa.select(events.c.seq, events.c.data).where(where).order_by(events.c.seq)
        with self.engine.connect() as conn:
            return [(seq, event_from_dict(json.loads(data))) for seq, data in conn.execute(query)]

    @staticmethod
    def _last_day_opened() -> sa.Select[Any]:
        return sa.select(sa.func.max(events.c.seq)).where(events.c.name == ev.DayOpened.NAME)

    def _read_position(self) -> tuple[int, str | None]:
        with self.engine.connect() as conn:
            last = conn.scalar(sa.select(sa.func.max(events.c.seq))) or 0
            start = conn.scalar(self._last_day_opened())
            day = None
            if start is not None:
                day = conn.scalar(sa.select(events.c.day).where(events.c.seq == start))
        return last, day


def _row(seq: int, event: Event, day: str | None, command: Appended, recorded_at: float
         ) -> dict[str, Any]:
    return {"seq": seq, "day": event.day if isinstance(event, ev.DayClosed) else day,
            "at": event.at, "name": event.NAME, "data": _dumps(event),
            "device": command.device, "actor": command.actor,
            "command_id": command.command_id, "command_hash": command.command_hash,
            "recorded_at": recorded_at}


def _dumps(event: Event) -> str:
    return compact_json.dumps(event.to_dict())
