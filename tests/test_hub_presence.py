"""Device health at the console: the hub witnesses who is connected (presence
frames, to consoles only) and keeps each device's reports of the day."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from hub_process import FAST, HubProcess, RawClient, event_named, sample_token

from dispatcher.client import HubClient


async def presence_of(client: RawClient, device: str, online: bool,
                      timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame = await client.recv(max(0.1, deadline - time.monotonic()))
        if frame.get("type") == "presence" and frame["device"] == device \
                and frame["presence"]["online"] is online:
            return frame["presence"]


def test_the_console_sees_devices_come_and_go_and_the_lobby_does_not(tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        snap = console.welcome["snapshot"]["presence"]
        assert snap["K-B1"] == {"online": False, "since": None, "role": "kiosk",
                                "history": []}
        assert snap["CONSOLE-1"]["online"] is True
        display = await RawClient.hello(url, "display", "D-B")
        assert "presence" not in display.welcome["snapshot"]
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        came = await presence_of(console, "K-B1", True)
        assert came["role"] == "kiosk" and len(came["history"]) == 1
        for status in ("paper_near_end", "paper_out", "ok"):
            assert (await kiosk.command("report_device", device="K-B1/printer",
                                        status=status))["ok"]
        await kiosk.close()
        went = await presence_of(console, "K-B1", False)
        assert [h["online"] for h in went["history"]] == [True, False]
        fresh = await RawClient.hello(url, "console", "CONSOLE-1", staff="staff-002")
        snap = fresh.welcome["snapshot"]
        assert snap["presence"]["K-B1"]["online"] is False
        assert [h["status"] for h in snap["devices"]["K-B1/printer"]["history"]] == [
            "paper_near_end", "paper_out", "ok"]
        frames = []
        while True:
            try:
                frames.append(await display.recv(0.3))
            except TimeoutError:
                break
        assert not [f for f in frames if f.get("type") == "presence"]
        for client in (console, display, fresh):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        asyncio.run(scenario(hub.url))


def test_a_device_is_gone_only_when_its_last_connection_goes(tmp_path: Path) -> None:
    """A kiosk whose panel app and printer bridge are both connected stays online when
    one of them goes; the console is told it went when the last one does."""
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        first = await RawClient.hello(url, "kiosk", "K-B2")
        await presence_of(console, "K-B2", True)
        second = await RawClient.hello(url, "kiosk", "K-B2")
        await first.close()
        frames = []
        while True:
            try:
                frames.append(await console.recv(0.5))
            except TimeoutError:
                break
        assert not [f for f in frames if f.get("type") == "presence"
                    and f["device"] == "K-B2" and not f["presence"]["online"]]
        await second.close()
        went = await presence_of(console, "K-B2", False)
        assert went["online"] is False
        await console.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        asyncio.run(scenario(hub.url))


def test_the_client_librarys_view_keeps_presence(tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        seen: list[dict[str, Any]] = []
        client = HubClient(url, "console", "CONSOLE-1", sample_token("CONSOLE-1"),
                           on_presence=seen.append, **FAST)
        task = client.start()
        await client.wait_connected(10)
        kiosk = await RawClient.hello(url, "kiosk", "K-A1")
        deadline = time.monotonic() + 10
        while not client.view.presence.get("K-A1", {}).get("online"):
            assert time.monotonic() < deadline, client.view.presence.get("K-A1")
            await asyncio.sleep(0.05)
        assert seen[-1]["device"] == "K-A1"
        await kiosk.close()
        await client.close()
        task.cancel()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        asyncio.run(scenario(hub.url))


def test_a_kiosk_gone_for_long_is_reported_offline_alerted_and_back_when_it_returns(
        tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        kiosk = await RawClient.hello(url, "kiosk", "K-B2")
        assert (await kiosk.command("issue_ticket", queue="post"))["ok"]   # the day opens
        await kiosk.close()
        gone = await event_named(console, "device_reported", device="K-B2")
        assert (gone["data"]["status"], gone["data"]["detail"]) == ("offline",
                                                                   "no connection to the hub")
        alert = await event_named(console, "alert_raised", id="device_offline:K-B2")
        assert alert["data"]["level"] == "critical"
        kiosk = await RawClient.hello(url, "kiosk", "K-B2")
        back = await event_named(console, "device_reported", device="K-B2", status="ok")
        assert back["data"]["detail"] == "connected again"
        await event_named(console, "alert_cleared", id="device_offline:K-B2")
        for client in (console, kiosk):
            await client.close()

    # 600 hall seconds a real one: 30 s gone and the rule's 120 s pass within a tick
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", speed=600.0) as hub:
        asyncio.run(scenario(hub.url))
