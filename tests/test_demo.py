"""The README's main job: `onewindow demo` plays a morning through the core and the store."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dispatcher import demo
from dispatcher.core import commands as c
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.service import HallService
from dispatcher.store import tickets


def test_demo_announces_calls_and_its_figures_match_the_store(tmp_path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "demo", "--speed", "0", "--minutes", "20",
         "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    calls = re.findall(r"叫号 请 ([A-Z]\d{3}) 号 到 (\S+窗口[AB]\d\d) 办理", run.stdout)
    assert len(calls) > 50
    called_again = run.stdout.count("过号重排") + run.stdout.count("转移")
    assert len({number for number, _ in calls}) >= len(calls) - called_again
    issued, served = map(int, re.search(r"(\d+) tickets issued, (\d+) served", run.stdout).groups())

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with HallService.open(load_hall(SAMPLE_HALL), url) as service:
        with service.store.engine.connect() as conn:
            states = [row.state for row in conn.execute(sa.select(tickets.c.state))]
        assert service.core.state.day_closed  # the demo ends with 日结
    assert (len(states), states.count("done")) == (issued, served)
    assert set(states) <= {"done", "closed", "cancelled"}


def test_one_percentile_everywhere_is_nearest_rank() -> None:
    """dispatcher/stats.percentile: the ceil(p/100·n)-th smallest value, used by the demo
    and the simulator alike."""
    from dispatcher.simulator import report
    from dispatcher.stats import percentile

    assert report.percentile is percentile and demo.percentile is percentile
    assert percentile([7.0], 90) == 7.0
    assert percentile([5.0, 1.0], 90) == 5.0          # two values: the larger, never the min
    assert percentile([1.0, 5.0], 50) == 1.0
    assert percentile([3.0, 1.0, 2.0], 90) == 3.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    ten = [float(v) for v in range(1, 11)]
    assert [percentile(ten, p) for p in (10, 50, 90, 95, 100)] == [1.0, 5.0, 9.0, 10.0, 10.0]
    for n in range(1, 201):
        values = [float(v * 37 % 101) for v in range(n)]      # distinct, shuffled
        ordered = sorted(values)
        for p in (50, 90, 95):
            got = percentile(values, p)
            rank = next(r for r in range(1, n + 1) if 100 * r >= p * n)   # ⌈p·n/100⌉
            assert got == ordered[rank - 1]
            assert 100 * sum(v <= got for v in values) >= p * n            # at least p %
            assert 100 * sum(v < got for v in values) < p * n              # the smallest
        assert percentile(values, 90) >= percentile(values, 50)
    assert percentile(range(1, 71), 90) == 63      # not 64: ⌈0.9 × 70⌉ in floating point
    with pytest.raises(ValueError):
        percentile([], 90)


def test_the_demo_p90_of_two_waits_is_the_longer_one(tmp_path) -> None:
    """Two tickets waited 1 and 5 minutes: mean 3.0 min, p90 5.0 min (it used to print
    the minimum, 1.0, below the mean)."""
    hall = load_hall(SAMPLE_HALL)
    day = demo.demo_day()
    opening = min(p[0] for p in hall.hours.periods)
    t0 = datetime.combine(day, dt_time(opening // 60, opening % 60),
                          ZoneInfo(hall.timezone)).timestamp()
    window = next(w for w in hall.windows.values() if "quick_b" in w.profile.main).id
    with HallService.open(hall, f"sqlite:///{tmp_path / 'p90.db'}") as service:
        service.execute(c.OpenWindow(window), t0)
        service.execute(c.IssueTicket("quick_b"), t0)
        service.execute(c.IssueTicket("quick_b"), t0)
        service.execute(c.CallNext(window), t0 + 60)
        service.execute(c.CallNext(window), t0 + 300)
        lines = demo.summary(service, hall.business_day(t0))
    row = next(line for line in lines if line.startswith("B "))
    mean, p90 = map(float, re.findall(r"(\d+\.\d) min", row))
    assert (mean, p90) == (3.0, 5.0), row
