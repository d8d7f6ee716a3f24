"""The HTML report as a manager opens it: headless Chromium (Debian's chromium and
chromedriver through selenium) at 1280 CSS pixels, on a report made by ``onewindow
report`` from a simulated day in a real store.

The four charts are images that loaded (decoded, ``naturalWidth`` > 0); every table
fits the page (no column hidden behind a scroll bar); the figures in the cells are the
report's own, the zero rows and the total rows included; the CJK font is there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dispatcher.cli import main
from dispatcher.hall import SAMPLE_HALL, Hall, load_hall
from dispatcher.reports import Period, Report, build_report
from dispatcher.reports.columns import GROUPINGS, all_columns, shown
from dispatcher.reports.figures import ALL, TOTAL
from dispatcher.reports.html import _sections
from dispatcher.reports.shot import browser, open_page
from dispatcher.reports.simulated import simulate_stored
from dispatcher.simulator.engine import SimOptions
from dispatcher.simulator.generate import GenOptions, generate

DAY = "2026-11-25"
WIDTH = 1280
TABLES_JS = """
const found = [];
for (const el of document.querySelectorAll("h2, table")) {
  if (el.tagName === "H2") { found.push([el.textContent, []]); continue; }
  found[found.length - 1][1].push({
    rows: [...el.rows].slice(1).map(r => [...r.cells].map(c => c.textContent)),
    width: el.getBoundingClientRect().right, total: [...el.rows].slice(1)
      .map(r => r.className)});
}
return found;
"""


@pytest.fixture(scope="module")
def hall() -> Hall:
    return load_hall(SAMPLE_HALL)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, hall: Hall) -> tuple[Path, Report]:
    """The HTML report of a simulated day (by day), and the same report as figures."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'hall.db'}"
    simulate_stored(hall, generate(hall, GenOptions(tickets=200, seed=2)),
                    SimOptions(day=DAY, estimates=False, no_show={"*": 0.05}), url)
    out = folder / "report.html"
    assert main(["report", "--db", url, "--from", DAY, "--to", DAY, "--by", "day",
                 "--format", "html", "--out", str(out)]) == 0
    engine = sa.create_engine(url)
    try:
        day = date.fromisoformat(DAY)
        report = build_report(engine, hall, Period(day, day, "day"))
    finally:
        engine.dispose()
    return out, report


@pytest.fixture(scope="module")
def page(made: tuple[Path, Report]) -> Iterator[Any]:
    with browser(WIDTH) as driver:
        open_page(driver, made[0], WIDTH)
        yield driver


def test_the_charts_are_images_that_loaded(page: Any) -> None:
    images = page.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth, "
        "i.naturalHeight, i.getBoundingClientRect().right])")
    assert [i[0] for i in images] == ["hourly", "heatmap", "windows", "satisfaction"]
    for alt, complete, width, height, right in images:
        assert complete and width > 600 and height > 200, alt
        assert right <= WIDTH, alt                      # the chart is not cut at the right


def test_the_cjk_font_is_there(page: Any) -> None:
    assert page.execute_script("return document.fonts.check('12px \"Noto Sans CJK SC\"')")
    assert page.execute_script("return document.title").startswith("开阳县")


def test_every_table_fits_and_shows_the_reports_figures(
        page: Any, made: tuple[Path, Report], hall: Hall) -> None:
    report = made[1]
    tables = dict(page.execute_script(TABLES_JS))
    sections = _sections(all_columns(hall))
    assert list(tables) == [f"{zh} by {en}" for g, (zh, en) in GROUPINGS.items()
                            if g != "clerk"]            # the simulator signs nobody in
    for grouping, (zh, en) in GROUPINGS.items():
        if grouping == "clerk":
            continue
        shown_tables = tables[f"{zh} by {en}"]
        rows = report.table(grouping)
        assert len(shown_tables) == len(sections), grouping
        for table, (_, columns) in zip(shown_tables, sections, strict=True):
            assert table["width"] <= WIDTH, (grouping, [c.key for c in columns])
            assert table["rows"] == [
                [r.bucket, r.name, *(shown(c, r.values.get(c.key)) for c in columns)]
                for r in rows], grouping
            assert table["total"] == [
                "" if r.bucket != TOTAL else "total all" if r.key in (ALL, "") else "total"
                for r in rows]                          # the last row in bold
    hall_cells = tables["大厅 by hall"][0]["rows"][0]
    assert hall_cells[:3] == [DAY, f"{hall.name} {hall.name_en}", "200"]
    windows = [r for r in report.table("window") if r.bucket == DAY]
    assert len(windows) == len(hall.windows)            # every window, if it finished nothing
    last = tables["窗口 by window"][0]["rows"][-1]
    assert last[:2] == [TOTAL, "全部窗口 all windows"]
    assert report.table("window")[-1].key == ALL
