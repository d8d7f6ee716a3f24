"""`onewindow report`: its formats (text, CSV, Excel, HTML with charts), its mistakes (one
line, exit 2, never a traceback), and the benchmark's year generator (its events are
the store's: projected by the real store, they give the generator's ticket rows)."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image

from bench.report_year import YearGenerator
from dispatcher.cli import main
from dispatcher.core import commands as c
from dispatcher.core.events import event_from_dict
from dispatcher.hall import SAMPLE_HALL, Hall, load_hall
from dispatcher.reports.simulated import StoredCore, simulate_stored
from dispatcher.simulator.engine import SimOptions
from dispatcher.simulator.generate import GenOptions, generate
from dispatcher.store import EventStore, tickets

DAY = "2026-11-25"


@pytest.fixture(scope="module")
def hall() -> Hall:
    return load_hall(SAMPLE_HALL)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, hall: Hall) -> str:
    path = tmp_path_factory.mktemp("report") / "hall.db"
    arrivals = generate(hall, GenOptions(tickets=200, seed=2))
    simulate_stored(hall, arrivals, SimOptions(day=DAY, estimates=False,
                                               no_show={"*": 0.05}), f"sqlite:///{path}")
    return f"sqlite:///{path}"


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_and_csv(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = report(capsys, "--db", store, "--from", DAY, "--to", DAY, "--by", "day")
    assert (code, err) == (0, "")
    assert "统计报表" in out and "大厅 by hall" in out and "窗口 by window" in out
    assert re.search(r"平均等候.*\n.*wait mean", out)          # Chinese first, English second
    code, out, err = report(capsys, "--db", store, "--from", DAY, "--to", DAY,
                            "--format", "csv")
    assert code == 0 and out.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out[1:])))
    hall_row = next(r for r in rows if r["分组 grouping"] == "hall")
    assert hall_row["取号 issued"] == "200" and hall_row["期间 bucket"] == "2026-11"
    assert {"已办结 Done", "满意率 satisfaction", "冷热差 hot-cold spread"} <= set(rows[0])


def test_excel_has_a_sheet_per_grouping_frozen_and_formatted(
        store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.xlsx"
    code, _, err = report(capsys, "--db", store, "--from", DAY, "--to", DAY, "--format",
                          "xlsx", "--out", str(out))
    assert (code, err) == (0, "")
    book = load_workbook(out)
    assert book.sheetnames == ["说明 About", "大厅 hall", "区域 zone", "循环 loop", "队列 queue",
                               "号类 class", "窗口 window", "工作人员 clerk",
                               "窗口利用率 utilisation", "分时取号 arrivals",
                               "周满意率 satisfaction"]
    sheet = book["队列 queue"]
    assert sheet.freeze_panes == "C3"
    heads = {sheet.cell(1, j).value: j for j in range(1, sheet.max_column + 1)}
    assert sheet.cell(2, heads["平均等候"]).value == "wait mean"
    assert sheet.cell(3, heads["平均等候"]).number_format == "0.0"
    assert sheet.cell(3, heads["按时叫号率"]).number_format == "0.0%"
    assert sheet.cell(3, heads["取号"]).number_format == "0"
    last = sheet.max_row            # the table ends with its total: the queues' tickets
    assert sum(sheet.cell(i, heads["取号"]).value for i in range(3, last)) == 200
    assert [sheet.cell(last, j).value for j in (1, 2, heads["取号"])] == [
        "合计 total", "全部队列 all queues", 200]
    assert sheet.cell(last, 1).font.bold and not sheet.cell(last - 1, 1).font.bold


def test_html_is_one_file_with_its_charts(store: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    code, _, err = report(capsys, "--db", store, "--from", DAY, "--to", DAY, "--format",
                          "html", "--out", str(out))
    assert (code, err) == (0, "")
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(http|//)", html)      # nothing to fetch
    images = re.findall(r'alt="(\w+)" src="data:image/png;base64,([^"]+)"', html)
    assert [name for name, _ in images] == ["hourly", "heatmap", "windows", "satisfaction"]
    for _, data in images:
        picture = Image.open(io.BytesIO(base64.b64decode(data)))
        assert picture.format == "PNG" and picture.width > 600


@pytest.mark.parametrize("args, message", [
    (["--db", "sqlite:///{tmp}/none.db"], "no such database file"),
    (["--db", "nonsense"], "not a database URL"),
    (["--db", "sqlite:///{tmp}/other.db"], "not a OneWindow store"),
    (["--db", "postgresql+psycopg://postgres@127.0.0.1:1/x"], "cannot open it"),
    (["--db", "{store}", "--from", "2026-11-30", "--to", "2026-11-01"], "is before --from"),
    (["--db", "{store}", "--from", "2026-02-30"], "expected a date like"),
    (["--db", "{store}", "--from", "2020-01-01", "--to", "2026-01-01"], "at most"),
    (["--db", "{store}", "--format", "xlsx"], "needs --out"),
    (["--db", "{store}", "--format", "pdf"], "invalid choice"),
    (["--db", "{store}", "--by", "year"], "invalid choice"),
    (["--db", "{store}", "--out", "{tmp}/no/such/folder/r.txt"], "cannot write it"),
    (["--db", "{store}", "--hall", "{tmp}/none.toml"], "file not found"),
    (["--from", "2026-11-01", "--to", "2026-11-30"], "--db URL"),
])
def test_mistakes_are_one_line_and_exit_2(store: str, tmp_path: Path, args: list[str],
                                          message: str, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    (tmp_path / "other.db").write_bytes(b"")
    sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}").connect().close()
    given = [a.format(tmp=tmp_path, store=store) for a in args]
    if "--from" not in given:
        given += ["--from", "2026-11-01"]
    if ("--to" not in given and "--from" in args) or "--to" not in given:
        given += ["--to", "2026-11-30"]
    try:
        code = main(["report", *given])
    except SystemExit as exc:      # argparse's own mistakes
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err


def test_a_period_without_business_days(store: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = report(capsys, "--db", store, "--from", "2026-12-01", "--to", "2026-12-31")
    assert code == 0 and "没有营业日 no business day" in out


def test_the_year_generator_writes_what_the_store_would(tmp_path: Path, hall: Hall) -> None:
    day = YearGenerator(hall, tickets_per_day=150, seed=4).day(date(2026, 11, 23))
    with EventStore.open(f"sqlite:///{tmp_path / 'projected.db'}", hall=hall) as store:
        for row in day.events:
            seqs = store.append([event_from_dict(json.loads(row[4]))], device=row[5])
            assert seqs == [row[0]]                        # the same seqs
        with store.engine.connect() as conn:
            projected = {r["id"]: dict(r) for r in conn.execute(sa.select(tickets)).mappings()}
    made = {t["id"]: t for t in day.tickets}
    assert len(made) == 150 and projected.keys() == made.keys()
    for tid, row in made.items():
        assert projected[tid] == row, tid


def test_stored_core_issues_at_a_kiosk_of_the_zone(tmp_path: Path, hall: Hall) -> None:
    from dispatcher.service import HallService

    with HallService.open(hall, f"sqlite:///{tmp_path / 'k.db'}") as service:
        core = StoredCore(service)
        core.execute(c.IssueTicket("quick_b", zone="B"), 1795500000.0)
        with service.store.engine.connect() as conn:
            devices = [d for (d,) in conn.execute(sa.text(
                "select device from events where name = 'ticket_issued'"))]
    assert devices == [hall.zones["B"].kiosks[0]]
