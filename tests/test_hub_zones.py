"""Zones through a real hub (issue 17): tickets taken at the kiosks of zone A (K-A1)
and zone B (K-B1) for 税务服务 (tax, offered in both zones, kept apart) are called by
their own zone's windows only, and each kiosk is told its own zone's line."""

from __future__ import annotations

import asyncio

from hub_process import QUIET, HubProcess, RawClient, event_named


def test_a_zone_b_ticket_is_not_called_to_a_zone_a_window(tmp_path) -> None:
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        kiosk_a = await RawClient.hello(url, "kiosk", "K-A1")
        kiosk_b = await RawClient.hello(url, "kiosk", "K-B1")
        caller_a = await RawClient.hello(url, "caller", "C-A11")
        caller_b = await RawClient.hello(url, "caller", "C-B19")
        assert (await caller_a.command("open_window", window="A11"))["ok"]
        assert (await caller_b.command("open_window", window="B19"))["ok"]

        from_b = await kiosk_b.command("issue_ticket", queue="tax")
        from_a = await kiosk_a.command("issue_ticket", queue="tax")
        assert from_b["ok"] and from_a["ok"], (from_b, from_a)
        number_b = from_b["result"]["ticket"]["number"]
        number_a = from_a["result"]["ticket"]["number"]
        assert (number_b, number_a) == ("S001", "S002")
        assert from_a["result"]["status"]["ahead"] == 0   # S001 is zone B's, not ahead
        issued = await event_named(console, "ticket_issued", number="S002")
        assert issued["data"]["zone"] == "A"

        status_a = await kiosk_a.query("queue_status")
        status_b = await kiosk_b.query("queue_status")
        assert status_a["result"]["queues"]["tax"]["waiting"] == 1
        assert status_b["result"]["queues"]["tax"]["waiting"] == 1
        assert status_a["result"]["queues"]["tax"]["windows"] == 1   # A11, not B19

        called = await caller_a.command("call_next", window="A11")
        assert called["result"]["ticket"]["number"] == "S002"
        called = await caller_b.command("call_next", window="B19")
        assert called["result"]["ticket"]["number"] == "S001"

        assert (await kiosk_b.command("issue_ticket", queue="tax"))["ok"]
        refused = await caller_a.command("call_next", window="A11")
        assert not refused["ok"] and refused["error"]["code"] == "queue_empty", refused
        called = await caller_b.command("call_next", window="B19", outcome="consult_only")
        assert called["result"]["ticket"]["number"] == "S003", called
        for client in (console, kiosk_a, kiosk_b, caller_a, caller_b):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", extra=QUIET) as hub:
        asyncio.run(scenario(hub.url))
