"""The kiosk app (kiosk/app.py) against a live hub subprocess and the virtual printer."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, LiveHub, sample_token
from PySide6.QtWidgets import QLabel

from dispatcher.client.qt import QtHubClient
from kiosk.app import LANG_SWITCH, KioskWindow
from kiosk.model import KioskModel
from printers import Printer
from printers.sim import forget_virtual, virtual_printer

_names = itertools.count()

pytestmark = pytest.mark.slow




class Kiosk:
    def __init__(self, qtbot: Any, hall: LiveHub, **printer_options: Any) -> None:
        self.name = f"kiosk-test-{os.getpid()}-{next(_names)}"
        self.vp = virtual_printer(self.name, **printer_options)
        self.hub = QtHubClient(hall.url, "kiosk", "K-B1", sample_token("K-B1"), **FAST)
        self.window = KioskWindow(self.hub, Printer(f"virtual://{self.name}"), "K-B1",
                                  poll_printer_s=0.2)
        self.window.resize(1080, 1920)
        qtbot.addWidget(self.window)
        self.qtbot = qtbot
        self.hub.start()
        self.wait_screen("home")

    @property
    def model(self) -> KioskModel:
        return self.window.model

    def wait_screen(self, screen: str, timeout: int = 10000) -> None:
        self.qtbot.waitUntil(lambda: self.model.screen == screen, timeout=timeout)

    def tap(self, target: str) -> None:
        """A real click on the button on screen."""
        self.window.buttons[target].click()

    def texts(self) -> str:
        return "\n".join(lab.text() for lab in self.window.findChildren(QLabel))

    def waiting(self, queue: str) -> int:
        return self.hub.view.waiting.get(queue, 0)

    def close(self) -> None:
        self.hub.close(timeout=2)
        forget_virtual(self.name)


@pytest.fixture
def kiosk_factory(qtbot: Any, hall: LiveHub) -> Iterator[Any]:
    made: list[Kiosk] = []

    def make(**options: Any) -> Kiosk:
        made.append(Kiosk(qtbot, hall, **options))
        return made[-1]

    yield make
    for kiosk in made:
        kiosk.close()


def test_quick_service_prints_the_number_the_hub_issued(kiosk_factory: Any) -> None:
    k = kiosk_factory()
    k.tap("quick")
    assert k.model.screen == "confirm"
    k.tap("take")
    k.wait_screen("done")
    number = k.model.ticket["number"]
    assert k.model.touches == 2
    assert len(k.vp.tickets) == 1 and k.vp.tickets[0].complete
    assert number in k.vp.tickets[0].text
    assert k.model.ticket["id"] in k.vp.tickets[0].qr_payloads[0]
    assert number in k.texts() and "请取票" in k.texts()


def test_double_tap_issues_one_ticket(kiosk_factory: Any) -> None:
    k = kiosk_factory()
    before = k.waiting("quick_b")
    k.tap("quick")
    take = k.window.buttons["take"]
    take.click()
    take.click()                          # the same button, before the screen changed
    k.window.touch("take")
    k.window.touch("green")
    k.wait_screen("done")
    k.qtbot.wait(300)
    assert k.window.sent.count("issue_ticket") == 1
    assert k.waiting("quick_b") == before + 1
    assert len(k.vp.tickets) == 1


def test_hub_down_pauses_and_issues_nothing_then_recovers(kiosk_factory: Any,
                                                          hall: LiveHub) -> None:
    k = kiosk_factory()
    hall.hub.kill()
    k.wait_screen("paused")
    assert "暂停取号" in k.texts()
    for target in ("quick", "help", "check_in", "take"):
        k.window.touch(target)
    assert k.model.screen == "paused" and "issue_ticket" not in k.window.sent
    hall.restart()
    k.wait_screen("home", timeout=15000)
    k.tap("help")
    k.tap("unit:tax")
    k.tap("take")
    k.wait_screen("done")
    assert k.model.touches == 3 and k.model.ticket["queue"] == "tax"
    assert k.window.sent.count("issue_ticket") == 1


def test_paper_out_says_so_and_issues_nothing(kiosk_factory: Any) -> None:
    k = kiosk_factory()
    before = k.waiting("quick_b")
    k.vp.set_state(paper="out")
    k.wait_screen("paused")
    assert k.model.pause_reason == "paper_out"
    assert "缺纸" in k.texts()
    k.window.touch("quick")
    k.window.touch("take")
    k.qtbot.waitUntil(lambda: any(ok for ok, _ in k.window.reports), timeout=5000)
    assert "issue_ticket" not in k.window.sent and k.waiting("quick_b") == before
    k.vp.set_state(paper="ok")
    k.wait_screen("home")


def test_printer_failing_mid_print_shows_the_ticket_and_reports(kiosk_factory: Any,
                                                                hall: LiveHub) -> None:
    k = kiosk_factory(paper_dots=200)     # the roll runs out part-way through the ticket
    k.tap("quick")
    k.tap("green")
    k.wait_screen("failed")
    number = k.model.ticket["number"]
    assert k.model.ticket["ticket_class"] == "green"
    assert number in k.texts()
    qr = k.window.findChild(QLabel, "qr")
    assert qr is not None and k.model.ticket["id"] in qr.property("payload")
    assert k.vp.tickets and not k.vp.tickets[-1].complete
    k.qtbot.waitUntil(lambda: bool(k.window.reports), timeout=5000)
    assert k.window.reports[0][0], k.window.reports
    console = QtHubClient(hall.url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    console.start()
    try:
        k.qtbot.waitUntil(lambda: "K-B1/printer" in console.view.devices, timeout=10000)
        assert console.view.devices["K-B1/printer"]["status"] == "paper_out"
    finally:
        console.close(timeout=2)


def test_appointment_check_in_on_the_keypad(kiosk_factory: Any, hall: LiveHub) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    console = QtHubClient(hall.url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    booked: list[tuple[bool, dict[str, Any]]] = []
    console.start()
    k = kiosk_factory()
    try:
        console.send_command("book_appointment", {"code": "4815", "queue": "quick_b",
                                                  "slot_start": start,
                                                  "slot_end": start + 1800},
                             on_reply=lambda ok, p: booked.append((ok, p)))
        k.qtbot.waitUntil(lambda: bool(booked), timeout=10000)
        assert booked[0][0], booked
    finally:
        console.close(timeout=2)
    k.tap("check_in")
    for digit in "4815":
        k.tap(f"key:{digit}")
    k.tap("submit")
    k.wait_screen("done")
    assert k.model.touches == 3
    assert k.model.ticket["ticket_class"] == "appointment"
    assert k.model.ticket["number"] in k.vp.tickets[-1].text
    k.tap("home")
    k.tap("check_in")
    for digit in "4815":
        k.tap(f"key:{digit}")
    k.tap("submit")
    k.qtbot.waitUntil(lambda: k.model.message == "already_checked_in", timeout=10000)
    assert k.model.screen == "check_in" and "该预约已签到" in k.texts()
    assert len(k.vp.tickets) == 1


def test_screenshots_render_every_screen_at_both_sizes(kiosk_factory: Any,
                                                       tmp_path: Path) -> None:
    from PIL import Image

    from kiosk.app import SCREENS, screenshots

    k = kiosk_factory()
    paths = screenshots(k.window, str(tmp_path / "kiosk"))
    assert len(paths) == 2 * (len(SCREENS) + 4)
    for path in paths:
        size = Image.open(path).size
        assert size in ((1080, 1920), (1920, 1080)), (path, size)   # nothing overflows
    assert k.model.screen == "home" and k.model.result is None      # restored


def test_the_page_is_not_rebuilt_under_a_finger(kiosk_factory: Any) -> None:
    k = kiosk_factory()
    k.qtbot.wait(1200)
    page = k.window._page
    k.qtbot.wait(2200)                    # ticks and printer polls change nothing
    assert k.window._page is page
    k.window._on_view()                   # new counts: drawn on the next tick
    k.qtbot.waitUntil(lambda: k.window._page is not page, timeout=3000)


_CJK = __import__("re").compile(r"[\u3400-\u9fff]")
_LATIN = __import__("re").compile(r"[A-Za-z]")


def _visible_texts(window: KioskWindow) -> list[tuple[str, str]]:
    """(what, text) of every visible label and button on the page; a button's text
    is its accessible name (its words are drawn by a label inside it)."""
    from PySide6.QtWidgets import QPushButton

    out: list[tuple[str, str]] = []
    for lab in window._page.findChildren(QLabel):
        if lab.isVisibleTo(window) and lab.objectName() not in ("number", "qr"):
            out.append((f"label {lab.objectName()}", lab.accessibleName() or lab.text()))
    for btn in window._page.findChildren(QPushButton):
        if btn.isVisibleTo(window):
            out.append((f"button {btn.property('target')}", btn.accessibleName()))
    return out


def test_every_screen_is_chinese_first_english_second(kiosk_factory: Any,
                                                      tmp_path: Path) -> None:
    from PySide6.QtCore import QSize

    k = kiosk_factory()
    seen = []
    for screen, step in (("home", None), ("units", "help"), ("confirm", "unit:tax"),
                         ("done", "take")):
        if step:
            k.tap(step)
        k.wait_screen(screen)
        k.window.screenshot(tmp_path / f"{screen}.png", QSize(1080, 1920))
        texts = _visible_texts(k.window)
        assert len(texts) >= 4, (screen, texts)
        for what, text in texts:
            assert _CJK.search(text) and _LATIN.search(text), (screen, what, text)
            lines = [line for line in text.split("\n") if line]
            if lines[0] == LANG_SWITCH["zh"][0]:
                continue                  # the switch offers English first, on purpose
            assert _CJK.search(lines[0]) or not _LATIN.search(lines[0]), (screen, what)
        seen.append(screen)
    assert seen == ["home", "units", "confirm", "done"]
    k.tap("home")
    k.tap("lang")                         # the switch puts English first, Chinese second
    quick = k.window.buttons["quick"].accessibleName().split("\n")
    assert quick[:2] == ["Quick Service", "马上办"]
    assert k.window.buttons["lang"].accessibleName().split("\n")[0] == "中文优先"


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)])
@pytest.mark.parametrize("large", [False, True])
def test_big_button_text_grows_with_the_button(kiosk_factory: Any, tmp_path: Path,
                                               size: tuple[int, int], large: bool) -> None:
    from PySide6.QtCore import QSize

    k = kiosk_factory()
    if large:
        k.tap("large")
    k.window.screenshot(tmp_path / "home.png", QSize(*size))
    for target in ("quick", "help"):
        btn = k.window.buttons[target]
        assert btn.title_px >= 0.12 * btn.height(), (target, btn.title_px, btn.height())
        label = btn.text_label
        assert label.heightForWidth(label.width()) <= label.height()   # nothing cut off
        frame = btn.mapTo(k.window, btn.rect().bottomRight())
        assert frame.x() <= size[0] and frame.y() <= size[1]      # inside the frame
