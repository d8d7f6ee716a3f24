"""Notices (公告, the scrolling line on the wall displays) and device reports (a kiosk's
printer out of paper, an LED strip offline), as staff and displays see them."""

from __future__ import annotations

import pytest
from conftest import hall_time
from tiny_hall import Driver

from dispatcher.core import DeviceStatus, Dispatcher, DispatchError
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.commands import command_from_dict
from dispatcher.hall import Hall


@pytest.fixture
def hall(sample_hall: Hall) -> Driver:
    h = Driver(sample_hall, start="08:30")
    h.do(c.OpenWindow("B01"))  # the day is open: commands below give only their own events
    return h


def next_morning(h: Driver) -> None:
    h.now = hall_time(h.core.hall, "08:30", day="2026-11-24")


# ---------------------------------------------------------------- notices


def test_a_notice_for_the_hall_and_one_for_a_zone(hall: Driver) -> None:
    posted = hall.do(c.PostNotice("今日下午三点系统维护 System maintenance at 15:00"))
    assert posted == [ev.NoticePosted(at=hall.now, text=posted[0].text, zone=None)]
    hall.do(c.PostNotice("B区公积金窗口暂停受理", zone="B"))
    assert hall.core.state.notices == {
        "": "今日下午三点系统维护 System maintenance at 15:00", "B": "B区公积金窗口暂停受理"}


def test_a_new_notice_replaces_the_old_and_empty_text_takes_it_down(hall: Driver) -> None:
    hall.do(c.PostNotice("first"))
    hall.do(c.PostNotice("zone A only", zone="A"))
    hall.do(c.PostNotice("second"))
    assert hall.core.state.notices == {"": "second", "A": "zone A only"}
    hall.do(c.PostNotice(""))
    assert hall.core.state.notices == {"A": "zone A only"}
    hall.do(c.PostNotice("   ", zone="A"))           # blank is empty, not a blank banner
    assert hall.core.state.notices == {}


def test_bad_notices_are_refused(hall: Driver) -> None:
    hall.do(c.PostNotice("x" * 200))
    for text, zone, field in (("x" * 201, None, "text"), ("hello", "C", "zone")):
        refused = hall.rejects(c.PostNotice(text, zone), "bad_argument")
        assert refused.details["field"] == field


def test_notices_end_with_the_business_day(hall: Driver) -> None:
    hall.do(c.PostNotice("今日停车场关闭"))
    next_morning(hall)
    hall.do(c.OpenWindow("B01"), after=0)
    assert hall.core.state.notices == {}


def test_notice_parses_from_json_form() -> None:
    assert command_from_dict("notice", {}) == c.PostNotice()
    assert command_from_dict("notice", {"text": "", "zone": "B"}) == c.PostNotice("", "B")
    with pytest.raises(DispatchError) as info:
        command_from_dict("notice", {"text": 5})
    assert info.value.details["field"] == "text"


# ---------------------------------------------------------------- devices


def test_a_device_report_is_kept_for_staff(hall: Driver) -> None:
    got = hall.do(c.ReportDevice("K-B1/printer", "paper_near_end", "roll at 10%"))
    assert got == [ev.DeviceReported(at=hall.now, device="K-B1/printer",
                                     status="paper_near_end", detail="roll at 10%")]
    assert hall.core.state.devices == {
        "K-B1/printer": DeviceStatus("paper_near_end", "roll at 10%", since=hall.now,
                                     history=[{"at": hall.now, "status": "paper_near_end",
                                               "detail": "roll at 10%"}])}


def test_a_device_repeating_its_status_adds_nothing_to_the_log(hall: Driver) -> None:
    hall.do(c.ReportDevice("LED-B03", "offline"))
    since = hall.now
    before = hall.core.state.to_dict()
    for _ in range(5):
        assert hall.do(c.ReportDevice("LED-B03", "offline"), after=5) == []
    assert hall.core.state.to_dict() == before
    assert hall.core.state.devices["LED-B03"].since == since   # offline since the first report
    changed = hall.do(c.ReportDevice("LED-B03", "offline", "no answer on COM3"))
    assert changed[0].detail == "no answer on COM3"
    assert hall.do(c.ReportDevice("LED-B03", "ok"))[0].status == "ok"
    status = hall.core.state.devices["LED-B03"]
    assert (status.status, status.detail, status.since) == ("ok", "", hall.now)
    assert [(h["status"], h["detail"]) for h in status.history] == [   # the day's history
        ("offline", ""), ("offline", "no answer on COM3"), ("ok", "")]


@pytest.mark.parametrize(("device", "status", "detail", "field"), [
    ("K-B1", "jammed", "", "status"),
    ("K-B1", "OK", "", "status"),
    ("K-B1", "error", "e" * 201, "detail"),
    ("", "ok", "", "device"),
])
def test_bad_device_reports_are_refused(hall: Driver, device: str, status: str, detail: str,
                                        field: str) -> None:
    refused = hall.rejects(c.ReportDevice(device, status, detail), "bad_argument")
    assert refused.details["field"] == field


@pytest.mark.parametrize("status", ["ok", "paper_near_end", "paper_out", "cover_open",
                                    "offline", "error"])
def test_every_documented_status_is_accepted(hall: Driver, status: str) -> None:
    assert hall.do(c.ReportDevice("K-B1", status, "d" * 200))[0].status == status


def test_device_reports_start_afresh_each_business_day(hall: Driver) -> None:
    hall.do(c.ReportDevice("K-B1/printer", "paper_out"))
    next_morning(hall)
    events = hall.do(c.ReportDevice("K-B1/printer", "paper_out"), after=0)
    assert [type(e) for e in events] == [ev.DayClosed, ev.DayOpened, ev.DeviceReported]
    assert hall.core.state.devices["K-B1/printer"].since == hall.now


def test_replay_rebuilds_notices_and_devices(hall: Driver) -> None:
    hall.do(c.PostNotice("hello"))
    hall.do(c.PostNotice("B only", zone="B"))
    hall.do(c.PostNotice(""))
    hall.do(c.ReportDevice("K-B1", "paper_out"))
    hall.do(c.ReportDevice("K-B1", "paper_out"))
    hall.do(c.ReportDevice("LED-A01", "offline", "timeout"))
    log = [ev.event_from_dict(e.to_dict()) for e in hall.log]
    replayed = Dispatcher.replay(hall.core.hall, log)
    assert replayed.state.to_dict() == hall.core.state.to_dict()
    assert replayed.state.to_dict()["notices"] == {"B": "B only"}
    assert sorted(replayed.state.to_dict()["devices"]) == ["K-B1", "LED-A01"]


def test_device_report_parses_from_json_form() -> None:
    assert command_from_dict("report_device", {"device": "K-B1", "status": "ok"}) == \
        c.ReportDevice("K-B1", "ok", "")
    assert command_from_dict("report_device", {"device": "K-B1", "status": "ok",
                                               "detail": ""}).detail == ""
    with pytest.raises(DispatchError) as info:
        command_from_dict("report_device", {"device": "K-B1"})
    assert info.value.details["field"] == "status"
