"""Answering the modal dialogs a Qt app opens, in the pytest-qt tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def answer_next_dialog(answer: Callable[[Any], Any]) -> list[str]:
    """Answer the modal dialog an action is about to open: ``answer(dialog)`` fills it
    in and accepts it. Returns the dialogs' titles seen (one, once it has run)."""
    seen: list[str] = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, poll)
            return
        seen.append(dialog.windowTitle())
        answer(dialog)

    QTimer.singleShot(0, poll)
    return seen
