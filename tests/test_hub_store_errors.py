"""The hub when the database misbehaves: a refused write does nothing and says so; a
commit whose acknowledgement was lost is still told to everyone and answered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hub_process import RawClient

from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.hub import SAMPLE_DEVICES, Hub, load_devices
from dispatcher.hub.run import HallClock, parse_start_at
from dispatcher.service import HallService
from dispatcher.store import StoreError


async def with_hub(url: str, scenario: Callable[[Hub, str], object]) -> object:
    hall = load_hall(SAMPLE_HALL)
    clock = HallClock(parse_start_at("2026-11-23 09:30", hall))
    hub = Hub(lambda o: HallService.open(hall, url, o), load_devices(SAMPLE_DEVICES, hall),
              clock)
    loop = asyncio.get_running_loop()
    stop, ready = loop.create_future(), loop.create_future()
    server = asyncio.create_task(hub.serve_forever("127.0.0.1", 0, ready.set_result, stop))
    try:
        return await scenario(hub, f"ws://127.0.0.1:{await ready}")
    finally:
        stop.set_result(None)
        await server
        hub.service.close()


def fail_next_write(hub: Hub, *, after_commit: bool) -> None:
    """The next append fails: before anything is written, or after the commit (a
    connection lost on the way back)."""
    store = hub.service.store
    original = store._write

    def write(rows, batch):
        store._write = original
        if after_commit:
            original(rows, batch)
            store._resync()
        raise StoreError("could not append: connection lost")

    store._write = write


@pytest.mark.parametrize("after_commit", [False, True])
def test_a_failed_write_is_reported_truthfully(tmp_path, after_commit) -> None:
    async def scenario(hub: Hub, url: str) -> tuple[dict, list[str], dict]:
        display = await RawClient.hello(url, "display", "D-B")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        await kiosk.command("issue_ticket", queue="quick_b")
        fail_next_write(hub, after_commit=after_commit)
        reply = await kiosk.command("issue_ticket", "retry-me", queue="quick_b")
        retry = await kiosk.command("issue_ticket", "retry-me", queue="quick_b")
        await kiosk.command("issue_ticket", queue="quick_b")
        while len([e for e in display.events if e["name"] == "ticket_issued"]) < 3:
            await display.recv()
        return reply, [e["data"]["number"] for e in display.events
                       if e["name"] == "ticket_issued"], retry

    reply, numbers, retry = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    if after_commit:  # it happened: everyone hears of it, the kiosk gets its ticket
        assert reply["ok"] and reply["result"]["ticket"]["number"] == "B002"
    else:             # nothing happened: the kiosk is told so, and its retry acts
        assert reply["error"]["code"] == "store_failed"
    assert retry["ok"] and retry["result"]["ticket"]["number"] == "B002"
    assert numbers == ["B001", "B002", "B003"]   # no gap, no duplicate, acted once
