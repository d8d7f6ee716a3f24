"""Issue → commit: our write path against the bare commit floor of this machine.

    python -m bench.bench_store [--n N] [--rounds R] [--pg URL]

Per backend, each round times N × HallService.execute(IssueTicket) (decide, append
events + projections, commit, apply) and N bare commits of one row of the same
size through the raw driver (sqlite3 with WAL + synchronous=FULL; psycopg with one
INSERT + COMMIT). Rounds interleave ours and the floor, so machine noise hits
both; the table gives the median over rounds, and the ratio ours / floor.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

from dispatcher.core.commands import IssueTicket
from dispatcher.hall import SAMPLE_HALL, Hall, load_hall
from dispatcher.service import HallService
from dispatcher.store import SQLITE_PRAGMAS

PG_URL = os.environ.get("ONEWINDOW_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WARMUP = 20
ROW = '{"name":"ticket_issued","at":1795397400.123,"ticket":"20261123-B017",' \
      '"number":"B017","prefix":"B","sequence":17,"serial":17,"queue":"quick_b",' \
      '"ticket_class":"normal","virtual_at":1795397400.123}'


class Op(Protocol):
    def __call__(self, i: int) -> object: ...
    def close(self) -> None: ...


@dataclass
class Round:
    per_second: float
    p50_ms: float
    p99_ms: float


def timed(op: Op, n: int) -> Round:
    for i in range(WARMUP):
        op(-1 - i)
    lat = []
    begin = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        op(i)
        lat.append(time.perf_counter() - t0)
    total = time.perf_counter() - begin
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return Round(n / total, q[49] * 1e3, q[98] * 1e3)


class Ours:
    """HallService on a store; every op issues one ticket at a later hall time."""

    def __init__(self, hall: Hall, url: str) -> None:
        self.service = HallService.open(hall, url)
        start = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo(hall.timezone)).timestamp()
        self.t = start + 0.001 * self.service.store.last_seq()  # later than the last round

    def __call__(self, i: int) -> object:
        self.t += 0.001
        return self.service.execute(IssueTicket("quick_b"), self.t, device="bench")

    def close(self) -> None:
        self.service.close()


class SqliteFloor:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            self.conn.execute(pragma)
        self.conn.execute("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, data TEXT)")

    def __call__(self, i: int) -> object:
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO floor (data) VALUES (?)", (ROW,))
        return self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class PgFloor:
    def __init__(self, conninfo: str, schema: str) -> None:
        self.conn = psycopg.connect(conninfo, autocommit=False, options=f"-csearch_path={schema}")
        self.conn.execute("CREATE TABLE IF NOT EXISTS floor (id serial PRIMARY KEY, data text)")
        self.conn.commit()

    def __call__(self, i: int) -> object:
        self.conn.execute("INSERT INTO floor (data) VALUES (%s)", (ROW,))
        return self.conn.commit()

    def close(self) -> None:
        self.conn.close()


@contextmanager
def pg_schema(url: str) -> Iterator[tuple[str, str]]:
    """A temporary schema: (SQLAlchemy URL using it, schema name)."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}?options=-csearch_path%3D{schema}", schema
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def median_round(rounds: list[Round]) -> Round:
    return Round(*(statistics.median(getattr(r, f) for r in rounds)
                   for f in ("per_second", "p50_ms", "p99_ms")))


def report(results: dict[tuple[str, str], list[Round]]) -> None:
    print(f"{'backend':<11}{'path':<26}{'commits/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for backend in ("sqlite", "postgresql"):
        ours = median_round(results[backend, "ours"])
        floor = median_round(results[backend, "floor"])
        for name, r in (("HallService.execute", ours), ("bare commit (floor)", floor)):
            print(f"{backend:<11}{name:<26}{r.per_second:>10.0f}{r.p50_ms:>9.3f}{r.p99_ms:>9.3f}")
        print(f"{backend:<11}{'ratio ours / floor':<26}{ours.per_second / floor.per_second:>9.2f}x"
              f"{ours.p50_ms / floor.p50_ms:>8.2f}x{ours.p99_ms / floor.p99_ms:>8.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="commits per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL base URL")
    args = parser.parse_args(argv)
    hall = load_hall(SAMPLE_HALL)
    results: dict[tuple[str, str], list[Round]] = {}
    conninfo = sa.make_url(args.pg).set(drivername="postgresql").render_as_string(False)
    with tempfile.TemporaryDirectory() as tmp, pg_schema(args.pg) as (pg_url, schema):
        paths: dict[tuple[str, str], Callable[[], Op]] = {
            ("sqlite", "ours"): lambda: Ours(hall, f"sqlite:///{tmp}/onewindow.db"),
            ("sqlite", "floor"): lambda: SqliteFloor(Path(tmp) / "floor.db"),
            ("postgresql", "ours"): lambda: Ours(hall, pg_url),
            ("postgresql", "floor"): lambda: PgFloor(conninfo, schema),
        }
        for r in range(args.rounds):
            for key, make in paths.items():
                op = make()
                try:
                    results.setdefault(key, []).append(timed(op, args.n))
                finally:
                    op.close()
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    print(f"\n{args.n} commits per round, median of {args.rounds} rounds "
          f"({os.cpu_count()} CPUs, shared machine)")
    report(results)


if __name__ == "__main__":
    main()
