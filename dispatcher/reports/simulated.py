"""A simulated day played through a real store: the simulator's own core is swapped for
a ``HallService``, so every command is decided, committed and projected as in the hall
(the kiosk of the arrival's zone as the issuing device), and the day is closed (日结)
when the simulator's last overtime ends. The reports' tests and samples use it to hold
the reports to the simulator's own figures.
"""

from __future__ import annotations

from typing import Any

from ..core import commands as cmd
from ..core import events as ev
from ..core.policy import hall_for
from ..hall import Hall
from ..service import HallService
from ..simulator.arrivals import Arrival
from ..simulator.engine import Outcome, SimOptions, _Run
from ..simulator.report import closing


class StoredCore:
    """What the simulator asks of its core, answered by a HallService."""

    def __init__(self, service: HallService) -> None:
        self.service = service
        self.kiosks = {z.id: z.kiosks[0] for z in service.hall.zones.values() if z.kiosks}

    def __getattr__(self, name: str) -> Any:      # hall, state, choose_next, ...
        return getattr(self.service.core, name)

    def execute(self, command: cmd.Command, now: float) -> list[ev.Event]:
        device = "simulator"
        if isinstance(command, cmd.IssueTicket) and command.zone in self.kiosks:
            device = self.kiosks[command.zone]
        return [e for _, e in self.service.execute(command, now, device=device)]


def simulate_stored(hall: Hall, arrivals: list[Arrival], options: SimOptions,
                    url: str) -> Outcome:
    """``simulate(hall, arrivals, options)``, every command through the store at ``url``;
    the day is closed at the simulator's closing time."""
    with HallService.open(hall_for(hall, options.policy), url) as service:
        core: Any = StoredCore(service)
        outcome = _Run(hall, arrivals, options, core).play()
        service.execute(cmd.CloseDay(), closing(outcome), device="simulator")
    return outcome
