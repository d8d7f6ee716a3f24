"""The window clerk's caller panel (PySide6) over caller.model.

A sign-in screen (clerk id + PIN, checked against the clerks file) and then the
panel: the window's state, the ticket it holds, its queues, and the action
buttons with shortcuts F1–F8. Every action goes through QtHubClient with
``actor`` = the clerk id; the panel shows "…" until the hub replies and shows
nothing as done before that. Errors are shown in clerk words
(caller.model.error_words). While the hub is unreachable a red banner shows and
every button is disabled; an action asked for then sends nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dispatcher.client.qt import QtHubClient

from .clerks import Clerk, verify
from .model import PAUSE_REASONS, command_args, error_words, fmt_duration, panel_state

#: action → (label, shortcut); F7 toggles pause/resume
BUTTONS: dict[str, tuple[str, str]] = {
    "call_next": ("呼叫下一位\nCall next", "F1"),
    "recall": ("重呼\nRecall", "F2"),
    "start": ("开始办理\nStart", "F3"),
    "finish": ("办结\nFinish", "F4"),
    "no_show": ("过号\nNo-show", "F5"),
    "transfer": ("转移…\nTransfer", "F6"),
    "hold": ("挂起\nHold aside", "F9"),
    "call_back": ("回呼\nCall back", "F10"),
    "call_ticket": ("指定呼叫…\nCall a number", "F8"),
    "pause": ("暂停…\nPause", "F7"),
    "resume": ("恢复\nResume", "F7"),
    "open": ("开窗\nOpen window", ""),
    "close": ("关窗\nClose window", ""),
}
COLUMNS = 5

DONE_WORDS = {
    "call_next": "已呼叫 / Called", "call_ticket": "已呼叫 / Called",
    "recall": "已重呼 / Called again", "start": "开始办理 / Service started",
    "finish": "已办结 / Finished", "no_show": "已过号 / Marked no-show",
    "transfer": "已转移 / Transferred", "pause": "已暂停 / Paused",
    "resume": "已恢复 / Resumed", "open": "已开窗 / Window open",
    "hold": "已挂起 / Held aside", "call_back": "已回呼 / Called back",
    "close": "已关窗 / Window closed",
}

STYLE = """
QWidget { font-size: 18px; }
QLabel#number { font-size: 72px; font-weight: bold; color: #0b5394; }
QLabel#number[stale="true"] { color: #9e9e9e; }
QLabel#title { font-size: 24px; font-weight: bold; }
QLabel#state { font-size: 22px; }
QLabel#banner { background: #c62828; color: white; font-size: 20px; padding: 8px; }
QLabel#message { font-size: 20px; padding: 6px; }
QLabel#error { color: #c62828; }
QLabel#held { color: #e65100; font-weight: bold; }
QPushButton { min-height: 64px; font-size: 18px; }
QPushButton:disabled { color: #9e9e9e; }
"""


class TransferDialog(QDialog):
    """To a unit queue (the ticket keeps its place) or to a named window."""

    def __init__(self, parent: QWidget, queues: list[tuple[str, str]],
                 windows: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("转移 / Transfer")
        lay = QVBoxLayout(self)
        self.to_queue = QRadioButton("转到队列（保留排队位置） / To a queue, keeping its place")
        self.to_window = QRadioButton("转到指定窗口 / To a named window")
        self.to_queue.setChecked(True)
        self.queue_box, self.window_box = QComboBox(), QComboBox()
        for qid, name in queues:
            self.queue_box.addItem(f"{name} ({qid})", qid)
        for wid, name in windows:
            self.window_box.addItem(f"{name} ({wid})", wid)
        for w in (self.to_queue, self.queue_box, self.to_window, self.window_box):
            lay.addWidget(w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def target(self) -> dict[str, str]:
        if self.to_queue.isChecked():
            return {"to_queue": self.queue_box.currentData()}
        return {"to_window": self.window_box.currentData()}


class CallerPanel(QWidget):
    def __init__(self, hub: QtHubClient, window: str, clerks: dict[str, Clerk], *,
                 clock: Any = time.time) -> None:
        super().__init__()
        self.hub, self.window_id, self.clerks, self.clock = hub, window, clerks, clock
        self.clerk: Clerk | None = None
        self.pending: str | None = None      # the action waiting for its reply
        self.signing_in = False              # a sign_in to the hub awaits its reply
        self.sent: list[tuple[str, dict[str, Any]]] = []   # every command sent (tests)
        self.setStyleSheet(STYLE)
        self.setWindowTitle(f"一窗通 叫号 / OneWindow caller — {window}")
        self.stack = QStackedWidget()
        outer = QVBoxLayout(self)
        self.banner = QLabel("⚠ 与叫号服务器的连接已断开，操作暂不可用 / "
                             "Not connected to the hub: actions are off")
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        outer.addWidget(self.banner)
        outer.addWidget(self.stack)
        self._build_sign_in()
        self._build_panel()
        hub.statusChanged.connect(lambda _s: self.refresh())
        hub.viewChanged.connect(self.refresh)
        hub.eventReceived.connect(self._on_event)
        self.offset = 0.0      # hub clock − this machine's clock, from the last event
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(1000)
        self.refresh()

    # ------------------------------------------------------------ building

    def _build_sign_in(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(220, 0, 220, 0)
        lay.addStretch()
        title = QLabel(f"窗口 {self.window_id} 签到 / Sign in")
        title.setObjectName("title")
        self.clerk_edit = QLineEdit()
        self.clerk_edit.setPlaceholderText("工号 / Clerk id (e.g. clerk-017)")
        self.pin_edit = QLineEdit()
        self.pin_edit.setPlaceholderText("密码 / PIN")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton("登录 / Sign in")
        self.sign_in_button.clicked.connect(self._on_sign_in)
        self.pin_edit.returnPressed.connect(self._on_sign_in)
        self.sign_in_error = QLabel("")
        self.sign_in_error.setObjectName("error")
        for w in (title, self.clerk_edit, self.pin_edit, self.sign_in_button,
                  self.sign_in_error):
            lay.addWidget(w)
        lay.addStretch()
        self.stack.addWidget(page)

    def _build_panel(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("title")
        self.who = QLabel()
        self.sign_out_button = QPushButton("签退 / Sign out")
        self.sign_out_button.setMinimumHeight(40)
        self.sign_out_button.setStyleSheet("min-height: 40px;")
        self.sign_out_button.clicked.connect(self.sign_out)
        top.addWidget(self.title, 1)
        top.addWidget(self.who)
        top.addWidget(self.sign_out_button)
        lay.addLayout(top)
        self.state_label = QLabel()
        self.state_label.setObjectName("state")
        self.number = QLabel("—")
        self.number.setObjectName("number")
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.queues_label = QLabel()
        self.queues_label.setWordWrap(True)
        self.held_label = QLabel()
        self.held_label.setObjectName("held")
        for w in (self.state_label, self.number, self.detail, self.queues_label,
                  self.held_label):
            lay.addWidget(w)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (action, (label, key)) in enumerate(BUTTONS.items()):
            b = QPushButton(f"{label}" + (f"  [{key}]" if key else ""))
            b.clicked.connect(lambda _c=False, a=action: self.trigger(a))
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            self.buttons[action] = b
        lay.addLayout(grid)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        for key, action in (("F1", "call_next"), ("F2", "recall"), ("F3", "start"),
                            ("F4", "finish"), ("F5", "no_show"), ("F6", "transfer"),
                            ("F7", "pause_resume"), ("F8", "call_ticket"), ("F9", "hold"),
                            ("F10", "call_back")):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda a=action: self.trigger(a))
        self.stack.addWidget(page)

    # ------------------------------------------------------------ sign-in

    def _on_sign_in(self) -> None:
        if not self.sign_in(self.clerk_edit.text().strip(), self.pin_edit.text()):
            self.sign_in_error.setText("工号或密码不对 / Wrong clerk id or PIN")
        self.pin_edit.clear()

    def sign_in(self, clerk_id: str, pin: str) -> bool:
        clerk = self.clerks.get(clerk_id)
        if clerk is None or not verify(clerk, pin):
            return False
        self.clerk, self.signing_in = clerk, False
        self.sign_in_error.setText("")
        self.stack.setCurrentIndex(1)
        self.refresh()
        return True

    def sign_out(self) -> None:
        self.clerk, self.signing_in = None, False
        self.stack.setCurrentIndex(0)
        if self.connected:
            self.hub.send_command("sign_in", {"window": self.window_id, "clerk": ""})
        self.refresh()

    def _tell_hub_the_clerk(self, at_window: str | None) -> None:
        """Sign the clerk in at the hub, so calls and ratings carry the clerk: after the
        PIN, and again whenever the hub has someone else there (a new day, a restart)."""
        if self.clerk is None or not self.connected or self.signing_in:
            return
        if at_window == self.clerk.id:
            return
        self.signing_in = True
        self.hub.send_command("sign_in", {"window": self.window_id, "clerk": self.clerk.id},
                              actor=self.clerk.id, on_reply=self._signed_in)

    def _signed_in(self, ok: bool, payload: dict[str, Any]) -> None:
        code = payload.get("code", "")
        if ok or code in ("timeout", "unavailable"):
            self.signing_in = False      # done, or try again on the next refresh
            return
        # refused (a device without the right): say so once, and do not retry
        self._say(error_words(code, payload.get("message", "")), error=True)

    # ------------------------------------------------------------ showing

    @property
    def connected(self) -> bool:
        return bool(self.hub.connected and self.hub.view.loaded)

    def _on_event(self, _name: str, data: dict[str, Any]) -> None:
        if isinstance(data.get("at"), (int, float)):
            self.offset = data["at"] - self.clock()

    def state(self) -> Any:
        return panel_state(self.hub.view, self.window_id, self.clock() + self.offset,
                           connected=self.connected)

    def refresh(self) -> None:
        self.banner.setVisible(not self.connected)
        p = self.state()
        self._tell_hub_the_clerk(p.clerk)
        self.title.setText(f"{p.window_name} ({self.window_id})")
        self.who.setText(f"{self.clerk.name} ({self.clerk.id})" if self.clerk else "")
        state = p.state_words
        if p.pause_reason and p.state == "paused":
            state += f" — {p.pause_reason}"
        if not self.connected:   # what the hub last said, which may have changed since
            state += "（断线前 / as last seen）"
        self.state_label.setText(f"状态 / State: {state}")
        self.number.setProperty("stale", not self.connected)
        self.number.style().polish(self.number)
        self.number.setText(p.number or "—")
        if p.ticket:
            extra = f"办理 / Serving for {fmt_duration(p.serving_s)}" if p.serving_s is not None \
                else ""
            self.detail.setText(f"{p.queue_name}  ·  {p.ticket_class}  ·  "
                                f"等候 / Waited {fmt_duration(p.waited_s)}  {extra}")
        else:
            self.detail.setText("当前没有号 / No ticket at this window"
                                if p.state in ("idle", "paused") else "")
        rows = [f"{'主办' if q.tier == 'main' else '兼办'} {q.name}: 等候 {q.waiting} 人 / "
                f"{q.waiting} waiting, 最久 / longest {fmt_duration(q.longest_wait_s)}"
                for q in p.queues]
        if p.waiting_for_window:
            rows.append(f"转给本窗口 / Sent to this window: {p.waiting_for_window}")
        self.queues_label.setText("\n".join(rows))
        self.held_label.setText(f"挂起待回呼 / Held aside: {'、'.join(p.held)}" if p.held else "")
        self.held_label.setVisible(bool(p.held))
        on = p.enabled if (self.clerk and self.pending is None) else frozenset()
        for action, b in self.buttons.items():
            b.setEnabled(action in on)
        if self.pending is not None:
            self.message.setText("… 等待服务器确认 / Waiting for the hub")

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c62828;" if error else "color: #1b5e20;")

    # ------------------------------------------------------------ actions

    def trigger(self, action: str) -> None:
        """A button or shortcut: asks what it needs (dialogs), then acts."""
        p = self.state()
        if action == "pause_resume":
            action = "resume" if p.state == "paused" else "pause"
        if not self._allowed(action):
            return
        if action == "pause":
            reason, ok = QInputDialog.getItem(self, "暂停原因 / Pause reason",
                                              "暂停原因 / Reason:", list(PAUSE_REASONS), 0, False)
            if ok:
                self.act("pause", reason=reason)
        elif action == "transfer":
            dialog = TransferDialog(self, self._queue_choices(), self._window_choices())
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.act("transfer", ticket=p.ticket, **dialog.target())
        elif action == "call_ticket":
            number, ok = QInputDialog.getText(self, "指定呼叫 / Call a number",
                                              "号码 / Number (e.g. B018):")
            if ok and number.strip():
                self.call_number(number.strip().upper())
        else:
            self.act(action)

    def _allowed(self, action: str) -> bool:
        return (self.clerk is not None and self.pending is None and self.connected
                and action in self.state().enabled)

    def call_number(self, number: str) -> bool:
        found = [t for t in self.hub.view.tickets.values() if t.get("number") == number
                 and t.get("state") in ("waiting", "no_show")]
        if not found:
            self._say(error_words("unknown_ticket"), error=True)
            return False
        return self.act("call_ticket", ticket=found[-1]["id"])

    def act(self, action: str, **extra: Any) -> bool:
        """Send the action's command; False (nothing sent) when not allowed now."""
        if not self._allowed(action):
            if not self.connected:
                self._say(error_words("unavailable"), error=True)
            return False
        assert self.clerk is not None
        name, args = command_args(action, self.window_id, **extra)
        self.pending = action
        self.sent.append((name, args))
        self.refresh()
        self.hub.send_command(name, args, actor=self.clerk.id,
                              on_reply=lambda ok, payload: self._on_reply(action, ok, payload))
        return True

    def _on_reply(self, action: str, ok: bool, payload: dict[str, Any]) -> None:
        self.pending = None
        if ok:
            number = (payload.get("ticket") or {}).get("number", "")
            self._say(f"{DONE_WORDS.get(action, '完成 / Done')} {number}".strip())
        else:
            self._say(error_words(payload.get("code", ""), payload.get("message", "")),
                      error=True)
        self.refresh()

    def _queue_choices(self) -> list[tuple[str, str]]:
        return [(q, self.hub.view.queue_name(q)) for q in self.hub.view.hall.get("queues", {})]

    def _window_choices(self) -> list[tuple[str, str]]:
        return [(w, self.hub.view.window_name(w)) for w in self.hub.view.windows
                if w != self.window_id]

    # ------------------------------------------------------------ screenshots

    def screenshot(self, path: str | Path, size: QSize | None = None) -> Path:
        self.resize(size or QSize(1024, 700))
        self.refresh()
        self.show()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.grab().save(str(path))
        return path


def screenshots(panel: CallerPanel, prefix: str) -> list[Path]:
    """PREFIX-sign-in.png, then PREFIX-panel.png signed in as the first clerk of the file
    (no command is sent: the panel as the hub has it now)."""
    shots = [panel.screenshot(f"{prefix}-sign-in.png")]
    clerk = next(iter(panel.clerks.values()), None)
    if clerk is not None:
        panel.clerk = clerk
        panel.stack.setCurrentIndex(1)
        shots.append(panel.screenshot(f"{prefix}-panel.png"))
    return shots
