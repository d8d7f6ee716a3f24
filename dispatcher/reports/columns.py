"""The report's columns and names: Chinese first, English second."""

from __future__ import annotations

from dataclasses import dataclass

from ..hall import Hall


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "count"      # count | minutes | share | rate

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


COLUMNS = (
    Column("issued", "取号", "issued"), Column("called", "叫号", "called"),
    Column("served", "办结", "served"), Column("no_show", "过号", "no-show"),
    Column("requeued", "重排", "re-queued"), Column("transferred", "转移", "transferred"),
    Column("cancelled", "取消", "cancelled"), Column("held", "挂起", "held"),
    Column("left", "未叫号", "left"),
    Column("wait_mean", "平均等候", "wait mean", "minutes"),
    Column("wait_p50", "等候中位数", "wait median", "minutes"),
    Column("wait_p90", "等候P90", "wait p90", "minutes"),
    Column("wait_max", "最长等候", "wait max", "minutes"),
    Column("within", "按时叫号率", "within target", "share"),
    Column("overdue", "超时", "overdue"),
    Column("service_mean", "平均办理", "service mean", "minutes"),
    Column("service_p90", "办理P90", "service p90", "minutes"),
    Column("rated", "评价数", "rated"),
    Column("r5", "非常满意", "very satisfied"), Column("r4", "满意", "satisfied"),
    Column("r3", "基本满意", "fairly satisfied"), Column("r2", "不满意", "dissatisfied"),
    Column("r1", "非常不满意", "very dissatisfied"),
    Column("satisfaction", "满意率", "satisfaction", "share"),
    Column("cases_opened", "差评工单", "cases opened"),
    Column("cases_closed", "已整改办结", "cases closed"),
    Column("cases_overdue", "超期工单", "cases overdue"),
    Column("utilisation", "窗口利用率", "utilisation", "share"),
    Column("spread", "冷热差", "hot-cold spread", "share"),
)

GROUPINGS = {"hall": ("大厅", "hall"), "zone": ("区域", "zone"), "loop": ("循环", "loop"),
             "queue": ("队列", "queue"), "class": ("号类", "class"),
             "window": ("窗口", "window"), "clerk": ("工作人员", "clerk")}
ALL_NAMES = {"hall": "合计 total", "zone": "全部区域 all zones", "loop": "全部循环 all loops",
             "queue": "全部队列 all queues", "class": "全部号类 all classes",
             "window": "全部窗口 all windows", "clerk": "全部工作人员 all clerks"}
LOOP_NAMES = {"big loop": "大循环(马上办)", "small loop": "小循环(帮助办)", "lines": "其他队列"}
CLASS_NAMES = {"normal": "普通", "appointment": "预约", "green": "绿色通道"}
WEEKDAY_NAMES = ("周一 Mon", "周二 Tue", "周三 Wed", "周四 Thu", "周五 Fri", "周六 Sat",
                 "周日 Sun")


def outcome_columns(hall: Hall) -> tuple[Column, ...]:
    """One column per outcome code (办件结果) of the hall file."""
    return tuple(Column(f"outcome:{o.code}", o.name, o.name_en) for o in hall.outcomes.values())


def all_columns(hall: Hall) -> tuple[Column, ...]:
    """Every column of a report row, the outcome codes after the service times."""
    at = next(i for i, c in enumerate(COLUMNS) if c.key == "rated")
    return (*COLUMNS[:at], *outcome_columns(hall), *COLUMNS[at:])


def shown(column: Column, value: float | int | None) -> str:
    """A value as the report prints it: counts whole, minutes to 0.1, shares to 0.1%."""
    if value is None:
        return ""
    if column.kind == "minutes":
        return f"{value:.1f}"
    if column.kind == "share":
        return f"{value:.1%}"
    return f"{value:d}"


def key_name(hall: Hall, grouping: str, key: str) -> str:
    """How a row is named: "B 自然人综合服务区 Individual Service Zone", "B07 …"."""
    if grouping == "hall":
        return f"{hall.name} {hall.name_en}"
    if grouping == "zone" and key in hall.zones:
        z = hall.zones[key]
        return f"{key} {z.name} {z.name_en}"
    if grouping == "queue" and key in hall.queues:
        q = hall.queues[key]
        return f"{q.prefix} {q.name} {q.name_en}"
    if grouping == "window" and key in hall.windows:
        w = hall.windows[key]
        return f"{w.name} {w.name_en}"
    if grouping == "loop":
        return f"{LOOP_NAMES.get(key, key)} {key}"
    if grouping == "class":
        return f"{CLASS_NAMES.get(key, key)} {key}"
    return key
