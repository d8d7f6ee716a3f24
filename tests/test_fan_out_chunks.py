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


def test_a_batch_written_during_a_pass_is_told_before_the_pass_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch whose write ends while a pass is under way is told (its reply sent)
    before the pass's next chunk but one: the writer's end comes back to the loop as
    one callback. Through a task over run_in_executor it took three turns of the loop,
    each behind a chunk: 3-6 ms each at 2,000 displays, on every command's reply."""
    monkeypatch.setattr(fanout, "FAN_OUT_CHUNK", 1)
    chunks = [0]
    fan_chunk = fanout.FanOut._fan_chunk

    def slow_chunk(self: fanout.FanOut, conns: list[Any], start: int) -> None:
        chunks[0] += 1
        time.sleep(0.004)
        fan_chunk(self, conns, start)

    monkeypatch.setattr(fanout.FanOut, "_fan_chunk", slow_chunk)
    written: list[tuple[int, bool]] = []   # the chunks begun when each write ended;
    told: list[int] = []                    # a pass was on; the chunks when it was told

    async def scenario(hub: Hub, url: str) -> None:
        hub.rate_limit = None
        # reading on (unread, the hub's close waits 10 s); the kiosks are not in a pass
        # (the quiet lane): its 20 displays outlast the next command's turns
        for _ in range(20):
            await RawClient.hello(url, "display", "D-B", max_queue=None)
        first = await RawClient.hello(url, "kiosk", "K-B1")
        second = await RawClient.hello(url, "kiosk", "K-B2")
        commit, finish = hub.service.commit, hub._finish

        def timed_commit(batch: Any) -> None:
            commit(batch)
            written.append((chunks[0], hub._fan_pass is not None))

        def timed_finish(outcomes: Any, seqs: list[int], durable: bool) -> None:
            if seqs:
                told.append(chunks[0])
            finish(outcomes, seqs, durable)

        hub.service.commit, hub._finish = timed_commit, timed_finish   # type: ignore
        for _ in range(10):
            issued = first.command("issue_ticket", queue="quick_b")
            await asyncio.sleep(0.012)   # its pass to 20 displays takes about 80 ms
            assert (await second.command("issue_ticket", queue="quick_b"))["ok"]
            assert (await issued)["ok"]
            await asyncio.sleep(0.12)

    asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert len(written) == len(told) >= 20
    during = [t - w for (w, on), t in zip(written, told, strict=True) if on]
    assert len(during) >= 8, (written, told)
    # at once: before the next chunk (through a task, each was told one chunk later)
    assert during.count(0) >= 0.8 * len(during), (written, told)
