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
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .. import protocol as p
from ..core import events as ev
from ..core.commands import command_from_dict
from ..core.dispatcher import Dispatcher
from ..core.errors import DispatchError
from ..service import HallService
from ..store import StoreError
from .authorize import authorize
from .devices import Device
from .people import People
from .queries import run_query
from .ratelimit import TokenBucket
from .views import RecentCalls, changes_for, snapshot, ticket_view

log = logging.getLogger("onewindow.hub")
HELLO_TIMEOUT = 10.0
RING_SIZE = 10_000          # event frames kept for resync by events
REPLY_CACHE = 20_000        # replies kept for repeated command ids
MAX_BUFFERED = 8 * 1024**2  # a client this far behind is closed and resyncs


def log_json(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False))


@dataclass
class Client:
    ws: ServerConnection
    device: Device
    bucket: TokenBucket | None = field(default_factory=TokenBucket)
    closing: bool = False   # refused for flooding: later frames are dropped unread


class Hub:
    def __init__(self, service_factory: Callable[[Any], HallService],
                 devices: dict[str, Device], clock: Callable[[], float] = time.time,
                 rate_limit: tuple[float, float] | None = (20.0, 60.0),
                 people: People | None = None) -> None:
        self.devices = devices
        self.people = people or People({})   # clerks and staff who may sign in
        self.clock = clock
        self.rate_limit = rate_limit   # (messages a second, burst); None: no limit
        self.ring: OrderedDict[int, str] = OrderedDict()
        self.recent = RecentCalls()
        self.replies: OrderedDict[tuple[str, str], str] = OrderedDict()
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
        """Build each event's frame once, from the state just after it applied."""
        self.recent.note(event)
        data = event.to_dict()
        name = data.pop("name")
        self.ring[seq] = p.event_frame(seq, name, data, changes_for(event, core.state))
        while len(self.ring) > RING_SIZE:
            self.ring.popitem(last=False)

    @property
    def seq(self) -> int:
        return self.service.store.last_seq()

    def _publish(self, seqs: list[int]) -> None:
        conns = list(self.live)
        for seq in seqs:
            broadcast(conns, self.ring[seq])
        for ws in conns:
            transport = ws.transport
            if transport is not None and transport.get_write_buffer_size() > MAX_BUFFERED:
                self._drop_lagging(ws)

    def _drop_lagging(self, ws: ServerConnection) -> None:
        client = self.live.pop(ws, None)
        log_json("lagging", device=client.device.id if client else None)
        self._close_later(ws, p.CLOSE_LAGGING, "lagging: reconnect with last_seq")

    def _close_later(self, ws: ServerConnection, code: int, reason: str) -> None:
        """Close from synchronous code; keep the task referenced until it is done."""
        task = asyncio.ensure_future(ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ------------------------------------------------------------ connections

    async def handler(self, ws: ServerConnection) -> None:
        client = await self._hello(ws)
        if client is None:
            return
        log_json("connected", device=client.device.id, role=client.device.role,
                 remote=str(ws.remote_address))
        try:
            async for frame in ws:
                self._receive(client, frame)
        except ConnectionClosed:
            pass
        finally:
            self.live.pop(ws, None)
            log_json("disconnected", device=client.device.id, code=ws.close_code)

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
        rate = self.rate_limit
        client = Client(ws, device, TokenBucket(*rate, tokens=rate[1]) if rate else None)
        self._welcome(client, hello.last_seq)
        return client

    def _authenticate(self, hello: p.Hello) -> Device:
        device = self.devices.get(hello.device)
        if device is None:
            raise p.ProtocolError("unknown_device", f"no device {hello.device!r} in the "
                                  "hall's device list", device=hello.device)
        if not device.token_matches(hello.token):
            raise p.ProtocolError("bad_token", f"wrong token for device {device.id}",
                                  device=device.id)
        if device.role != hello.role:
            raise p.ProtocolError("wrong_role", f"device {device.id} is a {device.role}, "
                                  f"not a {hello.role}", device=device.id)
        return device

    async def _refuse(self, ws: ServerConnection, exc: p.ProtocolError) -> None:
        log_json("refused", code=exc.code, message=exc.message)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(p.error_frame(exc.to_dict()))
            await ws.close(p.CLOSE_POLICY, exc.code)

    def _welcome(self, client: Client, last_seq: int | None) -> None:
        """Welcome, then the missed events or a snapshot, then live: all synchronous."""
        seq, ws = self.seq, client.ws
        missed = self._missed(last_seq, seq)
        if missed is None:
            snap = snapshot(self.hall, self.service.core.state, self.recent, client.device)
            broadcast([ws], p.welcome(seq, client.device.role, client.device.id, "snapshot",
                                      snap, self.clock()))
        else:
            broadcast([ws], p.welcome(seq, client.device.role, client.device.id, "events",
                                      None, self.clock()))
            for frame in missed:
                broadcast([ws], frame)
        self.live[ws] = client

    def _missed(self, last_seq: int | None, seq: int) -> list[str] | None:
        """The frames after ``last_seq``, or None when a snapshot is needed."""
        if last_seq is None or last_seq > seq:
            return None
        if last_seq == seq:
            return []
        if last_seq + 1 not in self.ring:
            return None
        return [self.ring[s] for s in range(last_seq + 1, seq + 1)]

    # ------------------------------------------------------------ messages

    def _receive(self, client: Client, frame: str | bytes) -> None:
        if client.closing:
            return
        bucket = client.bucket
        if bucket is not None and not bucket.take():
            self._send_error(client, frame, p.ProtocolError(
                "rate_limited", f"more than {bucket.rate:g} messages a second"))
            if bucket.flooding:
                client.closing = True
                self._close_later(client.ws, p.CLOSE_POLICY, "flood")
            return
        try:
            message = p.parse_client_message(frame)
            if isinstance(message, p.Hello):
                raise p.ProtocolError("already_hello", "this connection already said hello")
        except p.ProtocolError as exc:
            self._send_error(client, frame, exc)
            return
        if isinstance(message, p.CommandMessage):
            self._command(client, message)
        else:
            self._query(client, message)

    def _send_error(self, client: Client, frame: str | bytes, exc: p.ProtocolError) -> None:
        message_id = p.message_id(frame) if isinstance(frame, str) else None
        out = (p.reply_error(message_id, exc.to_dict()) if message_id
               else p.error_frame(exc.to_dict()))
        broadcast([client.ws], out)

    def _command(self, client: Client, msg: p.CommandMessage) -> None:
        key = (client.device.id, msg.id)
        reply = self.replies.get(key)
        if reply is None and key in self.stored_ids:
            reply = self._reply_from_store(key)
        if reply is None:
            reply = self._execute(client, msg)
        broadcast([client.ws], reply)

    def _execute(self, client: Client, msg: p.CommandMessage) -> str:
        before = self.seq
        try:
            command = _parse_command(msg)
            command = authorize(client.device, command, self.service.core.state)
            committed = self.service.execute(command, self.clock(), device=client.device.id,
                                             actor=msg.actor, command_id=msg.id)
        except (DispatchError, p.ProtocolError) as exc:
            reply = p.reply_error(msg.id, exc.to_dict())
        except StoreError as exc:
            return self._store_failed(client, msg, before, exc)
        else:
            self.stored_ids.add((client.device.id, msg.id))
            self._publish([seq for seq, _ in committed])
            reply = p.reply_ok(msg.id, self._result(committed))
            log_json("command", device=client.device.id, name=msg.name, id=msg.id,
                     seqs=[seq for seq, _ in committed])
        self._remember((client.device.id, msg.id), reply)
        return reply

    def _store_failed(self, client: Client, msg: p.CommandMessage, before: int,
                      exc: StoreError) -> str:
        """The database refused the write, or lost the connection after committing it.
        In the second case the service has rebuilt from the store: tell everyone what
        was committed and answer from it. In the first, nothing was done: do not
        remember the reply, so a retry of the same id may act."""
        log_json("store_failed", device=client.device.id, error=str(exc))
        if self.seq > before:
            self._publish(list(range(before + 1, self.seq + 1)))
            key = (client.device.id, msg.id)
            self.stored_ids.add(key)
            reply = self._reply_from_store(key)
            if reply is not None:
                return reply
        return p.reply_error(msg.id, p.ProtocolError(
            "store_failed", "the hall could not save it; nothing was done, try again"
        ).to_dict())

    def _reply_from_store(self, key: tuple[str, str]) -> str | None:
        """A retry of a command that committed before a restart: answer from its events."""
        committed = self.service.store.command_events(*key)
        if not committed:
            return None
        reply = p.reply_ok(key[1], self._result(committed))
        self._remember(key, reply)
        return reply

    def _remember(self, key: tuple[str, str], reply: str) -> None:
        self.replies[key] = reply
        while len(self.replies) > REPLY_CACHE:
            self.replies.popitem(last=False)

    def _result(self, committed: list[tuple[int, ev.Event]]) -> dict[str, Any]:
        state = self.service.core.state
        result: dict[str, Any] = {
            "seq": committed[-1][0] if committed else self.seq,
            "events": [{"seq": s, "name": e.NAME} for s, e in committed],
        }
        tickets = [e.ticket for _, e in committed  # type: ignore[attr-defined]
                   if getattr(e, "ticket", None) in state.tickets]
        if tickets:
            result["ticket"] = ticket_view(state, tickets[-1])
        issued = [e for _, e in committed if isinstance(e, ev.TicketIssued)]
        if issued:
            result["status"] = run_query(self, None, "ticket_status",
                                         {"ticket": issued[-1].ticket})
        return result

    def _query(self, client: Client, msg: p.QueryMessage) -> None:
        try:
            result = run_query(self, client.device, msg.name, msg.args)
        except (DispatchError, p.ProtocolError) as exc:
            broadcast([client.ws], p.reply_error(msg.id, exc.to_dict()))
        else:
            broadcast([client.ws], p.reply_ok(msg.id, result))

    # ------------------------------------------------------------ http

    def health(self, connection: ServerConnection, request: Request) -> Response | None:
        """GET /healthz for monitoring; every other path goes on to the websocket."""
        if request.path != "/healthz":
            return None
        body = {"ok": True, "hall": self.hall.name, "seq": self.seq,
                "day": self.service.core.state.day, "clients": len(self.live),
                "uptime_s": round(time.time() - self.started, 1)}
        response = connection.respond(HTTPStatus.OK, json.dumps(body, ensure_ascii=False))
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        return response

    async def serve_forever(self, host: str, port: int, ready: Callable[[int], None],
                            stop: asyncio.Future[None]) -> None:
        async with serve(self.handler, host, port, process_request=self.health,
                         max_size=p.HARD_FRAME_LIMIT, ping_interval=20, ping_timeout=20,
                         compression=None) as server:
            ready(server.sockets[0].getsockname()[1])
            await stop
            await asyncio.gather(*(ws.close(1001, "shutting_down") for ws in self.live),
                                 return_exceptions=True)


def _parse_command(msg: p.CommandMessage):
    try:
        return command_from_dict(msg.name, msg.args)
    except DispatchError as exc:
        if exc.details.get("field") == "name":
            raise p.ProtocolError("unknown_command", f"no command {msg.name!r}",
                                  field="name") from None
        raise
