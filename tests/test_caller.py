"""The caller panel (caller/panel.py) against a live hub subprocess, which checks the
clerk's PIN (`serve --clerks`, the sample clerks file)."""

from __future__ import annotations

import os
import re

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, SAMPLE_PINS, STAFF, LiveHub, sample_token
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from qt_dialogs import answer_next_dialog

from caller.panel import CallerPanel
from dispatcher.client.qt import QtHubClient
from dispatcher.hub.people import FREE_TRIES

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture
def console(qtbot: Any, hall: LiveHub) -> Iterator[QtHubClient]:
    """The dispatch console, with staff-001 signed in at it (a console acts only so)."""
    c = QtHubClient(hall.url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    c.start()
    qtbot.waitUntil(lambda: c.connected and c.view.loaded, timeout=10000)
    run(qtbot, c, "staff_sign_in", STAFF)
    yield c
    c.close(timeout=2)


@pytest.fixture
def panel(qtbot: Any, hall: LiveHub) -> Iterator[CallerPanel]:
    hub = QtHubClient(hall.url, "caller", "C-B03", sample_token("C-B03"), **FAST)
    p = CallerPanel(hub, "B03")
    qtbot.addWidget(p)
    hub.start()
    qtbot.waitUntil(lambda: p.connected, timeout=10000)
    yield p
    hub.close(timeout=2)


def run(qtbot: Any, client: QtHubClient, name: str, args: dict[str, Any],
        kind: str = "command") -> dict[str, Any]:
    out: list[tuple[bool, dict[str, Any]]] = []
    send = client.send_command if kind == "command" else client.send_query
    send(name, args, on_reply=lambda ok, payload: out.append((ok, payload)))
    qtbot.waitUntil(lambda: bool(out), timeout=10000)
    ok, payload = out[0]
    assert ok, payload
    return payload


def issue(qtbot: Any, console: QtHubClient, queue: str) -> dict[str, Any]:
    return run(qtbot, console, "issue_ticket",
               {"queue": queue, "ticket_class": "normal", "zone": "B"})["ticket"]


def click(qtbot: Any, p: CallerPanel, action: str) -> None:
    assert p.buttons[action].isEnabled(), (action, p.state())
    qtbot.mouseClick(p.buttons[action], Qt.MouseButton.LeftButton)


def settle(qtbot: Any, p: CallerPanel) -> None:
    qtbot.waitUntil(lambda: p.pending is None, timeout=15000)


def console_sees(qtbot: Any, console: QtHubClient, ticket_id: str, **fields: Any) -> None:
    """Wait until the console's view of the ticket has these fields: the console hears of
    a change after the panel's reply, later still on a loaded box."""
    qtbot.waitUntil(lambda: all(console.view.ticket(ticket_id).get(k) == v
                                for k, v in fields.items()), timeout=5000)


def type_and_sign_in(qtbot: Any, p: CallerPanel, clerk: str, pin: str) -> None:
    """Type the clerk id and PIN and press Enter in the PIN field; wait for the hub."""
    p.clerk_edit.setText(clerk)
    p.pin_edit.setText(pin)
    qtbot.keyClick(p.pin_edit, Qt.Key.Key_Return)
    assert p.pin_edit.text() == ""                       # the PIN is not kept on screen
    qtbot.waitUntil(lambda: not p.signing_in, timeout=10000)


def sign_in(qtbot: Any, p: CallerPanel, clerk: str = "clerk-017") -> None:
    p.show()                              # shown and active, so F-keys reach it
    qtbot.waitExposed(p)
    p.activateWindow()
    type_and_sign_in(qtbot, p, clerk, SAMPLE_PINS[clerk])
    assert p.clerk is not None and p.clerk.id == clerk, said(p)
    assert p.stack.currentIndex() == 1


def said(p: CallerPanel) -> str:
    """The sign-in screen's message, its Chinese and English lines as "中文 / English"."""
    return p.sign_in_error.text().replace("\n", " / ")


def on_sign_in_screen(p: CallerPanel) -> bool:
    return p.stack.currentIndex() == 0 and p.clerk is None


def open_window(qtbot: Any, p: CallerPanel) -> None:
    if p.state().state == "closed":
        click(qtbot, p, "open")
        settle(qtbot, p)
    assert p.state().state == "idle"


def spy_commands(p: CallerPanel) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every command the panel hands its hub client from now on: name, args, options."""
    seen: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    original = p.hub.send_command

    def send_command(name: str, args: dict[str, Any] | None = None, **options: Any) -> str:
        seen.append((name, dict(args or {}), options))
        return original(name, args, **options)

    p.hub.send_command = send_command  # type: ignore[method-assign]
    return seen


def test_the_hub_checks_the_pin_and_names_the_clerk(qtbot: Any, panel: CallerPanel,
                                                    console: QtHubClient) -> None:
    p = panel
    seen = spy_commands(p)
    sign_in(qtbot, p)
    name, args, _ = seen[0]
    assert (name, args) == ("sign_in", {"window": "B03", "clerk": "clerk-017", "pin": "1701"})
    assert p.who.text() == "王芳 (clerk-017)"            # the name is the hub's
    # the console is another connection: its copy of the event may come a moment later
    qtbot.waitUntil(lambda: console.view.window("B03")["clerk"] == "clerk-017", timeout=5000)
    assert all("1701" not in repr(v) for v in vars(p).values())   # the PIN is not kept
    open_window(qtbot, p)
    assert [name for name, _, _ in seen] == ["sign_in", "open_window"][:len(seen)]
    assert all("actor" not in options for _, _, options in seen)  # the hub knows who


@pytest.mark.parametrize("clerk, pin", [("clerk-017", "0000"), ("clerk-099", "1701"),
                                        ("staff-001", "9001")],
                         ids=["wrong_pin", "unknown_clerk", "staff_not_a_clerk"])
def test_a_wrong_pin_or_id_is_said_and_the_panel_stays_shut(
        qtbot: Any, panel: CallerPanel, console: QtHubClient, clerk: str, pin: str) -> None:
    p = panel
    type_and_sign_in(qtbot, p, clerk, pin)
    assert on_sign_in_screen(p)
    assert said(p) == "工号或密码不对 / Wrong clerk id or PIN"
    assert not any(b.isEnabled() for b in p.buttons.values())
    assert console.view.window("B03").get("clerk") is None
    sign_in(qtbot, p)                                    # the right one still works
    assert said(p) == ""


def test_after_three_wrong_pins_the_hub_locks_and_the_panel_counts_down(
        qtbot: Any, panel: CallerPanel) -> None:
    p = panel
    for _ in range(FREE_TRIES):
        type_and_sign_in(qtbot, p, "clerk-017", "0000")
        assert said(p) == "工号或密码不对 / Wrong clerk id or PIN"
    # locked for 1 s after the third, 2 s after a fourth...: a slow machine may see one
    # more wrong_pin before a try lands inside the lock
    for _ in range(3):
        type_and_sign_in(qtbot, p, "clerk-017", "0000")
        if "Wrong" not in said(p):
            break
    assert on_sign_in_screen(p)
    locked = re.fullmatch(r"密码错误次数过多，请 (\d+) 秒后再试 / "
                          r"Too many wrong PINs: try again in (\d+) s", said(p))
    assert locked and locked[1] == locked[2] and 1 <= int(locked[1]) <= 4, locked
    qtbot.waitUntil(lambda: "try again now" in said(p), timeout=6000)
    sign_in(qtbot, p)


def test_not_connected_sends_no_sign_in(qtbot: Any, hall: LiveHub,
                                        panel: CallerPanel) -> None:
    p = panel
    hall.hub.kill()
    qtbot.waitUntil(lambda: not p.connected, timeout=10000)
    seen = spy_commands(p)
    p.clerk_edit.setText("clerk-017")
    p.pin_edit.setText("1701")
    qtbot.mouseClick(p.sign_in_button, Qt.MouseButton.LeftButton)
    assert seen == [] and on_sign_in_screen(p) and p.pin_edit.text() == ""
    assert "Not connected to the hub" in said(p)
    assert not p.sign_in("clerk-017", "")                # nothing to send either
    assert "Enter your clerk id and PIN" in said(p)


def test_signed_out_or_replaced_at_the_hub_goes_back_to_sign_in(
        qtbot: Any, panel: CallerPanel, console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    run(qtbot, console, "sign_in", {"window": "B03", "clerk": "clerk-018",
                                    "pin": SAMPLE_PINS["clerk-018"]})
    qtbot.waitUntil(lambda: on_sign_in_screen(p), timeout=5000)
    assert "clerk-018 signed in at this window" in said(p)
    assert not any(b.isEnabled() for b in p.buttons.values())
    sign_in(qtbot, p)                                    # clerk-017 takes the window back
    run(qtbot, console, "sign_in", {"window": "B03", "clerk": ""})   # the console signs out
    qtbot.waitUntil(lambda: on_sign_in_screen(p), timeout=5000)
    assert "You were signed out" in said(p)


def test_sign_in_open_call_recall_start_finish(qtbot: Any, panel: CallerPanel,
                                               console: QtHubClient) -> None:
    p = panel
    assert not any(b.isEnabled() for b in p.buttons.values())   # nobody signed in
    sign_in(qtbot, p)
    open_window(qtbot, p)
    queue = p.state().queues[0].queue
    t = issue(qtbot, console, queue)
    qtbot.waitUntil(lambda: p.state().queues[0].waiting >= 1, timeout=5000)
    click(qtbot, p, "call_next")
    assert p.pending == "call_next" and "…" in p.message.text()
    assert not p.buttons["call_next"].isEnabled()     # nothing twice while waiting
    settle(qtbot, p)
    assert p.number.text() == t["number"] and p.state().state == "calling"
    assert "Called" in p.message.text()
    # the sample hall's call_next finishes the current ticket: the hub says so
    assert p.buttons["call_next"].isEnabled()
    click(qtbot, p, "recall")
    settle(qtbot, p)
    assert "Called again" in p.message.text()
    click(qtbot, p, "start")
    settle(qtbot, p)
    assert p.state().state == "serving"
    click(qtbot, p, "finish")
    settle(qtbot, p)
    assert p.state().state == "idle" and p.number.text() == "—"
    qtbot.waitUntil(lambda: console.view.ticket(t["id"])["state"] == "done", timeout=5000)
    assert [name for name, _ in p.sent] == ["open_window", "call_next", "recall",
                                            "start_service", "finish_service"][-len(p.sent):]


def test_empty_queue_shows_clerk_words(qtbot: Any, panel: CallerPanel) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    assert "没有等候的号 / No one is waiting" in p.message.text()
    assert p.state().state == "idle"


def test_transfer_to_queue_keeps_place(qtbot: Any, panel: CallerPanel,
                                       console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    queue = p.state().queues[0].queue
    other = next(q for q in console.view.queues_in("B") if q != queue)
    early = issue(qtbot, console, queue)
    later = issue(qtbot, console, other)
    before = run(qtbot, console, "ticket_status", {"ticket": later["id"]}, kind="query")
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    assert p.number.text() == early["number"]
    assert p.act("transfer", ticket=early["id"], to_queue=other)
    settle(qtbot, p)
    assert "Transferred" in p.message.text(), p.message.text()
    moved = run(qtbot, console, "ticket_status", {"ticket": early["id"]}, kind="query")
    after = run(qtbot, console, "ticket_status", {"ticket": later["id"]}, kind="query")
    assert moved["state"] == "waiting" and moved["queue"] == other
    assert moved["ahead"] == before["ahead"]          # its place: ahead of the later ticket
    assert after["ahead"] == before["ahead"] + 1
    assert p.state().state == "idle"


def test_dropped_reply_calls_once(qtbot: Any, hall: LiveHub, panel: CallerPanel,
                                  console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    queue = p.state().queues[0].queue
    first = issue(qtbot, console, queue)
    issue(qtbot, console, queue)
    click(qtbot, p, "call_next")
    hall.hub.kill()                       # the reply may never come back
    qtbot.waitUntil(lambda: not p.connected, timeout=10000)
    assert p.banner.isVisibleTo(p)
    hall.restart()
    settle(qtbot, p)                      # the client resent the same id
    qtbot.waitUntil(lambda: p.connected, timeout=15000)
    assert p.number.text() == first["number"]
    # the hub kept the clerk through its restart (today's events): still signed in
    assert p.state().clerk == "clerk-017" and p.stack.currentIndex() == 1
    called = [t for t in p.hub.view.tickets.values() if t["state"] == "called"]
    assert [t["id"] for t in called] == [first["id"]]
    assert [name for name, _ in p.sent].count("call_next") == 1


def test_disconnected_disables_and_sends_nothing(qtbot: Any, hall: LiveHub,
                                                 panel: CallerPanel) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    assert not p.banner.isVisibleTo(p)
    hall.hub.kill()
    qtbot.waitUntil(lambda: not p.connected, timeout=10000)
    assert p.banner.isVisibleTo(p)
    assert not any(b.isEnabled() for b in p.buttons.values())
    sent = len(p.sent)
    qtbot.mouseClick(p.buttons["call_next"], Qt.MouseButton.LeftButton)
    qtbot.keyClick(p, Qt.Key.Key_F1)
    assert not p.act("call_next")
    assert len(p.sent) == sent and p.pending is None
    assert "Not connected" in p.message.text()
    hall.restart()
    qtbot.waitUntil(lambda: p.connected, timeout=15000)
    assert not p.banner.isVisibleTo(p) and p.buttons["call_next"].isEnabled()


CLI = ("import argparse, sys; from caller.cli import register; p = argparse.ArgumentParser(); "
       "register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")


def test_cli_screenshots_and_no_clerks_file(hall: LiveHub, tmp_path: Path) -> None:
    import subprocess
    import sys
    base = [sys.executable, "-c", CLI, "caller", "--window", "B03", "--server", hall.url,
            "--token", sample_token("C-B03")]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([*base, "--screenshot", str(tmp_path / "shot")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    names = ["shot-sign-in.png", "shot-sign-in-wrong-pin.png", "shot-sign-in-locked.png",
             "shot-panel.png", "shot-outcome.png"]        # the sample hall has outcome codes
    assert sorted(x.name for x in tmp_path.glob("shot-*.png")) == sorted(names)
    assert all((tmp_path / name).stat().st_size > 1000 for name in names)
    # the hub checks PINs: the panel takes no clerks file
    done = subprocess.run([*base, "--clerks", "assets/halls/sample-clerks.toml"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unrecognized arguments: --clerks" in done.stderr


def test_hold_aside_and_call_back_ahead_of_new_work(qtbot: Any, panel: CallerPanel,
                                                    console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    qtbot.waitUntil(lambda: p.state().clerk == "clerk-017", timeout=5000)  # told the hub
    queue = p.state().queues[0].queue
    stepped_away = issue(qtbot, console, queue)
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    assert p.number.text() == stepped_away["number"]
    console_sees(qtbot, console, stepped_away["id"], clerk="clerk-017")
    qtbot.keyClick(p, Qt.Key.Key_F9)                     # 挂起: fetches a document
    settle(qtbot, p)
    assert "Held aside" in p.message.text() and p.number.text() == "—"
    assert f"Held aside: {stepped_away['number']}" in p.held_label.text()
    assert not p.buttons["close"].isEnabled()            # someone is coming back
    newer = issue(qtbot, console, queue)
    qtbot.waitUntil(lambda: p.state().queues[0].waiting >= 1, timeout=5000)
    click(qtbot, p, "call_back")                         # 回呼: before the newer ticket
    settle(qtbot, p)
    assert "Called back" in p.message.text()
    assert p.number.text() == stepped_away["number"] and p.held_label.text() == ""
    console_sees(qtbot, console, stepped_away["id"], state="called")
    assert console.view.ticket(newer["id"])["state"] == "waiting"
    click(qtbot, p, "finish")
    settle(qtbot, p)


def test_pause_with_a_reason_then_resume_through_the_dialog(qtbot: Any,
                                                            panel: CallerPanel) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)

    def pick_meal_break(dialog: Any) -> None:
        dialog.setTextValue("用餐 / Meal break")
        dialog.accept()

    titles = answer_next_dialog(pick_meal_break)
    qtbot.keyClick(p, Qt.Key.Key_F7)
    settle(qtbot, p)
    assert titles == ["暂停原因 / Pause reason"]
    assert p.state().state == "paused" and "用餐 / Meal break" in p.state_label.text()
    assert p.sent[-1] == ("pause", {"window": "B03", "reason": "用餐 / Meal break"})
    assert {a for a, b in p.buttons.items() if b.isEnabled()} == {"resume"}
    p.activateWindow()                                   # offscreen: focus is not handed back
    qtbot.waitUntil(lambda: QApplication.activeWindow() is p, timeout=5000)
    qtbot.keyClick(p, Qt.Key.Key_F7)                     # pause's key does not resume
    assert p.state().state == "paused" and p.pending is None
    qtbot.keyClick(p, Qt.Key.Key_F11)                    # resume has its own key
    settle(qtbot, p)
    assert p.state().state == "idle" and "Resumed" in p.message.text()


def test_a_cancelled_dialog_sends_nothing(qtbot: Any, panel: CallerPanel) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    sent = len(p.sent)
    answer_next_dialog(lambda dialog: dialog.reject())
    click(qtbot, p, "pause")
    assert len(p.sent) == sent and p.state().state == "idle"


def test_call_a_returning_no_show_by_number(qtbot: Any, panel: CallerPanel,
                                            console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    queue = p.state().queues[0].queue
    absent = issue(qtbot, console, queue)
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    click(qtbot, p, "no_show")
    settle(qtbot, p)
    assert "Marked no-show" in p.message.text()
    console_sees(qtbot, console, absent["id"], state="no_show")

    def type_number(dialog: Any) -> None:
        dialog.setTextValue(absent["number"].lower())   # a clerk types it as it comes
        dialog.accept()

    answer_next_dialog(type_number)
    qtbot.keyClick(p, Qt.Key.Key_F8)
    settle(qtbot, p)
    assert p.number.text() == absent["number"] and p.state().state == "calling"
    assert p.sent[-1] == ("call_ticket", {"window": "B03", "ticket": absent["id"]})
    assert not p.call_number("Z999")                     # no such ticket: nothing sent
    assert "No such ticket today" in p.message.text()
    click(qtbot, p, "finish")
    settle(qtbot, p)


def test_transfer_to_a_named_window_through_the_dialog(qtbot: Any, panel: CallerPanel,
                                                       console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    run(qtbot, console, "open_window", {"window": "B04"}) \
        if console.view.window("B04")["state"] == "closed" else None
    ticket = issue(qtbot, console, p.state().queues[0].queue)
    click(qtbot, p, "call_next")
    settle(qtbot, p)

    def to_b04(dialog: Any) -> None:
        dialog.to_window.setChecked(True)
        dialog.window_box.setCurrentIndex(dialog.window_box.findData("B04"))
        dialog.accept()

    answer_next_dialog(to_b04)
    qtbot.keyClick(p, Qt.Key.Key_F6)
    settle(qtbot, p)
    assert "Transferred" in p.message.text()
    moved = run(qtbot, console, "ticket_status", {"ticket": ticket["id"]}, kind="query")
    assert (moved["state"], moved["window"]) == ("waiting", "B04")
    assert p.state().state == "idle"


def test_close_the_window_then_sign_out_tells_the_hub(qtbot: Any, panel: CallerPanel,
                                                      console: QtHubClient) -> None:
    p = panel
    sign_in(qtbot, p)
    open_window(qtbot, p)
    qtbot.waitUntil(lambda: console.view.window("B03").get("clerk") == "clerk-017",
                    timeout=5000)
    click(qtbot, p, "close")
    settle(qtbot, p)
    assert p.state().state == "closed" and "Window closed" in p.message.text()
    qtbot.mouseClick(p.sign_out_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: console.view.window("B03").get("clerk") is None, timeout=5000)
    assert p.stack.currentIndex() == 0 and not any(b.isEnabled() for b in p.buttons.values())


def test_pause_and_resume_have_keys_of_their_own(panel: CallerPanel) -> None:
    p = panel
    keys = {action: sc.key().toString() for action, sc in p.shortcuts.items()}
    assert keys["pause"] == "F7" and keys["resume"] == "F11"
    assert len(set(keys.values())) == len(keys)          # one action per key
    assert "[F7]" in p.buttons["pause"].text() and "[F11]" in p.buttons["resume"].text()


def button_places(p: CallerPanel) -> dict[str, Any]:
    QApplication.processEvents()                         # lay out what refresh changed
    return {a: (b.mapTo(p, b.rect().topLeft()), b.size()) for a, b in p.buttons.items()}


def test_buttons_stay_put_when_a_ticket_is_held_aside(qtbot: Any, panel: CallerPanel,
                                                      console: QtHubClient) -> None:
    p = panel
    p.resize(1024, 700)
    sign_in(qtbot, p)
    open_window(qtbot, p)
    issue(qtbot, console, p.state().queues[0].queue)
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    before = button_places(p)
    assert p.held_label.text() == ""
    qtbot.keyClick(p, Qt.Key.Key_F9)                     # 挂起: the held line appears
    settle(qtbot, p)
    assert "Held aside" in p.held_label.text() and p.held_label.isVisibleTo(p)
    assert button_places(p) == before


@pytest.mark.parametrize("width", [1024, 800])
def test_the_clerks_name_is_shown_in_full(qtbot: Any, panel: CallerPanel, width: int) -> None:
    from PySide6.QtGui import QFontMetrics

    p = panel
    p.resize(width, 700)
    sign_in(qtbot, p)
    QApplication.processEvents()
    assert p.who.text() == "王芳 (clerk-017)"
    needed = QFontMetrics(p.who.font()).horizontalAdvance(p.who.text())
    assert needed <= p.who.contentsRect().width(), (needed, p.who.contentsRect())
    assert p.who.geometry().right() < p.sign_out_button.geometry().left()


def idle_calling_serving(qtbot: Any, p: CallerPanel, console: QtHubClient, tickets: int,
                         shoot: Callable[[str], Path]) -> list[Path]:
    """Open the window with ``tickets`` waiting (shot "idle"), call one and hold it
    aside for a document, call the next ("calling"), start it ("serving")."""
    open_window(qtbot, p)
    queue = p.state().queues[0].queue
    for _ in range(tickets):
        issue(qtbot, console, queue)
    qtbot.waitUntil(lambda: p.state().queues[0].waiting == tickets, timeout=5000)
    shots = [shoot("idle")]
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    qtbot.keyClick(p, Qt.Key.Key_F9)                     # one steps away for a document
    settle(qtbot, p)
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    shots.append(shoot("calling"))
    click(qtbot, p, "start")
    settle(qtbot, p)
    shots.append(shoot("serving"))
    return shots


def test_panel_screenshots(qtbot: Any, hall: LiveHub, panel: CallerPanel,
                           console: QtHubClient, tmp_path: Path) -> None:
    """The panel idle, calling (a ticket held aside), serving and offline, at 1024×700:

        ONEWINDOW_SCREENSHOTS=docs/images pytest tests/test_caller.py -k screenshots

    writes caller-*.png there (else into the test's temporary folder)."""
    out = Path(os.environ.get("ONEWINDOW_SCREENSHOTS") or tmp_path)
    p = panel
    p.resize(1024, 700)
    sign_in(qtbot, p)
    shots = idle_calling_serving(qtbot, p, console, 3,
                                 lambda state: p.screenshot(out / f"caller-{state}.png"))
    hall.hub.kill()
    qtbot.waitUntil(lambda: not p.connected, timeout=10000)
    shots.append(p.screenshot(out / "caller-offline.png"))
    assert all(shot.stat().st_size > 1000 for shot in shots)


def low_contrast_texts(p: CallerPanel, path: Path) -> tuple[int, list[tuple]]:
    """Every visible label and enabled button of the panel as grabbed to ``path``, its
    WCAG contrast measured on the PNG (tests/screen_contrast.py); disabled buttons are
    inactive controls, which WCAG exempts. (how many measured, those under AA)"""
    from PIL import Image
    from PySide6.QtWidgets import QLabel, QPushButton
    from screen_contrast import AA, measure

    image = Image.open(path)
    page = p.stack.currentWidget()
    texts = [w for w in page.findChildren(QLabel) if w.text().strip()]
    texts += [b for b in page.findChildren(QPushButton) if b.isEnabled()]
    bad, measured = [], 0
    for w in texts:
        if not w.isVisibleTo(p) or w.width() < 8:
            continue
        at = w.mapTo(p, w.rect().topLeft())
        inset = 6 if isinstance(w, QPushButton) else 2     # inside a button's border
        contrast, bg, fg = measure(image, (at.x() + inset, at.y() + inset,
                                           w.width() - 2 * inset, w.height() - 2 * inset))
        measured += 1
        if contrast < AA:
            bad.append((path.name, w.text(), round(contrast, 2), bg, fg))
    return measured, bad


def test_every_caller_text_has_aa_contrast(qtbot: Any, panel: CallerPanel,
                                           console: QtHubClient, tmp_path: Path) -> None:
    """Sign-in (and its refusal), idle, calling with a ticket held aside, serving, paused:
    every text the clerk reads measures at least 4.5:1 on the rendered PNG."""
    p = panel
    p.resize(1024, 700)
    results = [low_contrast_texts(p, p.screenshot(tmp_path / "sign-in.png"))]
    p._signed_in("clerk-017", False, {"code": "wrong_pin"})
    results.append(low_contrast_texts(p, p.screenshot(tmp_path / "wrong-pin.png")))
    sign_in(qtbot, p)

    def shoot(state: str) -> Path:       # measured as drawn, before the panel moves on
        shot = p.screenshot(tmp_path / f"{state}.png")
        results.append(low_contrast_texts(p, shot))
        return shot

    idle_calling_serving(qtbot, p, console, 2, shoot)
    measured = sum(n for n, _ in results)
    bad = [b for _, found in results for b in found]
    assert measured > 40 and not bad, bad
