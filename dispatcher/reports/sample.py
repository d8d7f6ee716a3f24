"""The sample report in docs/: a simulated week of the sample hall, through a real store.

    python -m dispatcher.reports.sample [--out docs] [--keep FILE.db]

Five days (Monday 2026-11-23 to Friday) of generated arrivals at 80% load, played by
the simulator under ``capped`` through a HallService on a SQLite store, a clerk signed
in at each window, 60% of the citizens rating their service; then ``onewindow report``
of that week by day, as ``report-sample.html`` and ``report-sample.xlsx``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from ..hall import SAMPLE_HALL, Hall, load_hall
from ..simulator.engine import SimOptions
from ..simulator.generate import GenOptions, generate
from .excel import write_xlsx
from .figures import build_report
from .html import to_html
from .period import Period
from .simulated import simulate_stored

MONDAY = date(2026, 11, 23)


def sample_week(hall: Hall, url: str, monday: date = MONDAY, days: int = 5) -> None:
    for i in range(days):
        day = monday + timedelta(days=i)
        arrivals = generate(hall, GenOptions(load=0.8, seed=11 + i))
        options = SimOptions(policy="capped", seed=11 + i, no_show={"*": 0.05},
                             day=day.isoformat(), estimates=False)
        simulate_stored(hall, arrivals, options, url, rate=random.Random(11 + i))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for report-sample.*")
    parser.add_argument("--keep", help="keep the week's SQLite store here (and if it is "
                        "there already, report from it without simulating again)")
    args = parser.parse_args(argv)
    hall = load_hall(SAMPLE_HALL)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or Path(tmp) / "week.db")
        url = f"sqlite:///{path}"
        if not path.exists():
            sample_week(hall, url)
        engine = sa.create_engine(url)
        report = build_report(engine, hall,
                              Period(MONDAY, MONDAY + timedelta(days=4), "day"))
        engine.dispose()
    out = Path(args.out)
    (out / "report-sample.html").write_text(to_html(report), encoding="utf-8")
    write_xlsx(report, out / "report-sample.xlsx")
    print(f"wrote {out / 'report-sample.html'} and {out / 'report-sample.xlsx'}")


if __name__ == "__main__":
    main()
