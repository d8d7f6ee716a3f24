"""The hub's start from a snapshot of the state (issue 22): the same state, ring, floor
history and recent calls as replaying every event of the day; a snapshot of other code
or another hall, or one that does not decode, passed over; and kill -9 at any moment,
mid-snapshot-write included, changes none of it (real hub subprocesses).
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import hall_time
from hub_process import HubProcess, RawClient, watched
from hypothesis import HealthCheck, settings
from test_core_properties import HallMachine
from tiny_hall import tiny_hall

from bench.bench_start import (
    big_hall_file,
    copy_store,
    load_file,
    simulated_day,
    write_snapshots,
)
from dispatcher.core import codec
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.dispatcher import Dispatcher
from dispatcher.core.floor import FloorHistory, floor
from dispatcher.hall import Hall
from dispatcher.hub import ring, views
from dispatcher.hub.server import Hub
from dispatcher.service import HallService
from dispatcher.store import EventStore, snapshots
from dispatcher.store.schema import snapshots as snapshot_rows
from dispatcher.store.snapshots import Follower, SnapshotWriter, load_start, write_snapshot

ROOT = Path(__file__).resolve().parent.parent


def same(a: Any, b: Any, path: str = "state") -> None:
    """Equal, and of the same types all the way down (an enum is not its string, a
    tuple is not a list: the core compares and bisects them), dicts in the same order."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)[:5]}… != {list(b)[:5]}…"
        for key in a:
            same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def fold(hall: Hall, day: list[ev.Event]) -> tuple[Dispatcher, FloorHistory]:
    core, history = Dispatcher(hall), FloorHistory()
    for seq, event in enumerate(day, 1):
        core.apply(event)
        history.note(seq, event, core.state)
    return core, history


# ------------------------------------------------------------------ the codec

class SnapshotMachine(HallMachine):
    """The core's random runs (test_core_properties.py: every command, accepted and
    refused), then a snapshot at random cuts of the run's events: decoded, and with
    the rest of the events applied after it, it is the state of all the events. Each
    event decodes as event_from_dict decodes it."""

    def teardown(self) -> None:
        super().teardown()
        day = self.log
        if not day:
            return
        for event in day:   # the fast decode is event_from_dict, field for field
            stored = json.loads(json.dumps(event.to_dict()))
            same(vars(codec.decode_event(stored)), vars(ev.event_from_dict(stored)), "event")
        whole, whole_floor = fold(self.hall, day)
        for cut in sorted({0, len(day) - 1, *random.Random(len(day)).sample(
                range(len(day)), min(3, len(day)))}):
            core, history = fold(self.hall, day[:cut + 1])
            state, floor_back = codec.decode_state(
                codec.encode_state(core.state, history), self.hall)
            same(state, core.state)
            same(floor_back, history, "floor")
            resumed = Dispatcher(self.hall, state)
            assert floor_back is not None
            for seq, event in enumerate(day[cut + 1:], cut + 2):
                resumed.apply(event)
                floor_back.note(seq, event, resumed.state)
            same(resumed.state, whole.state)
            same(floor_back, whole_floor, "floor")


SnapshotMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=80, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow])
TestSnapshotMachine = SnapshotMachine.TestCase


@pytest.mark.parametrize("seed", range(6))
def test_snapshot_and_tail_is_the_state_of_every_event_on_simulated_days(
        sample_hall: Hall, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random simulated days of the sample hall (window moves under ``balanced``,
    no-shows), stored, a snapshot written at a random seq: the start from it equals
    the start from every event, state and floor history."""
    rng = random.Random(seed)
    policy = ("balanced", "capped", "loops+side")[seed % 3]
    day = simulated_day(sample_hall, rng.randrange(150, 500), seed=seed, policy=policy)
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    with EventStore.open(url, hall=sample_hall) as store:
        store.append(day)
        cut = rng.randrange(1, len(day))
        core, history = fold(sample_hall, day[:cut])
        write_snapshot(store.engine, sample_hall, cut, day[cut - 1].at, core, history)
        monkeypatch.setattr(snapshots, "TAIL_EVENTS", len(day) - cut)
        monkeypatch.setattr(snapshots, "TAIL_CALLS", 1)
        start = load_start(sample_hall, store)
        assert start.seed is not None and start.seed[0] == cut
        assert [s for s, _ in start.events] == list(range(cut + 1, len(day) + 1))
        history = start.seed[1].floor
        for seq, event in start.events:
            start.core.apply(event)
            history.note(seq, event, start.core.state)
        whole, whole_floor = fold(sample_hall, day)
        same(start.core.state, whole.state)
        same(history, whole_floor, "floor")


def test_the_codec_knows_every_field_of_the_state() -> None:
    """A field added to HallState without a codec entry must stop the snapshots, not
    write ones that lose it."""
    names = {f.name for f in dataclasses.fields(codec.HallState)} - {"planned_profiles"}
    assert names == set(codec._FIELDS)


def test_the_tail_covers_what_the_hub_builds_from_events() -> None:
    assert snapshots.TAIL_EVENTS >= ring.RING_AFTER_START
    assert snapshots.TAIL_CALLS >= views.RECENT_CALLS


# ------------------------------------------------------------------ choosing one

@pytest.fixture(scope="module")
def tiny_day() -> list[ev.Event]:
    hall = tiny_hall()
    core = Dispatcher(hall)
    now = hall_time(hall, "09:00")
    day: list[ev.Event] = []
    day += core.execute(c.OpenWindow("W1"), now)
    for i in range(40):
        day += core.execute(c.IssueTicket("q1", "normal"), now + i)
        day += core.execute(c.CallNext("W1"), now + i + 0.5)
    return day


def test_a_snapshot_of_other_code_another_hall_or_unreadable_is_passed_over(
        db_url: str, tiny_day: list[ev.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    hall = tiny_hall()
    monkeypatch.setattr(snapshots, "TAIL_EVENTS", 10)
    monkeypatch.setattr(snapshots, "TAIL_CALLS", 1)
    with EventStore.open(db_url, hall=hall) as store:
        store.append(tiny_day)
        core, history = fold(hall, tiny_day[:30])
        write_snapshot(store.engine, hall, 30, tiny_day[29].at, core, history)
        assert load_start(hall, store).seed is not None
        whole = fold(hall, tiny_day)[0].state
        for column, value in (("code", "0" * 32), ("hall", "0" * 32), ("data", b"garbage")):
            with store.engine.begin() as conn:
                original = conn.scalar(sa.select(snapshot_rows.c[column]))
                conn.execute(snapshot_rows.update().values({column: value}))
            start = load_start(hall, store)
            assert start.seed is None, column
            assert start.events[0][0] == 1
            for _, event in start.events:
                start.core.apply(event)
            same(start.core.state, whole)
            with store.engine.begin() as conn:
                conn.execute(snapshot_rows.update().values({column: original}))
        assert load_start(hall, store).seed is not None


def test_a_snapshot_of_yesterday_is_not_used_today(
        tmp_path: Path, tiny_day: list[ev.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's core rolls over with the store; today's start never starts from
    yesterday's snapshot, and the writer's next snapshot drops yesterday's."""
    hall = tiny_hall()
    monkeypatch.setattr(snapshots, "TAIL_EVENTS", 5)
    monkeypatch.setattr(snapshots, "TAIL_CALLS", 1)
    core = fold(hall, tiny_day)[0]
    tomorrow = hall_time(hall, "09:00", day="2026-11-24")
    today = core.execute(c.OpenWindow("W1"), tomorrow)
    for i in range(10):
        today += core.execute(c.IssueTicket("q1", "normal"), tomorrow + i)
        today += core.execute(c.CallNext("W1"), tomorrow + i + 0.5)
    assert isinstance(today[0], ev.DayClosed) and isinstance(today[1], ev.DayOpened)
    with EventStore.open(f"sqlite:///{tmp_path / 'hall.db'}", hall=hall) as store:
        writer = Follower(hall, store.engine)
        store.append(tiny_day)
        assert writer.write_now() == len(tiny_day)
        store.append(today[:2])   # the day closes and the next opens: no call yet today
        start = load_start(hall, store)
        assert start.seed is None and start.events[0][0] == len(tiny_day) + 2
        store.append(today[2:])
        assert writer.write_now() == store.last_seq()
        with store.engine.connect() as conn:
            kept = conn.scalars(sa.select(snapshot_rows.c.day)).all()
        assert kept == ["2026-11-24"]
        start = load_start(hall, store)
        for _, event in start.events:
            start.core.apply(event)
        same(start.core.state, core.state)


def test_the_writer_follows_the_store_and_keeps_only_what_a_start_can_use(
        tmp_path: Path, tiny_day: list[ev.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    hall = tiny_hall()
    monkeypatch.setattr(snapshots, "TAIL_EVENTS", 20)
    monkeypatch.setattr(snapshots, "TAIL_CALLS", 1)
    with EventStore.open(f"sqlite:///{tmp_path / 'hall.db'}", hall=hall) as store:
        writer = Follower(hall, store.engine)
        for i in range(0, len(tiny_day), 10):
            store.append(tiny_day[i:i + 10])
            assert writer.write_now() == store.last_seq()
        written = [min(i + 10, len(tiny_day)) for i in range(0, len(tiny_day), 10)]
        with store.engine.connect() as conn:
            kept = conn.scalars(sa.select(snapshot_rows.c.seq).order_by(snapshot_rows.c.seq)).all()
            until = snapshots.usable_until(conn, 1, len(tiny_day))
        newest_usable = max(w for w in written if w <= until)
        assert kept == [w for w in written if w >= newest_usable]
        start = load_start(hall, store)
        assert start.seed is not None and start.seed[0] == newest_usable
        for _, event in start.events:
            start.core.apply(event)
        same(start.core.state, fold(hall, tiny_day)[0].state)


def test_the_writer_has_its_worker_process_write_every_n_events(
        db_url: str, tiny_day: list[ev.Event]) -> None:
    hall = tiny_hall()
    with EventStore.open(db_url, hall=hall) as store:
        writer = SnapshotWriter(hall, store, every=25, poll=0.05, delay=0).start()
        try:
            store.append(tiny_day[:20])
            time.sleep(0.5)
            store.append(tiny_day[20:])
            deadline = time.monotonic() + 60
            while writer.written != len(tiny_day) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            writer.stop()
        assert writer.written == len(tiny_day)
        with store.engine.connect() as conn:
            data = conn.scalar(sa.select(snapshot_rows.c.data)
                               .where(snapshot_rows.c.seq == len(tiny_day)))
        same(codec.decode_state(data, hall)[0], fold(hall, tiny_day)[0].state)


# ------------------------------------------------------------------ the hub's start

BIG_DAY_TICKETS = 40_000
CUT = "10:00"             # its first hour: ~11,800 events, the tail within the hour


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[ev.Event]]:
    """The first hour of a 40,000-ticket day in the 300-window hall (bench/bench_start.py's),
    stored, with snapshots every 1,000 events as the writer leaves them: the events after
    the snapshot a start picks cover less than the floor history's hour."""
    folder = tmp_path_factory.mktemp("big")
    hall_file = big_hall_file(folder)
    hall = load_file(hall_file)
    cut = hall_time(hall, CUT)
    day = [e for e in simulated_day(hall, BIG_DAY_TICKETS, seed=5) if e.at < cut]
    assert len(day) > ring.RING_SIZE + 1_000
    db = folder / "hall.db"
    with EventStore.open(f"sqlite:///{db}", hall=hall) as store:
        for i in range(0, len(day), 2_000):
            store.append(day[i:i + 2_000])
        write_snapshots(hall, store, 1_000)
    return hall_file, db, day


class _EveryEvent(HallService):
    def _rebuild(self) -> Dispatcher:
        start = load_start(self.hall, self.store, use_snapshots=False)
        self._apply(start.core, start.events)
        return start.core


def _hub(kind: type[HallService], hall: Hall, url: str) -> Hub:
    store = EventStore.open(url, hall=hall)
    return Hub(lambda observer: kind(hall, store, observer), {})


@pytest.mark.slow
def test_the_hub_from_a_snapshot_has_the_ring_floor_and_calls_of_every_event(
        big_store: tuple[Path, Path, list[ev.Event]]) -> None:
    hall_file, db, day = big_store
    hall = load_file(hall_file)
    url = f"sqlite:///{db}"
    fast, slow = _hub(HallService, hall, url), _hub(_EveryEvent, hall, url)
    try:
        assert len(fast.ring) == len(slow.ring) == ring.RING_AFTER_START
        assert list(fast.ring.items()) == list(slow.ring.items())
        assert list(fast.recent.calls) == list(slow.recent.calls)
        same(fast.service.core.state, slow.service.core.state)
        for minutes in (0, 20, 59, 61, 300):
            now = day[-1].at + minutes * 60
            assert floor(hall, fast.service.core.state, now, fast.floor) == \
                floor(hall, slow.service.core.state, now, slow.floor), minutes
    finally:
        fast.service.close()
        slow.service.close()


# ------------------------------------------------------------------ kill -9

def _check_every_snapshot(hall: Hall, db: Path) -> int:
    """Each snapshot in the store is exactly the state (and floor history) of the
    events up to its seq; a start from the store is the state of all its events."""
    with EventStore.open(f"sqlite:///{db}", hall=hall) as store:
        start = load_start(hall, store, use_snapshots=False)
        with store.engine.connect() as conn:
            rows = dict(conn.execute(sa.select(snapshot_rows.c.seq, snapshot_rows.c.data)).all())
        core, history = Dispatcher(hall), FloorHistory()
        for seq, event in start.events:
            core.apply(event)
            history.note(seq, event, core.state)
            if seq in rows:
                state, kept = codec.decode_state(rows.pop(seq), hall)
                same(state, core.state, f"snapshot {seq}")
                same(kept, history, f"floor of snapshot {seq}")
        assert not rows, f"snapshots past the last event: {sorted(rows)}"
        fast = load_start(hall, store)
        for _, event in fast.events:
            fast.core.apply(event)
        same(fast.core.state, core.state)
        return store.last_seq()


async def _issue_until_killed(hub: HubProcess, after: float) -> int:
    """Two kiosks issue as fast as the hub answers; kill -9 ``after`` s after the hub's
    writer wrote its first snapshot (it writes every 15 events from then on)."""
    import asyncio

    kiosks = [await RawClient.hello(hub.url, "kiosk", k) for k in ("K-B1", "K-B2")]
    acked = 0

    async def issue(kiosk: RawClient) -> None:
        nonlocal acked
        while True:
            reply = await kiosk.command("issue_ticket", queue="quick_b")
            assert reply.get("ok"), reply
            acked += 1

    tasks = [asyncio.ensure_future(issue(k)) for k in kiosks]
    deadline = time.monotonic() + 30
    while '"snapshot_written"' not in hub.log_text() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(after)
    hub.kill()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return acked


@pytest.mark.slow
def test_kill_9_while_the_hub_writes_snapshots_then_restart(
        big_store: tuple[Path, Path, list[ev.Event]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real hub on the big morning, writing a snapshot every 15 events while two
    kiosks issue, killed with -9 at random moments three times: each restart starts
    from a snapshot, every snapshot left is exact, and the state is that of the events."""
    import asyncio

    hall_file, big_db, _ = big_store
    hall = load_file(hall_file)
    db = copy_store(big_db, tmp_path / "hall.db")
    monkeypatch.setenv("ONEWINDOW_SNAPSHOT_EVERY", "15")
    rng = random.Random(22)
    extra = ["--hall", str(hall_file), "--rate-limit", "1000:1000",
             "--balance-every", "86400"]
    last = _check_every_snapshot(hall, db)
    for round_ in range(3):
        hub = HubProcess(f"sqlite:///{db}", start_at=f"2026-11-23 11:{round_ * 5:02d}",
                         extra=extra).start()
        assert f"seq {last})" in hub.ready_line, hub.ready_line
        acked = asyncio.run(_issue_until_killed(hub, rng.uniform(0.0, 1.5)))
        log = hub.log_text()
        assert '"event": "start", "snapshot": ' in log and '"snapshot": null' not in log, \
            log[:2000]
        assert log.count('"snapshot_written"') >= 1, log[-2000:]
        now = _check_every_snapshot(hall, db)
        assert now >= last + acked, (last, acked, now)
        last = now
    hub = HubProcess(f"sqlite:///{db}", start_at="2026-11-23 11:20", extra=extra).start()
    try:
        assert f"seq {last})" in hub.ready_line
    finally:
        hub.stop()


CHILD = """
import sys, time
from dispatcher.core.dispatcher import Dispatcher
from dispatcher.core.floor import FloorHistory
from dispatcher.store import EventStore, snapshots
sys.path.insert(0, "tests")
from tiny_hall import tiny_hall
hall = tiny_hall()
store = EventStore.open(sys.argv[1], hall=hall)
start = snapshots.load_start(hall, store, use_snapshots=False)
core, history = start.core, FloorHistory()
for seq, event in start.events:
    core.apply(event)
    history.note(seq, event, core.state)
prune = snapshots._prune
def slow_prune(conn, hall, seq):
    prune(conn, hall, seq)
    print("in the transaction", flush=True)
    time.sleep(60)
snapshots._prune = slow_prune
snapshots.write_snapshot(store.engine, hall, seq, event.at, core, history)
"""


def test_kill_9_mid_snapshot_write_leaves_the_last_snapshot(
        db_url: str, tiny_day: list[ev.Event]) -> None:
    """A process killed inside the snapshot's transaction (its row inserted, not
    committed) leaves the store as it was: the older snapshot, whole, and no other."""
    hall = tiny_hall()
    with EventStore.open(db_url, hall=hall) as store:
        store.append(tiny_day)
        core, history = fold(hall, tiny_day[:40])
        write_snapshot(store.engine, hall, 40, tiny_day[39].at, core, history)
    with watched([sys.executable, "-c", CHILD, db_url], 60, cwd=ROOT) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == "in the transaction\n", (line, proc.stderr.read() if proc.stderr else "")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    time.sleep(0.2)   # PostgreSQL: the killed backend's transaction rolls back
    with EventStore.open(db_url, hall=hall) as store:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(snapshot_rows.c.seq, snapshot_rows.c.data)).all()
        assert [seq for seq, _ in rows] == [40]
        state, _ = codec.decode_state(rows[0].data, hall)
        same(state, core.state)


def test_a_store_of_schema_2_gets_the_snapshots_table(tmp_path: Path) -> None:
    """Migration 3 on an existing store: the table appears, the version is 3."""
    db = tmp_path / "old.db"
    with EventStore.open(f"sqlite:///{db}"):
        pass
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE snapshots")
        conn.execute("UPDATE onewindow_schema SET version = 2")
    with EventStore.open(f"sqlite:///{db}") as store, store.engine.connect() as conn:
        assert "snapshots" in sa.inspect(conn).get_table_names()
        assert conn.scalar(sa.text("SELECT version FROM onewindow_schema")) == 3
