"""bench/bench_peak.py end to end at a tiny size: every part runs against a real hub
subprocess, every figure is printed, and no listener missed a call. No timing is
asserted (timing is the bench's own business)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LISTENERS = 20


def run_bench(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.bench_peak", "--quick", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def figures(stdout: str) -> dict[str, Any]:
    line = next(x for x in stdout.splitlines() if x.startswith("PEAK_JSON "))
    return dict(json.loads(line.removeprefix("PEAK_JSON ")))


def real_number(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


@pytest.mark.slow
def test_tiny_peak_run_reports_every_figure_and_loses_nothing(tmp_path: Path) -> None:
    done = run_bench("--listeners", str(LISTENERS), "--windows", "5", "--kiosks", "4",
                     "--tickets", "40", "--real-seconds", "4", "--floor-seconds", "3",
                     "--issue-tickets", "8", "--issue-rounds", "1", "--probes", "8",
                     "--listener-procs", "2", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = figures(done.stdout)

    assert out["devices"] == LISTENERS + 5 + 4     # provisioned by onewindow token
    for path in out["issue"].values():
        assert real_number(path["per_s"]) and real_number(path["p99_ms"])
    real, full, floor = out["real"], out["full"], out["floor"]
    assert real["tickets"] + full["tickets"] == 40
    for part in (real, full):
        for key in ("issue_p50_ms", "issue_p99_ms", "call_reply_p99_ms", "tickets_per_s",
                    "hub_cpu_s"):
            assert real_number(part[key]), key
        screen = part["screen"]
        assert screen["calls"] == part["tickets"]            # every ticket was called
        assert screen["pairs"] == part["tickets"] * LISTENERS
        assert screen["missing"] == 0 and screen["duplicates"] == 0 and screen["gaps"] == 0
        for key in ("p50_ms", "p99_ms", "last_p50_ms", "last_p99_ms"):
            assert real_number(screen[key]), key
    assert floor["calls"] > 0 and floor["missing"] == 0
    assert real["screen"]["window_calls"] == floor["calls"]   # the same calls, like for like
    assert real_number(real["screen"]["window_p99_ms"])
    assert real_number(floor["p99_ms"]) and real_number(floor["last_p99_ms"])
    for key in ("hub_rss_idle_mb", "hub_rss_day_mb", "hub_hwm_day_mb", "hub_cpu_day_s",
                "hub_rss_after_storm_mb"):
        assert real_number(out[key]), key

    storm = out["storm"]
    assert storm["listeners_lost"] == LISTENERS
    assert storm["listeners_resynced"] == LISTENERS
    assert storm["devices"] == LISTENERS + 5 + 4     # callers, kiosks, the probe process
    assert storm["probe_commands"] > 0 and storm["near_probe_commands"] > 0
    for key in ("hub_start_s", "all_resynced_after_kill_s", "probe_p99_ms",
                "near_probe_p99_ms"):
        assert real_number(storm[key]), key
    assert 0 < storm["hub_cpu_share"] <= 1.2, storm["hub_cpu_share"]   # one loop's thread
    assert out["closed"] == []

    text = done.stdout
    assert "Goals of issue 22" in text
    for goal in ("4 kiosks", "in flight", "issue p99", "call → screen p99", "full speed",
                 "within 5 s of the kill", "command p99", "hub RSS"):
        assert goal in text, goal


@pytest.mark.parametrize("args, says", [
    (["--listeners", "0"], "--listeners must be at least 1"),
    (["--rate", "fast"], "invalid choice"),
    (["--kiosks", "2"], "at least 4 kiosks"),
    (["--listener-procs", "9", "--listeners", "3"], "cannot exceed --listeners"),
])
def test_operator_mistakes_get_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = run_bench(*args)
    assert done.returncode == 2
    assert says in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
