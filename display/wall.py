"""The lobby wall: one painted widget that shows a ``display.model.Board``.

Everything is laid out from the widget's size (landscape or portrait), so the same
code drives 1920×1080, 3840×2160 and 1080×1920 screens; text is fitted to its box
(shrunk, never cut: display/fit.py) so long names never overlap their neighbours.
The recent calls, window tiles and waiting counts are painted by display/board.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from dispatcher.client import HallView

from .board import BG, NUMBER, PANEL, SOFT, TEXT, BoardPainter, Drawn, sections
from .fit import fit_font, font
from .model import Board, banner_text, build_board, clock_lines
from .voice_mark import paint_voice_mark

FLASH_SECONDS = 6.0
FLASH = QColor("#a31515")         # the newest call flashing: yellow on it is 5.6:1
LOST = QColor("#d50000")
STALE_BG, STALE_TEXT = QColor("#3a3f47"), QColor("#b8c0c9")
RECALL_TAG = QColor("#b34700")    # "重呼 Recall": white on it is 5.5:1
NOTICE_BG, NOTICE_TEXT = QColor("#0f3d2e"), QColor("#fff59d")


def fitted(text: str, px: float, width: float, bold: bool = False) -> QFont:
    """``text`` at ``px``, shrunk until it fits ``width`` (display.fit.fit_font)."""
    return fit_font(text, px, width, bold=bold)


def call_number_font(width: float, height: float, number: str) -> QFont:
    """The newest call's first line ("请 B017 号") font for a call box of this size."""
    return fit_font(f"请 {number} 号", height * 0.46, width * 0.94, bold=True)


def call_box(width: int, height: int) -> QRectF:
    """Where the newest call is drawn on a screen of this size."""
    if height > width:    # portrait
        return QRectF(0.02 * width, 0.082 * height, 0.96 * width, 0.21 * height)
    return QRectF(0.012 * width, 0.09 * height, 0.54 * width, 0.37 * height)


def cap_height_share(width: int, height: int, number: str = "B017") -> float:
    """The newest call's number cap height as a share of the screen height."""
    box = call_box(width, height)
    return QFontMetricsF(call_number_font(box.width(), box.height(), number)).capHeight() \
        / height


class WallWidget(BoardPainter, QWidget):
    def __init__(self, zone: str | None = None,
                 now: Callable[[], float] = time.time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zone = zone
        self.board = Board()
        self.status = "connecting"
        self.now = now
        self.notice_offset = 0.0
        self.drawn: list[Drawn] = []     # every text of the last paint (board.Drawn)
        self.timezone = "Asia/Shanghai"
        self._newest_key: tuple | None = None
        self._shown = False
        self._flash_until = 0.0
        self._flash_on = False
        self.voice_off = ""              # why the voice is off (display.voice_status)
        self.setWindowTitle("OneWindow 一窗通 — 叫号屏")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._clock = QTimer(self, interval=1000, timeout=self.update)
        self._clock.start()
        self._flash = QTimer(self, interval=400, timeout=self._blink)
        self._marquee = QTimer(self, interval=30, timeout=self._scroll)
        self._marquee.start()

    # ------------------------------------------------------------ state

    @property
    def lost(self) -> bool:
        return self.status != "connected"

    @property
    def flashing(self) -> bool:
        return self._flash.isActive()

    def set_status(self, status: str) -> None:
        self.status = status
        self.update()

    def set_voice_off(self, reason: str) -> None:
        """Show the small 语音关闭 voice off mark for staff (``reason`` "": hide it)."""
        self.voice_off = reason
        self.setToolTip(f"语音关闭 voice off: {reason}" if reason else "")
        self.update()

    def show_view(self, view: HallView) -> None:
        zone = self.zone if self.zone is not None else view.zone
        self.timezone = view.hall.get("timezone") or self.timezone
        self.show_board(build_board(view, zone))

    def show_board(self, board: Board) -> None:
        key = board.newest.key if board.newest else None
        if self._shown and key is not None and key != self._newest_key:
            self._flash_until = time.monotonic() + FLASH_SECONDS
            self._flash_on = True
            self._flash.start()
        self._shown = board.loaded      # the first picture after start does not flash
        self._newest_key = key
        if board.notice != self.board.notice:
            self.notice_offset = 0.0
        self.board = board
        self.update()

    def _blink(self) -> None:
        if time.monotonic() >= self._flash_until:
            self._flash.stop()
            self._flash_on = False
        else:
            self._flash_on = not self._flash_on
        self.update()

    def _scroll(self) -> None:
        if self.board.notice:
            self.notice_offset += max(1.0, self.height() / 500)
            self.update()

    # ------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        w, h = self.width(), self.height()
        self.drawn = []
        p.fillRect(self.rect(), BG)
        u = min(h / 100, w / 60)
        header = QRectF(0, 0, w, (0.075 if h > w else 0.08) * h)
        notice = QRectF(0, 0.93 * h, w, 0.07 * h)
        parts = sections(w, h, self.board, band=bool(self.board.notice) or self.lost)
        self._header(p, header, u)
        if self.voice_off:
            paint_voice_mark(self, p, header, u)
        self._call(p, call_box(w, h), u)
        self._recent(p, parts["recent"], u)
        self._windows(p, parts["windows"], u)
        self._queues(p, parts["queues"], u)
        if self.board.notice and not self.lost:   # no notice: no band (its room is used)
            self._notice(p, notice, u)
        if self.lost:  # dim what is out of date; the banner takes the notice's place
            self._lost(p, QRectF(0, header.bottom(), w, notice.top() - header.bottom()),
                       notice, u)
        p.end()

    def _header(self, p: QPainter, r: QRectF, u: float) -> None:
        p.fillRect(r, PANEL)
        b = self.board
        pad = 1.2 * u
        title = b.hall_name + (f"　{b.zone_name}" if b.zone_name else "")
        title_en = b.hall_name_en + (f" · {b.zone_name_en}" if b.zone_name_en else "")
        try:
            tz = ZoneInfo(self.timezone)
        except Exception:   # an unknown zone name: keep the hall's usual one
            tz = ZoneInfo("Asia/Shanghai")
        date_line, time_line = clock_lines(datetime.fromtimestamp(self.now(), tz))
        inner = r.adjusted(pad, 0, -pad, 0)
        if self.height() > self.width():   # portrait: title on top, date and time below
            top = QRectF(inner.left(), r.top(), inner.width(), r.height() * 0.52)
            low = QRectF(inner.left(), top.bottom(), inner.width(), r.height() * 0.46)
            self._text(p, top, title, fitted(title, top.height() * 0.62, top.width(), True),
                       TEXT)
            en_w = low.width() * 0.42
            lines = [t for t in (b.hall_name_en, b.zone_name_en) if t]   # one under the other
            line_h = low.height() / max(1, len(lines))
            for i, line in enumerate(lines):
                self._text(p, QRectF(low.left(), low.top() + i * line_h, en_w, line_h), line,
                           fitted(line, min(line_h * 0.62, low.height() * 0.36), en_w),
                       SOFT)
            clock = QRectF(low.left() + en_w + u, low.top(), low.width() - en_w - u,
                           low.height())
            size = low.height() * 0.62
        else:
            right = inner.width() * 0.36
            left = QRectF(inner.left(), r.top(), inner.width() - right - u, r.height())
            self._text(p, QRectF(left.left(), r.top(), left.width(), r.height() * 0.62),
                       title, fitted(title, r.height() * 0.42, left.width(), True), TEXT)
            self._text(p, QRectF(left.left(), r.top() + r.height() * 0.58, left.width(),
                                 r.height() * 0.38), title_en,
                       fitted(title_en, r.height() * 0.24, left.width()), SOFT)
            clock = QRectF(inner.right() - right, r.top(), right, r.height())
            size = r.height() * 0.52
        tf = font(size, True)
        tw = QFontMetricsF(tf).horizontalAdvance(time_line) + 0.5 * u
        self._text(p, QRectF(clock.right() - tw, clock.top(), tw, clock.height()), time_line,
                   tf, NUMBER, Qt.AlignmentFlag.AlignRight)
        dw = clock.width() - tw - u
        self._text(p, QRectF(clock.left(), clock.top(), dw, clock.height()), date_line,
                   fitted(date_line, size * 0.62, dw), TEXT, Qt.AlignmentFlag.AlignRight)

    def _call(self, p: QPainter, r: QRectF, u: float) -> None:
        call = self.board.newest
        stale = self.lost
        bg = STALE_BG if stale else (FLASH if self._flash_on else PANEL)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(r, u, u)
        inner = r.adjusted(1.5 * u, 0.6 * u, -1.5 * u, -0.6 * u)
        grey = STALE_TEXT
        if call is None:
            zh, en = "请留意叫号", "Please wait for your number"
            self._text(p, QRectF(inner.left(), r.top() + 0.2 * r.height(), inner.width(),
                                 r.height() * 0.35), zh, fitted(zh, r.height() * 0.24,
                                                                inner.width(), True),
                       grey if stale else TEXT, Qt.AlignmentFlag.AlignHCenter)
            self._text(p, QRectF(inner.left(), r.top() + 0.56 * r.height(), inner.width(),
                                 r.height() * 0.2), en, fitted(en, r.height() * 0.13,
                                                               inner.width()),
                       grey if stale else SOFT, Qt.AlignmentFlag.AlignHCenter)
            return
        # line 1: 请 B017 号 — the number in yellow, fitted as one run
        f1 = call_number_font(r.width(), r.height(), call.number)
        fm = QFontMetricsF(f1)
        parts = [("请 ", TEXT), (call.number, NUMBER), (" 号", TEXT)]
        total = sum(fm.horizontalAdvance(t) for t, _ in parts)
        x = r.center().x() - total / 2
        line1 = QRectF(r.left(), r.top() + 0.02 * r.height(), r.width(), r.height() * 0.5)
        for text, color in parts:
            adv = fm.horizontalAdvance(text)
            self._text(p, QRectF(x, line1.top(), adv + 2, line1.height()), text, f1,
                       grey if stale else color)
            x += adv
        if call.recall:
            tag = "重呼 Recall"
            tf = font(r.height() * 0.09, True)
            tw = QFontMetricsF(tf).horizontalAdvance(tag) + u
            tr = QRectF(r.right() - tw - 0.8 * u, r.top() + 0.8 * u, tw, r.height() * 0.13)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(RECALL_TAG if not stale else QColor("#5b6470"))
            p.drawRoundedRect(tr, 0.4 * u, 0.4 * u)
            self._text(p, tr, tag, tf, TEXT, Qt.AlignmentFlag.AlignHCenter)
        zh = f"到 {call.window_name} 办理"
        line2 = QRectF(inner.left(), r.top() + 0.52 * r.height(), inner.width(),
                       r.height() * 0.26)
        self._text(p, line2, zh, fitted(zh, r.height() * 0.2, inner.width(), True),
                   grey if stale else TEXT, Qt.AlignmentFlag.AlignHCenter)
        line3 = QRectF(inner.left(), r.top() + 0.78 * r.height(), inner.width(),
                       r.height() * 0.18)
        self._text(p, line3, call.text_en, fitted(call.text_en, r.height() * 0.12,
                                                  inner.width()),
                   grey if stale else SOFT, Qt.AlignmentFlag.AlignHCenter)

    def _notice(self, p: QPainter, r: QRectF, u: float) -> None:
        p.fillRect(r, NOTICE_BG)
        text = self.board.notice
        f = font(min(r.height() * 0.55, 6 * u), True)
        fm = QFontMetricsF(f)
        gap = r.width() * 0.3
        span = fm.horizontalAdvance(text) + gap
        x = r.left() + u - (self.notice_offset % span)
        p.save()
        p.setClipRect(r)
        p.setFont(f)
        p.setPen(NOTICE_TEXT)
        self.drawn.append(Drawn(text, f, QRectF(r), QRectF(r.left(), r.top(), r.width(),
                                                        r.height()), QColor(NOTICE_TEXT)))
        while x < r.right():
            p.drawText(QRectF(x, r.top(), span, r.height()),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
            x += span
        p.restore()

    def _lost(self, p: QPainter, stale: QRectF, band: QRectF, u: float) -> None:
        # A red frame, not a dimming veil: dimmed text would fall below 4.5:1 contrast
        # and the last call must stay readable (the call box itself turns grey).
        p.setPen(QPen(LOST, 0.5 * u))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(stale.adjusted(0.25 * u, 0.25 * u, -0.25 * u, 0))
        p.fillRect(band, LOST)
        text = banner_text(self.status)
        self._text(p, band.adjusted(2 * u, 0, -2 * u, 0), text,
                   fitted(text, band.height() * 0.5, band.width() - 4 * u, True), TEXT,
                   Qt.AlignmentFlag.AlignHCenter)
