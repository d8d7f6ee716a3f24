"""The citizens' phone pages, served by the hub on its own port (docs/phone.md).

HTTP GET, answered from the hub's ``process_request`` before any websocket handshake:

* ``/t/<token>``: the ticket's status page; ``/t/<token>.json`` the same as data (the
  page polls it where websockets are blocked). A token of no ticket today: 404, the
  plain "票号不存在 / ticket not found" page, never another ticket.
* ``/``: the hall's public page (each zone's queues); ``/hall.json`` as data. A
  websocket to ``/`` is a device's, as before: only a plain GET gets the page.

Websockets, unauthenticated and read-only: ``/t/<token>/live`` sends that one
ticket's public status whenever it changes, ``/live`` the hall's; neither reads
anything from the phone.

Bounded: every request and live socket takes a token from its address's bucket
(PhoneLimits.requests: 2 a second, bursts of 30; over it, 429 with Retry-After), and
live sockets have their own caps per address and in all (over them, 503), apart
from the devices' (guard.py), so phones cannot crowd out the hall's devices. A
status is computed at most once per change of the hall (or REFRESH_S), however
many phones ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import re
import time
from base64 import b64encode
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..core import estimate
from ..core.state import Ticket, TicketState
from .guard import fell_behind, hang_up, remote, remote_host
from .logs import log_exception, log_json
from .phone_token import ticket_by_token
from .phone_view import hall_data, hall_html, ticket_data, ticket_html
from .ratelimit import TokenBucket

if TYPE_CHECKING:
    from .server import Hub

PAGES = Path(__file__).resolve().parent / "pages"
REFRESH_S = 15.0        # a live page's expected wait is refreshed this often, events or not
COALESCE_S = 0.2        # events within this are one refresh
ROUND_GAP_S = 0.8       # and one refresh a second at most, however busy the hall
WAIT_EVERY_S = 15.0     # the replayed expected waits are this fresh
POLL_EVERY_S = 5        # the page's polling, where its websocket is blocked
CLOSE_NOT_FOUND = 4404  # a live ticket whose day ended: the page shows "not found"
ADDRESSES = 10_000      # addresses whose request buckets are remembered
_TICKET = re.compile(r"/t/([^/]+?)(\.json|/live)?")


@dataclass(frozen=True)
class PhoneLimits:
    requests: tuple[float, float] = (2.0, 30.0)   # per address: a second, burst
    live_per_address: int = 8
    live_total: int = 1000


@dataclass(frozen=True)
class Route:
    kind: str           # ticket | hall
    form: str           # page | json | live
    token: str = ""


def route(request: Request) -> Route | None:
    """The phone route of a request, or None: a device's websocket, /healthz, ..."""
    path = request.path.split("?", 1)[0]
    upgrade = "websocket" in request.headers.get("Upgrade", "").lower()
    match = _TICKET.fullmatch(path)
    if match:
        form = {".json": "json", "/live": "live"}.get(match[2] or "", "page")
        return Route("ticket", form, match[1]) if (form == "live") == upgrade else None
    if upgrade:
        return Route("hall", "live") if path == "/live" else None
    forms = {"/": "page", "/index.html": "page", "/hall.json": "json"}
    return Route("hall", forms[path]) if path in forms else None


@cache
def _asset(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


@cache
def _csp() -> str:
    digest = b64encode(hashlib.sha256(_asset("live.js").encode()).digest()).decode()
    return ("default-src 'none'; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{digest}'; connect-src 'self'; img-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{{" + key + "}}", value)
    return template


class Phone:
    """The phone pages and live sockets of one hub."""

    def __init__(self, hub: Hub, limits: PhoneLimits | None = None) -> None:
        self.hub = hub
        self.limits = limits or PhoneLimits()
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.live: dict[ServerConnection, Route] = {}
        self.open: dict[str, int] = {}
        self.sent: dict[ServerConnection, str] = {}    # the last frame sent to each
        self._cache: dict[str, dict[str, Any] | None] = {}
        self._cache_key: tuple[int, float] = (-1, 0.0)
        self._changed = asyncio.Event()
        self.waits = Waits(hub)

    # ------------------------------------------------------------ data

    def _data(self, r: Route) -> dict[str, Any] | None:
        """The route's public data (None: a ticket not found), computed once per change
        of the hall or REFRESH_S."""
        hub, now = self.hub, self.hub.clock()
        key = (hub.seq, time.monotonic() // REFRESH_S)
        if key != self._cache_key:
            self._cache, self._cache_key = {}, key
        cache_key = f"t:{r.token}" if r.kind == "ticket" else "hall"
        if cache_key not in self._cache:
            state, hall = hub.service.core.state, hub.hall
            if r.kind == "hall":
                data = hall_data(hall, state, hub.recent.calls, now, self.waits.queues(now))
                data["html"] = hall_html(data)
                data["title"] = f"{hall.name} 排队情况 Queues"
            else:
                ticket = ticket_by_token(hall, state, r.token, now)
                if ticket is None:
                    return None     # not kept: a flood of wrong tokens fills nothing
                status = self.waits.ticket(ticket, now, self._watched)
                data = ticket_data(hall, state, ticket, now, status)
                data["html"] = ticket_html(data)
                data["title"] = f"{data['number']} · {data['message'][0]}"
            self._cache[cache_key] = data
        return self._cache[cache_key]

    def _watched(self) -> set[str]:
        """The tickets whose pages are open live: their waits are replayed together."""
        state, hall, now = self.hub.service.core.state, self.hub.hall, self.hub.clock()
        found = (ticket_by_token(hall, state, r.token, now) for r in self.live.values()
                 if r.kind == "ticket")
        return {t.id for t in found if t is not None}

    # ------------------------------------------------------------ http

    def admit(self, ws: ServerConnection, r: Route) -> Response | None:
        """process_request for a phone route: the page or data, or None to go on to a
        live socket's handshake."""
        host = remote_host(ws)
        if not self._affords(host):
            log_json("phone_rate_limited", remote=remote(ws))
            response = ws.respond(HTTPStatus.TOO_MANY_REQUESTS,
                                  "请稍后再试 Too many requests: try again in a few seconds\n")
            response.headers["Retry-After"] = "5"
            return response
        data = self._data(r)
        if data is None:
            return self._not_found(ws)
        if r.form == "live":
            return self._admit_live(ws, r, host)
        if r.form == "json":
            return _respond(ws, HTTPStatus.OK, json.dumps(data, ensure_ascii=False),
                            "application/json; charset=utf-8")
        return _respond(ws, HTTPStatus.OK, self._page(r, data), "text/html; charset=utf-8")

    def _affords(self, host: str) -> bool:
        bucket = self.buckets.pop(host, None)
        if bucket is None:
            rate, burst = self.limits.requests
            bucket = TokenBucket(rate, burst, tokens=burst)
        self.buckets[host] = bucket
        while len(self.buckets) > ADDRESSES:
            self.buckets.popitem(last=False)
        return bucket.take(1.0)

    def _page(self, r: Route, data: dict[str, Any]) -> str:
        live = f"/t/{r.token}/live" if r.kind == "ticket" else "/live"
        poll = f"/t/{r.token}.json" if r.kind == "ticket" else "/hall.json"
        page = json.dumps({"live": live, "poll": poll, "every": POLL_EVERY_S,
                           "call": data.get("call")})
        sound = "" if r.kind == "hall" else _asset("sound.html")
        return _fill(_asset("page.html"), title=_esc(data["title"]), style=_asset("style.css"),
                     hall=_esc(self.hub.hall.name), hall_en=_esc(self.hub.hall.name_en),
                     main=data["html"], sound=sound, page=page.replace("</", "<\\/"),
                     script=_asset("live.js"))

    def _not_found(self, ws: ServerConnection) -> Response:
        body = _fill(_asset("not_found.html"), style=_asset("style.css"),
                     hall=_esc(self.hub.hall.name), hall_en=_esc(self.hub.hall.name_en))
        return _respond(ws, HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8")

    # ------------------------------------------------------------ live sockets

    def _admit_live(self, ws: ServerConnection, r: Route, host: str) -> Response | None:
        held = self.open.get(host, 0)
        if held >= self.limits.live_per_address or len(self.live) >= self.limits.live_total:
            log_json("phone_refused", remote=remote(ws), open=held, total=len(self.live))
            response = ws.respond(HTTPStatus.SERVICE_UNAVAILABLE,
                                  "too many live pages: the page refreshes by itself\n")
            response.headers["Retry-After"] = "30"
            return response
        self.open[host] = held + 1
        self.live[ws] = r
        ws.connection_lost_waiter.add_done_callback(lambda _: self._release(ws, host))
        return None

    def _release(self, ws: ServerConnection, host: str) -> None:
        self.live.pop(ws, None)
        self.sent.pop(ws, None)
        left = self.open.get(host, 1) - 1
        if left > 0:
            self.open[host] = left
        else:
            self.open.pop(host, None)

    async def serve_live(self, ws: ServerConnection) -> None:
        """A live socket: its status now, then at each change; anything the phone sends
        is read and dropped (a few frames), more closes it."""
        if ws not in self.live:
            return
        self._push(ws, self.live[ws])
        read = 0
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                read += 1
                if read > 10:
                    hang_up(ws, 1008, "a live page sends nothing")
                    return

    def _push(self, ws: ServerConnection, r: Route) -> None:
        data = self._data(r)
        if data is None:
            self.live.pop(ws, None)
            hang_up(ws, CLOSE_NOT_FOUND, "not found")
            return
        frame = json.dumps(data, ensure_ascii=False)
        if self.sent.get(ws) == frame:
            return
        self.sent[ws] = frame
        broadcast([ws], frame)
        if fell_behind(ws, len(frame.encode())):
            self.live.pop(ws, None)
            hang_up(ws, 1008, "lagging")

    def touch(self) -> None:
        """The hall changed: refresh the live pages soon."""
        self._changed.set()

    def refresh(self) -> None:
        for ws, r in list(self.live.items()):
            self._push(ws, r)

    async def clock(self) -> None:
        """Refresh the live pages after each change (a burst of events once), and every
        REFRESH_S for the expected waits that change with time alone."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), REFRESH_S)
            await asyncio.sleep(COALESCE_S)
            self._changed.clear()
            try:
                self.refresh()
            except Exception:   # a bug must not stop the pages for the rest of the day
                log_exception("phone refresh failed")
            await asyncio.sleep(ROUND_GAP_S)


class Waits:
    """The expected waits the pages show, as the kiosk printed them (the replay of
    core/estimate.py), at a bounded cost: a replay walks the lines ahead of a ticket
    (about 80 ms on a 1,500-ticket morning), so one replay gives every watched ticket
    its wait, at most every WAIT_EVERY_S (or when a page opens for a ticket it did not
    cover). People ahead and states are read afresh each time (the projection of
    ``ticket_status``: a tenth of a millisecond)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.found: dict[str, float] = {}
        self.covered: set[str] = set()
        self.at = -math.inf
        self.replayed_now = 0.0      # the hall time of the replay
        self.queue_waits: dict[str, dict[str, Any]] = {}
        self.queues_at = -math.inf

    def ticket(self, ticket: Ticket, now: float, watched: Callable[[], set[str]]
               ) -> dict[str, Any]:
        hall, state = self.hub.hall, self.hub.service.core.state
        status = estimate.ticket_status(hall, state, ticket.id, now, projected=True)
        projection = status["expected_wait_s"]
        if ticket.state is not TicketState.WAITING or ticket.window or projection is None:
            return status     # a ticket sent to a window by name: no replay (estimate.py)
        stale = time.monotonic() - self.at > WAIT_EVERY_S
        if stale or ticket.id not in self.covered:
            self.covered = watched() | {ticket.id}
            view = estimate._View(hall, state, now)
            self.found = view.replay((), self.covered)
            self.at, self.replayed_now = time.monotonic(), now
        found = self.found.get(ticket.id)
        wait = projection if found is None else max(0.0, found - (now - self.replayed_now))
        return {**status, "expected_wait_s": wait,
                "expected_wait_range_s": estimate.wait_range(wait)}

    def queues(self, now: float) -> dict[str, dict[str, Any]]:
        if time.monotonic() - self.queues_at > WAIT_EVERY_S:
            self.queue_waits = estimate.queue_status(self.hub.hall,
                                                     self.hub.service.core.state, now)
            self.queues_at = time.monotonic()
        return self.queue_waits


def _esc(text: str) -> str:
    return escape(text)


def _respond(ws: ServerConnection, status: HTTPStatus, body: str, content_type: str
             ) -> Response:
    response = ws.respond(status, body)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"   # the token is in the address
    if content_type.startswith("text/html"):
        response.headers["Content-Security-Policy"] = _csp()
    return response
