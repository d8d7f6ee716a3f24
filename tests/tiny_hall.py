"""A small hall for the core's tests: one zone, three queues, three windows, open all day.

W1 serves q1 first and helps q2 when q2 runs over; W2 serves q2 and helps q1;
W3 serves q3 and q1 as main work, nothing as side work.
"""

from __future__ import annotations

from dispatcher.hall import Hall, parse_hall

DAY_START = "03:00"  # the reset time: the whole business day is open


def tiny_hall(**rules: object) -> Hall:
    queue = {"kind": "unit", "zones": ["Z"], "overdue_minutes": 10, "service_minutes": 5}
    raw = {
        "hall": {
            "name": "测试大厅", "name_en": "Test Hall", "timezone": "Asia/Shanghai",
            "day_reset": DAY_START,
            "hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                      "periods": ["00:00-23:59"]},
        },
        "zones": {"Z": {"name": "区", "name_en": "Zone", "kiosks": ["K1"]}},
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
    }
    return parse_hall(raw, "tiny.toml")
