"""What a citizen's phone may see: one ticket's public status, and the hall's public
view (each zone's queues), as data and as the HTML fragment the pages show.

Only what the lobby may see (privacy.py): numbers, queues, windows, counts, waits and
notices. No clerk, no rating, no appointment code, no other ticket. Every text is
escaped here, in the one place the fragments are made; the page's script only puts
a fragment it was sent in place (pages/*.html), so the first render and every live
update are the same HTML. Chinese first, English second.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from printers.slip import ahead_text, wait_text

from ..core import estimate
from ..core.state import HallState, Ticket, TicketState
from ..hall import Hall

Texts = tuple[str, str]   # (Chinese, English)
RECENT_SHOWN = 6          # the hall page's latest calls


def _window_names(hall: Hall, window: str | None) -> Texts:
    w = hall.windows.get(window or "")
    return (w.name, w.name_en) if w else ("", "")


def _message(hall: Hall, ticket: Ticket) -> Texts:
    """The page's main line for the ticket's state."""
    name, name_en = _window_names(hall, ticket.window)
    state = ticket.state
    if state is TicketState.WAITING:
        if ticket.window:
            return (f"请等候 {name} 叫号", f"Please wait for {name_en} to call you")
        return ("请留意叫号，轮到您时本页会提醒", "Please wait: this page will tell you when "
                "it is your turn")
    return {
        TicketState.CALLED: (f"请到 {name} 办理", f"Please go to {name_en}"),
        TicketState.SERVING: (f"正在 {name} 办理", f"Being served at {name_en}"),
        TicketState.HELD: (f"已在 {name} 挂起，请备齐材料后回到该窗口",
                           f"On hold at {name_en}: come back there when you are ready"),
        TicketState.DONE: ("已办结，感谢您的耐心", "Done. Thank you for your patience"),
        TicketState.NO_SHOW: ("已过号，请到咨询台", "Your number was missed: please ask "
                              "at the help desk"),
        TicketState.CANCELLED: ("此号已取消", "This ticket was cancelled"),
        TicketState.CLOSED: ("今日服务已结束", "The hall has closed for today"),
    }[state]


def _clock(hall: Hall, now: float) -> str:
    return datetime.fromtimestamp(now, ZoneInfo(hall.timezone)).strftime("%H:%M")


def ticket_data(hall: Hall, state: HallState, ticket: Ticket, now: float,
                status: dict[str, Any]) -> dict[str, Any]:
    """The public status of one ticket: what its page shows, and nothing more.
    ``status``: its ``ticket_status`` (people ahead, expected wait, phone.py)."""
    queue = hall.queues[ticket.queue]
    waiting = ticket.state is TicketState.WAITING
    wait = status["expected_wait_s"]
    called = ticket.state is TicketState.CALLED
    return {
        "type": "ticket", "number": ticket.number, "state": str(ticket.state),
        "queue": [queue.name, queue.name_en],
        "window": list(_window_names(hall, ticket.window)) if ticket.window else None,
        "ahead": status["ahead"] if waiting else None,
        "ahead_text": list(ahead_text(status["ahead"])) if waiting else None,
        "expected_wait_s": round(wait) if waiting and wait is not None else None,
        "wait_text": (list(wait_text(wait, status["expected_wait_range_s"]))
                      if waiting else None),
        "message": list(_message(hall, ticket)),
        "transferred": ticket.transfers > 0,
        # a new call or recall: the page vibrates and sounds once for each
        "call": f"{ticket.called_at}:{ticket.recalls}" if called else None,
        "hall": [hall.name, hall.name_en], "updated": _clock(hall, now),
    }


def _bi(zh: str, en: str, tag: str = "div", cls: str = "") -> str:
    """A Chinese line with its English line under it."""
    klass = f' class="{cls}"' if cls else ""
    return (f'<{tag}{klass}><span class="zh">{escape(zh)}</span>'
            f'<span class="en">{escape(en)}</span></{tag}>')


def ticket_html(data: dict[str, Any]) -> str:
    """The ticket page's main part, from ``ticket_data``."""
    parts = [
        '<section class="card ticket">',
        _bi("您的号码", "Your number", cls="label"),
        f'<div class="number" id="number">{escape(data["number"])}</div>',
        _bi(*data["queue"], cls="ticket-queue"),
        "</section>",
        f'<section class="status state-{escape(data["state"])}" id="status">',
        _bi(*data["message"], cls="message"),
        "</section>",
    ]
    if data["transferred"] and data["state"] == "waiting":
        parts.append(_bi(f"已转至 {data['queue'][0]}，保留原来的排队位置",
                         f"Moved to {data['queue'][1]}, keeping your place", cls="note"))
    if data["ahead_text"] is not None:
        parts += ['<dl class="facts">',
                  _fact("前面还有", "Ahead of you", data["ahead_text"], "ahead"),
                  _fact("预计等候", "Expected wait", data["wait_text"], "wait"),
                  "</dl>"]
    parts.append(_bi(f"更新于 {data['updated']}", f"Updated {data['updated']}",
                     cls="updated"))
    return "".join(parts)


def _fact(label: str, label_en: str, value: Iterable[str], key: str) -> str:
    zh, en = value
    return (f'<div class="fact" id="{key}"><dt>{_bi(label, label_en, "span")}</dt>'
            f'<dd><span class="value">{escape(zh)}</span>'
            f'<span class="en">{escape(en)}</span></dd></div>')


# ---------------------------------------------------------------- the hall page


def hall_data(hall: Hall, state: HallState, calls: Iterable[dict[str, Any]], now: float,
              waits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The hall's public view: each zone's queues (waiting, expected wait, windows open),
    the latest calls and the notices, as the wall shows them. The counts are of now;
    ``waits``: a ``queue_status`` of at most a few seconds ago (phone.py)."""
    status = estimate.queue_status(hall, state, now, projected=True)
    for qid, s in status.items():
        if s["expected_wait_s"] is not None and qid in waits:
            s["expected_wait_s"] = waits[qid]["expected_wait_s"]
            s["expected_wait_range_s"] = waits[qid]["expected_wait_range_s"]
    zones = []
    for zone in hall.zones.values():
        queues = [_queue_row(hall, qid, status[qid]) for qid, q in hall.queues.items()
                  if zone.id in q.zones]
        notice = state.notices.get(zone.id) or state.notices.get("")
        zones.append({"name": [zone.name, zone.name_en], "queues": queues,
                      "notice": notice or ""})
    recent = [c for c in calls if not c.get("recall")][-RECENT_SHOWN:]
    return {
        "type": "hall", "hall": [hall.name, hall.name_en], "open": hall.is_open(now)
        and not state.day_closed, "zones": zones, "updated": _clock(hall, now),
        "calls": [{"number": c["number"], "window": list(_window_names(hall, c["window"]))}
                  for c in reversed(recent)],
    }


def _queue_row(hall: Hall, qid: str, s: dict[str, Any]) -> dict[str, Any]:
    q = hall.queues[qid]
    windows = s["windows"] + s["side_windows"]
    return {"name": [q.name, q.name_en], "prefix": q.prefix, "waiting": s["waiting"],
            "windows": windows,
            "wait_text": list(wait_text(s["expected_wait_s"], s["expected_wait_range_s"]))
            if windows else ["暂无窗口", "none open"]}


def hall_html(data: dict[str, Any]) -> str:
    parts = []
    if not data["open"]:
        parts.append(_bi("现在不在办理时间", "The hall is closed now", cls="note"))
    if data["calls"]:
        parts.append('<section class="card calls">')
        parts.append(_bi("最近叫号", "Latest calls", "h2"))
        parts.append('<ol class="calls">')
        for c in data["calls"]:
            parts.append(f'<li><span class="number">{escape(c["number"])}</span>'
                         f'{_bi(*c["window"], "span", "window")}</li>')
        parts.append("</ol></section>")
    for zone in data["zones"]:
        parts.append('<section class="card zone">')
        parts.append(_bi(*zone["name"], "h2"))
        if zone["notice"]:
            parts.append(f'<p class="notice">{escape(zone["notice"])}</p>')
        parts.append('<ul class="queues"><li class="head"><span></span>'
                     f'{_bi("等候", "Waiting", "span")}{_bi("预计等候", "Wait", "span")}'
                     f'{_bi("窗口", "Windows", "span")}</li>')
        for q in zone["queues"]:
            parts.append(_queue_html(q))
        parts.append("</ul></section>")
    parts.append(_bi(f"更新于 {data['updated']}", f"Updated {data['updated']}",
                     cls="updated"))
    return "".join(parts)


def _queue_html(q: dict[str, Any]) -> str:
    """One row: the queue's name, then waiting, expected wait and windows open."""
    closed = "" if q["windows"] else " closed"
    return (f'<li class="queue{closed}" data-prefix="{escape(q["prefix"])}">'
            f'{_bi(*q["name"], cls="name")}'
            f'<b class="waiting">{q["waiting"]}</b>'
            f'{_bi(*q["wait_text"], "span", "wait")}'
            f'<b class="windows">{q["windows"]}</b></li>')
