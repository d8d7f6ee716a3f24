"""The console's lower panels: alerts (acknowledge), balancing suggestions (apply, each
zone's automatic/manual switch, the moves made), 差评 cases (contacted, rectified,
closed with a note) and device health (click a row for the day's history). Every button
asks the hub through ``act(name, args, done)``; nothing here changes the view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .model import (
    CASE_STEPS,
    AlertRow,
    CaseRow,
    DeviceRow,
    Move,
    SuggestionRow,
)

Act = Callable[[str, dict[str, Any], str], None]


def table(headers: Sequence[str], stretch: int) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(list(headers))
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    t.setWordWrap(True)
    h = t.horizontalHeader()
    h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    h.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    t.verticalHeader().setDefaultSectionSize(30)
    return t


def fill(t: QTableWidget, rows: list[tuple[str, ...]], colour: list[str | None]) -> None:
    t.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if colour[r]:
                item.setForeground(QColor(colour[r]))
            t.setItem(r, c, item)


def buttons(t: QTableWidget, row: int, col: int, spec: list[tuple[str, Callable[[], None],
                                                              bool]]) -> list[QPushButton]:
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(2, 0, 2, 0)
    out = []
    for label, on_click, enabled in spec:
        b = QPushButton(label)
        b.setObjectName("rowbutton")
        b.setEnabled(enabled)
        b.clicked.connect(lambda _c=False, f=on_click: f())
        lay.addWidget(b)
        out.append(b)
    t.setCellWidget(row, col, box)
    return out


class AlertsPanel(QWidget):
    def __init__(self, act: Act) -> None:
        super().__init__()
        self.act, self.rows = act, []
        lay = QVBoxLayout(self)
        self.table = table(("级别 Level / 规则 Rule", "对象 Subject", "发生 Since",
                            "确认 Acknowledged", ""), 0)
        lay.addWidget(self.table)
        self.ack_buttons: dict[str, QPushButton] = {}

    def show_rows(self, rows: list[AlertRow]) -> None:
        if rows == self.rows:
            return
        self.rows = rows
        fill(self.table, [(r.words, r.subject, r.since,
                           f"已确认 {r.acknowledged_at} / acknowledged" if r.acknowledged
                           else "未确认 / not yet") for r in rows],
             [("#9e9e9e" if r.acknowledged else "#c62828" if r.level == "critical"
               else "#e65100") for r in rows])
        self.ack_buttons = {}
        for i, r in enumerate(rows):
            self.ack_buttons[r.id] = buttons(self.table, i, 4, [(
                "确认 Acknowledge", lambda a=r.id: self.act(
                    "acknowledge_alert", {"id": a}, "已确认告警 / Alert acknowledged"),
                not r.acknowledged)])[0]


class BalancingPanel(QWidget):
    """Suggestions with Apply, and a 自动/手动 switch per zone."""

    def __init__(self, act: Act, zones: list[tuple[str, str]]) -> None:
        super().__init__()
        self.act, self.rows = act, []
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("自动调度（系统按上限自行调整）/ Automatic (the hub moves, capped):"))
        self.auto: dict[str, QCheckBox] = {}
        for zone, name in zones:
            box = QCheckBox(f"{name} {zone}")
            box.clicked.connect(lambda checked, z=zone: self.act(
                "set_balancing", {"zone": z, "automatic": bool(checked)},
                "已切换 / Balancing mode set"))
            self.auto[zone] = box
            top.addWidget(box)
        top.addStretch()
        lay.addLayout(top)
        self.table = table(("窗口 Window", "调整 Change", "原因 Reason",
                            "预测60分钟等候 Predicted wait, next 60 min", ""), 2)
        self.table.verticalHeader().setDefaultSectionSize(48)     # two lines: 中文, English
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(1, 300)
        lay.addWidget(self.table)
        self.apply_buttons: dict[str, QPushButton] = {}

    def show_rows(self, rows: list[SuggestionRow], modes: dict[str, Any]) -> None:
        for zone, box in self.auto.items():
            box.setChecked(bool((modes.get(zone) or {}).get("automatic")))
        if rows == self.rows:
            return
        self.rows = rows
        fill(self.table, [(f"{r.window} ({r.zone})", r.change, r.reason, r.predicted)
                          for r in rows], [None] * len(rows))
        self.apply_buttons = {}
        for i, r in enumerate(rows):
            self.apply_buttons[r.id] = buttons(self.table, i, 4, [(
                "采纳 Apply", lambda s=r.id: self.act(
                    "apply_suggestion", {"id": s}, "已采纳建议 / Suggestion applied"),
                True)])[0]


class MovesPanel(QWidget):
    """The moves seen since the console started (and replayed on a resync): who, why."""

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        self.table = table(("时间 At", "窗口 Window", "调整后 Now", "谁 By", "原因 Reason"), 4)
        lay.addWidget(self.table)
        self.rows: list[Move] = []

    def show_rows(self, moves: list[Move]) -> None:
        if moves == self.rows:
            return
        self.rows = list(moves)
        fill(self.table, [(m.at, m.window, m.change, m.by, m.reason) for m in moves],
             [None] * len(moves))


class CasesPanel(QWidget):
    """差评 cases: contacted, rectified, closed, each with the note typed above."""

    def __init__(self, act: Act) -> None:
        super().__init__()
        self.act, self.rows = act, []
        lay = QVBoxLayout(self)
        self.note = QLineEdit()
        self.note.setPlaceholderText("处理说明（随下一步一起记录）/ Note, recorded with the "
                                     "next step")
        lay.addWidget(self.note)
        self.table = table(("号码 No.", "窗口 Window", "工作人员 Clerk", "评价 Level",
                            "原因 Reason", "联系时限 Contact by", "办结时限 Close by",
                            "状态 State", "处理记录 Steps", ""), 8)
        self.table.verticalHeader().setDefaultSectionSize(40)
        lay.addWidget(self.table)
        self.step_buttons: dict[tuple[str, str], QPushButton] = {}

    def show_rows(self, rows: list[CaseRow]) -> None:
        if rows == self.rows:
            return
        self.rows = rows
        fill(self.table, [(r.number, r.window, r.clerk, r.level, r.reason, r.contact_by,
                           r.close_by, r.state, r.steps) for r in rows],
             ["#c62828" if r.overdue else "#9e9e9e" if r.state.startswith("已办结") else None
              for r in rows])
        self.step_buttons = {}
        for i, r in enumerate(rows):
            spec = [(f"{zh} {en}", lambda c=r.id, s=step: self._step(c, s),
                     not r.state.startswith("已办结"))
                    for step, (zh, en) in CASE_STEPS.items()]
            for step, b in zip(CASE_STEPS, buttons(self.table, i, 9, spec), strict=True):
                self.step_buttons[(r.id, step)] = b

    def _step(self, case: str, step: str) -> None:
        self.act("update_case", {"case": case, "step": step, "note": self.note.text().strip()},
                 f"已记录 / Recorded: {CASE_STEPS[step][0]}")
        self.note.clear()


class DevicesPanel(QWidget):
    """Every device: online/offline, since, last fault; a click shows the day's history."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[DeviceRow] = []
        lay = QHBoxLayout(self)
        self.table = table(("设备 Device", "类型 Role", "在线 Online", "自 Since",
                            "最近故障 Last fault"), 4)
        self.table.cellClicked.connect(lambda r, _c: self._history(r))
        lay.addWidget(self.table, 3)
        self.history = QPlainTextEdit()
        self.history.setReadOnly(True)
        self.history.setPlaceholderText("点击设备查看今日记录 / Click a device for its day")
        lay.addWidget(self.history, 1)

    def show_rows(self, rows: list[DeviceRow]) -> None:
        if rows == self.rows:
            return
        self.rows = rows
        fill(self.table, [(r.device, r.role, r.online, r.since, r.fault) for r in rows],
             ["#c62828" if r.online.startswith("离线") or r.fault != "正常 ok" else None
              for r in rows])

    def _history(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            r = self.rows[row]
            self.history.setPlainText(f"{r.device} 今日记录 / today\n{r.history}")
