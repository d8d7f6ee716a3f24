"""``onewindow ship``: the process beside a hall's hub that ships its event log.

It only reads the hall's store (``events`` after the centre's last seq, in batches of
at most ``batch`` rows), so the hub never waits on it: SQLite readers do not block
the writer in WAL mode, and a PostgreSQL read takes no lock a writer needs. Each
batch commits at the centre whole or not at all; after any failure the shipper asks
the centre again how far it got, so a batch that committed although its answer was
lost is not sent twice, and one that did not is sent again (at-least-once, made
exactly-once by the centre's seq check). A centre that is down or slow costs the
hall nothing: the shipper backs off (doubling, up to ``backoff_max``) and catches up
afterwards, ``batch`` rows at a time.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa

from . import ingest

_BATCH_SQL = ("SELECT seq, day, at, name, data, device, actor, command_id, command_hash, "
              "recorded_at FROM events WHERE seq > ? ORDER BY seq LIMIT ?")
_HEAD_SQL = "SELECT seq, recorded_at FROM events ORDER BY seq DESC LIMIT 1"


@dataclass
class Settings:
    hall_url: str
    central_url: str
    hall: str
    credential: str
    schema: str
    batch: int = 500
    poll: float = 0.5            # idle: look for new events this often
    backoff_min: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 30.0        # a centre statement taking longer is abandoned


def log(what: str, **fields: Any) -> None:
    print(json.dumps({"at": round(time.time(), 3), "event": what, **fields},
                     ensure_ascii=False), file=sys.stderr, flush=True)


def hall_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA busy_timeout=5000")
            dbapi_conn.execute("PRAGMA query_only=ON")   # a reader, never a writer
    return engine


def central_engine(url: str, timeout: float) -> sa.Engine:
    ms = int(timeout * 1000)
    # no pre-ping (a round trip a batch): a dead connection fails the batch, which is
    # retried on a fresh one
    return sa.create_engine(url, pool_recycle=600, connect_args={
        "connect_timeout": max(1, int(timeout)), "options": f"-c statement_timeout={ms}"})


class Shipper:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.hall_db = hall_engine(settings.hall_url)
        self.centre = central_engine(settings.central_url, settings.timeout)
        self.stop = threading.Event()
        self.position: int | None = None   # the centre's last seq, once asked
        self._conn: sa.Connection | None = None   # kept open between batches
        mark = "?" if self.hall_db.dialect.paramstyle == "qmark" else "%s"
        self._batch_sql = _BATCH_SQL.replace("?", mark)

    def close(self) -> None:
        self.drop_connection()
        self.hall_db.dispose()
        self.centre.dispose()

    def drop_connection(self) -> None:
        """After a failure: the next batch starts on fresh connections."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None
        self.centre.dispose()

    def read(self, after: int) -> tuple[list[ingest.Row], tuple[int, float | None]]:
        """The next batch and the hall's last seq, through the bare driver (plain
        tuples: no row objects for thousands of rows a second)."""
        with self.hall_db.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(self._batch_sql, (after, self.s.batch))
                rows = cursor.fetchall()
                cursor.execute(_HEAD_SQL)
                head = cursor.fetchone()
            finally:
                cursor.close()
            conn.rollback()
        return rows, (head[0], head[1]) if head else (0, None)

    def step(self) -> int:
        """Ship one batch; return how many rows it held (0: caught up)."""
        s = self.s
        if self._conn is None:
            self._conn = self.centre.connect()
        if self.position is None:
            self.position = ingest.shipped(self._conn, s.schema, s.hall, s.credential)
        rows, head = self.read(self.position)
        self.position = ingest.ship(self._conn, s.schema, s.hall, s.credential, rows, head)
        return len(rows)

    def run(self) -> int:
        """Ship until stopped; 2 when the centre refuses the credential."""
        backoff, failing = self.s.backoff_min, False
        log("shipper_started", hall=self.s.hall)
        while not self.stop.is_set():
            try:
                count = self.step()
            except ingest.Refused as exc:
                log("refused", error=str(exc))
                print(f"error: {exc}", file=sys.stderr)
                return 2
            except (sa.exc.SQLAlchemyError, sqlite3.Error, psycopg.Error, OSError) as exc:
                self.position = None     # ask again: the last batch may have committed
                self.drop_connection()
                cause = getattr(exc, "orig", None) or exc
                first = next((ln for ln in str(cause).splitlines() if ln.strip()), "")
                log("retry", error=f"{type(cause).__name__}: {first}"[:300], wait=backoff)
                failing = True
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.s.backoff_max)
                continue
            if failing:
                log("resumed", seq=self.position)
                failing, backoff = False, self.s.backoff_min
            if count:
                log("shipped", rows=count, seq=self.position)
            if count < self.s.batch:
                self.stop.wait(self.s.poll)
        return 0
