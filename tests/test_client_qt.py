"""QtHubClient against a live hub subprocess: signals arrive in the GUI thread, the GUI
thread never waits on the network (not even while the hub is down), and the view
comes back equal to a fresh snapshot after a kill -9 and restart."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
import time
from typing import Any

import pytest
from hub_process import FAST, LiveHub, sample_token
from PySide6.QtCore import QCoreApplication, QThread, QTimer

from dispatcher.client.qt import PYSIDE_DROPS_REFERENCES, QtHubClient

if PYSIDE_DROPS_REFERENCES:   # the interpreter would abort mid-run: fail loudly, never skip
    pytest.fail("this PySide6 build drops references to None/True on this Python (see "
                "dispatcher/client/qt.py: pyside_drops_references); pyproject pins "
                "PySide6-Essentials<6.12 on Python < 3.12", pytrace=False)





class Replies:
    """on_reply callbacks that note what came back and in which thread."""

    def __init__(self) -> None:
        self.got: dict[str, tuple[bool, dict[str, Any]]] = {}
        self.in_gui_thread: list[bool] = []

    def callback(self, key: str, also: Any = None):
        def on_reply(ok: bool, payload: dict[str, Any]) -> None:
            app = QCoreApplication.instance()
            self.in_gui_thread.append(QThread.currentThread() == app.thread()
                                      and threading.current_thread() is threading.main_thread())
            self.got[key] = (ok, payload)
            if also is not None:
                also()
        return on_reply


def client(hall: LiveHub, role: str, device: str, **options: Any) -> QtHubClient:
    return QtHubClient(hall.url, role, device, sample_token(device), **{**FAST, **options})


def assert_fresh(qtbot, qc: QtHubClient, replies: Replies, key: str) -> None:
    qc.send_query("snapshot", on_reply=replies.callback(key))
    qtbot.waitUntil(lambda: key in replies.got, timeout=5000)
    ok, fresh = replies.got[key]
    assert ok and qc.view.seq == fresh["seq"]
    assert qc.view.to_dict() == fresh["snapshot"]
    assert qc.view.duplicates == 0


def test_qt_client_signals_replies_and_restart(qtbot, hall: LiveHub) -> None:
    kiosk, caller = client(hall, "kiosk", "K-B1"), client(hall, "caller", "C-B03")
    statuses: list[str] = []
    events: list[tuple[str, dict]] = []
    caller.statusChanged.connect(statuses.append)
    in_gui_thread: list[bool] = []

    def on_event(name: str, data: dict) -> None:
        in_gui_thread.append(threading.current_thread() is threading.main_thread())
        events.append((name, data))

    caller.eventReceived.connect(on_event)
    replies = Replies()
    ticks = [0]
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    timer.start(10)
    try:
        with qtbot.waitSignal(caller.snapshotLoaded, timeout=5000):
            kiosk.start()
            caller.start()
        qtbot.waitUntil(lambda: kiosk.connected and caller.connected, timeout=5000)
        assert statuses == ["connecting", "connected"]

        began = time.monotonic()
        issued = kiosk.send_command("issue_ticket", {"queue": "quick_b",
                                                     "ticket_class": "normal"},
                                    on_reply=replies.callback("issue"))
        caller.send_command("open_window", {"window": "B03"}, on_reply=replies.callback("open"))
        assert time.monotonic() - began < 0.05 and len(issued) == 32   # returned at once
        qtbot.waitUntil(lambda: {"issue", "open"} <= set(replies.got), timeout=5000)
        assert replies.got["issue"][0] and replies.got["open"][0]

        seen_on_reply: list[Any] = []
        with qtbot.waitSignal(caller.eventReceived, timeout=5000,
                              check_params_cb=lambda name, data: name == "ticket_called"):
            caller.send_command("call_next", {"window": "B03"},
                                on_reply=replies.callback("call", lambda: seen_on_reply.append(
                                    caller.view.window("B03")["state"])))
        qtbot.waitUntil(lambda: "call" in replies.got, timeout=5000)
        assert seen_on_reply == ["calling"]     # the view showed the call before on_reply
        assert ("ticket_called", events[-1][1]) == events[-1] and \
            events[-1][1]["number"] == "B001"
        caller.send_command("call_next", {"window": "B03"}, on_reply=replies.callback("empty"))
        qtbot.waitUntil(lambda: "empty" in replies.got, timeout=5000)
        assert replies.got["empty"] == (False, {"code": "queue_empty", "message":
                                                replies.got["empty"][1]["message"],
                                                "window": "B03"})
        assert all(replies.in_gui_thread) and len(replies.in_gui_thread) == 4

        hall.hub.kill()
        qtbot.waitUntil(lambda: "disconnected" in statuses, timeout=5000)
        caller.send_command("recall", {"window": "B03"}, on_reply=replies.callback("recall"))
        ticks[0] = 0
        qtbot.wait(500)                    # the hub is down; the GUI thread keeps going
        assert ticks[0] >= 20 and not caller.connected
        hall.restart()
        qtbot.waitUntil(lambda: caller.connected and kiosk.connected, timeout=10000)
        qtbot.waitUntil(lambda: "recall" in replies.got, timeout=10000)  # sent on reconnect
        assert replies.got["recall"][0]
        assert statuses[-1] == "connected" and statuses.count("connected") == 2
        assert caller.view.recent_calls[-1]["recall"] is True
        assert_fresh(qtbot, caller, replies, "snap-caller")
        assert_fresh(qtbot, kiosk, replies, "snap-kiosk")
        assert all(replies.in_gui_thread) and all(in_gui_thread) and len(in_gui_thread) == 5
    finally:
        timer.stop()
        for qc in (kiosk, caller):
            qc.close(timeout=5)
    assert not any(t.name.startswith("hub-") for t in threading.enumerate())


def test_qt_client_refused_and_not_started(qtbot, hall: LiveHub) -> None:
    bad = QtHubClient(hall.url, "caller", "C-B03", "wrong", **FAST)
    replies = Replies()
    bad.send_command("open_window", {"window": "B03"}, on_reply=replies.callback("early"))
    qtbot.waitUntil(lambda: "early" in replies.got, timeout=2000)
    assert replies.got["early"][0] is False
    assert replies.got["early"][1]["code"] == "unavailable"
    with qtbot.waitSignal(bad.statusChanged, timeout=5000,
                          check_params_cb=lambda status: status == "refused"):
        bad.start()
    assert bad.refused is not None and bad.refused.code == "bad_credentials"
    bad.send_command("open_window", {"window": "B03"}, on_reply=replies.callback("late"))
    qtbot.waitUntil(lambda: "late" in replies.got, timeout=2000)
    assert replies.got["late"][1]["code"] in ("bad_credentials", "unavailable")
    bad.close(timeout=5)
