"""The kiosk's ID card path (身份证取号), as part of the kiosk model (kiosk/model.py).

    card on the reader ──▶ printing ("正在查询预约") ──check_in {id_card}──▶
        ├─ an appointment of this card, check-in open: the ticket prints (done)
        └─ none (or too early / too late / already in): card ──queue──▶ confirm ──取号──▶ …

So a walk-in takes three acts: the card, the queue, 取号; an appointment one: the
card. The card counts as the first touch. The ticket is asked for with the card's
number in ``id_card``: the hub hashes it, checks the hall's limit of waiting tickets
per person and queue (``person_limit``) and keeps only the hash.

What the model keeps of the card is ``CardHolder``: the number (to send, and only
while this citizen is at the kiosk: going home forgets it) and the masked name and
number to greet them with. Its repr is masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .model import Action

#: the check-in answers after which a card holder chooses a queue instead
NO_CHECK_IN = ("unknown_appointment", "too_early", "too_late", "already_checked_in",
               "person_limit", "not_authorized")


class ReadCard(Protocol):
    number: str

    @property
    def masked_name(self) -> str: ...

    @property
    def masked_number(self) -> str: ...


@dataclass(repr=False)
class CardHolder:
    """The citizen whose card was read: the full number only to send to the hub."""

    number: str
    name: str                   # masked: 张*三
    masked: str                 # 3301**********1234
    held: list[str] = field(default_factory=list)   # numbers held (after person_limit)

    def __repr__(self) -> str:
        return f"CardHolder({self.name}, {self.masked})"


class CardFlow:
    """Mixed into KioskModel: the card's events and the ``card`` screen's touches."""

    if TYPE_CHECKING:       # KioskModel's fields and methods, which these use
        card: CardHolder | None
        card_lookup: bool
        busy: bool
        screen: Any
        queue: str | None
        touches: int
        idle_s: float
        message: str | None
        big_loop: str | None
        units: list[str]
        can_issue: bool

        def _home(self) -> None: ...

    def card_read(self, card: ReadCard) -> list[Action]:
        """A card lies on the reader: look for its appointment (the hub checks it in)."""
        from .model import WAITING, Action

        if self.busy or self.screen in (*WAITING, "printing") or not self.can_issue:
            return []
        self._home()
        self.card = CardHolder(card.number, card.masked_name, card.masked_number)
        self.touches, self.message = 1, None
        self.busy, self.screen, self.card_lookup = True, "printing", True
        return [Action("check_in", {"id_card": card.number})]

    def card_refused(self) -> list[Action]:
        """The reader read a card whose number cannot be right (a bad check digit)."""
        from .model import WAITING

        if self.busy or self.screen in (*WAITING, "printing"):
            return []
        self._home()
        self.message = "bad_card"
        return []

    def _card_reply(self, ok: bool, payload: dict[str, Any]) -> bool:
        """The hub's answer to the card's check-in or ticket; True when handled here
        (the card holder goes on to choose a queue, told why)."""
        lookup, self.card_lookup = self.card_lookup, False
        code = str(payload.get("code", ""))
        if ok or self.card is None or code not in NO_CHECK_IN:
            return False
        if not lookup and code != "person_limit":
            return False
        self.busy, self.idle_s = False, 0.0
        self.card.held = [str(n) for n in payload.get("numbers", ())]
        self.message = None if code == "unknown_appointment" else f"card_{code}"
        self.screen, self.queue = "card", None
        return True

    def _on_card(self, target: str) -> list[Action]:
        if target == "quick" and self.big_loop:
            self.queue = self.big_loop
        elif target.startswith("unit:") and target[5:] in self.units:
            self.queue = target[5:]
        else:
            return []
        self.touches += 1
        self.screen, self.message = "confirm", None
        return []
