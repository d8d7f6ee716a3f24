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
# A pause reason as the wall shows it, Chinese and English. The caller panel and the
# console send "中文 / English" (caller/model.py, dispatcher/console/model.py
# PAUSE_REASONS); a bare Chinese reason (from the protocol, or older panels) is
# looked up here; the keypad bridge sends "keypad"; anything else keeps its text.
PAUSE_WORDS: dict[str, tuple[str, str]] = {
    "临时离开": ("临时离开", "Away briefly"), "用餐": ("用餐", "Meal break"),
    "业务咨询": ("业务咨询", "Consulting"), "业务培训": ("业务培训", "Training"),
    "系统故障": ("系统故障", "System problem"), "会议": ("会议", "Meeting"),
    "调度安排": ("调度安排", "Dispatcher's call"), "午间交接": ("午间交接", "Shift handover"),
    "系统维护": ("系统维护", "Maintenance"), "keypad": ("", ""),
}


def banner_text(status: str) -> str:
    """The red banner for a client status; "" when connected."""
    if status == "connected":
        return ""
    if status == "refused":
        return f"{REFUSED_ZH}  {REFUSED_EN}"
    return f"{LOST_ZH}  {LOST_EN}"


def pause_words(reason: str | None) -> tuple[str, str]:
    """A pause reason in (Chinese, English); ("", "") for none."""
    text = (reason or "").strip()
    if " / " in text:
        zh, en = (part.strip() for part in text.split(" / ", 1))
        return zh, en
    if text in PAUSE_WORDS:
        return PAUSE_WORDS[text]
    return text, ""


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
    reason: str             # a pause's reason in Chinese, else ""
    reason_en: str = ""     # and in English

    @property
    def dim(self) -> bool:
        return self.state == "closed"

    @property
    def open(self) -> bool:
        return self.state != "closed"


@dataclass(frozen=True)
class QueueRow:
    id: str
    name: str
    name_en: str
    waiting: int
    name_en_short: str = ""     # the hall file's abbreviation of name_en, if any


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
    calls = latest_calls([_call(view, c) for c in reversed(view.recent_calls)
                          if not zone or c.get("window") in shown])
    board.newest = calls[0] if calls else None
    board.recent = calls[1:1 + recent]
    for wid in sorted(window_ids, key=_window_order):
        info = view.windows.get(wid, {})
        state = info.get("state") or "closed"
        zh, en = STATES.get(state, (state, state))
        name = view.window_name(wid)
        reason = pause_words(info.get("pause_reason")) if state == "paused" else ("", "")
        board.windows.append(WindowRow(
            id=wid, short=short_label(wid, name), name=name,
            name_en=view.window_name(wid, "en"),
            number=(info.get("number") or "") if state in ("calling", "serving") else "",
            state=state, state_zh=zh, state_en=en,
            reason=reason[0], reason_en=reason[1]))
    names = [view.queue_name(q) for q in queue_ids]
    for q, name in zip(queue_ids, names, strict=True):
        en = view.queue_name(q, "en")
        info = hall.get("queues", {}).get(q, {})
        short = info.get("name_en_short") or ""
        if names.count(name) > 1:    # 马上办 of zone A and of zone B on a hall-wide wall
            prefix = info.get("prefix") or q
            name, en = f"{name} {prefix}", f"{en} {prefix}"
            short = short and f"{short} {prefix}"
        board.queues.append(QueueRow(q, name, en, int(view.waiting.get(q, 0)),
                                     "" if short == en else short))
    board.notice = notice_text(view, zone)
    return board


def latest_calls(calls: list[CallRow]) -> list[CallRow]:
    """Newest first, each ticket once, as its latest call: a recall or a call back
    of a number does not list it twice."""
    seen: set[Any] = set()
    out = []
    for call in calls:
        key = call.ticket or call.number
        if key not in seen:
            seen.add(key)
            out.append(call)
    return out


def open_first(windows: list[WindowRow]) -> list[WindowRow]:
    """Open windows (in id order), then the closed ones."""
    return [w for w in windows if w.open] + [w for w in windows if not w.open]


def clock_lines(now: datetime) -> tuple[str, str]:
    """("2026年11月23日 星期一", "09:30:05")."""
    return (f"{now.year}年{now.month}月{now.day}日 {WEEKDAYS[now.weekday()]}",
            now.strftime("%H:%M:%S"))
