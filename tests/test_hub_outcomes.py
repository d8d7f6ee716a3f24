"""办件结果 and 差评 cases through a real hub (`onewindow serve`, the sample hall): a
unit ticket is not finished without its outcome; the outcome is seen by the console
and the window's caller, never by the lobby; a keypad window's default applies; a
1-star rating opens a case the console alone sees and closes; open cases survive a
restart and the next day, where an overdue one raises its alert."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from hub_process import HubProcess, RawClient, event_named


async def drain(client: RawClient, quiet: float = 0.3) -> None:
    try:
        while True:
            await client.recv(quiet)
    except TimeoutError:
        pass


async def ok(client: RawClient, name: str, **args: Any) -> dict[str, Any]:
    reply = await client.command(name, **args)
    assert reply["ok"], reply
    return reply["result"]


async def serve_one(console: RawClient, caller: RawClient, window: str, queue: str
                    ) -> str:
    """A ticket of ``queue`` issued at the console, called and started at ``window``."""
    ticket = (await ok(console, "issue_ticket", queue=queue, zone="B"))["ticket"]["id"]
    if queue not in console.welcome["snapshot"]["windows"][window]["main"] + \
            console.welcome["snapshot"]["windows"][window]["side"]:
        await ok(console, "transfer", ticket=ticket, to_window=window)
    await ok(caller, "call_next", window=window)
    await ok(caller, "start_service", window=window)
    return ticket


def test_a_unit_ticket_needs_its_outcome_which_the_lobby_never_sees(tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        caller = await RawClient.hello(url, "caller", "C-B19")
        other = await RawClient.hello(url, "caller", "C-B20")
        display = await RawClient.hello(url, "display", "D-B")
        assert display.welcome["snapshot"]["hall"]["queues"]["tax"]["outcome_required"]
        await ok(caller, "open_window", window="B19")
        ticket = await serve_one(console, caller, "B19", "tax")
        before = (await console.query("snapshot"))["result"]["seq"]
        refused = await caller.command("finish_service", window="B19")
        assert refused["error"]["code"] == "outcome_required", refused
        assert refused["error"]["field"] == "outcome"
        refused = await caller.command("finish_service", window="B19", outcome="done")
        assert (refused["error"]["code"], refused["error"]["field"]) == (
            "outcome_required", "case_number")
        refused = await caller.command("finish_service", window="B19", outcome="ok")
        assert (refused["error"]["code"], refused["error"]["field"]) == (
            "bad_argument", "outcome")
        after = await console.query("snapshot")
        assert after["result"]["seq"] == before                  # nothing changed
        assert after["result"]["snapshot"]["tickets"][ticket]["state"] == "serving"
        done = await ok(caller, "finish_service", window="B19", outcome="done",
                        case_number="KY-2026-000123")
        assert done["ticket"]["outcome"] == "done"
        for full in (console, caller):
            seen = await event_named(full, "service_finished", ticket=ticket)
            assert (seen["data"]["outcome"], seen["data"]["case_number"]) == (
                "done", "KY-2026-000123")
            assert seen["changes"]["tickets"][ticket]["case_number"] == "KY-2026-000123"
        for lobby in (display, other):
            seen = await event_named(lobby, "service_finished", ticket=ticket)
            assert "outcome" not in seen["data"] and "case_number" not in seen["data"]
            assert "outcome" not in seen["changes"]["tickets"][ticket]
        fresh = await RawClient.hello(url, "console", "CONSOLE-1")
        assert fresh.welcome["snapshot"]["tickets"][ticket]["outcome"] == "done"
        status = await other.query("ticket_status", ticket=ticket)
        assert "KY-2026" not in json.dumps(status)
        await drain(display)
        text = json.dumps([display.welcome, *display.events, other.welcome, *other.events],
                          ensure_ascii=False)
        assert "KY-2026-000123" not in text
        for client in (console, caller, other, display, fresh):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        asyncio.run(scenario(hub.url))


def test_a_keypad_call_next_uses_the_windows_default_outcome(tmp_path: Path) -> None:
    """B03 works with a keypad (no outcome can be typed): its call_next finishes a
    unit ticket with the hall file's default_outcome for B03."""
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        keypad = await RawClient.hello(url, "caller", "C-B03")   # the bridge's credential
        await ok(keypad, "open_window", window="B03")
        ticket = await serve_one(console, keypad, "B03", "tax")
        await ok(console, "issue_ticket", queue="quick_b", zone="B")
        called = await ok(keypad, "call_next", window="B03")      # no outcome: a keypad
        assert [e["name"] for e in called["events"]] == ["service_finished", "ticket_called"]
        seen = await event_named(console, "service_finished", ticket=ticket)
        assert (seen["data"]["outcome"], seen["data"]["implicit"]) == ("consult_only", True)
        for client in (console, keypad):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        asyncio.run(scenario(hub.url))


async def rated_badly(url: str) -> tuple[str, RawClient, RawClient, RawClient]:
    """A quick_b ticket served at B01 by clerk-017 and rated 1 at its evaluator: the
    case it opened, the console, the caller and a display (all connected before)."""
    console = await RawClient.hello(url, "console", "CONSOLE-1")
    caller = await RawClient.hello(url, "caller", "C-B01")
    display = await RawClient.hello(url, "display", "D-B")
    rater = await RawClient.hello(url, "evaluator", "E-B01")
    await ok(caller, "sign_in", window="B01", clerk="clerk-017", pin="1701")
    await ok(caller, "open_window", window="B01")
    ticket = await serve_one(console, caller, "B01", "quick_b")
    await ok(caller, "finish_service", window="B01")
    rated = await ok(rater, "evaluate", ticket=ticket, level=1, reason="态度不好")
    assert [e["name"] for e in rated["events"]] == ["ticket_evaluated", "case_opened"]
    opened = await event_named(console, "case_opened", ticket=ticket)
    case = opened["data"]["case"]
    view = opened["changes"]["cases"][case]
    assert (view["window"], view["clerk"], view["level"], view["reason"], view["state"]) == (
        "B01", "clerk-017", 1, "态度不好", "open")
    await rater.close()
    return case, console, caller, display


def test_a_bad_rating_opens_a_case_the_console_follows_to_closure(tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        case, console, caller, display = await rated_badly(url)
        other = await RawClient.hello(url, "console", "CONSOLE-2", staff="staff-002")
        assert other.welcome["snapshot"]["cases"][case]["state"] == "open"
        refused = await console.command("update_case", case=case, step="closed")
        assert refused["error"]["code"] == "case_step_out_of_order"
        refused = await console.command("update_case", case="C-20261123-999", step="contacted")
        assert refused["error"]["code"] == "unknown_case"
        refused = await caller.command("update_case", case=case, step="contacted")
        assert refused["error"]["code"] == "forbidden"            # the console's alone
        await ok(console, "update_case", case=case, step="contacted", note="电话回访，已致歉")
        seen = await event_named(other, "case_updated", case=case, step="contacted")
        assert seen["data"]["by"] == "staff-001"                  # the hub says who
        assert seen["changes"]["cases"][case]["state"] == "contacted"
        await ok(other, "update_case", case=case, step="closed")
        closed = await event_named(console, "case_updated", case=case, step="closed")
        steps = closed["changes"]["cases"][case]["steps"]
        assert [(s["step"], s["by"]) for s in steps] == [("contacted", "staff-001"),
                                                         ("closed", "staff-002")]
        assert steps[0]["note"] == "电话回访，已致歉"
        fresh = await RawClient.hello(url, "console", "CONSOLE-1")
        assert fresh.welcome["snapshot"]["cases"][case]["state"] == "closed"
        await drain(display)
        await drain(caller)
        for lobby in (display, caller):      # the window's own caller sees no case either
            frames = [f for f in lobby.events if f["name"].startswith("case_")]
            assert len(frames) == 3
            assert all(set(f["data"]) == {"at"} and f["changes"] == {} for f in frames)
            assert "cases" not in lobby.welcome["snapshot"]
            assert "电话回访" not in json.dumps(lobby.events, ensure_ascii=False)
        for client in (console, caller, display, other, fresh):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as hub:
        asyncio.run(scenario(hub.url))


def test_an_open_case_survives_restarts_and_the_next_day_and_alerts_when_overdue(
        tmp_path: Path) -> None:
    """Opened on Monday; the hub restarts on Wednesday, past the contact deadline
    (Tuesday 17:00): the day opens with the case, the hub's clock raises case_overdue,
    and a second restart the same day rebuilds both from today's events."""
    db = f"sqlite:///{tmp_path / 'hall.db'}"

    async def monday(url: str) -> str:
        case, *clients = await rated_badly(url)
        for client in clients:
            await client.close()
        return case

    async def wednesday(url: str, case: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        assert console.welcome["snapshot"]["day"] == "2026-11-23"   # not rolled over yet
        await ok(console, "notice", text="今日正常办公")                # opens Wednesday
        opened = await event_named(console, "day_opened")
        assert opened["data"]["day"] == "2026-11-25" and opened["changes"]["reset"]
        assert opened["changes"]["cases"][case]["state"] == "open"
        raised = await event_named(console, "alert_raised", timeout=15, id=f"case_overdue:{case}")
        assert raised["data"]["level"] == "critical"
        await console.close()

    async def after_restart(url: str, case: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        snap = console.welcome["snapshot"]
        assert snap["day"] == "2026-11-25" and snap["cases"][case]["state"] == "open"
        assert f"case_overdue:{case}" in snap["alerts"]
        await ok(console, "update_case", case=case, step="contacted")
        await console.close()

    with HubProcess(db) as hub:
        case = asyncio.run(monday(hub.url))
    with HubProcess(db, start_at="2026-11-25 09:30") as hub:
        asyncio.run(wednesday(hub.url, case))
    with HubProcess(db, start_at="2026-11-25 09:40") as hub:
        asyncio.run(after_restart(hub.url, case))
