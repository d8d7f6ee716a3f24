"""The hub: one websockets server between every device and the hall service.

Everything but the store's writes runs on one asyncio loop, and every write to a
client is synchronous (``broadcast`` to one or many connections writes the frame
into the transport at once). Commands are decided in batches and committed off the
loop (batching.py); a batch's events are handed to every live connection and its
replies sent with no await in between, once it is durable: no client sees a reply
before its events, and a hello, welcomed at the last seq told (by events) or where
the state is durable (by snapshot), gets exactly the events it missed, then live
ones, with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from http import HTTPStatus
from ssl import SSLContext
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from .. import protocol as p
from ..core import alerts
from ..core import events as ev
from ..core.commands import CheckAlerts, ReportDevice
from ..core.dispatcher import Dispatcher
from ..core.errors import DispatchError
from ..core.floor import FloorHistory
from ..service import HallService
from ..store.snapshots import Resumed
from .arrivals import Arrivals
from .balancer import BALANCE_EVERY, Balancer
from .batching import GroupCommit, Outcome, Waiting
from .collector import keep_collections_short
from .commands import CommandPath, RecentReplies
from .credentials import CredentialReload
from .devices import Device
from .fanout import FanOut, Held, write_all, write_held
from .guard import (
    SEND_BUFFER_LIMIT,
    BadCredentials,
    Guard,
    GuardedConnection,
    Limits,
    buffered,
    hang_up,
    remote,
    remote_host,
)
from .logs import log_json
from .people import People, Person
from .phone import Phone, route
from .presence import DISCONNECTED, RECONNECTED, Presence
from .privacy import (
    concerned_windows,
    public_changes,
    public_data,
    without_secrets,
)
from .queries import run_query
from .ratelimit import TokenBucket, message_cost, reply_cost
from .ring import RING_AFTER_START, Ring
from .signin import (
    StaffSessions,
    person_view,
)
from .stalls import StallWatch
from .views import RecentCalls, changes_for, snapshot

HELLO_TIMEOUT = 10.0
# Seconds between the hub's check_alerts. Only on this clock, never in a command's
# path: an evaluation walks every waiting ticket (3 ms at 1,900 waiting).
ALERT_TICK = 5.0


@dataclass
class Client:
    ws: ServerConnection
    device: Device
    bucket: TokenBucket | None = field(default_factory=TokenBucket)
    closing: bool = False   # refused for flooding: later frames are dropped unread
    staff: Person | None = None   # the dispatch staff member signed in at a console
    batch: bool = False     # it reads "events" frames: a commit's events in one frame
    through: int = 0        # the last seq it was sent (fanout.py)


SCREENS = ("display", "led")    # what shows a call to the citizens in the hall
QUIET = ("kiosk",)              # what shows counts only: caught up less often (fanout.py)


class Live(dict[ServerConnection, Client]):
    """The devices' connections; apart, the consoles' and how many each device has
    (every device that comes or goes is told to the consoles, and one that goes is
    gone when it has no connection left: 2,000 displays lost at once would otherwise
    walk all the connections 2,000 times)."""

    def __init__(self) -> None:
        super().__init__()
        self.consoles: dict[ServerConnection, Client] = {}
        self.screens: dict[ServerConnection, Client] = {}   # fanout.py writes them first
        self.quiet: dict[ServerConnection, Client] = {}     # and these at most every so often
        self.per_device: Counter[str] = Counter()

    def __setitem__(self, ws: ServerConnection, client: Client) -> None:
        if ws not in self:
            self.per_device[client.device.id] += 1
        super().__setitem__(ws, client)
        if client.device.role == "console":
            self.consoles[ws] = client
        elif client.device.role in SCREENS:
            self.screens[ws] = client
        elif client.device.role in QUIET:
            self.quiet[ws] = client

    def pop(self, ws: ServerConnection, *default: Any) -> Any:  # type: ignore[override]
        if ws not in self:
            return super().pop(ws, *default)   # KeyError unless a default is given
        self.consoles.pop(ws, None)
        self.screens.pop(ws, None)
        self.quiet.pop(ws, None)
        client = super().pop(ws)
        self.per_device[client.device.id] -= 1
        if not self.per_device[client.device.id]:
            del self.per_device[client.device.id]
        return client


class Hub(GroupCommit, FanOut, CommandPath, CredentialReload, Balancer):
    def __init__(self, service_factory: Callable[[Any], HallService],
                 devices: dict[str, Device], clock: Callable[[], float] = time.time,
                 rate_limit: tuple[float, float] | None = (20.0, 60.0),
                 people: People | None = None, limits: Limits | None = None,
                 balance_every: float = BALANCE_EVERY) -> None:
        self.devices = devices
        self.balance_every = balance_every    # seconds between balancing rounds
        self._predicting: set[str] = set()    # suggestions whose effect is being predicted
        self._predictor: Executor | None = None
        self.presence = Presence()            # which devices are connected
        self.guard = Guard(limits)      # connection caps, refused-hello backoff
        self.phone = Phone(self)        # citizens' phone pages and their live sockets
        self.sent_chars = 0             # characters of every frame written (once a frame)
        self.held: Held | None = None   # frames kept to be written together (holding)
        self.people = people or People({})   # clerks and staff who may sign in
        self.clock = clock
        self.speed = float(getattr(clock, "speed", 1.0))   # hall seconds a real second
        self.rate_limit = rate_limit   # (messages a second, burst); None: no limit
        self.ring = Ring()
        self.recent = RecentCalls()
        self.floor = FloorHistory()     # the console's floor query: the last hour
        self.replies = RecentReplies()   # the first reply to each recent command id
        self.pending: set[tuple[str, str]] = set()   # sign-ins whose PIN is being checked
        self.sessions = StaffSessions()
        self._checks: set[asyncio.Task[None]] = set()
        self.live = Live()
        self.arrivals = Arrivals()      # new connections take turns
        self.started = time.time()
        self._closing: set[asyncio.Task[None]] = set()
        self.service = service_factory(self._observe)
        self.hall = self.service.hall
        # Today's command ids already in the store: only these can be retries of a
        # command that committed before a restart, so only these need a store lookup.
        self.stored_ids = self.service.store.command_keys_today()
        self._start_batching()

    # ------------------------------------------------------------ events

    def _observe(self, seq: int, event: ev.Event, core: Dispatcher, left: int) -> None:
        """Build each event's frames once (in full, and as the lobby may see it), from
        the state just after it applied; on a rebuild, only for the last
        RING_AFTER_START events (``left``: how many follow it)."""
        if isinstance(event, Resumed):   # a start from a snapshot (store/snapshots.py)
            self.floor = event.floor
            return
        self.recent.note(event)
        self.floor.note(seq, event, core.state)
        if left >= RING_AFTER_START:
            return
        data = without_secrets(event.to_dict())
        name = data.pop("name")
        changes = changes_for(event, core.state, core.hall)
        public, lobby = public_data(name, data), public_changes(changes)
        public_frame = p.event_frame(seq, name, public, lobby)
        lobby.pop("tickets", None)
        self.ring.add(seq, (p.event_frame(seq, name, public, lobby), public_frame,
                            p.event_frame(seq, name, data, changes)),
                      concerned_windows(data, changes, name))

    @property
    def seq(self) -> int:
        return self.service.store.last_seq()

    def _forget_after(self, seq: int) -> None:
        """A batch taken back: drop the frames built for its events."""
        self.ring.forget_after(seq)

    def _send(self, conns: list[ServerConnection], frame: str) -> None:
        """Every write to a client goes through here: the frame into each transport at
        once (fanout.py), then any client over the send-buffer limit is dropped
        (guard.py)."""
        behind = write_all(conns, frame, self.held)
        self.sent_chars += len(frame)
        for ws in behind:
            self._drop_lagging(ws)

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """The frames sent meanwhile are written at the end, each connection's in one
        write (fanout.write_held)."""
        self.held = {}
        try:
            yield
        finally:
            held, self.held = self.held, None
            for ws in write_held(held or {}):
                self._drop_lagging(ws)

    def _drop_lagging(self, ws: ServerConnection) -> None:
        """Close with 4000 after what it has, write nothing more, cut it if it never
        reads; it resyncs by reconnecting with its last_seq."""
        client = self.live.pop(ws, None)
        if client is not None:
            client.closing = True
        log_json("lagging", device=client.device.id if client else None, remote=remote(ws),
                 buffered=buffered(ws))
        hang_up(ws, p.CLOSE_LAGGING, "lagging: reconnect with last_seq")

    def _close_later(self, ws: ServerConnection, code: int, reason: str) -> None:
        """Close from synchronous code; keep the task referenced until it is done."""
        task = asyncio.ensure_future(ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ------------------------------------------------------------ connections

    async def _admit(self, ws: ServerConnection, request: Request) -> Response | None:
        """process_request: a phone's page (phone.py), /healthz, or a 503 over the
        connection caps (guard.py); a device then waits for its turn (arrivals.py)."""
        phone = route(request)
        if phone is not None:
            return self.phone.admit(ws, phone)
        refused = self.health(ws, request) or self.guard.admit(ws)
        if refused is None:
            await self.arrivals.take_turn(ws)
        return refused

    async def handler(self, ws: ServerConnection) -> None:
        if ws in self.phone.live:
            await self.phone.serve_live(ws)
            return
        try:
            client = await self._hello(ws)
        finally:
            self.arrivals.give_back(ws)
        if client is None:
            return
        log_json("connected", device=client.device.id, role=client.device.role,
                 remote=remote(ws))
        try:
            async for frame in ws:
                self._receive(client, frame)
        except ConnectionClosed:
            pass
        finally:
            self.live.pop(ws, None)
            log_json("disconnected", device=client.device.id, code=ws.close_code,
                     remote=remote(ws))
            if client.device.id not in self.live.per_device:
                self._note_presence(client.device, False)

    def presence_for(self, device: Device) -> dict[str, Any] | None:
        return self.presence.view(self.devices) if device.role == "console" else None

    def _note_presence(self, device: Device, online: bool) -> None:
        """Tell the consoles a device came or went (presence.py); a device the hub had
        reported offline is reported back."""
        view = self.presence.note(device, online, self.clock())
        if view is not None and self.live.consoles:
            self._send(list(self.live.consoles), p.presence_frame(device.id, view))
        known = self.service.core.state.devices.get(device.id)
        if online and known and known.detail == DISCONNECTED and self._today():
            self.run_own(ReportDevice(device.id, "ok", RECONNECTED))

    def report_absent(self) -> None:
        """Report the devices gone for OFFLINE_AFTER seconds offline (once each)."""
        if not self._today():
            return
        for device in self.presence.absent(self.clock()):
            known = self.service.core.state.devices.get(device)
            if known is None or known.status != "offline":
                self.run_own(ReportDevice(device, "offline", DISCONNECTED))

    def _today(self) -> bool:
        """The store's day is the hall's business day now and still open: the hub's own
        commands never open a day nor write after its close."""
        state = self.service.core.state
        return not state.day_closed and state.day == self.hall.business_day(self.clock())

    async def _hello(self, ws: ServerConnection) -> Client | None:
        try:
            frame = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT)
            hello = p.parse_client_message(frame)
            if not isinstance(hello, p.Hello):
                raise p.ProtocolError("hello_first", "say hello first: "
                                      '{"type":"hello","role":…,"device":…,"token":…}')
            device = self._authenticate(hello)
        except p.ProtocolError as exc:
            await self._refuse(ws, exc)
            return None
        except (TimeoutError, ConnectionClosed):
            return None
        host = remote_host(ws)
        self.guard.succeeded(host)
        wait = self.guard.welcome_delay(host)
        if wait > 0:
            log_json("welcome_delayed", device=device.id, remote=remote(ws),
                     delay_s=round(wait, 2))
            await asyncio.sleep(wait)
        rate = self.rate_limit
        client = Client(ws, device, TokenBucket(*rate, tokens=rate[1]) if rate else None,
                        batch=hello.batch)
        welcomed = asyncio.get_running_loop().create_future()

        def present() -> list[Outcome]:   # before its welcome: a console sees itself,
            self._note_presence(device, True)   # a reconnection is reported in its seq
            return [Outcome(None, "", then=by_events)]

        def by_events() -> None:   # once that is told: by events at once, if it can be
            if self._welcome(client, hello.last_seq, hello.session, durable=False):
                welcomed.set_result(None)
            else:
                self.enqueue(Waiting(False, by_snapshot))

        def by_snapshot() -> None:   # in its turn, where the state is durable
            try:
                self._welcome(client, hello.last_seq, hello.session, durable=True)
            finally:
                welcomed.set_result(None)

        self.enqueue(Waiting(True, present))
        await welcomed
        return client

    def _authenticate(self, hello: p.Hello) -> Device:
        """The device, or bad_credentials whatever failed: only the log says which."""
        device = self.devices.get(hello.device)
        if device is None:
            raise BadCredentials("unknown_device", hello.device)
        if not device.token_matches(hello.token):
            raise BadCredentials("bad_token", hello.device)
        if device.role != hello.role:
            raise BadCredentials("wrong_role", hello.device)
        if self._expired(device):
            raise BadCredentials("expired", hello.device)
        return device

    async def _refuse(self, ws: ServerConnection, exc: p.ProtocolError) -> None:
        """Refuse a hello and close 1008; bad credentials only after this address's
        backoff delay (guard.py), which holds back nothing but this connection."""
        bad = exc if isinstance(exc, BadCredentials) else None
        delay = self.guard.failed(remote_host(ws)) if bad else 0.0
        log_json("refused", code=exc.code, reason=bad.reason if bad else exc.message,
                 device=bad.device if bad else None, remote=remote(ws),
                 delay_s=round(delay, 2))
        await asyncio.sleep(delay)
        self._send([ws], p.error_frame(exc.to_dict()))
        with contextlib.suppress(ConnectionClosed):
            await ws.close(p.CLOSE_POLICY, exc.code)

    def _welcome(self, client: Client, last_seq: int | None, session: str | None,
                 durable: bool) -> bool:
        """Welcome, then the missed events or a snapshot, then live: all synchronous.
        A welcome by events needs only the frames up to the last seq told, so it is
        sent at once, past any commands being decided or written; one that needs a
        snapshot of the live state only where that state is durable (``durable``):
        False, nothing sent, if it is not."""
        seq, ws = self.told, client.ws
        missed = self._missed(last_seq, seq, client.device, client.batch)
        if missed is None and not durable:
            return False
        client.staff = self.sessions.resume(session, client.device.id, time.monotonic())
        staff = person_view(client.staff) if client.staff else None
        if missed is None:
            snap = snapshot(self.hall, self.service.core.state, self.recent, client.device,
                            self.presence_for(client.device))
            self._send([ws], p.welcome(seq, client.device.role, client.device.id,
                                       "snapshot", snap, self.clock(), staff, self.speed))
        else:
            self._send([ws], p.welcome(seq, client.device.role, client.device.id, "events",
                                       None, self.clock(), staff, self.speed))
            for frame in p.events_frames(missed) if client.batch and missed else missed:
                self._send([ws], frame)
        client.through = seq
        if ws.state is State.OPEN:
            self.live[ws] = client
        else:   # dropped for lagging already
            client.closing = True
        return True

    def _missed(self, last_seq: int | None, seq: int, device: Device, slim: bool = False
                ) -> list[str] | None:
        """The frames after ``last_seq``, or None when a snapshot is needed."""
        if last_seq is None or last_seq > seq:
            return None
        if last_seq == seq:
            return []
        if last_seq + 1 not in self.ring:
            return None
        frames = [self.ring[s].for_device(device, slim)
                  for s in range(last_seq + 1, seq + 1)]
        # more than the send buffer holds: a snapshot instead, or it would be dropped
        return None if sum(map(len, frames)) > SEND_BUFFER_LIMIT // 2 else frames

    # ------------------------------------------------------------ messages

    def _receive(self, client: Client, frame: str | bytes) -> None:
        if client.closing:
            return
        if not self._affords(client, frame, 1.0):   # refused unread: costs the hub least
            return
        try:
            message = p.parse_client_message(frame)
            if isinstance(message, p.Hello):
                raise p.ProtocolError("already_hello", "this connection already said hello")
        except p.ProtocolError as exc:
            if self._affords(client, frame, message_cost(None), take=True):
                self._send_error(client, frame, exc)
            return
        if not self._affords(client, frame, message_cost(message), take=True):
            return
        if isinstance(message, p.CommandMessage):
            self._command(client, message)
        else:
            self.enqueue(Waiting(False, lambda: self._answer(client, message)))

    def _answer(self, client: Client, message: p.QueryMessage) -> None:
        self.catch_up([client.ws], self.told)   # the answer's seq after its events
        sent = self.sent_chars
        self._query(client, message)
        if client.bucket is not None:   # the reply's size, into debt if need be
            client.bucket.charge(reply_cost(self.sent_chars - sent))

    def _affords(self, client: Client, frame: str | bytes, cost: float,
                 take: bool = False) -> bool:
        """Whether the client's bucket has ``cost`` tokens (taking them if ``take``);
        if not, rate_limited, and a client that keeps flooding is closed."""
        bucket = client.bucket
        if bucket is None or (bucket.take(cost) if take else bucket.allows(cost)):
            return True
        self._send_error(client, frame, p.ProtocolError(
            "rate_limited", f"over {bucket.rate:g} tokens a second (a snapshot costs more "
            "than a call: docs/protocol.md)", retry_after=round(bucket.wait_s(cost), 2)))
        if bucket.flooding:
            client.closing = True
            self.live.pop(client.ws, None)
            log_json("flood", device=client.device.id, remote=remote(client.ws))
            hang_up(client.ws, p.CLOSE_POLICY, "flood")
        return False

    def _send_error(self, client: Client, frame: str | bytes, exc: p.ProtocolError) -> None:
        message_id = p.message_id(frame) if isinstance(frame, str) else None
        out = (p.reply_error(message_id, exc.to_dict()) if message_id
               else p.error_frame(exc.to_dict()))
        self._send([client.ws], out)

    def _query(self, client: Client, msg: p.QueryMessage) -> None:
        try:
            result = run_query(self, client.device, msg.name, msg.args)
        except (DispatchError, p.ProtocolError) as exc:
            self._send([client.ws], p.reply_error(msg.id, exc.to_dict()))
        else:
            self._send([client.ws], p.reply_ok(msg.id, result))

    # ------------------------------------------------------------ alerts

    def check_alerts(self) -> None:
        """Run check_alerts when it raises or clears something (the hall file's
        [[alerts]], dispatcher/core/alerts.py)."""
        if not self.hall.alerts or not self._today():
            return
        if alerts.check_alerts(self.hall, self.service.core.state, self.clock()):
            self.run_own(CheckAlerts())

    async def _alert_clock(self) -> None:
        while True:
            await asyncio.sleep(ALERT_TICK)
            self.own_turn(self.report_absent)
            self.own_turn(self.check_alerts)

    # ------------------------------------------------------------ http

    def health(self, connection: ServerConnection, request: Request) -> Response | None:
        """GET /healthz for monitoring; every other path goes on to the websocket."""
        if request.path != "/healthz":
            return None
        body = {"ok": True, "hall": self.hall.name, "seq": self.seq,
                "day": self.service.core.state.day, "clients": len(self.live),
                "phones": len(self.phone.live),
                "commits": self.batches, "commands_committed": self.batched,
                "uptime_s": round(time.time() - self.started, 1)}
        response = connection.respond(HTTPStatus.OK, json.dumps(body, ensure_ascii=False))
        del response.headers["Content-Type"]      # respond() said text/plain
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        return response

    async def serve_forever(self, host: str, port: int, ready: Callable[[int], None],
                            stop: asyncio.Future[None], *,
                            ssl: SSLContext | None = None) -> None:
        """``ssl``: serve wss:// (and https:// /healthz) with this context."""
        async with serve(self.handler, host, port, process_request=self._admit,
                         create_connection=GuardedConnection,
                         max_size=p.HARD_FRAME_LIMIT, ping_interval=20, ping_timeout=20,
                         compression=None, ssl=ssl) as server:
            ready(server.sockets[0].getsockname()[1])
            clocks = [asyncio.ensure_future(self._alert_clock()),
                      asyncio.ensure_future(self.balance_clock()),
                      asyncio.ensure_future(self.phone.clock()),
                      asyncio.ensure_future(keep_collections_short(lambda: self.batched)),
                      asyncio.ensure_future(StallWatch().run())]
            try:
                await stop
            finally:
                for clock in clocks:
                    clock.cancel()
                self.stop_predicting()
                await self.idle()      # the batch in flight is written and told
                self.flush_fan_out()
                self.stop_batching()
            await asyncio.gather(*(ws.close(1001, "shutting_down") for ws in self.live),
                                 return_exceptions=True)

