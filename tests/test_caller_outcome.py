"""The caller panel asks for the outcome (办件结果) before it finishes a ticket whose
queue requires one, against a live hub (the sample hall: the units require one)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from typing import Any

import pytest
from hub_process import FAST, LiveHub, sample_token
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from qt_dialogs import answer_next_dialog
from test_caller import click, issue, run, settle, sign_in

from caller.model import command_args, outcome_choices, outcome_needed, outcome_ready
from caller.outcome import OutcomeDialog
from caller.panel import CallerPanel
from dispatcher.client.qt import QtHubClient

pytestmark = pytest.mark.slow


@pytest.fixture
def console(qtbot: Any, hall: LiveHub) -> Iterator[QtHubClient]:
    c = QtHubClient(hall.url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    c.start()
    qtbot.waitUntil(lambda: c.connected and c.view.loaded, timeout=10000)
    run(qtbot, c, "staff_sign_in", {"staff": "staff-001", "pin": "9001"})
    yield c
    c.close(timeout=2)


@pytest.fixture
def tax_panel(qtbot: Any, hall: LiveHub) -> Iterator[CallerPanel]:
    """B19, a tax window (税务服务, a unit: it requires an outcome), signed in and open."""
    hub = QtHubClient(hall.url, "caller", "C-B19", sample_token("C-B19"), **FAST)
    p = CallerPanel(hub, "B19")
    qtbot.addWidget(p)
    hub.start()
    qtbot.waitUntil(lambda: p.connected, timeout=10000)
    sign_in(qtbot, p)
    click(qtbot, p, "open")
    settle(qtbot, p)
    yield p
    hub.close(timeout=2)


def answer(qtbot: Any, fill_in: Any) -> tuple[list[str], list[BaseException]]:
    """Answer the next dialog with ``fill_in``: the titles seen, and what failed in it
    (a failure closes the dialog, so the test fails instead of hanging on it)."""
    def safely(dialog: OutcomeDialog) -> None:
        try:
            fill_in(dialog)
        except BaseException as exc:
            failures.append(exc)
            dialog.reject()

    failures: list[BaseException] = []
    return answer_next_dialog(safely), failures


def no_failures(failures: list[BaseException]) -> None:
    if failures:
        raise failures[0]


def serving(qtbot: Any, p: CallerPanel, console: QtHubClient) -> dict[str, Any]:
    """A tax ticket called (no outcome asked: the window held nothing) and started."""
    ticket = issue(qtbot, console, "tax")
    sent = len(p.sent)
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    assert "outcome" not in p.sent[sent][1]
    click(qtbot, p, "start")
    settle(qtbot, p)
    assert p.number.text() == ticket["number"]
    return ticket


def test_finish_asks_the_outcome_and_its_case_number(qtbot: Any, tax_panel: CallerPanel,
                                                     console: QtHubClient) -> None:
    p = tax_panel
    ticket = serving(qtbot, p, console)
    seen: dict[str, Any] = {}

    def fill_in(dialog: OutcomeDialog) -> None:
        seen["ok_at_first"] = dialog.ok.isEnabled()
        seen["labels"] = [b.text() for b in dialog.buttons.values()]
        dialog.choose("done")
        seen["ok_without_number"] = dialog.ok.isEnabled()
        seen["missing"] = dialog.missing.text()
        seen["field_shown"] = dialog.case_edit.isVisibleTo(dialog)
        qtbot.keyClicks(dialog.case_edit, "KY-2026-000123")
        seen["ok_with_number"] = dialog.ok.isEnabled()
        qtbot.keyClick(dialog.case_edit, Qt.Key.Key_Return)    # Enter: OK

    titles, failures = answer(qtbot, fill_in)
    qtbot.keyClick(p, Qt.Key.Key_F4)
    settle(qtbot, p)
    no_failures(failures)
    assert titles == ["办件结果 / Outcome"]
    assert seen["labels"][0].startswith("已办结") and "Done" in seen["labels"][0]
    assert not seen["ok_at_first"] and not seen["ok_without_number"]
    assert "需要办件编号" in seen["missing"] and seen["field_shown"]
    assert seen["ok_with_number"]
    assert p.sent[-1] == ("finish_service", {"window": "B19", "outcome": "done",
                                             "case_number": "KY-2026-000123"})
    assert "Finished" in p.message.text()
    qtbot.waitUntil(lambda: console.view.ticket(ticket["id"])["outcome"] == "done",
                    timeout=5000)
    assert console.view.ticket(ticket["id"])["case_number"] == "KY-2026-000123"


def test_call_next_asks_first_and_a_cancel_sends_nothing(qtbot: Any, tax_panel: CallerPanel,
                                                         console: QtHubClient) -> None:
    p = tax_panel
    first = serving(qtbot, p, console)
    issue(qtbot, console, "tax")
    qtbot.waitUntil(lambda: p.state().queues[0].waiting >= 1, timeout=5000)
    sent = len(p.sent)
    answer_next_dialog(lambda dialog: dialog.reject())
    click(qtbot, p, "call_next")
    assert len(p.sent) == sent and p.number.text() == first["number"]

    def not_accepted(dialog: OutcomeDialog) -> None:
        dialog.choose("rejected")                        # 不予受理 needs no number
        assert not dialog.case_edit.isVisibleTo(dialog) and dialog.ok.isEnabled()
        dialog.ok.click()

    p.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is p, timeout=5000)
    _, failures = answer(qtbot, not_accepted)
    qtbot.keyClick(p, Qt.Key.Key_F1)
    settle(qtbot, p)
    no_failures(failures)
    assert p.sent[-1] == ("call_next", {"window": "B19", "outcome": "rejected"})
    assert p.number.text() != first["number"]
    qtbot.waitUntil(lambda: console.view.ticket(first["id"])["outcome"] == "rejected",
                    timeout=5000)


def test_a_queue_without_the_requirement_asks_nothing(qtbot: Any, tax_panel: CallerPanel,
                                                      console: QtHubClient) -> None:
    p = tax_panel
    ticket = issue(qtbot, console, "quick_b")          # B19's side work
    click(qtbot, p, "call_next")
    settle(qtbot, p)
    assert p.number.text() == ticket["number"]
    assert not outcome_needed(p.hub.view, "B19", "finish")
    click(qtbot, p, "finish")                          # a dialog here would hang the test
    settle(qtbot, p)
    assert p.sent[-1] == ("finish_service", {"window": "B19"})


class _View:
    loaded = True

    def __init__(self, queue: str | None) -> None:
        self.queue = queue
        self.hall = {
            "queues": {"tax": {"outcome_required": True}, "quick_b": {}},
            "outcomes": {"done": {"name": "已办结", "name_en": "Done", "case_number": True},
                         "rejected": {"name": "不予受理", "name_en": "Not accepted"}}}

    def window(self, _w: str) -> dict[str, Any]:
        return {"ticket": "t1" if self.queue else None}

    def ticket(self, _t: str) -> dict[str, Any]:
        return {"queue": self.queue}


def test_the_model_knows_when_to_ask_and_what_to_send() -> None:
    assert outcome_needed(_View("tax"), "B19", "finish")
    assert outcome_needed(_View("tax"), "B19", "call_back")
    assert not outcome_needed(_View("tax"), "B19", "no_show")      # not a finish
    assert not outcome_needed(_View("quick_b"), "B19", "finish")
    assert not outcome_needed(_View(None), "B19", "call_next")     # holds nothing
    done, rejected = outcome_choices(_View("tax"))
    assert (done.code, done.case_number, rejected.case_number) == ("done", True, False)
    assert not outcome_ready(None, "") and not outcome_ready(done, " ")
    assert outcome_ready(done, "KY-1") and outcome_ready(rejected, "")
    assert command_args("call_ticket", "B19", ticket="t2", outcome="done",
                        case_number="KY-1") == ("call_ticket", {
                            "window": "B19", "outcome": "done", "case_number": "KY-1",
                            "ticket": "t2"})
    assert command_args("no_show", "B19", outcome="done") == ("no_show", {"window": "B19"})
