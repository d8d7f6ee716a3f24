"""The hub end to end: a real `onewindow serve` subprocess, real websocket clients.

A ticket's whole life as a kiosk, a caller and a wall display see it; kill -9 of
the hub in a burst of issues, then restart: nothing acknowledged is lost, no
number is reused, and reconnected clients resync with no gap and no duplicate;
a repeated command id acts once, even across the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
import uuid

import pytest
from hub_process import HubProcess, RawClient
from websockets.exceptions import ConnectionClosed


def run(coro):
    return asyncio.run(coro)


def seqs(frames: list[dict]) -> list[int]:
    return [f["seq"] for f in frames]


def assert_contiguous(frames: list[dict], after: int) -> None:
    got = seqs(frames)
    assert got == list(range(after + 1, after + 1 + len(got))), got


async def drain_until(client: RawClient, name: str, timeout: float = 10.0) -> dict:
    while True:
        frame = await client.recv(timeout)
        if frame.get("type") == "event" and frame["name"] == name:
            return frame


def test_a_ticket_from_kiosk_to_rating_as_every_device_sees_it(tmp_path) -> None:
    async def scenario(url: str) -> None:
        display = await RawClient.hello(url, "display", "D-B")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        caller = await RawClient.hello(url, "caller", "C-B03")
        assert display.welcome["resync"] == "snapshot"
        assert display.welcome["snapshot"]["hall"]["windows"]["B03"]["name"] == "综合受理窗口B03"

        assert (await caller.command("open_window", window="B03"))["ok"]
        issued = await kiosk.command("issue_ticket", queue="quick_b")
        assert issued["ok"], issued
        ticket = issued["result"]["ticket"]
        assert ticket["number"] == "B001" and ticket["state"] == "waiting"
        assert issued["result"]["status"]["ahead"] == 0

        called = await caller.command("call_next", window="B03")
        assert called["result"]["ticket"]["number"] == "B001"
        on_wall = await drain_until(display, "ticket_called")
        assert on_wall["data"]["number"] == "B001" and on_wall["data"]["window"] == "B03"
        assert on_wall["changes"]["windows"]["B03"]["number"] == "B001"
        assert on_wall["changes"]["waiting"]["quick_b"] == 0

        assert (await caller.command("recall", window="B03"))["ok"]
        assert (await drain_until(display, "ticket_recalled"))["data"]["recalls"] == 1
        assert (await caller.command("start_service", window="B03"))["ok"]
        finished = await caller.command("finish_service", window="B03")
        assert finished["result"]["ticket"]["state"] == "done"
        evaluator = await RawClient.hello(url, "evaluator", "E-B03")
        rated = await evaluator.command("evaluate", ticket=ticket["id"], level=5)
        assert rated["result"]["ticket"]["rating"] == 5
        await drain_until(display, "ticket_evaluated")
        assert_contiguous(display.events, display.welcome["seq"])
        names = [f["name"] for f in display.events]
        assert names == ["day_opened", "window_opened", "ticket_issued", "ticket_called",
                         "ticket_recalled", "service_started", "service_finished",
                         "ticket_evaluated"]
        assert display.events[-1]["changes"]["windows"] == {"B03": display.events[-2][
            "changes"]["windows"]["B03"]}  # rating leaves the window idle as it was
        for c in (display, kiosk, caller, evaluator):
            await c.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        run(scenario(hub.url))


def test_healthz_answers_plain_http(tmp_path) -> None:
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        with urllib.request.urlopen(f"http://127.0.0.1:{hub.port}/healthz", timeout=5) as r:
            body = json.loads(r.read())
        assert r.status == 200 and body["ok"] is True and body["seq"] == 0
        assert body["hall"] == "开阳县政务服务中心"


async def burst(url: str, kiosk: str, acked: list[str], stop: asyncio.Event) -> None:
    """Issue tickets one after another until the hub dies; keep the acknowledged ones."""
    client = await RawClient.hello(url, "kiosk", kiosk)
    with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
        while not stop.is_set():
            reply = await client.command("issue_ticket", queue="quick_b")
            if reply.get("ok"):
                acked.append(reply["result"]["ticket"]["number"])
            await asyncio.sleep(0.06)  # below the hub's 20 messages/s per connection


async def listen(client: RawClient) -> None:
    with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
        while True:
            await client.recv(30)


def test_kill_9_in_a_burst_loses_nothing_reuses_no_number_and_resyncs(db_url) -> None:
    acked: list[str] = []

    async def before_kill(hub: HubProcess) -> RawClient:
        display = await RawClient.hello(hub.url, "display", "D-B")
        stop = asyncio.Event()
        kiosks = [asyncio.create_task(burst(hub.url, k, acked, stop))
                  for k in ("K-B1", "K-B2", "K-B3")]
        listener = asyncio.create_task(listen(display))
        deadline = time.monotonic() + 60
        while len(acked) < 60:   # (kiosks that get no replies fail here, not hang)
            assert time.monotonic() < deadline and not any(k.done() for k in kiosks), acked
            await asyncio.sleep(0.01)
        hub.kill()
        stop.set()
        await asyncio.gather(*kiosks, listener)
        return display

    async def after_restart(hub: HubProcess, display: RawClient) -> tuple[dict, list]:
        last = display.events[-1]["seq"]
        again = await RawClient.hello(hub.url, "display", "D-B", last_seq=last)
        console = await RawClient.hello(hub.url, "console", "CONSOLE-1")
        kiosk = await RawClient.hello(hub.url, "kiosk", "K-B1")
        fresh = await kiosk.command("issue_ticket", queue="quick_b")
        await drain_until(again, "ticket_issued")
        snap = (await console.query("snapshot"))["result"]
        while again.events[-1]["seq"] < snap["seq"]:   # the hub's own clock may add an
            await again.recv()                          # alert between the two
        assert again.welcome["resync"] == "events"
        return fresh, [again, snap]

    first = HubProcess(db_url).start()
    try:
        display = run(before_kill(first))
    finally:
        first.kill()
    with HubProcess(db_url, start_at="2026-11-23 09:45") as second:
        fresh, (again, snap) = run(after_restart(second, display))
    tickets = {t["number"] for t in snap["snapshot"]["tickets"].values()}
    assert set(acked) <= tickets, sorted(set(acked) - tickets)      # nothing acked is lost
    assert len(acked) == len(set(acked))
    new_number = fresh["result"]["ticket"]["number"]
    assert new_number not in acked and int(new_number[1:]) == len(tickets)  # B001.. no reuse
    everything = display.events + again.events
    assert_contiguous(everything, display.welcome["seq"])             # no gap, no duplicate
    assert everything[-1]["seq"] == snap["seq"]


def test_a_repeated_command_id_acts_once_even_across_a_restart(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    command_id = str(uuid.uuid4())

    async def first_run(hub_url: str) -> dict:
        kiosk = await RawClient.hello(hub_url, "kiosk", "K-B1")
        caller = await RawClient.hello(hub_url, "caller", "C-B03")
        await caller.command("open_window", window="B03")
        for _ in range(3):
            await kiosk.command("issue_ticket", queue="quick_b")
        reply = await caller.command("call_next", command_id, window="B03")
        again = await caller.command("call_next", command_id, window="B03")
        assert again == reply
        return reply

    async def second_run(hub_url: str) -> tuple[dict, dict]:
        caller = await RawClient.hello(hub_url, "caller", "C-B03")
        retry = await caller.command("call_next", command_id, window="B03")
        status = await caller.query("window_status", window="B03")
        return retry, status

    with HubProcess(url) as hub:
        reply = run(first_run(hub.url))
        hub.kill()
    with HubProcess(url, start_at="2026-11-23 09:40") as hub:
        retry, status = run(second_run(hub.url))
    assert retry["ok"] and retry["result"]["ticket"]["number"] == "B001"
    assert retry["result"]["seq"] == reply["result"]["seq"]
    assert status["result"]["windows"]["B03"]["number"] == "B001"  # B002 was never called


@pytest.mark.parametrize("last_seq", [None, 10_000])
def test_a_client_with_no_or_foreign_history_gets_a_snapshot(tmp_path, last_seq) -> None:
    async def scenario(url: str) -> dict:
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        await kiosk.command("issue_ticket", queue="quick_b")
        display = await RawClient.hello(url, "display", "D-B", last_seq=last_seq)
        return display.welcome

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        welcome = run(scenario(hub.url))
    assert welcome["resync"] == "snapshot" and welcome["seq"] == 2
    assert welcome["snapshot"]["waiting"]["quick_b"] == 1
    assert "tickets" not in welcome["snapshot"]   # a display needs no ticket table


def test_sigterm_closes_clients_with_going_away(tmp_path) -> None:
    async def scenario(hub: HubProcess) -> int | None:
        display = await RawClient.hello(hub.url, "display", "D-B")
        hub.proc.send_signal(15)
        with contextlib.suppress(ConnectionClosed):
            await display.recv(10)
        return display.ws.close_code

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        assert run(scenario(hub)) == 1001
        assert hub.proc.wait(10) == 0
