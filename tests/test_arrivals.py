"""Arrivals take turns (dispatcher/hub/arrivals.py): at most ARRIVING_AT_ONCE new
connections between their handshake and their welcome, so a reconnect storm does not
fill every turn of the event loop while the devices already connected wait.

An in-process hub on SQLite with real websockets clients: a device already here is
answered while new ones wait for a turn; connections that never say hello hold a
turn for TURN_S at most; and through a storm of arrivals that are welcomed, refused,
dropped mid-handshake or silent, every good device gets in and every turn comes back.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hub_process import RawClient
from test_hub_store_errors import with_hub
from websockets.asyncio.client import connect

from dispatcher.hub import Hub, arrivals
from dispatcher.hub.guard import Limits


def test_a_device_here_is_answered_while_arrivals_wait_for_a_turn(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrivals, "ARRIVING_AT_ONCE", 2)
    monkeypatch.setattr(arrivals, "TURN_S", 0.6)

    async def scenario(hub: Hub, url: str) -> dict[str, float]:
        caller = await RawClient.hello(url, "caller", "C-B01")
        silent = [await connect(url) for _ in range(2)]     # hold both turns, no hello
        t0 = time.monotonic()
        display = asyncio.ensure_future(RawClient.hello(url, "display", "D-B"))
        await asyncio.sleep(0.1)
        opened = await caller.command("open_window", window="B01")
        replied = time.monotonic() - t0
        assert opened["ok"], opened
        assert not display.done(), "the display arrived although both turns were held"
        welcomed = await display
        assert welcomed.welcome["type"] == "welcome"
        for ws in silent:
            await ws.close()
        return {"replied": replied, "welcomed": time.monotonic() - t0}

    took = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert took["replied"] < took["welcomed"]
    assert took["welcomed"] >= 0.45, "a silent connection held its turn for less than TURN_S"


async def dropped_mid_handshake(url: str) -> None:
    """A whole upgrade request, and gone before the response: it may be waiting for
    a turn when it goes."""
    parts = urlsplit(url)
    _, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    await writer.drain()
    writer.close()


async def silent_then_gone(url: str) -> None:
    ws = await connect(url)
    await asyncio.sleep(0.05)
    await ws.close()


async def refused(url: str) -> str:
    client = await RawClient.hello(url, "display", "D-B", token="not-its-token")
    await client.close()
    return str(client.welcome.get("error", {}).get("code"))


def test_through_a_storm_every_good_device_arrives_and_every_turn_comes_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrivals, "ARRIVING_AT_ONCE", 4)
    monkeypatch.setattr(arrivals, "TURN_S", 60.0)   # a turn not given back would stall

    async def scenario(hub: Hub, url: str) -> tuple[list[str], list[str], int]:
        hub.guard.limits = Limits(max_per_address=1000, welcomes=None)   # one address
        good = [RawClient.hello(url, "display", "D-B") for _ in range(40)]
        bad = [refused(url) for _ in range(5)]
        gone = [silent_then_gone(url) for _ in range(8)] + \
               [dropped_mid_handshake(url) for _ in range(8)]
        results = await asyncio.wait_for(asyncio.gather(*good, *bad, *gone), 30)
        welcomed = [c.welcome["type"] for c in results[:40]]
        for client in results[:40]:
            await client.close()
        await asyncio.sleep(0.2)
        return welcomed, results[40:45], hub.arrivals.arriving

    welcomed, codes, arriving = asyncio.run(
        with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert welcomed == ["welcome"] * 40
    assert codes == ["bad_credentials"] * 5
    assert arriving == 0
