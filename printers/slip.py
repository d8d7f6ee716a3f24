"""TicketSlip: everything a ticket shows, as plain values, and how a kiosk builds one.

After ``issue_ticket`` the hub replies with ``result.ticket`` and ``result.status``;
the kiosk's snapshot holds ``hall`` (names of the hall, zones and queues). The
kiosk calls ``slip_from_reply(snapshot["hall"], reply["result"], template, zone=...)``
and hands the slip to ``Printer.print_ticket``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .template import TicketTemplate

TICKET_CLASSES = ("normal", "appointment", "green")
CLASS_MARKS = {  # what a ticket of a class says about it; normal tickets say nothing
    "green": ("绿色通道", "Green Channel"),
    "appointment": ("预约", "Appointment"),
}


class SlipError(ValueError):
    """A reply or hall layout a slip cannot be built from (names what is missing)."""


@dataclass(frozen=True)
class TicketSlip:
    hall_name: str
    hall_name_en: str
    zone_name: str            # "" when the queue is not tied to one zone
    zone_name_en: str
    queue_name: str
    queue_name_en: str
    number: str               # "B017"
    ticket_id: str            # "20261123-B017"
    ticket_class: str         # normal | appointment | green
    ahead: int | None         # people ahead; None when the hub did not say
    expected_wait_s: float | None
    issued: str               # issue time as local text, "2026-11-23 09:41"
    qr_payload: str = ""      # "" prints no QR code
    notice: tuple[str, ...] = ()
    logo: str | None = None   # path of a picture for the top of the ticket
    expected_wait_range_s: tuple[float, float] | None = None  # printed as 约 15–25 分钟

    @property
    def class_mark(self) -> tuple[str, str] | None:
        return CLASS_MARKS.get(self.ticket_class)

    @property
    def ahead_text(self) -> tuple[str, str]:
        return ahead_text(self.ahead)

    @property
    def wait_text(self) -> tuple[str, str]:
        return wait_text(self.expected_wait_s, self.expected_wait_range_s)


def range_text(low: float, high: float) -> tuple[str, str] | None:
    """A range of waits in words (low rounded down, high up): whole minutes under 30,
    5-minute steps under two hours, half hours beyond; None when it is one figure."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low or low < 0:
        return None
    if high < 7200:
        lo, hi = low / 60, high / 60
        lo_m = math.floor(lo) if lo < 30 else 5 * math.floor(lo / 5)
        hi_m = math.ceil(hi) if hi < 30 else 5 * math.ceil(hi / 5)
        if hi_m <= lo_m:
            return None
        return f"约 {lo_m}–{hi_m} 分钟", f"about {lo_m}–{hi_m} min"
    lo_h, hi_h = math.floor(low / 1800) / 2, math.ceil(high / 1800) / 2
    return f"约 {lo_h:g}–{hi_h:g} 小时", f"about {lo_h:g}–{hi_h:g} h"


def ahead_text(ahead: int | None) -> tuple[str, str]:
    """(Chinese, English) for the people ahead: ("5 人", "5 people")."""
    if ahead is None:
        return "—", "—"
    return f"{ahead} 人", ("1 person" if ahead == 1 else f"{ahead} people")


def wait_text(seconds: float | None,
              span: tuple[float, float] | list[float] | None = None) -> tuple[str, str]:
    """(Chinese, English) for an expected wait, rounded the way people say it.

    Under a minute: "不到 1 分钟"; up to half an hour: whole minutes ("约 12 分钟");
    up to an hour: 5-minute steps; beyond: hours and 10-minute steps ("约 1 小时 20 分钟").
    No estimate (no window open for the queue): "暂无估计". With ``span`` (the hub's
    ``expected_wait_range_s``, where the wait is uncertain) a range: "约 15–25 分钟",
    "约 1.5–3 小时".
    """
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "暂无估计", "no estimate"
    if span is not None and (found := range_text(*span)) is not None:
        return found
    minutes = seconds / 60
    if minutes < 1:
        return "不到 1 分钟", "under 1 min"
    if minutes < 30:
        m = max(1, round(minutes))
    elif minutes < 60:
        m = min(60, 5 * round(minutes / 5))
    else:
        m = 10 * round(minutes / 10)
    if m < 60:
        return f"约 {m} 分钟", f"about {m} min"
    hours, rest = divmod(m, 60)
    if rest == 0:
        return f"约 {hours} 小时", f"about {hours} h"
    return f"约 {hours} 小时 {rest} 分钟", f"about {hours} h {rest} min"


def slip_from_reply(hall: dict[str, Any], result: dict[str, Any],
                    template: TicketTemplate, zone: str | None = None) -> TicketSlip:
    """Build the slip for the ticket in an ``issue_ticket`` / ``check_in`` reply.

    ``hall`` is the snapshot's ``hall`` (names, timezone, zones, queues); ``zone`` is
    the kiosk's zone. Without it the queue's zone is used when the queue has only one.
    """
    try:
        ticket = result["ticket"]
        ticket_id, number, queue_id = ticket["id"], ticket["number"], ticket["queue"]
        issued_at = float(ticket["issued_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SlipError(f"reply result: ticket needs id, number, queue and issued_at ({exc})") \
            from None
    ticket_class = ticket.get("ticket_class", "normal")
    if ticket_class not in TICKET_CLASSES:
        raise SlipError(f"reply result: ticket_class {ticket_class!r} is not one of "
                        f"{', '.join(TICKET_CLASSES)}")
    queue = (hall.get("queues") or {}).get(queue_id)
    if queue is None:
        raise SlipError(f"hall layout: unknown queue {queue_id!r}")
    zones = hall.get("zones") or {}
    if zone is None and len(queue.get("zones", ())) == 1:
        zone = queue["zones"][0]
    zone_names = zones.get(zone, {}) if zone else {}
    if zone and not zone_names:
        raise SlipError(f"hall layout: unknown zone {zone!r}")
    try:
        tz = ZoneInfo(hall.get("timezone") or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        raise SlipError(f"hall layout: unknown time zone {hall.get('timezone')!r}") from None
    status = result.get("status") or {}
    ahead = status.get("ahead")
    wait = status.get("expected_wait_s")
    span = status.get("expected_wait_range_s")
    logo = template.logo_path
    return TicketSlip(
        hall_name=hall.get("name", ""),
        hall_name_en=hall.get("name_en", ""),
        zone_name=zone_names.get("name", ""),
        zone_name_en=zone_names.get("name_en", ""),
        queue_name=queue.get("name", queue_id),
        queue_name_en=queue.get("name_en", ""),
        number=number,
        ticket_id=ticket_id,
        ticket_class=ticket_class,
        ahead=int(ahead) if ahead is not None else None,
        expected_wait_s=float(wait) if wait is not None else None,
        issued=datetime.fromtimestamp(issued_at, tz).strftime(template.time_format),
        qr_payload=template.qr_payload(ticket_id, number, queue_id,
                                       str(result.get("status_token") or ""),
                                       str(hall.get("public_url") or "")),
        notice=tuple(template.notice),
        logo=str(logo) if logo else None,
        expected_wait_range_s=(float(span[0]), float(span[1])) if span else None,
    )
