"""dispatcher/console/model.py: what the console shows, from a view, with no Qt or hub."""

from __future__ import annotations

from typing import Any

from dispatcher.client.view import HallView
from dispatcher.console.model import (
    alert_rows,
    case_rows,
    change_words,
    device_rows,
    error_words,
    find_ticket,
    fmt_duration,
    heat_words,
    move_of,
    queue_rows,
    suggestion_rows,
    tiles,
)

NOW = 1_795_400_000.0


def view(**extra: Any) -> HallView:
    hall = {"name": "测试大厅", "timezone": "Asia/Shanghai",
            "zones": {"B": {"name": "自然人区", "name_en": "Individuals"}},
            "queues": {"quick_b": {"name": "马上办", "kind": "big_loop", "zones": ["B"],
                                   "overdue_minutes": 30},
                       "tax": {"name": "税务服务", "kind": "unit", "zones": ["B"]},
                       "gas": {"name": "燃气", "kind": "unit", "zones": ["B"]}},
            "windows": {"B01": {"name": "窗口B01", "zone": "B"},
                        "B19": {"name": "窗口B19", "zone": "B"}}}
    snap = {"hall": hall, "day": "2026-11-23", "waiting": {"quick_b": 2, "tax": 0, "gas": 0},
            "windows": {"B01": {"state": "serving", "ticket": "T-B001", "number": "B001",
                                "clerk": "clerk-017", "main": ["quick_b"],
                                "side": ["tax"], "waiting": 1},
                        "B19": {"state": "paused", "ticket": None, "number": None,
                                "pause_reason": "用餐 / Meal break", "main": ["tax"],
                                "side": ["quick_b"]}},
            "tickets": {
                "T-B001": {"id": "T-B001", "number": "B001", "queue": "quick_b",
                           "state": "serving", "issued_at": NOW - 900, "called_at": NOW - 300},
                "T-B002": {"id": "T-B002", "number": "B002", "queue": "quick_b",
                           "state": "waiting", "issued_at": NOW - 600},
                "T-B003": {"id": "T-B003", "number": "B003", "queue": "quick_b",
                           "state": "waiting", "issued_at": NOW - 60}},
            "alerts": {}, "cases": {}, "suggestions": {}, "balancing": {}, "presence": {},
            "devices": {}, "notices": {}, **extra}
    v = HallView()
    v.load(snap, 10)
    return v


def test_error_words_say_the_hubs_code_and_message() -> None:
    assert error_words("stale_suggestion", "S-0001 is gone") == (
        "该建议已过时 / That suggestion is no longer current (stale_suggestion: S-0001 is gone)")
    assert error_words("something_new") == "操作未成功 / It did not work (something_new)"
    assert fmt_duration(3725) == "1:02:05" and fmt_duration(None) == "—"


def test_tiles_show_state_number_serving_time_clerk_loop_and_queues() -> None:
    floor = {"windows": {"B01": {"utilisation": 0.83}}}
    b01, b19 = tiles(view(), "B", NOW, floor)
    assert (b01.window, b01.state_words, b01.number, b01.clerk) == ("B01", "办理中", "B001",
                                                                    "clerk-017")
    assert b01.serving_s == 300 and b01.loop == "大循环" and b01.main == "马上办"
    assert b01.side == "税务服务" and b01.waiting == 1 and b01.utilisation == 0.83
    assert (b19.state, b19.loop, b19.utilisation, b19.pause_reason) == (
        "paused", "小循环", None, "用餐 / Meal break")


def test_queue_rows_take_waits_from_the_floor_query_else_the_tickets_held() -> None:
    v = view()
    rows = {r.queue: r for r in queue_rows(v, "B", NOW)}
    assert rows["quick_b"].waiting == 2 and rows["quick_b"].longest_wait_s == 600
    assert rows["quick_b"].expected_wait_s is None and rows["tax"].longest_wait_s is None
    floor = {"queues": {"quick_b": {"longest_wait_s": 610.0, "expected_wait_s": 420.0,
                                    "trend": [0, 1, 2]}}}
    row = queue_rows(v, "B", NOW, floor)[0]
    assert (row.longest_wait_s, row.expected_wait_s, row.trend) == (610.0, 420.0, (0, 1, 2))


def test_the_hot_cold_line_names_the_spread_and_the_extremes() -> None:
    floor = {"windows": {"B01": {"utilisation": 0.9}, "B19": {"utilisation": 0.3}},
             "zones": {"B": {"windows": 2, "mean": 0.6, "stdev": 0.3, "spread": 0.6,
                             "hottest": "B01", "coldest": "B19"}}}
    line = heat_words(view(), "B", floor)
    assert "σ 30%" in line and "max−min 60%" in line
    assert "hottest B01 90%" in line and "coldest B19 30%" in line
    assert "no data yet" in heat_words(view(), "B", None)


def test_alerts_unacknowledged_and_critical_first_with_the_ticket_number() -> None:
    alerts = {
        "a": {"id": "a", "rule": "ticket_overdue", "level": "warning", "subject": "T-B002",
              "raised_at": NOW - 60, "acknowledged_at": None},
        "b": {"id": "b", "rule": "device_offline", "level": "critical", "subject": "K-B1",
              "raised_at": NOW - 30, "acknowledged_at": None},
        "c": {"id": "c", "rule": "pause_long", "level": "warning", "subject": "B19",
              "raised_at": NOW - 90, "acknowledged_at": NOW - 10}}
    rows = alert_rows(view(alerts=alerts))
    assert [r.id for r in rows] == ["b", "a", "c"]
    assert rows[1].subject == "B002 (马上办)" and rows[1].words.startswith("警告 等候超时")
    assert rows[2].acknowledged and rows[2].subject == "窗口 B19"


def test_suggestions_say_the_move_the_reason_and_the_predicted_waits() -> None:
    s = {"id": "S-1", "zone": "B", "window": "B19", "at": NOW, "main": ["tax", "quick_b", "gas"],
         "side": [], "from_main": ["tax"], "from_side": ["quick_b"], "kind": "lend",
         "reason": "马上办 14 人等候", "reason_en": "quick_b: 14 waiting",
         "predicted": {"horizon_minutes": 60, "mean_before": 12.3, "mean_after": 8.1,
                       "worst_before": 20.5, "worst_after": 11.0}}
    v = view(suggestions={"S-1": s})
    row = suggestion_rows(v)[0]
    assert row.change == "借调 Lend: 主 税务服务 → +马上办、燃气"
    assert row.reason == "马上办 14 人等候\nquick_b: 14 waiting"
    assert row.predicted == "平均 mean 12.3→8.1 分 更短 / shorter\n最差 worst 20.5→11.0 分 (60 min)"
    back = {**s, "main": ["tax"], "from_main": ["tax", "quick_b"], "predicted": None}
    assert change_words(v, back) == "归还 Return: 主 税务服务、马上办 → 税务服务"
    assert suggestion_rows(view(suggestions={"S-1": back}))[0].predicted.startswith("预测中")


def test_cases_open_and_overdue_first_closed_last() -> None:
    cases = {
        "C-1": {"id": "C-1", "number": "B001", "window": "B01", "clerk": "clerk-017",
                "level": 1, "reason": "态度不好", "opened_at": NOW - 9e4,
                "contact_by": NOW - 100, "close_by": NOW + 1e6, "steps": [], "state": "open"},
        "C-2": {"id": "C-2", "number": "B002", "window": "B01", "level": 2,
                "contact_by": NOW + 100, "close_by": NOW + 1e6, "state": "closed",
                "steps": [{"step": "closed", "at": NOW - 5, "by": "staff-001", "note": "ok"}]},
        "C-3": {"id": "C-3", "number": "B003", "window": "B01", "level": 2,
                "contact_by": NOW + 100, "close_by": NOW + 1e6, "state": "open", "steps": []}}
    rows = case_rows(view(cases=cases), NOW)
    assert [r.id for r in rows] == ["C-1", "C-3", "C-2"]
    assert rows[0].overdue and not rows[1].overdue and rows[0].level == "1 非常不满意"
    assert rows[2].state == "已办结/Closed" and "staff-001：ok" in rows[2].steps


def test_devices_offline_and_faulty_first_with_the_days_history() -> None:
    presence = {"K-B1": {"online": False, "since": NOW - 50, "role": "kiosk",
                         "history": [{"at": NOW - 500, "online": True},
                                     {"at": NOW - 50, "online": False}]},
                "D-B": {"online": True, "since": NOW - 900, "role": "display", "history": []}}
    devices = {"K-B1/printer": {"status": "paper_near_end", "detail": "纸将尽",
                                "since": NOW - 70}}
    rows = device_rows(view(presence=presence, devices=devices))
    assert [r.device for r in rows] == ["K-B1", "D-B"]
    assert rows[0].online == "离线 offline" and "paper_near_end" in rows[0].fault
    assert rows[0].history.count("\n") == 2 and "上线 online" in rows[0].history
    assert rows[1].fault == "正常 ok"


def test_moves_say_who_and_why_and_tickets_are_found_by_number() -> None:
    v = view()
    m = move_of(v, {"at": NOW, "window": "B19", "main": ["tax", "quick_b"], "side": [],
                    "by": "hub", "automatic": True, "reason": "马上办排长队"})
    assert (m.window, m.by, m.reason) == ("B19", "自动 hub (automatic)", "马上办排长队")
    assert m.change == "主 税务服务、马上办 兼 —"
    assert move_of(v, {"window": "B01", "by": "staff-001"}).by == "staff-001"
    assert find_ticket(v, " b002 ")["id"] == "T-B002"
    assert find_ticket(v, "B009") is None


def test_a_predicted_effect_within_the_noise_reads_as_about_no_change() -> None:
    from dispatcher.console.model import predicted_words

    small = {"mean_before": 14.8, "mean_after": 14.9, "worst_before": 54.6,
             "worst_after": 49.2, "spread": 0.3, "horizon_minutes": 60}
    assert "about no change" in predicted_words(small)
    gain = {**small, "mean_after": 10.0}
    assert "shorter" in predicted_words(gain) and "no change" not in predicted_words(gain)
    loss = {**small, "mean_after": 16.0, "spread": 0.5}
    assert "longer" in predicted_words(loss)
    assert predicted_words(None).startswith("预测中")
