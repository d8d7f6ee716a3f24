"""Many halls, one city (issue 21), with every part real: two `onewindow serve` halls on
their own SQLite files, a `onewindow ship` process beside each, the central PostgreSQL,
and `onewindow central` serving the supervision view.

The halls run a busy simulated hour (training clock at 20x: kiosks issuing, callers
calling, serving, letting no-shows go, citizens rating) while the link is cut and
restored, a shipper is killed with SIGKILL while it catches up, and a hall's hub is
killed mid-day. Every time, the centre must end up with each hall's events exactly
once: the same (hall, seq) set and the same payloads as the hall's own store.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import PG_URL
from hub_process import ROOT, HubProcess, RawClient
from websockets.asyncio.client import connect

from dispatcher.central.schema import drop, init
from dispatcher.hub.devices import hash_token

SPEED = "20"      # an hour of the hall in 3 minutes
COLUMNS = "seq, day, at, name, data, device, actor, command_id, command_hash, recorded_at"
CLOSED_PORT = "postgresql+psycopg://postgres@127.0.0.1:9/test"   # nothing listens on 9


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


class Proc:
    """A subprocess whose stderr is drained into ``lines`` as it runs."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def log(self) -> list[dict[str, Any]]:
        return [json.loads(ln) for ln in list(self.lines) if ln.startswith("{")]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(10)
        return self.proc.returncode


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class City:
    """The centre's schema, and for each hall: its hub, store file and credential."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.schema = f"t_central_{uuid.uuid4().hex[:10]}"
        self.engine = sa.create_engine(PG_URL)
        init(self.engine, self.schema)
        self.hubs: dict[str, HubProcess] = {}
        self.shippers: dict[str, Proc] = {}
        for hall in ("hall_a", "hall_b"):
            done = cli("central", "--db", PG_URL, "--schema", self.schema, "--add-hall", hall,
                       "--credential", str(self.credential(hall)))
            assert done.returncode == 0, done.stderr
            self.hubs[hall] = HubProcess(self.db(hall), speed=float(SPEED),
                                         extra=["--balance-every", "86400"]).start()

    def db(self, hall: str) -> str:
        return f"sqlite:///{self.folder / hall}.db"

    def credential(self, hall: str) -> Path:
        return self.folder / f"{hall}.cred"

    def ship(self, hall: str, *, central: str = PG_URL, batch: int = 20,
             credential: Path | None = None, as_hall: str | None = None) -> Proc:
        if hall in self.shippers:
            self.shippers[hall].kill()    # one shipper a hall at a time
        proc = Proc([sys.executable, "-m", "dispatcher.cli", "ship", "--db", self.db(hall),
                     "--central", central, "--hall", as_hall or hall, "--credential",
                     str(credential or self.credential(hall)), "--schema", self.schema,
                     "--batch", str(batch), "--poll", "0.1", "--backoff-max", "0.5"])
        self.shippers[hall] = proc
        return proc

    def stop_shippers(self) -> None:
        for proc in self.shippers.values():
            proc.kill()

    def restart_hub(self, hall: str) -> None:
        """Start the hall's hub again on its store, its clock a minute after its last event."""
        old = self.hubs[hall]
        last = max(r[2] for r in self.hall_rows(hall).values()) + 60
        start_at = datetime.fromtimestamp(last, ZoneInfo("Asia/Shanghai"))
        self.hubs[hall] = HubProcess(old.db_url, speed=float(SPEED),
                                     start_at=start_at.strftime("%Y-%m-%d %H:%M"),
                                     extra=["--balance-every", "86400", "--port",
                                            str(old.port)]).start()

    def hall_rows(self, hall: str) -> dict[int, tuple[Any, ...]]:
        with sqlite3.connect(self.folder / f"{hall}.db") as conn:
            return {r[0]: tuple(r) for r in conn.execute(f"SELECT {COLUMNS} FROM events")}

    def central_rows(self, hall: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                f"SELECT {COLUMNS} FROM {self.schema}.events WHERE hall = %s", (hall,))]

    def shipped(self, hall: str) -> int:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(f"SELECT shipped_seq FROM {self.schema}.halls "
                                        "WHERE id = %s", (hall,)).scalar_one()

    def caught_up(self, hall: str, timeout: float = 60.0) -> None:
        last = max(self.hall_rows(hall))
        wait_for(f"{hall} shipped up to {last}", lambda: self.shipped(hall) >= last, timeout)

    def assert_exactly_once(self, hall: str) -> None:
        """The centre holds each of the hall's events up to its shipped seq once, as the
        hall wrote it. The hall keeps writing (its alerts run on the clock), so the
        centre's rows and its shipped seq are read in one snapshot, and only the hall's
        rows up to that seq are due; `caught_up` has made sure that seq is recent."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                upto = conn.exec_driver_sql(f"SELECT shipped_seq FROM {self.schema}.halls "
                                            "WHERE id = %s", (hall,)).scalar_one()
                central = [tuple(r) for r in conn.exec_driver_sql(
                    f"SELECT {COLUMNS} FROM {self.schema}.events WHERE hall = %s", (hall,))]
        own = {seq: row for seq, row in self.hall_rows(hall).items() if seq <= upto}
        seqs = [r[0] for r in central]
        assert len(seqs) == len(set(seqs)), "a (hall, seq) arrived twice"
        assert sorted(seqs) == sorted(own), "the centre misses events or has extra ones"
        assert {r[0]: r for r in central} == own

    def close(self) -> None:
        self.stop_shippers()
        for hub in self.hubs.values():
            hub.kill()
        drop(self.engine, self.schema)
        self.engine.dispose()


@pytest.fixture(scope="module")
def city(tmp_path_factory, postgres_available) -> Iterator[City]:
    the_city = City(tmp_path_factory.mktemp("city"))
    try:
        yield the_city
    finally:
        the_city.close()


WINDOWS = ("B01", "B02", "B03")


async def busy(url: str, rounds: int, seed: int) -> int:
    """A busy stretch of the hall: each round a kiosk issues two tickets and each
    window moves its ticket on (call, start, finish and a rating; sometimes a no-show).
    Returns how many commands were refused (the hall must keep working: none)."""
    rng = random.Random(seed)
    kiosk = await RawClient.hello(url, "kiosk", "K-B1")
    callers = {w: await RawClient.hello(url, "caller", f"C-{w}") for w in WINDOWS}
    raters = {w: await RawClient.hello(url, "evaluator", f"E-{w}") for w in WINDOWS}
    holding: dict[str, str | None] = dict.fromkeys(WINDOWS)
    refused = 0
    for w, caller in callers.items():
        opened = await caller.command("open_window", window=w)
        refused += not opened["ok"] and opened["error"]["code"] != "wrong_state"
    for _ in range(rounds):
        for _ in range(2):
            reply = await kiosk.command("issue_ticket", queue=rng.choice(["quick_b", "tax"]))
            refused += not reply["ok"]
        for w, caller in callers.items():
            refused += await _move_on(caller, raters[w], w, holding, rng)
        await asyncio.sleep(0.05)
    for w, caller in callers.items():     # leave every window idle for the next stretch
        if holding[w] is not None:
            for step in ("start_service", "finish_service"):
                refused += not (await caller.command(step, window=w))["ok"]
    for client in [kiosk, *callers.values(), *raters.values()]:
        await client.close()
    return refused


async def _move_on(caller: RawClient, rater: RawClient, window: str,
                   holding: dict[str, str | None], rng: random.Random) -> int:
    ticket = holding[window]
    if ticket is None:
        reply = await caller.command("call_next", window=window)
        if reply["ok"] and reply["result"].get("ticket"):
            holding[window] = reply["result"]["ticket"]["id"]
        return 0 if reply["ok"] or reply["error"]["code"] == "queue_empty" else 1
    if rng.random() < 0.1:
        holding[window] = None
        return int(not (await caller.command("no_show", window=window))["ok"])
    started = await caller.command("start_service", window=window)
    finished = await caller.command("finish_service", window=window)
    holding[window] = None
    rated = await rater.command("evaluate", ticket=ticket, level=rng.choice([3, 4, 5, 5]))
    return sum(not r["ok"] for r in (started, finished, rated))


def drive(city: City, rounds: int, seed: int) -> None:
    async def both() -> list[int]:
        return list(await asyncio.gather(*(busy(hub.url, rounds, seed + i)
                                           for i, hub in enumerate(city.hubs.values()))))

    assert asyncio.run(both()) == [0, 0], "a hall refused commands while shipping was cut"


# ------------------------------------------------------------------ the link


def test_a_cut_link_loses_nothing_and_duplicates_nothing(city: City) -> None:
    for hall in city.hubs:
        city.ship(hall)
    drive(city, 8, seed=1)
    city.caught_up("hall_a")

    city.shippers["hall_a"].stop()                       # the shipper stopped
    city.shippers["hall_b"].kill()
    down = city.ship("hall_b", central=CLOSED_PORT)      # the centre refuses connections
    before = {h: city.shipped(h) for h in city.hubs}
    drive(city, 10, seed=2)                              # the halls work on meanwhile
    wait_for("the cut-off shipper to retry", lambda: any(
        e["event"] == "retry" for e in down.log()), 20)
    assert down.proc.poll() is None, "a shipper gave up while the centre was away"
    assert {h: city.shipped(h) for h in city.hubs} == before
    assert all(max(city.hall_rows(h)) > before[h] for h in city.hubs)

    down.kill()
    for hall in city.hubs:                               # the link is back
        city.ship(hall)
    for hall in city.hubs:
        city.caught_up(hall)
        city.assert_exactly_once(hall)


def test_a_shipper_killed_while_catching_up_leaves_no_gap_and_no_duplicate(city: City
                                                                           ) -> None:
    city.stop_shippers()
    drive(city, 20, seed=3)            # a backlog of a few hundred events
    head, behind = max(city.hall_rows("hall_a")), 0
    for kill in range(5):
        before = city.shipped("hall_a")
        shipper = city.ship("hall_a", batch=2)
        deadline = time.monotonic() + 30
        while city.shipped("hall_a") == before and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(0.002 * kill)       # somewhere in the next batches
        shipper.kill()
        behind += city.shipped("hall_a") < head
    assert behind >= 4, "the kills came after the shipper had caught up"
    city.ship("hall_a", batch=2)
    city.caught_up("hall_a")
    city.assert_exactly_once("hall_a")


def test_shipping_resumes_after_a_hall_server_is_killed_mid_day(city: City) -> None:
    city.stop_shippers()
    for hall in city.hubs:
        city.ship(hall)
    drive(city, 4, seed=4)
    city.hubs["hall_b"].kill()                            # kill -9 the hall's hub
    assert city.shippers["hall_b"].proc.poll() is None
    city.restart_hub("hall_b")
    drive(city, 4, seed=5)
    for hall in city.hubs:
        city.caught_up(hall)
        city.assert_exactly_once(hall)
    assert city.shippers["hall_b"].proc.poll() is None


# ------------------------------------------------------------------ identity


def test_a_halls_credential_cannot_write_another_halls_rows(city: City) -> None:
    before = city.central_rows("hall_b")
    wrong = city.ship("hall_a", as_hall="hall_b")        # hall A's secret, hall B's id
    assert wrong.proc.wait(30) == 2
    errors = [ln for ln in wrong.lines if ln.startswith("error:")]
    assert errors == ["error: the centre does not accept hall hall_b with this "
                      "credential\n"]
    assert city.central_rows("hall_b") == before

    role, s = f"{city.schema}_shipper", city.schema
    credential_a = city.credential("hall_a").read_text().strip()
    row = (10**6, "2026-11-23", 1.0, "x", "{}", None, None, None, None, 1.0)
    with city.engine.connect() as conn:
        conn.exec_driver_sql(f"SET ROLE {role}")        # what a shipper's login may do
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql(f"INSERT INTO {s}.events (hall, month, seq, at, name, "
                                 "data, recorded_at) VALUES ('hall_b', '2026-11-01', "
                                 "999999, 1, 'x', '{}', 1)")
        conn.rollback()
        conn.exec_driver_sql(f"SET ROLE {role}")
        conn.exec_driver_sql(f"SELECT {s}.staging()")
        conn.exec_driver_sql("INSERT INTO ship_rows VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                             "%s, %s)", row)
        with pytest.raises(sa.exc.DBAPIError, match="not accepted"):
            conn.exec_driver_sql(f"SELECT {s}.ship('hall_b', %s, 0, NULL)", (credential_a,))
        conn.rollback()
    assert city.central_rows("hall_b") == before


# ------------------------------------------------------------------ reports and views


def test_the_central_report_equals_each_halls_own_report(city: City) -> None:
    for hall, hub in city.hubs.items():   # the hubs' own timers must not write meanwhile
        hub.stop()
        city.ship(hall)
        city.caught_up(hall)
    try:
        compare_reports(city)
    finally:
        for hall in list(city.hubs):
            city.restart_hub(hall)


def compare_reports(city: City) -> None:
    period = ["--from", "2026-11-23", "--to", "2026-11-23", "--by", "day"]
    central = ["--central", PG_URL, "--central-schema", city.schema]
    for hall in city.hubs:
        own = cli("report", "--db", city.db(hall), *period, "--format", "csv")
        assert own.returncode == 0, own.stderr
        assert "quick_b" in own.stdout or "马上办" in own.stdout
        there = cli("report", *central, "--hall-id", hall, *period, "--format", "csv")
        assert there.returncode == 0, there.stderr
        assert there.stdout == own.stdout
        own_text = cli("report", "--db", city.db(hall), *period).stdout
        assert cli("report", *central, "--hall-id", hall, *period).stdout == own_text
    every = cli("report", *central, *period)
    assert every.returncode == 0, every.stderr
    assert [ln for ln in every.stdout.splitlines() if ln.startswith("# hall")] == [
        "# hall hall_a", "# hall hall_b"]


async def _supervise(url: str, token: str) -> dict[str, Any]:
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "role": "supervision", "device": "S-CITY",
                                  "token": token}))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        await ws.send(json.dumps({"type": "query", "id": "q1", "name": "halls"}))
        reply = json.loads(await ws.recv())
        pushed = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply["id"] == "q1" and pushed["type"] == "view"
        return reply["result"]


async def _refused(url: str, token: str, role: str = "supervision") -> tuple[Any, int]:
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "role": role, "device": "S-CITY",
                                  "token": token}))
        frame = json.loads(await ws.recv())
        await ws.wait_closed()
        return frame["error"]["code"], ws.close_code


async def _hall_snapshot(url: str) -> dict[str, Any]:
    display = await RawClient.hello(url, "display", "D-B")
    await display.close()
    return display.welcome


def test_the_supervision_view_shows_each_halls_live_figures_and_its_shipping_lag(
        city: City, tmp_path) -> None:
    token = "supervisor-" + uuid.uuid4().hex
    devices = tmp_path / "supervision.toml"
    devices.write_text(f'[[device]]\nid = "S-CITY"\nrole = "supervision"\n'
                       f'token_hash = "{hash_token(token)}"\n', encoding="utf-8")
    for hall in city.hubs:
        city.caught_up(hall)
    city.stop_shippers()
    snapshots = {h: asyncio.run(_hall_snapshot(hub.url)) for h, hub in city.hubs.items()}
    server = Proc([sys.executable, "-m", "dispatcher.cli", "central", "--db", PG_URL,
                   "--schema", city.schema, "--devices", str(devices), "--port", "0",
                   "--every", "0.5"])
    try:
        assert server.proc.stdout is not None
        line = server.proc.stdout.readline()
        port = re.search(r"listening on ws://[^:]+:(\d+)", line)
        assert port, (line, server.lines)
        url = f"ws://127.0.0.1:{port.group(1)}"
        view = asyncio.run(_supervise(url, token))["halls"]
        assert sorted(view) == ["hall_a", "hall_b"]
        for hall, snap in snapshots.items():
            figures = view[hall]
            assert figures["day"] == "2026-11-23"
            waiting = {q: n for q, n in snap["snapshot"]["waiting"].items() if n}
            assert figures["waiting_by_queue"] == waiting
            assert figures["waiting"] == sum(waiting.values())
            open_windows = [w for w, s in snap["snapshot"]["windows"].items()
                            if s["state"] != "closed"]
            assert figures["windows_open"] == len(open_windows)
            assert figures["served"] > 0 and figures["mean_wait_seconds"] is not None
            assert figures["shipping"]["behind_events"] == 0
        assert view["hall_a"]["name"] == "开阳县政务服务中心"

        # hall A's shipper is behind (stopped after one small batch of a backlog)
        drive(city, 5, seed=6)
        before = city.shipped("hall_a")
        slow = city.ship("hall_a", batch=1)
        deadline = time.monotonic() + 30
        while city.shipped("hall_a") == before and time.monotonic() < deadline:
            time.sleep(0.002)
        slow.proc.send_signal(signal.SIGSTOP)
        try:
            lag = asyncio.run(_supervise(url, token))["halls"]["hall_a"]["shipping"]
            assert lag["shipped_seq"] == city.shipped("hall_a")
            # the hall's head when its shipper last got through: the hub may have
            # written since (its own alerts and device reports run on their clock)
            assert lag["shipped_seq"] < lag["hall_seq"] <= max(city.hall_rows("hall_a"))
            assert lag["behind_events"] == lag["hall_seq"] - lag["shipped_seq"] > 10
            assert lag["behind_seconds"] > 0
        finally:
            slow.proc.send_signal(signal.SIGCONT)
        city.caught_up("hall_a")
        # hall B's link is cut: the centre cannot know its head, only when it last heard
        city.ship("hall_b", central=CLOSED_PORT)
        time.sleep(1.5)
        cut = asyncio.run(_supervise(url, token))["halls"]
        assert cut["hall_a"]["shipping"]["behind_events"] == 0
        assert cut["hall_b"]["shipping"]["last_contact_seconds"] >= 1.5
        assert cut["hall_a"]["shipping"]["last_contact_seconds"] < 1.5

        assert asyncio.run(_refused(url, "wrong")) == ("bad_credentials", 1008)
        assert asyncio.run(_refused(url, token, role="console")) == ("bad_credentials", 1008)
    finally:
        server.kill()
    for hall in city.hubs:
        city.ship(hall)
        city.caught_up(hall)
        city.assert_exactly_once(hall)
