"""The kiosk's ID card screens and the reader's poller (kiosk/idcard.py, idcard_flow.py).

``CardPoller`` asks the reader for a card every ``every_s`` in a thread of its own and
tells the GUI thread, through Qt signals, of each card laid on it (once per card: a
card left lying there is not read twice), of a card whose number fails its check
digit, and of the reader going offline or coming back.

``CardScreens`` is mixed into KioskWindow: the ``card`` screen (张*三，您好 / Hello,
the queues to choose from) and the wiring of a poller to the model.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout

from .idcard import BadCard, IdCardError

POLL_S = 0.3            # a card is noticed within this long of being laid down
RETRY_S = 2.0           # a reader that failed is asked again after this long

CARD_TEXT: dict[str, tuple[str, str]] = {
    "card_hello": ("{name}，您好", "Hello, {name}"),
    "card_choose": ("请选择办理业务", "Choose a service"),
    "card_lookup": ("正在查询您的预约，请稍候…", "Looking for your appointment…"),
    "card_hint": ("可刷身份证取号", "Or place your ID card on the reader"),
    "checked_in": ("预约签到成功", "Appointment checked in"),
}
CARD_ERRORS: dict[str, tuple[str, str]] = {
    "bad_card": ("身份证校验未通过，请重新放置或咨询工作人员",
                 "The ID card did not read correctly; place it again or ask staff"),
    "bad_id_card": ("身份证校验未通过，请重新放置或咨询工作人员",
                    "The ID card did not read correctly; place it again or ask staff"),
    "card_too_early": ("您的预约还未到签到时间，可先取普通号",
                       "Check-in for your appointment has not opened; you may take a "
                       "normal ticket"),
    "card_too_late": ("您的预约签到时间已过，请取普通号",
                      "Your appointment's check-in has closed; please take a normal ticket"),
    "card_already_checked_in": ("您的预约已签到", "Your appointment is already checked in"),
    "card_not_authorized": ("您预约的业务不在本区办理，请到对应区域签到",
                            "Your appointment is for another zone; check in there"),
    "card_person_limit": ("您已持有该业务的等候号{numbers}，请留意叫号",
                          "You already hold a waiting ticket for this service{numbers_en}; "
                          "please wait for your call"),
}


class CardPoller(QObject):
    """Polls an IdCardReader (anything with ``read() -> IdCard | None``) off the GUI
    thread. Signals: ``cardRead(IdCard)``, ``cardRefused(str)`` (why),
    ``readerStatus(str, str)`` ("ok" or "offline", detail)."""

    cardRead = Signal(object)
    cardRefused = Signal(str)
    readerStatus = Signal(str, str)

    def __init__(self, reader: Any, every_s: float = POLL_S) -> None:
        super().__init__()
        self.reader, self.every_s = reader, every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="id-card-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(3)
        close = getattr(self.reader, "close", None)
        if close is not None:
            close()

    def _run(self) -> None:
        last: str | None = None      # the number on the reader now (not read twice)
        online = True
        while not self._stop.is_set():
            wait = self.every_s
            try:
                card = self.reader.read()
            except BadCard as exc:
                if last != "bad":
                    self.cardRefused.emit(str(exc))
                last = "bad"
            except IdCardError as exc:
                if online:
                    self.readerStatus.emit("offline", str(exc)[:200])
                online, last, wait = False, None, RETRY_S
                self._stop.wait(wait)
                continue
            else:
                if card is not None and card.number != last:
                    self.cardRead.emit(card)
                last = card.number if card is not None else None
            if not online:
                online = True
                self.readerStatus.emit("ok", "")
            self._stop.wait(wait)


class CardScreens:
    """KioskWindow's part for ID cards (the window's own attributes are used)."""

    model: Any
    device: str
    poller: CardPoller | None = None

    def attach_id_reader(self, poller: CardPoller) -> None:
        """Take cards from ``poller`` (started here, stopped with the window)."""
        self.poller = poller
        poller.cardRead.connect(self._on_card_read)
        poller.cardRefused.connect(self._on_card_refused)
        poller.readerStatus.connect(self._on_reader_status)
        poller.start()
        self.render()        # type: ignore[attr-defined]   # the home screen's card hint

    def _on_card_read(self, card: Any) -> None:
        self._apply(self.model.card_read(card))  # type: ignore[attr-defined]

    def _on_card_refused(self, why: str) -> None:
        self._apply(self.model.card_refused())  # type: ignore[attr-defined]

    def _on_reader_status(self, status: str, detail: str) -> None:
        from .model import Action

        self._apply([Action("report", {"device": f"{self.device}/idreader",  # type: ignore[attr-defined]
                                       "status": status, "detail": detail})])

    def _card_message(self) -> tuple[str, str] | None:
        code, card = self.model.message, self.model.card
        if not code or code not in CARD_ERRORS:
            return None
        zh, en = CARD_ERRORS[code]
        held = ", ".join(card.held) if card is not None else ""
        return (zh.format(numbers=f" {held}" if held else ""),
                en.format(numbers_en=f" ({held})" if held else ""))

    def _draw_card(self, layout: QVBoxLayout) -> None:
        w: Any = self
        card = self.model.card
        name = card.name if card is not None else ""
        zh, en = CARD_TEXT["card_hello"]
        hello = w.label(w.order((zh.format(name=name), en.format(name=name))), 64,
                        bold=True, color="#0b5cad")
        masked = w.label(card.masked if card is not None else "", 34, color="#3d4653")
        masked.setObjectName("masked_number")
        zh, en = CARD_TEXT["card_choose"]
        choose = w.label(w.order((zh, en)), 48, bold=True)
        # 16 queues need the room: the greeting and the masked number share one row (and
        # in landscape, 1080 px tall, the prompt too).
        head = QHBoxLayout()
        head.addWidget(hello)
        head.addWidget(masked)
        if w._landscape:
            head.addWidget(choose)
        layout.addLayout(head)
        message = self._card_message()
        if message:
            layout.addWidget(w.label(w.order(message), 38, bold=True, color="#b00020",
                                     ratio=0.8))
        if not w._landscape:
            layout.addWidget(choose)
        grid = QGridLayout()
        grid.setSpacing(w.px(18))
        cols = 4 if w._landscape else (3 if len(self.model.units) >= 10 else 2)
        targets = ([("quick", w.bi("quick"), [self.model.big_loop])]
                   if self.model.big_loop else [])
        targets += [(f"unit:{q}", w.queue_names(q), [q]) for q in self.model.units]
        for i, (target, title, queues) in enumerate(targets):
            kind = "primary" if target == "quick" else ""
            btn = w.button(target, title, w._waiting_line(queues), size=40, height=130,
                           kind=kind)
            grid.addWidget(btn, i // cols, i % cols)
        layout.addLayout(grid, 6)
        layout.addWidget(w.button("home", w.bi("home"), size=44, height=120))



#: the ID card screenshots: (name, screen, how the model is posed)
CARD_SHOTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("card", "card", {}),
    ("card-en", "card", {"lang": "en"}),
    ("card-large", "card", {"large": True}),
    ("card-limit", "card", {"message": "card_person_limit"}),
    ("card-too_early", "card", {"message": "card_too_early"}),
    ("lookup", "printing", {"card_lookup": True, "busy": True}),
    ("checked_in", "done", {}),
    ("bad", "home", {"message": "bad_card", "card": None}),
)


def card_screenshots(window: Any, prefix: str) -> list[Any]:
    """The ID card screens at both orientations, PREFIX-NAME-ORIENTATION.png, with a
    made-up card holder (张*三) and ticket; the model is restored afterwards."""
    from pathlib import Path

    from .app import SIZES

    saved = dict(vars(window.model))
    out: list[Path] = []
    try:
        for name, screen, pose in CARD_SHOTS:
            for orient, size in SIZES.items():
                vars(window.model).update(saved)
                pose_card(window, screen, pose)
                path = Path(f"{prefix}-{name}-{orient}.png")
                path.parent.mkdir(parents=True, exist_ok=True)
                window.screenshot(path, size)
                out.append(path)
    finally:
        vars(window.model).update(saved)
        window.render()
    return out


def pose_card(window: Any, screen: str, pose: dict[str, Any]) -> None:
    """Set the model up to show an ID card ``screen`` as its holder would see it."""
    from .idcard_flow import CardHolder

    model = window.model
    queue = model.big_loop or (model.units[0] if model.units else "")
    model.card = CardHolder("", "张*三", "3301**********1234", held=["B017"])
    model.screen, model.lang, model.large = screen, "zh", False
    model.result = {"ticket": {"id": "20261123-B017", "number": "B017", "queue": queue,
                               "ticket_class": "appointment"},
                    "status": {"ahead": 2, "expected_wait_s": 300.0}} \
        if screen == "done" else None
    model.message, model.hub_ok = None, True
    for key, value in pose.items():
        setattr(model, key, value)
