"""The client library against real hub subprocesses (tests/hub_process.py): views kept
by events equal fresh snapshots, kill -9 and restart, lost replies, refusals, errors.

Each test drives its own asyncio loop with ``asyncio.run`` (no pytest plugin or
config needed) under a deadline, so a hang fails the test instead of CI.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hub_process import STAFF, HubProcess, sample_token

from dispatcher.client import HallView, HubClient, HubError, HubRefused, HubUnavailable, SeqGap

DEADLINE = 25.0
SLOT = datetime(2026, 11, 23, 9, 45, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
FAST = {"backoff_min": 0.05, "backoff_max": 0.4}


def run(coro: Awaitable[None]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro, DEADLINE)

    asyncio.run(bounded())


class Hall:
    """A hub subprocess on one database that can be killed and restarted on the same
    port (so clients reconnect to the url they know), its clock moving on."""

    def __init__(self, db_url: str) -> None:
        self.db_url, self.restarts = db_url, 0
        self.hub = HubProcess(db_url).start()
        self.url, self.port = self.hub.url, self.hub.port
        self.logs: list[str] = []

    def kill(self) -> None:
        self.hub.kill()
        self._keep_log()

    def restart(self) -> None:
        self.restarts += 1
        minutes = 9 * 60 + 30 + 10 * self.restarts      # 09:40, 09:50, ...: in hours
        start_at = f"2026-11-23 {minutes // 60:02}:{minutes % 60:02}"
        self.hub = HubProcess(self.db_url, start_at=start_at,
                              extra=["--port", str(self.port)]).start()

    def _keep_log(self) -> None:
        self.logs.append(self.hub.log_text())

    def log(self) -> str:
        """Everything the hubs logged (stops the current one)."""
        self.kill()
        return "".join(self.logs)


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    hall = Hall(f"sqlite:///{tmp_path / 'hall.db'}")
    yield hall
    hall.kill()


class Recorder:
    """A device's client that remembers every event seq it was given."""

    def __init__(self, url: str, role: str, device: str, cls: type[HubClient] = HubClient,
                 **options: Any) -> None:
        self.seqs: list[int] = []
        self.names: list[str] = []
        self.client = cls(url, role, device, sample_token(device),
                          on_event=self._event, **{**FAST, **options})

    def _event(self, frame: dict[str, Any]) -> None:
        self.seqs.append(frame["seq"])
        self.names.append(frame["name"])

    @property
    def view(self) -> HallView:
        return self.client.view

    async def __aenter__(self) -> HubClient:
        self.task = self.client.start()
        await self.client.wait_connected()
        if self.client.role == "console":
            await self.client.command("staff_sign_in", STAFF)
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {check}")
        await asyncio.sleep(0.02)


async def assert_fresh(*recorders: Recorder) -> None:
    """Each view, built from snapshot + events, equals the snapshot fetched now for the
    same device; and it saw every seq once, in order (no gap, no duplicate)."""
    for rec in recorders:
        fresh = await rec.client.query("snapshot")
        assert rec.view.seq == fresh["seq"]
        # A snapshot lists the tickets a device needs (its lines' heads, its own);
        # events may have told it of more. Each ticket listed is as the view has it.
        mine, theirs = dict(rec.view.to_dict()), dict(fresh["snapshot"])
        kept, listed = mine.pop("tickets", {}), theirs.pop("tickets", {})
        assert mine == theirs, rec.client.device
        assert {t: kept.get(t) for t in listed} == listed, rec.client.device
        assert rec.view.duplicates == 0
        if rec.seqs:
            assert rec.seqs == list(range(rec.seqs[0], rec.seqs[-1] + 1))


async def issue(kiosk: HubClient, queue: str = "quick_b") -> dict[str, Any]:
    result = await kiosk.command("issue_ticket", {"queue": queue, "ticket_class": "normal"})
    return result["ticket"]


# ---------------------------------------------------------------- the happy path


def test_kiosk_caller_display_console_views_equal_fresh_snapshots(hall: Hall) -> None:
    async def scenario() -> None:
        kiosk, caller = Recorder(hall.url, "kiosk", "K-B1"), Recorder(hall.url, "caller", "C-B03")
        display = Recorder(hall.url, "display", "D-B")
        console = Recorder(hall.url, "console", "CONSOLE-1")
        rater = Recorder(hall.url, "evaluator", "E-B03")
        async with kiosk as k, caller as c, display, console as con, rater as e:
            first, second = await issue(k), await issue(k)
            await c.command("open_window", {"window": "B03"})
            called = await c.command("call_next", {"window": "B03"})
            assert called["ticket"]["id"] == first["id"]
            assert c.view.window("B03")["number"] == first["number"]  # already in the view
            await c.command("recall", {"window": "B03"})
            await c.command("start_service", {"window": "B03"})
            await c.command("finish_service", {"window": "B03"})
            await e.command("evaluate", {"ticket": first["id"], "level": 5})
            await until(lambda: c.view.ticket(first["id"])["rating"] == 5)
            assert c.view.waiting["quick_b"] == 1 and second["id"] in c.view.tickets
            await con.command("notice", {"text": "过号请到咨询台重新排队"})
            await con.command("report_device", {"device": "CONSOLE-1", "status": "ok"})
            await con.command("book_appointment", {"code": "AP0001", "queue": "tax",
                                                   "slot_start": SLOT, "slot_end": SLOT + 900})
            checked_in = await k.command("check_in", {"code": "AP0001"})
            # the kiosk's reply goes before the fan-out to the other devices
            await until(lambda: con.view.appointments["AP0001"]["ticket"] is not None)
            assert con.view.appointments["AP0001"]["ticket"] == checked_in["ticket"]["id"]
            assert con.view.devices["CONSOLE-1"]["status"] == "ok"
            await until(lambda: display.view.seq == con.view.seq)

            calls = display.view.recent_calls
            assert [(x["number"], x["window"], x["recall"]) for x in calls] == [
                (first["number"], "B03", False), (first["number"], "B03", True)]
            assert display.view.notice_for("B") == "过号请到咨询台重新排队"
            assert display.view.queue_name("quick_b") == "马上办"
            assert display.view.window_name("B03", "en") == "Window B03"
            assert "ticket_called" in display.names and "ticket_evaluated" in display.names
            await until(lambda: kiosk.view.seq == con.view.seq)
            await assert_fresh(kiosk, caller, display, console)
            assert [r.view.seq for r in (kiosk, caller, display, console)] == \
                [con.view.seq] * 4

    run(scenario())


def test_command_errors_raise_hub_error_with_the_hubs_code(hall: Hall) -> None:
    async def scenario() -> None:
        caller = Recorder(hall.url, "caller", "C-B03")
        async with caller as c:
            await c.command("open_window", {"window": "B03"})
            seq = c.view.seq
            cases = [
                (c.command("call_next", {"window": "B03"}), "queue_empty"),
                (c.command("call_next", {"window": "B04"}), "forbidden"),
                (c.command("fly_away", {}), "unknown_command"),
                (c.query("weather"), "unknown_query"),
                (c.query("window_status", {"window": 3}), "bad_argument"),
            ]
            for call, code in cases:
                with pytest.raises(HubError) as err:
                    await call
                assert err.value.code == code, err.value
            assert err.value.details.get("field") == "window"
            assert c.view.seq == seq  # a refusal changes nothing
            await assert_fresh(caller)

    run(scenario())


# ---------------------------------------------------------------- kill -9 and restart


def test_hub_killed_and_restarted_clients_reconnect_and_resync_by_events(hall: Hall) -> None:
    async def scenario() -> None:
        kiosk, caller = Recorder(hall.url, "kiosk", "K-B1"), Recorder(hall.url, "caller", "C-B03")
        # the display comes back later than the others, so it misses events
        display = Recorder(hall.url, "display", "D-HALL", backoff_min=1.0, backoff_max=1.5)
        async with kiosk as k, caller as c, display as d:
            for _ in range(3):
                await issue(k)
            await c.command("open_window", {"window": "B03"})
            await c.command("call_next", {"window": "B03"})
            await until(lambda: d.view.seq == c.view.seq)
            before = d.view.seq

            hall.kill()
            await until(lambda: not (k.connected or c.connected or d.connected))
            with pytest.raises(HubUnavailable):   # down: waits, then gives up in time
                await c.command("recall", {"window": "B03"}, timeout=0.3)
            pending = asyncio.ensure_future(    # down: waits for the hub to come back
                c.command("call_next", {"window": "B03"}, timeout=15))
            await asyncio.sleep(0.6)
            hall.restart()

            await k.wait_connected()
            await issue(k)                     # while the display is still away
            called = await pending
            assert called["ticket"]["number"] == "B002"
            await d.wait_connected()
            await until(lambda: d.view.seq == c.view.seq)
            assert d.view.seq > before + 1 and display.seqs[-1] == d.view.seq

            for rec in (kiosk, caller, display):
                assert rec.client.resyncs == ["snapshot", "events"], rec.client.device
            assert k.connects >= 3      # retried while the hub was down, with backoff
            assert d.connects < k.connects
            await assert_fresh(kiosk, caller, display)
            assert [x["number"] for x in d.view.recent_calls] == ["B001", "B002"]

    run(scenario())


def test_backoff_grows_is_capped_and_jittered() -> None:
    client = HubClient("ws://127.0.0.1:9", "display", "D-A", "t", backoff_min=0.2,
                       backoff_max=5.0)
    delays = [[client._backoff(n) for _ in range(50)] for n in range(12)]
    assert all(0.1 <= d <= 0.2 for d in delays[0])
    assert all(2.5 <= d <= 5.0 for d in delays[-1])
    assert len(set(delays[3])) > 1        # jitter: devices do not reconnect in step


async def _tries(url: str) -> list[float]:
    """The client's next delays, once it has failed to reach ``url`` twice."""
    client = HubClient(url, "display", "D-A", "t", backoff_min=0.2, backoff_max=5.0)
    client.start()
    try:
        await until(lambda: client.connects >= 2)
        return [client._backoff(12) for _ in range(50)]
    finally:
        await client.close()


def test_a_hub_that_is_restarting_is_tried_again_within_a_second() -> None:
    """Nothing listens at the hub's port (it is restarting): a refused connect costs the
    hub nothing, so the backoff stops at 1 s and the hall's devices are back soon after
    it listens again; a hub that answers and then fails still gets the full 5 s."""
    async def scenario() -> None:
        with socket.socket() as s:      # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        assert all(0.5 <= d <= 1.0 for d in await _tries(f"ws://127.0.0.1:{port}"))

        async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            assert all(2.5 <= d <= 5.0 for d in await _tries(f"ws://127.0.0.1:{port}"))

    run(scenario())


# ---------------------------------------------------------------- lost replies


class LossyClient(HubClient):
    """Loses frames the way a network does: the reply to a chosen command (and then
    the connection), or one event frame (so the next one shows a gap)."""

    lose_reply_of: frozenset[str] | set[str] = frozenset()
    lose_event_seq: int | None = None
    on_lost: Callable[[], None] = staticmethod(lambda: None)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "reply" and frame.get("id") in self.lose_reply_of:
            self.lose_reply_of.discard(frame["id"])
            self.on_lost()
            assert self._ws is not None and self._ws.transport is not None
            self._ws.transport.abort()
            return
        if frame.get("type") == "event" and frame.get("seq") == self.lose_event_seq:
            self.lose_event_seq = None
            return
        super()._on_frame(frame)


def test_lost_reply_is_resent_with_the_same_id_and_acts_once(hall: Hall) -> None:
    async def scenario() -> None:
        kiosk = Recorder(hall.url, "kiosk", "K-B1")
        caller = Recorder(hall.url, "caller", "C-B03", cls=LossyClient)
        lossy: LossyClient = caller.client  # type: ignore[assignment]
        async with kiosk as k, caller as c:
            tickets = [await issue(k) for _ in range(4)]
            await c.command("open_window", {"window": "B03"})

            # 1. the connection drops after the hub acted, before its reply arrived
            lossy.lose_reply_of = {"call-1"}
            first = await c.command("call_next", {"window": "B03"}, command_id="call-1")
            assert first["ticket"]["id"] == tickets[0]["id"]

            # 2. the same, and the hub is killed at that moment: the restarted hub
            #    answers the resent id from the store
            lossy.lose_reply_of, lossy.on_lost = {"call-2"}, hall.kill
            restarter = asyncio.get_running_loop().call_later(0.3, hall.restart)
            second = await c.command("call_next", {"window": "B03"}, command_id="call-2",
                                     timeout=15)
            restarter.cancel()
            assert second["ticket"]["id"] == tickets[1]["id"]

            # 3. the hub is killed right after the send, whether or not it acted
            await c.wait_connected()
            sent = asyncio.ensure_future(c.command("call_next", {"window": "B03"},
                                                   command_id="call-3", timeout=15))
            await asyncio.sleep(0.01)
            hall.kill()
            hall.restart()
            third = await sent
            assert third["ticket"]["id"] == tickets[2]["id"]

            # 4. the same id again, much later: the first reply, and nothing happens
            again = await c.command("call_next", {"window": "B03"}, command_id="call-2")
            assert again["seq"] == second["seq"] and again["events"] == second["events"]

            assert caller.names.count("ticket_called") == 3
            assert c.view.waiting["quick_b"] == 1
            assert c.view.ticket(tickets[3]["id"])["state"] == "waiting"
            assert lossy.resyncs.count("events") == 3 and "snapshot" not in lossy.resyncs[1:]
            await until(lambda: k.view.seq == c.view.seq)
            await assert_fresh(kiosk, caller)

    run(scenario())


def test_a_lost_event_frame_is_a_gap_and_the_client_resyncs(hall: Hall) -> None:
    async def scenario() -> None:
        kiosk = Recorder(hall.url, "kiosk", "K-B1")
        display = Recorder(hall.url, "display", "D-B", cls=LossyClient)
        lossy: LossyClient = display.client  # type: ignore[assignment]
        async with kiosk as k, display as d:
            await issue(k)
            await until(lambda: d.view.seq == k.view.seq)
            lossy.lose_event_seq = d.view.seq + 1
            for _ in range(3):
                await issue(k)
            await until(lambda: d.view.seq == k.view.seq)
            assert lossy.resyncs == ["snapshot", "events"]
            await assert_fresh(display)   # every seq once: the lost one came on resync

    run(scenario())


# ---------------------------------------------------------------- refusals, restarts


REFUSALS = [
    ("caller", "C-B03", "not-the-token", "bad_credentials"),   # the wrong token,
    ("kiosk", "K-Z9", "sample-K-Z9", "bad_credentials"),       # no such device,
    ("display", "C-B03", "sample-C-B03", "bad_credentials"),   # the wrong role: alike
]


def test_refused_hello_stops_with_hub_refused_and_does_not_retry(hall: Hall) -> None:
    async def refused(role: str, device: str, token: str, code: str) -> None:
        statuses: list[str] = []
        client = HubClient(hall.url, role, device, token, on_status=statuses.append, **FAST)
        with pytest.raises(HubRefused) as err:
            await client.run()
        assert err.value.code == code and err.value.message
        with pytest.raises(HubRefused):
            await client.wait_connected()
        with pytest.raises(HubRefused):
            await client.command("call_next", {"window": "B03"})
        await asyncio.sleep(0.3)      # nothing keeps trying in the background
        assert client.connects == 1 and client.status == "refused"
        assert statuses == ["connecting", "refused"]

    async def scenario() -> None:
        await asyncio.gather(*(refused(*case) for case in REFUSALS))

    run(scenario())
    assert hall.log().count('"refused"') == len(REFUSALS)   # one attempt each, no more


def test_state_file_lets_a_restarted_app_resync_by_events(hall: Hall, tmp_path: Path
                                                          ) -> None:
    state = tmp_path / "display-state.json"

    async def scenario() -> None:
        kiosk = Recorder(hall.url, "kiosk", "K-A1")
        async with kiosk as k:
            async with Recorder(hall.url, "display", "D-A", state_file=state) as d:
                await issue(k, "quick_a")
                await until(lambda: d.view.seq == k.view.seq)
            for _ in range(2):
                await issue(k, "quick_a")             # while the display app is off
            restarted = Recorder(hall.url, "display", "D-A", state_file=state)
            assert restarted.view.seq == 2           # the picture came back from disk
            async with restarted as d:
                await until(lambda: d.view.seq == k.view.seq)
                assert d.resyncs == ["events"]
                assert restarted.seqs == [3, 4]  # exactly the missed events
                await assert_fresh(restarted)
            other = Recorder(hall.url, "display", "D-B", state_file=state)
            assert not other.view.loaded             # another device's file is ignored

    run(scenario())


# ---------------------------------------------------------------- the view alone


def _frame(seq: int, name: str = "window_opened", **changes: Any) -> dict[str, Any]:
    data = {"at": 1.0 + seq, "ticket": f"T{seq}", "number": f"B{seq:03}", "window": "B03",
            "day": "2026-11-24"}
    return {"type": "event", "seq": seq, "name": name, "data": data, "changes": changes}


def test_view_merges_counts_duplicates_and_raises_on_gaps() -> None:
    view = HallView()
    with pytest.raises(ValueError):
        view.apply(_frame(1))
    snap = {"day": "2026-11-23", "day_closed": False, "windows": {"B03": {"state": "idle"}},
            "waiting": {"quick_b": 0}, "recent_calls": [], "notices": {}, "tickets": {}}
    view.load(snap, 10)
    snap["windows"]["B03"]["state"] = "mutated by the app"   # the view kept a copy
    assert view.apply(_frame(11, "ticket_called", windows={"B03": {"state": "calling"}},
                             tickets={"T11": {"state": "called"}}, waiting={"quick_b": 3}))
    assert not view.apply(_frame(11)) and view.duplicates == 1
    with pytest.raises(SeqGap) as gap:
        view.apply(_frame(13))
    assert (gap.value.expected, gap.value.got) == (12, 13) and view.seq == 11
    assert view.window("B03") == {"state": "calling"} and view.waiting == {"quick_b": 3}
    for seq in range(12, 40):
        view.apply(_frame(seq, "ticket_recalled", notices={"": "x"}))
    assert len(view.recent_calls) == 20 and view.recent_calls[-1]["number"] == "B039"
    assert view.recent_calls[-1]["recall"] is True and view.notice_for("A") == "x"
    view.apply(_frame(40, "day_closed"))
    assert view.day_closed
    view.apply(_frame(41, "day_opened", reset=True, notices={}))
    assert (view.day, view.day_closed, view.tickets, view.recent_calls, view.notices) == \
        ("2026-11-24", False, {}, [], {})


def test_view_keeps_tickets_only_for_roles_that_get_them() -> None:
    view = HallView()
    view.load({"windows": {}, "waiting": {}, "recent_calls": [], "notices": {}}, 0)
    view.apply(_frame(1, "ticket_issued", tickets={"T1": {"state": "waiting"}},
                      devices={"K-A1": {"status": "ok"}}))
    assert "tickets" not in view.to_dict() and "devices" not in view.to_dict()


def test_a_training_hub_clock_runs_at_its_speed_on_every_device(tmp_path: Path) -> None:
    """A hub started at 09:30 at 20× (training, the demo): a device's ``server_now``
    runs at the hub's speed, so a wall's clock, a kiosk's opening hours and a
    caller's timers follow the hall's time, not the real one."""
    hub = HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", speed=20).start()

    async def scenario() -> tuple[float, float, float]:
        async with Recorder(hub.url, "display", "D-B") as display:
            first, started = display.server_now(), time.monotonic()
            await asyncio.sleep(1.0)
            hall_seconds = display.server_now() - first
            return hall_seconds, time.monotonic() - started, display.hub_clock.speed

    try:
        hall_seconds, real_seconds, speed = asyncio.run(asyncio.wait_for(scenario(),
                                                                          DEADLINE))
    finally:
        hub.kill()
    assert speed == 20
    assert hall_seconds == pytest.approx(real_seconds * 20, rel=0.01)
