"""Roles and tokens: who may say hello as what, and what each role may do.

One real `onewindow serve` subprocess for the module (the sample hall and its sample
devices, whose tokens are "sample-" + the device id). Every refusal is checked twice:
the exact error code, and that nothing changed (the seq in /healthz is the same).
Then the devices file's own errors, through `load_devices` and through
`onewindow serve --devices`, and `onewindow token`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hub_process import ROOT, HubProcess, RawClient, live_hub
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatcher.core.commands import COMMANDS
from dispatcher.hall import SAMPLE_HALL, HallConfigError, load_hall
from dispatcher.hub.devices import load_devices
from dispatcher.protocol import CLOSE_POLICY, PROTOCOL_ERRORS

TIMEOUT = 5.0
DAY = "20261123"


# ------------------------------------------------------------------ the live hall


async def hello(url: str, role: str, device: str, token: str | None = None) -> RawClient:
    """RawClient.hello with no limit on frames queued unread, so an idle client never
    stops reading (and can always be closed at once)."""
    return await RawClient.hello(url, role, device, token=token, max_queue=None)


class LiveHall:
    def __init__(self, hub: HubProcess) -> None:
        self.hub, self.url = hub, hub.url
        self.loop = asyncio.new_event_loop()
        self.stderr = hub.log_lines
        self.clients: list[RawClient] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def connect(self, role: str, device: str) -> RawClient:
        client = self.run(hello(self.url, role, device))
        assert client.welcome["type"] == "welcome", client.welcome
        self.clients.append(client)
        return client

    def health(self) -> dict[str, Any]:
        return self.hub.health(TIMEOUT)

    @property
    def seq(self) -> int:
        return self.health()["seq"]

    def ok(self, client: RawClient, name: str, /, **args: Any) -> dict[str, Any]:
        reply = self.run(client.command(name, **args))
        assert reply["ok"] is True, (client.welcome["device"], name, args, reply)
        return reply["result"]

    def refused(self, client: RawClient, name: str, expect: str, /, **args: Any
                ) -> dict[str, Any]:
        """The command is refused with the code ``expect`` and nothing changed."""
        seq = self.seq
        reply = self.run(client.command(name, **args))
        assert reply["ok"] is False, (client.welcome["device"], name, args, reply)
        assert reply["error"]["code"] == expect, (client.welcome["device"], name, args, reply)
        assert self.seq == seq, f"{name} was refused but the seq moved"
        return reply["error"]

    def close(self) -> None:
        async def goodbye() -> None:
            await asyncio.gather(*(asyncio.wait_for(c.close(), 2) for c in self.clients),
                                 return_exceptions=True)

        try:
            self.run(goodbye())
        finally:
            self.loop.close()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory):
    with live_hub(tmp_path_factory.mktemp("hub_roles"), LiveHall) as live:
        yield live


@pytest.fixture(scope="module")
def console(hall: LiveHall) -> RawClient:
    return hall.connect("console", "CONSOLE-1")


@pytest.fixture(scope="module")
def kiosk(hall: LiveHall) -> RawClient:
    return hall.connect("kiosk", "K-B1")


@pytest.fixture(scope="module")
def caller(hall: LiveHall) -> RawClient:
    return hall.connect("caller", "C-B03")


def issue(hall: LiveHall, kiosk: RawClient, queue: str = "quick_b") -> dict[str, Any]:
    return hall.ok(kiosk, "issue_ticket", queue=queue)["ticket"]


def ensure_open(hall: LiveHall, console: RawClient, window: str) -> None:
    """Open the window unless an earlier test did (each test also runs alone)."""
    status = hall.run(console.query("window_status", window=window))
    if status["result"]["windows"][window]["state"] == "closed":
        hall.ok(console, "open_window", window=window)


# ------------------------------------------------------------------------ hello


@pytest.mark.parametrize(("role", "device", "token", "code"), [
    ("kiosk", "K-Z9", "sample-K-Z9", "bad_credentials"),            # no such device
    ("console", "", "x", "bad_message"),
    ("caller", "C-B03", "sample-C-B04", "bad_credentials"),         # another's token
    ("caller", "C-B03", "guess", "bad_credentials"),
    ("kiosk", "K-B1", "sample-CONSOLE-1", "bad_credentials"),
    ("caller", "K-B1", "sample-K-B1", "bad_credentials"),           # the wrong role
    ("console", "D-B", "sample-D-B", "bad_credentials"),
    ("display", "LED-1", "sample-LED-1", "bad_credentials"),
], ids=["unknown_device", "empty_device", "another_callers_token", "wrong_token",
        "console_token_on_a_kiosk", "kiosk_as_caller", "display_as_console", "led_as_display"])
def test_a_refused_hello_gets_an_error_frame_and_close_1008(
        hall: LiveHall, role: str, device: str, token: str, code: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int | None]:
        client = RawClient(await connect(hall.url))
        await client.send({"type": "hello", "role": role, "device": device, "token": token})
        frames = []
        with contextlib.suppress(ConnectionClosed):
            while True:
                frames.append(await client.recv(TIMEOUT))
        return frames, client.ws.close_code

    before = hall.health()
    frames, close_code = hall.run(scenario())
    assert close_code == CLOSE_POLICY
    assert len(frames) == 1 and frames[0]["type"] == "error", frames
    assert frames[0]["error"]["code"] == code
    if code == "bad_credentials":   # the same words whatever failed: no hint which
        assert frames[0]["error"] == {"code": code, "message": PROTOCOL_ERRORS[code]}
    assert token not in json.dumps(frames)  # a refusal never echoes the secret
    after = hall.health()
    assert (after["seq"], after["clients"]) == (before["seq"], before["clients"])
    hall.connect("led", "LED-1")   # a welcome: this address's next refusal is not held back


def test_the_right_token_and_role_are_welcomed(hall: LiveHall) -> None:
    client = hall.connect("led", "LED-1")
    assert client.welcome["role"] == "led" and client.welcome["device"] == "LED-1"
    assert client.welcome["resync"] == "snapshot" and "tickets" not in client.welcome["snapshot"]


# ------------------------------------------------------------------------ kiosk


def test_a_kiosk_issues_for_its_zone_with_its_zone_filled_in(hall: LiveHall,
                                                             kiosk: RawClient) -> None:
    ticket = issue(hall, kiosk, "quick_b")
    assert ticket["queue"] == "quick_b" and ticket["number"].startswith("B")
    assert hall.ok(kiosk, "issue_ticket", queue="tax")["ticket"]["queue"] == "tax"  # A and B
    assert hall.ok(kiosk, "issue_ticket", queue="quick_b", zone="B")["ticket"]["queue"] \
        == "quick_b"
    # no zone given, yet the core checked zone B: the hub filled in the kiosk's zone
    error = hall.refused(kiosk, "issue_ticket", "not_authorized", queue="quick_a")
    assert (error["queue"], error["zone"]) == ("quick_a", "B")


def test_a_kiosk_may_not_issue_for_another_zone_or_after_hours(hall: LiveHall,
                                                               kiosk: RawClient) -> None:
    hall.refused(kiosk, "issue_ticket", "forbidden", queue="quick_b", zone="A")
    hall.refused(kiosk, "issue_ticket", "forbidden", queue="quick_a", zone="A")
    hall.refused(kiosk, "issue_ticket", "forbidden", queue="quick_b", after_hours=True)
    hall.refused(kiosk, "check_in", "forbidden", code="YY-1", zone="A")


def test_a_kiosk_may_not_call_or_run_the_hall(hall: LiveHall, kiosk: RawClient) -> None:
    hall.refused(kiosk, "call_next", "forbidden", window="B03")
    hall.refused(kiosk, "open_window", "forbidden", window="B03")
    hall.refused(kiosk, "set_profile", "forbidden", window="B03", main=["quick_b"])
    hall.refused(kiosk, "close_day", "forbidden")
    hall.refused(kiosk, "notice", "forbidden", text="免费取号")
    hall.refused(kiosk, "report_device", "forbidden", device="K-B2", status="paper_out")
    # what a kiosk may do reaches the core, which has its own say
    hall.refused(kiosk, "check_in", "unknown_appointment", code="YY-404")
    assert hall.ok(kiosk, "report_device", device="K-B1/printer", status="paper_near_end")


# ------------------------------------------------------------------------ caller


def test_a_caller_works_its_own_window(hall: LiveHall, kiosk: RawClient,
                                       caller: RawClient) -> None:
    issue(hall, kiosk)
    assert hall.ok(caller, "open_window", window="B03")["events"][0]["name"] == "window_opened"
    ticket = hall.ok(caller, "call_next", window="B03")["ticket"]
    assert ticket["window"] == "B03" and ticket["state"] == "called"
    hall.ok(caller, "start_service", window="B03")
    done = hall.ok(caller, "finish_service", window="B03")["ticket"]
    assert done["state"] == "done" and done["served_by"] == "B03"
    # 好差评 is the citizen's: the clerk's own panel may not rate (the evaluator does)
    hall.refused(caller, "evaluate", "forbidden", ticket=ticket["id"], level=5)


def test_a_caller_may_not_work_another_window(hall: LiveHall, caller: RawClient) -> None:
    for name, args in [("open_window", {}), ("call_next", {}), ("close_window", {}),
                       ("pause", {"reason": "lunch"}), ("resume", {}), ("recall", {}),
                       ("call_ticket", {"ticket": f"{DAY}-B001"}), ("hold", {}),
                       ("call_back", {}), ("sign_in", {"clerk": "clerk-017"})]:
        error = hall.refused(caller, name, "forbidden", window="B04", **args)
        assert "B04" in error["message"]


def test_a_caller_may_not_run_the_hall(hall: LiveHall, caller: RawClient) -> None:
    hall.refused(caller, "set_profile", "forbidden", window="B03", main=["quick_b"])
    hall.refused(caller, "close_day", "forbidden")
    hall.refused(caller, "issue_ticket", "forbidden", queue="quick_b")
    hall.refused(caller, "notice", "forbidden", text="暂停服务")
    hall.refused(caller, "book_appointment", "forbidden", code="YY-1", queue="tax",
                 slot_start=0.0, slot_end=1.0)


def test_a_caller_may_not_touch_a_ticket_another_window_holds_or_served(
        hall: LiveHall, console: RawClient, kiosk: RawClient, caller: RawClient) -> None:
    issue(hall, kiosk)
    ensure_open(hall, console, "B04")
    held = hall.ok(console, "call_next", window="B04")["ticket"]
    assert held["window"] == "B04"
    hall.refused(caller, "transfer", "forbidden", ticket=held["id"], to_queue="tax")
    hall.refused(caller, "transfer", "forbidden", ticket=held["id"], to_window="B03")
    hall.refused(caller, "cancel", "forbidden", ticket=held["id"])
    hall.ok(console, "start_service", window="B04")
    assert hall.ok(console, "finish_service", window="B04")["ticket"]["served_by"] == "B04"
    hall.refused(caller, "evaluate", "forbidden", ticket=held["id"], level=1)
    hall.refused(caller, "requeue", "wrong_state", ticket=held["id"])  # quick_b: B03's queue
    hall.refused(caller, "cancel", "unknown_ticket", ticket=f"{DAY}-B999")


def test_a_caller_transfers_and_cancels_what_it_holds(
        hall: LiveHall, console: RawClient, kiosk: RawClient, caller: RawClient) -> None:
    ensure_open(hall, console, "B03")
    issue(hall, kiosk)
    ticket = hall.ok(caller, "call_next", window="B03")["ticket"]
    moved = hall.ok(caller, "transfer", ticket=ticket["id"], to_queue="tax")["ticket"]
    assert moved["queue"] == "tax" and moved["state"] == "waiting"
    issue(hall, kiosk)
    ticket = hall.ok(caller, "call_next", window="B03")["ticket"]
    assert hall.ok(caller, "cancel", ticket=ticket["id"])["ticket"]["state"] == "cancelled"


def test_a_caller_requeues_a_no_show_only_in_a_queue_its_window_serves(
        hall: LiveHall, console: RawClient, kiosk: RawClient, caller: RawClient) -> None:
    ensure_open(hall, console, "B03")
    issue(hall, kiosk)
    ticket = hall.ok(caller, "call_next", window="B03")["ticket"]
    assert hall.ok(caller, "no_show", window="B03")["ticket"]["state"] == "no_show"
    requeued = hall.ok(caller, "requeue", ticket=ticket["id"])["ticket"]
    assert requeued["state"] == "waiting" and requeued["requeues"] == 1

    marriage = hall.ok(console, "issue_ticket", queue="marriage")["ticket"]  # B24's work
    ensure_open(hall, console, "B24")
    assert hall.ok(console, "call_next", window="B24")["ticket"]["id"] == marriage["id"]
    hall.ok(console, "no_show", window="B24")
    hall.refused(caller, "requeue", "forbidden", ticket=marriage["id"])
    assert hall.ok(console, "requeue", ticket=marriage["id"])["ticket"]["state"] == "waiting"


def test_a_caller_holds_a_ticket_aside_and_calls_it_back_ahead_of_new_work(
        hall: LiveHall, console: RawClient, kiosk: RawClient, caller: RawClient) -> None:
    ensure_open(hall, console, "B03")
    hall.ok(caller, "sign_in", window="B03", clerk="clerk-017", pin="1701")
    issue(hall, kiosk)
    ticket = hall.ok(caller, "call_next", window="B03")["ticket"]
    assert ticket["clerk"] == "clerk-017"
    held = hall.ok(caller, "hold", window="B03")
    assert held["ticket"]["state"] == "held" and held["ticket"]["window"] == "B03"
    status = hall.run(caller.query("window_status", window="B03"))["result"]["windows"]["B03"]
    assert status["state"] == "idle" and status["ticket"] is None
    assert [h["number"] for h in status["held"]] == [ticket["number"]]
    issue(hall, kiosk)                               # new work waits, yet the held one comes
    back = hall.ok(caller, "call_back", window="B03")["ticket"]
    assert back["id"] == ticket["id"] and back["state"] == "called"
    hall.refused(caller, "call_back", "nothing_held", window="B03")
    hall.ok(caller, "finish_service", window="B03")


def test_an_evaluator_only_rates_what_its_window_served(
        hall: LiveHall, console: RawClient, kiosk: RawClient, caller: RawClient) -> None:
    evaluator = hall.connect("evaluator", "E-B03")
    for name, args in VALID_ARGS.items():
        if name != "evaluate":
            hall.refused(evaluator, name, "forbidden", **args)
    ensure_open(hall, console, "B03")
    hall.run(asyncio.sleep(0.6))   # a sign-in costs 10 of the caller's 20 tokens a second
    hall.ok(caller, "sign_in", window="B03", clerk="clerk-018", pin="1802")
    issue(hall, kiosk)
    ticket = hall.ok(caller, "call_next", window="B03")["ticket"]
    hall.ok(caller, "finish_service", window="B03")
    rated = hall.ok(evaluator, "evaluate", ticket=ticket["id"], level=2, reason="等候时间长")
    assert [e["name"] for e in rated["events"]] == ["ticket_evaluated",
                                                    "case_opened"]   # 差评: [cases] of the hall
    assert (rated["ticket"]["rating"], rated["ticket"]["rating_reason"], rated["ticket"]["clerk"]
            ) == (2, "等候时间长", "clerk-018")
    hall.refused(evaluator, "evaluate", "already_evaluated", ticket=ticket["id"], level=5)
    ensure_open(hall, console, "B04")
    issue(hall, kiosk)
    other = hall.ok(console, "call_next", window="B04")["ticket"]
    hall.ok(console, "finish_service", window="B04")
    hall.refused(evaluator, "evaluate", "forbidden", ticket=other["id"], level=5)


# ---------------------------------------------------------------- display and led

VALID_ARGS: dict[str, dict[str, Any]] = {
    "issue_ticket": {"queue": "quick_b"},
    "check_in": {"code": "YY-1"},
    "call_next": {"window": "B03"},
    "call_ticket": {"window": "B03", "ticket": f"{DAY}-B001"},
    "recall": {"window": "B03"},
    "start_service": {"window": "B03"},
    "finish_service": {"window": "B03"},
    "no_show": {"window": "B03"},
    "requeue": {"ticket": f"{DAY}-B001"},
    "transfer": {"ticket": f"{DAY}-B001", "to_queue": "tax"},
    "cancel": {"ticket": f"{DAY}-B001"},
    "pause": {"window": "B03", "reason": "lunch"},
    "resume": {"window": "B03"},
    "open_window": {"window": "B03"},
    "close_window": {"window": "B03"},
    "set_profile": {"window": "B03", "main": ["quick_b"]},
    "evaluate": {"ticket": f"{DAY}-B001", "level": 5},
    "close_day": {},
    "book_appointment": {"code": "YY-1", "queue": "tax", "slot_start": 0.0, "slot_end": 1.0},
    "notice": {"text": "hello"},
    "hold": {"window": "B03"},
    "call_back": {"window": "B03"},
    "sign_in": {"window": "B03", "clerk": "clerk-017"},
    "check_alerts": {},
    "acknowledge_alert": {"id": "printer:K-B1/printer"},
    "post_suggestions": {},
    "predict_suggestion": {"id": "S-0001"},
    "apply_suggestion": {"id": "S-0001"},
    "set_balancing": {"zone": "B", "automatic": True},
    "update_case": {"case": "C-20261123-001", "step": "contacted"},
}


def test_every_command_but_report_device_has_valid_args_here() -> None:
    assert set(VALID_ARGS) == set(COMMANDS) - {"report_device"}


@pytest.mark.parametrize(("role", "device"), [("display", "D-B"), ("led", "LED-1")])
def test_displays_and_leds_may_only_report_themselves(hall: LiveHall, role: str,
                                                      device: str) -> None:
    listener = hall.connect(role, device)
    for name, args in VALID_ARGS.items():
        hall.refused(listener, name, "forbidden", **args)
    hall.run(asyncio.sleep(1.0))   # 30 refusals spent half the burst of 60 tokens
    assert hall.ok(listener, "report_device", device=device, status="ok")["events"]
    assert hall.ok(listener, "report_device", device=f"{device}/B03", status="offline",
                   detail="bus timeout")["events"]
    for other in ("CONSOLE-1", "D-A", "LED-2", f"{device}X", f"{device}0/B03", device[:-1]):
        hall.refused(listener, "report_device", "forbidden", device=other, status="error")


# ------------------------------------------------------------------------ console


def test_the_console_is_not_limited_by_role(hall: LiveHall, console: RawClient) -> None:
    changed = hall.ok(console, "set_profile", window="B05", main=["quick_b"], side=["tax"])
    assert changed["events"][-1]["name"] == "profile_changed"  # after day_opened, if first
    assert hall.ok(console, "issue_ticket", queue="quick_a")["ticket"]["queue"] == "quick_a"
    assert hall.ok(console, "issue_ticket", queue="quick_b", zone="B")["ticket"]["queue"] \
        == "quick_b"
    assert hall.ok(console, "report_device", device="K-B2", status="paper_out")["events"]
    assert hall.ok(console, "notice", text="午休时间12:00-13:00", zone="A")["events"]
    ensure_open(hall, console, "A01")
    assert hall.ok(console, "call_next", window="A01")["ticket"]["window"] == "A01"
    # the core's rules still hold for the console
    hall.refused(console, "set_profile", "queue_unserved", window="B24", main=["tax"])
    hall.refused(console, "issue_ticket", "not_authorized", queue="quick_a", zone="B")


def test_the_console_cannot_close_a_window_a_transferred_ticket_waits_for(
        hall: LiveHall, console: RawClient, kiosk: RawClient) -> None:
    ensure_open(hall, console, "B07")
    ticket = issue(hall, kiosk, "tax")
    moved = hall.ok(console, "transfer", ticket=ticket["id"], to_window="B07")["ticket"]
    assert moved["window"] == "B07" and moved["state"] == "waiting"
    error = hall.refused(console, "close_window", "window_busy", window="B07")
    assert error["window"] == "B07"
    called = hall.ok(console, "call_next", window="B07")["ticket"]
    assert called["id"] == ticket["id"]  # the ticket transferred to it by name comes first


# ------------------------------------------------------------------ devices file

GOOD = """
[[device]]
id = "K-B1"
role = "kiosk"
zone = "B"
token_hash = "{hash}"

[[device]]
id = "C-B03"
role = "caller"
windows = ["B03"]
token_hash = "{hash}"
"""
SALT = bytes.fromhex("00112233445566778899aabbccddeeff")
HASH = f"sha256${SALT.hex()}${hashlib.sha256(SALT + b't').hexdigest()}"


def device(body: str, hash: str = HASH) -> str:
    return textwrap.dedent(body).strip().replace("{hash}", hash) + "\n"


BAD_DEVICES = {
    "duplicate_id": (device(GOOD) + device("""
        [[device]]
        id = "K-B1"
        role = "display"
        token_hash = "{hash}"
        """), "device[2].id", "listed twice"),
    "kiosk_without_zone": (device("""
        [[device]]
        id = "K-B1"
        role = "kiosk"
        token_hash = "{hash}"
        """), "device[0].zone", "a kiosk needs the zone"),
    "unknown_zone": (device("""
        [[device]]
        id = "K-C1"
        role = "kiosk"
        zone = "C"
        token_hash = "{hash}"
        """), "device[0].zone", "no zone 'C'"),
    "unknown_window": (device("""
        [[device]]
        id = "C-B99"
        role = "caller"
        windows = ["B03", "B99"]
        token_hash = "{hash}"
        """), "device[0].windows", "no window 'B99'"),
    "caller_without_windows": (device("""
        [[device]]
        id = "C-B03"
        role = "caller"
        token_hash = "{hash}"
        """), "device[0].windows", "a caller needs"),
    "windows_on_a_display": (device("""
        [[device]]
        id = "D-B"
        role = "display"
        windows = ["B03"]
        token_hash = "{hash}"
        """), "device[0].windows", "only a caller"),
    "bad_hash": (device(GOOD, hash=HASH.upper()), "device[0].token_hash", "pattern"),
    "short_hash": (device(GOOD, hash="sha256$0011$abc123"), "device[0].token_hash",
                   "pattern"),
    "unsalted_hash": (device(GOOD, hash=hashlib.sha256(b"t").hexdigest()),
                      "device[0].token_hash", "pattern"),
    "other_algorithm": (device(GOOD, hash=HASH.replace("sha256$", "md5$")),
                        "device[0].token_hash", "pattern"),
    "old_field": (device(GOOD).replace("token_hash", "token_sha256"), "device[0].token_hash",
                  "Field required"),
    "id_with_a_space": (device(GOOD).replace('"K-B1"', '"K B1"'), "device[0].id", "pattern"),
    "expires_a_time": (device(GOOD).replace('zone = "B"', 'zone = "B"\nexpires = 18:00:00'),
                       "device[0].expires", "expected a TOML date"),
    "expires_a_text": (device(GOOD).replace('zone = "B"', 'zone = "B"\nexpires = "2027-06-30"'),
                       "device[0].expires", "expected a TOML date"),
    "unknown_key": (device("""
        [[device]]
        id = "D-B"
        role = "display"
        colour = "red"
        token_hash = "{hash}"
        """), "device[0].colour", "Extra inputs are not permitted"),
    "unknown_role": (device("""
        [[device]]
        id = "X-1"
        role = "admin"
        token_hash = "{hash}"
        """), "device[0].role", "kiosk"),
    "windows_not_a_list": (device("""
        [[device]]
        id = "C-B03"
        role = "caller"
        windows = "B03"
        token_hash = "{hash}"
        """), "device[0].windows", "list"),
    "no_devices": ("# nothing here\n", "device", "no devices"),
    "bad_toml": ('[[device]]\nid = "K-B1\nrole = "kiosk"\n', "-", "not valid TOML"),
    "top_level_typo": (device(GOOD).replace("[[device]]", "[[Device]]"), "Device",
                       "Extra inputs are not permitted"),
    "range_one_hash_short": (device("""
        [[devices]]
        ids = "K-B1..K-B3"
        role = "kiosk"
        zone = "B"
        token_hashes = ["{hash}", "{hash}"]
        """), "devices[0]", "3 devices in 'K-B1..K-B3' but 2 token_hashes"),
    "range_windows_short": (device("""
        [[devices]]
        ids = "C-B01..C-B03"
        role = "caller"
        windows = "B01..B02"
        token_hashes = ["{hash}", "{hash}", "{hash}"]
        """), "devices[0]", "3 devices but 2 windows"),
    "range_backwards": (device("""
        [[devices]]
        ids = "K-B3..K-B1"
        role = "kiosk"
        zone = "B"
        token_hashes = ["{hash}"]
        """), "devices[0]", "runs backwards"),
    "range_overlaps_an_entry": (device(GOOD) + device("""
        [[devices]]
        ids = "K-B1..K-B2"
        role = "kiosk"
        zone = "B"
        token_hashes = ["{hash}", "{hash}"]
        """), "devices[0](K-B1).id", "listed twice"),
    "range_bad_window": (device("""
        [[devices]]
        ids = "C-B39..C-B41"
        role = "caller"
        windows = "B39..B41"
        token_hashes = ["{hash}", "{hash}", "{hash}"]
        """), "devices[0](C-B41).windows", "no window 'B41'"),
}


@pytest.fixture(scope="module")
def sample_hall():
    return load_hall(SAMPLE_HALL)


def test_the_good_devices_file_loads(tmp_path: Path, sample_hall) -> None:
    path = tmp_path / "devices.toml"
    path.write_text(device(GOOD), encoding="utf-8")
    devices = load_devices(path, sample_hall)
    assert devices["K-B1"].zone == "B" and devices["C-B03"].windows == ("B03",)
    assert devices["K-B1"].token_matches("t") and not devices["K-B1"].token_matches("T")
    assert devices["K-B1"].expires_at is None and not devices["K-B1"].expired(4e9)


@pytest.mark.parametrize(("expires", "local"), [
    ("2027-06-30", "2027-06-30T00:00:00"),           # a date: from 00:00, hall time
    ("2027-06-30T18:30:00", "2027-06-30T18:30:00"),  # a local date-time: hall time
    ("2027-06-30T10:30:00Z", "2027-06-30T18:30:00"),  # an offset: as written
])
def test_a_device_expires_at_the_moment_its_entry_says(tmp_path: Path, sample_hall,
                                                       expires: str, local: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    path = tmp_path / "devices.toml"
    path.write_text(device(GOOD).replace('zone = "B"', f'zone = "B"\nexpires = {expires}'),
                    encoding="utf-8")
    kiosk = load_devices(path, sample_hall)["K-B1"]
    moment = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(sample_hall.timezone))
    assert kiosk.expires_at == moment.timestamp()
    assert not kiosk.expired(moment.timestamp() - 0.001) and kiosk.expired(moment.timestamp())
    assert kiosk.token_matches("t")   # still the right token: the hub refuses it as expired


@pytest.mark.parametrize("case", sorted(BAD_DEVICES))
def test_a_bad_devices_file_is_one_line_naming_the_file_and_key(
        tmp_path: Path, sample_hall, case: str) -> None:
    text, key, reason = BAD_DEVICES[case]
    path = tmp_path / f"devices_{case}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HallConfigError) as info:
        load_devices(path, sample_hall)
    err = info.value
    assert (err.file, err.key) == (str(path), key), str(err)
    assert reason in err.reason, str(err)
    assert str(err).startswith(f"{path}: {key}: ") and "\n" not in str(err)


def test_a_missing_devices_file_names_the_file(tmp_path: Path, sample_hall) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(HallConfigError) as info:
        load_devices(path, sample_hall)
    assert str(info.value) == f"{path}: -: file not found"


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("case", ["duplicate_id", "unknown_window", "bad_toml"])
def test_serve_with_a_bad_devices_file_exits_2_with_one_line(tmp_path: Path,
                                                             case: str) -> None:
    text, key, reason = BAD_DEVICES[case]
    path = tmp_path / f"devices_{case}.toml"
    path.write_text(text, encoding="utf-8")
    done = cli("serve", "--devices", str(path), "--port", "0",
               "--db", f"sqlite:///{tmp_path / 'never.db'}")
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {path}: {key}: ") and reason in lines[0]
    assert not (tmp_path / "never.db").exists()  # refused before opening the store


def test_token_prints_a_token_and_the_hash_line_to_paste(tmp_path: Path, sample_hall) -> None:
    done = cli("token", "--device", "K-B9")
    assert done.returncode == 0, done
    lines = done.stdout.splitlines()
    assert "K-B9" in lines[0]
    token = re.fullmatch(r"# (\S{32,})", lines[1]).group(1)  # type: ignore[union-attr]
    line = next(x for x in lines if x.startswith("token_hash"))
    salt, digest = re.fullmatch(r'token_hash = "sha256\$([0-9a-f]{32})\$([0-9a-f]{64})"',
                                line).groups()  # type: ignore[union-attr]
    assert digest == hashlib.sha256(bytes.fromhex(salt) + token.encode()).hexdigest()
    # the line pasted into a devices file lets exactly that token in
    path = tmp_path / "devices.toml"
    path.write_text(f'[[device]]\nid = "K-B9"\nrole = "kiosk"\nzone = "B"\n{line}\n',
                    encoding="utf-8")
    kiosk = load_devices(path, sample_hall)["K-B9"]
    assert kiosk.token_matches(token) and not kiosk.token_matches(token + "x")
    again = cli("token", "--device", "K-B9").stdout.splitlines()
    assert again[1] != lines[1] and again[-1] != line  # a fresh token and salt each time
    assert again[-1].split("$")[1] != salt


@pytest.mark.parametrize(("device_id", "problem"), [
    ("", "empty"), ("   ", "empty"), ("K" * 65, "65 characters long"),
    ("K B9", "only letters, digits"), ("K-B9\n", "only letters, digits"),
    ("柜台1", "only letters, digits"), ('K"B9', "only letters, digits"),
])
def test_token_for_an_id_a_devices_file_cannot_hold_is_one_error_line(
        device_id: str, problem: str) -> None:
    done = cli("token", "--device", device_id)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and problem in lines[0], lines


def test_token_takes_every_id_a_devices_file_can_hold(tmp_path: Path, sample_hall) -> None:
    device_id = "LED_2/bus.a-" + "x" * 52                 # 64 characters, every kind
    done = cli("token", "--device", device_id)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "devices.toml"
    path.write_text(f'[[device]]\nid = "{device_id}"\nrole = "led"\n{done.stdout}',
                    encoding="utf-8")
    token = done.stdout.splitlines()[1].removeprefix("# ")
    assert load_devices(path, sample_hall)[device_id].token_matches(token)


# -------------------------------------------------------------- last: close_day


def test_only_the_console_closes_the_day(hall: LiveHall, console: RawClient,
                                         kiosk: RawClient, caller: RawClient) -> None:
    hall.refused(kiosk, "close_day", "forbidden")
    hall.refused(caller, "close_day", "forbidden")
    closed = hall.ok(console, "close_day")
    assert closed["events"][-1]["name"] == "day_closed"
    hall.refused(kiosk, "issue_ticket", "day_closed", queue="quick_b")
