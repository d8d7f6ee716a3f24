"""身份证取号 end to end: an ID card laid on the reader double (a pty pair speaking the
SAM reader's frames), read by the real driver, at a real kiosk widget against a real
`onewindow serve` subprocess, checks in the appointment booked with that card; a
second waiting ticket by the same card is refused with a clear message; and then no
full name or ID number is anywhere: the SQLite store, the hub's log, the frames every
role received, the printed ticket's bytes."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import hall_time
from hub_process import FAST, QUIET, HubProcess, RawClient, sample_token
from PySide6.QtWidgets import QLabel
from websockets.asyncio.client import connect

from dispatcher.client.qt import QtHubClient
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.hub.identity import Identity, check_char
from kiosk.app import KioskWindow
from kiosk.idcard import FakeIdReader, IdCard, IdCardReader
from kiosk.idcard_screen import CardPoller
from printers import Printer
from printers.sim import Session, forget_virtual, virtual_printer

pytestmark = pytest.mark.slow

NAME, ADDRESS = "张小三", "浙江省杭州市西湖区文三路1号"
NUMBER = "33010619800101123" + check_char("33010619800101123")
CARD = IdCard(NAME, "1", "01", "19800101", ADDRESS, NUMBER, "杭州市公安局西湖分局",
              "20200101", "20400101")
#: every device role, and one device of it, that listens to the hub through the test
OBSERVERS = (("kiosk", "K-B3"), ("display", "D-B"), ("display", "D-HALL"), ("led", "LED-1"),
             ("caller", "C-B01"), ("evaluator", "E-B01"), ("console", "CONSOLE-2"))


def encodings(text: str) -> list[bytes]:
    """``text`` as a program could store or send it."""
    out = [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be"),
           json.dumps(text).strip('"').encode()]
    if not text.isascii():
        out.append(text.encode("gb18030"))
    return out


NEEDLES = {"name": encodings(NAME), "number": encodings(NUMBER),
           "number without its check digit": encodings(NUMBER[:17]),
           "address": encodings(ADDRESS)}


def leaks(blob: bytes) -> list[str]:
    return [what for what, forms in NEEDLES.items() if any(f in blob for f in forms)]


class Observers:
    """A raw websocket per role, in a thread of its own, keeping every frame's text."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.frames: dict[str, list[str]] = {device: [] for _, device in OBSERVERS}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._all()), daemon=True)

    def __enter__(self) -> Observers:
        self._thread.start()
        assert self._ready.wait(30), "the observers did not all get their welcome"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _all(self) -> None:
        sockets = await asyncio.gather(*(self._hello(role, device)
                                         for role, device in OBSERVERS))
        self._ready.set()
        await asyncio.gather(*(self._listen(ws, device)
                               for ws, (_, device) in zip(sockets, OBSERVERS, strict=True)))

    async def _hello(self, role: str, device: str) -> Any:
        ws = await connect(self.url, max_size=2**24)
        await ws.send(json.dumps({"type": "hello", "role": role, "device": device,
                                  "token": sample_token(device), "last_seq": None}))
        self.frames[device].append(await ws.recv())
        if role == "console":
            await ws.send(json.dumps({"type": "command", "id": "in", "name": "staff_sign_in",
                                      "args": {"staff": "staff-002", "pin": "9002"}}))
        return ws

    async def _listen(self, ws: Any, device: str) -> None:
        async with ws:
            while not self._stop.is_set():
                try:
                    self.frames[device].append(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue

    def names(self, device: str) -> list[str]:
        return [json.loads(f).get("name", "") for f in self.frames[device]]


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every byte the kiosk sends its (virtual) ticket printer."""
    seen: list[bytes] = []
    real = Session.receive

    def receive(self: Session, data: bytes) -> bytes:
        seen.append(bytes(data))
        return real(self, data)

    monkeypatch.setattr(Session, "receive", receive)
    return seen


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    secret = tmp_path / "id-secret"
    secret.write_text(secrets.token_hex(32))
    secret.chmod(0o600)
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}",
                    extra=[*QUIET, "--id-secret", str(secret)]) as live:
        yield live


async def book(url: str) -> dict[str, Any]:
    """The console books today's 09:45 slot of 马上办 B with the citizen's ID card."""
    console = await RawClient.hello(url, "console", "CONSOLE-1")
    start = hall_time(load_hall(SAMPLE_HALL), "09:45")
    reply = await console.command("book_appointment", code="YY-0100", queue="quick_b",
                                  slot_start=start, slot_end=start + 1800, id_card=NUMBER)
    await console.close()
    return reply


async def kiosk_tries(url: str) -> list[dict[str, Any]]:
    """Another kiosk, by hand: the same card again, and a card with a wrong check digit."""
    kiosk = await RawClient.hello(url, "kiosk", "K-B2")
    bad = NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1")
    out = [await kiosk.command("issue_ticket", queue="quick_b", id_card=NUMBER),
           await kiosk.command("check_in", id_card=bad),
           await kiosk.command("issue_ticket", queue="quick_b", person="f" * 32)]
    await kiosk.close()
    return out


def test_an_id_card_checks_in_and_is_never_seen_in_full(qtbot: Any, hub: HubProcess,
                                                         tmp_path: Path,
                                                         printed: list[bytes]) -> None:
    assert asyncio.run(book(hub.url))["ok"]
    name = f"kiosk-idcard-{uuid.uuid4().hex[:8]}"
    vp = virtual_printer(name)
    client = QtHubClient(hub.url, "kiosk", "K-B1", sample_token("K-B1"), **FAST)
    window = KioskWindow(client, Printer(f"virtual://{name}"), "K-B1", poll_printer_s=0.2)
    window.resize(1080, 1920)
    qtbot.addWidget(window)
    fake = FakeIdReader()
    poller = CardPoller(IdCardReader(fake.path, timeout=0.5), every_s=0.1)
    model = window.model

    def texts() -> str:
        return "\n".join(label.text() for label in window.findChildren(QLabel))

    with Observers(hub.url) as observers:
        try:
            client.start()
            qtbot.waitUntil(lambda: model.screen == "home", timeout=10000)
            window.attach_id_reader(poller)
            assert "可刷身份证取号" in texts()

            # A card whose number fails its check digit: told so, nothing sent.
            wrong = NUMBER[:17] + ("0" if NUMBER[17] != "0" else "1")
            fake.place(IdCard(NAME, "1", "01", "19800101", ADDRESS, wrong))
            qtbot.waitUntil(lambda: model.message == "bad_card", timeout=5000)
            assert "身份证校验未通过，请重新放置或咨询工作人员" in texts()
            assert "The ID card did not read correctly" in texts() and window.sent == []
            fake.remove()
            qtbot.wait(300)

            # The card on the reader: the appointment is found and checked in.
            fake.place(CARD)
            qtbot.waitUntil(lambda: model.screen == "done", timeout=10000)
            ticket = model.ticket
            assert (ticket["queue"], ticket["ticket_class"]) == ("quick_b", "appointment")
            assert "预约签到成功" in texts() and "请取票" in texts()
            assert model.touches == 1 and len(vp.tickets) == 1
            assert ticket["number"] in vp.tickets[0].text
            qtbot.waitUntil(lambda: "appointment_checked_in" in observers.names("CONSOLE-2"),
                            timeout=5000)

            # The same card again, for the same queue: refused, and told why.
            window.buttons["home"].click()
            fake.remove()
            qtbot.wait(400)
            fake.place(CARD)
            qtbot.waitUntil(lambda: model.screen == "card", timeout=10000)
            assert model.message == "card_already_checked_in"
            assert "张*三，您好" in texts() and "Hello, 张*三" in texts()
            assert f"3301**********{NUMBER[-4:]}" in texts()
            waiting = client.view.waiting.get("quick_b", 0)
            window.buttons["quick"].click()
            window.buttons["take"].click()
            qtbot.waitUntil(lambda: model.message == "card_person_limit", timeout=10000)
            assert model.screen == "card" and model.touches == 3
            assert f"您已持有该业务的等候号 {ticket['number']}，请留意叫号" in texts()
            assert "You already hold a waiting ticket for this service" in texts()
            assert len(vp.tickets) == 1 and client.view.waiting.get("quick_b", 0) == waiting

            again, bad, named = asyncio.run(kiosk_tries(hub.url))
            assert again["error"]["code"] == "person_limit"
            assert again["error"]["numbers"] == [ticket["number"]]
            assert bad["error"]["code"] == "bad_id_card"
            assert "check digit" in bad["error"]["message"]
            assert (named["error"]["code"], named["error"]["field"]) == ("bad_argument",
                                                                         "person")
            replies = json.dumps([again, bad, named], ensure_ascii=False).encode()
            window.buttons["home"].click()
            assert model.card is None

            # A reader that stops answering is reported, for dispatch staff to see.
            fake.state.mute = True
            qtbot.waitUntil(lambda: any(
                json.loads(f).get("data", {}).get("device") == "K-B1/idreader"
                and json.loads(f)["data"].get("status") == "offline"
                for f in observers.frames["CONSOLE-2"]), timeout=10000)
        finally:
            poller.stop()
            fake.close()
            client.close(timeout=2)
            forget_virtual(name)
    assert hub.stop() == 0

    # Nothing holds the name or the number: not the store, not the log, no device.
    store = b"".join(p.read_bytes() for p in tmp_path.glob("hall.db*"))
    assert b"appointment_checked_in" in store and b"YY-0100" in store   # it was written
    person = Identity((tmp_path / "id-secret").read_bytes().strip()).person(NUMBER)
    assert person.encode() in store            # the keyed hash is what the store keeps
    assert leaks(store) == []
    assert leaks(hub.log_text().encode()) == []
    for device, frames in observers.frames.items():
        assert len(frames) > 1, device
        assert leaks("\n".join(frames).encode()) == [], device
        assert person not in "".join(frames), device     # not even the hash leaves the hub
    assert leaks(replies) == []
    assert printed and leaks(b"".join(printed)) == []
    # ... and the search would have found them: the card's own text holds them all.
    assert sorted(leaks(CARD.text_block() + NUMBER.encode() + NAME.encode("gb18030"))) == \
        sorted(NEEDLES)


def test_every_id_card_screen_is_whole_and_has_aa_contrast(qtbot: Any, hub: HubProcess,
                                                            tmp_path: Path) -> None:
    """As test_kiosk's check of the other screens: every button's words fit it, every
    label is at least 4.5:1 against its background, on the rendered PNG."""
    from PIL import Image
    from screen_contrast import AA, measure

    from dispatcher.client.touch import BigButton, _metrics
    from kiosk.app import SIZES
    from kiosk.idcard_screen import CARD_SHOTS, pose_card

    client = QtHubClient(hub.url, "kiosk", "K-B1", sample_token("K-B1"), **FAST)
    window = KioskWindow(client, Printer("virtual://idcard-shots"), "K-B1")
    qtbot.addWidget(window)
    client.start()
    try:
        qtbot.waitUntil(lambda: window.model.screen == "home", timeout=10000)
        saved = dict(vars(window.model))
        bad, measured = [], 0
        for name, screen, pose in CARD_SHOTS:
            for orient, size in SIZES.items():
                vars(window.model).update(saved)
                pose_card(window, screen, pose)
                path = tmp_path / f"{name}-{orient}.png"
                window.screenshot(path, size)
                image = Image.open(path)
                for btn in window._page.findChildren(BigButton):
                    label, sizes = btn.text_label, btn._sizes(btn.title_px)
                    widest = max(_metrics(px, bold).horizontalAdvance(text) for
                                 (text, _, bold), px in zip(btn.lines, sizes, strict=True))
                    if label.heightForWidth(label.width()) > label.height() \
                            or widest > label.width():
                        bad.append((name, orient, btn.property("target"), "cut"))
                for lab in window._page.findChildren(QLabel):
                    if not lab.isVisibleTo(window) or not (lab.text() or "").strip():
                        continue
                    corner = lab.mapTo(window, lab.rect().topLeft())
                    contrast, _, _ = measure(image, (corner.x() + 2, corner.y() + 2,
                                                     lab.width() - 4, lab.height() - 4))
                    measured += 1
                    if contrast < AA:
                        bad.append((name, orient, lab.text()[:40], round(contrast, 2)))
        assert measured > 100 and not bad, sorted({(b[0], b[1], b[3]) for b in bad})
    finally:
        client.close(timeout=2)
        forget_virtual("idcard-shots")
