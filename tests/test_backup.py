"""`onewindow backup` while a real hub takes a burst of tickets, `onewindow restore`, and
the store's schema version (older stores migrated on open, newer ones refused).

The backup and restore run as the operator runs them: the real command in a
subprocess, next to a real `onewindow serve` subprocess on the same SQLite file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import hall_time
from hub_process import QUIET, ROOT, SAMPLE_DEVICES, HubProcess, RawClient

from dispatcher.core import commands as c
from dispatcher.hall import Hall
from dispatcher.service import HallService
from dispatcher.store import SCHEMA_VERSION, EventStore, StoreOpenError, events, tickets
from dispatcher.store.schema import schema_version

QUEUES = ("quick_b", "quick_b", "tax", "marriage", "real_estate")   # zone B's kiosk K-B1
BURST = [*QUIET, "--rate-limit", "0"]   # one kiosk as fast as the hub answers
BEFORE_BACKUP = 120    # tickets acknowledged before the backup starts


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def one_error(done: subprocess.CompletedProcess[str], *parts: str) -> str:
    """The command failed as an operator mistake: exit 2, one `error:` line with ``parts``."""
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, (done.returncode, done.stderr, done.stdout)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def store_numbers(path: Path) -> dict[str, int]:
    """number → issued seq of every ticket in the SQLite file (its -wal included)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return dict(conn.execute("SELECT number, issued_seq FROM tickets"))


def check_consistent(path: Path) -> int:
    """The file is whole: integrity ok, seqs 1..n without a gap, every issue event has its
    ticket and every ticket its event. Returns the last seq."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        seqs = [s for (s,) in conn.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1)), "a gap in the event log"
        issued = conn.execute("SELECT count(*) FROM events WHERE name = 'ticket_issued'"
                              ).fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM tickets t JOIN events e "
                            "ON e.seq = t.issued_seq AND e.name = 'ticket_issued'"
                            ).fetchone()[0]
        assert issued == rows == conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        version = conn.execute("SELECT version FROM onewindow_schema").fetchall()
        assert version == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] in ("delete", "wal")
        return seqs[-1]


class Burst:
    """A kiosk issuing tickets back to back; every number kept with the moment its
    reply (the hub's acknowledgement, after the commit) arrived."""

    def __init__(self, kiosk: RawClient) -> None:
        self.kiosk = kiosk
        self.acked: list[tuple[float, str]] = []
        self.failures: list[dict] = []
        self.running = True

    async def run(self) -> None:
        i = 0
        while self.running:
            reply = await self.kiosk.command("issue_ticket", queue=QUEUES[i % len(QUEUES)])
            i += 1
            if reply.get("ok"):
                self.acked.append((time.monotonic(), reply["result"]["ticket"]["number"]))
            else:
                self.failures.append(reply)

    async def until(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, f"only {len(self.acked)} tickets"
            assert not self.failures, self.failures[:3]
            await asyncio.sleep(0.01)

    def numbers(self, before: float = float("inf"), after: float = float("-inf")) -> set[str]:
        return {n for t, n in self.acked if after < t < before}


async def backup_during_burst(hub: HubProcess, store: Path, out: Path
                              ) -> tuple[Burst, float, float, subprocess.CompletedProcess]:
    kiosk = await RawClient.hello(hub.url, "kiosk", "K-B1")
    burst = Burst(kiosk)
    task = asyncio.ensure_future(burst.run())
    await burst.until(BEFORE_BACKUP)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dispatcher.cli", "backup", "--data", str(store.parent),
        "--out", str(out), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    ended = time.monotonic()
    await burst.until(len(burst.acked) + 30)   # the hub goes on after the backup
    burst.running = False
    await task
    await kiosk.close()
    done = subprocess.CompletedProcess([], proc.returncode or 0, stdout.decode(),
                                       stderr.decode())
    return burst, started, ended, done


async def issue_each(url: str) -> dict[str, str]:
    kiosk = await RawClient.hello(url, "kiosk", "K-B1")
    try:
        out = {}
        for queue in dict.fromkeys(QUEUES):
            reply = await kiosk.command("issue_ticket", queue=queue)
            assert reply["ok"], reply
            out[queue] = reply["result"]["ticket"]["number"]
        return out
    finally:
        await kiosk.close()


def last_by_prefix(numbers: set[str]) -> dict[str, int]:
    last: dict[str, int] = {}
    for number in numbers:
        prefix, seq = number.rstrip("0123456789"), int(number.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        last[prefix] = max(last.get(prefix, 0), seq)
    return last


def test_backup_during_a_burst_then_restore_and_the_day_goes_on(tmp_path: Path) -> None:
    store = tmp_path / "data" / "hall.db"
    out = tmp_path / "backups" / "hall-1.db"
    with HubProcess(f"sqlite:///{store}", extra=BURST) as hub:
        burst, started, ended, done = asyncio.run(backup_during_burst(hub, store, out))
        assert done.returncode == 0, done.stderr
        assert f"backed up {store} to {out}: schema {SCHEMA_VERSION}" in done.stdout
        assert not burst.failures, burst.failures[:3]
        during = burst.numbers(before=ended, after=started)
        assert during, "the hub acknowledged no ticket while the backup ran"

        # The copy: one whole file, everything acknowledged before it started.
        assert not Path(f"{out}-wal").exists()
        last_seq = check_consistent(out)
        saved = set(store_numbers(out))
        assert burst.numbers(before=started) <= saved
        assert saved <= burst.numbers(), "a ticket in the backup nobody was told of"
        assert saved < burst.numbers(), "the backup holds the burst after it, too"

        # Restore over the running hub: refused, and the hub goes on as before.
        live_before = store_numbers(store)
        refused = cli("restore", "--from", str(out), "--data", str(store.parent))
        one_error(refused, f"store {store}: in use by a running process", "stop it first")
        assert store_numbers(store) == live_before
        assert hub.health()["seq"] > last_seq
        hub.kill()   # the worst way to stop: its -wal and -shm stay behind

    everything = burst.numbers()
    assert set(store_numbers(store)) == everything   # (read through the stale -wal)
    restored = cli("restore", "--from", str(out), "--data", str(store.parent))
    assert restored.returncode == 0, restored.stderr
    kept = next(store.parent.glob("hall.db.before-restore-*[0-9]"))
    assert f"kept as {kept}" in restored.stdout
    assert set(store_numbers(kept)) == everything, "the replaced store lost tickets"
    assert set(store_numbers(store)) == saved
    assert check_consistent(store) == last_seq

    # A hub on the restored store resumes the day: each queue goes on from the
    # backup's last number, and no number of the backup comes again.
    with HubProcess(f"sqlite:///{store}", start_at="2026-11-23 10:00", extra=QUIET) as again:
        assert again.health()["seq"] == last_seq
        fresh = asyncio.run(issue_each(again.url))
    last = last_by_prefix(saved)
    for number in fresh.values():
        prefix = number.rstrip("0123456789")
        assert int(number[len(prefix):]) == last[prefix] + 1, (number, last)
        assert number not in saved


def test_backup_refuses_to_overwrite_and_leaves_no_partial_file(tmp_path: Path) -> None:
    store = tmp_path / "data" / "hall.db"
    with HubProcess(f"sqlite:///{store}", extra=QUIET) as hub:
        asyncio.run(issue_each(hub.url))
        out = tmp_path / "b.db"
        assert cli("backup", "--data", str(store.parent), "--out", str(out)).returncode == 0
        first = out.read_bytes()
        asyncio.run(issue_each(hub.url))
        again = cli("backup", "--data", str(store.parent), "--out", str(out))
        one_error(again, f"--out {out}: the file exists; give --force")
        assert out.read_bytes() == first
        forced = cli("backup", "--db", f"sqlite:///{store}", "--out", str(out), "--force")
        assert forced.returncode == 0, forced.stderr
        assert len(store_numbers(out)) == 2 * len(set(QUEUES))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db", "data"]


def test_a_dated_backup_keeps_the_newest_n_and_nothing_else_is_deleted(tmp_path: Path
                                                                      ) -> None:
    store = tmp_path / "data" / "hall.db"
    EventStore.open(f"sqlite:///{store}").close()
    folder = tmp_path / "backups"
    folder.mkdir()
    old = [folder / f"hall-2026112{i}-0930.db" for i in range(3)]
    for age, path in enumerate(reversed(old), 1):   # hall-20261120 is the oldest
        path.write_bytes(b"an old backup")
        os.utime(path, (time.time() - age * 86400,) * 2)
    others = [folder / "notes.txt", folder / "hall.db", tmp_path / "hall-20261101-0930.db"]
    for path in others:
        path.write_text("not a backup of this pattern")
    done = cli("backup", "--data", str(store.parent), "--out",
               str(folder / "hall-%Y%m%d-%H%M.db"), "--keep", "2")
    assert done.returncode == 0, done.stderr
    made = next(p for p in folder.glob("hall-*.db") if p not in old)
    assert made.name[:9] == time.strftime("hall-%Y") and len(made.name) == len(old[0].name)
    assert f"backed up {store} to {made}" in done.stdout
    assert sorted(folder.glob("hall-*.db")) == sorted([made, old[2]])
    assert f"deleted the older backup {old[0]}" in done.stdout
    assert all(path.exists() for path in others)


def test_restore_checks_the_backup_before_it_touches_the_store(tmp_path: Path) -> None:
    store = tmp_path / "data" / "hall.db"
    with HubProcess(f"sqlite:///{store}", extra=QUIET) as hub:
        asyncio.run(issue_each(hub.url))
    good = tmp_path / "good.db"
    assert cli("backup", "--data", str(store.parent), "--out", str(good)).returncode == 0
    numbers = store_numbers(store)
    before = sorted(p.name for p in store.parent.iterdir())

    other = tmp_path / "other.db"   # a SQLite file, but no OneWindow store
    with contextlib.closing(sqlite3.connect(other)) as conn, conn:
        conn.execute("CREATE TABLE notes (x)")
    newer = tmp_path / "newer.db"   # a backup a newer OneWindow made
    newer.write_bytes(good.read_bytes())
    with contextlib.closing(sqlite3.connect(newer)) as conn, conn:
        conn.execute("UPDATE onewindow_schema SET version = ?", (SCHEMA_VERSION + 1,))
    broken = tmp_path / "broken.db"   # the first half of a backup
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    cases = {
        other: "not a OneWindow store",
        newer: f"schema version {SCHEMA_VERSION + 1}, newer than this OneWindow's",
        broken: f"--from {broken}:",
        tmp_path / "none.db": "no such file",
        tmp_path / "data": "a folder, not a SQLite file",
    }
    for source, problem in cases.items():
        done = cli("restore", "--from", str(source), "--data", str(store.parent))
        one_error(done, problem)
        assert sorted(p.name for p in store.parent.iterdir()) == before, source
        assert store_numbers(store) == numbers


# ------------------------------------------------------------------ schema version

def downgrade_to_v1(url: str) -> None:
    """Make a current store look like one of the first (version 1) stores: no version
    table, no events.command_hash, and on PostgreSQL an INTEGER tickets.serial."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {schema_version.name}"))
        conn.execute(sa.text("ALTER TABLE events DROP COLUMN command_hash"))
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE tickets ALTER COLUMN serial TYPE INTEGER"))
    engine.dispose()


def columns(url: str) -> dict[str, dict[str, str]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {t: {c["name"]: repr(c["type"]) for c in inspector.get_columns(t)}
                for t in inspector.get_table_names()}
    finally:
        engine.dispose()


def test_an_older_store_is_migrated_on_open(sample_hall: Hall, db_url: str) -> None:
    at = hall_time(sample_hall, "09:30")
    with HallService.open(sample_hall, db_url) as svc:
        for i, queue in enumerate(("quick_b", "quick_b", "tax")):
            svc.execute(c.IssueTicket(queue), at + i)
        state = dataclasses.asdict(svc.core.state)
    downgrade_to_v1(db_url)
    assert "command_hash" not in columns(db_url)["events"]

    with HallService.open(sample_hall, db_url) as svc:
        assert dataclasses.asdict(svc.core.state) == state   # the day as it was
        done = svc.execute(c.IssueTicket("quick_b"), at + 10, command_id="k-1",
                           command_hash="d1")
        assert [e.number for _, e in done if e.NAME == "ticket_issued"] == ["B003"]
        with svc.store.engine.begin() as conn:
            assert conn.scalar(sa.select(schema_version.c.version)) == SCHEMA_VERSION
            assert conn.scalar(sa.select(events.c.command_hash)
                               .where(events.c.command_id == "k-1")) == "d1"
            # a requeue's place between two tickets is a fraction: kept, not rounded
            conn.execute(tickets.update().where(tickets.c.number == "B003"), {"serial": 2.5})
            assert conn.scalar(sa.select(tickets.c.serial)
                               .where(tickets.c.number == "B003")) == 2.5
    assert columns(db_url)["tickets"]["serial"] in ("FLOAT()",
                                                    "DOUBLE_PRECISION(precision=53)")


def test_a_newer_store_is_refused_and_left_as_it_is(sample_hall: Hall, db_url: str) -> None:
    with HallService.open(sample_hall, db_url) as svc:
        svc.execute(c.IssueTicket("quick_b"), hall_time(sample_hall, "09:30"))
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:   # as a newer OneWindow might leave it
        conn.execute(schema_version.update(), {"version": SCHEMA_VERSION + 1})
        conn.execute(sa.text("ALTER TABLE events DROP COLUMN command_hash"))
    engine.dispose()
    before = columns(db_url)
    with pytest.raises(StoreOpenError, match=rf"schema version {SCHEMA_VERSION + 1}, newer "
                       rf"than this OneWindow's {SCHEMA_VERSION}"):
        HallService.open(sample_hall, db_url)
    assert columns(db_url) == before   # not "migrated": nothing added


def test_a_current_store_opens_read_only_and_an_old_one_is_not_half_migrated(
        sample_hall: Hall, tmp_path: Path) -> None:
    """Opening a store of this version writes nothing (a reader without the right to
    write, like a report's, can open it); an older one opened read-only fails whole."""
    path = tmp_path / "hall.db"
    with HallService.open(sample_hall, f"sqlite:///{path}") as svc:
        svc.execute(c.IssueTicket("quick_b"), hall_time(sample_hall, "09:30"))
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    with EventStore.open(read_only) as store:
        assert store.last_seq() == 2
    downgrade_to_v1(f"sqlite:///{path}")
    with pytest.raises(StoreOpenError, match="readonly"):
        EventStore.open(read_only)
    assert "command_hash" not in columns(f"sqlite:///{path}")["events"]


def test_serve_on_a_newer_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    store = tmp_path / "hall.db"
    with HubProcess(f"sqlite:///{store}", extra=QUIET) as hub:
        asyncio.run(issue_each(hub.url))
    with contextlib.closing(sqlite3.connect(store)) as conn, conn:
        conn.execute("UPDATE onewindow_schema SET version = 99")
    done = cli("serve", "--devices", str(SAMPLE_DEVICES), "--db", f"sqlite:///{store}",
               "--port", "0")
    one_error(done, f"database sqlite:///{store}: the store is at schema version 99",
              "docs/deployment.md#upgrading")
    backup = cli("backup", "--db", f"sqlite:///{store}", "--out", str(tmp_path / "b.db"))
    one_error(backup, "schema version 99")
    assert not (tmp_path / "b.db").exists()
    assert os.path.exists(store)
