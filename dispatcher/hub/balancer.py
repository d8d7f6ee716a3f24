"""The hub's live balancing (dispatcher/core/balancing.py on the hub's clock).

Every ``balance_every`` seconds the hub asks the core which windows to move
(``candidates``: the capped policy's moves), posts them as suggestions, makes them
itself in the zones set to automatic (``by`` "hub"), and for the others has the
forward simulation predict each move's effect (dispatcher/simulator/forward.py) in
a worker process, so a quarter-second simulation never holds up a clerk's call; the
prediction comes back as a ``predict_suggestion`` of the hub's own.

A mixin of ``Hub``: it uses the hub's service, clock and ``run_own`` (batching.py).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from ..core import balancing
from ..core.commands import ApplySuggestion, Command, PostSuggestions, PredictSuggestion
from ..core.state import HallState
from ..hall import Hall
from ..service import HallService
from .logs import log_json

BALANCE_EVERY = 30.0      # seconds between the hub's balancing rounds
PREDICT_RUNS = 8          # forward simulation runs per prediction (with and without)
PREDICT_HORIZON = 3600.0  # seconds simulated ahead


def predict(hall: Hall, pickled_state: bytes, now: float, suggestion: dict[str, Any]
             ) -> dict[str, Any]:
    """In the worker process: the suggestion's predicted effect, as the console shows it.
    The state comes pickled at once on the event loop (the pool pickles its arguments
    later, in its own thread, while the loop may be changing the state)."""
    from ..simulator.forward import predict_move

    state: HallState = pickle.loads(pickled_state)
    move = balancing.as_move(suggestion, "")
    effect = predict_move(hall, state, now, move, horizon=PREDICT_HORIZON, runs=PREDICT_RUNS)
    return effect.to_dict()


class Balancer:
    service: HallService
    hall: Hall
    clock: Callable[[], float]
    balance_every: float = BALANCE_EVERY
    _predicting: set[str]
    _predictor: Executor | None

    def _today(self) -> bool: ...
    def run_own(self, command: Command, actor: str | None = balancing.HUB) -> None: ...
    def own_turn(self, work: Callable[[], None]) -> None: ...

    def balance(self) -> None:
        """One round: post what to move now, move it in automatic zones, predict the rest."""
        state, now = self.service.core.state, self.clock()
        if not self._today():
            return
        self.run_own(PostSuggestions(balancing.candidates(self.hall, state, now)))
        for s in list(self.service.core.state.suggestions.values()):
            if balancing.is_automatic(self.hall, self.service.core.state, s["zone"]):
                self.run_own(ApplySuggestion(s["id"], by=balancing.HUB))
        unpredicted = [s for s in self.service.core.state.suggestions.values()
                       if s["predicted"] is None and s["id"] not in self._predicting]
        if unpredicted:
            self._start_predictions(unpredicted)

    def _start_predictions(self, suggestions: list[dict[str, Any]]) -> None:
        """Each in the worker, from one pickle of the state (7 ms at 1,600 tickets:
        bench/bench_balancing.py), in the order suggested."""
        if self._predictor is None:
            self._predictor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=leave_with_parent, initargs=(os.getpid(),))
        state, now = pickle.dumps(self.service.core.state), self.clock()
        loop = asyncio.get_running_loop()
        for suggestion in suggestions:
            sid = suggestion["id"]
            self._predicting.add(sid)
            future = loop.run_in_executor(self._predictor, predict, self.hall, state, now,
                                          suggestion)
            future.add_done_callback(lambda f, sid=sid: self._predicted(sid, f))

    def _predicted(self, sid: str, future: asyncio.Future[dict[str, Any]]) -> None:
        """A failed prediction is logged and not tried again (its id stays in
        ``_predicting``): the console shows the move without one."""
        if future.cancelled():
            return
        if future.exception() is not None:
            log_json("prediction_failed", suggestion=sid, error=repr(future.exception()))
            return
        self._predicting.discard(sid)
        self.run_own(PredictSuggestion(sid, future.result()))

    async def balance_clock(self) -> None:
        while True:
            await asyncio.sleep(self.balance_every)
            self.own_turn(self.balance)   # a round's moves are one batch, in order

    def stop_predicting(self) -> None:
        if self._predictor is not None:
            self._predictor.shutdown(wait=False, cancel_futures=True)


def leave_with_parent(parent: int) -> None:
    """In the prediction worker: exit when the hub is gone. A hub killed with -9 cannot
    shut its pool down, and the worker would otherwise wait for work for ever."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="leave-with-parent").start()
