"""The lobby wall display: its model (no widgets), its widget, the cap height of the
newest call on each layout, the CLI's screenshot, and the wall against a live hub —
calls, recalls, window states, waiting counts, notices, a killed hub and its restart."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, ROOT, STAFF, LiveHub, sample_token
from PySide6.QtGui import QImage

from dispatcher.client import HallView
from dispatcher.client.qt import PYSIDE_DROPS_REFERENCES, QtHubClient
from display.cli import connect_wall, main, register
from display.demo import demo_snapshot, demo_view
from display.model import LAYOUTS, banner_text, build_board, clock_lines, notice_text, short_label
from display.wall import WallWidget, cap_height_share

if PYSIDE_DROPS_REFERENCES:   # the interpreter would abort mid-run: fail loudly, never skip
    pytest.fail("this PySide6 build drops references to None/True on this Python",
                pytrace=False)



# ---------------------------------------------------------------- the model

def test_model_newest_call_recent_calls_and_wording() -> None:
    board = build_board(demo_view(), "B")
    assert board.hall_name == "开阳县政务服务中心" and board.zone_name == "自然人综合服务区"
    call = board.newest
    assert call is not None and (call.number, call.window) == ("B017", "B03")
    assert call.text_zh == "请 B017 号 到 综合受理窗口B03 办理"
    assert call.text_en == "Number B017, please go to Window B03"
    assert not call.recall and call.mark_zh == ""
    # newest first, each number once with its latest call: B016's recall, not its first
    assert [(c.number, c.recall) for c in board.recent[:3]] == \
        [("B016", True), ("J004", False), ("B015", False)]
    assert board.recent[0].mark_zh == "重呼"
    assert len(build_board(demo_view(), "B", recent=3).recent) == 3


def test_model_windows_queues_and_notices() -> None:
    board = build_board(demo_view(), "B")
    assert [w.id for w in board.windows] == [f"B{n:02}" for n in range(1, 41)]
    tiles = {w.id: w for w in board.windows}
    assert (tiles["B03"].state_zh, tiles["B03"].number, tiles["B03"].short) == \
        ("呼叫中", "B017", "B03")
    assert (tiles["B01"].state_zh, tiles["B01"].state_en) == ("办理中", "Serving")
    assert (tiles["B06"].state_zh, tiles["B06"].reason, tiles["B06"].reason_en,
            tiles["B06"].number) == ("暂停", "系统故障", "System problem", "")
    assert (tiles["B08"].state_zh, tiles["B08"].dim) == ("空闲", False)
    assert (tiles["B20"].state_zh, tiles["B20"].dim) == ("关闭", True)
    assert tiles["B36"].name == "统一出件窗口B36" and tiles["B36"].short == "B36"
    queues = {q.id: q for q in board.queues}
    assert (queues["quick_b"].name, queues["quick_b"].name_en, queues["quick_b"].waiting) == \
        ("马上办", "Quick Service", 128)
    assert board.notice.startswith("婚姻登记窗口今日下午暂停受理") and "过号请到咨询台" in \
        board.notice                     # the zone's notice and the whole hall's
    assert build_board(demo_view(), "A").windows == []
    assert build_board(demo_view(), "A").newest is None   # calls of other zones are not shown
    assert len(build_board(demo_view(), None).windows) == 40
    snap = demo_snapshot()     # two queues of one name on a hall-wide wall get their prefix
    snap["hall"]["queues"]["quick_a"] = {"name": "马上办", "name_en": "Quick Service",
                                         "prefix": "A", "zones": ["A"]}
    view = HallView()
    view.load(snap, 1)
    names = {q.id: q.name for q in build_board(view, None).queues}
    assert (names["quick_a"], names["quick_b"], names["tax"]) == \
        ("马上办 A", "马上办 B", "税务服务")
    assert {q.id: q.name for q in build_board(view, "B").queues}["quick_b"] == "马上办"


def test_model_small_pieces() -> None:
    assert clock_lines(datetime(2026, 11, 23, 9, 5, 7)) == ("2026年11月23日 星期一", "09:05:07")
    assert clock_lines(datetime(2026, 11, 29, 18, 0, 0))[0].endswith("星期日")
    assert short_label("B03", "综合受理窗口B03") == "B03"
    assert short_label("T1", "税务专窗") == "税务专窗"
    view = HallView()
    snap = demo_snapshot()
    snap["notices"] = {"": "全厅通知"}
    view.load(snap, 1)
    assert notice_text(view, "B") == "全厅通知"
    snap["notices"] = {"B": " B区通知 ", "A": "A区通知"}
    view.load(snap, 1)
    assert notice_text(view, "B") == "B区通知" and notice_text(view, None) == ""
    assert banner_text("connected") == ""
    assert banner_text("disconnected") == "连接中断，正在重连…  Connection lost, reconnecting"
    assert banner_text("connecting") == banner_text("disconnected")
    assert banner_text("refused").startswith("设备未获授权")
    empty = HallView()
    board = build_board(empty, "B")
    assert not board.loaded and board.newest is None and board.windows == []


# ---------------------------------------------------------------- the widget

@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_cap_height_share(qapp, layout: str) -> None:
    width, height = LAYOUTS[layout]
    share = cap_height_share(width, height)
    if width > height:
        assert share >= 0.08, share      # readable from across the hall
    else:
        assert share >= 0.065, share     # portrait: the width limits "请 B017 号"
        assert share * height >= 0.08 * 1080   # still taller than on a 1080p screen
    # five-digit numbers must still fit, a little smaller
    assert 0.05 <= cap_height_share(width, height, "B1234") <= share


def test_wall_flashes_a_new_call_and_shows_lost(qtbot) -> None:
    wall = WallWidget("B", now=lambda: 1795399800.0)
    qtbot.addWidget(wall)
    wall.resize(*LAYOUTS["1080p"])
    wall.set_status("connected")
    view = demo_view()
    wall.show_view(view)
    assert not wall.flashing and not wall.lost       # the first picture does not flash
    frame = {"seq": 2, "name": "ticket_called", "data": {
        "at": 1795399900.0, "ticket": "20261123-B018", "number": "B018", "window": "B08"},
        "changes": {"windows": {"B08": {**view.window("B08"), "state": "calling",
                                        "number": "B018", "ticket": "20261123-B018"}}}}
    view.apply(frame)
    wall.show_view(view)
    assert wall.flashing and wall.board.newest.number == "B018"
    image = wall.grab().toImage()
    assert (image.width(), image.height()) == (1920, 1080)
    wall.set_status("disconnected")
    assert wall.lost
    lost = wall.grab().toImage()
    # the banner is red across the bottom, in the notice's place, clear of every number
    pixel = lost.pixelColor(5, int(1080 * 0.97))
    assert pixel.red() > 180 and pixel.green() < 60 and pixel.blue() < 60
    wall.set_status("connected")
    live = wall.grab().toImage().pixelColor(5, int(1080 * 0.97))
    assert live.red() < 100


def test_cli_demo_screenshot(qapp, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["display", "--demo", "--layout", "portrait",
                              "--screenshot", str(tmp_path / "x.png")])
    assert args.handler(args) == 0
    image = QImage(str(tmp_path / "x.png"))
    assert (image.width(), image.height()) == (1080, 1920)
    assert main(["display", "--demo", "--demo-lost", "--layout", "4k", "--scale", "0.25",
                 "--screenshot", str(tmp_path / "y.png")]) == 0
    assert QImage(str(tmp_path / "y.png")).width() == 960


# ---------------------------------------------------------------- against a live hub



class Commands:
    def __init__(self, qtbot) -> None:
        self.qtbot = qtbot
        self.got: dict[str, tuple[bool, dict[str, Any]]] = {}

    def _send(self, qc: QtHubClient, name: str, args: dict[str, Any] | None) -> str:
        key = f"{name}-{len(self.got)}-{time.monotonic()}"

        def on_reply(ok: bool, payload: dict[str, Any]) -> None:
            self.got[key] = (ok, payload)
        qc.send_command(name, args or {}, on_reply=on_reply)
        return key

    def wait(self, key: str, timeout: int = 10000) -> dict[str, Any]:
        self.qtbot.waitUntil(lambda: key in self.got, timeout=timeout)
        ok, payload = self.got[key]
        assert ok, payload
        return payload

    def run(self, qc: QtHubClient, name: str, args: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        return self.wait(self._send(qc, name, args))


def _client(hall: LiveHub, role: str, device: str) -> QtHubClient:
    return QtHubClient(hall.url, role, device, sample_token(device), **FAST)


def _tile(wall: WallWidget, window: str):
    return next(w for w in wall.board.windows if w.id == window)


def _waiting(wall: WallWidget, queue: str) -> int:
    return next(q.waiting for q in wall.board.queues if q.id == queue)


def test_wall_follows_a_live_hub_and_survives_its_restart(qtbot, hall: LiveHub) -> None:
    display = _client(hall, "display", "D-B")
    kiosk, caller = _client(hall, "kiosk", "K-B1"), _client(hall, "caller", "C-B03")
    console = _client(hall, "console", "CONSOLE-1")
    wall = WallWidget()          # the zone comes from the device (D-B is zone B)
    qtbot.addWidget(wall)
    wall.resize(*LAYOUTS["1080p"])
    connect_wall(wall, display)
    assert wall.lost
    cmd = Commands(qtbot)
    clients = (display, kiosk, caller, console)
    try:
        for qc in clients:
            qc.start()
        qtbot.waitUntil(lambda: all(qc.connected for qc in clients), timeout=10000)
        cmd.run(console, "staff_sign_in", STAFF)      # a console acts with a dispatcher in
        qtbot.waitUntil(lambda: wall.board.loaded and not wall.lost, timeout=5000)
        assert wall.board.zone_name == "自然人综合服务区"
        assert abs(wall.now() - 1795397400.0) < 120     # the hub's clock: 09:30 in the hall
        assert _tile(wall, "B03").state == "closed"

        for _ in range(3):
            cmd.run(kiosk, "issue_ticket", {"queue": "quick_b", "ticket_class": "normal"})
        cmd.run(caller, "open_window", {"window": "B03"})
        qtbot.waitUntil(lambda: _tile(wall, "B03").state_zh == "空闲", timeout=5000)
        assert _waiting(wall, "quick_b") == 3

        # a call shows as the newest call, flashing, within a second
        began = time.monotonic()
        key = cmd._send(caller, "call_next", {"window": "B03"})
        qtbot.waitUntil(lambda: wall.board.newest is not None, timeout=1000)
        assert time.monotonic() - began < 1.0
        call = wall.board.newest
        assert (call.number, call.window_name, call.recall) == ("B001", "综合受理窗口B03", False)
        assert call.text_zh == "请 B001 号 到 综合受理窗口B03 办理" and wall.flashing
        cmd.wait(key)
        assert (_tile(wall, "B03").state_zh, _tile(wall, "B03").number) == ("呼叫中", "B001")
        assert _waiting(wall, "quick_b") == 2

        # a recall is the newest call, marked; the number is not listed a second time
        cmd.run(caller, "recall", {"window": "B03"})
        qtbot.waitUntil(lambda: wall.board.newest.recall, timeout=1000)
        assert wall.board.newest.number == "B001" and wall.board.newest.mark_zh == "重呼"
        assert wall.board.recent == []

        cmd.run(caller, "start_service", {"window": "B03"})
        qtbot.waitUntil(lambda: _tile(wall, "B03").state_zh == "办理中", timeout=5000)
        assert _tile(wall, "B03").number == "B001"
        cmd.run(caller, "finish_service", {"window": "B03"})
        cmd.run(caller, "pause", {"window": "B03", "reason": "午间交接"})
        qtbot.waitUntil(lambda: _tile(wall, "B03").state_zh == "暂停", timeout=5000)
        assert _tile(wall, "B03").reason == "午间交接" and _tile(wall, "B03").number == ""
        cmd.run(caller, "resume", {"window": "B03"})
        cmd.run(caller, "close_window", {"window": "B03"})
        qtbot.waitUntil(lambda: _tile(wall, "B03").dim, timeout=5000)

        # the console's notice for the zone scrolls along the bottom
        cmd.run(console, "notice", {"text": "系统升级，请耐心等候", "zone": "B"})
        qtbot.waitUntil(lambda: "系统升级" in wall.board.notice, timeout=5000)
        offset = wall.notice_offset
        qtbot.wait(300)
        assert wall.notice_offset > offset

        # the hub dies: the banner shows and the call area is marked stale
        hall.hub.kill()
        qtbot.waitUntil(lambda: wall.lost, timeout=5000)
        assert wall.status == "disconnected"
        image = wall.grab().toImage()
        assert image.pixelColor(5, int(1080 * 0.97)).red() > 180
        # while it is down the hall moves on (sent as soon as the hub is back)
        reopen = cmd._send(caller, "open_window", {"window": "B03"})
        issue = cmd._send(kiosk, "issue_ticket", {"queue": "quick_b", "ticket_class": "normal"})
        qtbot.wait(300)
        assert wall.lost

        hall.restart()
        qtbot.waitUntil(lambda: not wall.lost, timeout=10000)
        cmd.wait(reopen)
        cmd.wait(issue)
        qtbot.waitUntil(lambda: _tile(wall, "B03").state_zh == "空闲"
                        and _waiting(wall, "quick_b") == 3, timeout=2000)
        # the wall shows the hall as it is now: equal to a board built from a fresh snapshot
        fresh: dict[str, Any] = {}
        display.send_query("snapshot", on_reply=lambda ok, payload: fresh.update(payload))
        qtbot.waitUntil(lambda: "snapshot" in fresh, timeout=5000)
        view = HallView()
        view.load(fresh["snapshot"], fresh["seq"])
        assert wall.board == build_board(view, "B")
        assert wall.board.newest.number == "B001" and "系统升级" in wall.board.notice
    finally:
        for qc in clients:
            qc.close(timeout=5)


def test_cli_screenshot_of_a_live_hub(hall: LiveHub, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "live.png"
    done = subprocess.run([sys.executable, "-m", "display.cli", "display", "--server", hall.url,
                           "--device", "D-HALL", "--token", sample_token("D-HALL"),
                           "--layout", "portrait", "--screenshot", str(out)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr[-2000:]
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1080, 1920)
    # connected: no red banner at the bottom
    pixel = image.pixelColor(5, int(1920 * 0.97))
    assert not (pixel.red() > 180 and pixel.green() < 60)


def _led_bridge(hall: LiveHub, strip_path: str) -> subprocess.Popen[str]:
    """`onewindow led-bridge` in its own process, B03's strip at address 3."""
    return subprocess.Popen(
        [sys.executable, "-m", "dispatcher.cli", "led-bridge", "--port", strip_path,
         "--server", hall.url, "--device", "LED-1", "--token", sample_token("LED-1"),
         "--map", "B03=3"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)


def test_a_call_reaches_the_wall_the_voice_queue_and_the_led_strip(qtbot, hall: LiveHub) -> None:
    """Three processes: the hub, the LED bridge, and this one with the wall and voice."""
    from display.led import FakeStrip
    from display.voice import Announcer, SilentBackend

    backend = SilentBackend(seconds_per_token=0.005)   # speaking takes time: overlap shows
    announcer = Announcer(backend)
    strip = FakeStrip()
    bridge = _led_bridge(hall, strip.path)
    display, kiosk = _client(hall, "display", "D-B"), _client(hall, "kiosk", "K-B1")
    caller = _client(hall, "caller", "C-B03")
    wall = WallWidget()
    qtbot.addWidget(wall)
    connect_wall(wall, display, announcer)
    cmd, clients = Commands(qtbot), (display, kiosk, caller)
    try:
        for qc in clients:
            qc.start()
        qtbot.waitUntil(lambda: all(qc.connected for qc in clients), timeout=10000)
        cmd.run(kiosk, "issue_ticket", {"queue": "quick_b"})
        cmd.run(caller, "open_window", {"window": "B03"})
        cmd.run(caller, "call_next", {"window": "B03"})
        cmd.run(caller, "recall", {"window": "B03"})
        qtbot.waitUntil(lambda: wall.board.newest is not None and wall.board.newest.recall,
                        timeout=2000)
        assert wall.board.newest.number == "B001"
        assert strip.wait_for(3, "B001 请到B03窗口", timeout=10), bridge.stderr
        assert announcer.wait_idle(10)
    finally:
        for qc in clients:
            qc.close(timeout=2)
        bridge.send_signal(signal.SIGINT)
        bridge.wait(10)
        strip.close()
    said = [" ".join(s.tokens) for s in backend.spoken]
    call = "请 B 零 零 一 号 到 综合受理窗口 B 零 三 办理"
    assert said == [call] * 4            # the call twice, the recall twice, nothing else
    for before, after in zip(backend.spoken, backend.spoken[1:], strict=False):
        assert before.end <= after.start  # one announcement at a time

