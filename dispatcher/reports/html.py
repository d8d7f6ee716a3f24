"""The report as one self-contained HTML file: the charts as PNG inside it (base64), the
tables after them; nothing to fetch, so it can be mailed or printed as it is."""

from __future__ import annotations

import base64
from html import escape

from .charts import CHARTS
from .columns import GROUPINGS, Column, all_columns, shown
from .figures import ALL, TOTAL, Report, Row
from .text import heading

STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 24px;
       color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
div.wide { overflow-x: auto; }
h3 { font-size: 13px; margin: 14px 0 2px; color: #2f4f6f; }
table { border-collapse: collapse; font-size: 12px; margin: 4px 0 8px; }
th, td { border: 1px solid #c8d2dc; padding: 3px 6px; white-space: nowrap; }
th { white-space: normal; min-width: 44px; max-width: 84px; }
td.name { white-space: normal; min-width: 200px; }
th { background: #dde7f0; font-weight: 600; }
th small { font-weight: 400; color: #555; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { background: #f3f6f9; }
tr.all td { font-weight: 700; border-top: 2px solid #8aa0b5; }
img { max-width: 100%; display: block; margin: 8px 0; }
p.note { color: #555; font-size: 12px; }
@page { size: A3 landscape; margin: 12mm; }
@media print { div.wide { overflow: visible; } table { font-size: 8px; } }
"""


def to_html(report: Report) -> str:
    lines = heading(report)
    parts = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
             f"<title>{escape(lines[0])}</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(lines[0])}</h1><p>{escape(lines[1])}</p>"]
    if report.asof is None:
        parts.append("<p>该期间没有营业日 no business day in this period</p></body></html>")
        return "\n".join(parts)
    parts.append('<p class="note">等候: 取号至首次叫号, 未叫号者计至日结; 百分位为最近秩; '
                 "满意率 = 基本满意及以上 / 评价数. Wait: issue to first call (a ticket never "
                 "called waits until the day closed); percentiles: nearest rank; "
                 "satisfaction: levels 3–5 / rated.</p>")
    for name, chart in CHARTS.items():
        data = base64.b64encode(chart(report)).decode("ascii")
        parts.append(f'<img alt="{name}" src="data:image/png;base64,{data}">')
    sections = _sections(all_columns(report.hall))
    for grouping, (zh, en) in GROUPINGS.items():
        rows = report.table(grouping)
        if not rows:
            continue
        parts.append(f"<h2>{escape(zh)} by {escape(en)}</h2>")
        for (title_zh, title_en), columns in sections:
            parts += [f"<h3>{escape(title_zh)} {escape(title_en)}</h3>", *_table(rows, columns)]
    parts.append("</body></html>")
    return "\n".join(parts)


SECTIONS = (   # a grouping's columns cut into tables a page wide
    (("取号与等候", "tickets and waits"), ("issued", "called", "served", "no_show", "left",
                                           "cancelled", "wait_mean", "wait_p50", "wait_p90",
                                           "wait_max", "within", "overdue")),
    (("办理、利用率与好差评", "service, utilisation and ratings"),
     ("service_mean", "service_p90", "utilisation", "spread", "rated", "r5", "r4", "r3", "r2",
      "r1", "satisfaction")),
    (("流转、办件结果与差评工单", "transfers, outcomes and complaint cases"),
     ("requeued", "transferred", "held", "outcome:", "cases_opened", "cases_closed",
      "cases_overdue")),
)


def _sections(columns: tuple[Column, ...]) -> list[tuple[tuple[str, str], list[Column]]]:
    """Every column in one of the SECTIONS, in its order ("outcome:": each outcome code)."""
    found = []
    for title, keys in SECTIONS:
        found.append((title, [c for k in keys for c in columns
                              if c.key == k or (k.endswith(":") and c.key.startswith(k))]))
    placed = {c.key for _, cs in found for c in cs}
    found[-1][1].extend(c for c in columns if c.key not in placed)   # none: a column added
    return found


def _table(rows: list[Row], columns: list[Column]) -> list[str]:
    header = "".join(f"<th>{escape(c.zh)}<br><small>{escape(c.en)}</small></th>"
                     for c in columns)
    lines = ['<div class="wide"><table><tr><th>期间<br><small>period</small></th>'
             f"<th>名称<br><small>name</small></th>{header}</tr>"]
    for r in rows:
        cells = "".join(f'<td class="n">{shown(c, r.values.get(c.key))}</td>' for c in columns)
        total = "" if r.bucket != TOTAL else (' class="total all"' if _whole(r)
                                              else ' class="total"')
        lines.append(f'<tr{total}><td>{escape(r.bucket)}</td><td class="name">{escape(r.name)}'
                     f"</td>{cells}</tr>")
    lines.append("</table></div>")
    return lines


def _whole(row: Row) -> bool:
    """The table's last row: every key over the whole period."""
    return row.bucket == TOTAL and (row.key == ALL or row.grouping == "hall")
