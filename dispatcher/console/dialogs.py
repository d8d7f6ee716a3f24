"""The console's dialogs: move a window / edit its queues, transfer a ticket, post a
notice. Each only gathers what the command needs; the console sends it."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .model import short_names


def _ok_cancel(dialog: QDialog, lay: Any) -> None:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                           | QDialogButtonBox.StandardButton.Cancel)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    lay.addWidget(box)


class MoveDialog(QDialog):
    """A window's main and side queues: start from the profile of another window of the
    zone (大循环 or a unit), or tick the queues; the reason goes to the audit trail."""

    def __init__(self, parent: QWidget, view: Any, window: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"调整窗口业务 / Move window {window}")
        self.view, self.window = view, window
        w = view.window(window) or {}
        zone = view.hall.get("windows", {}).get(window, {}).get("zone", "")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{window} 现在 / now: 主 {short_names(view, w.get('main') or [])}"
                             f" · 兼 {short_names(view, w.get('side') or [])}"))
        self.preset = QComboBox()
        self.preset.addItem("按窗口套用… / Same as another window…", None)
        seen: set[tuple[Any, ...]] = set()
        for other in sorted(view.windows_in(zone)):
            o = view.window(other) or {}
            key = (tuple(o.get("main") or ()), tuple(o.get("side") or ()),
                   bool(o.get("side_when_overdue")))
            if key in seen or other == window:
                continue
            seen.add(key)
            self.preset.addItem(f"{other}: 主 {short_names(view, key[0])} · 兼 "
                                f"{short_names(view, key[1])}", key)
        self.preset.currentIndexChanged.connect(self._use_preset)
        lay.addWidget(self.preset)
        grid = QGridLayout()
        grid.addWidget(QLabel("队列 Queue"), 0, 0)
        grid.addWidget(QLabel("主办 Main"), 0, 1)
        grid.addWidget(QLabel("兼办 Side"), 0, 2)
        self.main: dict[str, QCheckBox] = {}
        self.side: dict[str, QCheckBox] = {}
        for i, q in enumerate(view.queues_in(zone), start=1):
            grid.addWidget(QLabel(f"{view.queue_name(q)} ({q})"), i, 0)
            self.main[q], self.side[q] = QCheckBox(), QCheckBox()
            self.main[q].setChecked(q in (w.get("main") or []))
            self.side[q].setChecked(q in (w.get("side") or []))
            grid.addWidget(self.main[q], i, 1)
            grid.addWidget(self.side[q], i, 2)
        lay.addLayout(grid)
        self.overdue = QCheckBox("兼办超时优先 / Side work first when it is further overdue")
        self.overdue.setChecked(bool(w.get("side_when_overdue")))
        lay.addWidget(self.overdue)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("原因（记入调整记录）/ Reason, for the audit trail")
        lay.addWidget(self.reason)
        _ok_cancel(self, lay)

    def _use_preset(self) -> None:
        key = self.preset.currentData()
        if key is None:
            return
        main, side, overdue = key
        for q in self.main:
            self.main[q].setChecked(q in main)
            self.side[q].setChecked(q in side)
        self.overdue.setChecked(overdue)

    def choose(self, main: list[str], side: list[str], reason: str,
               side_when_overdue: bool = False) -> None:
        """Fill the dialog in (tests, and a preset made elsewhere)."""
        for q in self.main:
            self.main[q].setChecked(q in main)
            self.side[q].setChecked(q in side)
        self.overdue.setChecked(side_when_overdue)
        self.reason.setText(reason)

    def args(self) -> dict[str, Any]:
        main = [q for q, b in self.main.items() if b.isChecked()]
        side = [q for q, b in self.side.items() if b.isChecked() and q not in main]
        return {"window": self.window, "main": main, "side": side,
                "side_when_overdue": self.overdue.isChecked(),
                "reason": self.reason.text().strip()}


class TransferDialog(QDialog):
    """To a queue (the ticket keeps its place in line) or to a named window."""

    def __init__(self, parent: QWidget, view: Any, number: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"转移 {number} / Transfer")
        lay = QVBoxLayout(self)
        self.to_queue = QRadioButton("转到队列（保留排队位置）/ To a queue, keeping its place")
        self.to_window = QRadioButton("转到指定窗口 / To a named window")
        self.to_queue.setChecked(True)
        self.queue_box, self.window_box = QComboBox(), QComboBox()
        for q in view.hall.get("queues", {}):
            self.queue_box.addItem(f"{view.queue_name(q)} ({q})", q)
        for w in sorted(view.windows):
            self.window_box.addItem(f"{view.window_name(w)} ({w})", w)
        for widget in (self.to_queue, self.queue_box, self.to_window, self.window_box):
            lay.addWidget(widget)
        _ok_cancel(self, lay)

    def target(self) -> dict[str, str]:
        if self.to_queue.isChecked():
            return {"to_queue": self.queue_box.currentData()}
        return {"to_window": self.window_box.currentData()}


class NoticeDialog(QDialog):
    """公告: a line for the wall displays of one zone or the whole hall (empty clears)."""

    def __init__(self, parent: QWidget, view: Any) -> None:
        super().__init__(parent)
        self.setWindowTitle("发布公告 / Notice to the displays")
        lay = QVBoxLayout(self)
        self.text = QLineEdit()
        self.text.setPlaceholderText("公告内容（留空则清除）/ Text (empty clears it)")
        self.zone = QComboBox()
        self.zone.addItem("全大厅 / Whole hall", None)
        for z in view.hall.get("zones", {}):
            self.zone.addItem(f"{view.zone_name(z)} ({z})", z)
        lay.addWidget(self.text)
        lay.addWidget(self.zone)
        _ok_cancel(self, lay)

    def args(self) -> dict[str, Any]:
        return {"text": self.text.text().strip(), "zone": self.zone.currentData()}
