"""core/floor.py: the console's floor measures, pure (no hub, no store)."""

from __future__ import annotations

import json

import pytest
from conftest import hall_time
from tiny_hall import tiny_hall

from dispatcher.core import Dispatcher, estimate
from dispatcher.core import commands as c
from dispatcher.core.floor import FloorHistory, floor, trend, utilisation, zone_spread


class Floor:
    """A core on the tiny hall whose every event is folded into a FloorHistory."""

    def __init__(self) -> None:
        self.hall = tiny_hall()
        self.core = Dispatcher(self.hall)
        self.history = FloorHistory()
        self.seq = 0

    def at(self, hhmm: str, command: c.Command, seconds: float = 0) -> list:
        now = hall_time(self.hall, hhmm, seconds=seconds)
        events = self.core.decide(command, now)
        for event in events:
            self.core.apply(event)
            self.seq += 1
            self.history.note(self.seq, event, self.core.state)
        return events

    def floor(self, hhmm: str) -> dict:
        return floor(self.hall, self.core.state, hall_time(self.hall, hhmm), self.history)


def busy_morning() -> Floor:
    """W1 and W2 open at 09:00; W1 serves one q1 ticket 09:00–09:30; W2 stays idle; W3
    stays closed; three q2 tickets come at 09:50."""
    f = Floor()
    f.at("09:00", c.OpenWindow("W1"))
    f.at("09:00", c.OpenWindow("W2"))
    f.at("09:00", c.IssueTicket("q1"))
    f.at("09:00", c.CallNext("W1"))
    f.at("09:30", c.FinishService("W1"))
    for _ in range(3):
        f.at("09:50", c.IssueTicket("q3"))
    return f


def test_utilisation_is_time_holding_a_ticket_over_time_open_in_the_last_hour() -> None:
    f = busy_morning()
    out = f.floor("10:00")
    assert out["windows"]["W1"]["utilisation"] == pytest.approx(0.5)
    assert out["windows"]["W1"]["open_s"] == pytest.approx(3600)
    assert out["windows"]["W2"]["utilisation"] == 0.0
    assert out["windows"]["W3"] == {"utilisation": None, "open_s": 0.0, "busy_s": 0.0}
    later = f.floor("10:30")                     # the 09:00–09:30 service left the hour
    assert later["windows"]["W1"]["utilisation"] == 0.0
    half = f.floor("09:15")                      # open 15 min, busy all of it
    assert half["windows"]["W1"]["utilisation"] == pytest.approx(1.0)


def test_the_zone_hot_cold_measure_names_the_hottest_and_coldest_window() -> None:
    zone = busy_morning().floor("10:00")["zones"]["Z"]
    assert zone["windows"] == 2                  # W3 was never open: not counted
    assert zone["mean"] == pytest.approx(0.25)
    assert zone["stdev"] == pytest.approx(0.25)
    assert zone["spread"] == pytest.approx(0.5)
    assert (zone["hottest"], zone["coldest"]) == ("W1", "W2")
    assert busy_morning().floor("10:00")["zones"]["Y"]["stdev"] is None   # no windows


def test_a_paused_window_is_not_open_for_work() -> None:
    f = Floor()
    f.at("09:00", c.OpenWindow("W1"))
    f.at("09:00", c.IssueTicket("q1"))
    f.at("09:00", c.CallNext("W1"))
    f.at("09:20", c.FinishService("W1"))
    f.at("09:20", c.Pause("W1", "用餐"))
    f.at("09:50", c.Resume("W1"))
    w1 = f.floor("10:00")["windows"]["W1"]
    assert w1["open_s"] == pytest.approx(30 * 60)   # 09:00–09:20 and 09:50–10:00
    assert w1["utilisation"] == pytest.approx(20 / 30, abs=1e-4)


def test_queues_count_longest_and_expected_wait_and_a_30_minute_trend() -> None:
    f = busy_morning()
    out = f.floor("10:00")
    q3 = out["queues"]["q3"]
    assert q3["waiting"] == 3
    assert q3["longest_wait_s"] == pytest.approx(600)
    now = hall_time(f.hall, "10:00")
    assert q3["expected_wait_s"] == estimate.queue_status(f.hall, f.core.state,
                                                         now)["q3"]["expected_wait_s"]
    assert len(q3["trend"]) == 61 and out["trend_step_s"] == 30
    assert q3["trend"][:40] == [0] * 40 and q3["trend"][40:] == [3] * 21   # 09:50 on
    assert out["queues"]["q1"] == {"waiting": 0, "longest_wait_s": None,
                                   "expected_wait_s": out["queues"]["q1"]["expected_wait_s"],
                                   "trend": [0] * 61}
    json.dumps(out, allow_nan=False)             # the query's reply is plain JSON


def test_a_rebuild_replaying_the_day_starts_the_history_again() -> None:
    f = busy_morning()
    before = f.floor("10:00")
    busy_twice = Floor()
    busy_twice.history = f.history
    for hhmm, command in (("09:00", c.OpenWindow("W1")), ("09:00", c.OpenWindow("W2")),
                          ("09:00", c.IssueTicket("q1")), ("09:00", c.CallNext("W1")),
                          ("09:30", c.FinishService("W1"))):
        busy_twice.at(hhmm, command)
    for _ in range(3):
        busy_twice.at("09:50", c.IssueTicket("q3"))
    assert busy_twice.floor("10:00")["windows"] == before["windows"]
    assert busy_twice.floor("10:00")["queues"]["q3"]["trend"] == \
        before["queues"]["q3"]["trend"]


def test_pieces() -> None:
    line = [(0.0, True, False), (100.0, True, True), (200.0, False, False)]
    assert utilisation(line, 300.0, horizon=250.0) == (150.0, 100.0)
    assert trend([(10.0, 2), (40.0, 5)], 60.0, span=60.0, step=30.0) == [0, 2, 5]
    assert zone_spread({"a": 0.9, "b": 0.1})["spread"] == pytest.approx(0.8)


def _full_scan_note(history: FloorHistory, seq: int, event, state) -> None:
    """The fold as first written: every window and queue looked at after every event."""
    from dispatcher.core.floor import _OPEN, _prune

    history.last_seq = seq
    for wid, w in state.windows.items():
        mark = (w.state in _OPEN, w.ticket is not None)
        line = history.windows.setdefault(wid, [])
        if not line or line[-1][1:] != mark:
            line.append((event.at, *mark))
            _prune(line, event.at)
    for qid, tickets in state.queue_lines.items():
        line_q = history.queues.setdefault(qid, [])
        if not line_q or line_q[-1][1] != len(tickets):
            line_q.append((event.at, len(tickets)))
            _prune(line_q, event.at)


def test_the_fold_looks_only_at_what_each_event_names_and_misses_nothing(sample_hall) -> None:
    """A random day of every command the clerks have (calls, no-shows, requeues,
    transfers to queues and windows, holds, call-backs, pauses, closes, profile moves,
    cancels): the fold that looks only at the windows and queues an event names ends
    with the same history as one that scans the whole hall after every event."""
    import random

    from dispatcher.core import DispatchError

    rng = random.Random(11)
    core, fast, full = Dispatcher(sample_hall), FloorHistory(), FloorHistory()
    windows, queues = list(sample_hall.windows), list(sample_hall.queues)
    now, seq = hall_time(sample_hall, "09:00"), 0

    def some_ticket() -> str:
        return rng.choice(list(core.state.tickets)) if core.state.tickets else "none"

    makers = [
        lambda: c.IssueTicket(queue=(q := rng.choice(queues)),
                              zone=sample_hall.queues[q].zones[0]),
        lambda: c.CallNext(window=rng.choice(windows)),
        lambda: c.StartService(window=rng.choice(windows)),
        lambda: c.FinishService(window=rng.choice(windows)),
        lambda: c.NoShow(window=rng.choice(windows)),
        lambda: c.Requeue(ticket=some_ticket()),
        lambda: c.Transfer(ticket=some_ticket(), to_queue=rng.choice(queues)),
        lambda: c.Transfer(ticket=some_ticket(), to_window=rng.choice(windows)),
        lambda: c.Hold(window=rng.choice(windows)),
        lambda: c.CallBack(window=rng.choice(windows)),
        lambda: c.Pause(window=rng.choice(windows), reason="break"),
        lambda: c.Resume(window=rng.choice(windows)),
        lambda: c.OpenWindow(window=rng.choice(windows)),
        lambda: c.CloseWindow(window=rng.choice(windows)),
        lambda: c.Cancel(ticket=some_ticket()),
        lambda: c.SetProfile(window=rng.choice(windows), main=(rng.choice(queues),),
                             side=()),
    ]
    weights = [8, 6, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1, 1]
    kinds: set[str] = set()
    for _ in range(6000):
        now += rng.uniform(0, 6)
        try:
            events = core.decide(rng.choices(makers, weights)[0](), now)
        except DispatchError:
            continue
        for event in events:
            core.apply(event)
            seq += 1
            fast.note(seq, event, core.state)
            _full_scan_note(full, seq, event, core.state)
            kinds.add(type(event).__name__)
    assert seq > 2000 and {"TicketTransferred", "TicketHeld", "TicketNoShow",
                           "TicketRequeued", "ProfileChanged", "WindowPaused",
                           "TicketCancelled", "WindowClosed"} <= kinds, kinds
    assert fast.windows == full.windows
    assert fast.queues == full.queues
