"""Alerts through a real hub (`onewindow serve`, the sample hall's [[alerts]]): the
hub's clock raises them, every console sees the same ones, one dispatcher's
acknowledgement shows on all, the store records who, and the lobby never sees them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from hub_process import HubProcess, RawClient

SPEED = 600.0   # ten hall minutes a real second: quick_b's 30-minute threshold in 3 s


async def event_named(client: RawClient, name: str, alert: str,
                      timeout: float = 20.0) -> dict[str, Any]:
    """The next event ``name`` about ``alert`` (seen already, or still to come)."""
    deadline = time.monotonic() + timeout
    while True:
        for frame in client.events:
            if frame["name"] == name and frame["data"].get("id") == alert:
                return frame
        await client.recv(max(0.1, deadline - time.monotonic()))


async def settle(client: RawClient, quiet: float = 0.5) -> None:
    try:
        while True:
            await client.recv(quiet)
    except TimeoutError:
        pass


def test_a_long_wait_raises_an_alert_every_console_sees_and_one_acknowledges(
        tmp_path: Path) -> None:
    async def scenario(url: str) -> str:
        first = await RawClient.hello(url, "console", "CONSOLE-1")
        second = await RawClient.hello(url, "console", "CONSOLE-1", staff="staff-002")
        display = await RawClient.hello(url, "display", "D-B")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        issued = await kiosk.command("issue_ticket", queue="quick_b")
        alert = f"ticket_overdue:{issued['result']['ticket']['id']}"
        for console in (first, second):
            raised = await event_named(console, "alert_raised", alert)
            assert raised["data"]["level"] == "warning"
            assert raised["data"]["threshold"] == 30 * 60
            assert raised["changes"]["alerts"][alert]["acknowledged_at"] is None
        acked = await second.command("acknowledge_alert", id=alert)
        assert [e["name"] for e in acked["result"]["events"]] == ["alert_acknowledged"]
        for console in (first, second):
            seen = await event_named(console, "alert_acknowledged", alert)
            assert seen["changes"]["alerts"][alert]["acknowledged_at"] is not None
        again = await first.command("acknowledge_alert", id=alert)
        assert again["ok"] and again["result"]["events"] == []   # the first one stays
        fresh = await RawClient.hello(url, "console", "CONSOLE-1")
        snap = fresh.welcome["snapshot"]["alerts"][alert]
        assert snap["acknowledged_at"] is not None and snap["rule"] == "ticket_overdue"
        refused = await first.command("check_alerts")
        assert refused["error"]["code"] == "forbidden"           # the hub's own
        refused = await display.command("acknowledge_alert", id=alert)
        assert refused["error"]["code"] == "forbidden"
        await settle(display)
        alert_frames = [f for f in display.events if f["name"].startswith("alert_")]
        assert {f["name"] for f in alert_frames} >= {"alert_raised", "alert_acknowledged"}
        assert all(set(f["data"]) == {"at"} and "alerts" not in f["changes"]
                   for f in alert_frames)
        text = json.dumps([display.welcome, *display.events], ensure_ascii=False)
        assert "ticket_overdue" not in text and "alerts" not in display.welcome["snapshot"]
        for client in (first, second, display, kiosk, fresh):
            await client.close()
        return alert

    db = tmp_path / "hall.db"
    with HubProcess(f"sqlite:///{db}", speed=SPEED) as hub:
        alert = asyncio.run(scenario(hub.url))
    with sqlite3.connect(db) as conn:
        rows = [(name, actor, json.loads(data)) for name, actor, data in conn.execute(
            "select name, actor, data from events where name like 'alert_%'")]
    acks = [(actor, data["id"]) for name, actor, data in rows if name == "alert_acknowledged"]
    assert acks == [("staff-002", alert)]
    assert any(name == "alert_raised" and data["id"] == alert for name, _, data in rows)
