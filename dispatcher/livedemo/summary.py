"""The live demo's closing summary, and its checks across the devices' records.

Read after every part has stopped: the kiosks' records (tickets handed out), the
virtual printers' tickets (decoded from the ESC/POS they received), the wall's
record (calls shown, announcements queued), the LED strip double's record, and the
store (what the hub committed). A count that disagrees is a problem: the demo then
exits 1.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..stats import percentile
from .provision import KIOSKS, LED_WINDOWS, WALL_ZONE

NUMBER = re.compile(r"^[A-Z]\d{3,}$")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue          # a line cut by a kill: not counted
    return out


def printed_numbers(folder: Path) -> list[str]:
    """The numbers on the complete tickets the virtual printer printed, in order."""
    numbers = []
    for ticket in sorted(folder.glob("ticket-*.json")):
        if ticket.stem.endswith("incomplete"):
            continue
        lines = json.loads(ticket.read_text(encoding="utf-8")).get("lines", [])
        found = [t.strip() for t in lines if NUMBER.match(t.strip())]
        numbers.append(found[0] if found else "?")
    return numbers


@dataclass
class Summary:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def store_facts(db_url: str, since_seq: int, windows: Iterable[str],
                led: Iterable[str]) -> dict[str, Any]:
    """This run's events from the store: calls in the wall's zone and at the LED's
    windows, issues, finishes, ratings; and the waits of this run's called tickets."""
    engine = sa.create_engine(db_url)
    meta = sa.MetaData()
    events = sa.Table("events", meta, autoload_with=engine)
    tickets = sa.Table("tickets", meta, autoload_with=engine)
    zone, led = set(windows), set(led)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.seq, events.c.name, events.c.data)
                            .where(events.c.seq > since_seq)).all()
        issued_seqs = {json.loads(d)["ticket"] for _, n, d in rows if n == "ticket_issued"}
        waits = [(t.called_at - t.issued_at) / 60 for t in conn.execute(
            sa.select(tickets.c.id, tickets.c.issued_at, tickets.c.called_at)) if
            t.id in issued_seqs and t.called_at is not None]
    engine.dispose()
    facts: dict[str, Any] = {"issued": len(issued_seqs), "waits": sorted(waits),
                             "wall_calls": 0, "led_calls": 0, "finished": 0, "rated": 0,
                             "no_shows": 0, "transfers": 0}
    for _, name, data in rows:
        d = json.loads(data)
        if name in ("ticket_called", "ticket_recalled") and d.get("window") in zone:
            facts["wall_calls"] += 1
        if name == "ticket_called" and d.get("window") in led:
            facts["led_calls"] += 1
        for key, event in (("finished", "service_finished"), ("rated", "ticket_evaluated"),
                           ("no_shows", "ticket_no_show"), ("transfers", "ticket_transferred")):
            facts[key] += name == event
    return facts


def last_seq(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("events"):
                return 0
            return int(conn.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM events"))
                       .scalar_one())
    finally:
        engine.dispose()


def summarize(run_dir: Path, db_url: str, since_seq: int, zone_windows: list[str],
              started_at: float) -> Summary:
    s = Summary()
    kiosk_rows = {k: read_jsonl(run_dir / f"{k}.jsonl") for k in KIOSKS}
    for kiosk, rows in kiosk_rows.items():
        printed = printed_numbers(run_dir / f"printer-{kiosk}")
        handed = [r["number"] for r in rows if r.get("printed")]
        s.lines.append(f"  {kiosk}: {len(rows)} tickets issued at the kiosk, "
                       f"{len(printed)} printed by its printer")
        s.check(sorted(handed) == sorted(printed), f"{kiosk}: the kiosk printed "
                f"{len(handed)} tickets, its printer has {len(printed)}: "
                f"{sorted(set(handed) ^ set(printed))[:5]}")
    facts = store_facts(db_url, since_seq, zone_windows, LED_WINDOWS)
    issued_here = sum(len(r) for r in kiosk_rows.values())
    s.check(facts["issued"] == issued_here, f"the store has {facts['issued']} tickets "
            f"issued this run, the kiosks handed out {issued_here}")
    wall = read_jsonl(run_dir / "wall.jsonl")
    shown = [r for r in wall if r.get("shown") == "call" and (r.get("at") or 0) >= started_at]
    voice = [r for r in wall if r.get("queued") == "voice"]
    keys = [(r["number"], r["window"], r["recall"], r["at"]) for r in shown]
    s.check(len(keys) == len(set(keys)), "the wall showed a call twice")
    s.check(len(shown) == facts["wall_calls"], f"zone {WALL_ZONE}: {facts['wall_calls']} "
            f"calls in the store, {len(shown)} shown on the wall")
    s.check(len(voice) == len(shown), f"{len(shown)} calls on the wall, {len(voice)} "
            "announcements queued")
    led = [r for r in read_jsonl(run_dir / "led.jsonl") if NUMBER.match(
        str(r.get("text", "")).split(" ")[0])]
    s.check(len(led) == facts["led_calls"], f"{facts['led_calls']} calls at the LED "
            f"windows in the store, {len(led)} shown on the strips")
    waits = facts["waits"]
    wait_line = (f"mean {statistics.fmean(waits):.1f} min, p90 {percentile(waits, 90):.1f} "
                 f"min, longest {waits[-1]:.1f} min" if waits else "no call yet")
    s.lines[:0] = [
        f"tickets issued {facts['issued']} (printed "
        f"{sum(len(printed_numbers(run_dir / f'printer-{k}')) for k in KIOSKS)}), "
        f"served {facts['finished']}, no-shows {facts['no_shows']}, transfers "
        f"{facts['transfers']}, ratings {facts['rated']}",
        f"calls shown on the zone {WALL_ZONE} wall {len(shown)} (store: {facts['wall_calls']}),"
        f" announcements queued {len(voice)}, on the LED strips {len(led)} "
        f"(store: {facts['led_calls']})",
        f"waits of this run's called tickets (hall minutes): {wait_line}"]
    return s
