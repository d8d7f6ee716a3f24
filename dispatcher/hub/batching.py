"""Group commit: the commands waiting at the hub are decided in order against the live
state and written in one transaction (one fsync for the batch), off the event loop.

Every message a device sends goes into one inbox, in the order it arrived. The hub
decides the commands at the head of the inbox as they come, each against the state
the ones before it left (its events are applied at once), into the next batch. When
no write is in flight the batch goes to the store's writer thread, and the next one
starts filling while it is written: deciding overlaps the fsync. When a batch is
durable it is told with no await in between: its events and then their replies to
the devices that sent its commands, then its events to every other device
(fanout.py). The next batch's fsync runs meanwhile. A
batch that did not commit is taken back with the one decided after it: the state is
rebuilt from the store and each of their commands is told ``store_failed`` (nothing
was done; a retry of the same id may act).

So a device is only ever told what is on disk. A query, or a hello that needs a
snapshot, is answered only at a point where the live state is the durable state
(nothing decided is waiting for its commit); the commands behind it in the inbox wait
for it, so it waits for two commits at most. That keeps every reply, welcome and
snapshot consistent with the seq it names and with the order its device sent things
in. A hello that can resync by events needs no such point: its welcome names the last
seq told and carries the frames up to it, so it is sent as soon as its device's
presence is told, and a reconnect storm does not hold back the callers' commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..core.commands import Command
from ..core.errors import DispatchError
from ..service import HallService
from ..store import Appended, StoreError
from .logs import log_exception, log_json, log_lines

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from .server import Client

MAX_BATCH = 256       # commands in one transaction at most
# s of deciding before the loop gets a turn: replies, reads and screens wait for as
# long as it decides (a full inbox of 256 commands held it 100-265 ms: bench_peak's
# loop_stall lines), and the batch decided so far goes to the writer meanwhile
DECIDE_SLICE = 0.02


@dataclass
class Outcome:
    """What a decided command's device is told once its batch is durable."""
    client: Client | None
    reply: str
    key: tuple[str, str] | None = None       # (device, command id): remembered if durable
    digest: str = ""
    acted: bool = False                      # it wrote events: failed with its batch
    same_as: Outcome | None = None           # a repeat of a command in the same batch
    then: Callable[[], None] | None = None   # run once its batch is told (a welcome)
    log: dict[str, Any] | None = None        # its "command" log line, once durable


@dataclass
class Batch:
    """The commands decided since the last write began, and the seq of its first event."""
    first: int
    outcomes: list[Outcome] = field(default_factory=list)

    def decided(self, service: HallService) -> bool:
        """Whether anything was decided into it (a command, or one of the hub's own)."""
        return bool(self.outcomes) or service.next_seq != self.first


@dataclass
class Waiting:
    """One item of the inbox. ``decides``: a command, decided into the next batch
    (``run`` returns its outcomes); else a query or a hello, run where the state is
    durable (``run`` sends its answer itself and returns nothing)."""
    decides: bool
    run: Callable[[], list[Outcome] | None]


class GroupCommit:
    service: HallService
    live: dict[ServerConnection, Client]
    batch_keys: dict[tuple[str, str], Outcome]   # commands decided, not yet told
    # from Hub: _send, holding, _forget_after; from FanOut (fanout.py): catch_up, fan_out;
    # from CommandPath: _remember,
    # stored_ids

    def _start_batching(self) -> None:
        self.inbox: deque[Waiting] = deque()
        self.batch_keys = {}
        self.deciding = False      # inside a command's decision: own commands join it
        self._draining = False
        self._slice_ends: float | None = None   # when this turn's deciding must stop
        self._drain_next = False                # a drain is due in the next turn
        self._next = Batch(self.service.next_seq)   # being decided
        self._writing: asyncio.Future[None] | None = None   # done once told
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self.batches = 0           # transactions written, and the commands in them
        self.batched = 0
        self.told = self.service.store.last_seq()   # the last seq every device was sent

    def enqueue(self, item: Waiting) -> None:
        self.inbox.append(item)
        self._drain()

    def run_own(self, command: Command, actor: str | None = "hub") -> None:
        """One of the hub's own commands (balancing, alerts, presence; ``actor`` None:
        the hub as the system). Inside a decision it joins that batch at once, so what
        follows sees its effect; otherwise it waits its turn in the inbox. A refusal
        is logged, not raised: the next round tries again."""
        if not self.deciding:
            self.own_turn(lambda: self.run_own(command, actor))
            return
        try:
            self.service.decide(command, self.clock(), actor=actor)
        except DispatchError as exc:
            log_json("own_command_refused", name=command.NAME, code=exc.code, error=str(exc))

    def own_turn(self, work: Callable[[], None]) -> None:
        """Run ``work`` as a decision in its turn: the hub's own commands it runs join
        one batch, each seeing the ones before."""
        def run() -> list[Outcome]:
            work()
            return []
        self.enqueue(Waiting(True, run))

    def _drain(self) -> None:
        """Decide what waits, for DECIDE_SLICE at most in one turn of the loop: every
        command read in a turn enqueues and drains, so the slice is the turn's, not
        each drain's (a turn that read 300 commands held the loop 100-190 ms)."""
        if self._draining:     # enqueued while draining: the loop below takes it
            return
        first = self._slice_ends is None     # the turn's first drain decides one at least
        until = self._slice()
        if not first and time.perf_counter() >= until:   # this turn's slice is spent
            self._drain_later()
            return
        self._draining, sliced = True, False
        try:
            while True:
                sliced = self._decide_waiting(until)
                if not self._hand_over() or sliced:
                    break
        finally:
            self._draining = False
        if sliced:          # the rest after the loop's turn
            self._drain_later()

    def _slice(self) -> float:
        """When this turn's slice of deciding ends; the turn's first drain starts it.
        With no loop (a test driving the hub by hand) there are no turns: no end."""
        if self._slice_ends is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return math.inf
            self._slice_ends = time.perf_counter() + DECIDE_SLICE
            loop.call_soon(self._end_slice)   # runs first in the next turn
        return self._slice_ends

    def _end_slice(self) -> None:
        self._slice_ends = None

    def _drain_later(self) -> None:
        if not self._drain_next:
            self._drain_next = True
            asyncio.get_running_loop().call_soon(self._drain_again)

    def _drain_again(self) -> None:
        self._drain_next = False
        self._drain()

    def _decide_waiting(self, until: float) -> bool:
        """Decide the commands at the head of the inbox into the next batch (also while
        the previous one is being written); answer a query or hello once durable. True
        when it stopped at ``until`` with commands still waiting."""
        while self.inbox:
            item = self.inbox[0]
            if item.decides:
                if len(self._next.outcomes) >= MAX_BATCH:
                    return False
                self.inbox.popleft()
                self._next.outcomes.extend(self._decide(item))
            elif self._writing is None and not self._next.decided(self.service):
                self.inbox.popleft()
                self._guarded(item.run)
            else:
                return False   # answered once what is decided before it is durable
            if self.inbox and time.perf_counter() >= until:   # one at least each time
                return True
        return False

    def _decide(self, item: Waiting) -> list[Outcome]:
        self.deciding = True
        try:
            return item.run() or []
        except Exception:   # a bug: it must not stop the hall; the store is the truth
            log_exception("deciding failed")
            return []
        finally:
            self.deciding = False

    @staticmethod
    def _guarded(run: Callable[[], object]) -> None:
        try:
            run()
        except Exception:
            log_exception("answering failed")

    def _hand_over(self) -> bool:
        """With no write in flight, start writing the decided batch. True when it was
        told at once (refusals and repeats only: nothing to write)."""
        batch = self._next
        if self._writing is not None or not batch.decided(self.service):
            return False
        self._next = Batch(self.service.next_seq)
        appended = self.service.take()
        if not appended:
            self._finish(batch.outcomes, [], durable=True)
            return True
        self.batches += 1
        self.batched += len(appended)
        loop = asyncio.get_running_loop()
        self._writing = loop.create_future()
        # the writer's end comes back as one callback: through a task and
        # run_in_executor it took three turns of the loop, each behind a chunk of any
        # fan-out in progress (3-6 ms a chunk at 2,000 displays)
        def back(written: Future[None]) -> None:   # on the writer thread
            with contextlib.suppress(RuntimeError):   # the loop closed: nobody to tell
                loop.call_soon_threadsafe(self._written, written, appended, batch)

        self._writer.submit(self.service.commit, appended).add_done_callback(back)
        return False

    def _written(self, written: Future[None], appended: list[Appended], batch: Batch
                 ) -> None:
        """The batch's write ended: tell it (or take it back), then decide on."""
        failed = False
        try:
            written.result()
        except StoreError as exc:
            failed = True
            log_json("store_failed", commands=len(appended), error=str(exc))
        except Exception:
            failed = True
            log_exception("commit failed")
        writing, self._writing = self._writing, None
        try:
            if self.service.settle(failed, forget=self._forget_after):
                if self.service.waiting:   # its fsync overlaps the telling of this one
                    self._hand_over()
                events = sum(len(a.events) for a in appended)
                self._finish(batch.outcomes, list(range(batch.first, batch.first + events)),
                             durable=True)
            else:    # the batch decided meanwhile was taken back with it
                taken_back, self._next = self._next, Batch(self.service.next_seq)
                self.batch_keys = {}
                self._finish(batch.outcomes + taken_back.outcomes, [], durable=False)
        except Exception:
            log_exception("telling a batch failed")
        finally:
            if writing is not None and not writing.done():
                writing.set_result(None)
        self._drain()

    def _finish(self, outcomes: list[Outcome], seqs: list[int], durable: bool) -> None:
        """Tell a durable batch, all at once (no await): its events and then their
        replies to the devices that sent its commands, then its events to every other
        device (so a reply does not wait for the fan-out to 2,000 displays). A batch
        taken back: store_failed."""
        if not durable:
            for outcome in outcomes:
                outcome.reply = store_failed(outcome)
        for outcome in outcomes:
            if outcome.key is None or outcome.same_as is not None:
                continue
            if self.batch_keys.get(outcome.key) is outcome:   # a repeat now finds its reply
                del self.batch_keys[outcome.key]
            if durable:
                if outcome.acted:
                    self.stored_ids.add(outcome.key)
                self._remember(outcome.key, outcome.digest, outcome.reply)
        with self.holding():   # each sender's events and replies in one write
            if seqs:
                self.told = seqs[-1]
                self.catch_up(self._senders(outcomes), self.told)
            for outcome in outcomes:
                client = outcome.client
                if client is not None and not client.closing and client.ws in self.live:
                    reply = outcome.same_as.reply if outcome.same_as else outcome.reply
                    self._send([client.ws], reply)
        if seqs:
            self.fan_out()
        if durable:
            log_lines("command", [o.log for o in outcomes if o.log is not None])
        for outcome in outcomes:
            if outcome.then is not None:
                self._guarded(outcome.then)

    def _senders(self, outcomes: list[Outcome]) -> list[ServerConnection]:
        """The live connections that sent the batch's commands."""
        return [o.client.ws for o in outcomes
                if o.client is not None and o.client.ws in self.live]

    async def idle(self) -> None:
        """Until the write in flight (and any batch after it) has been told."""
        while self._writing is not None:
            await asyncio.shield(self._writing)

    def stop_batching(self) -> None:
        self._writer.shutdown(wait=True)


def store_failed(outcome: Outcome) -> str:
    message_id = outcome.key[1] if outcome.key else ""
    return p.reply_error(message_id, p.ProtocolError(
        "store_failed", "the hall could not save it; nothing was done, try again"
    ).to_dict())
