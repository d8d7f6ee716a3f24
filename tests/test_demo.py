"""The README's main job: `onewindow demo` plays a morning through the core and the store."""

from __future__ import annotations

import re
import subprocess
import sys

import sqlalchemy as sa

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
