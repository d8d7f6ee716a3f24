"""The hub: one websockets server between every device and the hall service.

Everything runs on one asyncio loop, and every write to a client is synchronous
(``broadcast`` to one or many connections writes the frame into the transport at
once). So a command is decided, committed, applied and its event frames handed
to every live connection, then its reply sent, with no await in between: no
client can see a reply before its events, and a client that says hello in
between gets exactly the events it missed, then live ones, with no gap and no
duplicate. A commit blocks the loop for about a millisecond; a hall sends a few
commands a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from ssl import SSLContext
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from .. import protocol as p
from ..core import events as ev
from ..core.commands import Command, SignIn, command_from_dict
from ..core.dispatcher import Dispatcher
from ..core.errors import DispatchError
from ..hall import HallConfigError
from ..service import HallService
from ..store import StoreError
from .authorize import authorize
from .credentials import CLOSE_REASON, CredentialFiles, load_credentials, why_closed
from .devices import Device
from .guard import (
    SEND_BUFFER_LIMIT,
    BadCredentials,
    Guard,
    GuardedConnection,
    Limits,
    buffered,
    fell_behind,
    hang_up,
    remote,
    remote_host,
)
from .people import Kind, People, Person, pin_matches
from .privacy import (
    concerned_windows,
    public_changes,
    public_data,
    public_ticket,
    sees_in_full,
)
from .queries import run_query
from .ratelimit import TokenBucket, message_cost, reply_cost
from .signin import (
    STAFF_COMMANDS,
    StaffSessions,
    actor_of,
    command_digest,
    core_args,
    person_view,
    pin_of,
    signs_someone_in,
    staff_id,
)
from .views import RecentCalls, changes_for, snapshot, ticket_view

log = logging.getLogger("onewindow.hub")
HELLO_TIMEOUT = 10.0
RING_SIZE = 10_000          # event frames kept for resync by events
REPLY_CACHE = 20_000        # replies kept for repeated command ids


def log_json(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False))


@dataclass(frozen=True)
class EventFrames:
    full: str                   # for the console, and the windows concerned
    public: str                 # for everyone else: what the lobby may see
    windows: frozenset[str]     # the windows concerned

    def for_device(self, device: Device) -> str:
        return self.full if sees_in_full(device, self.windows) else self.public


@dataclass
class Client:
    ws: ServerConnection
    device: Device
    bucket: TokenBucket | None = field(default_factory=TokenBucket)
    closing: bool = False   # refused for flooding: later frames are dropped unread
    staff: Person | None = None   # the dispatch staff member signed in at a console


class Hub:
    def __init__(self, service_factory: Callable[[Any], HallService],
                 devices: dict[str, Device], clock: Callable[[], float] = time.time,
                 rate_limit: tuple[float, float] | None = (20.0, 60.0),
                 people: People | None = None, limits: Limits | None = None) -> None:
        self.devices = devices
        self.guard = Guard(limits)      # connection caps, refused-hello backoff
        self.sent_chars = 0             # characters of every frame written (once a frame)
        self.people = people or People({})   # clerks and staff who may sign in
        self.clock = clock
        self.rate_limit = rate_limit   # (messages a second, burst); None: no limit
        self.ring: OrderedDict[int, EventFrames] = OrderedDict()
        self.recent = RecentCalls()
        self.replies: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()
        self.pending: set[tuple[str, str]] = set()   # sign-ins whose PIN is being checked
        self.sessions = StaffSessions()
        self._checks: set[asyncio.Task[None]] = set()
        self.live: dict[ServerConnection, Client] = {}
        self.started = time.time()
        self._closing: set[asyncio.Task[None]] = set()
        self.service = service_factory(self._observe)
        self.hall = self.service.hall
        # Today's command ids already in the store: only these can be retries of a
        # command that committed before a restart, so only these need a store lookup.
        self.stored_ids = self.service.store.command_keys_today()

    # ------------------------------------------------------------ events

    def _observe(self, seq: int, event: ev.Event, core: Dispatcher) -> None:
        """Build each event's frames once (in full, and as the lobby may see it), from
        the state just after it applied."""
        self.recent.note(event)
        data = event.to_dict()
        name = data.pop("name")
        changes = changes_for(event, core.state)
        self.ring[seq] = EventFrames(
            p.event_frame(seq, name, data, changes),
            p.event_frame(seq, name, public_data(name, data), public_changes(changes)),
            concerned_windows(data, changes))
        while len(self.ring) > RING_SIZE:
            self.ring.popitem(last=False)

    @property
    def seq(self) -> int:
        return self.service.store.last_seq()

    def _publish(self, seqs: list[int]) -> None:
        for seq in seqs:
            frames = self.ring[seq]
            full: list[ServerConnection] = []
            public: list[ServerConnection] = []   # (less any client dropped for lagging)
            for ws, client in self.live.items():
                (full if sees_in_full(client.device, frames.windows) else public).append(ws)
            if full:
                self._send(full, frames.full)
            if public:
                self._send(public, frames.public)

    def _send(self, conns: list[ServerConnection], frame: str) -> None:
        """Every write to a client goes through here: the frame into each transport at
        once, then any client over the send-buffer limit is dropped (guard.py)."""
        broadcast(conns, frame)
        self.sent_chars += len(frame)
        size = len(frame.encode())
        for ws in conns:
            if fell_behind(ws, size):
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

    # ------------------------------------------------------------ credentials

    def reload_credentials(self, files: CredentialFiles) -> bool:
        """SIGHUP: reread the devices (and clerks) file, then close each live device
        whose entry is gone, changed or expired. A file that fails to load changes
        nothing and logs one line."""
        try:
            devices, people = load_credentials(files, self.hall)
        except HallConfigError as exc:
            log_json("reload_failed", error=str(exc))
            return False
        self.devices = devices
        if people is not None:
            before, self.people.people = self.people.people, people  # backoff carries on
            self._sign_out_changed({pid for pid, p in before.items() if people.get(pid) != p})
        closed = self.close_stale()
        log_json("reloaded", devices=len(devices), people=len(self.people.people),
                 closed=closed)
        return True

    def _sign_out_changed(self, gone: set[str]) -> None:
        """People removed from the clerks file, or whose PIN changed (a leaked PIN is
        the usual reason), are signed out wherever they are signed in."""
        for client in self.live.values():
            if client.staff is not None and client.staff.id in gone:
                client.staff = None
                self.sessions.end(client.device.id)
        for window, status in self.service.core.state.windows.items():
            if status.clerk in gone:
                self._system_command(SignIn(window=window, clerk=""))
        if gone:
            log_json("signed_out", people=sorted(gone))

    def _system_command(self, command: Command) -> None:
        """A command of the hub itself (no device, no actor), told to everyone."""
        try:
            committed = self.service.execute(command, self.clock(), device=None, actor=None)
        except (DispatchError, StoreError) as exc:
            log_json("system_command_failed", name=command.NAME, error=str(exc))
            return
        self._publish([seq for seq, _ in committed])

    def close_stale(self) -> list[str]:
        """Close (1008) each live device removed from the list, changed or expired."""
        now, closed = time.time(), list[str]()
        for ws, client in list(self.live.items()):
            why = why_closed(client.device, self.devices.get(client.device.id), now)
            if why is None:
                continue
            self.live.pop(ws, None)
            client.closing = True           # what it sends meanwhile is dropped unread
            log_json(CLOSE_REASON, device=client.device.id, why=why)
            self._close_later(ws, p.CLOSE_POLICY, CLOSE_REASON)
            closed.append(client.device.id)
        return closed

    def _expired(self, device: Device) -> bool:
        """Refused at hello like a wrong token; only the log says why."""
        if not device.expired(time.time()):
            return False
        log_json("expired", device=device.id, expires_at=device.expires_at)
        return True

    # ------------------------------------------------------------ connections

    def _admit(self, ws: ServerConnection, request: Request) -> Response | None:
        """process_request: /healthz, or a 503 over the connection caps (guard.py)."""
        return self.health(ws, request) or self.guard.admit(ws)

    async def handler(self, ws: ServerConnection) -> None:
        client = await self._hello(ws)
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
        client = Client(ws, device, TokenBucket(*rate, tokens=rate[1]) if rate else None)
        self._welcome(client, hello.last_seq, hello.session)
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

    def _welcome(self, client: Client, last_seq: int | None, session: str | None = None
                 ) -> None:
        """Welcome, then the missed events or a snapshot, then live: all synchronous."""
        seq, ws = self.seq, client.ws
        client.staff = self.sessions.resume(session, client.device.id, time.monotonic())
        staff = person_view(client.staff) if client.staff else None
        missed = self._missed(last_seq, seq, client.device)
        if missed is None:
            snap = snapshot(self.hall, self.service.core.state, self.recent, client.device)
            self._send([ws], p.welcome(seq, client.device.role, client.device.id,
                                       "snapshot", snap, self.clock(), staff))
        else:
            self._send([ws], p.welcome(seq, client.device.role, client.device.id, "events",
                                       None, self.clock(), staff))
            for frame in missed:
                self._send([ws], frame)
        if ws.state is State.OPEN:
            self.live[ws] = client
        else:   # dropped for lagging already
            client.closing = True

    def _missed(self, last_seq: int | None, seq: int, device: Device) -> list[str] | None:
        """The frames after ``last_seq``, or None when a snapshot is needed."""
        if last_seq is None or last_seq > seq:
            return None
        if last_seq == seq:
            return []
        if last_seq + 1 not in self.ring:
            return None
        frames = [self.ring[s].for_device(device) for s in range(last_seq + 1, seq + 1)]
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

    def _command(self, client: Client, msg: p.CommandMessage) -> None:
        key, digest = (client.device.id, msg.id), command_digest(msg)
        reply = self._known_reply(key, digest)
        if reply is None:
            if key in self.pending:
                return   # the same sign-in is being checked: its reply answers both
            if signs_someone_in(msg):
                self._sign_in_later(client, msg, digest)
                return
            reply = self._execute(client, msg, digest)
        self._send([client.ws], reply)

    def _known_reply(self, key: tuple[str, str], digest: str) -> str | None:
        """The first reply to a repeated id; id_conflict when its arguments differ."""
        known = self.replies.get(key)
        stored = key in self.stored_ids
        if known is None and stored and self.stored_ids[key] not in (None, digest):
            known = (self.stored_ids[key] or "", "")
        if known is None and stored:
            reply = self._reply_from_store(key, digest)
            known = (digest, reply) if reply is not None else None
        if known is None:
            return None
        if known[0] != digest:
            return p.reply_error(key[1], p.ProtocolError(
                "id_conflict", f"command id {key[1]!r} was already used for another "
                "command or other arguments; use a new id for a new command").to_dict())
        return known[1]

    # ------------------------------------------------------------ sign-in

    def _sign_in_later(self, client: Client, msg: p.CommandMessage, digest: str) -> None:
        """Check what can be checked at once, then the PIN off the event loop."""
        try:
            person_id, kind = self._who(client, msg)
            pin = pin_of(msg)
            locked = self.people.locked(client.device.id, person_id, time.monotonic())
            if locked is not None:
                raise locked
        except (DispatchError, p.ProtocolError) as exc:
            self._send([client.ws], p.reply_error(msg.id, exc.to_dict()))
            return
        key = (client.device.id, msg.id)
        self.pending.add(key)
        task = asyncio.ensure_future(self._check_pin(client, msg, digest, pin, person_id,
                                                     kind))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    def _who(self, client: Client, msg: p.CommandMessage) -> tuple[str, Kind]:
        """Who is signing in, once the device is known to be allowed to ask."""
        if msg.name in STAFF_COMMANDS:
            return staff_id(client.device, msg), "staff"
        command = command_from_dict(msg.name, core_args(msg))
        authorize(client.device, command, self.service.core.state)
        return command.clerk, "clerks"  # type: ignore[attr-defined]

    async def _check_pin(self, client: Client, msg: p.CommandMessage, digest: str,
                         pin: str, person_id: str, kind: Kind) -> None:
        key = (client.device.id, msg.id)
        try:
            ok = await asyncio.to_thread(pin_matches, self.people.get(person_id, kind), pin)
            try:
                person = self.people.settle(client.device.id, person_id, kind, ok,
                                            time.monotonic())
            except p.ProtocolError as exc:
                log_json("sign_in_refused", device=client.device.id, person=person_id,
                         code=exc.code, remote=remote(client.ws))
                reply = p.reply_error(msg.id, exc.to_dict())
            else:
                reply = self._execute(client, msg, digest, person)
        finally:
            self.pending.discard(key)
        if client.ws in self.live:
            self._send([client.ws], reply)

    def _staff(self, client: Client, msg: p.CommandMessage, person: Person | None
               ) -> dict[str, Any]:
        staff_id(client.device, msg)
        before, client.staff = client.staff, person
        log_json(msg.name, device=client.device.id, staff=(person or before or _NOBODY).id,
                 remote=remote(client.ws))
        self.sessions.end(client.device.id)
        session = (self.sessions.start(client.device.id, person, time.monotonic())
                   if person else None)
        return {"seq": self.seq, "events": [], "session": session,
                "person": person_view(person) if person else None}

    # ------------------------------------------------------------ commands

    def _execute(self, client: Client, msg: p.CommandMessage, digest: str,
                 person: Person | None = None) -> str:
        key, before = (client.device.id, msg.id), self.seq
        try:
            if msg.name in STAFF_COMMANDS:
                reply = p.reply_ok(msg.id, self._staff(client, msg, person))
                self._remember(key, digest, reply)
                return reply
            command = authorize(client.device, _parse_command(msg), self.service.core.state)
            actor = person.id if person else actor_of(
                client.device, command, self.service.core.state, client.staff)
            committed = self.service.execute(command, self.clock(), device=client.device.id,
                                             actor=actor, command_id=msg.id,
                                             command_hash=digest)
        except (DispatchError, p.ProtocolError) as exc:
            reply = p.reply_error(msg.id, exc.to_dict())
        except StoreError as exc:
            return self._store_failed(client, msg, before, exc, digest)
        else:
            self.stored_ids[key] = digest
            self._publish([seq for seq, _ in committed])
            result = self._result(committed, client.device)
            if person is not None:
                result["person"] = person_view(person)
            reply = p.reply_ok(msg.id, result)
            log_json("command", device=client.device.id, name=msg.name, id=msg.id,
                     actor=actor, seqs=[seq for seq, _ in committed])
        self._remember(key, digest, reply)
        return reply

    def _store_failed(self, client: Client, msg: p.CommandMessage, before: int,
                      exc: StoreError, digest: str) -> str:
        """The database refused the write, or lost the connection after committing it.
        In the second case the service has rebuilt from the store: tell everyone what
        was committed and answer from it. In the first, nothing was done: do not
        remember the reply, so a retry of the same id may act."""
        log_json("store_failed", device=client.device.id, error=str(exc))
        if self.seq > before:
            self._publish(list(range(before + 1, self.seq + 1)))
            key = (client.device.id, msg.id)
            self.stored_ids[key] = digest
            reply = self._reply_from_store(key, digest)
            if reply is not None:
                return reply
        return p.reply_error(msg.id, p.ProtocolError(
            "store_failed", "the hall could not save it; nothing was done, try again"
        ).to_dict())

    def _reply_from_store(self, key: tuple[str, str], digest: str) -> str | None:
        """A retry of a command that committed before a restart: answer from its events."""
        committed = self.service.store.command_events(*key)
        if not committed:
            return None
        reply = p.reply_ok(key[1], self._result(committed, self.devices.get(key[0])))
        self._remember(key, digest, reply)
        return reply

    def _remember(self, key: tuple[str, str], digest: str, reply: str) -> None:
        self.replies[key] = (digest, reply)
        while len(self.replies) > REPLY_CACHE:
            self.replies.popitem(last=False)

    def _result(self, committed: list[tuple[int, ev.Event]], device: Device | None
                ) -> dict[str, Any]:
        state = self.service.core.state
        result: dict[str, Any] = {
            "seq": committed[-1][0] if committed else self.seq,
            "events": [{"seq": s, "name": e.NAME} for s, e in committed],
        }
        tickets = [e.ticket for _, e in committed  # type: ignore[attr-defined]
                   if getattr(e, "ticket", None) in state.tickets]
        if tickets:
            view = ticket_view(state, tickets[-1])
            own = device is not None and sees_in_full(
                device, frozenset(w for w in (view["window"], view["served_by"]) if w))
            result["ticket"] = view if own else public_ticket(view)
        issued = [e for _, e in committed if isinstance(e, ev.TicketIssued)]
        if issued:
            result["status"] = run_query(self, None, "ticket_status",
                                         {"ticket": issued[-1].ticket})
        return result

    def _query(self, client: Client, msg: p.QueryMessage) -> None:
        try:
            result = run_query(self, client.device, msg.name, msg.args)
        except (DispatchError, p.ProtocolError) as exc:
            self._send([client.ws], p.reply_error(msg.id, exc.to_dict()))
        else:
            self._send([client.ws], p.reply_ok(msg.id, result))

    # ------------------------------------------------------------ http

    def health(self, connection: ServerConnection, request: Request) -> Response | None:
        """GET /healthz for monitoring; every other path goes on to the websocket."""
        if request.path != "/healthz":
            return None
        body = {"ok": True, "hall": self.hall.name, "seq": self.seq,
                "day": self.service.core.state.day, "clients": len(self.live),
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
            await stop
            await asyncio.gather(*(ws.close(1001, "shutting_down") for ws in self.live),
                                 return_exceptions=True)


_NOBODY = Person("", "", "staff", b"", b"")


def _parse_command(msg: p.CommandMessage):
    try:
        return command_from_dict(msg.name, core_args(msg))
    except DispatchError as exc:
        if exc.details.get("field") == "name":
            raise p.ProtocolError("unknown_command", f"no command {msg.name!r}",
                                  field="name") from None
        raise
