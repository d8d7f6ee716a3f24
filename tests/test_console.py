"""The dispatch console (dispatcher/console/app.py) against a live hub subprocess: real
widgets under the offscreen platform, driven by clicks; the hub decides everything."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, SAMPLE_PINS, HubProcess, sample_token
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from qt_dialogs import answer_next_dialog

from dispatcher.client.qt import QtHubClient
from dispatcher.console.app import Console

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ helpers


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator[Callable[..., HubProcess]]:
    """Start a hub on a fresh SQLite file (speed, extra serve options); killed after."""
    hubs: list[HubProcess] = []

    def start(speed: float = 1.0, extra: list[str] | None = None) -> HubProcess:
        hub = HubProcess(f"sqlite:///{tmp_path / f'hall{len(hubs)}.db'}", speed=speed,
                         extra=extra).start()
        hubs.append(hub)
        return hub

    yield start
    for hub in hubs:
        hub.kill()


@pytest.fixture
def clients(qtbot: Any) -> Iterator[list[QtHubClient]]:
    made: list[QtHubClient] = []
    yield made
    for c in made:
        c.close(timeout=2)


def client(qtbot: Any, made: list[QtHubClient], url: str, role: str, device: str
           ) -> QtHubClient:
    c = QtHubClient(url, role, device, sample_token(device), **FAST)
    made.append(c)
    c.start()
    qtbot.waitUntil(lambda: c.connected and c.view.loaded, timeout=10000)
    return c


def console(qtbot: Any, made: list[QtHubClient], url: str, device: str = "CONSOLE-1",
            staff: str = "staff-001") -> Console:
    """A console signed in through its sign-in screen (typed, Enter)."""
    hub = QtHubClient(url, "console", device, sample_token(device), **FAST)
    made.append(hub)
    app = Console(hub)
    shown(qtbot, app)
    hub.start()
    qtbot.waitUntil(lambda: app.connected and bool(app.built_for), timeout=10000)
    assert app.stack.currentIndex() == 0                 # the sign-in screen first
    app.staff_edit.setText(staff)
    app.pin_edit.setText(SAMPLE_PINS[staff])
    qtbot.keyClick(app.pin_edit, Qt.Key.Key_Return)
    assert app.pin_edit.text() == ""
    qtbot.waitUntil(lambda: app.staff is not None, timeout=10000)
    assert app.stack.currentIndex() == 1 and staff in app.who.text()
    return app


def shown(qtbot: Any, app: Console) -> None:
    qtbot.addWidget(app)
    app.resize(1920, 1080)
    app.show()
    qtbot.waitExposed(app)


def run(qtbot: Any, c: QtHubClient, name: str, args: dict[str, Any] | None = None,
        kind: str = "command") -> dict[str, Any]:
    """Setup through the hub directly (never the action under test)."""
    out: list[tuple[bool, dict[str, Any]]] = []
    send = c.send_command if kind == "command" else c.send_query
    send(name, args or {}, on_reply=lambda ok, payload: out.append((ok, payload)))
    qtbot.waitUntil(lambda: bool(out), timeout=10000)
    ok, payload = out[0]
    assert ok, payload
    return payload


def issue(qtbot: Any, app: Console, queue: str) -> dict[str, Any]:
    return run(qtbot, app.hub, "issue_ticket", {"queue": queue, "zone": "B"})["ticket"]


def settle(qtbot: Any, app: Console) -> None:
    qtbot.waitUntil(lambda: app.pending is None, timeout=15000)


def click(qtbot: Any, button: QWidget) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def select(qtbot: Any, app: Console, window: str) -> None:
    zone = app.hub.view.hall["windows"][window]["zone"]
    app.zone_tabs.setCurrentWidget(app.floors[zone])
    qtbot.mouseClick(app.floors[zone].tiles[window], Qt.MouseButton.LeftButton)
    assert app.selected == window and window in app.selected_label.text()


def open_windows(qtbot: Any, app: Console, *windows: str) -> None:
    """Through the console's own 开窗 button."""
    for w in windows:
        select(qtbot, app, w)
        click(qtbot, app.window_buttons["open"])
        settle(qtbot, app)
        assert app.hub.view.window(w)["state"] == "idle", app.message.text()


def move(qtbot: Any, app: Console, window: str, main: list[str], side: list[str],
         reason: str) -> None:
    """调整业务… through the move dialog."""
    select(qtbot, app, window)
    titles = answer_next_dialog(lambda d: (d.choose(main, side, reason), d.accept()))
    click(qtbot, app.window_buttons["move"])
    settle(qtbot, app)
    assert titles and "Move window" in titles[0]


# ------------------------------------------------------------------ tests


def test_sign_in_is_checked_by_the_hub_and_signing_out_locks_the_console(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    hub_client = QtHubClient(hub.url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    clients.append(hub_client)
    app = Console(hub_client)
    shown(qtbot, app)
    hub_client.start()
    qtbot.waitUntil(lambda: app.connected and bool(app.built_for), timeout=10000)
    app.staff_edit.setText("staff-001")
    app.pin_edit.setText("0000")
    click(qtbot, app.sign_in_button)
    qtbot.waitUntil(lambda: not app.signing_in, timeout=10000)
    assert app.staff is None and app.stack.currentIndex() == 0
    assert "wrong_pin" in app.sign_in_error.text() and "工号或密码不对" in app.sign_in_error.text()
    # a console command without anyone signed in is refused by the hub, and said so
    out: list[Any] = []
    hub_client.send_command("open_window", {"window": "B01"},
                            on_reply=lambda ok, p: out.append((ok, p)))
    qtbot.waitUntil(lambda: bool(out), timeout=10000)
    assert out[0][0] is False and out[0][1]["code"] == "not_signed_in"
    app.staff = {"id": "staff-001", "name": ""}          # as if the hub had said yes
    app.refresh()
    assert app.act("open_window", {"window": "B01"}, "done")
    qtbot.waitUntil(lambda: app.staff is None, timeout=10000)   # the hub's no: sign in
    assert "not_signed_in" in app.sign_in_error.text() and app.stack.currentIndex() == 0
    app.staff_edit.setText("staff-002")
    app.pin_edit.setText(SAMPLE_PINS["staff-002"])
    click(qtbot, app.sign_in_button)
    qtbot.waitUntil(lambda: app.staff is not None, timeout=10000)
    assert "staff-002" in app.who.text()
    click(qtbot, app.sign_out_button)
    assert app.stack.currentIndex() == 0 and app.staff is None


def test_an_alert_shows_on_two_consoles_and_one_acknowledgement_shows_on_both(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub(speed=600.0)        # ten hall minutes a second: quick_b's 30 in 3 s
    first = console(qtbot, clients, hub.url, "CONSOLE-1", "staff-001")
    second = console(qtbot, clients, hub.url, "CONSOLE-2", "staff-002")
    ticket = issue(qtbot, first, "quick_b")
    alert = f"ticket_overdue:{ticket['id']}"
    for app in (first, second):
        qtbot.waitUntil(lambda a=app: alert in a.alerts.ack_buttons, timeout=20000)
        assert a_row(app, alert).subject.startswith(ticket["number"])
        assert not a_row(app, alert).acknowledged
        assert app.alerts.ack_buttons[alert].isEnabled()
        assert "未确认" in app.panels.tabText(0)
    click(qtbot, second.alerts.ack_buttons[alert])
    settle(qtbot, second)
    assert "Alert acknowledged" in second.message.text()
    for app in (first, second):
        qtbot.waitUntil(lambda a=app: a_row(a, alert).acknowledged, timeout=10000)
        qtbot.waitUntil(lambda a=app: not a.alerts.ack_buttons[alert].isEnabled(),
                        timeout=5000)
        row = app.alerts.rows.index(a_row(app, alert))
        assert app.alerts.table.item(row, 3).text().startswith("已确认")
    assert second.sent[-1] == ("acknowledge_alert", {"id": alert})
    assert not first.sent                                  # the first console sent nothing


def a_row(app: Console, alert: str) -> Any:
    return next(r for r in app.alerts.rows if r.id == alert)


def test_a_notice_from_the_console_reaches_a_display(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    app = console(qtbot, clients, hub.url)
    display = client(qtbot, clients, hub.url, "display", "D-B")

    def fill(dialog: Any) -> None:
        dialog.text.setText("B区 午间 12:00–13:00 暂停取号")
        dialog.zone.setCurrentIndex(dialog.zone.findData("B"))
        dialog.accept()

    titles = answer_next_dialog(fill)
    click(qtbot, app.notice_button)
    settle(qtbot, app)
    assert titles == ["发布公告 / Notice to the displays"]
    assert app.sent[-1] == ("notice", {"text": "B区 午间 12:00–13:00 暂停取号", "zone": "B"})
    qtbot.waitUntil(lambda: display.view.notice_for("B") == "B区 午间 12:00–13:00 暂停取号",
                    timeout=10000)


def test_a_move_changes_which_window_the_next_ticket_goes_to(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    app = console(qtbot, clients, hub.url)
    open_windows(qtbot, app, "B19", "B20")     # both 税务 main, 马上办 as side work
    quick = issue(qtbot, app, "quick_b")
    tax = issue(qtbot, app, "tax")
    move(qtbot, app, "B20", ["quick_b"], ["tax"], "马上办排队长 / quick_b is long")
    assert app.sent[-1] == ("set_profile", {"window": "B20", "main": ["quick_b"],
                                            "side": ["tax"], "side_when_overdue": False,
                                            "reason": "马上办排队长 / quick_b is long"})
    assert app.hub.view.window("B20")["main"] == ["quick_b"]
    tile = app.floors["B"].tiles["B20"]
    qtbot.waitUntil(lambda: "主:马上办" in tile.queues.text(), timeout=5000)
    # the audit list: who and why
    qtbot.waitUntil(lambda: bool(app.moves), timeout=5000)
    assert (app.moves[0].window, app.moves[0].by) == ("B20", "staff-001")
    assert app.moves[0].reason == "马上办排队长 / quick_b is long"
    # B20 now calls the 马上办 ticket first; B19, unmoved, its own 税务 ticket
    called = run(qtbot, app.hub, "call_next", {"window": "B20"})["ticket"]
    assert called["id"] == quick["id"]
    called = run(qtbot, app.hub, "call_next", {"window": "B19"})["ticket"]
    assert called["id"] == tax["id"]


def test_window_and_ticket_actions_are_hub_commands_and_refusals_are_shown(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    app = console(qtbot, clients, hub.url)
    open_windows(qtbot, app, "B01")
    answer_next_dialog(lambda d: (d.setTextValue("调度安排 / Dispatcher's call"), d.accept()))
    click(qtbot, app.window_buttons["pause"])
    settle(qtbot, app)
    assert app.hub.view.window("B01")["state"] == "paused"
    click(qtbot, app.window_buttons["resume"])
    settle(qtbot, app)
    first, second = issue(qtbot, app, "quick_b"), issue(qtbot, app, "quick_b")
    app.number_edit.setText(second["number"].lower())
    click(qtbot, app.window_buttons["call"])              # 呼叫此号: the named ticket
    settle(qtbot, app)
    assert app.hub.view.window("B01")["ticket"] == second["id"]
    app.number_edit.setText(first["number"])

    def to_tax(dialog: Any) -> None:
        dialog.queue_box.setCurrentIndex(dialog.queue_box.findData("tax"))
        dialog.accept()

    answer_next_dialog(to_tax)
    click(qtbot, app.transfer_button)
    settle(qtbot, app)
    assert app.hub.view.ticket(first["id"])["queue"] == "tax"
    answer_next_dialog(lambda d: (d.setTextValue("重复取号 / duplicate"), d.accept()))
    click(qtbot, app.cancel_button)
    settle(qtbot, app)
    assert app.hub.view.ticket(first["id"])["state"] == "cancelled"
    # the hub refuses: closing a window that holds a ticket
    assert app.act("close_window", {"window": "B01"}, "closed")
    settle(qtbot, app)
    assert "window_busy" in app.message.text() or "wrong_state" in app.message.text()
    assert app.hub.view.window("B01")["state"] == "calling"
    app.number_edit.setText("Z999")
    click(qtbot, app.cancel_button)
    assert "unknown_ticket" in app.message.text()


def test_the_floor_query_is_the_consoles_and_feeds_its_queue_table(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    app = console(qtbot, clients, hub.url)
    open_windows(qtbot, app, "B01")
    for _ in range(3):
        issue(qtbot, app, "quick_b")
    run(qtbot, app.hub, "call_next", {"window": "B01"})
    app.ask_floor()
    qtbot.waitUntil(lambda: app.floor is not None and app.floor["queues"]["quick_b"][
        "waiting"] == 2, timeout=10000)
    floor = app.floor
    assert floor["windows"]["B01"]["utilisation"] is not None
    assert floor["queues"]["quick_b"]["expected_wait_s"] is not None
    assert len(floor["queues"]["quick_b"]["trend"]) == 61
    table = app.floors["B"].queues
    qtbot.waitUntil(lambda: table.item(0, 1) is not None and table.item(0, 1).text() == "2",
                    timeout=5000)
    display = client(qtbot, clients, hub.url, "display", "D-B")
    out: list[Any] = []
    display.send_query("floor", on_reply=lambda ok, p: out.append((ok, p)))
    qtbot.waitUntil(lambda: bool(out), timeout=10000)
    assert out[0][0] is False and out[0][1]["code"] == "forbidden"


# ------------------------------------------------------- balancing, outcomes, cases


def test_a_suggested_move_applied_from_the_console_changes_where_the_next_ticket_goes(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub(extra=["--balance-every", "1"])
    app = console(qtbot, clients, hub.url)
    open_windows(qtbot, app, "B01", "B19")
    quick = [issue(qtbot, app, "quick_b") for _ in range(4)]
    qtbot.waitUntil(lambda: any(s.window == "B19" for s in app.balancing.rows), timeout=20000)
    row = next(s for s in app.balancing.rows if s.window == "B19")
    assert "→" in row.change and row.reason
    app.panels.setCurrentWidget(app.balancing)
    click(qtbot, app.balancing.apply_buttons[row.id])
    settle(qtbot, app)
    assert "Suggestion applied" in app.message.text(), app.message.text()
    assert "quick_b" in app.hub.view.window("B19")["main"]
    qtbot.waitUntil(lambda: any(m.window == "B19" for m in app.moves), timeout=5000)
    assert next(m for m in app.moves if m.window == "B19").by == "staff-001"
    tax = issue(qtbot, app, "tax")
    open_windows(qtbot, app, "B20")            # unmoved, as B19 was: its own 税务 first
    called = run(qtbot, app.hub, "call_next", {"window": "B19"})["ticket"]
    assert called["id"] == quick[0]["id"]      # lent: the older 马上办 ticket first
    called = run(qtbot, app.hub, "call_next", {"window": "B20"})["ticket"]
    assert called["id"] == tax["id"]


def test_automatic_mode_moves_a_window_by_itself_and_the_console_lists_it(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub(extra=["--balance-every", "1"])
    app = console(qtbot, clients, hub.url)
    app.panels.setCurrentWidget(app.balancing)
    click(qtbot, app.balancing.auto["B"])                 # 自动 for zone B
    settle(qtbot, app)
    assert app.sent[-1] == ("set_balancing", {"zone": "B", "automatic": True})
    qtbot.waitUntil(lambda: app.hub.view.balancing["B"]["automatic"] is True, timeout=5000)
    assert app.balancing.auto["B"].isChecked()
    open_windows(qtbot, app, "B01", "B19")
    for _ in range(4):
        issue(qtbot, app, "quick_b")
    qtbot.waitUntil(lambda: any(m.window == "B19" for m in app.moves), timeout=20000)
    moved = next(m for m in app.moves if m.window == "B19")
    assert moved.by.startswith("自动") and moved.reason != "—"
    assert "quick_b" in app.hub.view.window("B19")["main"]
    table = app.moves_panel.table
    qtbot.waitUntil(lambda: table.item(0, 3) is not None, timeout=5000)
    assert any(table.item(r, 1).text() == "B19" and table.item(r, 3).text().startswith("自动")
               for r in range(table.rowCount()))


def test_finishing_without_a_required_outcome_is_refused_and_shown(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    app = console(qtbot, clients, hub.url)
    queues = app.hub.view.hall.get("queues", {})
    required = next((q for q, info in queues.items() if info.get("outcome_required")
                     and "B" in info.get("zones", ())), None)
    assert required, "the sample hall names no queue that requires an outcome"
    window = next(w for w in sorted(app.hub.view.windows_in("B"))
                  if required in app.hub.view.window(w)["main"])
    open_windows(qtbot, app, window)
    issue(qtbot, app, required)
    run(qtbot, app.hub, "call_next", {"window": window})
    select(qtbot, app, window)
    click(qtbot, app.window_buttons["finish"])
    settle(qtbot, app)
    assert "outcome_required" in app.message.text()
    assert app.hub.view.window(window)["state"] == "calling"


def test_a_poor_rating_opens_a_case_that_is_closed_through_the_console(
        qtbot: Any, make_hub: Callable[..., HubProcess], clients: list[QtHubClient]) -> None:
    hub = make_hub()
    app = console(qtbot, clients, hub.url)
    evaluator = client(qtbot, clients, hub.url, "evaluator", "E-B01")
    open_windows(qtbot, app, "B01")
    ticket = issue(qtbot, app, "quick_b")
    run(qtbot, app.hub, "call_next", {"window": "B01"})
    run(qtbot, app.hub, "finish_service", {"window": "B01", "outcome": "done"}
        if app.hub.view.hall.get("queues", {}).get("quick_b", {}).get("outcome_required")
        else {"window": "B01"})
    run(qtbot, evaluator, "evaluate", {"ticket": ticket["id"], "level": 1,
                                       "reason": "态度不好 / Rude"})
    qtbot.waitUntil(lambda: any(r.number == ticket["number"] for r in app.cases.rows),
                    timeout=10000)
    case = next(r for r in app.cases.rows if r.number == ticket["number"])
    assert case.window == "B01" and case.level.startswith("1")
    app.panels.setCurrentWidget(app.cases)
    for step, note in (("contacted", "已电话联系 / called back"),
                       ("rectified", "已整改 / retrained"), ("closed", "群众满意 / settled")):
        app.cases.note.setText(note)
        click(qtbot, app.cases.step_buttons[(case.id, step)])
        settle(qtbot, app)
        assert app.sent[-1] == ("update_case", {"case": case.id, "step": step, "note": note})
        assert "Recorded" in app.message.text(), app.message.text()
    final = app.hub.view.cases[case.id]
    assert final["state"] == "closed"
    assert [(s["step"], s["by"]) for s in final["steps"]] == [
        ("contacted", "staff-001"), ("rectified", "staff-001"), ("closed", "staff-001")]
    qtbot.waitUntil(lambda: next(r for r in app.cases.rows if r.id == case.id
                                 ).state.startswith("已办结"), timeout=5000)


# ------------------------------------------------------------------ cli


def test_cli_screenshots(make_hub: Callable[..., HubProcess], tmp_path: Path) -> None:
    hub = make_hub()
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "console", "--server", hub.url,
         "--token", sample_token("CONSOLE-1"), "--screenshot", str(tmp_path / "shot")],
        cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True,
        text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for name in ("shot-sign-in.png", "shot-floor.png"):
        assert (tmp_path / name).stat().st_size > 1000
