"""``onewindow supervise``: the city's supervision screen (电子监察大屏) of every hall.

A desk or wall screen at the city's supervision office, talking to ``onewindow central``
(not to a hall's hub) as a ``supervision`` device, through the project's client
library: ``QtHubClient`` keeps the connection (reconnects, backoff, a refused token
is final) and hands the welcome's view over as its snapshot; the screen then asks the
``halls`` query every ``every`` seconds. One row per hall: today's counts, waits, open
windows, alerts, and how far behind its shipping is (red when stale); under it every
active alert of every hall. Rows and words: board.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QApplication,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..client.client import HubClient
from ..client.qt import QtHubClient
from . import board
from .server import ROLE

HALL_COLUMNS = ("大厅\nHall", "营业日\nDay", "取号\nIssued", "办结\nServed", "等候\nWaiting",
                "最长等候\nLongest wait", "平均等候\nMean wait", "窗口\nWindows",
                "告警\nAlerts", "上报\nShipping", "数据截至\nData as of")
ALERT_COLUMNS = ("大厅\nHall", "级别\nLevel", "告警\nAlert", "对象\nSubject", "发生\nSince",
                 "已确认\nAcknowledged")
RED, AMBER, GREEN = QColor("#b71c1c"), QColor("#8a5300"), QColor("#1b5e20")
SIZE = QSize(1600, 900)
RED_BG, AMBER_BG = QColor("#ffebee"), QColor("#fff3e0")
SHIPPING_COLOURS = {board.STALE: (RED, RED_BG), board.BEHIND: (AMBER, AMBER_BG),
                    board.LIVE: (GREEN, None)}


class _CentreClient(HubClient):
    """The library's client in the ``supervision`` role, which the hub protocol's role
    list (dispatcher/protocol.py) does not hold: only ``onewindow central`` serves it."""

    def __init__(self, url: str, role: str, device: str, token: str, **options: Any) -> None:
        super().__init__(url, "console", device, token, **options)
        self.role = role


class SupervisionClient(QtHubClient):
    """QtHubClient whose network thread runs ``_CentreClient``."""

    def __init__(self, url: str, device: str, token: str, **options: Any) -> None:
        super().__init__(url, "console", device, token, **options)
        self._args = (url, ROLE, device, token)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._client = _CentreClient(*self._args, on_event=self._net_event,
                                     on_status=self._net_status,
                                     on_snapshot=self._net_snapshot, **self._options)
        self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                        name=f"centre-{self._args[2]}")
        self._thread.start()


def _item(text: str, *, right: bool = False, bold: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    align = Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft
    item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


def _table(headers: tuple[str, ...], stretch: int) -> QTableWidget:
    """Columns as wide as their contents, but ``stretch`` takes the width left (and
    gives way first, eliding, on a narrow screen): no column is cut off at the right."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().setVisible(False)
    table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    header.setStyleSheet("QHeaderView::section { font-size: 14px; padding: 2px 6px; }")
    return table


def _fit_rows(table: QTableWidget, lines: int) -> None:
    """Room for ``lines`` lines of text in every row (Qt sizes rows before it wraps)."""
    height = table.fontMetrics().lineSpacing() * lines + 12
    for row in range(table.rowCount()):
        table.setRowHeight(row, height)


class SupervisionScreen(QWidget):
    def __init__(self, hub: SupervisionClient, *, every: float = 5.0,
                 stale_after: float = 60.0) -> None:
        super().__init__()
        self.hub, self.every, self.stale_after = hub, every, stale_after
        self.view: dict[str, Any] = {}
        self.rows: list[board.HallRow] = []
        self.asked = 0.0                 # when the last query went out (monotonic)
        self.setWindowTitle("电子监察 · 各大厅实时 — OneWindow city supervision")
        self.setFont(QFont(self.font().family(), 13))
        self.title = QLabel("电子监察 · 各大厅实时   City supervision: every hall, live")
        self.title.setStyleSheet("font-size: 24px; font-weight: bold; color: #0d47a1;")
        self.status = QLabel("正在连接中心… Connecting to the centre…")
        self.status.setStyleSheet("font-size: 15px;")
        self.halls = _table(HALL_COLUMNS, stretch=0)
        self.alerts_title = QLabel("告警 Alerts")
        self.alerts_title.setStyleSheet("font-size: 18px; font-weight: bold;")
        self.alerts = _table(ALERT_COLUMNS, stretch=2)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.status, self.halls, self.alerts_title, self.alerts):
            layout.addWidget(widget)
        layout.setStretch(2, 3)
        layout.setStretch(4, 2)
        hub.snapshotLoaded.connect(lambda: self.show_view(hub.view.to_dict()))
        hub.statusChanged.connect(lambda _status: self.redraw())
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(1000)

    # ------------------------------------------------------------ data

    def tick(self) -> None:
        """Every second: ask for a fresh view when due, redraw the ages."""
        if self.hub.connected and time.monotonic() - self.asked >= self.every:
            self.asked = time.monotonic()
            self.hub.send_query("halls", on_reply=self._on_reply, timeout=self.every * 2)
        self.redraw()

    def _on_reply(self, ok: bool, payload: dict[str, Any]) -> None:
        if ok and isinstance(payload.get("halls"), dict):
            self.show_view(payload)

    def show_view(self, view: dict[str, Any]) -> None:
        self.view = view
        self.redraw()

    def redraw(self) -> None:
        if not self.view:
            self._draw_status()
            return
        self.rows = board.rows(self.view, self.hub.server_now(), self.stale_after)
        self._draw_halls()
        self._draw_alerts()
        self._draw_status()

    # ------------------------------------------------------------ drawing

    def _draw_status(self) -> None:
        made = self.view.get("generated_at")
        age = board.duration(None if made is None else self.hub.server_now() - made)
        if self.hub.status == "refused":
            text, colour = ("中心拒绝了本设备（设备号或令牌不对） The centre refused this "
                            "device (wrong device id or token)"), RED
        elif not self.hub.connected:
            text, colour = (f"与中心的连接已断开，正在重连；以下数据是 {age} 之前的 "
                            f"Disconnected from the centre, reconnecting; figures "
                            f"{age} old"), RED
        else:
            stale = sum(r.shipping == board.STALE for r in self.rows)
            text = (f"已连接 connected · {len(self.rows)} 个大厅 halls · "
                    f"{stale} 个上报中断 stale · 数据生成于 {age} 前 view made {age} ago")
            colour = RED if stale else GREEN
        self.status.setText(text)
        self.status.setStyleSheet(f"font-size: 15px; color: {colour.name()};")

    def _draw_halls(self) -> None:
        table = self.halls
        table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            waiting = _item(str(r.waiting), right=True)
            waiting.setToolTip("\n".join(f"{q}: {n}" for q, n in r.waiting_by_queue.items()))
            alerts = _item(self._alert_text(r), right=True, bold=bool(r.critical))
            if r.critical:
                alerts.setForeground(RED)
            name = _item(f"{r.name} · {r.id}\n{r.name_en}")
            name.setToolTip(f"{r.name}\n{r.name_en}\nid {r.id}")
            cells = [name, _item(r.day), _item(str(r.issued), right=True),
                     _item(str(r.served), right=True), waiting,
                     _item(r.longest_wait, right=True), _item(r.mean_wait, right=True),
                     _item(r.windows), alerts, self._lag_item(r), _item(r.asof, right=True)]
            for column, cell in enumerate(cells):
                table.setItem(i, column, cell)
        _fit_rows(table, 2)
        # a few halls: the table no taller than its rows, the alerts get the rest
        rows_height = sum(table.rowHeight(i) for i in range(table.rowCount()))
        table.setMaximumHeight(table.horizontalHeader().sizeHint().height() + rows_height
                               + 2 * table.frameWidth() + 2)

    @staticmethod
    def _alert_text(r: board.HallRow) -> str:
        if not r.alerts:
            return "0"
        return f"{r.alerts}（{r.critical} 严重 critical）" if r.critical else str(r.alerts)

    @staticmethod
    def _lag_item(r: board.HallRow) -> QTableWidgetItem:
        item = _item(r.lag, bold=r.shipping != board.LIVE)
        fg, bg = SHIPPING_COLOURS[r.shipping]
        item.setForeground(fg)
        if bg is not None:
            item.setBackground(bg)
        return item

    def _draw_alerts(self) -> None:
        alerts = [a for r in self.rows for a in r.alert_rows]
        names = {r.id: r.name for r in self.rows}
        self.alerts_title.setText(f"告警 Alerts（{len(alerts)}）")
        table = self.alerts
        table.setRowCount(max(1, len(alerts)))
        if not alerts:
            table.setSpan(0, 0, 1, len(ALERT_COLUMNS))
            table.setItem(0, 0, _item("没有告警 No alerts"))
            return
        table.clearSpans()
        alerts.sort(key=lambda a: (a.level != "critical", a.acknowledged, a.hall))
        for i, a in enumerate(alerts):
            level = _item(board.level_words(a.level), bold=a.level == "critical")
            if a.level == "critical":
                level.setForeground(RED)
            cells = [_item(f"{names.get(a.hall, a.hall)} · {a.hall}"), level, _item(a.words),
                     _item(a.subject), _item(a.since, right=True),
                     _item("是 yes" if a.acknowledged else "否 no")]
            for column, cell in enumerate(cells):
                table.setItem(i, column, cell)
        _fit_rows(table, 1)

    def screenshot(self, path: str | Path, size: QSize = SIZE) -> Path:
        self.resize(size)
        self.redraw()
        self.show()
        QApplication.processEvents()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.grab().save(str(out))
        return out
