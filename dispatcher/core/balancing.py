"""Live balancing: the moves the hub suggests to the dispatch console, and the
automatic zones where it makes them itself. Pure: hall, state and time in, events out.

The moves are those of the ``capped`` policy the simulator measured
(``policy.capped_moves``, docs/dispatch.md): a window with slack is lent to a queue
that runs long, a lent window goes home when its own line needs it, and no window
moves more than ``[balancing] max_moves_per_window_hour`` times in any 60 minutes
(the moves a console made by hand count too). ``candidates`` turns them into
suggestions a person can read; ``post`` keeps a suggestion's id (and its predicted
effect, which the hub adds later from the forward simulation) while the same move is
still suggested.
"""

from __future__ import annotations

from typing import Any

from ..hall import Hall
from . import events as ev
from .commands import PostSuggestions, PredictSuggestion, SetBalancing, SetProfile
from .errors import DispatchError
from .policy import capped_moves
from .state import HallState

HUB = "hub"   # the ``by`` of what the hub does by itself
_KEY = ("window", "main", "side", "side_when_overdue")


def is_automatic(hall: Hall, state: HallState, zone: str) -> bool:
    mode = state.balancing.get(zone)
    return bool(mode["automatic"]) if mode else zone in hall.balancing.automatic


def balancing_view(hall: Hall, state: HallState) -> dict[str, dict[str, Any]]:
    """Each zone's mode, as the console shows it."""
    return {z: state.balancing.get(z) or {"automatic": z in hall.balancing.automatic,
                                          "by": "", "at": None} for z in hall.zones}


def candidates(hall: Hall, state: HallState, now: float) -> tuple[dict[str, Any], ...]:
    """The moves to suggest now, each as a suggestion without its id."""
    moves = capped_moves(hall, state, now, state.moved)
    return tuple(_suggestion(hall, state, m, now) for m in moves)


def _suggestion(hall: Hall, state: HallState, move: SetProfile, now: float) -> dict[str, Any]:
    window = state.windows[move.window]
    before = window.profile
    lent = [q for q in move.main if q not in before.main]
    kind = "lend" if lent else "return"
    queues = sorted({*before.main, *before.side, *move.main, *move.side})
    reason, reason_en = (_lend_reason(hall, state, move.window, lent, now) if lent
                         else _return_reason(hall, state, move.window, move.main))
    return {"zone": hall.windows[move.window].zone, "window": move.window, "kind": kind,
            "main": list(move.main), "side": list(move.side),
            "side_when_overdue": move.side_when_overdue,
            "from_main": list(before.main), "from_side": list(before.side),
            "queues": queues, "reason": reason, "reason_en": reason_en, "at": now,
            "predicted": None}


def _line(hall: Hall, state: HallState, queue: str, now: float) -> tuple[str, str, int, int]:
    q = hall.queues[queue]
    waiting = state.waiting_in(queue)
    longest = max((now - t.issued_at for t in waiting), default=0.0)
    return q.name, q.name_en, len(waiting), round(longest / 60)


def _lend_reason(hall: Hall, state: HallState, window: str, lent: list[str],
                 now: float) -> tuple[str, str]:
    """Names the long line (the first queue lent: a capped lend adds the rest of the
    zone after it) and how short the window's own line is."""
    name, name_en, waiting, longest = _line(hall, state, lent[0], now)
    own = sum(len(state.queue_lines[q]) for q in state.windows[window].profile.main)
    more = f"，并开通本区其余 {len(lent) - 1} 项业务" if len(lent) > 1 else ""
    more_en = (f", and open it to the zone's {len(lent) - 1} other queues"
               if len(lent) > 1 else "")
    return (f"{name} {waiting} 人等候，最长 {longest} 分钟；{window} 本业 {own} 人等候，"
            f"借调{more}",
            f"{name_en}: {waiting} waiting, longest {longest} min; {window}'s own line has "
            f"{own} waiting: lend it{more_en}")


def _return_reason(hall: Hall, state: HallState, window: str,
                   own: tuple[str, ...]) -> tuple[str, str]:
    waiting = {q: len(state.queue_lines[q]) for q in own}
    queue = max(own, key=lambda q: waiting[q])
    q = hall.queues[queue]
    return (f"{window} 回本业：{q.name} {waiting[queue]} 人等候",
            f"{window} back to its own work: {q.name_en} has {waiting[queue]} waiting")


def _key(s: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v := s[k], list) else v for k in _KEY)


def post(hall: Hall, state: HallState, c: PostSuggestions, now: float) -> list[ev.Event]:
    """Replace the current suggestions with ``c.suggestions``: a move still suggested
    keeps its id, time and prediction; nothing changes, no event."""
    current = {_key(s): s for s in state.suggestions.values()}
    kept, new, serial = [], [], state.suggestion_serial
    for s in c.suggestions:
        if _key(s) in current:
            kept.append(current[_key(s)])
        else:
            serial += 1
            new.append({**s, "id": f"S-{serial:04d}", "at": now, "predicted": None})
    removed = sorted(set(state.suggestions) - {s["id"] for s in kept})
    if not new and not removed:
        return []
    return [ev.SuggestionsPosted(at=now, suggestions=(*kept, *new), removed=tuple(removed))]


def predict(state: HallState, c: PredictSuggestion, now: float) -> list[ev.Event]:
    """A prediction for a suggestion that is gone by now is dropped, not an error."""
    if c.id not in state.suggestions:
        return []
    return [ev.SuggestionPredicted(at=now, id=c.id, predicted=dict(c.predicted))]


def current(state: HallState, suggestion_id: str) -> dict[str, Any]:
    """The suggestion, if it is still what it was made for: the window still on the
    profile it was suggested from."""
    s = state.suggestions.get(suggestion_id)
    if s is None:
        raise DispatchError("stale_suggestion", f"{suggestion_id} is no longer suggested")
    window = state.windows[s["window"]]
    if (list(window.profile.main), list(window.profile.side)) != (s["from_main"],
                                                                  s["from_side"]):
        raise DispatchError("stale_suggestion", f"{s['window']} has moved since "
                            f"{suggestion_id} was suggested", window=s["window"])
    return s


def as_move(s: dict[str, Any], by: str) -> SetProfile:
    return SetProfile(s["window"], tuple(s["main"]), tuple(s["side"]),
                      s["side_when_overdue"], reason=s["reason"], by=by)


def set_mode(hall: Hall, state: HallState, c: SetBalancing, now: float) -> list[ev.Event]:
    if c.zone not in hall.zones:
        raise DispatchError("bad_argument", f"no zone {c.zone!r}", field="zone")
    if is_automatic(hall, state, c.zone) == c.automatic and c.zone in state.balancing:
        return []
    return [ev.BalancingSet(at=now, zone=c.zone, automatic=c.automatic, by=c.by)]
