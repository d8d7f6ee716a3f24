"""The report's charts as PNG bytes (matplotlib's Figure on Agg, without pyplot: no
display, no global state), labelled in Chinese then English with the CJK font the
project installs (fonts-noto-cjk)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .columns import WEEKDAY_NAMES
from .figures import Report

FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
ZONE_COLOURS = ("#2f6f9f", "#d08c2c", "#4f9a5a", "#8a5a9f")


@contextmanager
def _figure(width: float = 9.0, height: float = 3.6) -> Iterator[Figure]:
    with rc_context({"font.family": FONTS, "axes.unicode_minus": False,
                     "axes.spines.top": False, "figure.dpi": 110}):
        yield Figure(figsize=(width, height))   # no pyplot: Agg, nothing global


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.tight_layout()
    fig.savefig(out, format="png")
    return out.getvalue()


def hourly_chart(report: Report) -> bytes:
    """Tickets issued per hour of the day (bars) and their mean wait (line)."""
    hours = sorted({h.hour for h in report.hourly})
    arrivals = {hour: sum(h.arrivals for h in report.hourly if h.hour == hour) for hour in hours}
    waits = {hour: sum(h.arrivals * h.wait_mean for h in report.hourly if h.hour == hour)
             / arrivals[hour] for hour in hours}
    with _figure() as fig:
        ax = fig.add_subplot()
        ax.bar(hours, [arrivals[h] for h in hours], color="#2f6f9f", label="取号 tickets")
        ax.set_xlabel("时段 hour of day")
        ax.set_ylabel("取号 tickets issued")
        ax.set_xticks(hours, [f"{h}:00" for h in hours])
        right = ax.twinx()
        right.plot(hours, [waits[h] for h in hours], color="#c0392b", marker="o",
                   label="平均等候 mean wait")
        right.set_ylabel("平均等候 (分钟) mean wait (min)")
        right.set_ylim(bottom=0)
        ax.set_title("分时取号与等候 Tickets and waits by hour")
        fig.legend(loc="upper right", bbox_to_anchor=(0.9, 0.88), fontsize=8)
        return _png(fig)


def heatmap_chart(report: Report) -> bytes:
    """Tickets issued by weekday and hour."""
    days = sorted({h.weekday for h in report.hourly})
    hours = list(range(min(h.hour for h in report.hourly), max(h.hour for h in report.hourly) + 1))
    grid = [[0] * len(hours) for _ in days]
    for h in report.hourly:
        grid[days.index(h.weekday)][hours.index(h.hour)] = h.arrivals
    with _figure(9.0, 0.5 * len(days) + 1.6) as fig:
        ax = fig.add_subplot()
        image = ax.imshow(grid, aspect="auto", cmap="Blues")
        ax.set_xticks(range(len(hours)), [f"{h}:00" for h in hours])
        ax.set_yticks(range(len(days)), [WEEKDAY_NAMES[d] for d in days])
        ax.set_title("星期×时段取号量 Tickets by weekday and hour")
        fig.colorbar(image, ax=ax, label="取号 tickets")
        return _png(fig)


def window_chart(report: Report) -> bytes:
    """Each window's utilisation over the period, coloured by zone."""
    hall = report.hall
    busy: dict[str, float] = {}
    opened: dict[str, float] = {}
    for u in report.usage:
        busy[u.window] = busy.get(u.window, 0.0) + u.busy_hours
        opened[u.window] = opened.get(u.window, 0.0) + u.open_hours
    ids = list(hall.windows)
    zones = list(hall.zones)
    colours = [ZONE_COLOURS[zones.index(hall.windows[w].zone) % len(ZONE_COLOURS)] for w in ids]
    shares = [100 * busy.get(w, 0.0) / opened[w] if opened.get(w) else 0.0 for w in ids]
    with _figure(11.0, 3.8) as fig:
        ax = fig.add_subplot()
        ax.bar(range(len(ids)), shares, color=colours)
        ax.axhline(100, color="#888888", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(ids)), ids, rotation=90, fontsize=7)
        ax.set_ylabel("利用率 utilisation (%)")
        ax.set_title("窗口负荷 Load per window (服务时长 / 开放时长 serving / open time)")
        ax.set_ylim(0, max(120.0, 1.2 * max(shares, default=0.0)))   # room for the legend
        ax.legend(handles=[Patch(color=ZONE_COLOURS[i % len(ZONE_COLOURS)],
                                 label=f"{z} {hall.zones[z].name} {hall.zones[z].name_en}")
                           for i, z in enumerate(zones)], fontsize=8, loc="upper right",
                  ncol=len(zones))
        return _png(fig)


def satisfaction_chart(report: Report) -> bytes:
    """Ratings given (bars) and the satisfaction rate (line) by ISO week."""
    weeks = [w.week for w in report.weekly]
    with _figure() as fig:
        ax = fig.add_subplot()
        ax.bar(weeks, [w.rated for w in report.weekly], width=0.5, color="#9fb8cf",
               label="评价数 rated")
        ax.bar(weeks, [w.low for w in report.weekly], width=0.5, color="#c0392b",
               label="差评 dissatisfied (1–2)")
        ax.set_ylabel("评价数 ratings")
        ax.set_ylim(bottom=0)
        ax.set_xlim(-1, max(len(weeks), 2))     # a bar a week, however few the weeks
        ax.tick_params(axis="x", rotation=45 if len(weeks) > 8 else 0)
        right = ax.twinx()
        right.plot(weeks, [None if w.satisfaction is None else 100 * w.satisfaction
                           for w in report.weekly], color="#2f6f9f", marker="o",
                   label="满意率 satisfaction")
        right.set_ylim(0, 112)
        for i, w in enumerate(report.weekly):
            if w.satisfaction is not None:
                right.annotate(f"{w.satisfaction:.1%}", (i, 100 * w.satisfaction),
                               textcoords="offset points", xytext=(0, 7), ha="center",
                               fontsize=8, color="#2f6f9f")
        right.set_ylabel("满意率 satisfaction (%)")
        ax.set_title("每周好差评 Satisfaction by week")
        fig.legend(loc="lower right", bbox_to_anchor=(0.9, 0.2), fontsize=8)
        return _png(fig)


CHARTS = {"hourly": hourly_chart, "heatmap": heatmap_chart, "windows": window_chart,
          "satisfaction": satisfaction_chart}
