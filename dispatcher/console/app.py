"""The 窗口调度岗's console (PySide6) over dispatcher.console.model.

A sign-in screen (staff id + PIN, checked by the hub: the console keeps no PIN), then
the floor: a tab per zone with its window tiles, hot/cold line and queues; below, the
alerts, balancing suggestions, 差评 cases and device health; on the right the actions
on the selected window and on a ticket by number. Every action is a hub command sent
through QtHubClient; the console shows what the hub's view says, never its own guess,
and shows a refusal with the hub's code and message. The ``floor`` query (utilisation,
hot/cold, waits, the 30-minute trends) is asked every FLOOR_EVERY_MS. The floor is drawn
by widgets.py, the lower panels by panels.py, the actions by actions.py (a mixin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dispatcher.client.qt import QtHubClient

from .actions import Actions
from .model import (
    Move,
    alert_rows,
    case_rows,
    device_rows,
    error_words,
    heat_words,
    move_of,
    queue_rows,
    suggestion_rows,
    tiles,
)
from .panels import AlertsPanel, BalancingPanel, CasesPanel, DevicesPanel, MovesPanel
from .widgets import FloorTab

FLOOR_EVERY_MS = 15000
SIGN_IN_TIMEOUT = 10.0
MOVES_KEPT = 100
SIZE = QSize(1920, 1080)

STYLE = """
QWidget { font-size: 15px; }
QLabel#title { font-size: 22px; font-weight: bold; }
QLabel#who { font-size: 18px; }
QLabel#banner { background: #c62828; color: white; font-size: 18px; padding: 6px; }
QLabel#message { font-size: 17px; padding: 4px; }
QLabel#heat { font-size: 15px; color: #4a148c; }
QLabel#tilehead { font-size: 15px; font-weight: bold; }
QLabel#tilenumber { font-size: 19px; font-weight: bold; }
QLabel#tilequeues { font-size: 13px; }
QLabel#tileclerk { font-size: 14px; }
QPushButton#rowbutton { min-height: 0px; padding: 1px 6px; }
QGroupBox QPushButton { min-height: 0px; padding: 2px 4px; }
QLabel#selected { font-size: 16px; font-weight: bold; }
QLabel#signin { font-size: 26px; font-weight: bold; }
QLabel#error { color: #c62828; font-size: 18px; }
QLabel#hint { color: #616161; font-size: 16px; }
QLineEdit#signinfield { font-size: 22px; min-height: 44px; }
QPushButton#signinbutton { font-size: 22px; min-height: 52px; }
QPushButton { min-height: 34px; padding: 2px 8px; }
QTabBar::tab { font-size: 16px; padding: 6px 14px; }
"""


class Console(Actions):
    def __init__(self, hub: QtHubClient) -> None:
        super().__init__()
        self.hub = hub
        self.staff: dict[str, str] | None = None   # {"id", "name"} as the hub answered
        self.signing_in = False
        self.pending: str | None = None           # the command waiting for its reply
        self.floor: dict[str, Any] | None = None  # the last floor query's answer
        self.selected: str | None = None
        self.moves: list[Move] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []   # every command sent (tests)
        self.built_for: tuple[str, ...] = ()
        self.setStyleSheet(STYLE)
        self.setWindowTitle("一窗通 调度台 / OneWindow dispatch console")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.addLayout(self._header())
        self.banner = QLabel("⚠ 与叫号服务器的连接已断开，操作暂不可用 / Not connected to the "
                             "hub: actions are off")
        self.banner.setObjectName("banner")
        outer.addWidget(self.banner)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setFixedHeight(46)      # two lines: a long refusal does not grow the window
        outer.addWidget(self.message)
        self._build_sign_in()
        self.main = QWidget()
        self.stack.addWidget(self.main)
        hub.statusChanged.connect(lambda _s: self.schedule())
        hub.viewChanged.connect(self.schedule)
        hub.snapshotLoaded.connect(self.ask_floor)
        hub.eventReceived.connect(self._on_event)
        self._dirty = QTimer(self)
        self._dirty.setSingleShot(True)
        self._dirty.timeout.connect(self.refresh)
        self.ticker = QTimer(self)
        self.ticker.timeout.connect(self.refresh)
        self.ticker.start(1000)
        self.poll = QTimer(self)
        self.poll.timeout.connect(self.ask_floor)
        self.poll.start(FLOOR_EVERY_MS)
        self.refresh()

    # ------------------------------------------------------------ building

    def _header(self) -> QHBoxLayout:
        top = QHBoxLayout()
        self.title = QLabel("一窗通 调度台 / OneWindow dispatch console")
        self.title.setObjectName("title")
        self.who = QLabel("")
        self.who.setObjectName("who")
        self.notice_button = QPushButton("发布公告… / Notice")
        self.notice_button.clicked.connect(self.post_notice)
        self.sign_out_button = QPushButton("签退 / Sign out")
        self.sign_out_button.clicked.connect(self.sign_out)
        top.addWidget(self.title, 1)
        top.addWidget(self.who)
        top.addWidget(self.notice_button)
        top.addWidget(self.sign_out_button)
        return top

    def _build_sign_in(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(660, 0, 660, 0)
        lay.addStretch()
        title = QLabel("调度台登录 / Dispatcher sign-in")
        title.setObjectName("signin")
        self.staff_edit = QLineEdit()
        self.staff_edit.setPlaceholderText("工号 / Staff id (e.g. staff-001)")
        self.pin_edit = QLineEdit()
        self.pin_edit.setPlaceholderText("密码 / PIN")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton("登录 / Sign in")
        self.sign_in_button.clicked.connect(self._on_sign_in)
        self.pin_edit.returnPressed.connect(self._on_sign_in)
        self.sign_in_error = QLabel("")
        self.sign_in_error.setObjectName("error")
        self.sign_in_error.setWordWrap(True)
        hint = QLabel("密码由叫号服务器核验，本机不保存 / The hub checks your PIN; this "
                      "console keeps none")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.staff_edit.setObjectName("signinfield")
        self.pin_edit.setObjectName("signinfield")
        self.sign_in_button.setObjectName("signinbutton")
        for w in (title, self.staff_edit, self.pin_edit, self.sign_in_button,
                  self.sign_in_error, hint):
            lay.addWidget(w)
        lay.addStretch()
        self.stack.addWidget(page)

    def _build_main(self) -> None:
        """Built once the hall's layout is known (the first snapshot)."""
        view = self.hub.view
        zones = list(view.hall.get("zones", {}))
        self.built_for = tuple(zones)
        lay = QVBoxLayout(self.main)
        lay.setContentsMargins(0, 0, 0, 0)
        self.zone_tabs = QTabWidget()
        self.floors: dict[str, FloorTab] = {}
        for z in zones:
            tab = self.floors[z] = FloorTab(z, self.select)
            self.zone_tabs.addTab(tab, f"{view.zone_name(z)} {z} / {view.zone_name(z, 'en')}")
        lay.addWidget(self.zone_tabs, 1)
        bottom = QHBoxLayout()
        self.panels = QTabWidget()
        self.alerts = AlertsPanel(self.act)
        self.balancing = BalancingPanel(self.act, [(z, view.zone_name(z)) for z in zones])
        self.cases = CasesPanel(self.act)
        self.devices = DevicesPanel()
        self.moves_panel = MovesPanel()
        for panel in (self.alerts, self.balancing, self.cases, self.devices, self.moves_panel):
            self.panels.addTab(panel, "")
        bottom.addWidget(self.panels, 4)
        bottom.addWidget(self._actions(), 1)
        holder = QWidget()
        holder.setLayout(bottom)
        holder.setFixedHeight(314)
        lay.addWidget(holder)

    # ------------------------------------------------------------ sign-in

    def _on_sign_in(self) -> None:
        staff, pin = self.staff_edit.text().strip(), self.pin_edit.text()
        self.pin_edit.clear()
        self.sign_in(staff, pin)

    def sign_in(self, staff: str, pin: str) -> bool:
        """Ask the hub; the floor opens only on its yes. False when nothing was sent."""
        if self.signing_in:
            return False
        if not staff or not pin:
            self.sign_in_error.setText("请输入工号和密码 / Enter your staff id and PIN")
            return False
        if not self.connected:
            self.sign_in_error.setText(error_words("unavailable"))
            return False
        self.signing_in = True
        self.sign_in_error.setText("… 正在登录 / Signing in")
        self.hub.send_command("staff_sign_in", {"staff": staff, "pin": pin},
                              timeout=SIGN_IN_TIMEOUT,
                              on_reply=lambda ok, p: self._signed_in(staff, ok, p))
        return True

    def _signed_in(self, staff: str, ok: bool, payload: dict[str, Any]) -> None:
        self.signing_in = False
        if not ok:
            text = error_words(payload.get("code", ""), payload.get("message", ""))
            if payload.get("code") == "sign_in_locked":
                text = (f"密码错误次数过多，请 {payload.get('retry_after', '?')} 秒后再试 / "
                        f"Too many wrong PINs: try again in {payload.get('retry_after', '?')} s")
            self.sign_in_error.setText(text)
            return
        person = payload.get("person") or {}
        self.staff = {"id": person.get("id") or staff, "name": person.get("name") or ""}
        self.staff_edit.clear()
        self.sign_in_error.setText("")
        self.say("")
        self.refresh()

    def sign_out(self) -> None:
        if self.staff is not None and self.connected:
            self.hub.send_command("staff_sign_out", {})
        self._back_to_sign_in("")

    def _back_to_sign_in(self, why: str) -> None:
        self.staff = None
        self.sign_in_error.setText(why)
        self.refresh()

    # ------------------------------------------------------------ showing

    def now(self) -> float:
        return self.hub.server_now()

    def schedule(self) -> None:
        """Redraw soon: a burst of events is drawn once."""
        if not self._dirty.isActive():
            self._dirty.start(150)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "profile_changed":
            self.moves.insert(0, move_of(self.hub.view, data))
            del self.moves[MOVES_KEPT:]

    def ask_floor(self) -> None:
        if self.connected:
            self.hub.send_query("floor", on_reply=self._on_floor)

    def _on_floor(self, ok: bool, payload: dict[str, Any]) -> None:
        if ok:
            self.floor = payload
            self.schedule()

    def refresh(self) -> None:
        view = self.hub.view
        self.banner.setVisible(not self.connected)
        if view.loaded and not self.built_for and view.hall.get("zones"):
            self._build_main()
        signed = self.staff is not None
        self.stack.setCurrentIndex(1 if signed and self.built_for else 0)
        self.who.setText(f"调度员 / Dispatcher: {self.staff['name']} ({self.staff['id']})"
                         if signed and self.staff else "")
        self.sign_out_button.setVisible(signed)
        self.notice_button.setVisible(signed)
        self.notice_button.setEnabled(self.connected and self.pending is None)
        self.sign_in_button.setEnabled(not self.signing_in)
        if not self.built_for:
            return
        title = view.hall.get("name", "")
        self.title.setText(f"一窗通 调度台 / Dispatch console — {title}")
        now = self.now()
        for z, tab in self.floors.items():
            tab.show_floor(tiles(view, z, now, self.floor), heat_words(view, z, self.floor),
                           self.selected)
            overdue = {q: 60 * float(view.hall.get("queues", {}).get(q, {}).get(
                "overdue_minutes") or 1e9) for q in view.queues_in(z)}
            tab.queues.show_rows(queue_rows(view, z, now, self.floor), overdue)
        self._show_panels(now)
        self._show_actions()

    def _show_panels(self, now: float) -> None:
        view = self.hub.view
        alerts = alert_rows(view)
        self.alerts.show_rows(alerts)
        suggestions = suggestion_rows(view)
        self.balancing.show_rows(suggestions, view.balancing)
        self.moves_panel.show_rows(self.moves)
        cases = case_rows(view, now)
        self.cases.show_rows(cases)
        devices = device_rows(view)
        self.devices.show_rows(devices)
        new = sum(not a.acknowledged for a in alerts)
        late = sum(c.overdue for c in cases)
        offline = sum(d.online.startswith("离线") for d in devices)
        faults = sum(d.fault != "正常 ok" for d in devices)
        for i, text in enumerate((
                f"告警 Alerts ({len(alerts)}, 未确认 {new})",
                f"调度建议 Balancing ({len(suggestions)})",
                f"差评 Cases ({len(cases)}, 逾期 {late})",
                f"设备 Devices ({len(devices)}: 离线 {offline}, 故障 {faults})",
                f"调整记录 Moves ({len(self.moves)})")):
            self.panels.setTabText(i, text)

    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "color: #1b5e20;")

    # ------------------------------------------------------------ screenshots

    def screenshot(self, path: str | Path, size: QSize = SIZE) -> Path:
        self.resize(size)
        self.refresh()
        self.show()
        QApplication.processEvents()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.grab().save(str(path))
        return path


def screenshots(console: Console, prefix: str) -> list[Path]:
    """PREFIX-sign-in.png, then PREFIX-floor.png as a preview (nobody is signed in:
    nothing is sent, the action buttons are off)."""
    shots = [console.screenshot(f"{prefix}-sign-in.png")]
    console.staff = {"id": "—", "name": "预览 preview"}
    shots.append(console.screenshot(f"{prefix}-floor.png"))
    console.staff = None
    return shots

