"""The quiet lane (dispatcher/hub/fanout.py): a kiosk shows queue counts, so the
kiosks that did not send a batch's commands are caught up at most every QUIET_EVERY,
each time with everything since the last, while the hall's screens get every batch at
once. An in-process hub on SQLite; one kiosk issues tickets one after the other,
another stands idle beside a display.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from hub_process import RawClient
from test_hub_store_errors import with_hub

from dispatcher.hub import Hub, fanout

TICKETS = 30


def caught_up(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """The moments each device was sent events, by device id."""
    sent: dict[str, list[float]] = {}
    catch_up = fanout.FanOut.catch_up

    def recorded(self: fanout.FanOut, conns: Any, target: int) -> None:
        conns = list(conns)
        for ws in conns:
            client = self.live.get(ws)
            if client is not None and client.through < target:
                sent.setdefault(client.device.id, []).append(time.monotonic())
        catch_up(self, conns, target)

    monkeypatch.setattr(fanout.FanOut, "catch_up", recorded)
    return sent


async def read_through(client: RawClient, seq: int, timeout: float) -> None:
    while not client.events or client.events[-1]["seq"] < seq:
        await client.recv(timeout)


def test_an_idle_kiosk_gets_every_event_in_order_a_tenth_of_a_second_apart(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = caught_up(monkeypatch)

    async def scenario(hub: Hub, url: str) -> dict[str, Any]:
        hub.rate_limit = None
        display = await RawClient.hello(url, "display", "D-B")
        idle = await RawClient.hello(url, "kiosk", "K-B2")
        issuing = await RawClient.hello(url, "kiosk", "K-B1")
        start = hub.seq
        began = time.monotonic()
        for _ in range(TICKETS):
            reply = await issuing.command("issue_ticket", queue="quick_b")
            assert reply["ok"], reply
            # the sender has its ticket's event before its reply, at once
            assert issuing.events[-1]["seq"] == reply["result"]["seq"]
        issued = time.monotonic()
        end = hub.seq
        await read_through(display, end, 5.0)
        await read_through(idle, end, 5.0)
        return {"start": start, "end": end, "idle_done": time.monotonic() - issued,
                "display": display, "idle": idle, "seconds": issued - began}

    got = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    every = list(range(got["start"] + 1, got["end"] + 1))
    for client in (got["display"], got["idle"]):
        assert [e["seq"] for e in client.events if e["seq"] > got["start"]] == every
    assert len(sent["D-B"]) >= TICKETS                # the screen: every batch at once
    idle = sent["K-B2"]
    gaps = [b - a for a, b in itertools.pairwise(idle)]
    assert min(gaps) >= fanout.QUIET_EVERY * 0.9, gaps  # the kiosk: a tenth apart at most
    assert len(idle) <= got["seconds"] / fanout.QUIET_EVERY + 2 < TICKETS, idle
    assert got["idle_done"] < fanout.QUIET_EVERY + 0.4   # and never far behind


def test_a_hub_that_stops_first_brings_the_quiet_lane_up_to_date(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last events before the hub closes are not left waiting for the lane's turn."""
    monkeypatch.setattr(fanout, "QUIET_EVERY", 60.0)

    async def scenario(hub: Hub, url: str) -> tuple[int, int, int]:
        hub.rate_limit = None
        idle = await RawClient.hello(url, "kiosk", "K-B2")
        issuing = await RawClient.hello(url, "kiosk", "K-B1")
        assert (await issuing.command("issue_ticket", queue="quick_b"))["ok"]  # at once
        await read_through(idle, hub.seq, 5.0)
        assert (await issuing.command("issue_ticket", queue="quick_b"))["ok"]
        await asyncio.sleep(0.3)
        waiting = idle.events[-1]["seq"]             # the lane's next turn is a minute off
        hub.flush_fan_out()                          # as the hub does as it closes
        await read_through(idle, hub.seq, 5.0)
        return waiting, idle.events[-1]["seq"], hub.seq

    waiting, then, last = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert waiting < last and then == last
