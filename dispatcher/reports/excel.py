"""The report as an Excel workbook (openpyxl): one sheet per grouping, then the windows'
utilisation, arrivals by hour and weekday, and satisfaction by week. Headers are frozen,
Chinese over English; minutes show one decimal, shares as percentages."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .columns import GROUPINGS, WEEKDAY_NAMES, Column, all_columns
from .figures import TOTAL, Report
from .text import heading

FORMATS = {"count": "0", "minutes": "0.0", "share": "0.0%", "rate": "0.00"}
HEAD = PatternFill("solid", fgColor="DDE7F0")
TOTAL_FILL = PatternFill("solid", fgColor="F3F6F9")


def write_xlsx(report: Report, path: str | Path) -> None:
    book = Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "说明 About"
    for i, line in enumerate([*heading(report), "",
                              "等候: 取号至首次叫号; 未叫号者计至日结 (wait: issue to first call; "
                              "a ticket never called waits until the day closed)",
                              "百分位: 最近秩 (percentiles: nearest rank)",
                              "满意率: 基本满意及以上 / 评价数 (satisfaction: levels 3–5 / rated)"],
                             1):
        cover.cell(i, 1, line)
    cover.column_dimensions["A"].width = 100
    columns = all_columns(report.hall)
    for grouping, (zh, en) in GROUPINGS.items():
        rows = report.table(grouping)
        sheet = book.create_sheet(f"{zh} {en}")
        _table(sheet, [Column("bucket", "期间", "period"), Column("name", "名称", "name"),
                       *columns],
               [[r.bucket, r.name, *(r.values.get(c.key) for c in columns)] for r in rows])
    windows = report.hall.windows
    _table(book.create_sheet("窗口利用率 utilisation"),
           [Column("bucket", "期间", "period"), Column("window", "窗口", "window"),
            Column("zone", "区域", "zone"), Column("busy", "服务时长(时)", "busy hours", "rate"),
            Column("open", "开放时长(时)", "open hours", "rate"),
            Column("utilisation", "利用率", "utilisation", "share")],
           [[u.bucket, f"{windows[u.window].name} {windows[u.window].name_en}", u.zone,
             u.busy_hours, u.open_hours, u.utilisation] for u in report.usage])
    _table(book.create_sheet("分时取号 arrivals"),
           [Column("weekday", "星期", "weekday"), Column("hour", "时", "hour"),
            Column("arrivals", "取号", "arrivals"),
            Column("wait", "平均等候(分)", "mean wait (min)", "minutes")],
           [[WEEKDAY_NAMES[h.weekday], h.hour, h.arrivals, h.wait_mean] for h in report.hourly])
    _table(book.create_sheet("周满意率 satisfaction"),
           [Column("week", "周", "week"), Column("rated", "评价数", "rated"),
            Column("low", "差评", "dissatisfied"),
            Column("satisfaction", "满意率", "satisfaction", "share")],
           [[w.week, w.rated, w.low, w.satisfaction] for w in report.weekly])
    book.save(path)


def _table(sheet: Worksheet, columns: list[Column], rows: list[list[object]]) -> None:
    for j, column in enumerate(columns, 1):
        for i, text in ((1, column.zh), (2, column.en)):
            cell = sheet.cell(i, j, text)
            cell.font, cell.fill = Font(bold=True), HEAD
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        letter = get_column_letter(j)
        sheet.column_dimensions[letter].width = 40 if column.key == "name" else 12
    for i, row in enumerate(rows, 3):
        for j, (column, value) in enumerate(zip(columns, row, strict=True), 1):
            cell = sheet.cell(i, j, value)
            if isinstance(value, int | float):
                cell.number_format = FORMATS[column.kind]
            if row[0] == TOTAL:        # the period's totals; bold: every key's
                cell.fill = TOTAL_FILL
                cell.font = Font(bold=row is rows[-1])
    sheet.freeze_panes = "C3"     # the headers and the first two columns stay in view
