"""The 好差评 evaluation screen (PySide6) facing the citizen at a window.

It draws caller.evaluator_model.EvaluatorModel and feeds it what the hub says
through QtHubClient: a ``service_finished`` at this window opens the rating screen
for that ticket; a tap on one of five big buttons sends ``evaluate`` (a low rating
first offers a few preset reasons); the thanks screen shows only once the hub has
confirmed. Every page is rebuilt from the model when what it shows changes, as the
kiosk does; buttons carry their model target in ``buttons`` (tests click them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dispatcher.client import touch
from dispatcher.client.qt import QtHubClient
from dispatcher.client.touch import FONT_FAMILY, SECOND_RATIO, BigButton

from .evaluator_model import LEVELS, REASONS, EvaluatorModel, Send, finished_here

TICK_MS = 250
BASE_SHORT_SIDE = 800          # sizes below are for a 1280×800 screen; scaled to others

TEXT: dict[str, tuple[str, str]] = {
    "prompt": ("请在办结后评价", "Please rate our service when it is finished"),
    "serving": ("正在办理：{number} 号", "Now serving: {number}"),
    "clerk": ("工号 {clerk}", "Staff no. {clerk}"),
    "rate": ("请您对本次服务进行评价", "Please rate this service"),
    "your_number": ("您的号码 {number}", "Your number {number}"),
    "auto_back": ("{s} 秒内未操作将自动返回", "Closes after {s} s without a touch"),
    "retry": ("未能提交，请再点一次", "Not sent: please tap again"),
    "why": ("请告诉我们不满意的原因", "Please tell us what went wrong"),
    "skip": ("跳过", "Skip"),
    "back": ("返回重选", "Back"),
    "sending": ("正在提交，请稍候…", "Sending, please wait…"),
    "thanks": ("谢谢您的评价！", "Thank you for your feedback!"),
    "your_rating": ("您的评价：{zh}", "Your rating: {en}"),
    "already": ("本次服务已经评价过了", "This service has already been rated"),
    "already_sub": ("谢谢您！", "Thank you!"),
    "failed": ("暂时无法评价", "Rating is not possible right now"),
    "failed_sub": ("如有意见，请告诉窗口工作人员", "Please tell the staff at the window"),
    "offline": ("暂停评价", "Rating unavailable"),
    "offline_sub": ("请稍候", "Please wait a moment"),
}

#: level → button colour (white text on each is at least 4.5:1)
LEVEL_COLOURS = {5: "#1b5e20", 4: "#2e7d32", 3: "#0b5cad", 2: "#b3541e", 1: "#b71c1c"}

STYLE = f"""
    QWidget#page {{ background: #f4f6f9; }}
    QWidget#page[offline="true"] {{ background: #e6e8eb; }}
    QLabel {{ color: #1a1a1a; font-family: "{FONT_FAMILY}"; }}
    QPushButton {{ font-family: "{FONT_FAMILY}"; border-radius: 18px;
                   border: 3px solid #8a96a8; background: white; color: #1a1a1a; }}
    QPushButton:pressed {{ background: #dde6f3; }}
    QPushButton[kind="skip"] {{ background: #5f6b7a; border: none; }}
""" + "".join(f"""
    QPushButton[kind="level{n}"] {{ background: {c}; border: none; }}
    QPushButton[kind="level{n}"]:pressed {{ background: #1a1a1a; }}""" for n, c in
              LEVEL_COLOURS.items())


def stars(level: int) -> str:
    return "★" * level + "☆" * (5 - level)


class EvaluatorScreen(QWidget):
    def __init__(self, hub: QtHubClient, window: str, *, timeout_s: float = 30.0,
                 message_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.hub, self.window_id, self.clock = hub, window, clock
        self.model = EvaluatorModel(window, timeout_s=timeout_s, message_s=message_s)
        self.buttons: dict[str, BigButton] = {}
        self.numbers: dict[str, str] = {}      # ticket → number, as this window held it
        self._page: QWidget | None = None
        self._shown: tuple[Any, ...] | None = None
        self.seen: list[str] = []              # the screens shown, in order (tests)
        self.setWindowTitle(f"一窗通 好差评 / OneWindow rating — {window}")
        self._root = QVBoxLayout(self)
        self._root.setContentsMargins(0, 0, 0, 0)
        hub.statusChanged.connect(lambda _s: self._on_status())
        hub.snapshotLoaded.connect(self._on_status)
        hub.eventReceived.connect(self._on_event)
        hub.viewChanged.connect(self._on_view)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_tick)
        self.timer.start(TICK_MS)
        self.render()

    # ------------------------------------------------------------ hub in

    @property
    def connected(self) -> bool:
        return bool(self.hub.connected and self.hub.view.loaded)

    def _on_status(self) -> None:
        self.model.hub_status(self.connected, self.clock())
        self._note_held()
        self._update()

    def _on_view(self) -> None:
        self._note_held()
        self._update()

    def _note_held(self) -> None:
        """Remember the number of the ticket the window holds: an evaluator's view keeps
        no tickets, so this is where the number of a finished service comes from."""
        w = self.hub.view.window(self.window_id) if self.hub.view.loaded else None
        if w and w.get("ticket") and w.get("number"):
            self.numbers[w["ticket"]] = w["number"]
            for old in list(self.numbers)[:-20]:
                del self.numbers[old]

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        view = self.hub.view
        ticket_id = data.get("ticket") if isinstance(data.get("ticket"), str) else None
        if name == "ticket_evaluated" and ticket_id:
            self.model.rated_elsewhere(ticket_id, self.clock())
        ticket = finished_here(name, data, self.window_id,
                               view.ticket(ticket_id) if ticket_id else None)
        if ticket is not None and not self._replayed_from_long_ago(data):
            self.model.service_finished(ticket, self._number_of(ticket), self.clock())
        self._update()

    def _replayed_from_long_ago(self, data: dict[str, Any]) -> bool:
        """A finish the hub replays after a reconnect, older than the rating screen's
        timeout: that citizen has gone, and the next one must not rate their service."""
        at = data.get("at")
        return isinstance(at, int | float) and self.hub.server_now() - at > self.model.timeout_s

    def _number_of(self, ticket: str) -> str:
        view = self.hub.view
        known = (view.ticket(ticket) or {}).get("number") or self.numbers.get(ticket)
        if known:
            return str(known)
        calls = [c for c in view.recent_calls if c.get("ticket") == ticket]
        return str(calls[-1].get("number") or "") if calls else ""

    # ------------------------------------------------------------ touches out

    def touch(self, target: str) -> bool:
        """A tap on ``target``; True when it sent a command."""
        command = self.model.touch(target, self.clock())
        if command is not None:
            self._send(command)
        self._update()
        return command is not None

    def _send(self, command: Send) -> None:
        self.hub.send_command(command.name, command.args, on_reply=self._on_reply)

    def _on_reply(self, ok: bool, payload: dict[str, Any]) -> None:
        self.model.reply(ok, payload, self.clock())
        self._update()

    def _on_tick(self) -> None:
        self.model.tick(self.clock())
        self._update()

    # ------------------------------------------------------------ drawing

    def _key(self) -> tuple[Any, ...]:
        m, w = self.model, self._window_view()
        return (m.shown, m.ticket, m.number, m.level, m.retry, w.get("number"),
                w.get("clerk"), self.hub.view.window_name(self.window_id), self.size())

    def _window_view(self) -> dict[str, Any]:
        return (self.hub.view.window(self.window_id) if self.hub.view.loaded else None) or {}

    def _update(self) -> None:
        if self._key() != self._shown and QApplication.mouseButtons() == \
                Qt.MouseButton.NoButton:   # never rebuilt under a finger
            self.render()

    def px(self, size: float) -> int:
        short = min(self.width(), self.height()) or BASE_SHORT_SIDE
        return max(12, int(size * short / BASE_SHORT_SIDE))

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._update()

    def texts(self) -> list[str]:
        """The words on screen now, label by label and button by button, each language
        on its own line (what a citizen reads; the tests read it)."""
        if self._page is None:
            return []
        out = []
        for widget in self._page.findChildren(QWidget):
            if isinstance(widget, QLabel) and isinstance(widget.parent(), BigButton):
                continue            # a button's own text: read from the button
            if isinstance(widget, QLabel | BigButton):
                out.append(widget.accessibleName() or widget.text())
        return out

    def render(self) -> None:
        self._shown = self._key()
        if not self.seen or self.seen[-1] != self.model.shown:
            self.seen.append(self.model.shown)
        if self._page is not None:
            self._root.removeWidget(self._page)
            self._page.deleteLater()
        self.buttons = {}
        page = QWidget(self)
        page.setObjectName("page")
        page.setProperty("offline", self.model.shown == "offline")
        page.setStyleSheet(STYLE)
        layout = QVBoxLayout(page)
        margin = self.px(28)
        layout.setContentsMargins(margin, margin // 2, margin, margin)
        layout.setSpacing(self.px(16))
        layout.addLayout(self._top_bar())
        getattr(self, f"_draw_{self.model.shown}")(layout)
        self._root.addWidget(page)
        page.show()          # now, not on the layout's deferred show: a tap finds it drawn
        self._page = page

    def label(self, text: str | tuple[str, str], size: float, *, bold: bool = False,
              color: str | None = None, ratio: float = SECOND_RATIO,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter) -> QLabel:
        """A label sized for this screen (dispatcher.client.touch.label)."""
        return touch.label(text, size, self.px, bold=bold, color=color, ratio=ratio,
                           align=align)

    def button(self, target: str, lines: list[tuple[str, float, bool]], size: float,
               kind: str = "", *, scaled: bool = True) -> BigButton:
        """A touch target; ``size`` is the title's px on a 1280×800 screen (``scaled``)
        or on this one; it only shrinks to fit (BigButton)."""
        px = self.px(size) if scaled else int(size)
        btn = BigButton(lines, px, grow=0.0, cap=px)
        if kind:
            btn.setProperty("kind", kind)      # white text (BigButton), colour from STYLE
        btn.setProperty("target", target)
        btn.setMinimumHeight(self.px(110))
        btn.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        btn.clicked.connect(lambda _=False, t=target: self.touch(t))
        self.buttons[target] = btn
        return btn

    def _top_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        view = self.hub.view
        zh = view.window_name(self.window_id, "zh") if view.loaded else self.window_id
        en = view.window_name(self.window_id, "en") if view.loaded else self.window_id
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        bar.addWidget(self.label((zh, en), 30, bold=True, ratio=0.6, align=left), 1)
        clerk = self._window_view().get("clerk")
        if clerk and self.model.shown != "offline":
            right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            bar.addWidget(self.label(_fmt("clerk", clerk=clerk), 26, ratio=0.7, align=right))
        return bar

    def _message(self, layout: QVBoxLayout, key: str, sub: str, color: str) -> None:
        layout.addStretch(2)
        layout.addWidget(self.label(TEXT[key], 76, bold=True, color=color))
        layout.addWidget(self.label(TEXT[sub], 44, ratio=0.7))
        layout.addStretch(3)

    def _draw_idle(self, layout: QVBoxLayout) -> None:
        layout.addStretch(2)
        layout.addWidget(self.label(TEXT["prompt"], 72, bold=True, color="#0b5cad"))
        number = self._window_view().get("number")
        if number:
            layout.addSpacing(self.px(24))
            layout.addWidget(self.label(_fmt("serving", number=number), 44, ratio=0.7))
        layout.addStretch(3)

    def _draw_rating(self, layout: QVBoxLayout) -> None:
        m = self.model
        layout.addWidget(self.label(TEXT["rate"], 50, bold=True))
        if m.number:
            number = self.label(_fmt("your_number", number=m.number), 44, bold=True,
                                color="#0b5cad", ratio=0.6)
            number.setObjectName("number")
            layout.addWidget(number)
        row = QHBoxLayout()
        row.setSpacing(self.px(14))
        lines = {level: [(zh, 1.0, True), (en, 0.52, False), (stars(level), 0.62, False)]
                 for level, (zh, en) in LEVELS.items()}
        width = (self.width() - 2 * self.px(28) - 4 * self.px(14)) / len(LEVELS)
        size = _fitting_px([x for ls in lines.values() for x in ls], width, self.px(48))
        for level, ls in lines.items():     # one title size for all five: none looks lesser
            row.addWidget(self.button(f"level:{level}", ls, size, kind=f"level{level}",
                                      scaled=False))
        layout.addLayout(row, 1)
        if m.retry:
            layout.addWidget(self.label(TEXT["retry"], 34, bold=True, color="#b00020",
                                        ratio=0.75))
        else:
            layout.addWidget(self.label(_fmt("auto_back", s=round(m.timeout_s)), 24,
                                        color="#5f6b7a", ratio=0.8))

    def _draw_reason(self, layout: QVBoxLayout) -> None:
        zh, en = LEVELS[self.model.level or 1]
        layout.addWidget(self.label(TEXT["why"], 50, bold=True))
        layout.addWidget(self.label((f"{zh} {stars(self.model.level or 1)}", en), 30,
                                    color=LEVEL_COLOURS[self.model.level or 1], ratio=0.7))
        grid = QGridLayout()
        grid.setSpacing(self.px(14))
        choices = [(f"reason:{k}", zh_en, "") for k, zh_en in REASONS.items()]
        choices.append(("skip", TEXT["skip"], "skip"))    # not a reason: grey, last
        for i, (target, (zh, en), kind) in enumerate(choices):
            grid.addWidget(self.button(target, [(zh, 1.0, True), (en, 0.55, True)], 42,
                                       kind=kind), i // 3, i % 3)
        layout.addLayout(grid, 1)
        back = self.button("back", [(f"‹ {TEXT['back'][0]}", 1.0, True),
                                    (TEXT["back"][1], 0.6, False)], 32)
        back.setFixedSize(self.px(300), self.px(96))
        layout.addWidget(back, 0, Qt.AlignmentFlag.AlignLeft)

    def _draw_sending(self, layout: QVBoxLayout) -> None:
        layout.addStretch(1)
        layout.addWidget(self.label(TEXT["sending"], 64, bold=True))
        layout.addStretch(1)

    def _draw_thanks(self, layout: QVBoxLayout) -> None:
        layout.addStretch(2)
        layout.addWidget(self.label(TEXT["thanks"], 84, bold=True, color="#1b5e20"))
        if self.model.level in LEVELS:
            zh, en = LEVELS[self.model.level]
            layout.addWidget(self.label(_fmt("your_rating", zh=zh, en=en), 44, ratio=0.7))
        layout.addStretch(3)

    def _draw_already(self, layout: QVBoxLayout) -> None:
        self._message(layout, "already", "already_sub", "#0b5cad")

    def _draw_failed(self, layout: QVBoxLayout) -> None:
        self._message(layout, "failed", "failed_sub", "#1a1a1a")

    def _draw_offline(self, layout: QVBoxLayout) -> None:
        self._message(layout, "offline", "offline_sub", "#4a5260")

    # ------------------------------------------------------------ screenshots

    def screenshot(self, path: str | Path, size: QSize) -> Path:
        self.setMinimumSize(1, 1)
        self.resize(size)
        self.render()
        QApplication.processEvents()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.grab().save(str(path))
        return path


SIZES = {"1280x800": QSize(1280, 800), "800x480": QSize(800, 480)}
SHOTS = ("idle", "rating", "reason", "thanks", "already", "offline")


def screenshots(screen: EvaluatorScreen, prefix: str) -> list[Path]:
    """PREFIX-SCREEN-WxH.png for each screen and size, over the live hall's window with
    a made-up service (nothing is sent); the model is restored afterwards."""
    model = screen.model
    saved = dict(vars(model))
    number = screen._window_view().get("number") or "B017"
    out: list[Path] = []
    try:
        for shot in SHOTS:
            for name, size in SIZES.items():
                vars(model).update(saved)
                model.connected = shot != "offline"
                model.screen = "idle" if shot == "offline" else shot
                model.ticket, model.number = "sample", number
                model.level = 2 if shot == "reason" else 4
                out.append(screen.screenshot(f"{prefix}-{shot}-{name}.png", size))
    finally:
        vars(model).update(saved)
        screen.render()
    return out


def _fitting_px(lines: list[tuple[str, float, bool]], width: float, cap: int) -> int:
    """The largest title px (at most ``cap``) at which every (text, ratio, bold) line fits
    a BigButton ``width`` wide."""
    avail = max(1.0, width - 2 * (12 + width // 25))
    widest = 0.0
    for text, ratio, bold in lines:
        font = QFont(FONT_FAMILY)
        font.setPixelSize(100)
        font.setBold(bold)
        # BigButton draws no line under 14 px: such a line needs its width at 14 px
        per_px = QFontMetrics(font).horizontalAdvance(text) / 100
        if per_px * 14 > avail:
            continue        # it does not fit at any title size: BigButton shrinks alone
        widest = max(widest, per_px * ratio)
    return max(14, min(cap, int(avail / widest) if widest else cap))


def _fmt(key: str, **values: Any) -> tuple[str, str]:
    zh, en = TEXT[key]
    return zh.format(**values), en.format(**values)
