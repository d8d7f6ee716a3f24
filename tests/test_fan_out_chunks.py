"""Fan-out in chunks (dispatcher/hub/fanout.py): a durable batch reaches the listening
devices FAN_OUT_CHUNK connections at a time, with a turn of the event loop between, so
a caller's reply, a read or a hello does not wait for 2,000 socket writes.

An in-process hub on SQLite, its chunk cut to one connection: while kiosks keep
batches coming, later batches are told in the middle of a pass. Every display must
still get every event exactly once and in order, and a display that asks for a
snapshot in the middle of it all must already hold every event up to the seq its
answer names.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from hub_process import RawClient
from test_group_commit import EACH, KIOSKS, burst, stored_numbers
from test_hub_store_errors import with_hub

from dispatcher.hub import Hub, fanout

DISPLAYS = 12


async def read_until(display: RawClient, seq: int) -> list[dict[str, Any]]:
    """Every frame up to the event ``seq`` (events, and the answers between them)."""
    frames: list[dict[str, Any]] = []
    while not display.events or display.events[-1]["seq"] < seq:
        frames.append(await display.recv())
    return frames


def test_chunked_fan_out_sends_every_display_every_event_once_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "FAN_OUT_CHUNK", 1)
    during_a_pass: list[bool] = []
    fan_out, fan_chunk = fanout.FanOut.fan_out, fanout.FanOut._fan_chunk

    def watched(self: fanout.FanOut) -> None:
        during_a_pass.append(self._fan_pass is not None)
        fan_out(self)

    def slow_chunk(self: fanout.FanOut, conns: list[Any], start: int) -> None:
        time.sleep(0.002)    # a pass outlasts the next batch's write
        fan_chunk(self, conns, start)

    monkeypatch.setattr(fanout.FanOut, "fan_out", watched)
    monkeypatch.setattr(fanout.FanOut, "_fan_chunk", slow_chunk)

    async def scenario(hub: Hub, url: str) -> tuple[dict[tuple[str, str], str], int,
                                                    list[RawClient], dict[str, Any]]:
        hub.rate_limit = None
        displays = [await RawClient.hello(url, "display", "D-B") for _ in range(DISPLAYS)]
        start = hub.seq
        asker = displays[-1]
        query = asyncio.ensure_future(asker.query("snapshot"))
        acked = await burst(url, EACH)
        answer = await query
        end = hub.seq
        for display in displays:
            await read_until(display, end)
        return acked, start, displays, {"answer": answer["result"], "end": end}

    acked, start, displays, asked = asyncio.run(
        with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert any(during_a_pass), "no batch was told during a pass: nothing was chunked"
    numbers = sorted(acked.values())
    assert len(numbers) == len(set(numbers)) == len(KIOSKS) * EACH
    assert stored_numbers(tmp_path / "h.db") == numbers
    for display in displays:
        seqs = [e["seq"] for e in display.events]
        assert seqs == list(range(start + 1, asked["end"] + 1))   # once each, in order
    assert asked["answer"]["seq"] >= start


def test_an_answer_comes_after_the_events_it_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A query answered while a pass has not reached its device yet: the device is
    brought up to the last seq told first, so the answer's seq is never ahead of it."""
    monkeypatch.setattr(fanout, "FAN_OUT_CHUNK", 1)

    async def scenario(hub: Hub, url: str) -> list[tuple[int, int]]:
        hub.rate_limit = None      # twenty snapshots in a row
        displays = [await RawClient.hello(url, "display", "D-B") for _ in range(DISPLAYS)]
        asker = displays[-1]          # the last one a pass reaches
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        seen: list[tuple[int, int]] = []
        for _ in range(20):
            issued = kiosk.command("issue_ticket", queue="quick_b")
            asked = asker.query("snapshot")
            await issued
            answer = await asked
            held = asker.events[-1]["seq"] if asker.events else 0
            seen.append((answer["result"]["seq"], held))
        return seen

    seen = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert all(answer_seq <= held for answer_seq, held in seen), seen


def test_the_halls_screens_are_written_before_the_other_devices(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass writes the displays and LED strips first, whatever the order the devices
    connected in: a call is shown in the hall before the caller panels and kiosks
    learn their counts."""
    roles_in_order: list[list[str]] = []
    catch_up = fanout.FanOut.catch_up

    def recorded(self: fanout.FanOut, conns: Any, target: int) -> None:
        conns = list(conns)
        roles_in_order.append([self.live[ws].device.role for ws in conns if ws in self.live])
        catch_up(self, conns, target)

    async def scenario(hub: Hub, url: str) -> None:
        others = [await RawClient.hello(url, "caller", f"C-B0{i}") for i in range(1, 4)]
        screens = [await RawClient.hello(url, "display", "D-B") for _ in range(2)]
        others.append(await RawClient.hello(url, "kiosk", "K-B2"))
        screens.append(await RawClient.hello(url, "display", "D-B"))
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        monkeypatch.setattr(fanout.FanOut, "catch_up", recorded)
        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        for display in screens:
            await read_until(display, hub.seq)

    asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    passes = [roles for roles in roles_in_order if len(roles) > 1]   # not the sender's
    assert passes, roles_in_order
    for roles in passes:
        shown = [r in ("display", "led") for r in roles]
        assert shown == sorted(shown, reverse=True), roles      # every screen first
