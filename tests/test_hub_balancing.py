"""Live balancing through a real hub (`onewindow serve --balance-every 1`): the hub
suggests lending a window with slack to a long line, a console applies it and the
next ticket of that line goes to the lent window; in an automatic zone the hub moves
the window itself, and the store's audit trail says so."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from hub_process import HubProcess, RawClient, event_named

BALANCE = ["--balance-every", "1"]


async def police_runs_long(url: str) -> tuple[RawClient, RawClient, RawClient]:
    """B19 (tax) open and idle, B27 (police) serving with two police tickets waiting:
    the police line takes 20 of its 30 minutes to clear, B19 has nothing to do."""
    console = await RawClient.hello(url, "console", "CONSOLE-1")
    kiosk = await RawClient.hello(url, "kiosk", "K-B1")
    b19 = await RawClient.hello(url, "caller", "C-B19")
    b27 = await RawClient.hello(url, "caller", "C-B27")
    for window in ("B19", "B27"):
        assert (await console.command("open_window", window=window))["ok"]
    for _ in range(3):
        assert (await kiosk.command("issue_ticket", queue="police"))["ok"]
    assert (await b27.command("call_next", window="B27"))["ok"]
    await kiosk.close()
    return console, b19, b27


def test_a_suggested_move_applied_at_the_console_sends_the_next_ticket_there(
        tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        console, b19, b27 = await police_runs_long(url)
        idle = await b19.command("call_next", window="B19")
        assert idle["error"]["code"] == "queue_empty"      # police is not B19's work
        posted = await event_named(console, "suggestions_posted")
        [suggestion] = posted["data"]["suggestions"]
        assert suggestion["window"] == "B19" and suggestion["kind"] == "lend"
        assert "police" in suggestion["main"] and suggestion["from_main"] == ["tax"]
        assert "公安交警" in suggestion["reason"]
        assert console.welcome["snapshot"]["balancing"]["B"]["automatic"] is False
        predicted = await event_named(console, "suggestion_predicted", id=suggestion["id"],
                                      timeout=30.0)
        effect = predicted["changes"]["suggestions"][suggestion["id"]]["predicted"]
        assert effect["queues"]["police"]["after"] < effect["queues"]["police"]["before"]
        assert effect["mean_after"] < effect["mean_before"] and effect["runs"] >= 1
        applied = await console.command("apply_suggestion", id=suggestion["id"])
        assert applied["ok"], applied
        assert [e["name"] for e in applied["result"]["events"]] == ["profile_changed"]
        moved = await event_named(console, "profile_changed", window="B19")
        assert (moved["data"]["by"], moved["data"]["suggestion"]) == ("staff-001",
                                                                     suggestion["id"])
        assert moved["data"]["automatic"] is False and moved["data"]["reason"]
        called = await b19.command("call_next", window="B19")
        assert called["result"]["ticket"]["queue"] == "police"
        again = await console.command("apply_suggestion", id=suggestion["id"])
        assert again["error"]["code"] == "stale_suggestion"
        for client in (console, b19, b27):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", extra=BALANCE) as hub:
        asyncio.run(scenario(hub.url))


def test_an_automatic_zone_is_balanced_by_the_hub_and_audited(tmp_path: Path) -> None:
    async def scenario(url: str) -> dict[str, Any]:
        console, b19, b27 = await police_runs_long(url)
        display = await RawClient.hello(url, "display", "D-B")
        switched = await console.command("set_balancing", zone="B", automatic=True)
        assert switched["ok"], switched
        assert (await event_named(console, "balancing_set"))["data"]["by"] == "staff-001"
        moved = await event_named(console, "profile_changed", window="B19")
        assert (moved["data"]["by"], moved["data"]["automatic"]) == ("hub", True)
        assert "police" in moved["data"]["main"] and moved["data"]["reason"]
        called = await b19.command("call_next", window="B19")
        assert called["result"]["ticket"]["queue"] == "police"
        seen = await event_named(display, "profile_changed", window="B19")
        assert "by" not in seen["data"] and "reason" not in seen["data"]   # the lobby's view
        for client in (console, b19, b27, display):
            await client.close()
        return moved["data"]

    db = tmp_path / "hall.db"
    with HubProcess(f"sqlite:///{db}", extra=BALANCE) as hub:
        asyncio.run(scenario(hub.url))
    with sqlite3.connect(db) as conn:
        actors = dict(conn.execute("SELECT name, actor FROM events WHERE name IN "
                                   "('profile_changed', 'balancing_set')"))
    assert actors == {"profile_changed": "hub", "balancing_set": "staff-001"}


def test_only_the_hub_suggests_and_only_the_hub_says_who(tmp_path: Path) -> None:
    async def scenario(url: str) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        caller = await RawClient.hello(url, "caller", "C-B19")
        posted = await console.command("post_suggestions", suggestions=[])
        assert posted["error"]["code"] == "forbidden"
        predicted = await console.command("predict_suggestion", id="S-0001", predicted={})
        assert predicted["error"]["code"] == "forbidden"
        forged = await console.command("set_balancing", zone="B", automatic=True, by="hub")
        assert (forged["error"]["code"], forged["error"]["field"]) == ("bad_argument", "by")
        stale = await console.command("apply_suggestion", id="S-0042")
        assert stale["error"]["code"] == "stale_suggestion"
        refused = await caller.command("set_balancing", zone="B", automatic=True)
        assert refused["error"]["code"] == "forbidden"
        unknown = await console.command("set_balancing", zone="Z", automatic=True)
        assert (unknown["error"]["code"], unknown["error"]["field"]) == ("bad_argument",
                                                                        "zone")
        for client in (console, caller):
            await client.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", extra=BALANCE) as hub:
        asyncio.run(scenario(hub.url))


def test_the_prediction_worker_leaves_with_a_hub_killed_with_minus_9(tmp_path: Path) -> None:
    """A hub killed with -9 cannot shut its prediction pool down: the worker notices
    its parent is gone and exits, so no process is left behind."""
    import time

    hub = HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", extra=BALANCE).start()

    async def scenario() -> None:
        console, *_ = await police_runs_long(hub.url)
        await event_named(console, "suggestion_predicted", timeout=30.0)

    def children(pid: int) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.name.isdigit() and int(stat[1]) == pid and _alive(int(entry.name)):
                found.append(int(entry.name))
        return found

    try:
        asyncio.run(scenario())
        assert hub.proc is not None
        workers = children(hub.proc.pid)
        assert workers, "the prediction worker runs as the hub's child"
    finally:
        hub.kill()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers):
        assert time.monotonic() < deadline, f"{workers} outlived the hub"
        time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
