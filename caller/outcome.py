"""The caller panel's outcome dialog (办件结果): asked before 办结, or before a call
that finishes the ticket the window holds, when its queue requires an outcome.

One large button per outcome code of the hall file (Chinese over English), and
the 办件编号 field, shown only for an outcome that needs it; OK stays off until
the choice is complete, and the line under the field says what is still missing.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .model import OutcomeChoice, outcome_ready

STYLE = """
QWidget { font-size: 20px; }
QLabel#heading { font-size: 24px; font-weight: bold; }
QPushButton[outcome="true"] { min-height: 76px; min-width: 220px; font-size: 22px; }
QPushButton[outcome="true"]:checked { background: #0b5394; color: white; font-weight: bold; }
QLineEdit { min-height: 44px; font-size: 22px; }
QLabel#missing { color: #c62828; }
QLabel#case { font-weight: bold; }
QDialogButtonBox QPushButton { min-height: 52px; min-width: 160px; font-size: 20px; }
"""
COLUMNS = 1                # one wide button a line: long names never cut
MIN_WIDTH = 640
MAX_CASE_NUMBER = 64


def choice_label(c: OutcomeChoice) -> str:
    """Chinese over English; an outcome that needs the 办件编号 says so on both lines."""
    zh = f"{c.name}（需办件编号）" if c.case_number else c.name
    en = c.name_en or c.code
    return f"{zh}\n{en} (+ case no.)" if c.case_number else f"{zh}\n{en}"


class OutcomeDialog(QDialog):
    """``number``/``queue_name``: the ticket being finished, in the heading."""

    def __init__(self, parent: QWidget | None, choices: tuple[OutcomeChoice, ...],
                 number: str, queue_name: str) -> None:
        super().__init__(parent)
        self.choices = choices
        self.setWindowTitle("办件结果 / Outcome")
        self.setStyleSheet(STYLE)
        lay = QVBoxLayout(self)
        heading = QLabel(f"{number}  {queue_name}\n请选择办件结果 / Choose the outcome")
        heading.setObjectName("heading")
        lay.addWidget(heading)
        lay.addLayout(self._buttons())
        self.case_label = QLabel("办件编号 / Case number")
        self.case_label.setObjectName("case")
        self.case_edit = QLineEdit()
        self.case_edit.setMaxLength(MAX_CASE_NUMBER)
        self.case_edit.setPlaceholderText("例 / e.g. KY-2026-000123")
        self.case_edit.textChanged.connect(self._update)
        self.case_edit.returnPressed.connect(self._enter)     # Enter after the number: OK
        self.missing = QLabel("")
        self.missing.setObjectName("missing")
        for w in (self.case_label, self.case_edit, self.missing):
            lay.addWidget(w)
        self.box = QDialogButtonBox()
        self.ok = self.box.addButton("确定 / OK", QDialogButtonBox.ButtonRole.AcceptRole)
        self.box.addButton("取消 / Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.box.accepted.connect(self.accept)
        self.box.rejected.connect(self.reject)
        lay.addWidget(self.box)
        self.setMinimumWidth(MIN_WIDTH)
        self._update()

    def _buttons(self) -> QGridLayout:
        grid = QGridLayout()
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[str, QPushButton] = {}
        for i, c in enumerate(self.choices):
            b = QPushButton(choice_label(c))
            b.setProperty("outcome", True)
            b.setCheckable(True)
            b.setAutoDefault(False)              # Enter never picks an outcome by itself
            b.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            self.group.addButton(b, i)
            grid.addWidget(b, i // COLUMNS, i % COLUMNS)
            self.buttons[c.code] = b
        for col in range(COLUMNS):
            grid.setColumnStretch(col, 1)        # equal buttons, whatever their words
        self.group.idClicked.connect(lambda _i: self._update())
        return grid

    # ------------------------------------------------------------ reading

    def chosen(self) -> OutcomeChoice | None:
        i = self.group.checkedId()
        return self.choices[i] if i >= 0 else None

    def result_args(self) -> dict[str, str]:
        """``outcome`` and, when the outcome needs one, ``case_number``."""
        choice = self.chosen()
        if choice is None:
            return {}
        args = {"outcome": choice.code}
        if choice.case_number:
            args["case_number"] = self.case_edit.text().strip()
        return args

    def choose(self, code: str, case_number: str = "") -> None:
        """Pick an outcome (and type its case number) as a clerk would."""
        self.buttons[code].click()
        self.case_edit.setText(case_number)

    def _enter(self) -> None:
        if self.ok.isEnabled():
            self.accept()

    def _update(self) -> None:
        choice = self.chosen()
        needs = bool(choice and choice.case_number)
        self.case_label.setVisible(needs)
        self.case_edit.setVisible(needs)
        if needs:
            self.case_edit.setFocus()
        ready = outcome_ready(choice, self.case_edit.text())
        self.ok.setEnabled(ready)
        if choice is None:
            self.missing.setText("请先选择一项结果 / Choose an outcome first")
        elif not ready:
            self.missing.setText(f"“{choice.name}”需要办件编号 / {choice.name_en or choice.code} "
                                 "needs the case number")
        else:
            self.missing.setText("")


def screenshot(parent: QWidget | None, choices: tuple[OutcomeChoice, ...], path: str | Path,
               number: str = "S007", queue_name: str = "税务服务") -> Path:
    """The dialog as a clerk fills it in: the first outcome chosen, with a case number
    typed if it needs one. Nothing is sent."""
    dialog = OutcomeDialog(parent, choices, number, queue_name)
    dialog.choose(choices[0].code, "KY-2026-000123" if choices[0].case_number else "")
    dialog.resize(dialog.minimumWidth(), dialog.sizeHint().height())
    dialog.show()
    QApplication.processEvents()
    dialog.case_edit.deselect()              # as typed, not as selected by the focus
    dialog.case_edit.end(False)
    path = Path(path)
    dialog.grab().save(str(path))
    dialog.close()
    return path
