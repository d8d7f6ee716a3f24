"""What a window's caller panel shows, with no Qt in it.

``panel_state(view, window, now)`` reads a HallView (dispatcher.client) and returns
a ``PanelState``: the window's name and state, the ticket it holds with its
waits, the waiting count and longest wait of each of its main and side queues,
and which actions are enabled. ``error_words(code)`` turns a hub error code into
words a clerk understands; ``locked_words`` and ``signed_out_words`` are the
sign-in screen's own lines. caller/panel.py draws this; tests/test_caller_model.py
checks it without a screen or a hub.

Enabled actions by window state (``connected`` False disables them all)::

    closed   open
    idle     call_next, call_ticket, pause, close (only if nothing waits for it by
             name and nothing is held aside), call_back (if a ticket is held aside)
    calling  recall, start, finish, no_show, transfer, hold (+ call_next, and
             call_back if a ticket is held, when the hall's call_next finishes the
             current ticket)
    serving  finish, transfer, hold (+ call_next, call_back as above)
    paused   resume
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("call_next", "call_ticket", "recall", "start", "finish", "no_show", "transfer",
           "hold", "call_back", "pause", "resume", "open", "close")

#: action → protocol command name
COMMANDS = {"call_next": "call_next", "call_ticket": "call_ticket", "recall": "recall",
            "start": "start_service", "finish": "finish_service", "no_show": "no_show",
            "transfer": "transfer", "hold": "hold", "call_back": "call_back",
            "pause": "pause", "resume": "resume",
            "open": "open_window", "close": "close_window"}

#: action → its key on the panel; pause and resume have keys of their own (F7, F11)
KEYS = {"call_next": "F1", "recall": "F2", "start": "F3", "finish": "F4", "no_show": "F5",
        "transfer": "F6", "pause": "F7", "call_ticket": "F8", "hold": "F9",
        "call_back": "F10", "resume": "F11"}


def key_list() -> str:
    """The keys and their actions, one line: "F1 call next, F2 recall, …"."""
    words = {"no_show": "no-show", "call_ticket": "call a number", "hold": "hold aside"}
    return ", ".join(f"{key} {words.get(action, action.replace('_', ' '))}" for action, key
                     in sorted(KEYS.items(), key=lambda kv: int(kv[1][1:])))


STATE_WORDS = {
    "closed": ("已关闭", "Closed"),
    "idle": ("空闲", "Idle"),
    "calling": ("呼叫中", "Calling"),
    "serving": ("办理中", "Serving"),
    "paused": ("暂停", "Paused"),
}

CLASS_WORDS = {"normal": ("普通", "Normal"), "appointment": ("预约", "Appointment"),
               "green": ("绿色通道", "Green channel")}

#: pause reasons a clerk picks from (sent as the reason text)
PAUSE_REASONS = ("临时离开 / Away briefly", "用餐 / Meal break", "业务咨询 / Consulting",
                 "系统故障 / System problem", "会议 / Meeting")

ERROR_WORDS: dict[str, tuple[str, str]] = {
    "queue_empty": ("没有等候的号", "No one is waiting"),
    "window_busy": ("窗口还有未办结的号，请先办结或转移",
                    "The window still holds a ticket: finish or transfer it first"),
    "window_idle": ("窗口当前没有号", "The window holds no ticket"),
    "wrong_state": ("当前状态下不能这样操作（可能已被处理）",
                    "Not possible in the current state (it may already be done)"),
    "window_closed": ("窗口已关闭，请先开窗", "The window is closed: open it first"),
    "window_paused": ("窗口已暂停，请先恢复", "The window is paused: resume it first"),
    "forbidden": ("本设备无权进行此操作", "This device may not do that"),
    "unavailable": ("与叫号服务器的连接已断开，请稍候", "Not connected to the hub: please wait"),
    "timeout": ("服务器未响应，请重试", "The hub did not answer: try again"),
    "unknown_ticket": ("今天没有这个号", "No such ticket today"),
    "unknown_queue": ("没有这个队列", "No such queue"),
    "unknown_window": ("没有这个窗口", "No such window"),
    "not_authorized": ("本窗口不能办理该队列", "This window may not take that queue"),
    "bad_argument": ("输入有误", "Something entered is wrong"),
    "day_closed": ("今日已结束", "Today has been closed"),
    "hall_closed": ("不在办公时间", "Outside opening hours"),
    "requeue_limit": ("该号重新排队次数已满", "The ticket has been re-queued too often"),
    "hold_limit": ("本窗口挂起的号已满，请先回呼", "Too many tickets held aside: call one back"),
    "nothing_held": ("本窗口没有挂起的号", "No ticket is held aside at this window"),
    "rate_limited": ("操作过快，请稍候", "Too fast: wait a moment"),
    "wrong_pin": ("工号或密码不对", "Wrong clerk id or PIN"),
    "sign_in_locked": ("密码错误次数过多，请稍后再试", "Too many wrong PINs: try again later"),
    "outcome_required": ("请选择办件结果（需要时填写办件编号）",
                         "Choose the outcome (and enter the case number where needed)"),
}
#: actions that finish the ticket the window holds (办结, or a call that finishes it first)
FINISHING = ("finish", "call_next", "call_ticket", "call_back")
EMPTY_SIGN_IN = "请输入工号和密码 / Enter your clerk id and PIN"
TRY_AGAIN = "现在可以再试 / You may try again now"
SIGNING_IN = "… 正在登录 / Signing in"


def error_words(code: str, message: str = "") -> str:
    """A hub error code as one line for a clerk: "中文 / English"."""
    zh, en = ERROR_WORDS.get(code, ("操作未成功", "It did not work"))
    text = f"{zh} / {en}"
    if code not in ERROR_WORDS and message:
        text += f" ({message})"
    return text


def locked_words(seconds: float) -> str:
    """The hub's ``sign_in_locked`` with the seconds left (rounded up, at least 1)."""
    n = max(1, math.ceil(seconds))
    return f"密码错误次数过多，请 {n} 秒后再试 / Too many wrong PINs: try again in {n} s"


def signed_out_words(clerk_now: str | None) -> str:
    """Why the panel went back to the sign-in screen: the hub has another clerk at the
    window (signed in at the console, or at another panel), or nobody (signed out at
    the console, a new day)."""
    if clerk_now:
        return (f"{clerk_now} 已在本窗口签到，请重新登录 / {clerk_now} signed in at this "
                "window: sign in again")
    return "您已被签退（换班或新的一天），请重新登录 / You were signed out: sign in again"


def fmt_duration(seconds: float | None) -> str:
    """12:05 style (m:ss), h:mm:ss past an hour; "—" when unknown."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass(frozen=True)
class QueueLine:
    queue: str
    name: str
    tier: str                # "main" or "side"
    waiting: int
    longest_wait_s: float | None


@dataclass(frozen=True)
class PanelState:
    window: str
    window_name: str
    state: str
    state_words: str
    pause_reason: str | None
    ticket: str | None = None
    number: str | None = None
    queue_name: str = ""
    ticket_class: str = ""
    waited_s: float | None = None
    serving_s: float | None = None
    waiting_for_window: int = 0
    held: tuple[str, ...] = ()          # numbers held aside (挂起), oldest first
    clerk: str | None = None            # the clerk the hub has at this window
    queues: tuple[QueueLine, ...] = ()
    enabled: frozenset[str] = field(default_factory=frozenset)
    known: bool = True


def enabled_actions(state: str, *, holds_ticket: bool, waiting_by_name: int = 0,
                    next_finishes_current: bool = False, held: int = 0) -> frozenset[str]:
    if state == "closed":
        return frozenset({"open"})
    if state == "paused":
        return frozenset({"resume"})
    if state == "idle":
        out = {"call_next", "call_ticket", "pause"}
        if not holds_ticket and waiting_by_name == 0 and held == 0:
            out.add("close")
        if held:
            out.add("call_back")
        return frozenset(out)
    out: set[str] = set()
    if state == "calling":
        out |= {"recall", "start", "finish", "no_show", "transfer", "hold"}
    elif state == "serving":
        out |= {"finish", "transfer", "hold"}
    if next_finishes_current and state in ("calling", "serving"):
        out |= {"call_next", "call_back"} if held else {"call_next"}
    return frozenset(out)


def _waiting_in(view: Any, queue: str) -> list[dict[str, Any]]:
    return [t for t in view.tickets.values()
            if t.get("queue") == queue and t.get("state") == "waiting" and not t.get("window")]


def panel_state(view: Any, window: str, now: float, *, connected: bool = True,
                next_finishes_current: bool | None = None) -> PanelState:
    """The panel for ``window`` as ``view`` (a HallView) sees it at ``now``."""
    w = view.window(window) if view.loaded else None
    if w is None:
        return PanelState(window=window, window_name=window, state="unknown",
                          state_words="未知 / Unknown", pause_reason=None, known=False)
    if next_finishes_current is None:
        next_finishes_current = bool(view.hall.get("call_next_finishes_current", False))
    state = w.get("state", "closed")
    zh, en = STATE_WORDS.get(state, (state, state))
    ticket_id = w.get("ticket")
    t = view.ticket(ticket_id) if ticket_id else None
    waited = serving = None
    queue_name = cls = ""
    if t is not None:
        if t.get("called_at") is not None and t.get("issued_at") is not None:
            waited = t["called_at"] - t["issued_at"]
        if t.get("started_at") is not None and state == "serving":
            serving = now - t["started_at"]
        queue_name = view.queue_name(t.get("queue", ""))
        czh, cen = CLASS_WORDS.get(t.get("ticket_class", ""), (t.get("ticket_class", ""), ""))
        cls = f"{czh} / {cen}" if cen else czh
    lines = []
    for tier in ("main", "side"):
        for q in w.get(tier) or []:
            waiting = _waiting_in(view, q)
            longest = max((now - x["issued_at"] for x in waiting if x.get("issued_at")),
                          default=None)
            count = view.waiting.get(q)    # whole, where a snapshot lists a line's head
            lines.append(QueueLine(queue=q, name=view.queue_name(q), tier=tier,
                                   waiting=int(count if count is not None else len(waiting)),
                                   longest_wait_s=longest))
    by_name = int(w.get("waiting") or 0)
    held = tuple(h["number"] for h in w.get("held") or ())
    enabled = enabled_actions(state, holds_ticket=ticket_id is not None,
                              waiting_by_name=by_name, held=len(held),
                              next_finishes_current=next_finishes_current)
    return PanelState(
        window=window, window_name=view.window_name(window), state=state,
        state_words=f"{zh} / {en}", pause_reason=w.get("pause_reason"),
        ticket=ticket_id, number=w.get("number") or (t or {}).get("number"),
        queue_name=queue_name, ticket_class=cls, waited_s=waited, serving_s=serving,
        waiting_for_window=by_name, held=held, clerk=w.get("clerk"), queues=tuple(lines),
        enabled=enabled if connected else frozenset())


def command_args(action: str, window: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    """The protocol command and args for a panel action."""
    name = COMMANDS[action]
    if action == "transfer":
        args = {"ticket": extra["ticket"]}
        if extra.get("to_queue"):
            args["to_queue"] = extra["to_queue"]
        else:
            args["to_window"] = extra["to_window"]
        return name, args
    args = {"window": window}
    if action in FINISHING and extra.get("outcome"):
        args["outcome"] = extra["outcome"]
        if extra.get("case_number"):
            args["case_number"] = extra["case_number"]
    if action == "pause":
        args["reason"] = extra["reason"]
    if action == "call_ticket":
        args["ticket"] = extra["ticket"]
    return name, args


@dataclass(frozen=True)
class OutcomeChoice:
    """One of the hall file's outcome codes (办件结果) as the panel offers it."""

    code: str
    name: str
    name_en: str
    case_number: bool       # needs the 办件编号


def outcome_choices(view: Any) -> tuple[OutcomeChoice, ...]:
    """The hall's outcome codes, in the hall file's order."""
    return tuple(OutcomeChoice(code, o.get("name", code), o.get("name_en", ""),
                               bool(o.get("case_number")))
                 for code, o in (view.hall.get("outcomes") or {}).items())


def outcome_needed(view: Any, window: str, action: str) -> bool:
    """Whether ``action`` finishes a ticket whose queue requires an outcome: 办结, or a
    call (next, a number, call back) while the window holds the ticket."""
    w = view.window(window) if view.loaded else None
    if action not in FINISHING or not w or not w.get("ticket"):
        return False
    ticket = view.ticket(w["ticket"]) or {}
    queue = (view.hall.get("queues") or {}).get(ticket.get("queue", ""), {})
    return bool(queue.get("outcome_required"))


def outcome_ready(choice: OutcomeChoice | None, case_number: str) -> bool:
    """The dialog's OK: an outcome chosen, and its case number when it needs one."""
    return choice is not None and (not choice.case_number or bool(case_number.strip()))
