"""The report as text (a terminal, a mail) and as CSV (every row and column, UTF-8 with
a BOM so that Excel reads the Chinese)."""

from __future__ import annotations

import csv
import io
import unicodedata

from .columns import GROUPINGS, all_columns, shown
from .figures import Report

TEXT_COLUMNS = ("issued", "served", "no_show", "left", "wait_mean", "wait_p50", "wait_p90",
                "wait_max", "within", "service_mean", "service_p90", "satisfaction",
                "cases_opened", "utilisation")


def width(text: str) -> int:
    """Terminal columns: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, cols: int, right: bool = False) -> str:
    gap = " " * max(0, cols - width(text))
    return gap + text if right else text + gap


def heading(report: Report) -> list[str]:
    hall, period = report.hall, report.period
    asof = ""
    if report.asof is not None:
        asof = f"; 数据截至 data as of {hall.local_time(report.asof):%Y-%m-%d %H:%M}"
    return [f"{hall.name} 统计报表  {hall.name_en} report",
            f"期间 period {period.label}, 按{_BY[period.by]} by {period.by}{asof}"]


_BY = {"day": "日", "week": "周", "month": "月"}


def to_text(report: Report) -> str:
    lines = heading(report)
    if report.asof is None:
        return "\n".join([*lines, "", "该期间没有营业日 no business day in this period"])
    columns = [c for c in all_columns(report.hall) if c.key in TEXT_COLUMNS]
    cols = [max(width(c.zh), width(c.en), 7) + 1 for c in columns]
    for grouping, (zh, en) in GROUPINGS.items():
        rows = report.table(grouping)
        if not rows:
            continue
        name_w = max(24, *(width(r.name) + 1 for r in rows))
        sized = list(zip(columns, cols, strict=True))
        lead = pad("", 12 + name_w)
        lines += ["", f"{zh} by {en}",
                  lead + "".join(pad(c.zh, w, True) for c, w in sized),
                  lead + "".join(pad(c.en, w, True) for c, w in sized)]
        for r in rows:
            lines.append(pad(r.bucket, 12) + pad(r.name, name_w) + "".join(
                pad(shown(c, r.values.get(c.key)), w, True) for c, w in sized))
    lines += ["", "CSV、Excel 与 HTML 含全部列 (--format csv|xlsx|html): every column there"]
    return "\n".join(lines)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    columns = all_columns(report.hall)
    writer.writerow(["期间 bucket", "分组 grouping", "编号 key", "名称 name",
                     *(c.label for c in columns)])
    for r in report.rows:
        writer.writerow([r.bucket, r.grouping, r.key, r.name,
                         *(_raw(r.values.get(c.key)) for c in columns)])
    return out.getvalue()


def _raw(value: float | int | None) -> str:
    """CSV keeps full precision (minutes, shares as fractions); empty for none."""
    return "" if value is None else repr(value) if isinstance(value, float) else str(value)
