"""The wall's lower parts, painted from a ``display.model.Board``: where each part goes
(``sections``), the recent calls, the window tiles and the waiting counts.

Every text goes through ``BoardPainter._text``, which fits it to its box (never cut)
and records what was drawn where (``drawn``), so tests can check that each count,
number and name is shown whole and measure its contrast on the rendered picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

from .fit import english_name, fit_font, fits, font, text_width
from .model import Board, WindowRow, open_first

BG = QColor("#0a1628")
PANEL = QColor("#13294b")
TEXT = QColor("#ffffff")
SOFT = QColor("#c9d6ea")          # English lines: still high contrast on the navy
NUMBER = QColor("#ffd740")
DARK = QColor("#0a1628")
DIM = QColor("#8c9bb0")           # closed windows: dimmer than the open ones, still 5.6:1
RECALL = QColor("#ffab40")
TILE = {   # state -> (background, label, number, state text); every pair ≥ 4.5:1
    "idle": (QColor("#1e3a5f"), TEXT, TEXT, QColor("#9fe0a8")),
    "calling": (QColor("#ffb300"), DARK, DARK, DARK),
    "serving": (QColor("#1b5e20"), TEXT, TEXT, QColor("#c8e6c9")),
    "paused": (QColor("#6d3b00"), TEXT, QColor("#ffcc80"), QColor("#ffcc80")),
    "closed": (QColor("#1a2230"), DIM, DIM, DIM),
}
TILE_MIN_H = 3.6      # in u: below this, closed windows give their place to open ones
QUEUE_ROW_H = 4.0     # in u: one row of waiting counts
TITLE_H = 3.2         # in u: a part's title ("最近叫号  Recent calls")


@dataclass(frozen=True)
class Drawn:
    """One text as painted: whole, in ``font``, inside ``box``; ``rect`` is the
    text's own extent (what a contrast check looks at)."""

    text: str
    font: QFont
    box: QRectF
    rect: QRectF
    color: QColor


def sections(width: int, height: int, board: Board, band: bool) -> dict[str, QRectF]:
    """Where the recent calls, the windows and the waiting counts go. ``band``: the
    bottom strip (notice or lost banner) is shown; without it the parts use its room."""
    u = min(height / 100, width / 60)
    pad = 0.8 * u
    bottom = (0.93 * height if band else height) - pad
    if height > width:    # portrait: recent calls as long as the list, counts, windows
        top = 0.298 * height
        q_rows = math.ceil(len(board.queues) / 4)
        q_h = TITLE_H * u + q_rows * QUEUE_ROW_H * u if board.queues else 0.0
        queues = QRectF(pad, bottom - q_h, width - 2 * pad, q_h)
        n = min(len(board.recent), 3)
        r_h = TITLE_H * u + n * 3.6 * u if n else 0.0
        recent = QRectF(pad, top, width - 2 * pad, r_h)
        w_top = recent.bottom() + (pad if n else 0.0)
        windows = QRectF(pad, w_top, width - 2 * pad, queues.top() - pad - w_top)
        return {"recent": recent, "windows": windows, "queues": queues}
    title_w = min(0.976 * width * 0.12, 14 * u)
    q_rows = max(2, math.ceil(len(board.queues) / queue_columns(
        len(board.queues), 0.976 * width - title_w, u)))
    q_h = max(0.11 * height, q_rows * QUEUE_ROW_H * u * 1.1)
    queues = QRectF(0.012 * width, bottom - q_h, 0.976 * width, q_h)
    mid = queues.top() - pad
    return {"recent": QRectF(0.012 * width, 0.475 * height, 0.54 * width,
                             mid - 0.475 * height),
            "windows": QRectF(0.565 * width, 0.09 * height, 0.423 * width,
                              mid - 0.09 * height),
            "queues": queues}


def queue_columns(n: int, width: float, u: float) -> int:
    """Columns of waiting counts on a landscape wall: the fewest rows whose cells are
    at least 18 u wide."""
    rows = 1
    while rows < n and width / math.ceil(n / rows) < 18 * u:
        rows += 1
    return max(1, math.ceil(n / rows))


def tile_grid(tiles: list[WindowRow], width: float, height: float, u: float,
              portrait: bool) -> tuple[list[WindowRow], int, int]:
    """The tiles to show (open first on a portrait wall; only the open ones when all
    would be shorter than TILE_MIN_H), and the columns and rows."""
    shown = open_first(tiles) if portrait else tiles
    for candidate in (shown, [t for t in shown if t.open]):
        cols, rows = _grid(len(candidate), width, height, 2.8, portrait)
        if height / max(rows, 1) >= TILE_MIN_H * u:
            return candidate, cols, rows
    return candidate, cols, rows


def _grid(n: int, width: float, height: float, aspect: float,
          portrait: bool = False) -> tuple[int, int]:
    """Columns and rows for n tiles of about ``aspect`` (w/h) giving the largest tiles."""
    if portrait and n:
        cols = min(n, 5)
        return cols, math.ceil(n / cols)
    best = (1, max(n, 1))
    best_size = -1.0
    for cols in range(1, max(n, 1) + 1):
        rows = max(1, math.ceil(n / cols))   # no windows yet: before the first snapshot
        size = min(width / cols / aspect, height / rows)
        if size > best_size:
            best, best_size = (cols, rows), size
    return best


def _paused(tile: WindowRow) -> bool:
    """Paused with a reason: the reason takes the state line, 暂停 Paused the corner."""
    return tile.state == "paused" and bool(tile.reason or tile.reason_en)


def _first_line(tile: WindowRow) -> str:
    return f"{tile.short}  {tile.number}" if tile.number else tile.short


def _state_line(tile: WindowRow) -> str:
    if _paused(tile):
        return " ".join(x for x in (tile.reason, tile.reason_en) if x)
    return f"{tile.state_zh} {tile.state_en}"


class BoardPainter:
    """Mixed into the wall widget: paints the parts below the newest call."""

    board: Board
    drawn: list[Drawn]
    # and the widget's width() and height()

    def _text(self, p: QPainter, rect: QRectF, text: str, f: QFont, color: QColor,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        """``text`` whole in ``rect``: shrunk if it would not fit, never elided."""
        if not fits(text, f, rect.width()):
            f = fit_font(text, f.pixelSize(), rect.width(), bold=f.bold())
        flags = int(align | Qt.AlignmentFlag.AlignVCenter)
        p.setFont(f)
        p.setPen(color)
        p.drawText(rect, flags, text)
        if text.strip():
            extent = QFontMetricsF(f).boundingRect(rect, flags, text)
            self.drawn.append(Drawn(text, f, QRectF(rect), extent, QColor(color)))

    def _title(self, p: QPainter, r: QRectF, u: float, text: str) -> QRectF:
        """A part's title on top of ``r``; the rest of ``r`` below it."""
        h = TITLE_H * u
        self._text(p, QRectF(r.left(), r.top(), r.width(), h), text,
                   fit_font(text, h * 0.72, r.width(), bold=True), SOFT)
        return QRectF(r.left(), r.top() + h, r.width(), r.height() - h)

    def _recent(self, p: QPainter, r: QRectF, u: float) -> None:
        if r.height() <= 0 or not self.board.recent:
            return
        body = self._title(p, r, u, "最近叫号  Recent calls")
        row_h = min(body.height() / 4, 6.5 * u) if self.height() < self.width() else 3.6 * u
        rows = max(1, int(body.height() // row_h + 0.01))
        cols = 2 if r.width() > 70 * u else 1
        rows = min(rows, math.ceil(len(self.board.recent) / cols))
        col_w = body.width() / cols
        fpx = row_h * 0.56
        nf = font(fpx, True)
        calls = self.board.recent[:rows * cols]
        nw = max(text_width(c.number, nf) for c in [*calls, *self.board.recent[:1]]) + 1.5 * u
        nw = max(nw, text_width("B000", nf) + 1.5 * u)
        mf = font(fpx * 0.75, True)
        mark_w = text_width("重呼 Recall", mf) + u
        name_w = col_w - (u if cols > 1 else 0) - nw - 2 * u
        name_px = min(fit_font(c.window_name, fpx * 0.9, name_w - (mark_w if c.recall else 0))
                      .pixelSize() for c in calls)     # one size for the whole list
        for i, call in enumerate(calls):
            c, k = divmod(i, rows)
            cell = QRectF(body.left() + c * col_w, body.top() + k * row_h,
                          col_w - (u if cols > 1 else 0), row_h * 0.9)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PANEL)
            p.drawRoundedRect(cell, 0.5 * u, 0.5 * u)
            self._text(p, QRectF(cell.left() + u, cell.top(), nw, cell.height()), call.number,
                       nf, NUMBER)
            name_r = QRectF(cell.left() + u + nw, cell.top(), name_w, cell.height())
            self._text(p, name_r, call.window_name, font(name_px), TEXT)
            if call.recall:
                self._text(p, QRectF(cell.right() - mark_w - u, cell.top(), mark_w,
                                     cell.height()), "重呼 Recall", mf, RECALL,
                           Qt.AlignmentFlag.AlignRight)

    def _windows(self, p: QPainter, r: QRectF, u: float) -> None:
        portrait = self.height() > self.width()
        all_tiles = self.board.windows
        h = TITLE_H * u
        body = QRectF(r.left(), r.top() + h, r.width(), r.height() - h)
        tiles, cols, rows = tile_grid(all_tiles, body.width(), body.height(), u, portrait)
        title = "窗口状态  Windows"
        hidden = len(all_tiles) - len(tiles)
        if hidden:
            title += f"（另有 {hidden} 个窗口关闭  {hidden} more closed）"
        self._title(p, r, u, title)
        if not tiles:
            return
        tw, th = body.width() / cols, body.height() / rows
        gap = max(2.0, 0.3 * u)
        inner_w, top_h = tw - gap - u, (th - gap) * 0.58
        # one size for every tile's first line and one for every state line, so the
        # wall reads evenly; each is the size at which the longest one fits whole
        top = min(fit_font(_first_line(t), top_h * 0.78, inner_w, bold=True).pixelSize()
                  for t in tiles)
        low = min([fit_font(_state_line(t), top_h * 0.5, inner_w).pixelSize()
                   for t in tiles if not _paused(t)] or [int(top_h * 0.5)])
        for i, tile in enumerate(tiles):
            row, col = divmod(i, cols)
            cell = QRectF(body.left() + col * tw, body.top() + row * th, tw - gap, th - gap)
            self._tile(p, cell, tile, u, font(top, True), font(low))

    def _tile(self, p: QPainter, cell: QRectF, tile: WindowRow, u: float, f: QFont,
              low: QFont) -> None:
        bg, label_c, num_c, state_c = TILE.get(tile.state, TILE["idle"])
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(cell, 0.4 * u, 0.4 * u)
        inner = cell.adjusted(0.5 * u, 0, -0.5 * u, 0)
        top = QRectF(inner.left(), inner.top(), inner.width(), inner.height() * 0.58)
        bottom = QRectF(inner.left(), inner.top() + inner.height() * 0.55, inner.width(),
                        inner.height() * 0.42)
        label_w = text_width(tile.short, f) + 1
        self._text(p, QRectF(top.left(), top.top(), label_w, top.height()), tile.short, f,
                   label_c)
        corner = tile.number or ("暂停 Paused" if _paused(tile) else "")
        if corner:
            cf = f if tile.number else fit_font(corner, f.pixelSize() * 0.62,
                                                inner.width() - label_w - u, bold=True)
            cw = text_width(corner, cf) + 1
            self._text(p, QRectF(inner.right() - cw, top.top(), cw, top.height()), corner,
                       cf, num_c, Qt.AlignmentFlag.AlignRight)
        state = _state_line(tile)
        self._text(p, bottom, state, fit_font(state, low.pixelSize(), bottom.width()),
                   state_c)

    def _queues(self, p: QPainter, r: QRectF, u: float) -> None:
        queues = self.board.queues
        if self.height() > self.width():      # portrait: the title is a row of its own
            body = self._title(p, r, u, "等候人数  Waiting") if queues else r
            cols = 4
        else:
            title_w = min(r.width() * 0.12, 14 * u)
            self._text(p, QRectF(r.left(), r.top(), title_w, r.height() * 0.5), "等候人数",
                       fit_font("等候人数", 2.4 * u, title_w, bold=True), SOFT)
            self._text(p, QRectF(r.left(), r.top() + r.height() * 0.45, title_w,
                                 r.height() * 0.4), "Waiting", font(1.7 * u), SOFT)
            body = QRectF(r.left() + title_w, r.top(), r.width() - title_w, r.height())
            cols = queue_columns(len(queues), body.width(), u)
        if not queues:
            return
        cols = min(cols, len(queues))
        rows = math.ceil(len(queues) / cols)
        cw, ch = body.width() / cols, body.height() / rows
        for i, q in enumerate(queues):
            row, col = divmod(i, cols)
            cell = QRectF(body.left() + col * cw, body.top() + row * ch, cw - 0.4 * u,
                          ch - 0.4 * u)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(PANEL)
            p.drawRoundedRect(cell, 0.4 * u, 0.4 * u)
            inner = cell.adjusted(0.6 * u, 0, -0.6 * u, 0)
            big = min(inner.height() * 0.44, 3.2 * u)
            count = str(q.waiting)
            cf = fit_font(count, inner.height() * 0.62, inner.width() * 0.4, bold=True)
            count_w = text_width(count, cf) + 0.5 * u
            self._text(p, QRectF(inner.right() - count_w, inner.top(), count_w,
                                 inner.height()), count, cf,
                       NUMBER if q.waiting else SOFT, Qt.AlignmentFlag.AlignRight)
            name_w = inner.width() - count_w - 0.5 * u
            top = QRectF(inner.left(), inner.top(), name_w, inner.height() * 0.58)
            self._text(p, top, q.name, fit_font(q.name, big, name_w, bold=True), TEXT)
            low = QRectF(inner.left(), inner.top() + inner.height() * 0.55, name_w,
                         inner.height() * 0.42)
            en, ef = english_name(q.name_en, q.name_en_short, big * 0.7, name_w)
            self._text(p, low, en, ef, SOFT)
