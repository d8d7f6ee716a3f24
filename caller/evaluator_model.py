"""The 好差评 evaluation screen's flow, with no Qt in it.

``EvaluatorModel`` is what the citizen-facing screen at a window shows and what it
sends. caller/evaluator.py draws it and feeds it the hub's events, replies and
touches; tests/test_evaluator_model.py drives it with no screen and no hub.

Screens::

    idle ──service finished here──▶ rating ──level 3–5──────────────▶ sending
                                      │  ▲                               │
                                 level 1–2  back                     hub replies
                                      ▼  │                               ▼
                                    reason ──a reason, or skip──▶ sending ──▶ thanks ─▶ idle
                                                                  (already_evaluated: already)

* Nothing is shown as done before the hub confirms: ``sending`` until the reply.
* ``timeout_s`` with no touch on ``rating``/``reason`` goes back to idle, sending nothing.
* ``thanks``, ``already`` and ``failed`` stay ``message_s``, then idle.
* While the hub is not connected the screen shows ``offline`` and a touch sends
  nothing; a rating in progress is dropped (a reply still on its way is kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: level → (Chinese, English), best first: the order of the buttons
LEVELS: dict[int, tuple[str, str]] = {
    5: ("非常满意", "Very satisfied"),
    4: ("满意", "Satisfied"),
    3: ("基本满意", "Fairly satisfied"),
    2: ("不满意", "Dissatisfied"),
    1: ("非常不满意", "Very dissatisfied"),
}
LOW_LEVEL = 2                  # a rating this low or lower may take a reason

#: reason key → (Chinese, English); the text sent is "中文 / English"
REASONS: dict[str, tuple[str, str]] = {
    "long_wait": ("等候时间长", "Long wait"),
    "unfriendly": ("态度不好", "Unfriendly"),
    "not_resolved": ("办理不成功", "Not resolved"),
    "come_back": ("多次跑腿", "Had to come back"),
    "other": ("其他", "Other"),
}
MAX_REASON = 200               # the hub's limit on ``reason``

#: hub refusals worth another tap (nothing was recorded, the hub may answer next time)
RETRY_CODES = frozenset({"unavailable", "timeout", "rate_limited", "store_failed",
                         "client_error"})

SCREENS = ("idle", "rating", "reason", "sending", "thanks", "already", "failed", "offline")


def reason_text(key: str) -> str:
    zh, en = REASONS[key]
    return f"{zh} / {en}"[:MAX_REASON]


def evaluate_args(ticket: str, level: int, reason: str = "") -> dict[str, Any]:
    """The ``evaluate`` command's args; ``reason`` only when there is one, so a hub
    that does not know the argument still takes a plain rating."""
    args: dict[str, Any] = {"ticket": ticket, "level": level}
    if reason:
        args["reason"] = reason[:MAX_REASON]
    return args


def finished_here(name: str, data: dict[str, Any], window: str,
                  ticket_view: dict[str, Any] | None) -> str | None:
    """The ticket whose service at ``window`` this event finished, else None.

    ``ticket_view`` is the ticket as the event's ``changes`` left it (None when the
    device's view keeps no tickets, as an evaluator's does not): when known it must
    be done and served by ``window``."""
    if name != "service_finished" or data.get("window") != window:
        return None
    ticket = data.get("ticket")
    if not isinstance(ticket, str) or not ticket:
        return None
    if ticket_view is not None and (ticket_view.get("state") != "done"
                                    or ticket_view.get("served_by") != window):
        return None
    return ticket


@dataclass(frozen=True)
class Send:
    """A command for the hub."""

    name: str
    args: dict[str, Any]


@dataclass
class EvaluatorModel:
    window: str
    timeout_s: float = 30.0
    message_s: float = 5.0
    screen: str = "idle"
    connected: bool = False
    ticket: str | None = None          # the service being rated
    number: str = ""
    level: int | None = None
    reason: str = ""
    retry: bool = False                # the last send failed in a way worth another tap
    deadline: float | None = None      # when the current screen goes back to idle
    next_up: tuple[str, str] | None = None   # a service finished while a rating was sent
    sent: list[Send] = field(default_factory=list)

    # ------------------------------------------------------------ what is shown

    @property
    def shown(self) -> str:
        """The screen on display: ``offline`` whenever the hub is not connected."""
        return self.screen if self.connected else "offline"

    # ------------------------------------------------------------ events in

    def hub_status(self, connected: bool, now: float) -> None:
        self.connected = connected
        if not connected and self.screen in ("rating", "reason"):
            self._idle()

    def service_finished(self, ticket: str, number: str, now: float) -> None:
        """The hub says the service of ``ticket`` at this window has ended."""
        if self.screen == "sending":
            self.next_up = (ticket, number)
            return
        self._start(ticket, number, now)

    def rated_elsewhere(self, ticket: str, now: float) -> None:
        """A ``ticket_evaluated`` for ``ticket`` that this screen did not send."""
        if ticket == self.ticket and self.screen in ("rating", "reason"):
            self._show("already", now)

    def touch(self, target: str, now: float) -> Send | None:
        """A tap: ``level:N``, ``reason:KEY``, ``skip`` or ``back``. Returns the command
        to send, if any; nothing is sent while disconnected or on a screen without it."""
        if not self.connected or self.ticket is None:
            return None
        kind, _, value = target.partition(":")
        if self.screen == "rating" and kind == "level" and value.isdigit() \
                and int(value) in LEVELS:
            return self._pick_level(int(value), now)
        if self.screen == "reason":
            if kind == "reason" and value in REASONS:
                return self._send(reason_text(value))
            if kind == "skip":
                return self._send("")
            if kind == "back":
                self.screen, self.level = "rating", None
                self.deadline = now + self.timeout_s
        return None

    def reply(self, ok: bool, payload: dict[str, Any], now: float) -> None:
        """The hub's answer to the evaluate sent."""
        if self.screen != "sending":
            return
        code = "" if ok else str(payload.get("code", ""))
        if ok:
            self._show("thanks", now)
        elif code == "already_evaluated":
            self._show("already", now)
        elif code in RETRY_CODES and self.connected:
            self.screen, self.retry = "rating", True
            self.level, self.reason = None, ""
            self.deadline = now + self.timeout_s
        else:
            self._show("failed", now)

    def tick(self, now: float) -> None:
        """Time passing: a screen whose time is up goes back to idle."""
        if self.deadline is not None and now >= self.deadline:
            self._idle()
            if self.next_up is not None:
                ticket, number = self.next_up
                self.next_up = None
                self._start(ticket, number, now)

    # ------------------------------------------------------------ inside

    def _start(self, ticket: str, number: str, now: float) -> None:
        self.screen, self.ticket, self.number = "rating", ticket, number
        self.level, self.reason, self.retry = None, "", False
        self.deadline = now + self.timeout_s

    def _pick_level(self, level: int, now: float) -> Send | None:
        self.level, self.retry = level, False
        if level <= LOW_LEVEL:
            self.screen = "reason"
            self.deadline = now + self.timeout_s
            return None
        return self._send("")

    def _send(self, reason: str) -> Send:
        assert self.ticket is not None and self.level is not None
        self.reason, self.screen, self.deadline = reason, "sending", None
        command = Send("evaluate", evaluate_args(self.ticket, self.level, reason))
        self.sent.append(command)
        return command

    def _show(self, screen: str, now: float) -> None:
        self.screen, self.deadline = screen, now + self.message_s

    def _idle(self) -> None:
        self.screen, self.ticket, self.number = "idle", None, ""
        self.level, self.reason, self.retry, self.deadline = None, "", False, None
