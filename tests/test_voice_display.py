"""The wall without sound: no player or sound device at start, or one that fails later.
The wall goes on silently, shows 语音关闭 voice off for staff, and reports
``<display>/voice`` to a live hub (the console sees it); the mark goes and ``ok`` is
reported once the voice works again. `onewindow display` itself starts without a
player (it used to exit with a VoiceUnavailable traceback)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, ROOT, STAFF, LiveHub, sample_token
from PySide6.QtCore import QObject, Signal

from dispatcher.client.qt import QtHubClient
from display.cli import connect_wall
from display.model import LAYOUTS
from display.voice import VOICE_DIR, ClipBackend, SilentBackend, VoiceConfig, VoiceUnavailable
from display.voice_mark import VOICE_OFF
from display.voice_status import VoiceStatus, start_voice
from display.wall import WallWidget


def client(hall: LiveHub, role: str, device: str) -> QtHubClient:
    return QtHubClient(hall.url, role, device, sample_token(device), **FAST)


def voice_report(console: QtHubClient) -> dict[str, Any]:
    return console.view.devices.get("D-B/voice") or {}


def run(qtbot, qc: QtHubClient, name: str, args: dict[str, Any]) -> dict[str, Any]:
    got: list[tuple[bool, Any]] = []
    qc.send_command(name, args, on_reply=lambda ok, payload: got.append((ok, payload)))
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    assert got[0][0], got
    return got[0][1]


@pytest.fixture
def no_sound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with no player command, no QtMultimedia and no Qt speech."""
    monkeypatch.setattr("display.voice.find_player", lambda: None)
    monkeypatch.setitem(sys.modules, "PySide6.QtMultimedia", None)
    monkeypatch.setitem(sys.modules, "PySide6.QtTextToSpeech", None)


def test_without_a_player_the_wall_is_silent_marked_and_reported(qtbot, hall: LiveHub,
                                                                  no_sound: None) -> None:
    display, console = client(hall, "display", "D-B"), client(hall, "console", "CONSOLE-1")
    kiosk, caller = client(hall, "kiosk", "K-B1"), client(hall, "caller", "C-B03")
    wall = WallWidget()
    qtbot.addWidget(wall)
    wall.resize(*LAYOUTS["1080p"])
    announcer, status = start_voice("auto", wall, display, "D-B")
    assert isinstance(announcer.backend, SilentBackend)
    connect_wall(wall, display, announcer)
    clients = (display, console, kiosk, caller)
    try:
        for qc in clients:
            qc.start()
        qtbot.waitUntil(lambda: all(qc.connected for qc in clients), timeout=10000)
        run(qtbot, console, "staff_sign_in", STAFF)
        qtbot.waitUntil(lambda: voice_report(console).get("status") == "offline", timeout=5000)
        assert "no way to play sound" in voice_report(console)["detail"]
        assert "no way to play sound" in wall.voice_off
        wall.grab()
        assert [d.text for d in wall.drawn if d.text == VOICE_OFF] == [VOICE_OFF]
        # the wall keeps working: a call shows, and is "said" silently
        run(qtbot, kiosk, "issue_ticket", {"queue": "quick_b", "ticket_class": "normal"})
        run(qtbot, caller, "open_window", {"window": "B03"})
        run(qtbot, caller, "call_next", {"window": "B03"})
        qtbot.waitUntil(lambda: wall.board.newest is not None, timeout=3000)
        assert announcer.wait_idle(5)
        assert [s.tokens[:2] for s in announcer.backend.spoken][:1] == [["请", "B"]]
        assert status.replies and status.replies[0][0] is True
    finally:
        for qc in clients:
            qc.close(timeout=2)
        announcer.close()


class FakeHub(QObject):
    statusChanged = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.connected = False
        self.sent: list[dict[str, Any]] = []

    def send_command(self, name: str, args: dict[str, Any], on_reply=None) -> str:
        assert name == "report_device"
        self.sent.append(args)
        if on_reply is not None:
            on_reply(True, {})
        return "id"


def test_a_sound_device_that_fails_later_marks_reports_and_recovers(qtbot) -> None:
    wall = WallWidget()
    qtbot.addWidget(wall)
    hub = FakeHub()
    broken: list[Exception] = []

    def player(path: Path) -> None:
        if broken:
            raise broken[0]

    status = VoiceStatus(wall, hub, "D-B")
    announcer = VoiceConfig(repeats=1, pause_s=0).announcer(
        ClipBackend(VOICE_DIR, player=player), on_health=status.set)
    call = {"name": "ticket_called", "data": {"number": "B001", "window": "B03"}}
    try:
        announcer.probe()
        assert announcer.wait_idle(5) and not wall.voice_off and not hub.sent
        broken.append(VoiceUnavailable("aplay exited 1: audio open error: no such device"))
        announcer.announce(call, {})
        qtbot.waitUntil(lambda: bool(wall.voice_off), timeout=3000)
        assert "audio open error" in wall.voice_off and hub.sent == []   # not connected yet
        hub.connected = True
        hub.statusChanged.emit("connected")       # reported once the hub is there
        assert hub.sent == [{"device": "D-B/voice", "status": "offline",
                             "detail": "aplay exited 1: audio open error: no such device"}]
        broken[0] = OSError("the player crashed")
        announcer.announce(call, {})              # still failing: nothing new to say
        assert announcer.wait_idle(5)
        hub.statusChanged.emit("connected")
        assert len(hub.sent) == 1
        broken.clear()                            # the speakers are back
        announcer.announce(call, {})
        qtbot.waitUntil(lambda: not wall.voice_off, timeout=3000)
        assert hub.sent[-1] == {"device": "D-B/voice", "status": "ok"}
    finally:
        announcer.close()


def test_display_command_starts_without_any_player(qtbot, hall: LiveHub,
                                                   tmp_path: Path) -> None:
    console = client(hall, "console", "CONSOLE-1")
    env = {**os.environ, "PATH": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
           "ONEWINDOW_TOKEN": sample_token("D-B")}
    proc = subprocess.Popen([sys.executable, "-m", "dispatcher.cli", "display", "--server",
                             hall.url, "--device", "D-B", "--layout", "1080p"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        console.start()
        qtbot.waitUntil(lambda: console.connected, timeout=10000)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None \
                and voice_report(console).get("status") != "offline":
            qtbot.wait(100)
        assert proc.poll() is None, proc.communicate()[1]      # still running
        assert voice_report(console)["status"] == "offline"
    finally:
        console.close(timeout=2)
        proc.kill()
        _, err = proc.communicate(timeout=10)
    assert "VoiceUnavailable" not in err and "display/voice" not in err, err


def test_a_hub_sees_the_voice_fail_and_come_back(qtbot, hall: LiveHub) -> None:
    display, console = client(hall, "display", "D-B"), client(hall, "console", "CONSOLE-1")
    wall = WallWidget()
    qtbot.addWidget(wall)
    broken: list[Exception] = []

    def player(path: Path) -> None:
        if broken:
            raise broken[0]

    status = VoiceStatus(wall, display, "D-B")
    announcer = VoiceConfig(repeats=1, pause_s=0).announcer(
        ClipBackend(VOICE_DIR, player=player), on_health=status.set)
    call = {"name": "ticket_called", "data": {"number": "B001", "window": "B03"}}
    try:
        for qc in (display, console):
            qc.start()
        qtbot.waitUntil(lambda: display.connected and console.connected, timeout=10000)
        run(qtbot, console, "staff_sign_in", STAFF)
        broken.append(OSError("paplay: Connection refused"))
        announcer.announce(call, {})
        qtbot.waitUntil(lambda: voice_report(console).get("status") == "error", timeout=5000)
        assert voice_report(console)["detail"] == "paplay: Connection refused"
        assert wall.voice_off == "paplay: Connection refused"
        broken.clear()
        announcer.announce(call, {})
        qtbot.waitUntil(lambda: voice_report(console).get("status") == "ok", timeout=5000)
        assert wall.voice_off == "" and [ok for ok, _ in status.replies] == [True, True]
    finally:
        for qc in (display, console):
            qc.close(timeout=2)
        announcer.close()
