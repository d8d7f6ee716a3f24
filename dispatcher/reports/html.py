"""The report as one self-contained HTML file: the charts as PNG inside it (base64), the
tables after them; nothing to fetch, so it can be mailed or printed as it is."""

from __future__ import annotations

import base64
from html import escape

from .charts import CHARTS
from .columns import GROUPINGS, all_columns, shown
from .figures import Report
from .text import heading

STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 24px;
       color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
div.wide { overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #c8d2dc; padding: 3px 6px; white-space: nowrap; }
th { background: #dde7f0; font-weight: 600; }
th small { font-weight: 400; color: #555; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
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
    columns = all_columns(report.hall)
    header = "".join(f"<th>{escape(c.zh)}<br><small>{escape(c.en)}</small></th>"
                     for c in columns)
    for grouping, (zh, en) in GROUPINGS.items():
        rows = report.table(grouping)
        if not rows:
            continue
        parts += [f"<h2>{escape(zh)} by {escape(en)}</h2>",
                  '<div class="wide"><table><tr><th>期间<br><small>period</small></th>'
                  f"<th>名称<br><small>name</small></th>{header}</tr>"]
        for r in rows:
            cells = "".join(f'<td class="n">{shown(c, r.values.get(c.key))}</td>'
                            for c in columns)
            parts.append(f"<tr><td>{escape(r.bucket)}</td><td>{escape(r.name)}</td>"
                         f"{cells}</tr>")
        parts.append("</table></div>")
    parts.append("</body></html>")
    return "\n".join(parts)
