"""The console's screens on a busy morning, at 1920×1080: a smoke test that every screen
draws a real hall, and the maker of docs/images/console-*.png.

The morning is played by the demo's citizens and clerks (dispatcher/demo.py) straight
into a store, 09:00–10:20 at 1.15× the windows' capacity, then a live hub opens on it at
10:20 (its floor history rebuilt from the day's events), so the console sees a hall
that has been busy for over an hour: queues with waits, alerts raised by the hub's
clock, balancing suggestions with their predicted effect, 差评 cases from the ratings.

    ONEWINDOW_SCREENSHOTS=docs/images pytest tests/test_console_screens.py

writes the PNGs there (else into the test's temporary folder).
"""

from __future__ import annotations

import heapq
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import hall_time
from hub_process import FAST, SAMPLE_PINS, HubProcess, RawClient, sample_token
from PySide6.QtCore import Qt

from dispatcher.client.qt import QtHubClient
from dispatcher.console.app import Console
from dispatcher.core import commands as c
from dispatcher.demo import Demo, DemoOptions
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.service import HallService

pytestmark = pytest.mark.slow

CLERKS = [f"clerk-{n:03d}" for n in range(101, 160)]


def play_morning(url: str, until: str = "10:20", load: float = 1.15) -> None:
    """The demo's morning, stopped at ``until`` with everything in flight left as is;
    a clerk signed in at every window."""
    hall = load_hall(SAMPLE_HALL)
    start = hall_time(hall, "09:00")
    stop = hall_time(hall, until)
    with HallService.open(hall, url) as service:
        demo = Demo(service, start, DemoOptions(minutes=200, speed=0, load=load, seed=11),
                    lambda _line: None)
        for window, clerk in zip(hall.windows, CLERKS, strict=False):
            demo.do(c.SignIn(window, clerk))
        for window in hall.windows:
            demo.do(c.OpenWindow(window))
            demo.at(demo.now + demo.rng.uniform(0, 60), "free", window)
        from dispatcher.demo import arrival_rates

        for queue, rate in arrival_rates(hall, load).items():
            if rate > 0:
                demo.at(demo.now + demo.rng.expovariate(rate), "arrive", queue)
        while demo.agenda and demo.agenda[0][0] < stop:
            when, _, kind, arg = heapq.heappop(demo.agenda)
            demo.now = when
            getattr(demo, f"_{kind}")(arg)


@pytest.fixture(scope="module")
def busy_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    folder = tmp_path_factory.mktemp("busy")
    url = f"sqlite:///{folder / 'hall.db'}"
    play_morning(url)
    hub = HubProcess(url, start_at="2026-11-23 10:20",
                     extra=["--balance-every", "2"]).start()
    asyncio.run(devices(hub.url))
    yield hub
    hub.kill()


async def devices(url: str) -> None:
    """A kiosk's printer running low and a display that reported a fault, then left."""
    kiosk = await RawClient.hello(url, "kiosk", "K-B2")
    await kiosk.command("report_device", device="K-B2/printer", status="paper_near_end",
                        detail="纸将尽 / paper low")
    display = await RawClient.hello(url, "display", "D-A")
    await display.command("report_device", device="D-A", status="error",
                          detail="HDMI 无信号 / no signal")
    await display.close()
    await kiosk.close()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("ONEWINDOW_SCREENSHOTS") or tmp_path)


def signed_in(qtbot: Any, url: str) -> Console:
    hub = QtHubClient(url, "console", "CONSOLE-1", sample_token("CONSOLE-1"), **FAST)
    app = Console(hub)
    qtbot.addWidget(app)
    app.resize(1920, 1080)
    app.show()
    hub.start()
    qtbot.waitUntil(lambda: app.connected and bool(app.built_for), timeout=15000)
    return app


def sign_in(qtbot: Any, app: Console) -> None:
    app.staff_edit.setText("staff-001")
    app.pin_edit.setText(SAMPLE_PINS["staff-001"])
    qtbot.keyClick(app.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.staff is not None, timeout=10000)


def test_screens_of_a_busy_morning(qtbot: Any, busy_hub: HubProcess, out_dir: Path) -> None:
    app = signed_in(qtbot, busy_hub.url)
    try:
        shoot(qtbot, app, out_dir)
    finally:
        app.hub.close(timeout=2)


def shoot(qtbot: Any, app: Console, out_dir: Path) -> None:
    shots = [app.screenshot(out_dir / "console-sign-in.png")]
    sign_in(qtbot, app)
    app.ask_floor()
    qtbot.waitUntil(lambda: app.floor is not None, timeout=10000)
    view = app.hub.view
    serving = [w for w in view.windows.values() if w["state"] in ("serving", "calling")]
    assert len(serving) >= 30, len(serving)
    assert sum(view.waiting.values()) >= 30
    qtbot.waitUntil(lambda: len(app.alerts.rows) >= 3, timeout=20000)
    qtbot.waitUntil(lambda: any("mean" in s.predicted for s in app.balancing.rows),
                    timeout=60000)
    assert app.cases.rows, "the demo's ratings opened no 差评 case"
    app.zone_tabs.setCurrentWidget(app.floors["B"])
    app.select("B07")
    app.panels.setCurrentWidget(app.alerts)
    qtbot.wait(400)
    shots.append(app.screenshot(out_dir / "console-busy.png"))
    # an alert acknowledged, another still open
    first = next(r for r in app.alerts.rows if not r.acknowledged)
    qtbot.mouseClick(app.alerts.ack_buttons[first.id], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.pending is None, timeout=10000)
    qtbot.waitUntil(lambda: any(r.acknowledged for r in app.alerts.rows), timeout=10000)
    app.zone_tabs.setCurrentWidget(app.floors["A"])
    qtbot.wait(400)
    app.alerts.table.scrollToBottom()      # the acknowledged one, listed after the rest
    shots.append(app.screenshot(out_dir / "console-alert.png"))
    app.zone_tabs.setCurrentWidget(app.floors["B"])
    app.panels.setCurrentWidget(app.balancing)
    qtbot.wait(400)
    shots.append(app.screenshot(out_dir / "console-suggestion.png"))
    case = app.cases.rows[0]
    app.panels.setCurrentWidget(app.cases)
    app.cases.note.setText("已电话联系群众，约定下周回访 / called the citizen back")
    qtbot.mouseClick(app.cases.step_buttons[(case.id, "contacted")], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.pending is None, timeout=10000)
    qtbot.wait(400)
    shots.append(app.screenshot(out_dir / "console-case.png"))
    app.panels.setCurrentWidget(app.devices)          # a click shows the device's day
    row = next(i for i, r in enumerate(app.devices.rows) if r.device == "K-B2")
    app.devices.table.cellClicked.emit(row, 0)
    assert "K-B2/printer paper_near_end" in app.devices.history.toPlainText()
    assert app.devices.rows[row].online.startswith("离线")    # it said its piece and left
    for path in shots:
        assert path.stat().st_size > 20000, path
