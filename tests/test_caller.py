"""The caller panel (caller/panel.py) against a live hub subprocess."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, LiveHub, sample_token
from PySide6.QtCore import Qt

from caller.clerks import load_clerks
from caller.panel import CallerPanel
from dispatcher.client.qt import QtHubClient

ROOT = Path(__file__).resolve().parent.parent
CLERKS = load_clerks(ROOT / "assets/halls/sample-clerks.toml")

pytestmark = pytest.mark.slow




@pytest.fixture
def console(qtbot: Any, hall: LiveHub) -> Iterator[QtHubClient]:
    c = QtHubClient(hall.url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    c.start()
    qtbot.waitUntil(lambda: c.connected and c.view.loaded, timeout=10000)
    yield c
    c.close(timeout=2)


@pytest.fixture
def panel(qtbot: Any, hall: LiveHub) -> Iterator[CallerPanel]:
    hub = QtHubClient(hall.url, "caller", "C-B03", sample_token("C-B03"), **FAST)
    p = CallerPanel(hub, "B03", CLERKS)
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


def sign_in(qtbot: Any, p: CallerPanel) -> None:
    p.clerk_edit.setText("clerk-017")
    p.pin_edit.setText("0000")
    qtbot.mouseClick(p.sign_in_button, Qt.MouseButton.LeftButton)
    assert p.clerk is None and "Wrong" in p.sign_in_error.text()
    p.clerk_edit.setText("clerk-017")
    p.pin_edit.setText("1701")
    qtbot.mouseClick(p.sign_in_button, Qt.MouseButton.LeftButton)
    assert p.clerk is not None and p.clerk.id == "clerk-017"


def open_window(qtbot: Any, p: CallerPanel) -> None:
    if p.state().state == "closed":
        click(qtbot, p, "open")
        settle(qtbot, p)
    assert p.state().state == "idle"


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


def test_cli_screenshot_and_bad_clerks_file(hall: LiveHub, tmp_path: Path) -> None:
    import subprocess
    import sys
    base = [sys.executable, "-c", CLI, "caller", "--window", "B03", "--server", hall.url,
            "--token", sample_token("C-B03")]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([*base, "--screenshot", str(tmp_path / "shot")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "shot-sign-in.png").stat().st_size > 1000
    assert (tmp_path / "shot-panel.png").stat().st_size > 1000
    bad = tmp_path / "bad.toml"
    bad.write_text("x = 1", encoding="utf-8")
    done = subprocess.run([*base, "--clerks", str(bad)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad}: clerks: missing: add [clerks.<id>] tables"
