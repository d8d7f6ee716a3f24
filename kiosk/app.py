"""The kiosk's screen: PySide6 widgets drawn from kiosk.model.KioskModel.

Every screen is rebuilt from the model after each event (a touch, a reply, a printer
result, a hub status, a view change), so what is shown is always the model's state.
Buttons carry their model target in the ``target`` property (tests click them by it).
The printer is only ever used from worker threads (status polls and printing); their
results come back to the GUI thread through a queued signal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dispatcher.client import touch
from dispatcher.client.touch import SECOND_RATIO, BigButton
from printers.slip import ahead_text, slip_from_reply, wait_text

from .hours import HoursError, OpeningHours
from .idcard_screen import CARD_ERRORS, CARD_TEXT, CardScreens
from .model import Action, KioskModel

TICK_MS = 1000
# After the hub refused a ticket with hall_closed, stay closed at least this long (then
# follow the opening hours, or with none known, let the next citizen try again).
CLOSED_RETRY_S = 60.0
# Button text grows with the button: the title is at least this share of its height
# (more in large mode), at most TITLE_CAP × its base size; the second language is
# SECOND_RATIO of the title, subtitle lines SUB_RATIO (their second language a bit less).
TITLE_OF_HEIGHT = 0.13
TITLE_OF_HEIGHT_LARGE = 0.16
TITLE_CAP = 2.0
SUB_RATIO = 0.42
# The 大字模式 and language switches: large enough for the people who need them
# (a 40 px title and a 25 px second line on a 1080 px wide screen, never under 20 px).
TOGGLE_SIZE, TOGGLE_RATIO, TOGGLE_W, TOGGLE_H = 40, 0.62, 300, 130
UNITS_NAMED = 2     # 帮助办's description names this many units, then counts them all

# Every label, Chinese and English. Hub error codes are shown through ERRORS.
TEXT: dict[str, tuple[str, str]] = {
    "quick": ("马上办", "Quick Service"),
    "quick_sub": ("一般业务，任一窗口办理", "General matters, any window"),
    "help": ("帮助办", "Specialist Windows"),
    "help_sub": ("部门专窗：{names}等 {n} 个部门", "{n} departments: {names_en} and more"),
    "help_sub_all": ("部门专窗：{names}", "Department windows: {names_en}"),
    "check_in": ("预约签到", "Appointment Check-in"),
    "large": ("大字模式", "Large text"),
    "normal_size": ("标准字号", "Normal text"),
    "home": ("返回首页", "Home"),
    "back": ("返回", "Back"),
    "take": ("取号", "Take a Number"),
    "green": ("绿色通道取号", "Green Channel"),
    "green_sub": ("老年人、残疾人、孕妇、军人优先", "Elderly, disabled, pregnant, service members"),
    "choose_unit": ("请选择办理部门", "Choose a department"),
    "waiting": ("等候 {n} 人", "{n} waiting"),
    "ahead_label": ("前面", "Ahead"),
    "wait_label": ("预计等候", "Expected wait"),
    "printing": ("正在出票，请稍候…", "Printing your ticket, please wait…"),
    "done": ("请取票", "Please take your ticket"),
    "done_sub": ("请留意叫号屏和语音叫号", "Watch the display and listen for your number"),
    "failed": ("打印机故障，未能出票", "The printer failed; no paper ticket"),
    "failed_sub": ("请记下号码或用手机拍下二维码，工作人员已收到通知",
                   "Note your number or photograph the QR code; staff have been told"),
    "unsure": ("请查看出票口", "Please check the ticket slot"),
    "unsure_sub": ("如未出票，请记下号码或用手机拍下二维码，凭此号码办理",
                   "If no ticket came out, note this number or photograph the QR code; "
                   "it is your ticket"),
    "closed": ("已停止取号", "Ticketing closed"),
    "closed_hours": ("开放时间：{zh}", "Opening hours: {en}"),
    "closed_back": ("开放后自动恢复取号", "Ticketing resumes by itself when the hall opens"),
    "closed_unknown": ("现在不在办公时间，请在办公时间前来",
                       "The hall is not open now; please come back during opening hours"),
    "refused": ("设备未授权", "Device not authorised — check its token"),
    "refused_detail": ("服务器拒绝了取号机 {device}：{code}", "The hub refused kiosk {device}: "
                       "{code}"),
    "refused_fix": ("请工作人员核对设备编号和令牌（--token 或 $ONEWINDOW_TOKEN）后重启取号机",
                    "Staff: check the device id and its token (--token or "
                    "$ONEWINDOW_TOKEN), then restart the kiosk"),
    "paused": ("暂停取号", "Ticketing paused"),
    "paused_hub": ("正在连接服务器，请稍候或咨询工作人员",
                   "Reconnecting to the server; please wait or ask staff"),
    "paused_printer": ("打印机{state}，请联系工作人员", "Printer: {state_en}; please ask staff"),
    "code_prompt": ("请输入预约码", "Enter your appointment code"),
    "code_hint": ("字母、数字和“-”，如 YY-0012", "Letters, digits and “-”, e.g. YY-0012"),
    "delete": ("删除", "Delete"),
    "dash": ("横线", "dash"),
    "submit": ("确认签到", "Check in"),
    "your_number": ("您的号码", "Your number"),
}
# The language switch, by the language now first: it offers the other one first.
LANG_SWITCH = {"zh": ("English first", "英文优先"), "en": ("中文优先", "Chinese first")}
PRINTER_STATES = {
    "paper_out": ("缺纸", "out of paper"),
    "cover_open": ("纸仓盖打开", "cover open"),
    "offline": ("脱机", "offline"),
    "error": ("故障", "error"),
}
ERRORS = {
    "unknown_appointment": ("预约码不存在，请核对", "No appointment with this code"),
    "too_early": ("还未到预约时段，请稍后签到", "Too early for your appointment slot"),
    "too_late": ("预约时段已过，请取普通号", "Your slot has passed; take a normal ticket"),
    "already_checked_in": ("该预约已签到", "Already checked in"),
    "hall_closed": ("大厅已停止取号", "The hall is not issuing tickets now"),
    "unavailable": ("服务器无响应", "The server did not answer"),
}
TEXT.update(CARD_TEXT)       # the ID card screens' (kiosk/idcard_screen.py)
ERRORS.update(CARD_ERRORS)


class _Bridge(QObject):
    """Worker thread → GUI thread (a queued connection: the receiver lives in the GUI)."""

    done = Signal(object)


class KioskWindow(CardScreens, QWidget):
    """The kiosk: a hub client, a printer and the model between them."""

    def __init__(self, hub: Any, printer: Any, device: str, template: Any = None,
                 *, poll_printer_s: float = 5.0, idle_timeout_s: float | None = None,
                 large: bool = False, lang: Literal["zh", "en"] = "zh") -> None:
        """``idle_timeout_s``, ``large`` and ``lang`` are the kiosk config's (what the
        idle reset goes back to)."""
        super().__init__()
        self.hub, self.printer, self.device = hub, printer, device
        self.template = template if template is not None else getattr(printer, "template",
                                                                        None)
        self.model = KioskModel(device, lang=lang, large=large, default_lang=lang,
                                default_large=large)
        if idle_timeout_s is not None:
            self.model.idle_timeout_s = idle_timeout_s
        self.refusal: tuple[str, str] | None = None   # the hub's code, message
        self._closed_until = 0.0                      # monotonic; see CLOSED_RETRY_S
        self.queue_status: dict[str, dict[str, Any]] = {}
        self.buttons: dict[str, QPushButton] = {}
        self.sent: list[str] = []                   # command names sent, in order
        self.reports: list[tuple[bool, dict[str, Any]]] = []   # report_device replies
        self._bridge = _Bridge()
        self._bridge.done.connect(self._on_worker)
        self._polling = False
        self._landscape: bool | None = None
        self.setWindowTitle("一窗通 OneWindow kiosk")
        self.setObjectName("kiosk")
        self._root = QVBoxLayout(self)
        self._root.setContentsMargins(0, 0, 0, 0)
        self._page: QWidget | None = None
        self._shown: tuple[Any, ...] | None = None   # the model state on screen
        self._stale = False                          # counts changed since drawn

        hub.statusChanged.connect(self._on_hub_status)
        hub.snapshotLoaded.connect(self._on_snapshot)
        hub.viewChanged.connect(self._on_view)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._on_tick)
        self._tick.start(TICK_MS)
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.poll_printer)
        self._poll.start(int(poll_printer_s * 1000))
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self.refresh_queue_status)
        self._status_timer.start(15000)
        self.render()

    # ------------------------------------------------------------------ events in

    def touch(self, target: str) -> None:
        self._apply(self.model.touch(target))

    def _on_hub_status(self, status: str) -> None:
        refused = getattr(self.hub, "refused", None)
        if status == "refused" and refused is not None:
            self.refusal = (str(refused.code), str(refused.message))
        self._apply(self.model.hub_status(status))
        if status == "connected":
            self.refresh_queue_status()
            self.poll_printer()

    def _on_snapshot(self) -> None:
        self.model.set_layout(self.hub.view.hall, self.hub.view.zone)
        self.check_hours()
        self.render()

    def _on_view(self) -> None:
        self._stale = True               # redrawn on the next tick (see _on_tick)

    def _on_tick(self) -> None:
        self.check_hours()
        self._apply(self.model.tick(TICK_MS / 1000))
        # New counts are drawn at most once a tick, and never under a finger: a page
        # rebuilt between press and release would lose the touch.
        if self._stale and QApplication.mouseButtons() == Qt.MouseButton.NoButton:
            self.render()

    # ------------------------------------------------------------------ opening hours

    @property
    def hours(self) -> OpeningHours | None:
        """The hall's opening hours, as the hub's hall layout carries them from the hall
        file; None before the first snapshot (then only the hub's hall_closed tells)."""
        raw = self.hub.view.hall.get("hours") if self.hub.view.loaded else None
        try:
            return OpeningHours.parse(raw, "hall.hours") if raw is not None else None
        except HoursError:
            return None

    def hub_now(self) -> datetime:
        """Now by the hub's clock (its training clock, if it runs one), hall time."""
        zone = self.hub.view.hall.get("timezone") if self.hub.view.loaded else None
        return datetime.fromtimestamp(self.hub.server_now(), ZoneInfo(zone or "Asia/Shanghai"))

    def check_hours(self) -> None:
        """Open or closed by the hours (a hall_closed refusal holds for a while)."""
        if time.monotonic() < self._closed_until:
            return
        hours = self.hours
        is_open = hours.open_at(self.hub_now()) if hours else True
        if is_open != self.model.hall_open:
            self._apply(self.model.hall_status(is_open))

    def refresh_queue_status(self) -> None:
        if self.model.hub_ok:
            self.hub.send_query("queue_status", on_reply=self._on_queue_status)

    def _on_queue_status(self, ok: bool, payload: dict[str, Any]) -> None:
        if ok:
            self.queue_status = payload.get("queues", {})
            self._stale = True

    def poll_printer(self) -> None:
        """Ask the printer how it is, in a worker thread (never while printing)."""
        if self._polling or self.model.busy:
            return
        self._polling = True

        def ask() -> tuple[str, Any]:
            status = self.printer.status()
            return "status", (status.state, status.detail)

        self._run(ask)

    def _run(self, job: Callable[[], tuple[str, Any]]) -> None:
        def work() -> None:
            try:
                out = job()
            except Exception as exc:            # a printer bug must not kill the kiosk
                out = ("crash", f"{type(exc).__name__}: {exc}")
            self._bridge.done.emit(out)

        threading.Thread(target=work, name="kiosk-printer", daemon=True).start()

    def _on_worker(self, out: tuple[str, Any]) -> None:
        kind, value = out
        if kind == "status":
            self._polling = False
            self._apply(self.model.printer_status(*value))
        elif kind == "printed":
            after = value.status_after
            self._apply(self.model.printed(value.ok, after.state if after.answered
                                           else "unknown", value.error,
                                           unsure=value.printed == "unknown"))
        elif kind == "crash":
            self._polling = False
            if self.model.busy:
                self._apply(self.model.printed(False, "error", value))

    def _on_reply(self, ok: bool, payload: dict[str, Any]) -> None:
        if not ok and payload.get("code") == "hall_closed":
            self._closed_until = time.monotonic() + CLOSED_RETRY_S
        self._apply(self.model.reply(ok, payload))

    # ------------------------------------------------------------------ actions out

    def _apply(self, actions: list[Action]) -> None:
        for action in actions:
            if action.kind in ("issue", "check_in"):
                name = "issue_ticket" if action.kind == "issue" else "check_in"
                self.sent.append(name)
                self.hub.send_command(name, action.args, on_reply=self._on_reply)
            elif action.kind == "report":
                self.sent.append("report_device")
                self.hub.send_command("report_device", action.args,
                                      on_reply=lambda ok, p: self.reports.append((ok, p)))
            elif action.kind == "print":
                result = action.args["result"]
                try:
                    slip = slip_from_reply(self.hub.view.hall, result, self.template,
                                           zone=self.model.zone)
                except Exception as exc:
                    self._bridge.done.emit(("crash", f"slip: {exc}"))
                    continue
                self._run(lambda slip=slip: ("printed", self.printer.print_ticket(slip)))
        if self._key() != self._shown:   # the flow moved: draw it now
            self.render()

    def _key(self) -> tuple[Any, ...]:
        m = self.model
        return (m.screen, m.lang, m.large, m.code, m.message, m.queue, m.busy,
                m.pause_reason, id(m.result), m.print_error, m.big_loop, tuple(m.units),
                self.refusal, m.card, m.card_lookup)

    # ------------------------------------------------------------------ drawing

    def t(self, key: str, **fmt: Any) -> str:
        """The label in the first language only."""
        return self.bi(key, **fmt)[0]

    def bi(self, key: str, **fmt: Any) -> tuple[str, str]:
        """(first, second) language of a label: Chinese first unless switched."""
        zh, en = TEXT[key]
        return self.order((zh.format(**fmt), en.format(**fmt)))

    def order(self, zh_en: tuple[str, str]) -> tuple[str, str]:
        return (zh_en[0], zh_en[1]) if self.model.lang == "zh" else (zh_en[1], zh_en[0])

    def pair(self, zh_en: tuple[str, str]) -> str:
        return self.order(zh_en)[0]

    def queue_names(self, queue: str) -> tuple[str, str]:
        view = self.hub.view
        return self.order((view.queue_name(queue, "zh"), view.queue_name(queue, "en")))

    def px(self, size: float, *, large: bool = True) -> int:
        """A font size in pixels, scaled for the screen and (unless ``large`` is False,
        as for the top bar, which must stay on one line) for large mode."""
        short = min(self.width(), self.height()) or 1080
        landscape = 0.78 if self._landscape else 1.0   # 1080 px tall: less room
        scale = short / 1080 * landscape * (1.3 if large and self.model.large else 1.0)
        return max(12, int(size * scale))

    def resizeEvent(self, event: Any) -> None:
        landscape = self.width() > self.height()
        if landscape != self._landscape:
            self._landscape = landscape
            self.render()
        super().resizeEvent(event)

    def render(self) -> None:
        self._shown, self._stale = self._key(), False
        if self._page is not None:
            self._root.removeWidget(self._page)
            self._page.deleteLater()
        self.buttons = {}
        page = QWidget(self)
        page.setObjectName("page")
        page.setStyleSheet(touch.page_style())
        layout = QVBoxLayout(page)
        margin = self.px(36)
        layout.setContentsMargins(margin, margin // 2, margin, margin)
        layout.setSpacing(self.px(20))
        layout.addLayout(self._top_bar())
        getattr(self, f"_draw_{self.model.screen}")(layout)
        self._root.addWidget(page)
        self._page = page

    def label(self, text: str | tuple[str, str], size: float, *, bold: bool = False,
              color: str | None = None,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
              large: bool = True, ratio: float = SECOND_RATIO) -> QLabel:
        """A label sized for this screen and mode (dispatcher.client.touch.label); a
        (first, second) pair is two lines, the second language ``ratio`` as big."""
        return touch.label(text, size, lambda s: self.px(s, large=large), bold=bold,
                           color=color, ratio=ratio, align=align)

    def button(self, target: str, title: str | tuple[str, str],
               *subs: tuple[str, str], size: float = 56, kind: str = "",
               height: float = 120, large: bool = True,
               ratio: float = SECOND_RATIO) -> BigButton:
        """A touch button: the title (first language large, second beneath it) and
        any subtitle pairs; the text grows with the button (see BigButton)."""
        lines: list[tuple[str, float, bool]] = []
        if isinstance(title, tuple):
            lines += [(title[0], 1.0, True), (title[1], ratio, True)]
        else:
            lines.append((title, 1.0, True))
        for first, second in subs:
            lines += [(first, SUB_RATIO, False), (second, SUB_RATIO * 0.88, False)]
        btn = BigButton(lines, self.px(size, large=large),
                        grow=(TITLE_OF_HEIGHT_LARGE if large and self.model.large
                              else TITLE_OF_HEIGHT) if large else 0.0,
                        cap=self.px(size * TITLE_CAP, large=large))
        btn.setProperty("target", target)
        if kind:
            btn.setProperty("kind", kind)
        btn.setMinimumHeight(self.px(min(height, 100)))   # a large touch target; stretches
        btn.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        btn.clicked.connect(lambda _=False, t=target: self.touch(t))
        self.buttons[target] = btn
        return btn

    def _top_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        hall = self.hub.view.hall if self.hub is not None else {}
        zone = (hall.get("zones") or {}).get(self.model.zone or "", {})
        zh = "\n".join(x for x in (hall.get("name", ""), zone.get("name", "")) if x)
        en = " · ".join(x for x in (hall.get("name_en", ""), zone.get("name_en", "")) if x)
        first, second = self.order((zh, en))
        title = self.label((first, second), 30, bold=True, large=False,
                           ratio=0.62,
                           align=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(title, 1)
        large = self.button("large", self.bi("normal_size" if self.model.large else "large"),
                            size=TOGGLE_SIZE, large=False, ratio=TOGGLE_RATIO)
        lang = self.button("lang", LANG_SWITCH[self.model.lang], size=TOGGLE_SIZE,
                           large=False, ratio=TOGGLE_RATIO)
        short = min(self.width(), self.height()) or 1080
        for btn in (large, lang):   # sized for the screen, not shrunk for landscape
            btn.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            btn.base = btn.cap = int(TOGGLE_SIZE * short / 1080)
            btn.setMinimumHeight(0)
            btn.setFixedSize(QSize(int(TOGGLE_W * short / 1080), int(TOGGLE_H * short / 1080)))
            bar.addWidget(btn)
        return bar

    def _waiting_line(self, queues: list[str]) -> tuple[str, str]:
        waiting = sum(self.hub.view.waiting.get(q, 0) for q in queues)
        zh, en = TEXT["waiting"]
        zh, en = zh.format(n=waiting), en.format(n=waiting)
        if len(queues) == 1 and queues[0] in self.queue_status:
            wz, we = wait_text(self.queue_status[queues[0]].get("expected_wait_s"))
            zh, en = f"{zh} · {wz}", f"{en} · {we}"
        return self.order((zh, en))

    def _units_line(self) -> tuple[str, str]:
        """帮助办's description, whole: the zone's first units by name and how many
        there are ("部门专窗：税务服务、不动产登记等 14 个部门")."""
        units = self.model.units
        view = self.hub.view
        named = units[:UNITS_NAMED]
        en = [(view.hall.get("queues", {}).get(q, {}).get("name_en_short")
               or view.queue_name(q, "en")) for q in named]
        key = "help_sub" if len(units) > len(named) else "help_sub_all"
        return self.bi(key, names="、".join(view.queue_name(q, "zh") for q in named),
                       names_en=", ".join(en), n=len(units))

    def _message(self, layout: QVBoxLayout) -> None:
        code = self.model.message
        if code:
            text = self.order(ERRORS.get(code, (f"出错：{code}", f"Error: {code}")))
            layout.addWidget(self.label(text, 40, bold=True, color="#b00020"))

    def _draw_home(self, layout: QVBoxLayout) -> None:
        self._message(layout)
        row = _row_box(self._landscape)
        m = self.model
        quick = self.button("quick", self.bi("quick"), self.bi("quick_sub"),
                            self._waiting_line([m.big_loop] if m.big_loop else []),
                            size=72, kind="primary", height=420)
        helpb = self.button("help", self.bi("help"), self._units_line(),
                            self._waiting_line(m.units), size=72, kind="help", height=420)
        quick.setEnabled(m.big_loop is not None)
        helpb.setEnabled(bool(m.units))
        row.addWidget(quick)
        row.addWidget(helpb)
        layout.addLayout(row, 4)
        layout.addWidget(self.button("check_in", self.bi("check_in"), size=52, height=150), 1)
        if self.poller is not None:      # an ID card reader: say so where people look
            layout.addWidget(self.label(self.bi("card_hint"), 36, color="#3d4653", ratio=0.8))

    def _draw_units(self, layout: QVBoxLayout) -> None:
        layout.addWidget(self.label(self.bi("choose_unit"), 56, bold=True))
        grid = QGridLayout()
        grid.setSpacing(self.px(20))
        cols = 4 if self._landscape else 2
        for i, queue in enumerate(self.model.units):
            btn = self.button(f"unit:{queue}", self.queue_names(queue),
                              self._waiting_line([queue]), size=44, height=150)
            grid.addWidget(btn, i // cols, i % cols)
        layout.addLayout(grid, 5)
        layout.addWidget(self.button("back", self.bi("back"), size=44, height=130))

    def _draw_confirm(self, layout: QVBoxLayout) -> None:
        queue = self.model.queue or ""
        st = self.queue_status.get(queue, {})
        waiting = self.hub.view.waiting.get(queue, st.get("waiting"))
        layout.addWidget(self.label(self.queue_names(queue), 84, bold=True,
                                    color="#0b5cad"), 2)
        info = QGridLayout()
        info.setHorizontalSpacing(self.px(24))
        for row, (key, value) in enumerate([
                ("ahead_label", self.order(ahead_text(waiting))),
                ("wait_label", self.order(wait_text(st.get("expected_wait_s"))))]):
            info.addWidget(self.label(self.bi(key), 44,
                                      align=Qt.AlignmentFlag.AlignRight), row, 0)
            info.addWidget(self.label(value, 52, bold=True,
                                      align=Qt.AlignmentFlag.AlignLeft), row, 1)
        layout.addLayout(info, 2)
        row = _row_box(self._landscape)
        row.addWidget(self.button("take", self.bi("take"), size=72, kind="primary",
                                  height=260))
        row.addWidget(self.button("green", self.bi("green"), self.bi("green_sub"), size=72,
                                  kind="green", height=260))
        layout.addLayout(row, 5)
        layout.addWidget(self.button("back", self.bi("back"), size=44, height=130))

    def _draw_printing(self, layout: QVBoxLayout) -> None:
        layout.addStretch(1)
        layout.addWidget(self.label(self.bi("card_lookup" if self.model.card_lookup
                                            else "printing"), 64, bold=True))
        layout.addStretch(1)

    def _ticket_block(self, layout: QVBoxLayout, scale: float = 1.0) -> None:
        ticket = self.model.ticket or {}
        status = (self.model.result or {}).get("status") or {}
        layout.addWidget(self.label(self.bi("your_number"), 44 * scale))
        number = self.label(ticket.get("number", "—"), 240 * scale, bold=True,
                            color="#0b5cad")
        number.setObjectName("number")       # the number reads the same in both languages
        layout.addWidget(number)
        queue = ticket.get("queue", "")
        layout.addWidget(self.label(self.queue_names(queue), 48 * scale, bold=True))
        ahead = ahead_text(status.get("ahead"))
        wait = wait_text(status.get("expected_wait_s"), status.get("expected_wait_range_s"))
        line = (f"{TEXT['ahead_label'][0]} {ahead[0]} · {TEXT['wait_label'][0]} {wait[0]}",
                f"{TEXT['ahead_label'][1]}: {ahead[1]} · {TEXT['wait_label'][1]}: {wait[1]}")
        layout.addWidget(self.label(self.order(line), 40 * scale, ratio=0.8))

    def _draw_done(self, layout: QVBoxLayout) -> None:
        layout.addStretch(1)
        layout.addWidget(self.label(self.bi("done"), 96, bold=True, color="#1e7d32"))
        if (self.model.ticket or {}).get("ticket_class") == "appointment":
            layout.addWidget(self.label(self.bi("checked_in"), 48, bold=True,
                                        color="#1e7d32"))
        self._ticket_block(layout)
        layout.addWidget(self.label(self.bi("done_sub"), 38, ratio=0.8))
        layout.addStretch(1)
        layout.addWidget(self.button("home", self.bi("home"), size=44, height=130))

    def _draw_failed(self, layout: QVBoxLayout) -> None:
        unsure = self.model.print_unsure     # it may have printed: no "printer failed"
        layout.addWidget(self.label(self.bi("unsure" if unsure else "failed"), 52, bold=True,
                                    color="#b3541e" if unsure else "#b00020"))
        layout.addWidget(self.label(self.bi("unsure_sub" if unsure else "failed_sub"), 34,
                                    ratio=0.8))
        row = _row_box(self._landscape)
        block = QVBoxLayout()
        self._ticket_block(block, 0.8 if self._landscape else 1.0)
        row.addLayout(block, 3)
        ticket = self.model.ticket or {}
        payload = ""
        if self.template is not None and ticket:
            payload = self.template.qr_payload(
                ticket.get("id", ""), ticket.get("number", ""), ticket.get("queue", ""),
                (self.model.result or {}).get("status_token", ""),
                (self.hub.view.hall if self.hub is not None else {}).get("public_url", ""))
        if payload:
            qr = QLabel()
            qr.setObjectName("qr")
            qr.setProperty("payload", payload)
            qr.setPixmap(qr_pixmap(payload, self.px(360)))
            qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row.addWidget(qr, 2)
        layout.addLayout(row, 1)
        layout.addWidget(self.button("home", self.bi("home"), size=44, height=130))

    def _draw_paused(self, layout: QVBoxLayout) -> None:
        layout.addStretch(1)
        layout.addWidget(self.label(self.bi("paused"), 120, bold=True, color="#b00020"))
        reason = self.model.pause_reason
        if reason == "hub" or reason is None:
            text = self.bi("paused_hub")
        else:
            zh, en = PRINTER_STATES.get(reason, (reason, reason))
            text = self.bi("paused_printer", state=zh, state_en=en)
        layout.addWidget(self.label(text, 48, ratio=0.8))
        layout.addStretch(2)

    def _draw_closed(self, layout: QVBoxLayout) -> None:
        layout.addStretch(1)
        layout.addWidget(self.label(self.bi("closed"), 120, bold=True, color="#b00020"))
        hours = self.hours
        if hours is not None:
            zh, en = hours.text("\n")[0], hours.text()[1]   # Chinese is wider: 2 lines
            layout.addWidget(self.label(self.bi("closed_hours", zh=zh, en=en), 48, bold=True,
                                        ratio=0.8))
            layout.addWidget(self.label(self.bi("closed_back"), 40, ratio=0.8))
        else:
            layout.addWidget(self.label(self.bi("closed_unknown"), 48, ratio=0.8))
        layout.addStretch(2)

    def _draw_refused(self, layout: QVBoxLayout) -> None:
        """For staff: the hub will not talk to this kiosk until its token is fixed."""
        code, message = self.refusal or ("refused", "")
        layout.addStretch(1)
        layout.addWidget(self.label(self.bi("refused"), 96, bold=True, color="#b00020"))
        layout.addWidget(self.label(self.bi("refused_detail", device=self.device, code=code),
                                    44, bold=True, ratio=0.8))
        if message:
            layout.addWidget(self.label(message, 30, color="#5a6472"))
        layout.addWidget(self.label(self.bi("refused_fix"), 40, ratio=0.8))
        layout.addStretch(2)

    def _draw_check_in(self, layout: QVBoxLayout) -> None:
        layout.addWidget(self.label(self.bi("code_prompt"), 56, bold=True))
        layout.addWidget(self.label(self.bi("code_hint"), 32, color="#5a6472", ratio=0.8))
        self._message(layout)
        code = self.label(self.model.code or "_", 96, bold=True, color="#0b5cad")
        code.setObjectName("code")
        code.setStyleSheet("background: white; border: 3px solid #b8c2d0; "
                           "border-radius: 18px; color: #0b5cad;")
        layout.addWidget(code, 1)
        for rows in keyboard(bool(self._landscape)):
            layout.addLayout(self._key_grid(rows), len(rows))
        bottom = QHBoxLayout()
        bottom.setSpacing(self.px(16))
        bottom.addWidget(self.button("back", self.bi("back"), size=44, height=120), 1)
        bottom.addWidget(self.button("submit", self.bi("submit"), size=52, kind="primary",
                                     height=120), 2)
        self.buttons["submit"].setEnabled(bool(self.model.code))
        layout.addLayout(bottom, 1)

    def _key_grid(self, rows: list[list[tuple[str, int]]]) -> QGridLayout:
        """One block of the keypad: (key, columns spanned) per row; "DEL" is 删除."""
        grid = QGridLayout()
        grid.setSpacing(self.px(14))
        for r, row in enumerate(rows):
            col = 0
            for key, span in row:
                grid.addWidget(self._key_button(key), r, col, 1, span)
                col += span
        for col in range(max(sum(span for _, span in row) for row in rows)):
            grid.setColumnStretch(col, 1)        # every key as wide as its neighbours
        return grid

    def _key_button(self, key: str) -> BigButton:
        if key == "DEL":
            return self.button("delete", self.bi("delete"), size=40, height=110)
        if key == "-":                           # a thin glyph: say what it is too
            first, second = self.bi("dash")      # one line: a key has little room
            return self.button("key:-", ("-", f"{first} {second}"), size=60, height=110,
                               ratio=0.4)
        return self.button(f"key:{key}", key, size=60, height=110)

    # ------------------------------------------------------------------ screenshots

    def screenshot(self, path: str | Path, size: QSize) -> None:
        self._landscape = size.width() > size.height()
        self.setMinimumSize(1, 1)
        self.resize(size)
        self.render()                    # sized for the frame, not the previous one
        QApplication.processEvents()
        self.grab().save(str(path))


def keyboard(landscape: bool) -> list[list[list[tuple[str, int]]]]:
    """The check-in keypad's blocks of rows: digits, then A–Z, then "-" and 删除.
    Portrait: digits 5 across (big, most codes are mostly digits), letters 7 across;
    landscape: 13 across. Every character of CODE_CHARS has a key."""
    digits, letters = "1234567890", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if landscape:
        return [[[(d, 1) for d in digits] + [("-", 1), ("DEL", 2)]],
                [[(c, 1) for c in letters[:13]], [(c, 1) for c in letters[13:]]]]
    return [[[(d, 1) for d in digits[:5]], [(d, 1) for d in digits[5:]]],
            [[(c, 1) for c in letters[i:i + 7]] for i in range(0, 21, 7)]
            + [[(c, 1) for c in letters[21:]] + [("-", 1), ("DEL", 1)]]]


def _row_box(landscape: bool | None) -> QHBoxLayout | QVBoxLayout:
    """Side by side on a landscape screen, one above the other on a portrait one."""
    box: QHBoxLayout | QVBoxLayout = QHBoxLayout() if landscape else QVBoxLayout()
    box.setSpacing(24)
    return box


def qr_pixmap(payload: str, size: int) -> QPixmap:
    import qrcode

    qr = qrcode.QRCode(border=2, box_size=10)
    qr.add_data(payload)
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    data = img.tobytes("raw", "RGB")
    image = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.FastTransformation)


SIZES = {"portrait": QSize(1080, 1920), "landscape": QSize(1920, 1080)}
SCREENS = ("home", "units", "confirm", "printing", "done", "failed", "paused", "check_in",
           "closed", "refused")
#: the extra renderings: (screen, variant)
VARIANTS = (("home", "-large"), ("home", "-en"), ("confirm", "-large"), ("confirm", "-en"),
            ("check_in", "-large"), ("failed", "-unsure"))


def shots() -> list[tuple[str, str]]:
    """Every (screen, variant) the screenshots render, in order."""
    return [(screen, variant) for screen in SCREENS
            for variant in ("", *(v for s, v in VARIANTS if s == screen))]


def screenshots(window: KioskWindow, prefix: str) -> list[Path]:
    """Render every screen at both orientations to PREFIX-SCREEN[VARIANT]-ORIENTATION.png.

    The screens after an issue show a made-up ticket of the zone's big loop (nothing
    is issued); the rest show the live hall. The model is restored afterwards."""
    model = window.model
    saved, saved_refusal = dict(vars(model)), window.refusal
    queue = model.big_loop or (model.units[0] if model.units else "")
    sample = {"ticket": {"id": "20261123-B017", "number": "B017", "queue": queue,
                         "ticket_class": "normal"},
              "status": {"ahead": 5, "expected_wait_s": 720.0}}
    out: list[Path] = []
    try:
        for screen, variant in shots():
            for orient, size in SIZES.items():
                vars(model).update(saved)
                _pose(window, screen, variant, queue, sample)
                path = Path(f"{prefix}-{screen}{variant}-{orient}.png")
                path.parent.mkdir(parents=True, exist_ok=True)
                window.screenshot(path, size)
                out.append(path)
    finally:
        vars(model).update(saved)
        window.refusal = saved_refusal
        window.render()
    return out


def _pose(window: KioskWindow, screen: str, variant: str, queue: str,
          sample: dict[str, Any]) -> None:
    """Set the model (and window) up to show ``screen`` as a citizen would see it."""
    model = window.model
    model.screen = screen  # type: ignore[assignment]
    model.large = variant == "-large"
    model.lang = "en" if variant == "-en" else "zh"
    model.queue = queue if screen == "confirm" else None
    model.result = sample if screen in ("done", "failed") else None
    model.print_unsure = variant == "-unsure"
    model.code = "YY-0012" if screen == "check_in" else ""
    model.hub_ok = screen != "paused"
    if screen == "refused":
        window.refusal = ("bad_credentials", "device, role or token not accepted")
