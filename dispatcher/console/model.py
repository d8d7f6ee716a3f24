"""What the dispatch console shows, with no Qt in it.

Reads a HallView (dispatcher.client, the console's snapshot kept by events) and the
hub's ``floor`` query (dispatcher/core/floor.py) and returns plain rows: window tiles,
queue rows, each zone's hot/cold line, alerts, balancing suggestions, 差评 cases,
devices and the moves seen. ``error_words`` turns a hub refusal into one line for the
dispatcher (Chinese first, then English, then the hub's code and message).
dispatcher/console/widgets.py and panels.py draw this; tests/test_console_model.py
checks it without a screen or a hub.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

STATE_WORDS: dict[str, tuple[str, str]] = {
    "serving": ("办理中", "Serving"), "calling": ("呼叫中", "Calling"),
    "idle": ("空闲", "Idle"), "paused": ("暂停", "Paused"), "closed": ("关闭", "Closed"),
}
#: tile colours by window state: (background, text)
STATE_COLOURS: dict[str, tuple[str, str]] = {
    "serving": ("#2e7d32", "#ffffff"), "calling": ("#f9a825", "#000000"),
    "idle": ("#bbdefb", "#0d47a1"), "paused": ("#ef6c00", "#ffffff"),
    "closed": ("#9e9e9e", "#ffffff"),
}
LOOP_WORDS = {"big_loop": ("大循环", "big loop"), "unit": ("小循环", "unit"),
              "line": ("专线", "line")}
LEVEL_WORDS = {"critical": ("严重", "critical"), "warning": ("警告", "warning")}
RULE_WORDS: dict[str, tuple[str, str]] = {
    "ticket_overdue": ("等候超时", "Ticket waiting too long"),
    "ticket_very_overdue": ("严重超时", "Ticket waiting far too long"),
    "queue_wait": ("队列预计等候过长", "Queue's expected wait too long"),
    "service_long": ("办理时间过长", "Service too long"),
    "pause_long": ("暂停过久", "Window paused too long"),
    "window_unstaffed": ("无人窗口有人等候", "Unstaffed window with waiting tickets"),
    "printer": ("打印机纸将尽", "Printer paper low"),
    "printer_stopped": ("打印机停止", "Printer stopped"),
    "device_offline": ("设备离线", "Device offline"),
    "case_overdue": ("差评整改逾期", "差评 case overdue"),
}
CASE_STEPS: dict[str, tuple[str, str]] = {
    "contacted": ("已联系", "Contacted"), "rectified": ("已整改", "Rectified"),
    "closed": ("已办结", "Closed"),
}
CASE_STATES = {"open": ("待联系", "Open"), **CASE_STEPS}
RATING_WORDS = {1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意"}
PAUSE_REASONS = ("临时离开 / Away briefly", "用餐 / Meal break", "业务培训 / Training",
                 "系统故障 / System problem", "会议 / Meeting", "调度安排 / Dispatcher's call")

ERROR_WORDS: dict[str, tuple[str, str]] = {
    "not_signed_in": ("请先登录调度台", "Sign in at this console first"),
    "wrong_pin": ("工号或密码不对", "Wrong staff id or PIN"),
    "sign_in_locked": ("密码错误次数过多，请稍后再试", "Too many wrong PINs: try again later"),
    "forbidden": ("本设备无权进行此操作", "This device may not do that"),
    "unavailable": ("与叫号服务器的连接已断开", "Not connected to the hub"),
    "stale_suggestion": ("该建议已过时", "That suggestion is no longer current"),
    "outcome_required": ("该业务办结须填写办件结果", "This queue needs an outcome to finish"),
    "window_busy": ("窗口还有未办结的号", "The window still holds a ticket"),
    "wrong_state": ("当前状态下不能这样操作", "Not possible in the current state"),
    "window_closed": ("窗口已关闭", "The window is closed"),
    "queue_empty": ("没有等候的号", "No one is waiting"),
    "unknown_ticket": ("今天没有这个号", "No such ticket today"),
    "unknown_alert": ("该告警已解除", "That alert has cleared"),
    "not_authorized": ("该窗口不能办理该队列", "That window may not take that queue"),
    "bad_argument": ("输入有误", "Something entered is wrong"),
    "rate_limited": ("操作过快，请稍候", "Too fast: wait a moment"),
    "day_closed": ("今日已结束", "Today has been closed"),
}


def error_words(code: str, message: str = "") -> str:
    """A hub refusal as one line: "中文 / English (code: message)"."""
    zh, en = ERROR_WORDS.get(code, ("操作未成功", "It did not work"))
    detail = f"{code}: {message}" if message else code
    return f"{zh} / {en} ({detail})"


def fmt_duration(seconds: float | None) -> str:
    """m:ss, h:mm:ss past an hour; "—" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_minutes(seconds: float | None) -> str:
    """Whole minutes: "12 分", "—" when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    return f"{round(seconds / 60)} 分"


def clock_time(view: Any, at: float | None, seconds: bool = False) -> str:
    """Hall-local HH:MM of an epoch time ("—" when None)."""
    if at is None:
        return "—"
    tz = ZoneInfo(view.hall.get("timezone") or "Asia/Shanghai")
    return datetime.fromtimestamp(at, tz).strftime("%H:%M:%S" if seconds else "%H:%M")


def short_names(view: Any, queues: list[str] | tuple[str, ...], limit: int = 0) -> str:
    """Queue names joined with 、; past ``limit`` (if any) "等 N 项" (N in all)."""
    names = [view.queue_name(q) for q in queues]
    if limit and len(names) > limit:
        return f"{'、'.join(names[:limit])} 等{len(names)}项"
    return "、".join(names) or "—"


def loop_of(view: Any, main: list[str]) -> str:
    """大循环 when the window's main work holds a 马上办 queue, else 小循环 (a unit) or 专线."""
    kinds = [view.hall.get("queues", {}).get(q, {}).get("kind") for q in main]
    kind = "big_loop" if "big_loop" in kinds else "unit" if "unit" in kinds else "line"
    return LOOP_WORDS[kind][0]


# ------------------------------------------------------------------ floor


@dataclass(frozen=True)
class Tile:
    window: str
    state: str
    state_words: str
    number: str | None
    serving_s: float | None          # since the call, while it holds a ticket
    clerk: str | None
    loop: str
    main: str
    side: str
    waiting: int                     # sent to this window by name
    utilisation: float | None        # over the last hour, from the floor query
    pause_reason: str | None = None


def tiles(view: Any, zone: str, now: float, floor: dict[str, Any] | None = None
          ) -> list[Tile]:
    out = []
    util = (floor or {}).get("windows", {})
    for wid in sorted(view.windows_in(zone)):
        w = view.window(wid) or {}
        state = w.get("state", "closed")
        t = view.ticket(w["ticket"]) if w.get("ticket") else None
        since = (t or {}).get("called_at")
        out.append(Tile(
            window=wid, state=state, state_words=STATE_WORDS.get(state, (state,))[0],
            number=w.get("number"), serving_s=now - since if since else None,
            clerk=w.get("clerk"), loop=loop_of(view, w.get("main") or []),
            main=short_names(view, w.get("main") or []),
            side=short_names(view, w.get("side") or []),
            waiting=int(w.get("waiting") or 0),
            utilisation=(util.get(wid) or {}).get("utilisation"),
            pause_reason=w.get("pause_reason")))
    return out


@dataclass(frozen=True)
class QueueRow:
    queue: str
    name: str
    waiting: int
    longest_wait_s: float | None
    expected_wait_s: float | None
    overdue_s: float | None
    trend: tuple[int, ...]


def queue_rows(view: Any, zone: str, now: float, floor: dict[str, Any] | None = None
               ) -> list[QueueRow]:
    """The zone's queues: counts from the view (live), waits from the floor query (the
    hub sees every waiting ticket), falling back to the tickets the view holds."""
    fq = (floor or {}).get("queues", {})
    rows = []
    for q in view.queues_in(zone):
        info = fq.get(q) or {}
        longest = info.get("longest_wait_s")
        if not info:
            waits = [now - t["issued_at"] for t in view.tickets.values()
                     if t.get("queue") == q and t.get("state") == "waiting"
                     and not t.get("window") and t.get("issued_at")]
            longest = max(waits, default=None)
        rows.append(QueueRow(q, view.queue_name(q), int(view.waiting.get(q, 0)), longest,
                             info.get("expected_wait_s"), None,
                             tuple(info.get("trend") or ())))
    return rows


def heat_words(view: Any, zone: str, floor: dict[str, Any] | None) -> str:
    """The zone's hot/cold line: spread of utilisation over the last hour."""
    z = (floor or {}).get("zones", {}).get(zone) or {}
    if not z.get("windows"):
        return "冷热均衡 / Hot–cold: — (尚无数据 / no data yet)"
    pct = lambda x: f"{round(100 * x)}%"  # noqa: E731
    util = (floor or {}).get("windows", {})
    hot, cold = z["hottest"], z["coldest"]
    return (f"冷热不均 / Hot–cold (近1小时 last hour): 标准差 σ {pct(z['stdev'])} · "
            f"极差 max−min {pct(z['spread'])} · 平均 mean {pct(z['mean'])} · "
            f"最忙 hottest {hot} {pct(util[hot]['utilisation'])} · "
            f"最闲 coldest {cold} {pct(util[cold]['utilisation'])}")


# ------------------------------------------------------------------ panels


@dataclass(frozen=True)
class AlertRow:
    id: str
    level: str
    words: str
    subject: str
    since: str
    acknowledged: bool
    acknowledged_at: str


def alert_rows(view: Any) -> list[AlertRow]:
    """Unacknowledged first, critical before warning, oldest first."""
    rows = []
    for a in view.alerts.values():
        zh, en = RULE_WORDS.get(a.get("rule", ""), (a.get("rule", ""), ""))
        lz, _ = LEVEL_WORDS.get(a.get("level", ""), (a.get("level", ""), ""))
        acked = a.get("acknowledged_at") is not None
        rows.append(AlertRow(a["id"], a.get("level", ""), f"{lz} {zh} / {en}",
                             _subject(view, a.get("subject", "")),
                             clock_time(view, a.get("raised_at")), acked,
                             clock_time(view, a.get("acknowledged_at")) if acked else ""))
    order = {"critical": 0, "warning": 1}
    return sorted(rows, key=lambda r: (r.acknowledged, order.get(r.level, 2), r.since, r.id))


def _subject(view: Any, subject: str) -> str:
    """A ticket id as its number, a queue or window id with its name."""
    t = view.ticket(subject)
    if t is not None:
        return f"{t.get('number')} ({view.queue_name(t.get('queue', ''))})"
    if subject in view.windows:
        return f"窗口 {subject}"
    if subject in view.hall.get("queues", {}):
        return f"{view.queue_name(subject)} ({subject})"
    if subject.startswith("20") and "-" in subject:
        return subject.split("-", 1)[1]
    return subject


@dataclass(frozen=True)
class SuggestionRow:
    id: str
    zone: str
    window: str
    change: str          # from → to
    reason: str
    predicted: str       # mean and worst wait before → after


def suggestion_rows(view: Any) -> list[SuggestionRow]:
    rows = []
    for s in sorted(view.suggestions.values(), key=lambda s: (s.get("at") or 0, s["id"])):
        rows.append(SuggestionRow(s["id"], s.get("zone", ""), s.get("window", ""),
                                  change_words(view, s),
                                  "\n".join(x for x in (s.get("reason"), s.get("reason_en"))
                                            if x),
                                  predicted_words(s.get("predicted"))))
    return rows


def change_words(view: Any, s: dict[str, Any]) -> str:
    """A suggested move in a line: lend (which queues it takes on) or return."""
    before, after = s.get("from_main") or [], s.get("main") or []
    added = [q for q in after if q not in before]
    if added:
        return (f"借调 Lend: 主 {short_names(view, before, 2)} → "
                f"+{short_names(view, added, 2)}")
    return f"归还 Return: 主 {short_names(view, before, 2)} → {short_names(view, after, 2)}"


NO_CHANGE = 0.25   # minutes: a predicted effect smaller (or within the runs' spread) is noise


def predicted_words(p: dict[str, Any] | None) -> str:
    """The forward simulation's prediction, with a verdict on the mean: an effect
    within the spread of the runs or under NO_CHANGE minutes is "about no change"
    (docs/dispatch.md measured the effect's error on the busy day)."""
    if not p:
        return "预测中… / predicting…"
    f = lambda x: "—" if x is None else f"{x:.1f}"  # noqa: E731
    return (f"平均 mean {f(p.get('mean_before'))}→{f(p.get('mean_after'))} 分 "
            f"{verdict(p)}\n"
            f"最差 worst {f(p.get('worst_before'))}→{f(p.get('worst_after'))} 分 "
            f"({p.get('horizon_minutes', 60):.0f} min)")


def verdict(p: dict[str, Any]) -> str:
    before, after = p.get("mean_before"), p.get("mean_after")
    if before is None or after is None:
        return ""
    effect = after - before
    if abs(effect) < max(NO_CHANGE, p.get("spread") or 0.0):
        return "≈ 不变 / about no change"
    return "更短 / shorter" if effect < 0 else "更长 / longer"


@dataclass(frozen=True)
class CaseRow:
    id: str
    number: str
    window: str
    clerk: str
    level: str
    reason: str
    contact_by: str
    close_by: str
    overdue: bool
    state: str
    steps: str


def case_rows(view: Any, now: float) -> list[CaseRow]:
    """Open cases first (overdue first), then closed ones."""
    rows = []
    for c in view.cases.values():
        state = c.get("state", "open")
        contacted = any(s.get("step") == "contacted" for s in c.get("steps") or [])
        late_contact = not contacted and (c.get("contact_by") or math.inf) < now
        late_close = state != "closed" and (c.get("close_by") or math.inf) < now
        steps = "；".join(f"{CASE_STEPS.get(s.get('step'), (s.get('step'),))[0]} "
                         f"{clock_time(view, s.get('at'))} {s.get('by', '')}"
                         + (f"：{s['note']}" if s.get("note") else "")
                         for s in c.get("steps") or [])
        level = c.get("level")
        rows.append(CaseRow(
            c["id"], c.get("number", ""), c.get("window", ""), c.get("clerk") or "—",
            f"{level} {RATING_WORDS.get(level, '')}".strip(), c.get("reason") or "—",
            _date(view, c.get("contact_by")), _date(view, c.get("close_by")),
            late_contact or late_close, "/".join(CASE_STATES.get(state, (state, state))),
            steps or "—"))
    return sorted(rows, key=lambda r: (r.state.startswith("已办结"), not r.overdue, r.id))


def _date(view: Any, at: float | None) -> str:
    if at is None:
        return "—"
    tz = ZoneInfo(view.hall.get("timezone") or "Asia/Shanghai")
    return datetime.fromtimestamp(at, tz).strftime("%m-%d %H:%M")


@dataclass(frozen=True)
class DeviceRow:
    device: str
    role: str
    online: str
    since: str
    fault: str
    history: str


def device_rows(view: Any) -> list[DeviceRow]:
    """Every device the hub knows of (presence) or that reported (devices), offline and
    faulty first."""
    presence, devices = view.presence, view.devices
    rows = []
    for d in sorted(set(presence) | {k.split("/")[0] for k in devices}):
        p = presence.get(d) or {}
        online = p.get("online")
        faults = {k: v for k, v in devices.items() if k == d or k.startswith(d + "/")}
        fault = "；".join(f"{k} {v.get('status')} {v.get('detail') or ''}".strip()
                         for k, v in sorted(faults.items()) if v.get("status") != "ok")
        lines = [f"{clock_time(view, h.get('at'), True)} "
                 f"{'上线 online' if h.get('online') else '离线 offline'}"
                 for h in p.get("history") or []]
        for k, v in sorted(faults.items()):
            lines += [f"{clock_time(view, h.get('at'), True)} {k} {h.get('status')} "
                      f"{h.get('detail') or ''}".strip() for h in v.get("history") or []]
            if not v.get("history"):
                lines.append(f"{clock_time(view, v.get('since') or v.get('at'), True)} {k} "
                             f"{v.get('status')} {v.get('detail') or ''}".strip())
        rows.append(DeviceRow(
            d, p.get("role", ""),
            "—" if online is None else ("在线 online" if online else "离线 offline"),
            clock_time(view, p.get("since")), fault or "正常 ok",
            "\n".join(sorted(lines)) or "今日无记录 / nothing today"))
    return sorted(rows, key=lambda r: (not r.online.startswith("离线"), r.fault == "正常 ok",
                                       r.device))


@dataclass(frozen=True)
class Move:
    at: str
    window: str
    change: str
    by: str
    reason: str


def move_of(view: Any, data: dict[str, Any]) -> Move:
    """A ``profile_changed`` event as a line of the audit list."""
    who = "自动 hub (automatic)" if data.get("automatic") else (data.get("by") or "—")
    return Move(clock_time(view, data.get("at"), True), data.get("window", ""),
                f"主 {short_names(view, data.get('main') or [], 3)} 兼 "
                f"{short_names(view, data.get('side') or [], 3)}", who,
                data.get("reason") or "—")


def find_ticket(view: Any, number: str, states: tuple[str, ...] = (
        "waiting", "called", "serving", "held", "no_show")) -> dict[str, Any] | None:
    """Today's ticket with that number (the latest) in one of ``states``."""
    number = number.strip().upper()
    found = [t for t in view.tickets.values()
             if t.get("number") == number and t.get("state") in states]
    return max(found, key=lambda t: t.get("issued_at") or 0) if found else None
