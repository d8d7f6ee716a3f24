"""A small hall for the core's tests: three queues, three windows, open all day.

W1 serves q1 first and helps q2 when q2 runs over; W2 serves q2 and helps q1;
W3 serves q3 and q1 as main work, nothing as side work. Everything is in zone Z;
zone Y has a kiosk but offers no queue (its kiosk is refused with not_authorized).
"""

from __future__ import annotations

import pytest
from conftest import hall_time

from dispatcher.core import Dispatcher, DispatchError
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.hall import Hall, parse_hall

DAY_START = "03:00"  # the reset time: the whole business day is open


def tiny_hall(alerts: list[dict] | None = None, **rules: object) -> Hall:
    """``alerts``: the file's [[alerts]] rules; ``rules``: its [rules] table."""
    return parse_hall(tiny_hall_raw(alerts, **rules), "tiny.toml")


def tiny_hall_raw(alerts: list[dict] | None = None, **rules: object) -> dict:
    """The tiny hall's file as a dict."""
    queue = {"kind": "unit", "zones": ["Z"], "overdue_minutes": 10, "service_minutes": 5}
    raw = {
        "hall": {
            "name": "测试大厅", "name_en": "Test Hall", "timezone": "Asia/Shanghai",
            "day_reset": DAY_START,
            "hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                      "periods": ["00:00-23:59"]},
        },
        "zones": {"Z": {"name": "区", "name_en": "Zone", "kiosks": ["K1"]},
                  "Y": {"name": "另一区", "name_en": "Other zone", "kiosks": ["K2"]}},
        "queues": {
            "q1": {**queue, "name": "马上办", "name_en": "Quick", "kind": "big_loop",
                   "prefix": "A"},
            "q2": {**queue, "name": "税务", "name_en": "Tax", "prefix": "S"},
            "q3": {**queue, "name": "咨询", "name_en": "Help", "kind": "line", "prefix": "C"},
        },
        "profiles": {
            "p1": {"main": ["q1"], "side": ["q2"], "side_when_overdue": True},
            "p2": {"main": ["q2"], "side": ["q1"]},
            "p3": {"main": ["q3", "q1"]},
        },
        "windows": [
            {"ids": "W1", "name": "窗口W1", "zone": "Z", "profile": "p1"},
            {"ids": "W2", "name": "窗口W2", "zone": "Z", "profile": "p2"},
            {"ids": "W3", "name": "窗口W3", "zone": "Z", "profile": "p3"},
        ],
        "classes": {"appointment_credit_minutes": 10, "green_credit_minutes": 30},
        "rules": {"requeue_after": 2, "max_requeues": 2, **rules},
        "alerts": alerts or [],
    }
    return raw


def zoned_hall(cross_zone: bool = False) -> Hall:
    """The tiny hall in two zones (issue 17): q1 and q2 are offered in Z and Y, q3 in Z
    only; W1 (Z) serves q1 and helps q2, W2 (Y) serves q1 and q2, W3 (Z) serves q3 and
    q2. ``cross_zone``: q2 is one line across the zones (q1 never is)."""
    raw = tiny_hall_raw()
    raw["queues"]["q1"]["zones"] = ["Z", "Y"]
    raw["queues"]["q2"].update(zones=["Z", "Y"], cross_zone=cross_zone)
    raw["profiles"] = {"p1": {"main": ["q1"], "side": ["q2"], "side_when_overdue": True},
                       "p2": {"main": ["q1", "q2"]}, "p3": {"main": ["q3", "q2"]}}
    raw["windows"][1]["zone"] = "Y"
    return parse_hall(raw, "zoned.toml")


class Driver:
    """A core on a test hall with a clock that only moves forward."""

    def __init__(self, hall: Hall | None = None, start: str = "09:00") -> None:
        self.core = Dispatcher(hall or tiny_hall())
        self.now = hall_time(self.core.hall, start)
        self.log: list[ev.Event] = []

    def do(self, command: c.Command, after: float = 1.0) -> list[ev.Event]:
        self.now += after
        events = self.core.execute(command, self.now)
        self.log.extend(events)
        return events

    def issue(self, queue: str = "q1", ticket_class: str = "normal", after: float = 1.0) -> str:
        return self.do(c.IssueTicket(queue, ticket_class), after)[-1].ticket

    def call(self, window: str) -> ev.TicketCalled:
        return self.do(c.CallNext(window))[-1]

    def rejects(self, command: c.Command, code: str, after: float = 1.0) -> DispatchError:
        before = self.core.state.to_dict()
        with pytest.raises(DispatchError) as info:
            self.do(command, after)
        assert info.value.code == code, info.value
        assert self.core.state.to_dict() == before, "a rejected command changed the state"
        return info.value

    def number(self, ticket_id: str) -> str:
        return self.core.ticket(ticket_id).number
