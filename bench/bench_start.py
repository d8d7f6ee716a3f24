"""The hub's start on a long day: where the time goes, and snapshot + tail against
every event of the day.

    python -m bench.bench_start [--tickets N] [--rounds R] [--pg URL] [--keep DIR]

The day: the sample hall with 245 more big-loop windows in zone B (300 windows), a
simulated day of N tickets (default 20,000; policy loops+side, 5% no-shows), its events
appended to a fresh store in batches, each given a command id as a hub's are, then
snapshots written as the hub's writer would (one every SNAPSHOT_EVERY events, each
pruning what no start can need). Each
round, interleaved, on the same store:

* floor: a bare SELECT of the day's (seq, data) rows through the raw driver;
* the parts of a start from every event: the same SELECT through SQLAlchemy, the JSON
  decode (before: json.loads + event_from_dict; now: core/codec.py), apply, and the hub's
  observer (frames for the ring, recent calls, floor history);
* snapshot: decoding the state of the snapshot a start picks;
* the whole start in process, ``Hub(...)`` with its HallService: as before this work
  (every event, the old decode), every event with the new decode, and snapshot + tail;
* ``onewindow serve`` as a subprocess, from spawn to its "listening" line, with and
  without the snapshots (a copy of the store without them; SQLite only), its modules'
  bytecode cached as in an installed OneWindow (after one untimed start);
* what the writer costs the command path: ``HallService.execute(IssueTicket)`` p50/p99
  on a copy of the store with no writer, and with a snapshot of the whole day written
  every 100 events (20× as often as by default) in the writer's thread, or in its
  worker process as the hub does (SQLite only).

Medians and the worst round; ratios to the floor of the same run (the execute rows:
to the same figure with no writer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

from bench.bench_store import pg_schema
from dispatcher.core import codec
from dispatcher.core import events as ev
from dispatcher.core.commands import IssueTicket
from dispatcher.core.dispatcher import Dispatcher
from dispatcher.core.events import event_from_dict
from dispatcher.core.floor import FloorHistory
from dispatcher.core.policy import hall_for
from dispatcher.hall import SAMPLE_HALL, Hall, parse_hall
from dispatcher.hub.server import Hub
from dispatcher.service import HallService
from dispatcher.simulator.engine import SimOptions, _Run
from dispatcher.simulator.generate import GenOptions, generate
from dispatcher.store import EventStore
from dispatcher.store.schema import events, snapshots
from dispatcher.store.snapshots import (
    SNAPSHOT_EVERY,
    SnapshotWriter,
    load_start,
    paused_gc,
    write_snapshot,
)

ROOT = Path(__file__).resolve().parent.parent
EXECUTES = 600            # issue_ticket commands timed with and without the writer
WRITER_EVERY = 100        # ... writing a snapshot of the whole day every 100 of them
EXTRA_WINDOWS = '\n[[windows]]\nids = "B101-B345"\nname = "综合受理窗口{id}"\nzone = "B"\n' \
                'profile = "big_loop_b"\n'


def big_hall_file(folder: Path) -> Path:
    """The sample hall with 300 windows, as a file for `onewindow serve`."""
    path = folder / "big-hall.toml"
    path.write_text(SAMPLE_HALL.read_text(encoding="utf-8") + EXTRA_WINDOWS, encoding="utf-8")
    return path


def copy_store(source: Path, target: Path) -> Path:
    """A consistent copy of a SQLite store (its WAL included), over no stale WAL."""
    for path in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        path.unlink(missing_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def load_file(path: Path) -> Hall:
    return parse_hall(tomllib.loads(path.read_text(encoding="utf-8")), str(path))


class _Recorder(Dispatcher):
    """The simulator's core, keeping every event it decided."""

    def __init__(self, hall: Hall) -> None:
        super().__init__(hall)
        self.log: list[ev.Event] = []

    def execute(self, command: Any, now: float) -> list[ev.Event]:
        decided = super().execute(command, now)
        self.log.extend(decided)
        return decided


def simulated_day(hall: Hall, tickets: int, seed: int = 3,
                  policy: str = "loops+side") -> list[ev.Event]:
    arrivals = generate(hall, GenOptions(tickets=tickets, seed=seed))
    core = _Recorder(hall_for(hall, policy))
    opts = SimOptions(policy=policy, seed=seed, estimates=False, no_show={"*": 0.05})
    _Run(hall, arrivals, opts, core=core).play()
    return core.log


def fill_store(hall: Hall, url: str, day: list[ev.Event], every: int = SNAPSHOT_EVERY,
               batch: int = 2_000) -> None:
    """Append the day's events (each with a command id, as a hub writes them: a start
    reads today's ids), then write the snapshots the hub's writer would have."""
    with EventStore.open(url, hall=hall) as store:
        for i in range(0, len(day), batch):
            store.append(day[i:i + batch])
        with store.engine.begin() as conn:   # as a hub's: every command has its id
            conn.execute(events.update().values(
                device="K-B1", command_id=sa.cast(events.c.seq, sa.String),
                command_hash="0" * 32))
        write_snapshots(hall, store, every)


def write_snapshots(hall: Hall, store: EventStore, every: int) -> None:
    start = load_start(hall, store, use_snapshots=False)
    core, floor = start.core, FloorHistory()
    for seq, event in start.events:
        core.apply(event)
        floor.note(seq, event, core.state)
        if seq % every == 0:
            write_snapshot(store.engine, hall, seq, event.at, core, floor)


def refresh_snapshots(hall: Hall, url: str) -> None:
    """A kept store's snapshots were written by other code (core/codec.py CODE_DIGEST
    changes with every edit of the core): write them again."""
    with EventStore.open(url, hall=hall) as store:
        with store.engine.begin() as conn:
            current = conn.scalar(sa.select(sa.func.count()).select_from(snapshots)
                                  .where(snapshots.c.code == codec.CODE_DIGEST))
            if current:
                return
            conn.execute(snapshots.delete())
        write_snapshots(hall, store, SNAPSHOT_EVERY)


# ------------------------------------------------------------------ the parts

def bare_select(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        first = conn.execute("SELECT max(seq) FROM events WHERE name = 'day_opened'").fetchone()[0]
        return conn.execute("SELECT seq, data FROM events WHERE seq >= ? ORDER BY seq",
                            (first,)).fetchall()
    finally:
        conn.close()


def bare_select_pg(url: str) -> list[tuple[int, str]]:
    """The floor on PostgreSQL: the same rows through psycopg itself."""
    parsed = sa.make_url(url)
    options = parsed.query.get("options")
    conn = psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                           dbname=parsed.database, options=options if isinstance(options, str)
                           else None)
    try:
        first = conn.execute("SELECT max(seq) FROM events WHERE name = 'day_opened'"
                             ).fetchone()[0]
        return conn.execute("SELECT seq, data FROM events WHERE seq >= %s ORDER BY seq",
                            (first,)).fetchall()
    finally:
        conn.close()


def sa_select(store: EventStore) -> list[tuple[int, str]]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.select(events.c.seq, events.c.data)
                                 .order_by(events.c.seq)))


class _Before(HallService):
    """The start as it was before snapshots: every event, json.loads + event_from_dict."""

    def _rebuild(self) -> Dispatcher:
        core = Dispatcher(self.hall)
        self._apply(core, self.store.current_day_events())
        return core


class _AllEvents(HallService):
    """Every event of the day with the new decode and no garbage collection meanwhile
    (what a start without a usable snapshot does now)."""

    def _rebuild(self) -> Dispatcher:
        with paused_gc():
            start = load_start(self.hall, self.store, use_snapshots=False)
            self._apply(start.core, start.events)
        return start.core


def hub_start(kind: type[HallService], hall: Hall, url: str) -> float:
    begin = time.perf_counter()
    store = EventStore.open(url, hall=hall)
    hub = Hub(lambda observer: kind(hall, store, observer), {})
    took = time.perf_counter() - begin
    hub.service.close()
    return took


def serve_start(hall_file: Path, url: str) -> tuple[float, bool]:
    """Seconds from spawning `onewindow serve` to its "listening" line, and whether it
    started from a snapshot (its log's "start" line)."""
    argv = [sys.executable, "-m", "dispatcher.cli", "serve", "--hall", str(hall_file),
            "--devices", str(ROOT / "assets/halls/sample-devices.toml"), "--db", url,
            "--port", "0", "--start-at", "2026-11-23 18:30", "--balance-every", "86400"]
    # no writer during the bench; the modules' bytecode cached (out of the tree), as an
    # installed OneWindow has it (this machine sets PYTHONDONTWRITEBYTECODE)
    env = {**os.environ, "ONEWINDOW_SNAPSHOT_EVERY": "0",
           "PYTHONPYCACHEPREFIX": str(Path(tempfile.gettempdir()) / "bench-start-pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    begin = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    took = time.monotonic() - begin
    proc.terminate()
    log = proc.stderr.read()
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    if "listening" not in line:
        raise SystemExit(f"error: the hub did not start: {line!r} {log[-500:]}")
    start = next((json.loads(x) for x in log.splitlines() if '"event": "start"' in x), {})
    return took, start.get("snapshot") is not None


def observe_all(hall: Hall, url: str, day: list[tuple[int, ev.Event]]) -> float:
    """The hub's observer alone over the day (on a hub opened on an empty store)."""
    store = EventStore.open(url, hall=hall)
    hub = Hub(lambda observer: HallService(hall, store, observer), {})
    core = Dispatcher(hall)
    begin = time.perf_counter()
    left = len(day)
    for seq, event in day:
        core.apply(event)
        left -= 1
        hub._observe(seq, event, core, left)
    took = time.perf_counter() - begin
    hub.service.close()
    return took


def execute_latency(hall: Hall, db: Path, every: int, n: int, in_process: bool
                    ) -> tuple[float, float]:
    """p50 and p99 (ms) of ``HallService.execute(IssueTicket)`` on a copy of the day's
    store while the writer has a snapshot written every ``every`` events (0: no writer),
    by its worker process or ``in_process`` (in its thread)."""
    copy = copy_store(db, db.with_name("execute.db"))
    store = EventStore.open(f"sqlite:///{copy}", hall=hall)
    service = HallService(hall, store)
    service.snapshots.stop()
    writer = SnapshotWriter(hall, store, every=every, poll=0.02, delay=0,
                            in_process=in_process).start()
    if every and not in_process:   # the worker process started and caught up first
        writer.written = writer._write()
    now = hall_time(hall, "16:00")
    latencies = []
    for i in range(n):
        begin = time.perf_counter()
        service.execute(IssueTicket("quick_b"), now + i * 0.01)
        latencies.append((time.perf_counter() - begin) * 1000)
    writer.stop()
    service.close()
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def hall_time(hall: Hall, hhmm: str) -> float:
    local = datetime.fromisoformat(f"2026-11-23T{hhmm}").replace(tzinfo=ZoneInfo(hall.timezone))
    return local.timestamp()


# ------------------------------------------------------------------ the run

def one_round(hall: Hall, url: str, db: Path | None, empty_url: str,
              hall_file: Path, no_snap: Path | None) -> dict[str, float]:
    out: dict[str, float] = {}

    def timed(name: str, work: Callable[[], Any]) -> Any:
        begin = time.perf_counter()
        result = work()
        out[name] = time.perf_counter() - begin
        return result

    with EventStore.open(url, hall=hall) as store:
        if db is not None:
            timed("floor: bare SELECT", lambda: bare_select(db))
        else:
            timed("floor: bare SELECT", lambda: bare_select_pg(url))
        rows = timed("SELECT (SQLAlchemy)", lambda: sa_select(store))
        first = max(i for i, (_, d) in enumerate(rows) if '"day_opened"' in d[:40])
        rows = rows[first:]
        timed("decode before (json + event_from_dict)",
              lambda: [(s, event_from_dict(json.loads(d))) for s, d in rows])
        day = timed("decode now (core/codec.py)", lambda: codec.decode_events(rows))
        timed("apply", lambda: Dispatcher.replay(hall, [e for _, e in day]))
        timed("today's command ids (the hub's stored_ids)", store.command_keys_today)
        start = timed("load_start: snapshot + tail decoded", lambda: load_start(hall, store))
        out["events after the snapshot"] = len(start.events)
        blob = store.engine.connect().execute(
            sa.select(snapshots.c.data).order_by(snapshots.c.seq.desc()).limit(1)).scalar()
        if blob is not None:
            timed("snapshot: decode state", lambda: codec.decode_state(blob, hall))
    out["observe (hub: frames, floor, calls)"] = observe_all(hall, empty_url, day)
    out["hub start before (every event, old decode)"] = hub_start(_Before, hall, url)
    out["hub start, every event (new decode)"] = hub_start(_AllEvents, hall, url)
    out["hub start, snapshot + tail"] = hub_start(HallService, hall, url)
    if no_snap is not None:
        out["serve → listening, without snapshots"], _ = serve_start(
            hall_file, f"sqlite:///{no_snap}")
        took, used = serve_start(hall_file, url)
        if not used:   # the core's source changed under the bench: its digest too
            raise SystemExit("error: the hub did not start from a snapshot (was "
                             "dispatcher/core edited during the run?)")
        out["serve → listening, with snapshots"] = took
    if db is not None:
        for every, in_process, what in ((0, False, "no writer"),
                                        (WRITER_EVERY, True, "writer in a thread"),
                                        (WRITER_EVERY, False, "writer in a process")):
            p50, p99 = execute_latency(hall, db, every, EXECUTES, in_process)
            out[f"execute p50, {what}"] = p50 / 1000
            out[f"execute p99, {what}"] = p99 / 1000
    return out


def report(rounds: list[dict[str, float]], events_n: int, tickets: int, backend: str) -> None:
    print(f"\n{backend}: a day of {tickets:,} tickets, {events_n:,} events, "
          f"{len(rounds)} rounds, load average {os.getloadavg()[0]:.2f}")
    floor = statistics.median(r["floor: bare SELECT"] for r in rounds) \
        if "floor: bare SELECT" in rounds[0] else None
    print(f"{'part':48} {'median':>9} {'worst':>9} {'÷ floor':>8}")
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        if name == "events after the snapshot":
            print(f"{name:48} {int(statistics.median(values)):>9,}")
            continue
        med, worst = statistics.median(values), max(values)
        ratio = f"{med / floor:7.1f}×" if floor else ""
        if name.startswith("execute"):   # against the same percentile with no writer
            idle = statistics.median(r[name.split(",")[0] + ", no writer"] for r in rounds)
            ratio = f"{med / idle:7.2f}×"
        print(f"{name:48} {med * 1000:7.0f}ms {worst * 1000:7.0f}ms {ratio:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", help="also on this PostgreSQL URL (in a temporary schema)")
    parser.add_argument("--keep", type=Path, help="build the store in DIR (reused when there)")
    args = parser.parse_args(argv)
    if args.tickets < 100 or args.rounds < 1:
        parser.error("--tickets must be at least 100 and --rounds at least 1")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-start-"))
    folder.mkdir(parents=True, exist_ok=True)
    hall_file = big_hall_file(folder)
    hall = load_file(hall_file)
    db = folder / f"day-{args.tickets}.db"
    url = f"sqlite:///{db}"
    if not db.exists():
        began = time.perf_counter()
        day = simulated_day(hall, args.tickets)
        fill_store(hall, url, day)
        print(f"built {db} ({len(day):,} events) in {time.perf_counter() - began:.0f} s")
    else:
        refresh_snapshots(hall, url)
    no_snap = copy_store(db, folder / "no-snapshots.db")
    with sqlite3.connect(no_snap) as conn:
        conn.execute("DELETE FROM snapshots")
    empty_url = f"sqlite:///{folder / 'empty.db'}"
    serve_start(hall_file, url)   # untimed: fills the bytecode cache
    rounds = [one_round(hall, url, db, empty_url, hall_file, no_snap)
              for _ in range(args.rounds)]
    with sqlite3.connect(db) as conn:
        n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    report(rounds, n, args.tickets, "SQLite")
    if args.pg:
        pg_rounds(args, hall, hall_file, empty_url)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def pg_rounds(args: argparse.Namespace, hall: Hall, hall_file: Path, empty_url: str) -> None:
    with pg_schema(args.pg) as (url, _):
        day = simulated_day(hall, args.tickets)
        fill_store(hall, url, day)
        rounds = [one_round(hall, url, None, empty_url, hall_file, None)
                  for _ in range(args.rounds)]
        report(rounds, len(day), args.tickets, "PostgreSQL")


if __name__ == "__main__":
    sys.exit(main())
