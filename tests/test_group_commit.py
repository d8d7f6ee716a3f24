"""Group commit (dispatcher/hub/batching.py): commands that arrive together are written
in one transaction, each reply only once its batch is durable.

A real hub subprocess on SQLite takes commands pipelined from several kiosks at once:
it writes fewer transactions than commands, and a kill -9 in the middle of the burst
loses no acknowledged ticket and issues no number twice; every command is retried
after the restart with its own id and acts exactly once; a display that reads
"events" frames gets the very event frames, in order, in far fewer frames. In
process, a batch whose write fails is taken back whole: every command in it is told
store_failed, nothing of it is stored or shown, and their retries act.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from hub_process import HubProcess, RawClient, sample_token
from test_hub_store_errors import with_hub
from websockets.asyncio.client import connect

from dispatcher.hub import Hub, batching
from dispatcher.store import StoreError

KIOSKS = (("K-B1", "quick_b"), ("K-B2", "quick_b"), ("K-B3", "quick_b"), ("K-A1", "quick_a"))
EACH = 50                  # commands in flight on each connection (the burst allows 60)


async def burst(url: str, each: int, stop_after: int | None = None, tag: str = ""
                ) -> dict[tuple[str, str], str]:
    """Every kiosk sends ``each`` issue_ticket at once; the ticket number of each acked
    (device, id). With ``stop_after``: returns once that many are acked, the rest in
    flight."""
    kiosks = [await RawClient.hello(url, "kiosk", device) for device, _ in KIOSKS]
    acked: dict[tuple[str, str], str] = {}
    for kiosk, (device, queue) in zip(kiosks, KIOSKS, strict=True):
        for i in range(each):
            await kiosk.send({"type": "command", "id": f"{device}-{tag}{i}",
                              "name": "issue_ticket", "args": {"queue": queue}})

    async def read(kiosk: RawClient, device: str) -> None:
        while sum(1 for d, _ in acked if d == device) < each:
            frame = await kiosk.recv(30)
            if frame["type"] == "reply":
                assert frame["ok"], frame
                acked[(device, frame["id"])] = frame["result"]["ticket"]["number"]
                if stop_after is not None and len(acked) >= stop_after:
                    return

    readers = [asyncio.ensure_future(read(k, d)) for k, (d, _) in zip(kiosks, KIOSKS,
                                                                      strict=True)]
    await asyncio.wait(readers, return_when=(asyncio.FIRST_COMPLETED if stop_after
                                            else asyncio.ALL_COMPLETED))
    for reader in readers:
        reader.cancel()
    return acked


def stored_numbers(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [n for (n,) in conn.execute("SELECT number FROM tickets ORDER BY number")]


def test_commands_in_flight_share_transactions(tmp_path: Path) -> None:
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        acked = asyncio.run(burst(hub.url, EACH))
        health = hub.health()
    assert len(acked) == len(set(acked.values())) == len(KIOSKS) * EACH
    assert health["commands_committed"] == len(KIOSKS) * EACH
    # one commit per command would be 200; together they need far fewer fsyncs
    assert health["commits"] <= len(KIOSKS) * EACH // 2, health


async def frames_of_displays(url: str, each: int) -> tuple[list[dict[str, Any]],
                                                            list[dict[str, Any]]]:
    """What a display that reads "events" frames and one that does not receive while
    the kiosks burst: every frame each got, in order."""
    single = await RawClient.hello(url, "display", "D-B")
    batched = RawClient(await connect(url, max_size=2**24))
    await batched.send({"type": "hello", "role": "display", "device": "D-B",
                        "token": sample_token("D-B"), "batch": True})
    assert (await batched.recv())["type"] == "welcome"
    await burst(url, each)
    got: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for display, frames in zip((single, batched), got, strict=True):
        with contextlib.suppress(TimeoutError):
            while True:
                frames.append(await display.recv(1.0))
    return got


def events_of(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for f in frames for e in (f["events"] if f["type"] == "events" else [f])
            if e["type"] == "event"]


def without_tickets(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "changes": {k: v for k, v in event["changes"].items() if k != "tickets"}}


def test_a_device_that_reads_events_frames_gets_a_commits_events_in_one(tmp_path: Path
                                                                         ) -> None:
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        single, batched = asyncio.run(frames_of_displays(hub.url, 25))
    issued = len(KIOSKS) * 25
    assert {f["type"] for f in single} == {"event"}
    assert {f["type"] for f in batched} == {"events"}
    # the same events in the same order; a wall's picture keeps no ticket records, so
    # its slim frames leave them out (the raw client, which did not ask, gets them)
    assert events_of(batched) == [without_tickets(e) for e in events_of(single)]
    assert any(e["changes"].get("tickets") for e in events_of(single))
    seqs = [e["seq"] for e in events_of(single)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))   # gap-free
    assert sum(e["name"] == "ticket_issued" for e in events_of(single)) == issued
    assert len(batched) < len(single) // 2             # fewer frames: fewer writes


def test_kill_9_mid_batch_loses_no_acked_ticket_and_retries_act_once(tmp_path: Path
                                                                      ) -> None:
    db = tmp_path / "hall.db"
    hub = HubProcess(f"sqlite:///{db}").start()
    try:
        async def first_life() -> dict[tuple[str, str], str]:
            acked = await burst(hub.url, EACH, stop_after=60)
            hub.kill()       # more commands are in flight, some mid-commit
            return acked
        acked = asyncio.run(first_life())
        stored = stored_numbers(db)
        assert set(acked.values()) <= set(stored)        # nothing acknowledged is lost
        assert len(stored) == len(set(stored))
        hub = HubProcess(f"sqlite:///{db}").start()
        again = asyncio.run(burst(hub.url, EACH))       # every id again, after the restart
    finally:
        hub.kill()
    for key, number in acked.items():
        assert again[key] == number                      # acked before: the same ticket
    assert len(set(again.values())) == len(again) == len(KIOSKS) * EACH   # each acted once
    assert sorted(stored_numbers(db)) == sorted(again.values())
    for prefix in {n[0] for n in again.values()}:
        numbers = sorted(int(n[1:]) for n in again.values() if n[0] == prefix)
        assert numbers == list(range(1, len(numbers) + 1))   # no gap, none twice


def slow_writes(hub: Hub, then_fail: bool) -> None:
    """The next write takes 0.3 s (what arrives meanwhile forms one batch); with
    ``then_fail`` the one after it fails before anything is written."""
    store = hub.service.store
    original = store._write

    def write(rows, batch):   # in the store's writer thread
        store._write = failing if then_fail else original
        time.sleep(0.3)
        return original(rows, batch)

    def failing(rows, batch):
        store._write = original
        raise StoreError("could not append: disk full")

    store._write = write


def test_a_batch_that_fails_to_commit_is_taken_back_whole(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")

    async def scenario(hub: Hub, url: str) -> tuple[list[dict[str, Any]], list[str],
                                                     list[dict[str, Any]]]:
        display = await RawClient.hello(url, "display", "D-B")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        slow_writes(hub, then_fail=True)
        ids = [f"batch-{i}" for i in range(7)]
        for message_id in ids:        # the first is written slowly, the others wait
            await kiosk.send({"type": "command", "id": message_id, "name": "issue_ticket",
                              "args": {"queue": "quick_b"}})
        first = [await kiosk.reply_to(message_id) for message_id in ids]
        retried = [await kiosk.command("issue_ticket", message_id, queue="quick_b")
                   for message_id in ids]
        while len([e for e in display.events if e["name"] == "ticket_issued"]) < 7:
            await display.recv()
        return first, [e["data"]["number"] for e in display.events
                       if e["name"] == "ticket_issued"], retried

    first, shown, retried = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}",
                                                 scenario))
    assert first[0]["ok"] and first[0]["result"]["ticket"]["number"] == "B001"
    assert [r["error"]["code"] for r in first[1:]] == ["store_failed"] * 6   # all of them
    assert [r["result"]["ticket"]["number"] for r in retried] == [
        f"B{n:03d}" for n in range(1, 8)]      # the first answered again, the rest act
    assert shown == [f"B{n:03d}" for n in range(1, 8)]       # no gap, none twice
    assert stored_numbers(tmp_path / "h.db") == shown
    # the log tells what was done: each command once, when durable; the six taken
    # back only by their retries
    logged = [json.loads(line) for r in caplog.records for line in r.getMessage().split("\n")
              if line.startswith('{"event": "command"')]
    assert [c["id"] for c in logged] == [f"batch-{i}" for i in range(7)]


def test_a_command_repeated_while_its_commit_is_in_flight_acts_once(tmp_path: Path
                                                                    ) -> None:
    """A kiosk that resends an id (a reconnect, a double tap) while the first is being
    written gets the same reply, and one ticket is issued."""
    async def scenario(hub: Hub, url: str) -> list[dict[str, Any]]:
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        slow_writes(hub, then_fail=False)
        for message_id in ("first", "again", "again", "other"):   # "again" twice, in
            await kiosk.send({"type": "command", "id": message_id,  # the batch after
                              "name": "issue_ticket", "args": {"queue": "quick_b"}})
            await asyncio.sleep(0.05)                # the first is still being written
        await kiosk.send({"type": "command", "id": "first", "name": "issue_ticket",
                          "args": {"queue": "quick_b"}})
        return [await kiosk.reply_to(i) for i in ("first", "again", "again", "other",
                                                  "first")]

    replies = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    numbers = [r["result"]["ticket"]["number"] for r in replies]
    assert numbers == ["B001", "B002", "B002", "B003", "B001"]
    assert stored_numbers(tmp_path / "h.db") == ["B001", "B002", "B003"]


async def resumed_during_burst(url: str) -> tuple[int, int, list[RawClient]]:
    """Displays say hello with the same last_seq, one after another while the kiosks
    burst three times (so many welcomes fall while a batch is decided or written);
    each is read until it has the last event. The seq they resumed from, the last
    seq, and the displays."""
    start = (await RawClient.hello(url, "display", "D-B")).welcome["seq"]

    async def bursts() -> None:
        for round_ in range(3):
            await burst(url, EACH, tag=f"{round_}-")

    bursting = asyncio.ensure_future(bursts())
    displays = []
    # 32 sockets an address: these, the first display and the last, 12 kiosks
    while not bursting.done() and len(displays) < 16:
        displays.append(await RawClient.hello(url, "display", "D-B", last_seq=start))
        await asyncio.sleep(0.01)
    await bursting
    last = (await RawClient.hello(url, "display", "D-B")).welcome["seq"]
    for display in displays:
        while not display.events or display.events[-1]["seq"] < last:
            await display.recv()
    return start, last, displays


def test_a_hello_resumed_by_events_mid_burst_gets_every_event_once(tmp_path: Path
                                                                   ) -> None:
    """A welcome by events is sent at once, not at a point where nothing is being
    written; it names the last seq told, so what it carries and the batches told after
    it meet with no gap and no duplicate."""
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        start, last, displays = asyncio.run(resumed_during_burst(hub.url))
    assert len(displays) >= 5 and last - start >= 3 * len(KIOSKS) * EACH
    for display in displays:
        assert display.welcome["resync"] == "events"
        assert display.welcome["seq"] >= start
        assert [e["seq"] for e in display.events] == list(range(start + 1, last + 1))


def test_deciding_in_slices_keeps_every_command_in_order_and_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub gives the loop a turn after DECIDE_SLICE of deciding a backlog (replies,
    reads and screens do not wait for a whole inbox). Sliced after every command, a
    burst of 200 in flight is still acked once each, numbered without a gap, shown in
    order."""
    monkeypatch.setattr(batching, "DECIDE_SLICE", 0.0)
    monkeypatch.setattr(batching, "MAX_BATCH", 20)   # the rest waits in the inbox
    sliced: list[bool] = []
    decide_waiting = batching.GroupCommit._decide_waiting

    def counted(self: batching.GroupCommit, until: float) -> bool:
        sliced.append(decide_waiting(self, until))
        return sliced[-1]

    monkeypatch.setattr(batching.GroupCommit, "_decide_waiting", counted)

    async def scenario(hub: Hub, url: str) -> tuple[dict[tuple[str, str], str], list[int]]:
        display = await RawClient.hello(url, "display", "D-B")
        slow_writes(hub, then_fail=False)     # a backlog forms behind the first write
        acked = await burst(url, EACH)
        while not display.events or display.events[-1]["seq"] < hub.seq:
            await display.recv()
        return acked, [e["seq"] for e in display.events]

    acked, seqs = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert any(sliced), "never sliced"
    numbers = sorted(acked.values())
    assert len(numbers) == len(set(numbers)) == len(KIOSKS) * EACH
    assert stored_numbers(tmp_path / "h.db") == numbers
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))      # in order, no gap


def test_a_turn_of_the_loop_decides_for_one_slice_however_many_commands_it_read(
        tmp_path: Path) -> None:
    """Each command read enqueues and drains at once; the slice is the turn's, so 30
    decisions of 5 ms queued in one turn (a turn that read 30 commands) go 20 ms a
    turn, in order, and replies, reads and screens get the turns between."""
    async def scenario(hub: Hub, url: str) -> list[tuple[int, int]]:
        loop, turns, ran = asyncio.get_running_loop(), [0], []

        def tick() -> None:
            turns[0] += 1
            if len(ran) < 30:
                loop.call_soon(tick)

        def decision(i: int) -> Any:
            def run() -> None:
                end = time.perf_counter() + 0.005
                while time.perf_counter() < end:
                    pass
                ran.append((i, turns[0]))
            return run

        tick()
        for i in range(30):
            hub.own_turn(decision(i))
        while len(ran) < 30:
            await asyncio.sleep(0.01)
        return ran

    ran = asyncio.run(with_hub(f"sqlite:///{tmp_path / 'h.db'}", scenario))
    assert [i for i, _ in ran] == list(range(30))
    per_turn = [sum(1 for _, t in ran if t == turn) for turn in {t for _, t in ran}]
    assert max(per_turn) <= 1 + batching.DECIDE_SLICE / 0.005, per_turn
