"""The 好差评 evaluation screen (caller/evaluator.py) against a live hub subprocess.

A kiosk issues a ticket, the window's caller calls, starts and finishes it, and the
screen at the window must offer the rating for that number; what it sends is checked
in the hub's own record (the caller's view of the ticket, kept from the hub's events).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import FAST, LiveHub, sample_token
from PySide6.QtCore import Qt

from caller.evaluator import SHOTS, SIZES, EvaluatorScreen
from dispatcher.client.qt import QtHubClient

ROOT = Path(__file__).resolve().parent.parent
WINDOW = "B03"
# The evaluation pad's own device: it may rate what its window served, nothing else.
EVALUATOR_ROLE, EVALUATOR_DEVICE = "evaluator", "E-B03"
LONG = 15000      # ms: generous waits for a loaded machine

pytestmark = pytest.mark.slow


def client(qtbot: Any, hall: LiveHub, role: str, device: str) -> QtHubClient:
    c = QtHubClient(hall.url, role, device, sample_token(device), **FAST)
    c.start()
    qtbot.waitUntil(lambda: c.connected and c.view.loaded, timeout=LONG)
    return c


@pytest.fixture
def kiosk(qtbot: Any, hall: LiveHub) -> Iterator[QtHubClient]:
    c = client(qtbot, hall, "kiosk", "K-B1")
    yield c
    c.close(timeout=2)


@pytest.fixture
def clerk(qtbot: Any, hall: LiveHub) -> Iterator[QtHubClient]:
    """The window's caller panel connection: calls, starts and finishes; its view holds
    every ticket as the hub's events left it (rating and reason included)."""
    c = client(qtbot, hall, "caller", "C-B03")
    c.evaluated = []  # type: ignore[attr-defined]
    c.eventReceived.connect(lambda name, data: name == "ticket_evaluated"
                            and c.evaluated.append(data))  # type: ignore[attr-defined]
    yield c
    c.close(timeout=2)


@pytest.fixture
def make_screen(qtbot: Any, hall: LiveHub) -> Iterator[Callable[..., EvaluatorScreen]]:
    hubs: list[QtHubClient] = []

    def make(timeout_s: float = 60.0, message_s: float = 1.0) -> EvaluatorScreen:
        hub = QtHubClient(hall.url, EVALUATOR_ROLE, EVALUATOR_DEVICE,
                          sample_token(EVALUATOR_DEVICE), **FAST)
        hubs.append(hub)
        screen = EvaluatorScreen(hub, WINDOW, timeout_s=timeout_s, message_s=message_s)
        qtbot.addWidget(screen)
        screen.resize(1280, 800)
        screen.show()
        hub.start()
        qtbot.waitUntil(lambda: screen.model.shown == "idle", timeout=LONG)
        return screen

    yield make
    for hub in hubs:
        hub.close(timeout=2)


def run(qtbot: Any, c: QtHubClient, name: str, args: dict[str, Any]) -> dict[str, Any]:
    out: list[tuple[bool, dict[str, Any]]] = []
    c.send_command(name, args, on_reply=lambda ok, payload: out.append((ok, payload)))
    qtbot.waitUntil(lambda: bool(out), timeout=LONG)
    ok, payload = out[0]
    assert ok, (name, payload)
    return payload


def serve(qtbot: Any, kiosk: QtHubClient, clerk: QtHubClient) -> dict[str, Any]:
    """Issue a ticket for the window's main queue; call, start and finish it at B03."""
    window = clerk.view.window(WINDOW)
    assert window is not None
    if window["state"] == "closed":
        run(qtbot, clerk, "open_window", {"window": WINDOW})
    ticket = run(qtbot, kiosk, "issue_ticket", {"queue": window["main"][0],
                                                "ticket_class": "normal"})["ticket"]
    called = run(qtbot, clerk, "call_next", {"window": WINDOW})["ticket"]
    assert called["id"] == ticket["id"]
    run(qtbot, clerk, "start_service", {"window": WINDOW})
    run(qtbot, clerk, "finish_service", {"window": WINDOW})
    return ticket


def rating_of(clerk: QtHubClient, ticket: dict[str, Any]) -> int | None:
    return (clerk.view.ticket(ticket["id"]) or {}).get("rating")


def clerk_hears(qtbot: Any, clerk: QtHubClient, ticket: dict[str, Any], level: int) -> None:
    """Wait until the clerk's panel has the rating: it hears of it after the evaluator's
    reply, later still on a loaded box."""
    qtbot.waitUntil(lambda: rating_of(clerk, ticket) == level, timeout=LONG)


def tap(qtbot: Any, screen: EvaluatorScreen, target: str) -> None:
    button = screen.buttons[target]
    assert button.isVisibleTo(screen), target
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def shows(screen: EvaluatorScreen, words: str) -> bool:
    return any(words in text for text in screen.texts())


def wait_rating(qtbot: Any, screen: EvaluatorScreen, ticket: dict[str, Any]) -> None:
    qtbot.waitUntil(lambda: screen.model.shown == "rating", timeout=LONG)
    assert shows(screen, f"您的号码 {ticket['number']}")
    assert shows(screen, f"Your number {ticket['number']}")


def test_satisfied_is_recorded_after_the_hub_confirms(qtbot: Any, kiosk: QtHubClient,
                                                     clerk: QtHubClient,
                                                     make_screen: Callable[..., Any]) -> None:
    screen = make_screen()
    assert shows(screen, "请在办结后评价") and not screen.buttons
    ticket = serve(qtbot, kiosk, clerk)
    wait_rating(qtbot, screen, ticket)
    names = [screen.buttons[f"level:{n}"].accessibleName().split("\n")[:2]
             for n in (5, 4, 3, 2, 1)]
    assert names == [["非常满意", "Very satisfied"], ["满意", "Satisfied"],
                     ["基本满意", "Fairly satisfied"], ["不满意", "Dissatisfied"],
                     ["非常不满意", "Very dissatisfied"]]
    tap(qtbot, screen, "level:4")
    assert screen.model.shown == "sending" and not shows(screen, "谢谢")   # not before the hub
    qtbot.waitUntil(lambda: screen.model.shown == "thanks", timeout=LONG)
    assert shows(screen, "谢谢您的评价") and shows(screen, "Your rating: Satisfied")
    clerk_hears(qtbot, clerk, ticket, 4)
    assert [(e["ticket"], e["level"], e["window"]) for e in clerk.evaluated] == \
        [(ticket["id"], 4, WINDOW)]
    assert [c.args for c in screen.model.sent] == [{"ticket": ticket["id"], "level": 4}]
    qtbot.waitUntil(lambda: screen.model.shown == "idle", timeout=LONG)   # after message_s
    assert shows(screen, "请在办结后评价")


def test_low_rating_takes_a_reason_or_skips(qtbot: Any, kiosk: QtHubClient,
                                            clerk: QtHubClient,
                                            make_screen: Callable[..., Any]) -> None:
    """Needs the hub's optional ``reason`` on ``evaluate`` (the lead's change)."""
    screen = make_screen()
    first = serve(qtbot, kiosk, clerk)
    wait_rating(qtbot, screen, first)
    tap(qtbot, screen, "level:2")
    assert screen.model.shown == "reason" and shows(screen, "请告诉我们不满意的原因")
    assert not screen.model.sent
    tap(qtbot, screen, "back")                      # a slip of the finger: choose again
    assert screen.model.shown == "rating"
    tap(qtbot, screen, "level:2")
    tap(qtbot, screen, "reason:long_wait")
    qtbot.waitUntil(lambda: screen.model.shown in ("thanks", "failed", "rating"),
                    timeout=LONG)
    assert screen.model.shown == "thanks", (
        "the hub refused evaluate with a reason: has the lead's `reason` argument landed?",
        screen.texts())
    clerk_hears(qtbot, clerk, first, 2)
    assert clerk.evaluated[-1]["reason"] == "等候时间长 / Long wait"
    assert clerk.view.ticket(first["id"])["rating_reason"] == "等候时间长 / Long wait"

    second = serve(qtbot, kiosk, clerk)             # the next citizen skips the reason
    wait_rating(qtbot, screen, second)
    tap(qtbot, screen, "level:1")
    tap(qtbot, screen, "skip")
    qtbot.waitUntil(lambda: screen.model.shown == "thanks", timeout=LONG)
    clerk_hears(qtbot, clerk, second, 1)
    assert screen.model.sent[-1].args == {"ticket": second["id"], "level": 1}


def test_second_rating_is_shown_as_already_rated(qtbot: Any, hall: LiveHub,
                                                 kiosk: QtHubClient, clerk: QtHubClient,
                                                 make_screen: Callable[..., Any]) -> None:
    screen = make_screen()
    ticket = serve(qtbot, kiosk, clerk)
    wait_rating(qtbot, screen, ticket)
    tap(qtbot, screen, "level:4")
    qtbot.waitUntil(lambda: screen.model.shown == "thanks", timeout=LONG)
    clerk_hears(qtbot, clerk, ticket, 4)
    # the same service offered again (as after a replayed finish): the hub refuses
    screen.model.service_finished(ticket["id"], ticket["number"], screen.clock())
    screen.render()
    tap(qtbot, screen, "level:5")
    qtbot.waitUntil(lambda: screen.model.shown != "sending", timeout=LONG)
    assert screen.model.shown == "already"
    assert shows(screen, "本次服务已经评价过了") and not shows(screen, "无法")
    assert rating_of(clerk, ticket) == 4 and len(clerk.evaluated) == 1

    rated = serve(qtbot, kiosk, clerk)
    wait_rating(qtbot, screen, rated)
    refused: list[tuple[bool, dict[str, Any]]] = []  # the clerk's panel may not rate
    clerk.send_command("evaluate", {"ticket": rated["id"], "level": 5},
                       on_reply=lambda ok, payload: refused.append((ok, payload)))
    qtbot.waitUntil(lambda: bool(refused), timeout=LONG)
    assert refused[0][0] is False and refused[0][1]["code"] == "forbidden"
    other = client(qtbot, hall, EVALUATOR_ROLE, EVALUATOR_DEVICE)   # a second rater there
    try:
        run(qtbot, other, "evaluate", {"ticket": rated["id"], "level": 5})
    finally:
        other.close(timeout=2)
    qtbot.waitUntil(lambda: screen.model.shown == "already", timeout=LONG)
    assert len(screen.model.sent) == 2
    clerk_hears(qtbot, clerk, rated, 5)


def test_no_touch_returns_to_idle_and_records_nothing(qtbot: Any, kiosk: QtHubClient,
                                                      clerk: QtHubClient,
                                                      make_screen: Callable[..., Any]) -> None:
    screen = make_screen(timeout_s=2.0)
    ticket = serve(qtbot, kiosk, clerk)
    qtbot.waitUntil(lambda: "rating" in screen.seen, timeout=LONG)
    qtbot.waitUntil(lambda: screen.model.shown == "idle", timeout=LONG)
    assert screen.seen[-2:] == ["rating", "idle"] and shows(screen, "请在办结后评价")
    assert screen.model.sent == [] and rating_of(clerk, ticket) is None
    assert clerk.view.ticket(ticket["id"])["state"] == "done"


def test_disconnected_shows_paused_and_sends_nothing(qtbot: Any, hall: LiveHub,
                                                     kiosk: QtHubClient, clerk: QtHubClient,
                                                     make_screen: Callable[..., Any]) -> None:
    screen = make_screen()
    ticket = serve(qtbot, kiosk, clerk)
    wait_rating(qtbot, screen, ticket)
    hall.hub.kill()
    qtbot.waitUntil(lambda: screen.model.shown == "offline", timeout=LONG)
    assert shows(screen, "暂停评价") and shows(screen, "Rating unavailable")
    assert not screen.buttons                       # nothing to tap
    assert not screen.touch("level:4") and screen.model.sent == []
    hall.restart()
    qtbot.waitUntil(lambda: screen.model.shown == "idle", timeout=LONG)
    qtbot.waitUntil(lambda: clerk.connected, timeout=LONG)
    assert screen.model.sent == [] and rating_of(clerk, ticket) is None


def test_a_finish_replayed_long_after_is_not_offered_for_rating(
        qtbot: Any, hall: LiveHub, kiosk: QtHubClient, clerk: QtHubClient,
        tmp_path: Path) -> None:
    """The pad was off while a service finished; when it comes back the hub replays the
    finish, but that citizen has gone: the next one must not rate it."""
    state = tmp_path / "pad.json"

    def pad() -> tuple[QtHubClient, EvaluatorScreen]:
        hub = QtHubClient(hall.url, EVALUATOR_ROLE, EVALUATOR_DEVICE,
                          sample_token(EVALUATOR_DEVICE), state_file=state, **FAST)
        screen = EvaluatorScreen(hub, WINDOW, timeout_s=2.0, message_s=1.0)
        qtbot.addWidget(screen)
        hub.start()
        qtbot.waitUntil(lambda: screen.model.shown == "idle", timeout=LONG)
        return hub, screen

    hub, _ = pad()
    hub.close(timeout=2)                            # the pad is switched off
    qtbot.waitUntil(state.exists, timeout=LONG)
    gone = serve(qtbot, kiosk, clerk)
    qtbot.wait(2500)                                # longer than the rating timeout
    hub, screen = pad()                             # back: resync replays the finish
    qtbot.waitUntil(lambda: hub.view.seq >= clerk.view.seq, timeout=LONG)
    assert hub.resync == "events"
    assert "rating" not in screen.seen and rating_of(clerk, gone) is None
    fresh = serve(qtbot, kiosk, clerk)              # a service finished now is offered
    wait_rating(qtbot, screen, fresh)
    hub.close(timeout=2)


CLI = ("import argparse, sys; from caller.cli import register; p = argparse.ArgumentParser(); "
       "register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")


def test_cli_screenshots(hall: LiveHub, tmp_path: Path) -> None:
    base = [sys.executable, "-c", CLI, "evaluator", "--window", WINDOW, "--server", hall.url,
            "--device", EVALUATOR_DEVICE,
            "--token", sample_token(EVALUATOR_DEVICE)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([*base, "--screenshot", str(tmp_path / "ev")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    expected = {f"ev-{shot}-{size}.png" for shot in SHOTS for size in SIZES}
    assert {p.name for p in tmp_path.glob("ev-*.png")} == expected
    assert all((tmp_path / name).stat().st_size > 5000 for name in expected)
    done = subprocess.run([*base, "--timeout", "0"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == \
        "error: --timeout 0.0: must be a number of seconds, more than 0"
    # only the evaluator device rates: a caller's device may not drive this screen
    done = subprocess.run([*base, "--role", "caller"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "unrecognized arguments: --role caller" in done.stderr
