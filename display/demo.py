"""A built-in picture of zone B at mid-morning, for ``--demo`` screenshots and docs:
a display's snapshot (docs/protocol.md) written as a dict, so no hub is needed."""

from __future__ import annotations

import copy
from typing import Any

from dispatcher.client import HallView

AT = 1795399800.0    # 2026-11-23 10:10 Asia/Shanghai


def _window_names() -> dict[str, dict[str, str]]:
    names = {}
    for n in range(1, 41):
        wid = f"B{n:02}"
        zh, en = f"综合受理窗口{wid}", f"Window {wid}"
        if wid in ("B33", "B34"):
            zh, en = f"咨询辅导窗口{wid}", f"Help Desk {wid}"
        elif wid == "B35":
            zh, en = f"投诉处理窗口{wid}", f"Complaints Desk {wid}"
        elif wid == "B36":
            zh, en = f"统一出件窗口{wid}", f"Result Collection {wid}"
        names[wid] = {"name": zh, "name_en": en, "zone": "B"}
    return names


QUEUES = {
    "quick_b": ("马上办", "Quick Service", "B", 128),
    "tax": ("税务服务", "Taxation", "S", 6),
    "real_estate": ("不动产登记", "Real Estate Registration", "F", 104),
    "marriage": ("婚姻登记", "Marriage Registration", "H", 2),
    "notary": ("司法公证", "Notary", "G", 1),
    "legal_aid": ("法律援助", "Legal Aid", "L", 0),
    "police": ("公安交警", "Police & Traffic", "J", 4),
    "housing_fund": ("住房公积金", "Housing Provident Fund", "Z", 31),
    "water": ("供水", "Water Supply", "W", 0),
    "power": ("供电", "Electricity", "D", 1),
    "gas": ("燃气", "Gas", "Q", 0),
    "tv": ("广电", "Broadcast TV", "V", 0),
    "telecom": ("通信", "Telecom", "X", 2),
    "bus_card": ("公交卡", "Bus Card", "K", 0),
    "post": ("邮政寄递", "Postal Service", "P", 0),
    "consult": ("咨询辅导", "Help Desk", "C", 1),
}

# the sample hall's abbreviations (name_en_short) of its long English names
SHORT = {"real_estate": "Real Estate", "marriage": "Marriage", "housing_fund": "Housing Fund"}

# window -> (state, number, pause reason)
STATES: dict[str, tuple[str, str | None, str | None]] = {
    "B01": ("serving", "B012", None), "B02": ("serving", "B014", None),
    "B03": ("calling", "B017", None), "B04": ("serving", "B015", None),
    "B05": ("calling", "B016", None), "B06": ("paused", None, "系统故障 / System problem"),
    "B07": ("serving", "S006", None), "B08": ("idle", None, None),
    "B09": ("serving", "F009", None), "B10": ("serving", "H002", None),
    "B11": ("calling", "J004", None), "B12": ("serving", "Z003", None),
    "B13": ("idle", None, None), "B14": ("paused", None, "午间交接"),
    "B33": ("serving", "C001", None), "B36": ("idle", None, None),
}

CALLS = [   # oldest first, as in a snapshot
    ("B012", "B01", False), ("B014", "B02", False), ("F009", "B09", False),
    ("B015", "B04", False), ("J004", "B11", False), ("B016", "B05", False),
    ("B016", "B05", True), ("B017", "B03", False),
]


def demo_snapshot() -> dict[str, Any]:
    windows = {}
    for wid in _window_names():
        state, number, reason = STATES.get(wid, ("closed", None, None))
        windows[wid] = {"state": state, "ticket": number and f"20261123-{number}",
                        "number": number, "pause_reason": reason, "main": ["quick_b"],
                        "side": [], "side_when_overdue": False, "waiting": 0}
    return copy.deepcopy({
        "day": "2026-11-23", "day_closed": False, "zone": "B",
        "hall": {"name": "开阳县政务服务中心",
                 "name_en": "Kaiyang County Government Service Center",
                 "timezone": "Asia/Shanghai",
                 "zones": {"B": {"name": "自然人综合服务区",
                                 "name_en": "Individual Service Zone"}},
                 "queues": {q: {"name": zh, "name_en": en, "name_en_short": SHORT.get(q, ""),
                                "prefix": p, "kind": "unit", "zones": ["B"]}
                            for q, (zh, en, p, _) in QUEUES.items()},
                 "windows": _window_names()},
        "windows": windows,
        "waiting": {q: n for q, (_, _, _, n) in QUEUES.items()},
        "recent_calls": [{"ticket": f"20261123-{num}", "number": num, "window": w,
                          "at": AT - 60 * (len(CALLS) - i), "recall": recall}
                         for i, (num, w, recall) in enumerate(CALLS)],
        "notices": {"B": "婚姻登记窗口今日下午暂停受理，敬请谅解",
                    "": "过号请到咨询台重新取号　Missed your number? Please take a new "
                        "ticket at the help desk"},
    })


def demo_view() -> HallView:
    view = HallView()
    view.load(demo_snapshot(), seq=1)
    return view
