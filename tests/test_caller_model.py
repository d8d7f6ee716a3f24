"""caller.model without Qt or a hub (the PIN checks are the hub's: test_people.py)."""

from __future__ import annotations

import pytest

from caller.model import (
    PanelState,
    command_args,
    enabled_actions,
    error_words,
    fmt_duration,
    locked_words,
    panel_state,
    signed_out_words,
)
from dispatcher.client.view import HallView


def make_view(state: str = "calling", **window: object) -> HallView:
    w = {"state": state, "ticket": None, "number": None, "pause_reason": None,
         "main": ["quick_b"], "side": ["tax"], "side_when_overdue": False, "waiting": 0}
    w.update(window)
    snap = {
        "day": "2026-11-23", "day_closed": False,
        "hall": {"name": "H", "queues": {"quick_b": {"name": "马上办", "prefix": "B"},
                                         "tax": {"name": "税务", "prefix": "T"}},
                 "windows": {"B03": {"name": "综合受理窗口B03", "zone": "B"}}},
        "windows": {"B03": w},
        "waiting": {"quick_b": 2, "tax": 1},
        "tickets": {
            "t1": {"id": "t1", "number": "B017", "queue": "quick_b", "ticket_class": "green",
                   "state": "called", "window": "B03", "issued_at": 1000.0,
                   "called_at": 1300.0, "started_at": None},
            "t2": {"id": "t2", "number": "B018", "queue": "quick_b", "ticket_class": "normal",
                   "state": "waiting", "window": None, "issued_at": 1100.0},
            "t3": {"id": "t3", "number": "B019", "queue": "quick_b", "ticket_class": "normal",
                   "state": "waiting", "window": None, "issued_at": 1400.0},
            "t4": {"id": "t4", "number": "T001", "queue": "tax", "ticket_class": "normal",
                   "state": "waiting", "window": None, "issued_at": 1450.0},
            "t5": {"id": "t5", "number": "B001", "queue": "quick_b", "ticket_class": "normal",
                   "state": "done", "window": None, "issued_at": 900.0},
        },
    }
    v = HallView()
    v.load(snap, 10)
    return v


def test_calling_panel_shows_ticket_waits_and_queues() -> None:
    v = make_view("calling", ticket="t1", number="B017")
    p = panel_state(v, "B03", now=1500.0)
    assert isinstance(p, PanelState)
    assert p.window_name == "综合受理窗口B03"
    assert p.state_words == "呼叫中 / Calling"
    assert p.number == "B017" and p.queue_name == "马上办"
    assert p.ticket_class == "绿色通道 / Green channel"
    assert p.waited_s == 300.0 and p.serving_s is None
    main, side = p.queues
    assert (main.queue, main.tier, main.waiting, main.longest_wait_s) == ("quick_b", "main", 2,
                                                                          400.0)
    assert (side.queue, side.tier, side.waiting, side.longest_wait_s) == ("tax", "side", 1, 50.0)
    assert p.enabled == {"recall", "start", "finish", "no_show", "transfer", "hold"}
    assert p.held == () and p.clerk is None


def test_serving_counts_time_since_start() -> None:
    v = make_view("serving", ticket="t1", number="B017")
    v.tickets["t1"].update(state="serving", started_at=1400.0)
    p = panel_state(v, "B03", now=1520.0)
    assert p.serving_s == 120.0
    assert p.enabled == {"finish", "transfer", "hold"}
    p2 = panel_state(v, "B03", now=1520.0, next_finishes_current=True)
    assert "call_next" in p2.enabled


@pytest.mark.parametrize("state,holds,by_name,aside,expected", [
    ("closed", False, 0, 0, {"open"}),
    ("paused", False, 0, 1, {"resume"}),
    ("idle", False, 0, 0, {"call_next", "call_ticket", "pause", "close"}),
    ("idle", False, 2, 0, {"call_next", "call_ticket", "pause"}),
    ("idle", False, 0, 1, {"call_next", "call_ticket", "pause", "call_back"}),  # no close
    ("calling", True, 0, 0, {"recall", "start", "finish", "no_show", "transfer", "hold"}),
    ("calling", True, 0, 1, {"recall", "start", "finish", "no_show", "transfer", "hold"}),
    ("serving", True, 0, 0, {"finish", "transfer", "hold"}),
])
def test_enabled_by_state(state: str, holds: bool, by_name: int, aside: int,
                          expected: set[str]) -> None:
    assert enabled_actions(state, holds_ticket=holds, waiting_by_name=by_name,
                           held=aside) == expected


def test_call_back_from_a_busy_window_only_when_calling_finishes_the_current() -> None:
    on = enabled_actions("serving", holds_ticket=True, held=1, next_finishes_current=True)
    assert {"call_next", "call_back"} <= on
    off = enabled_actions("serving", holds_ticket=True, held=1, next_finishes_current=False)
    assert not {"call_next", "call_back"} & off


def test_held_tickets_and_the_clerk_show_as_the_hub_has_them() -> None:
    v = make_view("idle", clerk="clerk-017",
                  held=[{"ticket": "t8", "number": "B008"}, {"ticket": "t9", "number": "B009"}])
    p = panel_state(v, "B03", now=1500.0)
    assert p.held == ("B008", "B009") and p.clerk == "clerk-017"
    assert "call_back" in p.enabled and "close" not in p.enabled


def test_disconnected_disables_everything_and_unknown_window() -> None:
    v = make_view("idle")
    assert panel_state(v, "B03", 0.0, connected=False).enabled == frozenset()
    p = panel_state(v, "B99", 0.0)
    assert not p.known and p.enabled == frozenset()
    assert not panel_state(HallView(), "B03", 0.0).known


def test_error_words() -> None:
    assert error_words("queue_empty") == "没有等候的号 / No one is waiting"
    for code in ("window_busy", "wrong_state", "forbidden", "unavailable"):
        text = error_words(code)
        assert " / " in text and code not in text
    assert "boom" in error_words("strange_code", "boom")


def test_fmt_duration() -> None:
    assert fmt_duration(None) == "—"
    assert fmt_duration(65) == "1:05"
    assert fmt_duration(3725) == "1:02:05"
    assert fmt_duration(-3) == "0:00"


def test_command_args() -> None:
    assert command_args("call_next", "B03") == ("call_next", {"window": "B03"})
    assert command_args("start", "B03") == ("start_service", {"window": "B03"})
    assert command_args("pause", "B03", reason="用餐") == ("pause", {"window": "B03",
                                                                     "reason": "用餐"})
    assert command_args("transfer", "B03", ticket="t1", to_queue="tax") == (
        "transfer", {"ticket": "t1", "to_queue": "tax"})
    assert command_args("transfer", "B03", ticket="t1", to_window="B04") == (
        "transfer", {"ticket": "t1", "to_window": "B04"})
    assert command_args("hold", "B03") == ("hold", {"window": "B03"})
    assert command_args("call_back", "B03") == ("call_back", {"window": "B03"})


def test_sign_in_words() -> None:
    assert error_words("wrong_pin") == "工号或密码不对 / Wrong clerk id or PIN"
    assert locked_words(8) == ("密码错误次数过多，请 8 秒后再试 / "
                               "Too many wrong PINs: try again in 8 s")
    assert "请 3 秒" in locked_words(2.1) and "in 3 s" in locked_words(2.1)   # rounded up
    assert "请 1 秒" in locked_words(0.01)
    other = signed_out_words("clerk-018")
    assert "clerk-018" in other and " / " in other
    nobody = signed_out_words(None)
    assert "signed out" in nobody and " / " in nobody
