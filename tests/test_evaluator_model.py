"""The 好差评 screen's flow (caller/evaluator_model.py), with no screen and no hub."""

from __future__ import annotations

import pytest

from caller.evaluator_model import (
    LEVELS,
    MAX_REASON,
    REASONS,
    EvaluatorModel,
    Send,
    evaluate_args,
    finished_here,
    reason_text,
)


def rating(timeout_s: float = 30.0) -> EvaluatorModel:
    m = EvaluatorModel("B03", timeout_s=timeout_s, message_s=5.0)
    m.hub_status(True, 0.0)
    m.service_finished("T1", "B017", 100.0)
    assert (m.shown, m.ticket, m.number) == ("rating", "T1", "B017")
    return m


def test_levels_best_first_and_reasons() -> None:
    assert list(LEVELS) == [5, 4, 3, 2, 1]
    assert LEVELS[4] == ("满意", "Satisfied") and LEVELS[1] == ("非常不满意", "Very dissatisfied")
    assert reason_text("long_wait") == "等候时间长 / Long wait"
    assert all(len(reason_text(k)) <= MAX_REASON for k in REASONS)


def test_evaluate_args_carry_reason_only_when_given() -> None:
    assert evaluate_args("T1", 4) == {"ticket": "T1", "level": 4}
    assert evaluate_args("T1", 2, "x" * 300) == {"ticket": "T1", "level": 2,
                                                 "reason": "x" * MAX_REASON}


@pytest.mark.parametrize(("name", "data", "view", "expected"), [
    ("service_finished", {"ticket": "T1", "window": "B03"}, None, "T1"),
    ("service_finished", {"ticket": "T1", "window": "B03"},
     {"state": "done", "served_by": "B03"}, "T1"),
    ("service_finished", {"ticket": "T1", "window": "B04"}, None, None),
    ("service_finished", {"ticket": "T1", "window": "B03"},
     {"state": "done", "served_by": "B04"}, None),
    ("service_finished", {"ticket": "T1", "window": "B03"},
     {"state": "called", "served_by": None}, None),
    ("ticket_called", {"ticket": "T1", "window": "B03"}, None, None),
    ("service_finished", {"window": "B03"}, None, None),
])
def test_finished_here(name: str, data: dict, view: dict | None, expected: str | None) -> None:
    assert finished_here(name, data, "B03", view) == expected


def test_satisfied_sends_at_once_and_thanks_only_on_the_reply() -> None:
    m = rating()
    sent = m.touch("level:4", 101.0)
    assert sent == Send("evaluate", {"ticket": "T1", "level": 4}) and m.shown == "sending"
    m.tick(10_000.0)                        # no timeout while the hub answers
    assert m.shown == "sending"
    m.reply(True, {}, 102.0)
    assert m.shown == "thanks"
    m.tick(106.9)
    assert m.shown == "thanks"
    m.tick(107.0)
    assert m.shown == "idle" and m.ticket is None


def test_low_rating_asks_a_reason_then_sends_it() -> None:
    m = rating()
    assert m.touch("level:1", 101.0) is None and m.shown == "reason"
    assert m.touch("level:4", 102.0) is None and m.shown == "reason"   # not on this screen
    assert m.touch("back", 103.0) is None and m.shown == "rating" and m.level is None
    m.touch("level:2", 104.0)
    sent = m.touch("reason:unfriendly", 105.0)
    assert sent is not None and sent.args == {"ticket": "T1", "level": 2,
                                              "reason": "态度不好 / Unfriendly"}


def test_skip_sends_no_reason() -> None:
    m = rating()
    m.touch("level:2", 101.0)
    sent = m.touch("skip", 102.0)
    assert sent is not None and sent.args == {"ticket": "T1", "level": 2}


def test_no_touch_times_out_and_a_touch_restarts_the_clock() -> None:
    m = rating(timeout_s=30.0)
    m.tick(129.9)
    assert m.shown == "rating"
    m.touch("level:2", 129.9)               # reason screen: a fresh 30 s
    m.tick(159.0)
    assert m.shown == "reason"
    m.tick(159.9)
    assert m.shown == "idle" and m.sent == []


def test_refusals() -> None:
    m = rating()
    m.touch("level:5", 101.0)
    m.reply(False, {"code": "already_evaluated"}, 102.0)
    assert m.shown == "already"
    m = rating()
    m.touch("level:5", 101.0)
    m.reply(False, {"code": "timeout"}, 102.0)
    assert (m.shown, m.retry, m.ticket) == ("rating", True, "T1")   # tap again
    m.touch("level:5", 103.0)
    m.reply(False, {"code": "forbidden"}, 104.0)
    assert m.shown == "failed"
    m.tick(109.0)
    assert m.shown == "idle"


def test_disconnected_shows_offline_drops_the_rating_and_sends_nothing() -> None:
    m = rating()
    m.hub_status(False, 101.0)
    assert m.shown == "offline" and m.touch("level:4", 102.0) is None
    m.hub_status(True, 104.0)
    assert m.shown == "idle" and m.sent == []


def test_a_reply_on_its_way_survives_a_drop() -> None:
    m = rating()
    m.touch("level:4", 101.0)
    m.hub_status(False, 102.0)
    assert m.shown == "offline"
    m.hub_status(True, 103.0)
    m.reply(True, {}, 104.0)
    assert m.shown == "thanks"


def test_next_service_while_sending_is_offered_after_the_thanks() -> None:
    m = rating()
    m.touch("level:4", 101.0)
    m.service_finished("T2", "B018", 102.0)
    assert m.shown == "sending" and m.ticket == "T1"
    m.reply(True, {}, 103.0)
    m.tick(108.0)
    assert (m.shown, m.ticket, m.number) == ("rating", "T2", "B018")


def test_rated_elsewhere_shows_already() -> None:
    m = rating()
    m.rated_elsewhere("T9", 101.0)
    assert m.shown == "rating"
    m.rated_elsewhere("T1", 101.0)
    assert m.shown == "already" and m.sent == []
