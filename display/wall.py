"""The lobby wall: one painted widget that shows a ``display.model.Board``.

Everything is laid out from the widget's size (landscape or portrait), so the same
code drives 1920×1080, 3840×2160 and 1080×1920 screens; text is fitted to its box
(shrunk, then elided) so long names never overlap their neighbours.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from dispatcher.client import HallView

from .model import Board, banner_text, build_board, clock_lines

FAMILY = "Noto Sans CJK SC"
FLASH_SECONDS = 6.0

BG = QColor("#0a1628")
PANEL = QColor("#13294b")
TEXT = QColor("#ffffff")
SOFT = QColor("#c9d6ea")          # English lines: still high contrast on the navy
NUMBER = QColor("#ffd740")
FLASH = QColor("#c62828")
LOST = QColor("#d50000")
TILE = {   # state -> (background, number colour, state text colour)
    "idle": (QColor("#1e3a5f"), TEXT, QColor("#9fe0a8")),
    "calling": (QColor("#8a5a00"), QColor("#ffffff"), QColor("#ffe082")),
    "serving": (QColor("#1b5e20"), QColor("#ffffff"), QColor("#c8e6c9")),
    "paused": (QColor("#6d3b00"), TEXT, QColor("#ffcc80")),
    "closed": (QColor("#1a2230"), QColor("#5c6b80"), QColor("#5c6b80")),
}


def font(px: float, bold: bool = False) -> QFont:
    f = QFont(FAMILY)
    f.setPixelSize(max(1, int(px)))
    f.setBold(bold)
    return f


def fitted(text: str, px: float, width: float, bold: bool = False,
           minimum: float = 0.55) -> QFont:
    """``text`` at ``px``, shrunk (down to ``minimum`` of it) until it fits ``width``."""
    f = font(px, bold)
    w = QFontMetricsF(f).horizontalAdvance(text)
    if w > width > 0:
        f = font(max(px * minimum, px * width / w), bold)
    return f


def call_number_font(width: float, height: float, number: str) -> QFont:
    """The newest call's first line ("请 B017 号") font for a call box of this size."""
    return fitted(f"请 {number} 号", height * 0.46, width * 0.94, bold=True, minimum=0.4)


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


def _grid(n: int, width: float, height: float, aspect: float) -> tuple[int, int]:
    """Columns and rows for n tiles of about ``aspect`` (w/h) giving the largest tiles."""
    best = (1, max(n, 1))
    best_size = -1.0
    for cols in range(1, max(n, 1) + 1):
        rows = math.ceil(n / cols)
        size = min(width / cols / aspect, height / rows)
        if size > best_size:
            best, best_size = (cols, rows), size
    return best


class WallWidget(QWidget):
    def __init__(self, zone: str | None = None,
                 now: Callable[[], float] = time.time, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zone = zone
        self.board = Board()
        self.status = "connecting"
        self.now = now
        self.notice_offset = 0.0
        self.timezone = "Asia/Shanghai"
        self._newest_key: tuple | None = None
        self._shown = False
        self._flash_until = 0.0
        self._flash_on = False
        self.setWindowTitle("OneWindow 一窗通 — 叫号屏")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._clock = QTimer(self, interval=1000, timeout=self.update)
        self._clock.start()
        self._tile_em = 5.0
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
        p.fillRect(self.rect(), BG)
        portrait = h > w
        u = min(h / 100, w / 60)
        pad = 0.8 * u
        if portrait:
            header = QRectF(0, 0, w, 0.075 * h)
            recent = QRectF(pad, 0.298 * h, w - 2 * pad, 0.14 * h)
            windows = QRectF(pad, 0.443 * h, w - 2 * pad, 0.32 * h)
            queues = QRectF(pad, 0.775 * h, w - 2 * pad, 0.145 * h)
        else:
            header = QRectF(0, 0, w, 0.08 * h)
            recent = QRectF(0.012 * w, 0.475 * h, 0.54 * w, 0.325 * h)
            windows = QRectF(0.565 * w, 0.09 * h, 0.423 * w, 0.71 * h)
            queues = QRectF(0.012 * w, 0.81 * h, 0.976 * w, 0.11 * h)
        notice = QRectF(0, 0.93 * h, w, 0.07 * h)
        self._header(p, header, u)
        self._call(p, call_box(w, h), u)
        self._recent(p, recent, u)
        self._windows(p, windows, u)
        self._queues(p, queues, u)
        self._notice(p, notice, u)
        if self.lost:  # dim what is out of date; the banner takes the notice's place
            self._lost(p, QRectF(0, header.bottom(), w, notice.top() - header.bottom()),
                       notice, u)
        p.end()

    def _text(self, p: QPainter, rect: QRectF, text: str, f: QFont, color: QColor,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        p.setFont(f)
        p.setPen(color)
        elided = QFontMetricsF(f).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        p.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), elided)

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
                           fitted(line, min(line_h * 0.62, low.height() * 0.36), en_w,
                                  minimum=0.7), SOFT)
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
        bg = QColor("#3a3f47") if stale else (FLASH if self._flash_on else PANEL)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(r, u, u)
        inner = r.adjusted(1.5 * u, 0.6 * u, -1.5 * u, -0.6 * u)
        grey = QColor("#9aa3ad")
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
        p.setFont(f1)
        for text, color in parts:
            p.setPen(grey if stale else color)
            adv = fm.horizontalAdvance(text)
            p.drawText(QRectF(x, line1.top(), adv + 2, line1.height()),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
            x += adv
        if call.recall:
            tag = "重呼 Recall"
            tf = font(r.height() * 0.09, True)
            tw = QFontMetricsF(tf).horizontalAdvance(tag) + u
            tr = QRectF(r.right() - tw - 0.8 * u, r.top() + 0.8 * u, tw, r.height() * 0.13)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor("#ff6f00") if not stale else grey)
            p.drawRoundedRect(tr, 0.4 * u, 0.4 * u)
            self._text(p, tr, tag, tf, TEXT, Qt.AlignmentFlag.AlignHCenter)
        zh = f"到 {call.window_name} 办理"
        line2 = QRectF(inner.left(), r.top() + 0.52 * r.height(), inner.width(),
                       r.height() * 0.26)
        self._text(p, line2, zh, fitted(zh, r.height() * 0.2, inner.width(), True, 0.35),
                   grey if stale else TEXT, Qt.AlignmentFlag.AlignHCenter)
        line3 = QRectF(inner.left(), r.top() + 0.78 * r.height(), inner.width(),
                       r.height() * 0.18)
        self._text(p, line3, call.text_en, fitted(call.text_en, r.height() * 0.12,
                                                  inner.width()),
                   grey if stale else SOFT, Qt.AlignmentFlag.AlignHCenter)

    def _recent(self, p: QPainter, r: QRectF, u: float) -> None:
        title_h = min(r.height() * 0.16, 4.2 * u)
        self._text(p, QRectF(r.left(), r.top(), r.width(), title_h), "最近叫号  Recent calls",
                   font(title_h * 0.7, True), SOFT)
        body = QRectF(r.left(), r.top() + title_h, r.width(), r.height() - title_h)
        row_h = max(body.height() / 5, 3.6 * u)
        rows = max(1, int(body.height() // row_h))
        cols = 2 if r.width() > 70 * u else 1
        col_w = body.width() / cols
        fpx = row_h * 0.6
        nf = font(fpx, True)
        nw = QFontMetricsF(nf).horizontalAdvance("B000") + 2 * u
        for i, call in enumerate(self.board.recent[:rows * cols]):
            c, k = divmod(i, rows)
            cell = QRectF(body.left() + c * col_w, body.top() + k * row_h,
                          col_w - (u if cols > 1 else 0), row_h * 0.9)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PANEL)
            p.drawRoundedRect(cell, 0.5 * u, 0.5 * u)
            self._text(p, QRectF(cell.left() + u, cell.top(), nw, cell.height()), call.number,
                       nf, NUMBER)
            mf = font(fpx * 0.75, True)
            mark_w = QFontMetricsF(mf).horizontalAdvance("重呼 Recall") + u if call.recall \
                else 0.0
            name_r = QRectF(cell.left() + u + nw, cell.top(),
                            cell.width() - nw - mark_w - 2 * u, cell.height())
            self._text(p, name_r, call.window_name, fitted(call.window_name, fpx * 0.9,
                                                            name_r.width()), TEXT)
            if call.recall:
                self._text(p, QRectF(cell.right() - mark_w - u, cell.top(), mark_w,
                                     cell.height()), "重呼 Recall", mf, QColor("#ffab40"),
                           Qt.AlignmentFlag.AlignRight)

    def _windows(self, p: QPainter, r: QRectF, u: float) -> None:
        tiles = self.board.windows
        title_h = min(r.height() * 0.06, 4.2 * u)
        self._text(p, QRectF(r.left(), r.top(), r.width(), title_h), "窗口状态  Windows",
                   font(title_h * 0.7, True), SOFT)
        body = QRectF(r.left(), r.top() + title_h, r.width(), r.height() - title_h)
        if not tiles:
            return
        cols, rows = _grid(len(tiles), body.width(), body.height(), 2.8)
        # font px per px of tile width so that "B00 B000" fits a tile's first line
        self._tile_em = QFontMetricsF(font(100, True)).horizontalAdvance("B00 B000") / 100
        tw, th = body.width() / cols, body.height() / rows
        gap = max(2.0, 0.3 * u)
        for i, tile in enumerate(tiles):
            row, col = divmod(i, cols)
            cell = QRectF(body.left() + col * tw, body.top() + row * th, tw - gap, th - gap)
            bg, num_c, state_c = TILE.get(tile.state, TILE["idle"])
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(bg)
            p.drawRoundedRect(cell, 0.4 * u, 0.4 * u)
            inner = cell.adjusted(0.5 * u, 0, -0.5 * u, 0)
            top = QRectF(inner.left(), inner.top(), inner.width(), inner.height() * 0.58)
            bottom = QRectF(inner.left(), inner.top() + inner.height() * 0.55, inner.width(),
                            inner.height() * 0.42)
            big = min(th * 0.44, inner.width() / self._tile_em)
            label_c = QColor("#5c6b80") if tile.dim else TEXT
            nf = font(big, True)
            num_w = QFontMetricsF(nf).horizontalAdvance(tile.number) if tile.number else 0.0
            label_w = inner.width() - num_w - (0.4 * u if tile.number else 0)
            self._text(p, QRectF(top.left(), top.top(), label_w, top.height()), tile.short,
                       fitted(tile.short, big, label_w, True), label_c)
            if tile.number:     # the number is never elided; the label gives way
                self._text(p, QRectF(inner.right() - num_w - 1, top.top(), num_w + 1,
                                     top.height()), tile.number, nf,
                           NUMBER if tile.state == "calling" else num_c,
                           Qt.AlignmentFlag.AlignRight)
            state = f"{tile.state_zh} {tile.reason}" if tile.reason else \
                f"{tile.state_zh} {tile.state_en}"
            self._text(p, bottom, state, fitted(state, big * 0.7, bottom.width()), state_c)

    def _queues(self, p: QPainter, r: QRectF, u: float) -> None:
        queues = self.board.queues
        if self.height() > self.width():      # portrait: the title is a row of its own
            title_h = min(r.height() * 0.16, 4.2 * u)
            self._text(p, QRectF(r.left(), r.top(), r.width(), title_h),
                       "等候人数  Waiting", font(title_h * 0.7, True), SOFT)
            body = QRectF(r.left(), r.top() + title_h, r.width(), r.height() - title_h)
        else:
            title_w = min(r.width() * 0.12, 14 * u)
            self._text(p, QRectF(r.left(), r.top(), title_w, r.height() * 0.5), "等候人数",
                       fitted("等候人数", r.height() * 0.22, title_w, True), SOFT)
            self._text(p, QRectF(r.left(), r.top() + r.height() * 0.45, title_w,
                                 r.height() * 0.4), "Waiting", font(r.height() * 0.16), SOFT)
            body = QRectF(r.left() + title_w, r.top(), r.width() - title_w, r.height())
        if not queues:
            return
        cols, rows = _grid(len(queues), body.width(), body.height(), 3.2)
        cw, ch = body.width() / cols, body.height() / rows
        for i, q in enumerate(queues):
            row, col = divmod(i, cols)
            cell = QRectF(body.left() + col * cw, body.top() + row * ch, cw - 0.4 * u,
                          ch - 0.4 * u)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PANEL)
            p.drawRoundedRect(cell, 0.4 * u, 0.4 * u)
            inner = cell.adjusted(0.6 * u, 0, -0.6 * u, 0)
            count_w = inner.width() * 0.2
            big = min(ch * 0.42, cw * 0.16)
            self._text(p, QRectF(inner.right() - count_w, inner.top(), count_w,
                                 inner.height()), str(q.waiting), font(big * 1.15, True),
                       NUMBER if q.waiting else SOFT, Qt.AlignmentFlag.AlignRight)
            name_w = inner.width() - count_w
            self._text(p, QRectF(inner.left(), inner.top(), name_w, inner.height() * 0.6),
                       q.name, fitted(q.name, big, name_w, True), TEXT)
            self._text(p, QRectF(inner.left(), inner.top() + inner.height() * 0.55, name_w,
                                 inner.height() * 0.4), q.name_en,
                       fitted(q.name_en, big * 0.66, name_w, minimum=0.8), SOFT)

    def _notice(self, p: QPainter, r: QRectF, u: float) -> None:
        p.fillRect(r, QColor("#0f3d2e"))
        text = self.board.notice
        if not text:
            return
        f = font(min(r.height() * 0.55, 6 * u), True)
        fm = QFontMetricsF(f)
        gap = r.width() * 0.3
        span = fm.horizontalAdvance(text) + gap
        x = r.left() + u - (self.notice_offset % span)
        p.save()
        p.setClipRect(r)
        p.setFont(f)
        p.setPen(QColor("#fff59d"))
        while x < r.right():
            p.drawText(QRectF(x, r.top(), span, r.height()),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
            x += span
        p.restore()

    def _lost(self, p: QPainter, stale: QRectF, band: QRectF, u: float) -> None:
        p.fillRect(stale, QColor(20, 20, 20, 150))
        p.fillRect(band, LOST)
        text = banner_text(self.status)
        self._text(p, band.adjusted(2 * u, 0, -2 * u, 0), text,
                   fitted(text, band.height() * 0.5, band.width() - 4 * u, True), TEXT,
                   Qt.AlignmentFlag.AlignHCenter)
