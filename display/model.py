"""The wall display's model: a HallView turned into plain rows and strings.

Nothing here imports Qt, so the wording, the ordering and the state names are tested
without widgets. ``display.wall`` only paints what ``build_board`` returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatcher.client import HallView

LAYOUTS = {"1080p": (1920, 1080), "4k": (3840, 2160), "portrait": (1080, 1920)}

RECENT = 8          # calls listed under the newest one

# state -> (Chinese, English); the order the wall uses for colours lives in wall.py
STATES: dict[str, tuple[str, str]] = {
    "idle": ("空闲", "Idle"),
    "calling": ("呼叫中", "Calling"),
    "serving": ("办理中", "Serving"),
    "paused": ("暂停", "Paused"),
    "closed": ("关闭", "Closed"),
}
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
LOST_ZH, LOST_EN = "连接中断，正在重连…", "Connection lost, reconnecting"
REFUSED_ZH = "设备未获授权，请联系管理员"
REFUSED_EN = "Display refused by the hub, call the administrator"


def banner_text(status: str) -> str:
    """The red banner for a client status; "" when connected."""
    if status == "connected":
        return ""
    if status == "refused":
        return f"{REFUSED_ZH}  {REFUSED_EN}"
    return f"{LOST_ZH}  {LOST_EN}"


@dataclass(frozen=True)
class CallRow:
    number: str
    window: str
    window_name: str        # 综合受理窗口B03
    window_name_en: str     # Window B03
    recall: bool
    at: float | None
    ticket: str | None

    @property
    def key(self) -> tuple[Any, ...]:
        """Tells one call from the next (a recall of the same ticket is a new call)."""
        return (self.ticket, self.number, self.window, self.at, self.recall)

    @property
    def text_zh(self) -> str:
        return f"请 {self.number} 号 到 {self.window_name} 办理"

    @property
    def text_en(self) -> str:
        return f"Number {self.number}, please go to {self.window_name_en}"

    @property
    def mark_zh(self) -> str:
        return "重呼" if self.recall else ""


@dataclass(frozen=True)
class WindowRow:
    id: str
    short: str              # what fits a tile: "B03", or the name when it has no id
    name: str
    name_en: str
    number: str             # now serving / calling; "" when none
    state: str
    state_zh: str
    state_en: str
    reason: str             # a pause's reason, else ""

    @property
    def dim(self) -> bool:
        return self.state == "closed"


@dataclass(frozen=True)
class QueueRow:
    id: str
    name: str
    name_en: str
    waiting: int


@dataclass
class Board:
    hall_name: str = ""
    hall_name_en: str = ""
    zone_name: str = ""
    zone_name_en: str = ""
    newest: CallRow | None = None
    recent: list[CallRow] = field(default_factory=list)   # after the newest, newest first
    windows: list[WindowRow] = field(default_factory=list)
    queues: list[QueueRow] = field(default_factory=list)
    notice: str = ""
    day_closed: bool = False
    loaded: bool = False


def short_label(window_id: str, name: str) -> str:
    """A tile's label: the window id when the name ends with it (综合受理窗口B03 -> B03)."""
    return window_id if name.endswith(window_id) else name


def _call(view: HallView, call: dict[str, Any]) -> CallRow:
    window = call.get("window") or ""
    return CallRow(number=call.get("number") or "", window=window,
                   window_name=view.window_name(window),
                   window_name_en=view.window_name(window, "en"),
                   recall=bool(call.get("recall")), at=call.get("at"),
                   ticket=call.get("ticket"))


def _window_order(window_id: str) -> tuple[str, int, str]:
    match = re.match(r"^(\D*)(\d+)(.*)$", window_id)
    if match:
        return match.group(1), int(match.group(2)), match.group(3)
    return window_id, 0, ""


def notice_text(view: HallView, zone: str | None) -> str:
    """The zone's notice and the whole hall's, both when both are set."""
    texts = [view.notices.get(zone, "") if zone else "", view.notices.get("", "")]
    return "　　".join(t.strip() for t in texts if t and t.strip())


def build_board(view: HallView, zone: str | None = None, recent: int = RECENT) -> Board:
    """What the wall shows for ``zone`` (None: the whole hall)."""
    hall = view.hall
    board = Board(hall_name=hall.get("name", ""), hall_name_en=hall.get("name_en", ""),
                  loaded=view.loaded, day_closed=view.day_closed)
    if zone:
        board.zone_name, board.zone_name_en = view.zone_name(zone), view.zone_name(zone, "en")
        window_ids = view.windows_in(zone)
        queue_ids = view.queues_in(zone)
    else:
        window_ids = list(view.windows)
        queue_ids = list(hall.get("queues", {}))
    shown = set(window_ids)
    calls = [_call(view, c) for c in reversed(view.recent_calls)
             if not zone or c.get("window") in shown]
    board.newest = calls[0] if calls else None
    board.recent = calls[1:1 + recent]
    for wid in sorted(window_ids, key=_window_order):
        info = view.windows.get(wid, {})
        state = info.get("state") or "closed"
        zh, en = STATES.get(state, (state, state))
        name = view.window_name(wid)
        board.windows.append(WindowRow(
            id=wid, short=short_label(wid, name), name=name,
            name_en=view.window_name(wid, "en"),
            number=(info.get("number") or "") if state in ("calling", "serving") else "",
            state=state, state_zh=zh, state_en=en,
            reason=(info.get("pause_reason") or "") if state == "paused" else ""))
    names = [view.queue_name(q) for q in queue_ids]
    for q, name in zip(queue_ids, names, strict=True):
        en = view.queue_name(q, "en")
        if names.count(name) > 1:    # 马上办 of zone A and of zone B on a hall-wide wall
            prefix = hall.get("queues", {}).get(q, {}).get("prefix") or q
            name, en = f"{name} {prefix}", f"{en} {prefix}"
        board.queues.append(QueueRow(q, name, en, int(view.waiting.get(q, 0))))
    board.notice = notice_text(view, zone)
    return board


def clock_lines(now: datetime) -> tuple[str, str]:
    """("2026年11月23日 星期一", "09:30:05")."""
    return (f"{now.year}年{now.month}月{now.day}日 {WEEKDAYS[now.weekday()]}",
            now.strftime("%H:%M:%S"))
