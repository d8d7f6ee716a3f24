"""The README's main job: `onewindow demo`, the sample hall live as separate processes;
and `onewindow demo --core`, a morning through the core and the store in one process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dispatcher import demo
from dispatcher.core import commands as c
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.service import HallService
from dispatcher.store import tickets


def test_core_demo_announces_calls_and_its_figures_match_the_store(tmp_path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "demo", "--core", "--speed", "0",
         "--minutes", "20",
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


# ---------------------------------------------------------------- the live hall

ROOT = Path(__file__).resolve().parent.parent
PARTS = {"hub", "printer-K-A1", "printer-K-B1", "led-strips", "led-bridge", "wall", "K-A1",
         "K-B1", "C-A01", "C-B01", "C-B02", "E-B01", "console", "clerks"}


def _demo(data: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.Popen([sys.executable, "-m", "dispatcher.cli", "demo", "--data",
                             str(data), "--speed", "20", *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _processes_under(folder: Path) -> list[str]:
    """Command lines of the live processes that name ``folder`` (the demo's parts)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmd and int(pid) != os.getpid():
            found.append(f"{pid}: {cmd}")
    return found


def _wait_for_tickets(data: Path, demo: subprocess.Popen[str], count: int,
                      after: Path | None = None) -> Path:
    """The newest run folder (not ``after``) once its kiosks have handed out ``count``
    tickets."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
        runs = sorted((data / "demo-hall" / "runs").glob("*")) if data.exists() else []
        records = [runs[-1] / f"{k}.jsonl" for k in ("K-A1", "K-B1")] if runs else []
        handed = sum(len(r.read_text().splitlines()) for r in records if r.is_file())
        if runs and runs[-1] != after and handed >= count:
            return runs[-1]
        time.sleep(0.5)
    raise AssertionError("the kiosks handed out no tickets")


def test_live_demo_runs_every_device_as_a_process_stops_on_ctrl_c_and_resumes_the_day(
        tmp_path) -> None:
    data = tmp_path / "data"
    demo = _demo(data)                       # no screen here: headless, offscreen
    run_dir = _wait_for_tickets(data, demo, 3)
    assert {p.stem for p in run_dir.glob("*.log")} >= PARTS
    secrets = json.loads((data / "demo-hall" / "secrets.json").read_text())
    assert oct((data / "demo-hall" / "secrets.json").stat().st_mode & 0o777) == "0o600"
    assert not any(t == f"sample-{d}" for d, t in secrets["tokens"].items())
    assert len(secrets["pins"]) == 56 and all(re.fullmatch(r"\d{6}", p)
                                              for p in secrets["pins"].values())
    demo.send_signal(signal.SIGINT)          # Ctrl-C
    out, _ = demo.communicate(timeout=90)
    assert demo.returncode == 0, out
    assert "problem:" not in out
    issued, printed = map(int, re.search(r"tickets issued (\d+) \(printed (\d+)\)",
                                         out).groups())
    assert issued >= 3 and printed == issued, out
    shown, in_store = map(int, re.search(r"calls shown on the zone B wall (\d+) \(store: "
                                         r"(\d+)\)", out).groups())
    assert shown == in_store, out
    voice = int(re.search(r"announcements queued (\d+)", out).group(1))
    assert voice == shown, out     # the zone B wall says its own zone's calls, no others
    assert not _processes_under(data), _processes_under(data)
    first_end = re.search(r"The hall from (\d\d:\d\d) to (\d\d:\d\d)", out).group(2)

    # a second start goes on with the day; a part that dies fails the demo
    demo = _demo(data)
    second = _wait_for_tickets(data, demo, 1, after=run_dir)
    wall = next(line.split(":")[0] for line in _processes_under(data)
                if "wall.jsonl" in line)
    os.kill(int(wall), signal.SIGKILL)
    out, _ = demo.communicate(timeout=90)
    assert demo.returncode == 1, out
    assert re.search(r"problem: wall stopped by itself \(exit -9\)", out), out
    started = re.search(r"The hall from (\d\d:\d\d)", out).group(1)
    assert started >= first_end, out         # not back to 09:00
    assert not _processes_under(data), _processes_under(data)
    numbers = [json.loads(line)["number"] for line in
               (second / "K-B1.jsonl").read_text().splitlines()]
    assert numbers and all(int(n[1:]) > 1 for n in numbers if n.startswith("B"))


@pytest.mark.parametrize(("args", "env", "says"), [
    (["demo", "--speed", "0"], {}, "--speed 0: the live hall needs a clock that runs"),
    (["kiosk", "--server", "ws://127.0.0.1:1", "--device", "K-B1", "--printer",
      "tcp://127.0.0.1:9", "--autopilot", "no-such-plan.json"], {},
     "--autopilot no-such-plan.json: expected a JSON plan"),
    (["caller", "--window", "B01", "--server", "ws://127.0.0.1:1", "--autopilot",
      "PLAN"], {"ONEWINDOW_PIN": ""}, "--autopilot needs the clerk's PIN in $ONEWINDOW_PIN"),
    (["caller", "--window", "B01", "--server", "ws://127.0.0.1:1", "--autopilot",
      "PLAN:speed=0"], {"ONEWINDOW_PIN": "123456"}, "speed must be a number above 0"),
    (["caller", "--window", "B01", "--server", "ws://127.0.0.1:1", "--autopilot",
      "PLAN:no_show=2"], {"ONEWINDOW_PIN": "123456"}, "no_show must be a share from 0 to 1"),
])
def test_the_demo_flags_refuse_a_mistake_in_one_line(tmp_path, args, env, says) -> None:
    if any(a.startswith("PLAN") for a in args):
        given = next(a for a in args if a.startswith("PLAN"))
        plan, content = tmp_path / "plan.json", {"clerk": "clerk-B01"}
        if ":" in given:
            key, value = given.split(":", 1)[1].split("=")
            content[key] = float(value)
        plan.write_text(json.dumps(content))
        args = [str(plan) if a == given else a for a in args]
    run = subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
                         check=False)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert not (tmp_path / "data" / "demo-hall").exists()
