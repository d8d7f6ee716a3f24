"""What the hub keeps small (issue 22's memory goal) still answers as before.

Today's command ids are kept as 64-bit fingerprints (dispatcher/store/command_keys.py):
a command committed before a restart is still recognised as a repeat and answered
with its first reply, and a new command whose fingerprint collides with a stored one
is not mistaken for a repeat. The reply cache keeps each device's last replies
however busy the others are. Older event frames are kept packed, and a resync from
them gets the very frames the live devices got.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hub_process import RawClient
from test_hub_store_errors import with_hub

from dispatcher.hub import Hub, ring
from dispatcher.hub.commands import RecentReplies
from dispatcher.store import command_keys
from dispatcher.store.command_keys import CommandKeys


def url_of(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"


async def three_waiting(url: str) -> RawClient:
    """B03 open, three tickets waiting in quick_b; the caller of B03."""
    kiosk = await RawClient.hello(url, "kiosk", "K-B1")
    caller = await RawClient.hello(url, "caller", "C-B03")
    assert (await caller.command("open_window", window="B03"))["ok"]
    for _ in range(3):
        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
    return caller


def first_day(tmp_path: Path) -> dict[str, Any]:
    """B001 called by the command id "call-1"; its reply."""
    async def scenario(hub: Hub, url: str) -> dict[str, Any]:
        caller = await three_waiting(url)
        return await caller.command("call_next", "call-1", window="B03")

    reply = asyncio.run(with_hub(url_of(tmp_path), scenario))
    assert reply["ok"] and reply["result"]["ticket"]["number"] == "B001"
    return reply


def test_a_command_committed_before_a_restart_is_answered_with_its_first_reply(
        tmp_path: Path) -> None:
    first = first_day(tmp_path)

    async def after_restart(hub: Hub, url: str) -> tuple[dict[str, Any], ...]:
        caller = await RawClient.hello(url, "caller", "C-B03")
        retry = await caller.command("call_next", "call-1", window="B03")
        other = await caller.command("call_next", "call-1", window="B03", reason="x")
        status = await caller.query("window_status", window="B03")
        return retry, other, status

    retry, other, status = asyncio.run(with_hub(url_of(tmp_path), after_restart))
    assert retry["ok"] and retry["result"]["ticket"]["number"] == "B001"
    assert retry["result"]["seq"] == first["result"]["seq"]
    assert retry["result"]["events"] == first["result"]["events"]
    assert not other["ok"] and other["error"]["code"] == "id_conflict"
    assert status["result"]["windows"]["B03"]["number"] == "B001"   # B002 never called


def test_a_new_command_whose_fingerprint_collides_is_decided_not_repeated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command_keys, "fingerprint", lambda key: 7)   # every key collides
    first_day(tmp_path)

    async def after_restart(hub: Hub, url: str) -> tuple[dict[str, Any], ...]:
        caller = await RawClient.hello(url, "caller", "C-B03")
        assert ("C-B03", "call-2") in hub.stored_ids   # looks like a stored command
        finish = await caller.command("finish_service", "finish-1", window="B03")
        called = await caller.command("call_next", "call-2", window="B03")
        retry = await caller.command("call_next", "call-1", window="B03")
        return finish, called, retry

    finish, called, retry = asyncio.run(with_hub(url_of(tmp_path), after_restart))
    assert finish["ok"], finish
    assert called["ok"] and called["result"]["ticket"]["number"] == "B002"
    assert retry["ok"] and retry["result"]["ticket"]["number"] == "B001"


def test_command_keys_never_miss_a_key_added() -> None:
    keys = CommandKeys([("K-B1", str(i)) for i in range(1_000)])
    for i in range(1_000, 20_000):       # past several merges into the sorted array
        keys.add(("C-B03", str(i)))
    assert all(("K-B1", str(i)) in keys for i in range(1_000))
    assert all(("C-B03", str(i)) in keys for i in range(1_000, 20_000))
    assert sum(("K-B2", str(i)) in keys for i in range(10_000)) == 0


def test_each_device_keeps_its_recent_replies_however_busy_the_others() -> None:
    replies = RecentReplies(per_device=3, total=10)
    replies.remember(("C-B03", "a"), "d-a", '{"id":"a","叫号":"B001"}')
    for i in range(8):                  # a busy kiosk: only its last 3 are kept
        replies.remember(("K-B1", str(i)), "d", f'{{"id":"{i}"}}')
    assert replies.get(("C-B03", "a")) == ("d-a", '{"id":"a","叫号":"B001"}')
    assert [replies.get(("K-B1", str(i))) is not None for i in range(8)] == \
        [False] * 5 + [True] * 3
    for device in range(10):            # ten devices more: the oldest go first
        replies.remember((f"D-{device}", "x"), "d", "{}")
    assert len(replies) == 10 and replies.get(("C-B03", "a")) is None


def test_a_refused_command_repeated_gets_its_first_reply_not_a_new_decision(
        tmp_path: Path) -> None:
    async def scenario(hub: Hub, url: str) -> tuple[dict[str, Any], ...]:
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        caller = await RawClient.hello(url, "caller", "C-B03")
        assert (await caller.command("open_window", window="B03"))["ok"]
        empty = await caller.command("call_next", "early", window="B03")
        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        for i in range(40):   # the kiosk's own replies do not push the caller's out
            await kiosk.command("issue_ticket", f"k{i}", queue="quick_b")
        again = await caller.command("call_next", "early", window="B03")
        return empty, again

    empty, again = asyncio.run(with_hub(url_of(tmp_path), scenario))
    assert not empty["ok"]
    assert again == empty


def test_a_resync_from_packed_frames_gets_the_frames_sent_live(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ring, "KEEP_PLAIN", 3)
    monkeypatch.setattr(ring, "PACK_CHUNK", 2)

    async def scenario(hub: Hub, url: str) -> tuple[list[dict[str, Any]], ...]:
        display = await RawClient.hello(url, "display", "D-B")
        start = display.welcome["seq"]
        caller = await three_waiting(url)
        await caller.command("call_next", window="B03")
        while not display.events or display.events[-1]["seq"] < hub.seq:
            await display.recv()
        assert hub.ring[start + 1].piece is not None      # packed
        late = await RawClient.hello(url, "display", "D-B", last_seq=start)
        assert late.welcome["resync"] == "events"
        while not late.events or late.events[-1]["seq"] < hub.seq:
            await late.recv()
        return display.events, late.events

    live, resynced = asyncio.run(with_hub(url_of(tmp_path), scenario))
    assert len(live) >= 5 and resynced == live
