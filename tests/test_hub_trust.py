"""Who may see and do what, from real clients against a real `onewindow serve`, all
over wss:// with a hall CA and hub certificate made for the test.

Lobby devices see no clerk, rating, reason or appointment code; a rating comes only
from the window's evaluator; a clerk or a dispatcher is who the hub checked by PIN,
and the store records that person as the actor of what they do; a reused command id
with other arguments is refused; snapshots follow what is live, not the day's count.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import Certs, make_certs
from hub_process import SAMPLE_PINS, HubProcess, RawClient

from dispatcher.core.events import EVENTS
from dispatcher.hub.privacy import PUBLIC_EVENT_FIELDS

SECRETS = ("clerk-017", "王芳", "YY-0042", "等太久了", "取错号了")
TRUST: dict[str, ssl.SSLContext] = {}   # the hall CA the clients check the hub against


@pytest.fixture(scope="module", autouse=True)
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certs]:
    """Everything here runs over wss://, with a certificate made for the test."""
    made = make_certs(tmp_path_factory.mktemp("certs"))
    TRUST["ca"] = ssl.create_default_context(cafile=str(made.ca))
    yield made
    TRUST.clear()


def tls_hub(folder: Path, certs: Certs, *extra: str) -> HubProcess:
    return HubProcess(f"sqlite:///{folder / 'hall.db'}", tls=(certs.cert, certs.key),
                      extra=list(extra))


async def hello(url: str, role: str, device: str, **options: Any) -> RawClient:
    assert url.startswith("wss://"), url
    return await RawClient.hello(url, role, device, ssl=TRUST["ca"], **options)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def settle(*clients: RawClient, quiet: float = 0.3) -> None:
    """Read every frame already on its way to these clients."""
    for client in clients:
        try:
            while True:
                await client.recv(quiet)
        except TimeoutError:
            pass


def frames_text(client: RawClient) -> str:
    return json.dumps([client.welcome, *client.events], ensure_ascii=False)


async def clerk_signs_in(caller: RawClient, window: str, clerk: str = "clerk-017"
                         ) -> dict[str, Any]:
    return await caller.command("sign_in", window=window, clerk=clerk,
                                pin=SAMPLE_PINS[clerk])


async def a_day_with_secrets(url: str) -> dict[str, RawClient]:
    """A ticket's whole life with a clerk, an appointment, a low rating and its reason,
    and a cancel with its reason, while a display, a kiosk and two callers watch."""
    c = {"display": await hello(url, "display", "D-B"),
         "kiosk": await hello(url, "kiosk", "K-B1"),
         "led": await hello(url, "led", "LED-1"),
         "b03": await hello(url, "caller", "C-B03"),
         "b04": await hello(url, "caller", "C-B04"),
         "rater": await hello(url, "evaluator", "E-B03"),
         "console": await hello(url, "console", "CONSOLE-1")}
    now = c["console"].welcome["server_time"]
    booked = await c["console"].command("book_appointment", code="YY-0042", queue="quick_b",
                                        slot_start=now - 600, slot_end=now + 1200)
    assert booked["ok"], booked
    assert (await clerk_signs_in(c["b03"], "B03"))["ok"]
    assert (await c["b03"].command("open_window", window="B03"))["ok"]
    checked = await c["kiosk"].command("check_in", code="YY-0042")
    assert checked["ok"], checked
    ticket = checked["result"]["ticket"]["id"]
    for step in ("call_next", "start_service", "finish_service"):
        assert (await c["b03"].command(step, window="B03"))["ok"], step
    rated = await c["rater"].command("evaluate", ticket=ticket, level=1, reason="等太久了")
    assert rated["ok"], rated
    spare = (await c["kiosk"].command("issue_ticket", queue="quick_b"))["result"]["ticket"]
    cancelled = await c["console"].command("cancel", ticket=spare["id"], reason="取错号了")
    assert cancelled["ok"], cancelled
    await settle(*c.values())
    return c


def test_lobby_devices_never_see_a_clerk_a_rating_or_an_appointment_code(
        tmp_path: Path, certs: Certs) -> None:
    async def scenario(url: str) -> None:
        c = await a_day_with_secrets(url)
        console = frames_text(c["console"])
        assert all(secret in console for secret in SECRETS if secret != "王芳")
        assert "clerk-017" in frames_text(c["b03"]) and "等太久了" in frames_text(c["b03"])
        for lobby in ("display", "kiosk", "led"):
            text = frames_text(c[lobby])
            assert [s for s in SECRETS if s in text] == [], lobby
            names = [f["name"] for f in c[lobby].events]
            assert "ticket_evaluated" in names and "appointment_checked_in" in names
        assert [s for s in SECRETS[:4] if s in frames_text(c["b04"])] == []
        late = await hello(url, "display", "D-B")      # a fresh snapshot too
        assert [s for s in SECRETS if s in frames_text(late)] == []
        assert "tickets" not in late.welcome["snapshot"]
        seen = (await c["kiosk"].query("window_status", window="B03"))["result"]
        assert seen["windows"]["B03"]["clerk"] is None

    with tls_hub(tmp_path, certs) as hub:
        run(scenario(hub.url))


def test_the_store_records_the_person_the_hub_signed_in_never_a_name_sent(
        tmp_path: Path, certs: Certs) -> None:
    async def scenario(url: str) -> None:
        caller = await hello(url, "caller", "C-B03")
        kiosk = await hello(url, "kiosk", "K-B1")
        console = await hello(url, "console", "CONSOLE-1")
        assert (await clerk_signs_in(caller, "B03"))["result"]["person"]["name"] == "王芳"
        await caller.command("open_window", window="B03")
        await kiosk.command("issue_ticket", queue="quick_b")
        await caller.send({"type": "command", "id": "c1", "name": "call_next",
                           "args": {"window": "B03"}, "actor": "clerk-999"})
        assert (await caller.reply_to("c1"))["ok"]
        assert (await console.command("notice", text="午休时间 12:00", zone="B"))["ok"]

    db = tmp_path / "hall.db"
    with tls_hub(tmp_path, certs) as hub:
        run(scenario(hub.url))
    with sqlite3.connect(db) as conn:
        actors = dict(conn.execute("select name, actor from events where name in "
                                   "('ticket_called', 'notice_posted', 'ticket_issued',"
                                   " 'clerk_signed_in')"))
    assert actors == {"clerk_signed_in": "clerk-017", "ticket_called": "clerk-017",
                      "notice_posted": "staff-001", "ticket_issued": None}
    with sqlite3.connect(db) as conn:
        stored = [json.loads(data) for (data,) in conn.execute("select data from events")]
    signed = [d for d in stored if d["name"] == "clerk_signed_in"]
    assert signed and all("pin" not in d for d in stored)           # no PIN stored


def test_a_rating_comes_only_from_the_windows_evaluator(tmp_path: Path, certs: Certs) -> None:
    async def scenario(url: str) -> None:
        caller = await hello(url, "caller", "C-B03")
        kiosk = await hello(url, "kiosk", "K-B1")
        await caller.command("open_window", window="B03")
        ticket = (await kiosk.command("issue_ticket", queue="quick_b"))["result"]["ticket"]
        for step in ("call_next", "start_service", "finish_service"):
            assert (await caller.command(step, window="B03"))["ok"]
        by_clerk = await caller.command("evaluate", ticket=ticket["id"], level=5)
        assert by_clerk["error"]["code"] == "forbidden", by_clerk
        console = await hello(url, "console", "CONSOLE-1")
        by_staff = await console.command("evaluate", ticket=ticket["id"], level=5)
        assert by_staff["error"]["code"] == "forbidden", by_staff
        other = await hello(url, "evaluator", "E-B02")
        assert (await other.command("evaluate", ticket=ticket["id"], level=5)
                )["error"]["code"] == "forbidden"
        rater = await hello(url, "evaluator", "E-B03")
        rated = await rater.command("evaluate", ticket=ticket["id"], level=4)
        assert rated["ok"] and rated["result"]["ticket"]["rating"] == 4

    with tls_hub(tmp_path, certs) as hub:
        run(scenario(hub.url))


def test_sign_in_needs_the_right_pin_and_backs_off(tmp_path: Path, certs: Certs) -> None:
    async def status(client: RawClient) -> Any:
        return (await client.query("window_status", window="B03"))["result"]["windows"][
            "B03"]["clerk"]

    async def scenario(url: str) -> None:
        caller = await hello(url, "caller", "C-B03")
        no_pin = await caller.command("sign_in", window="B03", clerk="clerk-017")
        assert no_pin["error"]["code"] == "bad_argument" and no_pin["error"]["field"] == "pin"
        for pin in ("0000", "1702"):
            wrong = await caller.command("sign_in", window="B03", clerk="clerk-017", pin=pin)
            assert wrong["error"]["code"] == "wrong_pin", wrong
        unknown = await caller.command("sign_in", window="B03", clerk="clerk-404", pin="1")
        assert unknown["error"] == {**wrong["error"]}            # says nothing of who exists
        assert await status(caller) is None
        locked = await caller.command("sign_in", window="B03", clerk="clerk-017", pin="0001")
        assert locked["error"]["code"] == "wrong_pin"            # the third: now locked
        again = await clerk_signs_in(caller, "B03")              # even the right PIN waits
        assert again["error"]["code"] == "sign_in_locked" and again["error"]["retry_after"] > 0
        await asyncio.sleep(again["error"]["retry_after"] + 0.1)
        assert (await clerk_signs_in(caller, "B03"))["ok"]
        assert await status(caller) == "clerk-017"
        await asyncio.sleep(1.5)       # a sign-in costs the rate limit as much as scrypt does
        other = await clerk_signs_in(caller, "B04", "clerk-018")
        assert other["error"]["code"] == "forbidden"             # not this caller's window
        staff = await caller.command("sign_in", window="B03", clerk="staff-001", pin="9001")
        assert staff["error"]["code"] == "wrong_pin"             # staff are not clerks

    with tls_hub(tmp_path, certs) as hub:
        run(scenario(hub.url))


def test_a_console_acts_only_while_a_dispatcher_is_signed_in(tmp_path: Path, certs: Certs) -> None:
    async def scenario(url: str) -> None:
        console = await hello(url, "console", "CONSOLE-1", staff=None)
        assert console.welcome["staff"] is None
        refused = await console.command("open_window", window="B03")
        assert refused["error"]["code"] == "not_signed_in"
        wrong = await console.command("staff_sign_in", staff="staff-001", pin="1234")
        assert wrong["error"]["code"] == "wrong_pin"
        clerk = await console.command("staff_sign_in", staff="clerk-017", pin="1701")
        assert clerk["error"]["code"] == "wrong_pin"             # a clerk is not staff
        signed = await console.command("staff_sign_in", staff="staff-002", pin="9002")
        assert signed["result"]["person"] == {"id": "staff-002", "name": "陈静"}
        session = signed["result"]["session"]
        assert len(session) >= 32
        assert (await console.command("open_window", window="B03"))["ok"]
        await console.close()
        back = await hello(url, "console", "CONSOLE-1", staff=None)
        assert back.welcome["staff"] is None                     # no session given
        assert (await back.command("close_window", window="B03"))["error"]["code"] == \
            "not_signed_in"
        await back.close()
        again = await hello_with_session(url, session)
        assert again.welcome["staff"] == {"id": "staff-002", "name": "陈静"}
        assert (await again.command("close_window", window="B03"))["ok"]
        assert (await again.command("staff_sign_out"))["ok"]
        assert (await again.command("open_window", window="B03"))["error"]["code"] == \
            "not_signed_in"
        kiosk = await hello(url, "kiosk", "K-B1")
        assert (await kiosk.command("staff_sign_in", staff="staff-001", pin="9001")
                )["error"]["code"] == "forbidden"

    with tls_hub(tmp_path, certs) as hub:
        run(scenario(hub.url))


async def hello_with_session(url: str, session: str) -> RawClient:
    from websockets.asyncio.client import connect

    client = RawClient(await connect(url, ssl=TRUST["ca"]))
    await client.send({"type": "hello", "role": "console", "device": "CONSOLE-1",
                       "token": "sample-CONSOLE-1", "session": session})
    client.welcome = await client.recv()
    return client


def test_a_reused_command_id_with_other_arguments_is_id_conflict(tmp_path: Path,
                                                                certs: Certs) -> None:
    async def first(url: str) -> None:
        caller = await hello(url, "caller", "C-B03")
        assert (await caller.command("open_window", "w-1", window="B03"))["ok"]
        same = await caller.command("open_window", "w-1", window="B03")
        assert same["ok"]                                        # a retry: the first reply
        other = await caller.command("close_window", "w-1", window="B03")
        assert other["error"]["code"] == "id_conflict", other
        assert (await caller.command("open_window", "w-1", window="B04"))["error"][
            "code"] in ("id_conflict",)
        await caller.close()

    async def after_restart(url: str) -> None:
        caller = await hello(url, "caller", "C-B03")
        assert (await caller.command("open_window", "w-1", window="B03"))["ok"]
        other = await caller.command("close_window", "w-1", window="B03")
        assert other["error"]["code"] == "id_conflict", other
        window = (await caller.query("window_status", window="B03"))["result"]["windows"]
        assert window["B03"]["state"] == "idle"
        await caller.close()

    with tls_hub(tmp_path, certs) as hub:
        run(first(hub.url))
        hub.kill()
    with tls_hub(tmp_path, certs) as again:                # the same store, restarted
        run(after_restart(again.url))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_numbers_are_bad_json(tmp_path: Path, certs: Certs,
                                                constant: str) -> None:
    async def scenario(url: str) -> None:
        kiosk = await hello(url, "kiosk", "K-B1")
        await kiosk.send('{"type":"command","id":"n1","name":"issue_ticket",'
                         f'"args":{{"queue":"quick_b","x":{constant}}}}}')
        got = await kiosk.reply_to("n1")
        assert got["ok"] is False and got["error"]["code"] == "bad_json", got
        assert constant in got["error"]["message"]

    with tls_hub(tmp_path, certs) as hub:
        run(scenario(hub.url))


def test_snapshots_follow_what_is_live_not_the_days_count(tmp_path: Path, certs: Certs) -> None:
    async def scenario(url: str) -> tuple[int, int, dict[str, dict[str, Any]]]:
        kiosk = await hello(url, "kiosk", "K-B1")
        caller = await hello(url, "caller", "C-B03")
        display = await hello(url, "display", "D-B")
        await caller.command("open_window", window="B03")
        small = len(json.dumps(display.welcome))
        for _ in range(120):
            assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        for _ in range(60):
            assert (await caller.command("call_next", window="B03"))["ok"]
        await caller.command("finish_service", window="B03")
        late_display = await hello(url, "display", "D-B")
        own = await hello(url, "caller", "C-B03")
        other = await hello(url, "caller", "C-B04")
        return (small, len(json.dumps(late_display.welcome)),
                {"own": own.welcome["snapshot"], "other": other.welcome["snapshot"]})

    with tls_hub(tmp_path, certs, "--rate-limit", "0") as hub:
        small, big, snaps = run(scenario(hub.url))
    assert big < small + 3_000         # the last 20 calls and the counts; no ticket listed
    own = [t["state"] for t in snaps["own"]["tickets"].values()]
    # the head of the line (50 of the 60 waiting; the count is whole) and B03's last 20
    assert own.count("waiting") == 50 and own.count("done") == 20 and len(own) == 70
    assert snaps["own"]["waiting"]["quick_b"] == 60
    other = snaps["other"]["tickets"].values()
    assert [t["state"] for t in other] == ["waiting"] * 50
    assert all("clerk" not in t for t in other)     # C-B04 sees B03's tickets as the lobby


def test_a_listening_device_cannot_fill_the_device_list(tmp_path: Path,
                                                        certs: Certs) -> None:
    async def scenario(url: str) -> list[str]:
        led = await hello(url, "led", "LED-1")
        codes = []
        for i in range(20):
            reply = await led.command("report_device", device=f"LED-1/strip-{i}",
                                      status="offline")
            codes.append("ok" if reply["ok"] else reply["error"]["code"])
            await asyncio.sleep(0.05)
        console = await hello(url, "console", "CONSOLE-1")
        parts = [d for d in console.welcome["snapshot"]["devices"] if d.startswith("LED-1/")]
        assert len(parts) == 16
        return codes

    with tls_hub(tmp_path, certs) as hub:
        assert run(scenario(hub.url)) == ["ok"] * 16 + ["forbidden"] * 4


def test_every_event_names_what_the_lobby_may_see() -> None:
    assert set(PUBLIC_EVENT_FIELDS) == set(EVENTS)
    for name, fields in PUBLIC_EVENT_FIELDS.items():
        assert not fields & {"clerk", "code", "reason", "level", "detail"} or (
            name == "window_paused"), name
