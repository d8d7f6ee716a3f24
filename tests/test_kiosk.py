"""The kiosk app (kiosk/app.py) against a live hub subprocess and the virtual printer."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, STAFF, HubProcess, LiveHub, sample_token
from PySide6.QtWidgets import QLabel

from dispatcher.client.qt import QtHubClient
from kiosk.app import LANG_SWITCH, KioskWindow
from kiosk.model import KioskModel
from printers import Printer
from printers.sim import forget_virtual, virtual_printer

_names = itertools.count()

pytestmark = pytest.mark.slow




class Kiosk:
    def __init__(self, qtbot: Any, hall: LiveHub | HubProcess, *, token: str | None = None,
                 window_options: dict[str, Any] | None = None,
                 printer_timeouts: dict[str, float] | None = None,
                 first_screen: str = "home", **printer_options: Any) -> None:
        self.name = f"kiosk-test-{os.getpid()}-{next(_names)}"
        self.vp = virtual_printer(self.name, **printer_options)
        self.hub = QtHubClient(hall.url, "kiosk", "K-B1",
                               sample_token("K-B1") if token is None else token, **FAST)
        printer = Printer(f"virtual://{self.name}", **(printer_timeouts or {}))
        self.window = KioskWindow(self.hub, printer, "K-B1", poll_printer_s=0.2,
                                  **(window_options or {}))
        self.window.resize(1080, 1920)
        qtbot.addWidget(self.window)
        self.qtbot = qtbot
        self.hub.start()
        self.wait_screen(first_screen)

    @property
    def model(self) -> KioskModel:
        return self.window.model

    def wait_screen(self, screen: str, timeout: int = 10000) -> None:
        self.qtbot.waitUntil(lambda: self.model.screen == screen, timeout=timeout)

    def tap(self, target: str) -> None:
        """A real click on the button on screen."""
        self.window.buttons[target].click()

    def shown_code(self) -> str:
        """The code as the check-in screen shows it (on the page now on screen)."""
        return self.window._page.findChild(QLabel, "code").text()

    def type_code(self, code: str) -> None:
        """Tap the code in, key by key, on the check-in keypad."""
        for char in code:
            self.tap(f"key:{char}")

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
    assert k.vp.tickets[0].qr_payloads[0] == k.model.result["status_url"]   # its own page
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
    assert qr is not None and qr.property("payload") == k.model.result["status_url"]
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
        signed: list[bool] = []
        console.send_command("staff_sign_in", STAFF, on_reply=lambda ok, _p: signed.append(ok))
        k.qtbot.waitUntil(lambda: bool(signed), timeout=10000)
        assert signed == [True]
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

    from kiosk.app import SCREENS, screenshots, shots

    k = kiosk_factory()
    paths = screenshots(k.window, str(tmp_path / "kiosk"))
    assert {screen for screen, _ in shots()} == set(SCREENS)
    assert len(paths) == 2 * len(shots())
    assert tmp_path / "kiosk-closed-portrait.png" in paths
    assert tmp_path / "kiosk-failed-unsure-landscape.png" in paths
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


# ---------------------------------------------------------------------- helpers

SLOT_DAY = "2026-11-23"        # the hub's training clock starts on this Monday, 09:30


class Console:
    """The hall's console, to book appointments and to see what the hub recorded."""

    def __init__(self, qtbot: Any, url: str) -> None:
        self.qtbot = qtbot
        self.hub = QtHubClient(url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
        self.hub.start()
        qtbot.waitUntil(lambda: self.hub.connected, timeout=10000)
        self.command("staff_sign_in", STAFF)

    def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        replies: list[tuple[bool, dict[str, Any]]] = []
        self.hub.send_command(name, args, on_reply=lambda ok, p: replies.append((ok, p)))
        self.qtbot.waitUntil(lambda: bool(replies), timeout=10000)
        assert replies[0][0], replies
        return replies[0][1]

    def book(self, code: str, hhmm: str, queue: str = "quick_b") -> None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        start = datetime.fromisoformat(f"{SLOT_DAY}T{hhmm}").replace(
            tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
        self.command("book_appointment", {"code": code, "queue": queue, "slot_start": start,
                                          "slot_end": start + 1800})

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        self.qtbot.waitUntil(lambda: ticket_id in self.hub.view.tickets, timeout=10000)
        return self.hub.view.tickets[ticket_id]

    def close(self) -> None:
        self.hub.close(timeout=2)


@pytest.fixture
def console(qtbot: Any, hall: LiveHub) -> Iterator[Console]:
    made = Console(qtbot, hall.url)
    yield made
    made.close()


def first_lines(window: KioskWindow) -> list[str]:
    """The first line of every bilingual label and button on the page."""
    return [text.split("\n")[0] for _, text in _visible_texts(window)]


# ---------------------------------------------------------------------- the paths


def test_help_path_takes_a_unit_ticket_in_three_touches(kiosk_factory: Any,
                                                        console: Console) -> None:
    k = kiosk_factory()
    before = k.waiting("tax")
    k.tap("help")
    assert k.model.screen == "units" and "请选择办理部门" in k.texts()
    assert "税务" in k.window.buttons["unit:tax"].accessibleName()
    k.tap("unit:tax")
    assert k.model.screen == "confirm"
    k.tap("take")
    k.wait_screen("done")
    ticket = k.model.ticket
    assert k.model.touches == 3
    assert console.ticket(ticket["id"])["queue"] == "tax"          # what the hub recorded
    assert console.ticket(ticket["id"])["ticket_class"] == "normal"
    k.qtbot.waitUntil(lambda: k.waiting("tax") == before + 1, timeout=5000)
    assert ticket["number"] in k.vp.tickets[-1].text and "税务" in k.vp.tickets[-1].text
    assert "请取票" in k.texts() and ticket["number"] in k.texts()


def test_green_channel_in_two_touches(kiosk_factory: Any, console: Console) -> None:
    k = kiosk_factory()
    k.tap("quick")
    assert "绿色通道取号" in k.window.buttons["green"].accessibleName()
    k.tap("green")
    k.wait_screen("done")
    ticket = k.model.ticket
    assert k.model.touches == 2
    assert console.ticket(ticket["id"])["ticket_class"] == "green"
    assert "绿色通道" in k.vp.tickets[-1].text and ticket["number"] in k.vp.tickets[-1].text
    assert "请取票" in k.texts()


@pytest.mark.parametrize(("code", "slot", "error", "shown"), [
    ("0000", None, "unknown_appointment", "预约码不存在"),
    ("7001", "11:00", "too_early", "还未到预约时段"),     # check-in opens 10:30
    ("7002", "09:00", "too_late", "预约时段已过"),        # closed 09:15; it is 09:30
])
def test_check_in_refusals_are_shown_and_issue_nothing(kiosk_factory: Any, console: Console,
                                                       code: str, slot: str | None,
                                                       error: str, shown: str) -> None:
    if slot:
        console.book(code, slot)
    k = kiosk_factory()
    before = dict(k.hub.view.waiting)
    k.tap("check_in")
    k.type_code(code)
    assert k.shown_code() == code
    k.tap("submit")
    k.qtbot.waitUntil(lambda: k.model.message == error, timeout=10000)
    assert k.model.screen == "check_in" and k.model.code == ""     # try again, same screen
    assert shown in k.texts()
    english = {"unknown_appointment": "No appointment with this code",
               "too_early": "Too early", "too_late": "Your slot has passed"}[error]
    assert english in k.texts()
    k.qtbot.wait(300)
    assert k.hub.view.waiting == before and not k.vp.tickets       # the hub issued nothing
    assert not [t for t in console.hub.view.tickets.values()
                if t.get("ticket_class") == "appointment"]


def test_a_code_with_letters_checks_in(kiosk_factory: Any, console: Console) -> None:
    console.book("YY-0012", "09:30")
    k = kiosk_factory()
    k.tap("check_in")
    for key in ("key:Y", "key:-", "key:A", "delete"):   # every kind of key is on screen
        assert k.window.buttons[key].isVisibleTo(k.window)
    assert "字母" in k.texts() and "YY-0012" in k.texts()             # the hint
    k.type_code("YY-0012")
    assert k.shown_code() == "YY-0012"
    k.tap("submit")
    k.wait_screen("done")
    ticket = k.model.ticket
    assert k.model.touches == 3 and ticket["ticket_class"] == "appointment"
    recorded = console.ticket(ticket["id"])
    assert recorded["ticket_class"] == "appointment" and recorded["queue"] == "quick_b"
    console.qtbot.waitUntil(
        lambda: (console.hub.view.appointments.get("YY-0012") or {}).get("ticket")
        == ticket["id"], timeout=5000)
    assert ticket["number"] in k.vp.tickets[-1].text


def test_idle_reset_goes_home_in_chinese_at_normal_size(kiosk_factory: Any) -> None:
    k = kiosk_factory(window_options={"idle_timeout_s": 2.0})
    k.tap("lang")
    k.tap("large")
    k.tap("help")
    assert k.model.screen == "units"
    assert "Choose a department" in first_lines(k.window)
    k.wait_screen("home", timeout=6000)              # untouched for 2 s: back home
    assert (k.model.lang, k.model.large, k.model.touches) == ("zh", False, 0)
    assert k.window.buttons["quick"].accessibleName().split("\n")[:2] == [
        "马上办", "Quick Service"]
    assert k.window.buttons["large"].accessibleName().startswith("大字模式")
    assert "issue_ticket" not in k.window.sent


def test_language_switch_puts_english_first_through_a_whole_ticket(kiosk_factory: Any
                                                                    ) -> None:
    k = kiosk_factory()
    k.tap("lang")
    assert k.window.buttons["quick"].accessibleName().split("\n")[:2] == [
        "Quick Service", "马上办"]
    k.tap("quick")
    assert k.window.buttons["take"].accessibleName().split("\n")[:2] == [
        "Take a Number", "取号"]
    k.tap("take")
    k.wait_screen("done")
    done = [t for t in first_lines(k.window) if "ticket" in t.lower()]
    assert "Please take your ticket" in done
    assert "请取票" in k.texts()                      # Chinese is still on the screen
    assert k.model.touches == 2 and len(k.vp.tickets) == 1
    k.tap("lang")                                    # and back: Chinese first again
    assert "请取票" in first_lines(k.window)


def test_large_mode_makes_the_text_bigger_and_still_issues(kiosk_factory: Any,
                                                           tmp_path: Path) -> None:
    from PySide6.QtCore import QSize

    k = kiosk_factory()
    k.window.screenshot(tmp_path / "home.png", QSize(1080, 1920))
    normal = k.window.buttons["check_in"].title_px
    k.tap("large")
    assert k.model.large and k.window.buttons["large"].accessibleName().startswith("标准字号")
    assert k.window.buttons["check_in"].title_px > normal
    k.tap("quick")
    k.tap("take")
    k.wait_screen("done")
    assert k.model.large and len(k.vp.tickets) == 1   # large mode stays for this citizen


# ---------------------------------------------------------------------- the printer


def test_a_printer_that_does_not_answer_status_still_issues(kiosk_factory: Any,
                                                             console: Console) -> None:
    k = kiosk_factory(mute=True, printer_timeouts={"status_timeout": 0.1,
                                                   "print_timeout": 0.4})
    console.qtbot.waitUntil(lambda: "K-B1/printer" in console.hub.view.devices, timeout=10000)
    report = console.hub.view.devices["K-B1/printer"]
    assert report["status"] == "offline" and "状态未知" in report["detail"]
    assert k.model.screen == "home"                  # not paused: citizens still served
    before = k.waiting("quick_b")
    k.tap("quick")
    k.tap("take")
    k.wait_screen("failed")                          # it never said it printed
    ticket = k.model.ticket
    assert console.ticket(ticket["id"])["queue"] == "quick_b"
    k.qtbot.waitUntil(lambda: k.waiting("quick_b") == before + 1, timeout=5000)
    assert k.model.print_unsure
    assert "请查看出票口" in k.texts() and "check the ticket slot" in k.texts()
    assert "打印机故障" not in k.texts()            # it may well have printed
    assert ticket["number"] in k.texts()
    qr = k.window._page.findChild(QLabel, "qr")
    assert qr is not None and qr.property("payload") == k.model.result["status_url"]
    assert k.vp.tickets and ticket["number"] in k.vp.tickets[-1].text   # it did print


# ---------------------------------------------------------------------- after hours


def test_after_hours_shows_the_hours_and_opens_by_itself(qtbot: Any, tmp_path: Path) -> None:
    """The hours are the hall file's, which the hub sends with the hall layout."""
    hub = HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", start_at="2026-11-23 12:59:40"
                     ).start()
    k = None
    try:
        k = Kiosk(qtbot, hub, first_screen="closed")
        assert "已停止取号" in k.texts() and "Ticketing closed" in k.texts()
        assert "09:00–12:00, 13:00–17:00" in k.texts() and "周一至周五" in k.texts()
        for target in ("quick", "help", "check_in", "take"):
            k.window.touch(target)
        assert k.model.screen == "closed" and "issue_ticket" not in k.window.sent
        before = k.waiting("quick_b")
        k.wait_screen("home", timeout=30000)         # 13:00 by the hub's clock
        k.tap("quick")
        k.tap("take")
        k.wait_screen("done")
        assert k.waiting("quick_b") == before + 1 and len(k.vp.tickets) == 1
    finally:
        if k is not None:
            k.close()
        hub.kill()


def test_in_the_evening_the_kiosk_is_closed_from_the_start(qtbot: Any, tmp_path: Path) -> None:
    """After the last period the kiosk shows the closed screen as soon as it has the
    hall, and a touch sends nothing (the hub's own hall_closed refusal is the model's
    test: tests/test_kiosk_model.py)."""
    hub = HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", start_at="2026-11-23 18:30").start()
    k = None
    try:
        k = Kiosk(qtbot, hub, first_screen="closed")
        assert "已停止取号" in k.texts() and "09:00–12:00, 13:00–17:00" in k.texts()
        for target in ("quick", "take"):
            k.window.touch(target)
        assert k.model.screen == "closed" and "issue_ticket" not in k.window.sent
        assert not k.vp.tickets
    finally:
        if k is not None:
            k.close()
        hub.kill()


# ---------------------------------------------------------------------- a refused hello


@pytest.mark.parametrize(("token", "code"), [("wrong-token", "bad_credentials"),
                                           ("", "bad_message")])     # no token at all
def test_a_refused_hello_shows_the_staff_screen(qtbot: Any, hall: LiveHub, token: str,
                                                code: str) -> None:
    k = Kiosk(qtbot, hall, token=token, first_screen="refused")
    try:
        assert "设备未授权" in k.texts() and "Device not authorised" in k.texts()
        assert code in k.texts() and "K-B1" in k.texts()
        assert "--token" in k.texts()
        k.qtbot.wait(1000)                           # it does not retry
        assert k.model.screen == "refused" and k.hub._client.connects == 1
        k.window.touch("quick")
        assert k.model.screen == "refused" and not k.window.sent
    finally:
        k.close()


@pytest.mark.parametrize(("screen", "variant"), [("check_in", ""), ("closed", ""),
                                                 ("failed", "-unsure"), ("failed", ""),
                                                 ("paused", ""), ("refused", "")])
def test_the_new_screens_are_chinese_first_english_second(kiosk_factory: Any, screen: str,
                                                          variant: str) -> None:
    """As test_every_screen_is_chinese_first_english_second, for the screens that cannot
    be reached by touch alone (posed as the screenshots pose them)."""
    from kiosk.app import _pose
    from kiosk.model import CODE_CHARS

    k = kiosk_factory()
    queue = k.model.big_loop or ""
    _pose(k.window, screen, variant, queue, {"ticket": {"id": "20261123-B017",
                                                        "number": "B017", "queue": queue},
                                             "status": {"ahead": 5}})
    k.window.render()
    texts = [(what, text) for what, text in _visible_texts(k.window)
             if not what.startswith("button key:") and what != "label code"
             and not (len(text) == 1 and text in CODE_CHARS)]   # a key's own character
    assert len(texts) >= 3, texts
    for what, text in texts:
        lines = [line for line in text.split("\n") if line]
        hub_words = screen == "refused" and text == "device, role or token not accepted"
        if lines[0] == LANG_SWITCH["zh"][0] or hub_words:
            continue                      # the switch; the hub's own words, for staff
        assert _CJK.search(text) and _LATIN.search(text), (screen, what, text)
        key = len(lines[0]) == 1 and lines[0] in CODE_CHARS     # "-", then 横线 / dash
        assert key or _CJK.search(lines[0]), (screen, what, text)


# ---------------------------------------------------------------------- issue 16


@pytest.mark.parametrize("size", [(1080, 1920), (1920, 1080)])
@pytest.mark.parametrize("large", [False, True])
def test_the_large_text_and_language_switches_are_large(kiosk_factory: Any, tmp_path: Path,
                                                         size: tuple[int, int],
                                                         large: bool) -> None:
    """The 大字模式 switch is for people who need large text: it is large itself, and
    so is the language switch — no 13 px second line."""
    from PySide6.QtCore import QSize

    k = kiosk_factory()
    if large:
        k.tap("large")
    k.window.screenshot(tmp_path / "home.png", QSize(*size))
    for target in ("large", "lang"):
        btn = k.window.buttons[target]
        sizes = btn._sizes(btn.title_px)
        assert btn.title_px >= 36 and min(sizes) >= 22, (target, sizes)
        assert btn.height() >= 120 and btn.width() >= 280, (target, btn.size())
        label = btn.text_label
        assert label.heightForWidth(label.width()) <= label.height()   # nothing cut off


def test_the_help_description_names_whole_units(kiosk_factory: Any) -> None:
    """帮助办's description is whole ("公安…" was cut): whole unit names and a count."""
    k = kiosk_factory()
    text = k.window.buttons["help"].accessibleName()
    assert "…" not in text, text
    view, units = k.hub.view, k.model.units
    assert f"{view.queue_name(units[0])}、{view.queue_name(units[1])}等 {len(units)} 个部门" \
        in text
    assert f"{len(units)} departments: Taxation, Real Estate and more" in text


def test_every_kiosk_text_is_whole_and_has_aa_contrast(kiosk_factory: Any,
                                                       tmp_path: Path) -> None:
    """Every screen, both orientations: every button's words fit it whole (nothing cut
    off below, no line wider than the button), and every visible label (a button's
    words are a label over it) has AA contrast measured on the PNG
    (tests/screen_contrast.py): its most common colour against the pixel that
    contrasts most with it."""
    from PIL import Image
    from screen_contrast import AA, measure

    from dispatcher.client.touch import BigButton, _metrics
    from kiosk.app import SIZES, _pose, shots

    k = kiosk_factory()
    queue = k.model.big_loop or ""
    sample = {"ticket": {"id": "20261123-B017", "number": "B017", "queue": queue},
              "status": {"ahead": 5, "expected_wait_s": 720.0}}
    saved = dict(vars(k.model))
    bad, measured = [], 0
    for screen, variant in shots():
        for orient, size in SIZES.items():
            vars(k.model).update(saved)
            _pose(k.window, screen, variant, queue, sample)
            path = tmp_path / f"{screen}{variant}-{orient}.png"
            k.window.screenshot(path, size)
            image = Image.open(path)
            for btn in k.window._page.findChildren(BigButton):
                label, sizes = btn.text_label, btn._sizes(btn.title_px)
                widest = max(_metrics(px, bold).horizontalAdvance(text)
                             for (text, _, bold), px in zip(btn.lines, sizes, strict=True))
                if label.heightForWidth(label.width()) > label.height() \
                        or widest > label.width():
                    bad.append((screen + variant, orient, btn.accessibleName(), "cut"))
            for lab in k.window._page.findChildren(QLabel):
                if not lab.isVisibleTo(k.window) or not (lab.text() or "").strip():
                    continue
                top_left = lab.mapTo(k.window, lab.rect().topLeft())
                contrast, bg, fg = measure(image, (top_left.x() + 2, top_left.y() + 2,
                                                   lab.width() - 4, lab.height() - 4))
                measured += 1
                if contrast < AA:
                    bad.append((screen + variant, orient, lab.accessibleName() or lab.text(),
                                round(contrast, 2), bg, fg))
    assert measured > 300 and not bad, bad
