"""The demo hall's other windows: simulated clerks over the client library.

Caller devices (C-SIM1…4, a share of the windows each, each its own connection) for
every window without a panel on screen: each window's clerk signs in with their own
PIN (the hub checks it) and works by
caller.autopilot.ClerkScript at the hall's pace. One evaluator device (E-SIM) lets
some citizens rate the service they just had (好差评), a few seconds after it ends.

    python -m dispatcher.livedemo.clerks --server URL --data DIR [--seed N --record FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
from typing import Any

from caller.autopilot import RATE_SHARE, ClerkScript, Recorder, rating
from caller.evaluator_model import evaluate_args, reason_text
from caller.model import command_args
from dispatcher.client import HubClient, HubError
from dispatcher.hall import SAMPLE_HALL, load_hall

from .provision import clerk_of, desks, load_credentials

TICK_S = 0.25
# One connection for many windows stays inside the hub's rate limit (20 tokens a second,
# a burst of 60: dispatcher/hub/ratelimit.py): 12 a second here, a sign-in costing 10
# (the hub runs scrypt on its PIN), any other command 1.
TOKENS_PER_TICK, TOKENS_MAX, SIGN_IN_COST = 3.0, 30.0, 10.0
MAX_IN_FLIGHT = 12


class Desk:
    """One caller device of the simulated clerks: its connection, its windows, and the
    tokens it may spend within the hub's rate limit."""

    def __init__(self, client: HubClient, windows: list[str]) -> None:
        self.client, self.windows = client, windows
        self.tokens, self.turn = TOKENS_MAX, 0


class Clerks:
    def __init__(self, url: str, data: str, hall_file: str, seed: int,
                 record: str | None, speed: float = 1.0) -> None:
        creds = load_credentials(data)
        hall = load_hall(hall_file)
        self.pins, self.windows = creds.pins, creds.sim_windows
        service = {q.id: float(q.service_seconds) for q in hall.queues.values()}
        self.scripts = {w: ClerkScript(w, random.Random(seed * 1000 + i), service)
                        for i, w in enumerate(self.windows)}
        self.rng = random.Random(seed)
        self.record = Recorder(record)
        self.busy: set[str] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.desks = [Desk(HubClient(url, "caller", device, creds.tokens[device]), windows)
                      for device, windows in desks(creds).items()]
        self.rater = HubClient(url, "evaluator", "E-SIM", creds.tokens["E-SIM"],
                               on_event=self._on_rater_event)

    def now(self, client: HubClient) -> float:
        return client.server_now()

    async def run(self) -> None:
        for desk in self.desks:
            desk.client.start()
        self.rater.start()
        while True:
            await asyncio.sleep(TICK_S)
            for desk in self.desks:
                if desk.client.connected and desk.client.view.loaded:
                    self._round(desk)

    def _round(self, desk: Desk) -> None:
        view, now = desk.client.view, self.now(desk.client)
        desk.tokens = min(TOKENS_MAX, desk.tokens + TOKENS_PER_TICK)
        desk.turn = (desk.turn + 1) % len(desk.windows)      # each window its turn first
        for window in desk.windows[desk.turn:] + desk.windows[:desk.turn]:
            if window in self.busy or len(self.busy) >= MAX_IN_FLIGHT or desk.tokens < 1:
                continue
            w = view.window(window)
            if w is None:
                continue
            if w.get("clerk") != clerk_of(window):
                if desk.tokens >= SIGN_IN_COST:
                    desk.tokens -= SIGN_IN_COST
                    self._spawn(window, self._sign_in(desk.client, window))
                continue
            step = self.scripts[window].next_action(now, w, self._queue(view, w), view.hall)
            if step is not None:
                desk.tokens -= 1
                self._spawn(window, self._act(desk.client, window, w, *step))

    @staticmethod
    def _queue(view: Any, w: dict[str, Any]) -> str:
        ticket = view.ticket(w["ticket"]) if w.get("ticket") else None
        if ticket and ticket.get("queue"):
            return str(ticket["queue"])
        main = w.get("main") or []
        return str(main[0]) if main else ""

    def _spawn(self, window: str, job: Any) -> None:
        self.busy.add(window)
        task = asyncio.ensure_future(job)
        self.tasks.add(task)
        task.add_done_callback(lambda t: (self.tasks.discard(t), self.busy.discard(window)))

    async def _sign_in(self, client: HubClient, window: str) -> None:
        try:
            await client.command("sign_in", {"window": window, "clerk": clerk_of(window),
                                                  "pin": self.pins[clerk_of(window)]})
        except HubError as exc:
            print(f"clerks: sign-in at {window}: {exc}", file=sys.stderr, flush=True)
            await asyncio.sleep(5)

    async def _act(self, client: HubClient, window: str, w: dict[str, Any], action: str,
                   extra: dict[str, Any]) -> None:
        name, args = command_args(action, window, **extra)
        try:
            await client.command(name, args)
        except HubError:
            self.scripts[window].failed(self.now(client))
            return
        self.record.write(action=action, window=window, number=w.get("number") or "")

    def _on_rater_event(self, frame: dict[str, Any]) -> None:
        data = frame.get("data") or {}
        if frame.get("name") != "service_finished" or data.get("window") not in self.windows:
            return
        if self.rng.random() >= RATE_SHARE or not isinstance(data.get("ticket"), str):
            return
        delay = self.rng.uniform(1.0, 4.0)
        loop = asyncio.get_running_loop()
        loop.call_later(delay, lambda: self._spawn("", self._rate(data["ticket"])))

    async def _rate(self, ticket: str) -> None:
        level = rating(self.rng)
        reason = reason_text("long_wait") if level <= 2 else ""
        try:
            await self.rater.command("evaluate", evaluate_args(ticket, level, reason))
        except HubError:
            return
        self.record.write(action="rate", ticket=ticket, level=level)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for desk in self.desks:
            await desk.client.close()
        await self.rater.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dispatcher.livedemo.clerks")
    parser.add_argument("--server", required=True)
    parser.add_argument("--data", required=True, help="the demo's data directory")
    parser.add_argument("--hall", default=str(SAMPLE_HALL))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--record")
    parser.add_argument("--speed", type=float, default=1.0, help="of the hub's clock")
    args = parser.parse_args(argv)

    async def go() -> None:
        clerks = Clerks(args.server, args.data, args.hall, args.seed, args.record,
                        args.speed)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        runner = asyncio.ensure_future(clerks.run())
        await stop.wait()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await clerks.close()

    asyncio.run(go())
    return 0


if __name__ == "__main__":
    sys.exit(main())
