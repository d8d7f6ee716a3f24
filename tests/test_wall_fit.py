"""The wall shows every count, number and name whole, at every layout, readable
(WCAG AA contrast measured on the rendered picture), with no empty band or gap:
issue 16's "Wall display" points."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from screen_contrast import AA, measure

from dispatcher.client import HallView
from dispatcher.hall import SAMPLE_HALL, hall_layout, load_hall
from display.demo import demo_snapshot, demo_view
from display.model import LAYOUTS, build_board
from display.wall import WallWidget

SIZES = {**LAYOUTS, "720p": (1280, 720)}


def sample_view(waiting: int, *, recent: int = 8) -> HallView:
    """The sample hall (its own names) with every queue at ``waiting`` and every
    fourth window serving a four-digit number."""
    hall = hall_layout(load_hall(SAMPLE_HALL))
    windows = {w: {"state": "serving" if i % 4 == 0 else "closed", "number": "B1234",
                   "ticket": f"t-{w}"} for i, w in enumerate(hall["windows"])}
    calls = [{"ticket": f"t{i}", "number": f"B{1000 + i}", "window": "B03", "at": 1.0 * i,
              "recall": False} for i in range(recent)]
    view = HallView()
    view.load({"hall": hall, "windows": windows, "recent_calls": calls,
               "waiting": {q: waiting for q in hall["queues"]}, "notices": {}}, 1)
    return view


def paint(qtbot: Any, view: HallView, zone: str | None, size: tuple[int, int],
          path: Path | None = None) -> WallWidget:
    wall = WallWidget(zone, now=lambda: 1795399800.0)
    qtbot.addWidget(wall)
    wall.resize(*size)
    wall.set_status("connected")
    wall.show_view(view)
    image = wall.grab().toImage()
    if path is not None:
        image.save(str(path))
    return wall


def text_width(text: str, f: Any) -> float:
    from PySide6.QtGui import QFontMetricsF

    return QFontMetricsF(f).horizontalAdvance(text)


def test_fit_font_shrinks_until_the_whole_text_fits(qapp) -> None:
    from display.fit import english_name, fit_font, fits

    for text in ("128", "1234", "Real Estate Registration", "综合受理窗口B03"):
        for width in (300.0, 60.0, 25.0):
            f = fit_font(text, 80, width, bold=True)
            assert text_width(text, f) <= width and f.pixelSize() <= 80
            if f.pixelSize() < 80:       # shrunk: one pixel more would not fit
                assert not fits(text, fit_font(text, f.pixelSize() + 1, 10_000, bold=True),
                                width)
    assert fit_font("12", 40, 1000).pixelSize() == 40           # never grown
    assert fit_font("12", 40, 1000, height=20).pixelSize() < 20  # a line fits the height
    # English: full if it fits at 90 % of the size, else the hall's abbreviation
    assert english_name("Real Estate Registration", "Real Estate", 20, 2000)[0] == \
        "Real Estate Registration"
    text, f = english_name("Real Estate Registration", "Real Estate", 20, 120)
    assert text == "Real Estate" and text_width(text, f) <= 120
    text, f = english_name("Real Estate Registration", "", 20, 120)   # none: shrunk, whole
    assert text == "Real Estate Registration" and text_width(text, f) <= 120


def test_hall_file_abbreviations_reach_the_wall() -> None:
    hall = load_hall(SAMPLE_HALL)
    assert hall.queues["real_estate"].name_en_short == "Real Estate"
    assert hall_layout(hall)["queues"]["real_estate"]["name_en_short"] == "Real Estate"
    board = build_board(sample_view(5), None)
    rows = {q.id: q for q in board.queues}
    assert rows["real_estate"].name_en_short == "Real Estate"
    assert rows["quick_a"].name_en_short == ""       # none given


@pytest.mark.parametrize(("short", "error"), [
    ("Real Estate Registration", "queues.real_estate.name_en_short: 'Real Estate "
     "Registration' is not shorter than name_en 'Real Estate Registration'"),
    ("", "queues.real_estate.name_en_short: must not be empty"),
    ("Real\nEstate", "queues.real_estate.name_en_short: 'Real\\nEstate' is not one line"),
    (3, "queues.real_estate.name_en_short: expected text in quotes, got 3")])
def test_a_bad_abbreviation_is_refused(short: object, error: str) -> None:
    import copy

    from dispatcher.hall import HallConfigError, parse_hall, read_toml

    raw = copy.deepcopy(read_toml(Path(SAMPLE_HALL)))
    raw["queues"]["real_estate"]["name_en_short"] = short
    with pytest.raises(HallConfigError) as err:
        parse_hall(raw, "hall.toml")
    assert str(err.value).startswith(f"hall.toml: {error}")


@pytest.mark.parametrize("waiting", [128, 1234])
@pytest.mark.parametrize("zone", ["B", None])
@pytest.mark.parametrize("layout", sorted(SIZES))
def test_counts_numbers_and_names_are_shown_whole(qtbot, layout: str, zone: str | None,
                                                  waiting: int) -> None:
    wall = paint(qtbot, sample_view(waiting), zone, SIZES[layout])
    u = min(SIZES[layout][1] / 100, SIZES[layout][0] / 60)
    texts = [d.text for d in wall.drawn]
    assert not any("…" in t for t in texts)
    for d in wall.drawn:       # each one fits its box, whole
        assert text_width(d.text, d.font) <= d.box.width() + 0.5, (d.text, d.box)
    counts = [d for d in wall.drawn if d.text == str(waiting)]
    assert len(counts) == len(wall.board.queues)     # every queue's count, whole
    for d in counts:           # and big enough to read across the hall
        assert d.font.pixelSize() >= 2.0 * u, (layout, d.font.pixelSize())
    for q in wall.board.queues:
        assert q.name in texts
        assert q.name_en in texts or (q.name_en_short and q.name_en_short in texts), q
    numbers = [d for d in wall.drawn if d.text == "B1234"]
    assert len(numbers) >= len([w for w in wall.board.windows if w.number])
    assert all(d.font.pixelSize() >= 1.2 * u for d in numbers)


def test_recent_calls_list_a_number_once_with_its_latest_call() -> None:
    from display.model import latest_calls

    snap = demo_snapshot()     # B016 called, then recalled; J004 called back later
    snap["recent_calls"].insert(-1, {"ticket": "20261123-J004", "number": "J004",
                                     "window": "B11", "at": 1795399790.0, "recall": False})
    view = HallView()
    view.load(snap, 1)
    board = build_board(view, "B")
    numbers = [c.number for c in board.recent]
    assert len(numbers) == len(set(numbers)) and board.newest.number not in numbers
    assert numbers[:2] == ["J004", "B016"]
    assert next(c for c in board.recent if c.number == "B016").recall   # its latest state
    assert latest_calls([]) == []


def test_pause_reasons_are_bilingual() -> None:
    from caller.model import PAUSE_REASONS as PANEL
    from dispatcher.console.model import PAUSE_REASONS as CONSOLE
    from display.model import pause_words

    for reason in (*PANEL, *CONSOLE):            # what the panel and console send
        zh, en = pause_words(reason)
        assert zh and en and zh in reason and en in reason
        assert pause_words(zh) == (zh, en)       # and the bare Chinese word
    assert pause_words("午间交接") == ("午间交接", "Shift handover")
    assert pause_words("keypad") == ("", "") and pause_words(None) == ("", "")
    tiles = {w.id: w for w in build_board(demo_view(), "B").windows}
    assert (tiles["B14"].reason, tiles["B14"].reason_en) == ("午间交接", "Shift handover")
    assert tiles["B06"].reason_en == "System problem"


def test_no_notice_no_band(qtbot) -> None:
    snap = demo_snapshot()
    snap["notices"] = {}
    view = HallView()
    view.load(snap, 1)
    for layout in ("1080p", "portrait"):
        width, height = LAYOUTS[layout]
        wall = paint(qtbot, view, "B", (width, height))
        image = wall.grab().toImage()
        band = image.pixelColor(width // 2, int(height * 0.965))
        assert band.green() < 0x30, band.name()    # not the notice's green strip
        lowest = max(d.rect.bottom() for d in wall.drawn)
        assert lowest > 0.93 * height              # the counts use the band's room


def test_portrait_has_no_blank_gap_and_puts_open_windows_first(qtbot) -> None:
    view = demo_view()
    wall = paint(qtbot, view, "B", LAYOUTS["portrait"])
    gaps, reach = [], 0.0       # the rows of the screen with no text at all
    for top, bottom in sorted((d.rect.top(), d.rect.bottom()) for d in wall.drawn):
        gaps.append(top - reach)
        reach = max(reach, bottom)
    gaps.append(1920 - reach)
    assert max(gaps) < 0.05 * 1920, gaps            # no band of nothing
    tiles = [d.text for d in wall.drawn if d.text.startswith("B") and len(d.text) == 3]
    opened = [w.id for w in wall.board.windows if w.open]
    assert tiles[:len(opened)] == opened            # open windows first
    # a hall-wide portrait wall of the sample hall: short of room, only open windows
    wall = paint(qtbot, sample_view(3), None, LAYOUTS["portrait"])
    shown = {d.text for d in wall.drawn}
    assert "关闭 Closed" not in shown
    assert any("more closed" in t for t in shown)


@pytest.mark.parametrize(("layout", "state"), [(layout, "live") for layout in sorted(LAYOUTS)]
                         + [("1080p", "flashing"), ("portrait", "lost")])
def test_every_text_has_aa_contrast_on_the_rendered_wall(qtbot, tmp_path: Path,
                                                         layout: str, state: str) -> None:
    """Measured on the PNG (tests/screen_contrast.py): each text's own extent, its
    most common colour against the pixel that contrasts most with it."""
    snap = demo_snapshot()
    snap["recent_calls"][-1]["recall"] = True      # the recall tag on the newest call too
    view = HallView()
    view.load(snap, 1)
    path = tmp_path / f"{layout}.png"
    wall = paint(qtbot, view, "B", LAYOUTS[layout])
    wall._flash_on = state == "flashing"
    wall.set_status("disconnected" if state == "lost" else "connected")
    wall.grab().toImage().save(str(path))
    image = Image.open(path)
    bad = []
    for d in wall.drawn:
        r = d.rect
        contrast, bg, fg = measure(image, (r.x(), r.y(), r.width(), r.height()))
        if contrast < AA:
            bad.append((d.text, round(contrast, 2), bg, fg))
    assert len(wall.drawn) > 100 and not bad, bad


def test_the_grid_of_no_windows_is_no_division_by_zero() -> None:
    """Before its first snapshot the wall paints with no windows at all."""
    from display.board import _grid

    assert _grid(0, 1920.0, 600.0, 1.6) == (1, 1)
    assert _grid(0, 1080.0, 900.0, 1.6, portrait=True) == (1, 1)
