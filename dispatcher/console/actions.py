"""The console's actions: on the selected window and on a ticket by number, each one
hub command (``act``), with the reply said on the message line. A mixin of Console."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dispatcher.client.qt import QtHubClient

from .dialogs import MoveDialog, NoticeDialog, TransferDialog
from .model import PAUSE_REASONS, STATE_WORDS, error_words, find_ticket

#: the window buttons allowed in each window state (the hub has the last word)
ALLOWED: dict[str, set[str]] = {
    "closed": {"open", "move"}, "idle": {"close", "pause", "move", "call"},
    "calling": {"move", "finish"}, "serving": {"move", "finish"},
    "paused": {"resume", "close", "move"}}


class Actions(QWidget):
    hub: QtHubClient
    staff: dict[str, str] | None
    pending: str | None
    selected: str | None
    sent: list[tuple[str, dict[str, Any]]]

    @property
    def connected(self) -> bool:
        return bool(self.hub.connected and self.hub.view.loaded)

    def refresh(self) -> None: ...
    def say(self, text: str, error: bool = False) -> None: ...
    def ask_floor(self) -> None: ...
    def _back_to_sign_in(self, why: str) -> None: ...

    def _actions(self) -> QGroupBox:
        box = QGroupBox("操作 / Actions")
        lay = QVBoxLayout(box)
        self.selected_label = QLabel("点击窗口以选中 / Click a window")
        self.selected_label.setObjectName("selected")
        lay.addWidget(self.selected_label)
        grid = QGridLayout()
        self.window_buttons: dict[str, QPushButton] = {}
        for i, (action, label) in enumerate((
                ("open", "开窗\nOpen"), ("close", "关窗\nClose"), ("pause", "暂停…\nPause"),
                ("resume", "恢复\nResume"), ("move", "调整业务…\nMove"),
                ("finish", "办结\nFinish"), ("call", "呼叫此号\nCall No."))):
            b = QPushButton(label)
            b.clicked.connect(lambda _c=False, a=action: self.window_action(a))
            grid.addWidget(b, i // 3, i % 3)
            self.window_buttons[action] = b
        lay.addLayout(grid)
        self.number_edit = QLineEdit()
        self.number_edit.setPlaceholderText("号码 / Ticket No. (B018)")
        lay.addWidget(self.number_edit)
        row = QHBoxLayout()
        self.transfer_button = QPushButton("转移… Transfer")
        self.transfer_button.clicked.connect(self.transfer)
        self.cancel_button = QPushButton("取消号… Cancel")
        self.cancel_button.clicked.connect(self.cancel_ticket)
        row.addWidget(self.transfer_button)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        lay.addStretch()
        return box


    def _show_actions(self) -> None:
        w = self.hub.view.window(self.selected) if self.selected else None
        state = (w or {}).get("state", "")
        if w is None:
            self.selected_label.setText("点击窗口以选中 / Click a window")
        else:
            zh, en = STATE_WORDS.get(state, (state, state))
            self.selected_label.setText(f"选中 Selected: {self.selected} {zh} {en}"
                                        + (f" {w.get('number')}" if w.get("number") else ""))
        free = self.connected and self.pending is None and self.staff is not None
        allowed = ALLOWED.get(state, set())
        for action, b in self.window_buttons.items():
            b.setEnabled(free and action in allowed)
        for b in (self.transfer_button, self.cancel_button):
            b.setEnabled(free)

    # ------------------------------------------------------------ actions

    def select(self, window: str) -> None:
        self.selected = window
        self.refresh()

    def act(self, name: str, args: dict[str, Any], done: str) -> bool:
        """Send one command; the reply says done or the hub's refusal. False (nothing
        sent) while another waits, nobody is signed in, or the hub is away."""
        if self.pending is not None or self.staff is None:
            return False
        if not self.connected:
            self.say(error_words("unavailable"), error=True)
            return False
        self.pending = name
        self.sent.append((name, args))
        self.say("… 等待服务器确认 / Waiting for the hub")
        self.refresh()
        self.hub.send_command(name, args,
                              on_reply=lambda ok, p: self._on_reply(done, ok, p))
        return True

    def _on_reply(self, done: str, ok: bool, payload: dict[str, Any]) -> None:
        self.pending = None
        if ok:
            self.say(done)
            self.ask_floor()
        elif payload.get("code") == "not_signed_in":
            self._back_to_sign_in(error_words("not_signed_in", payload.get("message", "")))
            self.say("")
        else:
            self.say(error_words(payload.get("code", ""), payload.get("message", "")),
                     error=True)
        self.refresh()

    def window_action(self, action: str) -> None:
        w = self.selected
        if w is None:
            return
        if action == "open":
            self.act("open_window", {"window": w}, f"已开窗 / Opened {w}")
        elif action == "close":
            self.act("close_window", {"window": w}, f"已关窗 / Closed {w}")
        elif action == "resume":
            self.act("resume", {"window": w}, f"已恢复 / Resumed {w}")
        elif action == "pause":
            reason, ok = QInputDialog.getItem(self, "暂停原因 / Pause reason",
                                              f"{w} 暂停原因 / Reason:", list(PAUSE_REASONS),
                                              0, True)
            if ok and reason.strip():
                self.act("pause", {"window": w, "reason": reason.strip()},
                         f"已暂停 / Paused {w}")
        elif action == "move":
            dialog = MoveDialog(self, self.hub.view, w)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.act("set_profile", dialog.args(), f"已调整 / Moved {w}")
        elif action == "finish":
            self.act("finish_service", {"window": w}, f"已办结 / Finished at {w}")
        elif action == "call":
            ticket = self._ticket()
            if ticket is not None:
                self.act("call_ticket", {"window": w, "ticket": ticket["id"]},
                         f"已呼叫 / Called {ticket['number']} to {w}")

    def _ticket(self) -> dict[str, Any] | None:
        number = self.number_edit.text().strip()
        ticket = find_ticket(self.hub.view, number) if number else None
        if ticket is None:
            self.say(error_words("unknown_ticket", number or "请输入号码 / enter a number"),
                     error=True)
        return ticket

    def transfer(self) -> None:
        ticket = self._ticket()
        if ticket is None:
            return
        dialog = TransferDialog(self, self.hub.view, ticket["number"])
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.act("transfer", {"ticket": ticket["id"], **dialog.target()},
                     f"已转移 / Transferred {ticket['number']}")

    def cancel_ticket(self) -> None:
        ticket = self._ticket()
        if ticket is None:
            return
        reason, ok = QInputDialog.getText(self, "取消号 / Cancel a ticket",
                                          f"取消 {ticket['number']} 的原因 / Reason:")
        if ok:
            self.act("cancel", {"ticket": ticket["id"], "reason": reason.strip()},
                     f"已取消 / Cancelled {ticket['number']}")

    def post_notice(self) -> None:
        dialog = NoticeDialog(self, self.hub.view)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.act("notice", dialog.args(), "公告已发布 / Notice posted")

