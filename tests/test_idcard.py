"""Second-generation ID cards: the reader driver against its pty double (kiosk/idcard.py),
the ID number's check digit and masks, the hub's keyed hash and its secret
(dispatcher/hub/identity.py), the core's per-person limit and check-in by card, the
kiosk's card flow (kiosk/idcard_flow.py) and the poller (kiosk/idcard_screen.py)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import hall_time
from tiny_hall import Driver

from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.errors import DispatchError
from dispatcher.hall import HallConfigError, parse_hall
from dispatcher.hub.identity import (
    Identity,
    IdentityError,
    check_char,
    load_secret,
    number_problem,
)
from kiosk.idcard import (
    BadCard,
    FakeIdReader,
    IdCard,
    IdCardError,
    IdCardReader,
    mask_name,
    mask_number,
    request,
)
from kiosk.idcard_flow import CardHolder
from kiosk.model import Action, KioskModel

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"0123456789abcdef0123456789abcdef-test-only"


def number(first17: str) -> str:
    return first17 + check_char(first17)


ZHANG = IdCard("张小三", "1", "01", "19800101", "浙江省杭州市西湖区文三路1号",
               number("33010619800101123"), "杭州市公安局西湖分局", "20200101", "20400101")


def wrong_check(good: str) -> str:
    return good[:17] + next(ch for ch in "0123456789X" if ch != good[17])


@pytest.fixture
def reader_pair() -> Any:
    fake = FakeIdReader()
    reader = IdCardReader(fake.path, timeout=0.5)
    yield fake, reader
    reader.close()
    fake.close()


# ------------------------------------------------------------------ frames and driver


def test_the_three_requests_are_the_published_frames() -> None:
    # GA 467 SAM frames as readers' public sample code sends them: preamble, length 3,
    # command and parameter, the XOR of length..parameter.
    assert request(0x20, 0x01).hex(" ") == "aa aa aa 96 69 00 03 20 01 22"
    assert request(0x20, 0x02).hex(" ") == "aa aa aa 96 69 00 03 20 02 21"
    assert request(0x30, 0x01).hex(" ") == "aa aa aa 96 69 00 03 30 01 32"


def test_a_card_on_the_reader_is_read_through_find_select_read(reader_pair: Any) -> None:
    fake, reader = reader_pair
    fake.place(ZHANG)
    card = reader.read()
    assert card is not None
    assert (card.name, card.number, card.sex, card.birth, card.address, card.valid_to) == (
        "张小三", ZHANG.number, "1", "19800101", "浙江省杭州市西湖区文三路1号", "20400101")
    assert [bytes(f[7:9]) for f in fake.requests] == [b"\x20\x01", b"\x20\x02", b"\x30\x01"]
    assert fake.rejected == []


def test_no_card_is_none_after_one_find(reader_pair: Any) -> None:
    fake, reader = reader_pair
    assert reader.read() is None
    assert [bytes(f[7:9]) for f in fake.requests] == [b"\x20\x01"]


def test_a_broken_checksum_is_an_error_not_a_card(reader_pair: Any) -> None:
    fake, reader = reader_pair
    fake.place(ZHANG)
    fake.state.corrupt = True
    with pytest.raises(IdCardError, match="bad checksum"):
        reader.read()
    fake.state.corrupt = False
    assert reader.read().number == ZHANG.number     # and it recovers


def test_a_reader_that_stops_answering_fails_within_its_timeout(reader_pair: Any) -> None:
    fake, reader = reader_pair
    fake.place(ZHANG)
    fake.state.mute = True
    started = time.monotonic()
    with pytest.raises(IdCardError, match=r"no answer within 0\.5 s"):
        reader.read()
    assert time.monotonic() - started < 2.0


def test_a_bad_check_digit_is_refused_without_echoing_the_number(reader_pair: Any) -> None:
    fake, reader = reader_pair
    bad = IdCard("张小三", "1", "01", "19800101", "x", wrong_check(ZHANG.number))
    fake.place(bad)
    with pytest.raises(BadCard) as info:
        reader.read()
    assert "check digit" in str(info.value) and bad.number not in str(info.value)


def test_a_port_that_does_not_exist_fails_with_one_line() -> None:
    with pytest.raises(IdCardError, match="cannot open"):
        IdCardReader("/dev/no-such-reader")


# ------------------------------------------------------------------ the number


@pytest.mark.parametrize(("text", "problem"), [
    ("11010519491231002X", None),                 # the standard's own example
    ("110105194912310021", "check digit"),
    ("11010519491231002x", "17 digits"),          # the hub upper-cases before it checks
    ("1101051949123100", "17 digits"),
    ("110105194902300024", "birth date"),         # 30 February (its check digit is right)
])
def test_the_check_digit_is_iso_7064_mod_11_2(text: str, problem: str | None) -> None:
    if problem == "birth date":
        text = number(text[:17])
    found = number_problem(text)
    assert (found is None) if problem is None else (problem in found)


def test_names_and_numbers_are_masked_everywhere_the_card_is_shown() -> None:
    assert mask_name("张小三") == "张*三" and mask_name("李四") == "李*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_number(ZHANG.number) == "3301**********" + ZHANG.number[-4:]
    assert repr(ZHANG) == f"IdCard(张*三, 3301**********{ZHANG.number[-4:]})"
    holder = CardHolder(ZHANG.number, ZHANG.masked_name, ZHANG.masked_number)
    assert ZHANG.number not in repr(holder) and "张小三" not in repr(holder)


# ------------------------------------------------------------------ the hub's hash


def test_the_hub_replaces_the_number_by_a_keyed_hash() -> None:
    identity = Identity(SECRET)
    args = identity.pseudonymize("issue_ticket", {"queue": "q1", "id_card": ZHANG.number})
    assert set(args) == {"queue", "person"} and len(args["person"]) == 32
    assert ZHANG.number not in args["person"]
    assert args["person"] == identity.person(ZHANG.number.lower())     # x or X: one person
    other = Identity(SECRET[::-1]).person(ZHANG.number)
    assert other != args["person"]           # another hall's secret: another pseudonym


def test_a_device_may_not_name_the_person_nor_send_a_bad_number() -> None:
    identity = Identity(SECRET)
    with pytest.raises(DispatchError) as info:
        identity.pseudonymize("issue_ticket", {"queue": "q1", "person": "ab" * 16})
    assert info.value.code == "bad_argument" and info.value.details["field"] == "person"
    bad = wrong_check(ZHANG.number)
    with pytest.raises(DispatchError) as info:
        identity.pseudonymize("check_in", {"id_card": bad})
    assert info.value.code == "bad_id_card" and bad not in str(info.value.to_dict())
    with pytest.raises(DispatchError) as info:
        identity.pseudonymize("cancel", {"ticket": "x", "id_card": ZHANG.number})
    assert info.value.code == "bad_argument"


def test_the_secret_is_made_once_for_the_hall_and_kept_private(tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    monkeypatch.delenv("ONEWINDOW_ID_SECRET", raising=False)
    first = load_secret(None, tmp_path / "data")
    path = tmp_path / "data" / "id-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 32
    assert load_secret(None, tmp_path / "data") == first            # kept across starts
    assert load_secret(None, tmp_path / "other") != first           # never a default
    path.chmod(0o644)
    with pytest.raises(IdentityError, match="chmod 600"):
        load_secret(None, tmp_path / "data")
    short = tmp_path / "short"
    short.write_text("tooshort")
    short.chmod(0o600)
    with pytest.raises(IdentityError, match="at least 32"):
        load_secret(str(short), tmp_path)
    monkeypatch.setenv("ONEWINDOW_ID_SECRET", SECRET.decode())
    assert load_secret(None, tmp_path / "data") == SECRET


def test_serve_with_a_missing_secret_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "serve", "--devices",
         "assets/halls/sample-devices.toml", "--data", str(tmp_path), "--port", "0",
         "--id-secret", str(tmp_path / "nope")],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: --id-secret {tmp_path / 'nope'}: cannot read it: No such file or directory"]


def test_the_limit_is_validated_in_the_hall_file() -> None:
    raw = _tiny_raw()
    raw["id_card"] = {"max_waiting_per_queue": 0}
    with pytest.raises(HallConfigError) as info:
        parse_hall(raw, "tiny.toml")
    assert str(info.value).startswith("tiny.toml: id_card.max_waiting_per_queue:")
    raw["id_card"] = {"max_waiting_per_queue": 2}
    assert parse_hall(raw, "tiny.toml").id_card_max_waiting == 2


def _tiny_raw() -> dict[str, Any]:
    import tiny_hall as th

    captured: dict[str, Any] = {}
    real = th.parse_hall
    th.parse_hall = lambda raw, source: captured.setdefault("raw", raw) and real(raw, source)
    try:
        th.tiny_hall()
    finally:
        th.parse_hall = real
    return captured["raw"]


# ------------------------------------------------------------------ the core's rules


ME, YOU = "a" * 32, "b" * 32


def test_one_person_holds_one_waiting_ticket_per_queue() -> None:
    h = Driver()
    h.do(c.OpenWindow("W1"))
    first = h.do(c.IssueTicket("q1", person=ME))[-1]
    assert first.person == ME and h.core.state.holders[first.ticket] == ME
    refused = h.rejects(c.IssueTicket("q1", person=ME), "person_limit")
    assert refused.details["numbers"] == [first.number]
    h.do(c.IssueTicket("q2", person=ME))          # another queue
    h.do(c.IssueTicket("q1", person=YOU))         # another person
    h.do(c.IssueTicket("q1"))                     # no card: no limit
    h.call("W1")                                  # the first is called: no longer waiting
    h.do(c.IssueTicket("q1", person=ME))


def test_the_hall_file_sets_how_many() -> None:
    raw = _tiny_raw()
    raw["id_card"] = {"max_waiting_per_queue": 2}
    h = Driver(parse_hall(raw, "tiny.toml"))
    h.do(c.IssueTicket("q1", person=ME))
    h.do(c.IssueTicket("q1", person=ME))
    h.rejects(c.IssueTicket("q1", person=ME), "person_limit")


def test_check_in_by_card_finds_the_appointment_booked_with_it() -> None:
    h = Driver(start="08:00")
    start = hall_time(h.core.hall, "10:00")
    h.do(c.BookAppointment("YY-1", "q2", start, start + 1800, person=ME))
    h.do(c.BookAppointment("YY-2", "q2", start + 7200, start + 9000, person=ME))
    h.rejects(c.CheckIn(person=YOU), "unknown_appointment")
    h.rejects(c.CheckIn(person=ME), "too_early")
    h.rejects(c.CheckIn(), "bad_argument")
    h.rejects(c.CheckIn("YY-1", person=ME), "bad_argument")
    h.now = hall_time(h.core.hall, "09:45")
    issued, checked = h.do(c.CheckIn(person=ME), after=0)
    assert checked == ev.AppointmentCheckedIn(at=h.now, code="YY-1", ticket=issued.ticket)
    assert issued.ticket_class == "appointment" and issued.person == ME
    h.rejects(c.CheckIn(person=ME), "too_early")          # the 12:00 one is not open yet
    h.now = hall_time(h.core.hall, "11:45")
    h.rejects(c.CheckIn(person=ME), "person_limit")        # still waiting with the first


# ------------------------------------------------------------------ the kiosk's flow


HALL = {"queues": {"quick_b": {"name": "马上办", "kind": "big_loop", "zones": ["B"]},
                   "tax": {"name": "税务服务", "kind": "unit", "zones": ["B"]}}}


def ready() -> KioskModel:
    model = KioskModel("K-B1")
    model.set_layout(HALL, "B")
    model.hub_status("connected")
    return model


def test_a_card_with_no_appointment_takes_a_ticket_in_three_acts() -> None:
    m = ready()
    assert m.card_read(ZHANG) == [Action("check_in", {"id_card": ZHANG.number})]
    assert (m.screen, m.busy, m.card_lookup) == ("printing", True, True)
    assert m.touch("quick") == []                              # busy: ignored
    m.reply(False, {"code": "unknown_appointment"})
    assert (m.screen, m.message, m.card.name) == ("card", None, "张*三")
    m.touch("unit:tax")
    assert m.screen == "confirm"
    assert m.touch("take") == [Action("issue", {"queue": "tax", "ticket_class": "normal",
                                                "id_card": ZHANG.number})]
    assert m.touches == 3
    m.reply(False, {"code": "person_limit", "numbers": ["S003"]})
    assert (m.screen, m.message, m.card.held) == ("card", "card_person_limit", ["S003"])
    m.touch("home")
    assert m.card is None and m.screen == "home"               # the card is forgotten


def test_a_card_with_an_appointment_prints_at_once_and_a_bad_card_is_told() -> None:
    m = ready()
    m.card_read(ZHANG)
    actions = m.reply(True, {"ticket": {"number": "S001", "queue": "tax",
                                        "ticket_class": "appointment"}})
    assert actions[0].kind == "print" and m.touches == 1
    assert m.card_read(ZHANG) == []                            # busy printing
    m.printed(True, "ok")
    m.touch("home")
    m.card_refused()
    assert (m.screen, m.message) == ("home", "bad_card")
    m.hub_status("disconnected")
    assert m.card_read(ZHANG) == [] and m.card is None         # paused: nothing is sent


def test_the_poller_reports_each_card_once_and_a_dead_reader(qtbot: Any) -> None:
    from kiosk.idcard_screen import CardPoller

    with FakeIdReader() as fake:
        poller = CardPoller(IdCardReader(fake.path, timeout=0.3), every_s=0.05)
        seen: list[Any] = []
        refused: list[str] = []
        status: list[tuple[str, str]] = []
        poller.cardRead.connect(seen.append)
        poller.cardRefused.connect(refused.append)
        poller.readerStatus.connect(lambda s, d: status.append((s, d)))
        poller.start()
        try:
            fake.place(ZHANG)
            qtbot.waitUntil(lambda: len(seen) == 1, timeout=3000)
            qtbot.wait(300)
            assert len(seen) == 1                    # lying there: not read again
            fake.remove()
            qtbot.wait(200)
            fake.place(ZHANG)
            qtbot.waitUntil(lambda: len(seen) == 2, timeout=3000)
            fake.place(IdCard("张小三", "1", "01", "19800101", "x",
                              wrong_check(ZHANG.number)))
            qtbot.waitUntil(lambda: len(refused) == 1, timeout=3000)
            fake.state.mute = True
            qtbot.waitUntil(lambda: status[:1] == [("offline", status[0][1])] if status
                            else False, timeout=3000)
            assert "no answer" in status[0][1]
            fake.state.mute = False
            qtbot.waitUntil(lambda: ("ok", "") in status, timeout=5000)
        finally:
            poller.stop()


# ------------------------------------------------------------------ the kiosk's command line


def kiosk_args(extra: list[str]) -> Any:
    import argparse

    from kiosk.cli import register

    parser = argparse.ArgumentParser(prog="onewindow")
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["kiosk", "--server", "ws://127.0.0.1:1", "--device", "K-B1",
                              "--printer", "virtual://idcard-cli", *extra])


def test_a_reader_port_that_does_not_open_stops_the_kiosk_with_one_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = kiosk_args(["--id-reader", "/dev/no-such-reader"])
    assert args.handler(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ID card reader /dev/no-such-reader: "
                                               "cannot open")


def test_the_reader_in_the_kiosk_config_is_validated(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from kiosk.cli import settings

    conf = tmp_path / "k.toml"
    conf.write_text('[id_reader]\nport = "/dev/ttyUSB1"\n')
    assert settings(kiosk_args(["--config", str(conf)]))["id_reader"] == "/dev/ttyUSB1"
    assert settings(kiosk_args(["--config", str(conf), "--id-reader", "/dev/ttyS0"])
                    )["id_reader"] == "/dev/ttyS0"
    conf.write_text('[id_reader]\nport = "/dev/ttyUSB1"\nbaudrate = 1234\n')
    args = kiosk_args(["--config", str(conf)])
    assert args.handler(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {conf}: id_reader.baudrate: ")


def test_a_refusal_by_card_does_not_name_the_booking_code() -> None:
    h = Driver(start="09:00")
    start = hall_time(h.core.hall, "10:00")
    h.do(c.BookAppointment("YY-SECRET", "q2", start, start + 1800, person=ME))
    for code in ("too_early", "already_checked_in"):
        if code == "already_checked_in":
            h.now = hall_time(h.core.hall, "09:50")
            h.do(c.CheckIn(person=ME), after=0)
        refused = h.rejects(c.CheckIn(person=ME), code)
        assert "YY-SECRET" not in str(refused.to_dict()), refused.to_dict()
