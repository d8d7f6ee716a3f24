"""The supervision screen (`onewindow supervise`) against a real `onewindow central`.

Two real halls (`onewindow serve` on their SQLite stores, a `onewindow ship` beside
each, the central PostgreSQL: test_central's ``City``) work a busy stretch; then the
screen, a PySide6 widget on the project's client library, must show each hall's
figures as the hall's own hub shows them, turn a hall red when its link is cut, say
so when the centre itself goes away, and stop at a refused token. The screenshot is
docs/images/supervision.png when ``ONEWINDOW_SCREENSHOTS=docs/images``.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import ROOT
from PIL import Image
from test_central import CLOSED_PORT, City, Proc, _hall_snapshot, drive

from dispatcher.central import board
from dispatcher.central.screen import RED, SupervisionClient, SupervisionScreen
from dispatcher.hall import SAMPLE_HALL
from dispatcher.hub.devices import hash_token

FAST = {"backoff_min": 0.1, "backoff_max": 0.5}
STALE_AFTER = 6.0   # a live hall's shipper, on a loaded 2-core box, went 3 s unheard


@pytest.fixture(scope="module")
def city(tmp_path_factory, postgres_available) -> Iterator[City]:
    the_city = City(tmp_path_factory.mktemp("city"))
    try:
        for hall in the_city.hubs:
            the_city.ship(hall)
        drive(the_city, 10, seed=11)
        for hall in the_city.hubs:
            the_city.caught_up(hall)
        yield the_city
    finally:
        the_city.close()


class Centre:
    """`onewindow central` serving the supervision view, as a subprocess."""

    def __init__(self, city: City, folder: Path) -> None:
        self.token = "supervisor-" + uuid.uuid4().hex
        devices = folder / "supervision.toml"
        devices.write_text(f'[[device]]\nid = "S-CITY"\nrole = "supervision"\n'
                           f'token_hash = "{hash_token(self.token)}"\n', encoding="utf-8")
        # hall B: the sample hall's file under its own name, as each hall has its own
        hall_b = folder / "hall_b.toml"
        hall_b.write_text(SAMPLE_HALL.read_text(encoding="utf-8").replace(
            "开阳县政务服务中心", "修文县政务服务中心").replace("Kaiyang", "Xiuwen"),
            encoding="utf-8")
        self.proc = Proc([sys.executable, "-m", "dispatcher.cli", "central", "--db",
                          str(city.engine.url.render_as_string(False)), "--schema",
                          city.schema, "--devices", str(devices), "--port", "0",
                          "--every", "0.5", "--hall-file", f"hall_b={hall_b}"])
        assert self.proc.proc.stdout is not None
        line = self.proc.proc.stdout.readline()
        port = re.search(r"listening on ws://[^:]+:(\d+)", line)
        assert port, (line, self.proc.lines)
        self.url = f"ws://127.0.0.1:{port.group(1)}"


@pytest.fixture
def centre(city: City, tmp_path: Path) -> Iterator[Centre]:
    served = Centre(city, tmp_path)
    try:
        yield served
    finally:
        served.proc.kill()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("ONEWINDOW_SCREENSHOTS") or tmp_path)


def open_screen(qtbot: Any, url: str, token: str) -> SupervisionScreen:
    hub = SupervisionClient(url, "S-CITY", token, **FAST)
    screen = SupervisionScreen(hub, every=0.5, stale_after=STALE_AFTER)
    qtbot.addWidget(screen)
    screen.resize(1600, 900)
    screen.show()
    hub.start()
    return screen


def cell(screen: SupervisionScreen, hall: str, column: int) -> Any:
    row = [r.id for r in screen.rows].index(hall)
    return screen.halls.item(row, column)


def both_live(screen: SupervisionScreen) -> bool:
    return all(cell(screen, hall, 9).text() == "实时 live" for hall in ("hall_a", "hall_b"))


def test_the_screen_shows_each_halls_figures_and_turns_a_cut_hall_red(
        qtbot: Any, city: City, centre: Centre, out_dir: Path) -> None:
    own = {h: asyncio.run(_hall_snapshot(hub.url))["snapshot"] for h, hub in city.hubs.items()}
    screen = open_screen(qtbot, centre.url, centre.token)
    try:
        qtbot.waitUntil(lambda: len(screen.rows) == 2 and both_live(screen), timeout=15000)
        assert [r.id for r in screen.rows] == ["hall_a", "hall_b"]
        for hall, snap in own.items():
            waiting = sum(snap["waiting"].values())
            open_windows = sum(w["state"] != "closed" for w in snap["windows"].values())
            assert cell(screen, hall, 4).text() == str(waiting)
            assert cell(screen, hall, 7).text().startswith(f"{open_windows} / ")
            assert cell(screen, hall, 9).text() == "实时 live"
            assert int(cell(screen, hall, 3).text()) > 0          # served today
        assert cell(screen, "hall_a", 0).text() == (
            "开阳县政务服务中心 · hall_a\nKaiyang County Government Service Center")
        assert cell(screen, "hall_b", 0).text().startswith("修文县政务服务中心 · hall_b\nXiuwen")
        assert "已连接 connected" in screen.status.text()

        city.ship("hall_b", central=CLOSED_PORT)                  # hall B's link is cut
        # B goes red and stays red while A, still shipping, is live: on a loaded box a
        # live hall's shipper can itself go unheard for a while, so A is waited for too
        qtbot.waitUntil(lambda: cell(screen, "hall_b", 9).text().startswith("失联")
                        and cell(screen, "hall_a", 9).text() == "实时 live",
                        timeout=STALE_AFTER * 1000 + 20000)
        assert cell(screen, "hall_b", 9).foreground().color() == RED
        assert "1 个上报中断 stale" in screen.status.text()
        qtbot.wait(600)
        shot = screen.screenshot(out_dir / "supervision.png")
        assert Image.open(shot).size == (1600, 900)

        centre.proc.kill()                                         # the centre goes away
        qtbot.waitUntil(lambda: "已断开" in screen.status.text(), timeout=10000)
        assert "Disconnected from the centre" in screen.status.text()
    finally:
        screen.hub.close(timeout=2)
        city.ship("hall_b")
        city.caught_up("hall_b")


def test_a_wrong_token_is_refused_once_and_said_on_the_screen(
        qtbot: Any, centre: Centre) -> None:
    screen = open_screen(qtbot, centre.url, "not-the-token")
    try:
        qtbot.waitUntil(lambda: screen.hub.status == "refused", timeout=10000)
        qtbot.wait(300)
        assert "中心拒绝了本设备" in screen.status.text()
        assert screen.rows == []
    finally:
        screen.hub.close(timeout=2)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", "supervise", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def test_the_command_renders_the_screen_and_stops_at_a_refused_token(
        centre: Centre, tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    done = cli("--server", centre.url, "--token", centre.token, "--screenshot", str(png))
    assert done.returncode == 0, done.stderr
    assert Image.open(png).size == (1600, 900)
    refused = cli("--server", centre.url, "--token", "wrong", "--screenshot", str(png))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: the centre refused device S-CITY (wrong device id, role or token)")


@pytest.mark.parametrize(("args", "says"), [
    (["--server", "ws://127.0.0.1:8766"], "--token"),
    (["--server", "http://x", "--token", "t"], "--server"),
    (["--server", "ws://127.0.0.1:8766", "--token", "t", "--every", "0"], "--every"),
    (["--server", "ws://127.0.0.1:8766", "--token", "t", "--stale-after", "-1"], "--stale"),
])
def test_a_mistake_on_the_command_line_is_one_line(args: list[str], says: str) -> None:
    env_free = {k: v for k, v in os.environ.items() if k != "ONEWINDOW_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "dispatcher.cli", "supervise", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=30, env=env_free)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and says in lines[0], lines


def test_shipping_words_by_how_far_behind() -> None:
    live = {"last_contact_seconds": 0.4, "behind_events": 0, "behind_seconds": 0.0}
    assert board.shipping(live, 0.0, 60) == (board.LIVE, "实时 live")
    assert board.shipping({**live, "behind_events": 3}, 0.0, 60)[0] == board.BEHIND
    late = {**live, "behind_events": 900, "behind_seconds": 125.0}
    assert board.shipping(late, 0.0, 60) == (board.STALE, "落后 900 件 · 2:05 behind")
    assert board.shipping(live, 75.0, 60) == (board.STALE, "失联 1:15 no contact")
    assert board.shipping({"last_contact_seconds": None}, 0.0, 60)[0] == board.STALE
