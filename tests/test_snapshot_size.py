"""No welcome can reach the frame limit, however long the day: a snapshot's size follows
what is live (windows, the heads of the lines, a few recent tickets), not the day's
ticket count. Measured on a day of 100,000 tickets of the sample hall, half of them
served, with every window open and at work, for each role the hub welcomes."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dispatcher.core import Dispatcher, DispatchError
from dispatcher.core import commands as c
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.hub.devices import Device
from dispatcher.hub.views import RecentCalls, snapshot

TICKETS = 100_000
# Well under the 1 MiB frame limit for any role, leaving room for a hall of many more
# windows: the line heads are shared (views.HEADS_IN_ALL), so a welcome grows with the
# windows, not with queues × 50 (the console's was 500 KiB here before they were).
BUDGET = 384 * 1024


@pytest.fixture(scope="module")
def big_day():
    """The sample hall after 100,000 tickets: every window open, each calling, serving
    and finishing in turn, so lines are long, windows busy and the day's record big."""
    hall = load_hall(SAMPLE_HALL)
    core, recent = Dispatcher(hall), RecentCalls()
    now = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo(hall.timezone)).timestamp()

    def run(command: c.Command) -> None:
        try:
            for event in core.execute(command, now):
                recent.note(event)
        except DispatchError:
            pass                                  # an empty line, a closed queue: go on

    for window in hall.windows:
        run(c.OpenWindow(window=window))
    queues = [(q, queue.zones[0]) for q, queue in hall.queues.items()]
    windows = list(hall.windows)
    i = 0
    while len(core.state.tickets) < TICKETS:      # some queues close for lunch: go on
        i, now = i + 1, now + 0.2
        queue, zone = queues[i % len(queues)]
        run(c.IssueTicket(queue=queue, zone=zone))
        if i % 2:
            window = windows[(i // 2) % len(windows)]
            run(c.FinishService(window=window) if core.state.windows[window].ticket
                else c.CallNext(window=window))
    return hall, core.state, recent


DEVICES = [Device("K-B1", "kiosk", "x", zone="B"), Device("C-B03", "caller", "x",
           windows=("B03",)), Device("C-M", "caller", "x", windows=("B01", "B02", "B03")),
           Device("E-B03", "evaluator", "x", windows=("B03",)),
           Device("D-B", "display", "x", zone="B"), Device("D-ALL", "display", "x"),
           Device("L-B", "led", "x", zone="B"), Device("CONSOLE-1", "console", "x")]


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.id)
def test_a_welcome_on_a_day_of_100000_tickets_stays_far_below_the_frame_limit(
        big_day, device: Device) -> None:
    hall, state, recent = big_day
    assert len(state.tickets) == TICKETS
    assert sum(len(line) for line in state.queue_lines.values()) > TICKETS // 4
    snap = snapshot(hall, state, recent, device)
    frame = json.dumps({"type": "welcome", "seq": 10**9, "snapshot": snap},
                       ensure_ascii=False).encode()
    print(f"{device.id}: {len(frame) / 1024:.0f} KiB")
    assert len(frame) < BUDGET, (device.id, len(frame))
    assert snap["waiting"] == {q: len(line) for q, line in state.queue_lines.items()}
    if device.role in ("caller", "console"):   # the counts whole, the lines cut to heads
        assert len(snap["tickets"]) < 1_000
