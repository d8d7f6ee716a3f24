"""The window clerk's caller panel (PySide6) over caller.model.

A sign-in screen (clerk id + PIN, sent to the hub, which checks them: the panel
keeps no PIN) and, once the hub says yes, the panel: the window's state, the ticket
it holds, its queues, and the action buttons with shortcuts F1–F11. Every action
goes through QtHubClient; the hub records the clerk it has signed in at the window
as the actor. The panel shows "…" until the hub replies and shows nothing as done
before that. Errors are shown in clerk words (caller.model.error_words). While the
hub is unreachable a red banner shows and every button is disabled; an action asked
for then sends nothing. When the hub no longer has this clerk at the window (signed
out at the console, another clerk, a new day) the panel goes back to sign-in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
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
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dispatcher.client import touch
from dispatcher.client.qt import QtHubClient

from .model import (
    EMPTY_SIGN_IN,
    KEYS,
    PAUSE_REASONS,
    SIGNING_IN,
    TRY_AGAIN,
    command_args,
    error_words,
    fmt_duration,
    locked_words,
    outcome_choices,
    outcome_needed,
    panel_state,
    signed_out_words,
)
from .outcome import OutcomeDialog
from .outcome import screenshot as outcome_screenshot

#: action → (label, shortcut); pause and resume have keys of their own (caller.model.KEYS)
LABELS: dict[str, str] = {
    "call_next": "呼叫下一位\nCall next",
    "recall": "重呼\nRecall",
    "start": "开始办理\nStart",
    "finish": "办结\nFinish",
    "no_show": "过号\nNo-show",
    "transfer": "转移…\nTransfer",
    "hold": "挂起\nHold aside",
    "call_back": "回呼\nCall back",
    "call_ticket": "指定呼叫…\nCall a number",
    "pause": "暂停…\nPause",
    "resume": "恢复\nResume",
    "open": "开窗\nOpen window",
    "close": "关窗\nClose window",
}
BUTTONS: dict[str, tuple[str, str]] = {a: (label, KEYS.get(a, "")) for a, label in LABELS.items()}
#: the house button kinds (touch.page_style): the main action blue, finishing green
KINDS = {"call_next": "primary", "finish": "green", "open": "green"}
COLUMNS = 5
SIGN_IN_TIMEOUT = 10.0   # s: a sign-in (and its PIN) is not resent after this


@dataclass(frozen=True)
class Clerk:
    """The clerk the hub signed in at this window, as its reply named them."""

    id: str
    name: str


PREVIEW_CLERK = Clerk("clerk-017", "王芳")   # the sample hall's, for screenshots only

DONE_WORDS = {
    "call_next": "已呼叫 / Called", "call_ticket": "已呼叫 / Called",
    "recall": "已重呼 / Called again", "start": "开始办理 / Service started",
    "finish": "已办结 / Finished", "no_show": "已过号 / Marked no-show",
    "transfer": "已转移 / Transferred", "pause": "已暂停 / Paused",
    "resume": "已恢复 / Resumed", "open": "已开窗 / Window open",
    "hold": "已挂起 / Held aside", "call_back": "已回呼 / Called back",
    "close": "已关窗 / Window closed",
}

# The kiosk's standard (dispatcher.client.touch): its font, page and button colours,
# one colour per window state, and room between things.
STATE_COLOURS = {"idle": touch.GREEN, "calling": touch.BLUE, "serving": touch.GREEN,
                 "paused": touch.AMBER, "closed": touch.MUTED}
STYLE = touch.page_style("panel") + f"""
QWidget {{ font-family: "{touch.FONT_FAMILY}"; font-size: 20px; }}
QLineEdit {{ font-size: 24px; padding: 10px; border: 3px solid {touch.BORDER};
             border-radius: 12px; background: white; }}
QLabel#number {{ font-size: 72px; font-weight: bold; color: {touch.BLUE}; }}
QLabel#number[stale="true"] {{ color: #9e9e9e; }}
QLabel#title {{ font-size: 26px; font-weight: bold; }}
QLabel#who {{ font-size: 22px; }}
QLabel#state {{ font-size: 24px; font-weight: bold; }}
""" + "".join(f'QLabel#state[state="{k}"] {{ color: {c}; }}\n'
              for k, c in STATE_COLOURS.items()) + f"""
QLabel#state[stale="true"] {{ color: {touch.MUTED}; }}
QLabel#detail {{ font-size: 22px; }}
QLabel#queues {{ color: {touch.INK}; }}
QLabel#banner {{ background: {touch.RED}; color: white; font-size: 22px; padding: 6px;
                 font-weight: bold; }}
QLabel#message {{ font-size: 22px; padding: 2px 6px; }}
QLabel#error {{ color: {touch.RED}; font-size: 22px; }}
QLabel#hint {{ color: {touch.GREEN}; font-size: 22px; }}
QLabel#held {{ color: {touch.AMBER}; font-weight: bold; }}
QPushButton {{ min-height: 60px; font-size: 20px; border-radius: 12px; }}
QPushButton:disabled {{ background: #e9ecf0; color: {touch.MUTED}; border: 3px solid #d5dbe3; }}
QPushButton#signOut {{ min-height: 44px; padding: 0 16px; }}
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
    def __init__(self, hub: QtHubClient, window: str, *, clock: Any = time.time) -> None:
        super().__init__()
        self.hub, self.window_id, self.clock = hub, window, clock
        self.clerk: Clerk | None = None      # signed in, as the hub's reply said
        self.seen_at_hub = False             # the hub's view has shown self.clerk here
        self.pending: str | None = None      # the action waiting for its reply
        self.signing_in = False              # a sign_in to the hub awaits its reply
        self.locked_until: float | None = None   # monotonic end of a sign_in_locked
        self.sent: list[tuple[str, dict[str, Any]]] = []   # every command sent (tests)
        self.setObjectName("panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self.setWindowTitle(f"一窗通 叫号 / OneWindow caller — {window}")
        self.stack = QStackedWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 12, 20, 12)
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
        lay.setSpacing(14)
        lay.addStretch()
        title = QLabel(f"窗口 {self.window_id} 签到 / Sign in")
        title.setObjectName("title")
        self.clerk_edit = QLineEdit()
        self.clerk_edit.setPlaceholderText("工号 / Clerk id (e.g. clerk-017)")
        self.pin_edit = QLineEdit()
        self.pin_edit.setPlaceholderText("密码 / PIN")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = QPushButton("登录 / Sign in")
        self.sign_in_button.setProperty("kind", "primary")
        self.sign_in_button.clicked.connect(self._on_sign_in)
        self.pin_edit.returnPressed.connect(self._on_sign_in)
        self.sign_in_error = QLabel("")
        self.sign_in_error.setObjectName("error")
        self.sign_in_error.setWordWrap(True)
        for w in (title, self.clerk_edit, self.pin_edit, self.sign_in_button,
                  self.sign_in_error):
            lay.addWidget(w)
        lay.addStretch()
        self.stack.addWidget(page)

    def _build_panel(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(5)
        top = QHBoxLayout()
        top.setSpacing(16)
        self.title = QLabel()
        self.title.setObjectName("title")
        self.title.setWordWrap(True)     # a long window name wraps; the clerk's name never
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.who = QLabel()
        self.who.setObjectName("who")
        self.who.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.sign_out_button = QPushButton("签退 / Sign out")
        self.sign_out_button.setObjectName("signOut")
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
        self.detail.setObjectName("detail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.queues_label = QLabel()
        self.queues_label.setObjectName("queues")
        self.queues_label.setWordWrap(True)
        self.held_label = QLabel()
        self.held_label.setObjectName("held")
        for w in (self.state_label, self.number, self.detail, self.queues_label,
                  self.held_label):
            lay.addWidget(w)
        # the lines above change with the window's state (a held ticket, a transfer):
        # they take from this stretch, so the buttons below never move
        lay.addStretch(1)
        grid = QGridLayout()
        grid.setSpacing(8)
        self.buttons: dict[str, QPushButton] = {}
        for i, (action, (label, key)) in enumerate(BUTTONS.items()):
            b = QPushButton(f"{label}" + (f"  [{key}]" if key else ""))
            if action in KINDS:
                b.setProperty("kind", KINDS[action])
            b.clicked.connect(lambda _c=False, a=action: self.trigger(a))
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            self.buttons[action] = b
        lay.addLayout(grid)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.shortcuts: dict[str, QShortcut] = {}
        for action, key in KEYS.items():
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda a=action: self.trigger(a))
            self.shortcuts[action] = sc
        self.stack.addWidget(page)

    # ------------------------------------------------------------ sign-in

    def _on_sign_in(self) -> None:
        clerk_id, pin = self.clerk_edit.text().strip(), self.pin_edit.text()
        self.pin_edit.clear()
        self.sign_in(clerk_id, pin)

    def sign_in(self, clerk_id: str, pin: str) -> bool:
        """Ask the hub to sign ``clerk_id`` in here; the panel opens only on its yes.
        False (nothing sent) when a field is empty, the hub is away or one is asked."""
        if self.signing_in:
            return False
        if not clerk_id or not pin:
            self._sign_in_says(EMPTY_SIGN_IN)
            return False
        if not self.connected:
            self._sign_in_says(error_words("unavailable"))
            return False
        self.signing_in, self.locked_until = True, None
        self._sign_in_says(SIGNING_IN, hint=True)
        self.hub.send_command(
            "sign_in", {"window": self.window_id, "clerk": clerk_id, "pin": pin},
            timeout=SIGN_IN_TIMEOUT,
            on_reply=lambda ok, payload: self._signed_in(clerk_id, ok, payload))
        self.refresh()
        return True

    def _signed_in(self, clerk_id: str, ok: bool, payload: dict[str, Any]) -> None:
        self.signing_in = False
        if ok:
            person = payload.get("person") or {}
            self.clerk = Clerk(person.get("id") or clerk_id, person.get("name") or "")
            self.seen_at_hub = False
            self.clerk_edit.clear()
            self._sign_in_says("")
            self._say("")
            self.stack.setCurrentIndex(1)
        elif payload.get("code") == "sign_in_locked":
            wait = payload.get("retry_after")
            self.locked_until = time.monotonic() + (
                float(wait) if isinstance(wait, (int, float)) else 1.0)
        else:
            self._sign_in_says(error_words(payload.get("code", ""),
                                           payload.get("message", "")))
        self.refresh()

    def sign_out(self) -> None:
        if self.connected:
            self.hub.send_command("sign_in", {"window": self.window_id, "clerk": ""})
        self._back_to_sign_in("")

    def _back_to_sign_in(self, why: str) -> None:
        self.clerk, self.seen_at_hub = None, False
        self.stack.setCurrentIndex(0)
        self._sign_in_says(why, hint=False)
        self.refresh()

    def _follow_hub(self, at_window: str | None) -> None:
        """Once the hub has shown this clerk here, someone else there (or nobody: the
        console signed them out, a new day) sends the panel back to sign-in."""
        if self.clerk is None or not self.connected:
            return
        if at_window == self.clerk.id:
            self.seen_at_hub = True
        elif self.seen_at_hub:
            self._back_to_sign_in(signed_out_words(at_window))

    def _sign_in_says(self, text: str, hint: bool = False) -> None:
        """A line under the sign-in fields: Chinese over English, red unless a hint."""
        label = self.sign_in_error
        label.setObjectName("hint" if hint else "error")
        label.style().polish(label)          # the font first, so the height fits it
        label.setText(text.replace(" / ", "\n", 1))
        label.updateGeometry()

    def _show_lock(self) -> None:
        """The seconds left of a sign_in_locked, counting down, then "try again"."""
        if self.locked_until is None:
            return
        left = self.locked_until - time.monotonic()
        if left > 0:
            self._sign_in_says(locked_words(left))
        else:
            self.locked_until = None
            self._sign_in_says(TRY_AGAIN, hint=True)

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
        self._follow_hub(p.clerk)
        self._show_lock()
        self.sign_in_button.setEnabled(not self.signing_in)
        self.title.setText(f"{p.window_name} ({self.window_id})")
        who = self._who()
        if who != self.who.text():
            self.who.setText(who)
            self.who.ensurePolished()    # its own font, so the width is the shown text's
            self.who.setMinimumWidth(QFontMetrics(self.who.font()).horizontalAdvance(who)
                                     + 2 * self.who.margin() + 4)
        state = p.state_words
        if p.pause_reason and p.state == "paused":
            state += f" — {p.pause_reason}"
        if not self.connected:   # what the hub last said, which may have changed since
            state += "（断线前 / as last seen）"
        self.state_label.setText(f"状态 / State: {state}")
        self.state_label.setProperty("state", p.state)
        self.state_label.setProperty("stale", not self.connected)
        self.state_label.style().polish(self.state_label)
        self.number.setProperty("stale", not self.connected)
        self.number.style().polish(self.number)
        self.number.setText(p.number or "—")
        if p.ticket:
            extra = f"办理 / Serving for {fmt_duration(p.serving_s)}" if p.serving_s is not None \
                else ""
            self.detail.setText("  ·  ".join(x for x in (
                p.queue_name, p.ticket_class, f"等候 / Waited {fmt_duration(p.waited_s)}",
                extra) if x))
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
        self.held_label.ensurePolished()     # its line is kept even while nothing is held
        self.held_label.setMinimumHeight(QFontMetrics(self.held_label.font()).height())
        on = p.enabled if (self.clerk and self.pending is None) else frozenset()
        for action, b in self.buttons.items():
            b.setEnabled(action in on)
        if self.pending is not None:
            self.message.setText("… 等待服务器确认 / Waiting for the hub")

    def _who(self) -> str:
        if self.clerk is None:
            return ""
        return f"{self.clerk.name} ({self.clerk.id})" if self.clerk.name else self.clerk.id

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {touch.RED if error else touch.GREEN};")

    # ------------------------------------------------------------ actions

    def trigger(self, action: str) -> None:
        """A button or shortcut: asks what it needs (dialogs), then acts."""
        p = self.state()
        if not self._allowed(action):
            return
        outcome = self.ask_outcome(action)
        if outcome is None:
            return                               # the outcome dialog was cancelled
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
                self.call_number(number.strip().upper(), **outcome)
        else:
            self.act(action, **outcome)

    def ask_outcome(self, action: str) -> dict[str, str] | None:
        """The outcome (办件结果) of the ticket the action finishes, asked when its queue
        requires one: {} when nothing needs asking, None when the clerk cancelled."""
        if not outcome_needed(self.hub.view, self.window_id, action):
            return {}
        p = self.state()
        dialog = OutcomeDialog(self, outcome_choices(self.hub.view), p.number or "",
                               p.queue_name)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.result_args()

    def _allowed(self, action: str) -> bool:
        return (self.clerk is not None and self.pending is None and self.connected
                and action in self.state().enabled)

    def call_number(self, number: str, **outcome: str) -> bool:
        found = [t for t in self.hub.view.tickets.values() if t.get("number") == number
                 and t.get("state") in ("waiting", "no_show")]
        if not found:
            self._say(error_words("unknown_ticket"), error=True)
            return False
        return self.act("call_ticket", ticket=found[-1]["id"], **outcome)

    def act(self, action: str, **extra: Any) -> bool:
        """Send the action's command; False (nothing sent) when not allowed now."""
        if not self._allowed(action):
            if not self.connected:
                self._say(error_words("unavailable"), error=True)
            return False
        name, args = command_args(action, self.window_id, **extra)
        self.pending = action
        self.sent.append((name, args))
        self.refresh()
        self.hub.send_command(name, args,
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
        QApplication.processEvents()         # lay out what refresh changed before the grab
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.grab().save(str(path))
        return path


def screenshots(panel: CallerPanel, prefix: str) -> list[Path]:
    """PREFIX-sign-in.png, -sign-in-wrong-pin.png and -sign-in-locked.png (the hub's
    refusals as the panel shows them), then PREFIX-panel.png signed in as the clerk the
    hub has at the window, or the sample hall's clerk-017, and PREFIX-outcome.png, the
    outcome dialog of 办结 (when the hall has outcome codes). Nothing is sent."""
    shots = [panel.screenshot(f"{prefix}-sign-in.png")]
    panel.clerk_edit.setText(PREVIEW_CLERK.id)
    panel._signed_in(PREVIEW_CLERK.id, False, {"code": "wrong_pin"})
    shots.append(panel.screenshot(f"{prefix}-sign-in-wrong-pin.png"))
    panel._signed_in(PREVIEW_CLERK.id, False, {"code": "sign_in_locked", "retry_after": 8})
    shots.append(panel.screenshot(f"{prefix}-sign-in-locked.png"))
    panel.locked_until = None
    panel._sign_in_says("")
    at_hub = panel.state().clerk
    panel.clerk = Clerk(at_hub, "") if at_hub else PREVIEW_CLERK
    panel.stack.setCurrentIndex(1)
    shots.append(panel.screenshot(f"{prefix}-panel.png"))
    choices = outcome_choices(panel.hub.view)
    if choices:                               # the hall has outcome codes (办件结果)
        shots.append(outcome_screenshot(panel, choices, f"{prefix}-outcome.png"))
    return shots
