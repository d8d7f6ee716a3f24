"""A simulated day played through a real store: the simulator's own core is swapped for
a ``HallService``, so every command is decided, committed and projected as in the hall
(the kiosk of the arrival's zone as the issuing device), and the day is closed (日结)
when the simulator's last overtime ends. The reports' tests and samples use it to hold
the reports to the simulator's own figures.
"""

from __future__ import annotations

import random
from typing import Any

from ..core import commands as cmd
from ..core import events as ev
from ..core.policy import hall_for
from ..hall import Hall
from ..service import HallService
from ..simulator.arrivals import Arrival
from ..simulator.engine import Outcome, SimOptions, _Run
from ..simulator.report import closing

LEVELS, WEIGHTS = (5, 4, 3, 2, 1), (70, 20, 6, 3, 1)   # as the demo's citizens rate


class StoredCore:
    """What the simulator asks of its core, answered by a HallService. With ``rate``, for
    samples, a clerk signs in at each window before its first command of the day and 60%
    of the citizens rate their service (好差评) as it is finished: the simulator's
    dispatch depends on neither."""

    def __init__(self, service: HallService, rate: random.Random | None = None) -> None:
        self.service, self.rate = service, rate
        self.kiosks = {z.id: z.kiosks[0] for z in service.hall.zones.values() if z.kiosks}
        self.signed_in: set[str] = set()

    def __getattr__(self, name: str) -> Any:      # hall, state, choose_next, ...
        return getattr(self.service.core, name)

    def execute(self, command: cmd.Command, now: float) -> list[ev.Event]:
        device = "simulator"
        if isinstance(command, cmd.IssueTicket) and command.zone in self.kiosks:
            device = self.kiosks[command.zone]
        window = getattr(command, "window", None)
        if self.rate and window and window not in self.signed_in:   # a clerk at each window
            self.signed_in.add(window)
            self.service.execute(cmd.SignIn(window, f"clerk-{window}"), now, device=device)
        events = [e for _, e in self.service.execute(command, now, device=device)]
        for event in events:
            if self.rate and isinstance(event, ev.ServiceFinished) and self.rate.random() < 0.6:
                level = self.rate.choices(LEVELS, WEIGHTS)[0]
                self.service.execute(cmd.Evaluate(event.ticket, level), now, device="evaluator")
        return events

    def settle_cases(self, now: float) -> None:
        """Most 差评 cases are contacted and closed by the end of the day."""
        assert self.rate is not None
        for case in sorted(self.service.core.state.cases.values(), key=lambda k: k.id):
            if case.state == "open" and self.rate.random() < 0.8:
                for step in ("contacted", "closed"):
                    self.service.execute(cmd.UpdateCase(case.id, step, by="staff-001"), now)


def simulate_stored(hall: Hall, arrivals: list[Arrival], options: SimOptions,
                    url: str, rate: random.Random | None = None) -> Outcome:
    """``simulate(hall, arrivals, options)``, every command through the store at ``url``;
    the day is closed at the simulator's closing time (``rate``: see StoredCore)."""
    with HallService.open(hall_for(hall, options.policy), url) as service:
        stored = StoredCore(service, rate)
        core: Any = stored
        outcome = _Run(hall, arrivals, options, core).play()
        if rate is not None:
            stored.settle_cases(closing(outcome))
        service.execute(cmd.CloseDay(), closing(outcome), device="simulator")
    return outcome
