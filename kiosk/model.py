"""The kiosk's flow as a plain state machine, with no Qt in it.

The app (kiosk/app.py) feeds it events — a touch, the hub's reply, the printer's
result, the hub's connection status, the printer's status, the idle clock — and
does what the returned actions say (send a command, print, report the printer).
The model never blocks and never talks to anything itself, so the whole flow is
tested without a screen, a hub or a printer (tests/test_kiosk_model.py).

Screens::

    home ──马上办──▶ confirm ──取号 / 绿色通道──▶ printing ──▶ done (请取票)
      │                 ▲                          └──────▶ failed (ticket on screen)
      ├──帮助办──▶ units ┘
      └──预约签到──▶ check_in (keypad) ──确认──▶ printing …
    an ID card on the reader ──▶ printing (its appointment checked in) or card (queues)
      ──queue──▶ confirm …: kiosk/idcard_flow.py
    paused: the hub is unreachable, or the printer cannot print (paper out, cover open)
    closed: outside the hall's opening hours (已停止取号); home again when it opens
    refused: the hub refused this kiosk's hello (bad token, unknown device): staff only

Touch counting rule: every touch on a button counts as one touch, except the
keypad of the check-in screen, where the whole code entry counts as one touch
(typing a code is one act, however many digits it has). So:

* 马上办 normal: 马上办, 取号 — 2 touches
* 马上办 green channel: 马上办, 绿色通道取号 — 2 touches
* 帮助办 unit: 帮助办, the unit, 取号 — 3 touches
* appointment: 预约签到, the code, 确认签到 — 3 touches
* ID card: the card (counts as one), the queue, 取号 — 3; with an appointment: 1

Double-tap protection: from the touch that sends ``issue_ticket``/``check_in`` until
the ticket is printed (or shown), the model is *busy* and ignores every touch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .idcard_flow import CardFlow, CardHolder

Screen = Literal["home", "units", "confirm", "printing", "done", "failed", "paused",
                 "check_in", "closed", "refused", "card"]
#: screens on which a citizen can do nothing but wait (or read the hours)
WAITING = ("paused", "closed", "refused")
#: screens a citizen is using, which a pause interrupts
INTERACTIVE = ("home", "units", "confirm", "check_in", "card")

#: printer states in which the kiosk issues nothing (printers.status.State)
PRINTER_BLOCKING = ("paper_out", "cover_open", "offline", "error")
#: the protocol's device statuses (report_device); "unknown" is reported as offline
DEVICE_STATUSES = ("ok", "paper_near_end", "paper_out", "cover_open", "offline", "error")

IDLE_TIMEOUT_S = 30.0      # a half-used screen goes back home after this long untouched
DONE_TIMEOUT_S = 12.0      # 请取票 / the on-screen ticket stay this long
CODE_MAX = 16              # appointment codes are at most this many characters
#: what an appointment code is made of ("YY-0012", "4815"): the keypad's keys
CODE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
#: what the kiosk tells the hub about a printer that does not answer DLE EOT
UNKNOWN_DETAIL = "状态未知 no status answer; still issuing, the ticket on screen if it fails"


@dataclass(frozen=True)
class Action:
    """Something the app must do: ``issue`` / ``check_in`` (send the command with
    ``args``), ``print`` (print ``args["result"]`` off the UI thread), ``report``
    (send report_device with ``args``)."""

    kind: Literal["issue", "check_in", "print", "report"]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class KioskModel(CardFlow):
    device: str
    zone: str | None = None
    big_loop: str | None = None          # the zone's 马上办 queue
    units: list[str] = field(default_factory=list)   # the zone's 帮助办 unit queues

    screen: Screen = "paused"
    lang: Literal["zh", "en"] = "zh"
    large: bool = False                  # elderly-friendly large mode
    default_lang: Literal["zh", "en"] = "zh"   # what the idle reset goes back to
    default_large: bool = False
    idle_timeout_s: float = IDLE_TIMEOUT_S
    hub_ok: bool = False
    hall_open: bool = True               # inside the hall's opening hours (the app knows)
    refused: bool = False                # the hub refused our hello: permanent
    printer_state: str = "ok"            # printers.status.State, as last seen
    busy: bool = False                   # an issue/check-in/print is in flight
    queue: str | None = None             # chosen queue (confirm screen)
    code: str = ""                       # appointment code typed so far
    touches: int = 0                     # counted touches since home (see the rule above)
    idle_s: float = 0.0
    message: str | None = None           # an error code to show (hub error, printer)
    result: dict[str, Any] | None = None # the hub's reply result of the last ticket
    print_error: str | None = None
    print_unsure: bool = False           # sent, but the printer never said it printed
    tickets_issued: int = 0
    card: CardHolder | None = None       # the ID card read (kiosk/idcard_flow.py)
    card_lookup: bool = False            # its check-in is in flight
    _code_counted: bool = False
    _reported: str | None = None         # printer state last reported to the hub

    # ------------------------------------------------------------------ layout

    def set_layout(self, hall: dict[str, Any], zone: str | None) -> None:
        """Pick the zone's big loop and unit queues from the snapshot's ``hall``."""
        self.zone = zone
        queues = hall.get("queues", {})
        mine = [q for q, info in queues.items() if zone in info.get("zones", ())]
        loops = [q for q in mine if queues[q].get("kind") == "big_loop"]
        self.big_loop = loops[0] if loops else None
        self.units = [q for q in mine if queues[q].get("kind") == "unit"]

    # ------------------------------------------------------------------ state

    @property
    def printer_blocked(self) -> bool:
        return self.printer_state in PRINTER_BLOCKING

    @property
    def can_issue(self) -> bool:
        return (self.hub_ok and not self.printer_blocked and self.hall_open
                and not self.refused)

    @property
    def blocked_screen(self) -> Screen | None:
        """The waiting screen to show instead of home, or None when tickets can be had.
        A refused hello beats everything, then the hall being closed (whatever else is
        wrong, a citizen cannot have a ticket before it opens), then a pause."""
        if self.refused:
            return "refused"
        if not self.hall_open:
            return "closed"
        return None if self.can_issue else "paused"

    def _settle(self) -> None:
        """After a status change: interrupt a citizen's screen for a waiting one, or
        leave a waiting screen for home (or for another waiting screen)."""
        if self.busy:
            return
        blocked = self.blocked_screen
        if blocked and self.screen in INTERACTIVE + WAITING:
            self.screen = blocked
        elif not blocked and self.screen in WAITING:
            self._home()
            self.message = None          # what made it wait is over: no stale error

    @property
    def pause_reason(self) -> str | None:
        """Why the kiosk issues nothing: "hub", a printer state, or None."""
        if not self.hub_ok:
            return "hub"
        if self.printer_blocked:
            return self.printer_state
        return None

    @property
    def ticket(self) -> dict[str, Any] | None:
        return (self.result or {}).get("ticket")

    def _home(self) -> None:
        self.screen = self.blocked_screen or "home"
        self.queue, self.code, self.touches, self.idle_s = None, "", 0, 0.0
        self._code_counted = False
        self.card, self.card_lookup = None, False   # the next citizen's card is theirs

    # ------------------------------------------------------------------ events

    def touch(self, target: str) -> list[Action]:
        """A touch on a button. Targets: quick, help, check_in, unit:ID, take, green,
        key:D, delete, submit, back, home, lang, large."""
        if self.busy or self.screen == "printing":
            return []                    # one touch, one ticket
        self.idle_s = 0.0
        if target == "lang":
            self.lang = "en" if self.lang == "zh" else "zh"
            return []
        if target == "large":
            self.large = not self.large
            return []
        if self.screen in WAITING:
            return []
        if target == "home" or (target == "back" and self.screen in ("units", "check_in",
                                                                     "done", "failed", "card")):
            self._home()
            self.message = None
            return []
        if target == "back" and self.screen == "confirm":
            self.touches += 1
            self.screen = "units" if self.queue in self.units else "home"
            if self.card is not None:
                self.screen = "card"
            if self.screen == "home":
                self._home()
            return []
        handler = getattr(self, f"_on_{self.screen}", None)
        return handler(target) if handler else []

    def _on_home(self, target: str) -> list[Action]:
        if target == "quick" and self.big_loop:
            self.touches += 1
            self.queue, self.screen, self.message = self.big_loop, "confirm", None
        elif target == "help" and self.units:
            self.touches += 1
            self.screen, self.message = "units", None
        elif target == "check_in":
            self.touches += 1
            self.screen, self.code, self.message = "check_in", "", None
        return []

    def _on_units(self, target: str) -> list[Action]:
        if target.startswith("unit:") and target[5:] in self.units:
            self.touches += 1
            self.queue, self.screen = target[5:], "confirm"
        return []

    def _on_confirm(self, target: str) -> list[Action]:
        if target not in ("take", "green") or self.queue is None:
            return []
        self.touches += 1
        if not self.can_issue:
            self._home()
            return []
        self.busy, self.screen, self.message = True, "printing", None
        args = {"queue": self.queue, "ticket_class": "green" if target == "green" else "normal"}
        if self.card is not None:
            args["id_card"] = self.card.number
        return [Action("issue", args)]

    def _on_check_in(self, target: str) -> list[Action]:
        if target.startswith("key:") and len(target) == 5 and target[4] in CODE_CHARS:
            if len(self.code) < CODE_MAX:
                if not self._code_counted:
                    self.touches += 1    # the whole code entry is one touch
                    self._code_counted = True
                self.code += target[4]
                self.message = None
        elif target == "delete":
            self.code = self.code[:-1]
        elif target == "submit" and self.code:
            self.touches += 1
            if not self.can_issue:
                self._home()
                return []
            self.busy, self.screen, self.message = True, "printing", None
            return [Action("check_in", {"code": self.code})]
        return []

    def reply(self, ok: bool, payload: dict[str, Any]) -> list[Action]:
        """The hub's reply to the issue_ticket / check_in this model asked for."""
        if not self.busy or self._card_reply(ok, payload):
            return []
        if ok:
            self.result = payload
            self.tickets_issued += 1
            return [Action("print", {"result": payload})]
        self.busy = False
        code = str(payload.get("code", "error"))
        self.message = code
        if code == "unavailable":
            self.hub_ok = False
        elif code == "hall_closed":      # the hub's clock says closed: believe it
            self.hall_open = False
        if self.code and code in ("unknown_appointment", "too_early", "too_late",
                                  "already_checked_in"):
            self.screen, self.code, self._code_counted = "check_in", "", False
            self.idle_s = 0.0
            return []
        message = self.message
        self._home()
        self.message = message
        return []

    def printed(self, ok: bool, state: str, error: str | None = None, *,
                unsure: bool = False) -> list[Action]:
        """The printer's result for the ticket: ``ok`` on paper; ``state`` is the
        printer's state after it (printers.status.State); ``unsure``: the ticket was
        sent but the printer never said whether it printed (a printer that does not
        answer status): the ticket is shown on screen, as for a failed print."""
        if not self.busy:
            return []
        self.busy, self.idle_s = False, 0.0
        actions = self.printer_status(state)
        self.print_unsure = not ok and unsure
        if ok:
            self.screen, self.print_error = "done", None
        else:
            self.screen, self.print_error = "failed", error or state
            status = _device_status(state)
            if status == "ok":           # it says ok, but the ticket did not print
                status = "error"
            self._reported = status
            actions = [Action("report", {"device": f"{self.device}/printer", "status": status,
                                         "detail": (error or state)[:200]})]
        return actions

    def printer_status(self, state: str, detail: str = "") -> list[Action]:
        """The printer's state from a status poll: pause while it cannot print, and
        tell the hub when it changes. "unknown" (no answer to DLE EOT) does not pause:
        tickets are still issued (shown on screen if the print fails) and the hub is
        told, as status "offline" with UNKNOWN_DETAIL, so staff go and look."""
        self.printer_state = state
        self._settle()
        status = _device_status(state)
        if status != self._reported and (self._reported is not None or status != "ok"):
            self._reported = status
            text = f"{UNKNOWN_DETAIL} ({detail})" if state == "unknown" and detail else (
                UNKNOWN_DETAIL if state == "unknown" else state)
            return [Action("report", {"device": f"{self.device}/printer", "status": status,
                                      "detail": text[:200]})]
        return []

    def hub_status(self, status: str) -> list[Action]:
        """The client's status: connected, connecting, disconnected, refused. A refused
        hello (bad token, unknown device) is permanent: the kiosk shows the staff
        screen until it is restarted with the right token."""
        self.hub_ok = status == "connected"
        self.refused = self.refused or status == "refused"
        self._settle()                   # busy: the client resends the command itself
        return []

    def hall_status(self, is_open: bool) -> list[Action]:
        """The hall's opening hours, by the hub's clock: closed shows 已停止取号."""
        self.hall_open = is_open
        self._settle()
        return []

    def tick(self, seconds: float) -> list[Action]:
        """The idle clock: a screen left alone goes back home, and the next citizen
        starts in Chinese first at the normal size, whatever the last one chose."""
        chosen = self.lang != self.default_lang or self.large != self.default_large
        if self.busy or self.screen in (*WAITING, "printing") or (
                self.screen == "home" and not chosen):
            return []
        self.idle_s += seconds
        limit = DONE_TIMEOUT_S if self.screen in ("done", "failed") else self.idle_timeout_s
        if self.idle_s >= limit:
            self._home()
            self.message = None
            self.lang, self.large = self.default_lang, self.default_large
        return []


def _device_status(state: str) -> str:
    return state if state in DEVICE_STATUSES else "offline"
