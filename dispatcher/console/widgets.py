"""The console's floor widgets: window tiles per zone, the queue table with its 30-minute
sparklines, the hot/cold line. They draw dispatcher.console.model's rows; clicking a
tile selects the window the action bar acts on."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .model import STATE_COLOURS, QueueRow, Tile, fmt_duration, fmt_minutes

COLUMNS = 8


class Sparkline(QWidget):
    """A queue's waiting count over the last 30 minutes, newest on the right."""

    def __init__(self, values: tuple[int, ...] = (), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = values
        self.setMinimumSize(QSize(120, 22))

    def set_values(self, values: tuple[int, ...]) -> None:
        self.values = values
        self.update()

    def paintEvent(self, _event: object) -> None:
        if len(self.values) < 2:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width() - 4, self.height() - 6
        top = max(max(self.values), 1)
        step = w / (len(self.values) - 1)
        points = [QPointF(2 + i * step, 3 + h - h * v / top) for i, v in enumerate(self.values)]
        rising = self.values[-1] > self.values[0]
        p.setPen(QPen(QColor("#c62828" if rising else "#1565c0"), 1.6))
        p.drawPolyline(QPolygonF(points))
        p.end()


class WindowTile(QFrame):
    """One window: id and state, the number it holds and for how long, the clerk, its
    loop and main/side queues, tickets sent to it by name, its utilisation."""

    def __init__(self, window: str, on_click: Callable[[str], None]) -> None:
        super().__init__()
        self.window, self.on_click = window, on_click
        self.setObjectName("tile")
        self.setFrameShape(QFrame.Shape.Box)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(0)
        self.head, self.number, self.clerk, self.queues = (QLabel() for _ in range(4))
        self.head.setObjectName("tilehead")
        self.number.setObjectName("tilenumber")
        self.queues.setObjectName("tilequeues")
        self.clerk.setObjectName("tileclerk")
        for label in (self.head, self.number, self.clerk, self.queues):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            # a long queue list is cut at the tile's edge, never widens the grid
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            lay.addWidget(label)
        self.selected = False
        self.tile: Tile | None = None

    def mousePressEvent(self, _event: object) -> None:
        self.on_click(self.window)

    def show_tile(self, t: Tile, selected: bool) -> None:
        if self.tile is None or (self.tile.state, self.selected) != (t.state, selected):
            bg, fg = STATE_COLOURS.get(t.state, ("#ffffff", "#000000"))
            border = "4px solid #d500f9" if selected else "1px solid #616161"
            self.setStyleSheet(f"QFrame#tile {{ background: {bg}; border: {border}; "
                               f"border-radius: 4px; }} QLabel {{ color: {fg}; }}")
        self.tile, self.selected = t, selected
        util = "" if t.utilisation is None else f" · 忙{round(100 * t.utilisation)}%"
        self.head.setText(f"{t.window} {t.state_words}")
        if t.number:
            self.number.setText(f"{t.number}  {fmt_duration(t.serving_s)}")
        elif t.state == "paused":
            self.number.setText((t.pause_reason or "").split(" / ")[0] or "—")
        else:
            self.number.setText("—")
        by_name = f" 等{t.waiting}" if t.waiting else ""
        self.clerk.setText(f"{t.clerk or '无人 nobody'}{util}{by_name}")
        self.queues.setText(f"{t.loop} 主:{t.main}\n兼:{t.side}")
        self.setToolTip(f"{t.window} {t.state_words}\n主办 main: {t.main}\n兼办 side: {t.side}\n"
                        "忙 = 近1小时占用率 / busy share of the last hour")


class FloorTab(QWidget):
    """A zone: its hot/cold line over a grid of window tiles, and its queues beside."""

    def __init__(self, zone: str, on_click: Callable[[str], None]) -> None:
        super().__init__()
        self.zone, self.on_click = zone, on_click
        outer = QHBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        lay = QVBoxLayout()
        self.heat = QLabel()
        self.heat.setObjectName("heat")
        self.heat.setWordWrap(True)
        lay.addWidget(self.heat)
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        lay.addLayout(self.grid)
        lay.addStretch()
        outer.addLayout(lay, 3)
        self.queues = QueueTable()
        outer.addWidget(self.queues, 1)
        self.tiles: dict[str, WindowTile] = {}

    def show_floor(self, tiles: list[Tile], heat: str, selected: str | None) -> None:
        self.heat.setText(heat)
        for i, t in enumerate(tiles):
            tile = self.tiles.get(t.window)
            if tile is None:
                tile = self.tiles[t.window] = WindowTile(t.window, self.on_click)
                self.grid.addWidget(tile, i // COLUMNS, i % COLUMNS)
            tile.show_tile(t, t.window == selected)


HEADERS = ("队列 Queue", "等候\nWaiting", "最久\nLongest", "预计\nExpected",
           "近30分钟\nLast 30 min")


class QueueTable(QTableWidget):
    """The zone's queues: count, longest wait, expected wait, a sparkline."""

    def __init__(self) -> None:
        super().__init__(0, len(HEADERS))
        self.setHorizontalHeaderLabels(list(HEADERS))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(HEADERS) - 1, QHeaderView.ResizeMode.Stretch)
        self.sparks: list[Sparkline] = []
        self.verticalHeader().setDefaultSectionSize(26)

    def show_rows(self, rows: list[QueueRow], overdue_s: dict[str, float]) -> None:
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
            self.sparks = [Sparkline() for _ in rows]
            for r, spark in enumerate(self.sparks):
                self.setCellWidget(r, 4, spark)
        for r, row in enumerate(rows):
            late = row.longest_wait_s is not None and row.longest_wait_s >= overdue_s.get(
                row.queue, float("inf"))
            cells = (row.name, str(row.waiting),
                     fmt_minutes(row.longest_wait_s), fmt_minutes(row.expected_wait_s))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (1, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if c == 2 and late:
                    item.setForeground(QColor("#c62828"))
                self.setItem(r, c, item)
            self.sparks[r].set_values(row.trend)
