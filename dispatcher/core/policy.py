"""Dispatch policies: which windows may call which queues, as profiles.

Pure functions of the hall (and, for ``suggest_moves``, of the state and the time).
The simulator compares them on the same arrivals (docs/dispatch.md):

- ``dedicated``: the hall before the reform. Every window serves only its own
  unit's main queues. There was no 马上办: the big-loop windows were the units'
  windows, dealt out in proportion to each unit's own windows in the zone
  (``dedicated_profiles``), and a big-loop ticket is business of the unit of its
  zone that one of them belonged to (``unit_for_big_loop``).
- ``loops``: big loop + small loop, each window on its main queues only (主业).
- ``loops+side``: plus side work (副业) when the window's main work is empty.
- ``balanced``: plus an over-threshold side queue first (``side_when_overdue`` on
  every window with side work), plus the moves of ``suggest_moves`` applied at a
  cadence: a window with slack is lent to a queue that runs long.
- ``capped``: ``balanced`` under the hall's ``[balancing]`` cap on moves per window
  per hour, a lent window opened to its whole zone in one move (``capped_moves``).
- ``pooled``: not a policy a hall can run but the lower bound: every window may
  serve every queue, one line in order of place. ``zone-pooled``: the same within
  each zone (every window serves every queue its zone offers), the bound for a hall
  that keeps its citizens in their zone, as ``set_profile`` does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from ..hall import Balancing, Hall, Profile
from .commands import SetProfile
from .estimate import mean_service, zone_waiting
from .replay import ANY
from .state import WORKING, HallState

POLICIES = ("dedicated", "loops", "loops+side", "balanced", "capped", "zone-pooled",
            "pooled")
BALANCING = ("balanced", "capped")  # the policies whose console moves windows

# suggest_moves: a queue "runs long" when its waiting work, shared by the windows that
# call it, takes over LEND_AT of its overdue threshold to clear (two tickets waiting for
# the sample hall's 马上办 of zone B); windows are lent to it only from main work that would
# clear within SLACK_AT of its own threshold, and a lent window goes home when its own
# main work runs over RECALL_AT. A window with the queue as side work counts LENT_WEIGHT
# of one that has it as main work. (Sending windows home as soon as the line is empty
# was measured too: nine times the moves, 6-10% more mean wait; docs/dispatch.md.)
LEND_AT = 0.02
SLACK_AT = 0.1
RECALL_AT = 0.25
LENT_WEIGHT = 0.5


def policy_profiles(hall: Hall, policy: str) -> dict[str, Profile]:
    """Window id -> the profile the window starts the day with under the policy."""
    planned = {w.id: w.profile for w in hall.windows.values()}
    if policy == "dedicated":
        return dedicated_profiles(hall)
    if policy == "loops":
        return {w: Profile(p.main) for w, p in planned.items()}
    if policy == "loops+side":
        return {w: Profile(p.main, p.side) for w, p in planned.items()}
    if policy in BALANCING:
        return {w: Profile(p.main, p.side, bool(p.side)) for w, p in planned.items()}
    if policy == "pooled":
        every = tuple(hall.queues)
        return {w: Profile(every) for w in planned}
    if policy == "zone-pooled":
        return {w.id: Profile(tuple(q for q, queue in hall.queues.items()
                                    if w.zone in queue.zones)) for w in hall.windows.values()}
    raise ValueError(f"unknown policy {policy!r}: one of {', '.join(POLICIES)}")


def hall_for(hall: Hall, policy: str) -> Hall:
    """The hall with every window on its profile under the policy (the hall file as the
    hall manager would have written it for that policy)."""
    profiles = policy_profiles(hall, policy)
    windows = {w.id: replace(w, profile=profiles[w.id], profile_name=policy)
               for w in hall.windows.values()}
    queues = hall.queues
    if policy == "pooled":  # the bound ignores zones: any window calls any ticket
        queues = {q: replace(x, cross_zone=True) for q, x in hall.queues.items()}
    return replace(hall, windows=windows, queues=queues)


def big_loop_units(hall: Hall, zone: str) -> dict[str, float]:
    """Pre-reform shares of the big loop's business of a zone: each unit queue with
    windows in the zone, in proportion to those windows (a bigger unit had more of the
    simple matters, and more windows for them)."""
    weights: dict[str, float] = {}
    for window in hall.windows.values():
        if window.zone != zone:
            continue
        units = [q for q in window.profile.main if hall.queues[q].kind == "unit"]
        for q in units:
            if zone in hall.queues[q].zones:
                weights[q] = weights.get(q, 0.0) + 1.0 / len(units)
    total = sum(weights.values())
    return {q: w / total for q, w in sorted(weights.items())}


def unit_for_big_loop(hall: Hall, zone: str, u: float) -> str:
    """The unit a big-loop ticket of ``zone`` goes to before the reform, for a uniform
    draw ``u`` in [0, 1): in proportion to the big-loop windows dealt to each unit (the
    business follows the windows that took it), or to ``big_loop_units`` in a zone
    without big-loop windows."""
    dealt = _dealt(hall, zone)
    seats = Counter(dealt.values()) if dealt else None
    shares = ({q: n / len(dealt) for q, n in sorted(seats.items())} if seats
              else big_loop_units(hall, zone))
    total = 0.0
    for queue, share in shares.items():
        total += share
        if u < total:
            return queue
    return next(reversed(shares))


def _dealt(hall: Hall, zone: str) -> dict[str, str]:
    """The zone's big-loop windows -> the unit each is dealt to, by largest remainder of
    ``big_loop_units``."""
    loop = sorted(w.id for w in hall.windows.values() if w.zone == zone
                  and any(hall.queues[q].kind == "big_loop" for q in w.profile.main))
    if not loop:
        return {}
    return dict(zip(loop, _deal(big_loop_units(hall, zone), len(loop)), strict=True))


def dedicated_profiles(hall: Hall) -> dict[str, Profile]:
    """Unit windows keep their main queues; each zone's big-loop windows are dealt out to
    its units by largest remainder of ``big_loop_units``."""
    profiles = {w: Profile((q,)) for zone in hall.zones for w, q in _dealt(hall, zone).items()}
    for window in hall.windows.values():
        if window.id not in profiles:
            main = tuple(q for q in window.profile.main if hall.queues[q].kind != "big_loop")
            profiles[window.id] = Profile(main or window.profile.main)
    return profiles


def _deal(shares: dict[str, float], n: int) -> list[str]:
    """n seats dealt in proportion to the shares (largest remainder), in share order."""
    exact = {q: s * n for q, s in shares.items()}
    seats = {q: math.floor(x) for q, x in exact.items()}
    by_remainder = sorted(exact, key=lambda q: (seats[q] - exact[q], q))
    for q in by_remainder[: n - sum(seats.values())]:
        seats[q] += 1
    return [q for q in shares for _ in range(seats[q])]


# ------------------------------------------------------------------ balancing


def suggest_moves(hall: Hall, state: HallState, now: float, held: Collection[str] = (),
                  lend_at: float = LEND_AT, recall_at: float = RECALL_AT) -> list[SetProfile]:
    """Profile changes that lend windows with slack to queues that run long, and send
    lent windows home when their own line needs them. Each move is a SetProfile the
    core checks like any other; applying them all is safe in any order. ``held``
    windows are neither lent nor sent home; a queue is lent windows while it runs over
    ``lend_at``, a lent window goes home when its own line runs over ``recall_at``."""
    callers = _callers(hall, state)
    drain = {key: _drain_ratio(hall, state, key, now, n) for key, n in callers.items()}
    moves = [m for m in _returns(hall, state, drain, recall_at) if m.window not in held]
    donors = _donors(hall, state, drain, {m.window for m in moves} | set(held))
    for key in sorted(drain, key=lambda k: (-drain[k], k)):
        while drain[key] > lend_at:
            window = next((w for w in donors if _may_lend(hall, state, w, key)), None)
            if window is None:
                break
            donors.remove(window)
            moves.append(_lend(state, window, key[0]))
            callers[key] += 1.0
            drain[key] = _drain_ratio(hall, state, key, now, callers[key])
    return moves


def line_key(hall: Hall, queue: str, zone: str) -> tuple[str, str]:
    """The line a window of ``zone`` calls of the queue: the zone's own where the queue
    keeps its zones apart (selection.callable_by), else the whole hall's (ANY)."""
    return (queue, ANY if hall.queues[queue].cross_zone else zone)


def capped_moves(hall: Hall, state: HallState, now: float,
                 moved: Mapping[str, Sequence[float]]) -> list[SetProfile]:
    """The ``capped`` policy's moves under the hall's ``[balancing]``: ``moved`` is each
    window's past move times. A window moved ``max_moves_per_window_hour`` times in the
    last 60 minutes stays as it is. Otherwise as ``suggest_moves`` with the hall's
    ``lend_at`` and ``recall_at``, except that a lent window is opened at once to every
    queue its zone offers (one move, where ``balanced`` adds the queues one by one)."""
    rules = hall.balancing
    held = {w for w, times in moved.items() if _at_cap(times, now, rules)}
    moves = suggest_moves(hall, state, now, held, rules.lend_at, rules.recall_at)
    return [m if m.main == state.planned_profiles[m.window].main else _open_to_zone(hall, m)
            for m in moves]


def _at_cap(times: Sequence[float], now: float, rules: Balancing) -> bool:
    return sum(1 for t in times if now - t < 3600.0) >= rules.max_moves_per_window_hour


def _open_to_zone(hall: Hall, lend: SetProfile) -> SetProfile:
    """The lend, widened to every queue of the window's zone as main work."""
    zone = hall.windows[lend.window].zone
    extra = tuple(q for q, queue in hall.queues.items()
                  if zone in queue.zones and q not in lend.main)
    side = tuple(q for q in lend.side if q not in extra)
    return SetProfile(lend.window, (*lend.main, *extra), side, lend.side_when_overdue)


def _callers(hall: Hall, state: HallState) -> dict[tuple[str, str], float]:
    """Per line (a queue, and its zone where the queue keeps its zones apart), the
    working windows calling it: whole for main work, LENT_WEIGHT for side work."""
    callers = {(q, z): 0.0 for q, queue in hall.queues.items()
               for z in ((ANY,) if queue.cross_zone else queue.zones)}
    for window in state.windows.values():
        if window.state in WORKING:
            zone = hall.windows[window.id].zone
            for q in window.profile.main:
                callers[line_key(hall, q, zone)] += 1.0
            for q in window.profile.side:
                callers[line_key(hall, q, zone)] += LENT_WEIGHT
    return callers


def _drain_ratio(hall: Hall, state: HallState, key: tuple[str, str], now: float,
                 callers: float) -> float:
    """How long the line's waiting work takes the windows calling it to clear, as a
    share of its overdue threshold (inf when no working window calls it)."""
    queue, zone = key
    waiting = zone_waiting(hall, state, queue, None if zone == ANY else zone)
    if not waiting:
        return 0.0
    if not callers:
        return math.inf
    work = waiting * mean_service(hall, state, queue, now)
    return work / callers / hall.queues[queue].overdue_seconds


def _returns(hall: Hall, state: HallState, drain: dict[tuple[str, str], float],
             recall_at: float) -> list[SetProfile]:
    """Lent windows go back to their planned profile when their own main work runs long
    (over ``recall_at``), so a lender's line never waits on its kindness for long."""
    moves = []
    for wid, window in sorted(state.windows.items()):
        planned = state.planned_profiles[wid]
        zone = hall.windows[wid].zone
        lent = [q for q in window.profile.main if q not in planned.main]
        if lent and max(drain[line_key(hall, q, zone)] for q in planned.main) > recall_at:
            moves.append(SetProfile(wid, planned.main, planned.side, planned.side_when_overdue))
    return moves


def _donors(hall: Hall, state: HallState, drain: dict[tuple[str, str], float],
            busy: set[str]) -> list[str]:
    """Working windows whose main work has slack, the most slack first."""
    found = []
    for wid, window in sorted(state.windows.items()):
        if wid in busy or window.state not in WORKING:
            continue
        zone = hall.windows[wid].zone
        slack = max(drain[line_key(hall, q, zone)] for q in window.profile.main)
        if slack < SLACK_AT:
            found.append((slack, wid))
    return [wid for _, wid in sorted(found)]


def _may_lend(hall: Hall, state: HallState, window: str, key: tuple[str, str]) -> bool:
    """The queue is offered in the window's zone, the window would call that line (its
    zone's, or the whole hall's) and it does not call the queue yet."""
    queue, zone = key
    here = hall.windows[window].zone
    return (here in hall.queues[queue].zones and zone in (ANY, here)
            and queue not in state.windows[window].profile.main)


def _lend(state: HallState, window: str, queue: str) -> SetProfile:
    """The window takes the long queue as main work beside its own: both are called in
    order of place, so the long queue's older tickets go first, and the window's own
    tickets keep the core's starvation bound (no later ticket beyond the class credit
    goes before them). Lending as side work instead was measured and clears long
    queues more slowly (docs/dispatch.md)."""
    profile = state.windows[window].profile
    side = tuple(q for q in profile.side if q != queue)
    return SetProfile(window, (*profile.main, queue), side, profile.side_when_overdue)
