"""The kiosk's flow without Qt, a hub or a printer (kiosk/model.py).

Touch counting rule (kiosk/model.py): each button touch is one touch, and the whole
code entry on the check-in keypad is one touch."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.model import (
    CODE_CHARS,
    CODE_MAX,
    DONE_TIMEOUT_S,
    IDLE_TIMEOUT_S,
    UNKNOWN_DETAIL,
    Action,
    KioskModel,
)

HALL = {
    "zones": {"B": {"name": "自然人综合服务区", "name_en": "Individual Service Zone"}},
    "queues": {
        "quick_a": {"name": "马上办", "kind": "big_loop", "zones": ["A"]},
        "quick_b": {"name": "马上办", "kind": "big_loop", "zones": ["B"]},
        "tax": {"name": "税务服务", "kind": "unit", "zones": ["A", "B"]},
        "marriage": {"name": "婚姻登记", "kind": "unit", "zones": ["B"]},
    },
}
RESULT = {"ticket": {"id": "20261123-B001", "number": "B001", "queue": "quick_b"},
          "status": {"ahead": 0, "expected_wait_s": 60.0}}


def ready() -> KioskModel:
    model = KioskModel("K-B1")
    model.set_layout(HALL, "B")
    model.hub_status("connected")
    return model


def run(model: KioskModel, *targets: str) -> list[Action]:
    actions: list[Action] = []
    for target in targets:
        actions += model.touch(target)
    return actions


def issue_and_print(model: KioskModel, actions: list[Action],
                    result: dict[str, Any] = RESULT) -> None:
    assert len(actions) == 1
    assert model.reply(True, result) == [Action("print", {"result": result})]
    assert model.printed(True, "ok") == []
    assert model.screen == "done"


def test_layout_picks_the_zones_big_loop_and_units() -> None:
    model = ready()
    assert model.big_loop == "quick_b" and model.units == ["tax", "marriage"]
    assert model.screen == "home"


def test_quick_normal_in_two_touches() -> None:
    model = ready()
    actions = run(model, "quick", "take")
    assert actions == [Action("issue", {"queue": "quick_b", "ticket_class": "normal"})]
    assert model.touches == 2 <= 3
    assert model.screen == "printing"
    issue_and_print(model, actions)


def test_quick_green_in_two_touches() -> None:
    model = ready()
    actions = run(model, "quick", "green")
    assert actions == [Action("issue", {"queue": "quick_b", "ticket_class": "green"})]
    assert model.touches == 2
    issue_and_print(model, actions)


def test_unit_in_three_touches() -> None:
    model = ready()
    actions = run(model, "help", "unit:marriage", "take")
    assert actions == [Action("issue", {"queue": "marriage", "ticket_class": "normal"})]
    assert model.touches == 3
    issue_and_print(model, actions)


def test_unknown_unit_is_ignored() -> None:
    model = ready()
    assert run(model, "help", "unit:quick_a", "take") == []
    assert model.screen == "units"


def test_check_in_in_three_touches_counting_the_code_as_one() -> None:
    model = ready()
    actions = run(model, "check_in", "key:4", "key:8", "key:1", "key:5", "key:2", "key:6",
                  "submit")
    assert actions == [Action("check_in", {"code": "481526"})]
    assert model.touches == 3
    issue_and_print(model, actions)


def test_check_in_keypad_delete_and_empty_submit() -> None:
    model = ready()
    assert run(model, "check_in", "submit") == []
    run(model, "key:1", "key:2", "delete")
    assert model.code == "1"


@pytest.mark.parametrize("code", ["unknown_appointment", "too_early", "too_late",
                                  "already_checked_in"])
def test_check_in_error_stays_on_the_keypad(code: str) -> None:
    model = ready()
    run(model, "check_in", "key:1", "submit")
    assert model.reply(False, {"code": code}) == []
    assert (model.screen, model.message, model.code, model.busy) == ("check_in", code, "",
                                                                     False)
    assert run(model, "key:2", "submit") == [Action("check_in", {"code": "2"})]


def test_double_tap_sends_one_issue() -> None:
    model = ready()
    actions = run(model, "quick", "take", "take", "take", "green")
    assert len(actions) == 1
    model.reply(True, RESULT)
    assert run(model, "take", "home") == []     # still printing
    model.printed(True, "ok")
    assert model.tickets_issued == 1


def test_a_late_or_stray_reply_is_ignored() -> None:
    model = ready()
    assert model.reply(True, RESULT) == []
    assert model.printed(True, "ok") == []
    assert model.screen == "home" and model.tickets_issued == 0


def test_issue_error_goes_home_with_the_message() -> None:
    model = ready()
    run(model, "quick", "take")
    model.reply(False, {"code": "not_authorized"})
    assert (model.screen, model.message, model.busy) == ("home", "not_authorized", False)


def test_hall_closed_reply_shows_the_closed_screen_until_the_hall_opens() -> None:
    model = ready()
    run(model, "quick", "take")
    model.reply(False, {"code": "hall_closed"})
    assert (model.screen, model.busy, model.hall_open) == ("closed", False, False)
    assert run(model, "quick", "take", "check_in") == [] and model.screen == "closed"
    model.hub_status("disconnected")
    model.hub_status("connected")
    assert model.screen == "closed"
    model.hall_status(True)
    assert model.screen == "home" and model.message is None    # no stale "closed" error
    model.hall_status(False)
    assert model.screen == "closed"


def test_unavailable_reply_pauses() -> None:
    model = ready()
    run(model, "quick", "take")
    model.reply(False, {"code": "unavailable"})
    assert model.screen == "paused"
    model.hub_status("connected")
    assert model.screen == "home"


def test_hub_down_pauses_and_touches_issue_nothing_then_recovers() -> None:
    model = ready()
    run(model, "quick")
    model.hub_status("disconnected")
    assert model.screen == "paused" and model.pause_reason == "hub"
    assert run(model, "take", "quick", "help", "check_in", "green") == []
    model.hub_status("connecting")
    assert model.screen == "paused"
    model.hub_status("connected")
    assert model.screen == "home" and model.touches == 0


def test_hub_down_while_issuing_waits_for_the_reply() -> None:
    model = ready()
    run(model, "quick", "take")
    model.hub_status("disconnected")
    assert model.screen == "printing"           # the client resends the command
    model.hub_status("connected")
    model.reply(True, RESULT)
    model.printed(True, "ok")
    assert model.screen == "done"


def test_paper_out_pauses_reports_and_issues_nothing() -> None:
    model = ready()
    assert model.printer_status("paper_out") == [
        Action("report", {"device": "K-B1/printer", "status": "paper_out",
                          "detail": "paper_out"})]
    assert model.screen == "paused" and model.pause_reason == "paper_out"
    assert run(model, "quick", "take") == []
    assert model.printer_status("paper_out") == []   # reported once
    assert model.printer_status("ok") == [
        Action("report", {"device": "K-B1/printer", "status": "ok", "detail": "ok"})]
    assert model.screen == "home"
    assert model.printer_status("ok") == []


def test_ok_printer_is_not_reported_at_start() -> None:
    model = ready()
    assert model.printer_status("ok") == []
    assert model.printer_status("unknown", "no answer to DLE EOT") == [
        Action("report", {"device": "K-B1/printer", "status": "offline",
                          "detail": f"{UNKNOWN_DETAIL} (no answer to DLE EOT)"})]
    assert model.screen == "home" and model.can_issue      # unknown issues tickets
    assert model.printer_status("unknown") == []           # reported once, not every poll


def test_paper_out_on_the_confirm_screen_issues_nothing() -> None:
    model = ready()
    run(model, "quick")
    model.printer_status("cover_open")
    assert model.screen == "paused"
    assert run(model, "take") == []


def test_print_failure_shows_the_ticket_and_reports() -> None:
    model = ready()
    run(model, "quick", "take")
    model.reply(True, RESULT)
    actions = model.printed(False, "paper_out", "printer virtual://x: 缺纸 paper out")
    assert actions == [Action("report", {"device": "K-B1/printer", "status": "paper_out",
                                         "detail": "printer virtual://x: 缺纸 paper out"})]
    assert model.screen == "failed" and model.ticket == RESULT["ticket"]
    model.touch("home")
    assert model.screen == "paused"              # the printer is still out of paper


def test_print_failure_with_an_ok_printer_reports_error() -> None:
    model = ready()
    run(model, "quick", "take")
    model.reply(True, RESULT)
    actions = model.printed(False, "ok", "no answer")
    assert actions[0].args["status"] == "error"


def test_idle_goes_home() -> None:
    model = ready()
    run(model, "help")
    model.tick(IDLE_TIMEOUT_S - 1)
    assert model.screen == "units"
    run(model, "unit:tax")                        # a touch restarts the clock
    model.tick(IDLE_TIMEOUT_S - 1)
    assert model.screen == "confirm"
    model.tick(1)
    assert model.screen == "home" and model.touches == 0 and model.queue is None


def test_the_next_citizen_starts_in_chinese_at_normal_size() -> None:
    model = ready()
    run(model, "lang", "large")                   # chosen on the home screen, then left
    model.tick(IDLE_TIMEOUT_S - 1)
    assert (model.lang, model.large) == ("en", True)
    model.tick(1)
    assert (model.screen, model.lang, model.large) == ("home", "zh", False)
    run(model, "lang", "quick")                   # chosen, then left half-way
    model.tick(IDLE_TIMEOUT_S)
    assert (model.screen, model.lang) == ("home", "zh")


def test_done_goes_home_sooner_and_printing_never_times_out() -> None:
    model = ready()
    run(model, "quick", "take")
    model.tick(IDLE_TIMEOUT_S * 10)
    assert model.screen == "printing"
    model.reply(True, RESULT)
    model.printed(True, "ok")
    model.tick(DONE_TIMEOUT_S)
    assert model.screen == "home"


def test_language_and_large_mode_toggle_anywhere() -> None:
    model = ready()
    model.hub_status("disconnected")
    run(model, "lang", "large")
    assert (model.lang, model.large) == ("en", True)
    run(model, "lang", "large")
    assert (model.lang, model.large) == ("zh", False)


def test_back_from_confirm() -> None:
    model = ready()
    run(model, "help", "unit:tax", "back")
    assert model.screen == "units"
    run(model, "back")
    assert model.screen == "home"
    run(model, "quick", "back")
    assert model.screen == "home"


def test_starts_paused_until_connected() -> None:
    model = KioskModel("K-B1")
    model.set_layout(HALL, "B")
    assert model.screen == "paused"
    assert run(model, "quick") == []


def test_codes_take_capital_letters_digits_and_dashes() -> None:
    model = ready()
    run(model, "check_in", *(f"key:{c}" for c in "YY-0012"))
    assert model.code == "YY-0012" and model.touches == 2
    run(model, "key:y", "key:预", "key:#", "key:YY")          # not keys of the keypad
    assert model.code == "YY-0012"
    run(model, *(["key:9"] * 20))
    assert len(model.code) == CODE_MAX
    assert run(model, "submit") == [Action("check_in", {"code": model.code})]


def test_a_refused_hello_is_permanent_and_issues_nothing() -> None:
    model = ready()
    run(model, "quick")
    model.hub_status("refused")
    assert model.screen == "refused"
    assert run(model, "take", "home", "quick") == [] and model.screen == "refused"
    model.printer_status("ok")
    model.hall_status(True)
    model.tick(IDLE_TIMEOUT_S * 2)
    assert model.screen == "refused"


def test_idle_reset_goes_back_to_the_configured_defaults() -> None:
    model = KioskModel("K-B1", lang="en", large=True, default_lang="en", default_large=True,
                       idle_timeout_s=10)
    model.set_layout(HALL, "B")
    model.hub_status("connected")
    run(model, "lang", "large", "help")
    assert (model.lang, model.large, model.screen) == ("zh", False, "units")
    model.tick(9)
    assert model.screen == "units"
    model.tick(1)
    assert (model.lang, model.large, model.screen) == ("en", True, "home")


def test_a_print_nobody_confirmed_shows_the_ticket_as_unsure() -> None:
    model = ready()
    actions = run(model, "quick", "take")
    assert len(actions) == 1
    model.reply(True, RESULT)
    reports = model.printed(False, "unknown", "no status answer after printing", unsure=True)
    assert (model.screen, model.print_unsure) == ("failed", True)
    assert reports[0].args["status"] == "offline"
    model.touch("home")
    model.touch("quick")
    model.touch("take")
    model.reply(True, RESULT)
    model.printed(False, "paper_out", "paper out")
    assert (model.screen, model.print_unsure) == ("failed", False)


def test_closed_beats_a_pause_and_the_hub_being_down() -> None:
    model = ready()
    model.hall_status(False)
    model.hub_status("disconnected")
    model.printer_status("paper_out")
    assert model.screen == "closed"
    model.hall_status(True)
    assert model.screen == "paused"
    model.hub_status("connected")
    model.printer_status("ok")
    assert model.screen == "home"


def test_opening_hours() -> None:
    from datetime import datetime

    from kiosk.hours import HoursError, OpeningHours

    hours = OpeningHours.parse({"days": ["mon", "tue", "wed", "thu", "fri"],
                                "periods": ["13:00-17:00", "09:00-12:00"]})
    assert hours.text() == ("周一至周五 09:00–12:00, 13:00–17:00",
                            "Mon–Fri 09:00–12:00, 13:00–17:00")
    monday = "2026-11-23T"
    assert [hours.open_at(datetime.fromisoformat(monday + t)) for t in
            ("08:59", "09:00", "11:59", "12:00", "12:59", "13:00", "16:59", "17:00")] == [
        False, True, True, False, False, True, True, False]
    assert not hours.open_at(datetime.fromisoformat("2026-11-28T10:00"))    # Saturday
    assert OpeningHours.parse({"days": ["mon", "wed", "sat", "sun"],
                               "periods": ["08:30-18:00"]}).text()[0] == \
        "周一、周三、周六至周日 08:30–18:00"
    for raw, error in [({"days": ["monday"], "periods": ["09:00-12:00"]}, "hours.days"),
                       ({"days": ["mon"], "periods": ["9:00-12:00"]}, "hours.periods[0]"),
                       ({"days": ["mon"], "periods": []}, "hours.periods"),
                       ("09:00-17:00", "hours: expected a table")]:
        with pytest.raises(HoursError, match=error.replace("[", r"\[")):
            OpeningHours.parse(raw)


def test_every_code_character_has_a_key_on_both_keypads() -> None:
    pytest.importorskip("PySide6")
    from kiosk.app import keyboard

    for landscape in (False, True):
        keys = [key for block in keyboard(landscape) for row in block for key, _ in row]
        assert sorted(k for k in keys if k != "DEL") == sorted(CODE_CHARS)
        assert keys.count("DEL") == 1
