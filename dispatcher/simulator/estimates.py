"""The expected wait printed on a ticket, by the core's estimator and by simpler
ones, recorded at issue so the report can measure each against the actual wait."""

from __future__ import annotations

from dataclasses import dataclass

from ..core import Dispatcher
from ..core import estimate as est


@dataclass(frozen=True)
class Estimates:
    printed: float | None   # dispatcher.core.estimate.ticket_status: what the ticket says
    naive: float | None     # tickets ahead × mean service ÷ windows calling the queue
    simple: float | None    # the first estimator: (ahead + ½) × mean service ÷ m
    projected: float | None = None  # the projection printed until issue 17


ESTIMATORS = ("printed", "projected", "naive", "simple")


def estimates_at_issue(core: Dispatcher, ticket: str, now: float) -> Estimates:
    status = core.ticket_status(ticket, now)
    queue, ahead = status["queue"], status["ahead"]
    projected = est.ticket_status(core.hall, core.state, ticket, now, projected=True)
    main, side = est.working_windows(core.state, queue)
    mean = est.mean_service(core.hall, core.state, queue, now)
    naive = ahead * mean / (main + side) if main + side else None
    simple = (ahead + 0.5) * mean / m if (m := est.capacity(main, side)) else None
    return Estimates(status["expected_wait_s"], naive, simple,
                     projected["expected_wait_s"])
