"""The command path of the hub: a command from a device to its reply.

Into the inbox → decided in its turn → committed with its batch → told → replied
(batching.py). A repeated id gets its first reply (``id_conflict`` if its arguments differ); a
sign-in first has its PIN checked off the event loop, then takes the same path; the
actor stored with the events is the person the hub signed in (signin.py), and the
reply shows a ticket as the device's role may see it (privacy.py).

A mixin of ``Hub``: it uses the hub's service, people, sessions and reply cache,
and its ``_send`` and ``_publish``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import protocol as p
from ..core import events as ev
from ..core.commands import Command, command_fields, command_from_dict
from ..core.errors import DispatchError
from ..service import HallService
from ..store.command_keys import CommandKeys
from .authorize import authorize
from .batching import Outcome, Waiting
from .devices import Device
from .guard import remote
from .identity import Identity
from .logs import log_json
from .people import Kind, People, Person, pin_matches
from .phone_token import refuse_device_token, status_page, with_status_token
from .privacy import ticket_for
from .queries import run_query
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
from .views import ticket_view

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from .server import Client

# Replies kept for repeated command ids. A device resends only its own unanswered
# commands (the client library: at a reconnect), so each device keeps its last few;
# a repeat forgotten here is answered from the store (``_reply_from_store``).
REPLIES_PER_DEVICE = 32
REPLY_CACHE = 2_000         # in all, the oldest forgotten first


class CommandPath:
    service: HallService
    devices: dict[str, Device]
    people: People
    sessions: StaffSessions
    live: dict[ServerConnection, Client]
    replies: RecentReplies
    pending: set[tuple[str, str]]      # sign-ins whose PIN is being checked
    stored_ids: CommandKeys            # today's commands in the store (perhaps: a hit)
    _checks: set[asyncio.Task[None]]
    clock: Callable[[], float]
    identity: Identity | None = None   # set by run_hub; None: ID cards are refused
    batch_keys: dict[tuple[str, str], Outcome]   # commands decided, not yet told
    # and from Hub: the ``seq`` property, ``_send``; from GroupCommit: ``enqueue``

    def _command(self, client: Client, msg: p.CommandMessage) -> None:
        """Into the inbox, to be decided in its turn (batching.py); a sign-in first has
        its PIN checked."""
        try:    # an ID card's number becomes its holder's pseudonym before anything sees it
            msg = self._pseudonymized(msg)
        except DispatchError as exc:
            self._send([client.ws], p.reply_error(msg.id, exc.to_dict()))
            return
        key, digest = (client.device.id, msg.id), command_digest(msg)
        if key in self.pending:
            return   # the same sign-in is being checked: its reply answers both
        if signs_someone_in(msg) and self._known_reply(key, digest) is None:
            self._sign_in_later(client, msg, digest)
            return
        self.enqueue(Waiting(True, lambda: [self._decide_command(client, msg, digest)]))

    def _decide_command(self, client: Client, msg: p.CommandMessage, digest: str,
                        person: Person | None = None) -> Outcome:
        """A repeated id gets its first reply (also while the first waits for its
        commit); else decided."""
        key = (client.device.id, msg.id)
        self.pending.discard(key)
        reply = self._known_reply(key, digest)
        if reply is not None:
            return Outcome(client, reply)
        first = self.batch_keys.get(key)
        if first is not None:
            if first.digest != digest:
                return Outcome(client, id_conflict(msg.id))
            return Outcome(client, first.reply, same_as=first)
        outcome = self._execute(client, msg, digest, person)
        self.batch_keys[key] = outcome
        return outcome

    def _pseudonymized(self, msg: p.CommandMessage) -> p.CommandMessage:
        """``id_card`` replaced by ``person`` (dispatcher/hub/identity.py)."""
        if "id_card" not in msg.args and "person" not in msg.args:
            return msg
        if self.identity is None:
            raise DispatchError("bad_argument", f"{msg.name}: this hub takes no ID cards "
                                "(it was started without an ID secret)", field="id_card")
        return msg.model_copy(update={"args": self.identity.pseudonymize(msg.name,
                                                                         msg.args)})

    def _known_reply(self, key: tuple[str, str], digest: str) -> str | None:
        """The first reply to a repeated id; id_conflict when its arguments differ."""
        known = self.replies.get(key)
        if known is None and key in self.stored_ids:   # perhaps: the store says
            return self._reply_from_store(key, digest)
        if known is None:
            return None
        return id_conflict(key[1]) if known[0] != digest else known[1]

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
            person = self.people.settle(client.device.id, person_id, kind, ok,
                                        time.monotonic())
        except p.ProtocolError as exc:
            self.pending.discard(key)
            log_json("sign_in_refused", device=client.device.id, person=person_id,
                     code=exc.code, remote=remote(client.ws))
            if client.ws in self.live:
                self._send([client.ws], p.reply_error(msg.id, exc.to_dict()))
            return
        except BaseException:
            self.pending.discard(key)
            raise
        self.enqueue(Waiting(True, lambda: [self._decide_command(client, msg, digest,
                                                                 person)]))

    def _staff(self, client: Client, msg: p.CommandMessage, person: Person | None
               ) -> dict[str, Any]:
        staff_id(client.device, msg)
        who = person or client.staff     # signing in, or the one signing out
        client.staff = person
        log_json(msg.name, device=client.device.id, staff=who.id if who else None,
                 remote=remote(client.ws))
        self.sessions.end(client.device.id)
        session = (self.sessions.start(client.device.id, person, time.monotonic())
                   if person else None)
        return {"seq": self.seq, "events": [], "session": session,
                "person": person_view(person) if person else None}

    # ------------------------------------------------------------ commands

    def _execute(self, client: Client, msg: p.CommandMessage, digest: str,
                 person: Person | None = None) -> Outcome:
        """Decide into the batch; the reply is built now, from the state just after the
        command, and sent when the batch is durable."""
        key = (client.device.id, msg.id)
        try:
            if msg.name in STAFF_COMMANDS:
                return Outcome(client, p.reply_ok(msg.id, self._staff(client, msg, person)),
                               key, digest)
            command = authorize(client.device, _parse_command(msg), self.service.core.state)
            actor = person.id if person else actor_of(
                client.device, command, self.service.core.state, client.staff)
            command = with_status_token(stamped(command, actor))
            decided = self.service.decide(command, self.clock(), device=client.device.id,
                                          actor=actor, command_id=msg.id, command_hash=digest)
        except (DispatchError, p.ProtocolError) as exc:
            return Outcome(client, p.reply_error(msg.id, exc.to_dict()), key, digest)
        result = self._result(decided, client.device)
        if person is not None:
            result["person"] = person_view(person)
        line = {"device": client.device.id, "name": msg.name, "id": msg.id, "actor": actor,
                "seqs": [seq for seq, _ in decided]}
        return Outcome(client, p.reply_ok(msg.id, result), key, digest, acted=bool(decided),
                       log=line)

    def _reply_from_store(self, key: tuple[str, str], digest: str) -> str | None:
        """A retry of a command that committed before the reply cache's memory (or a
        restart): answer from its events; None when the store has no such command (its
        fingerprint only looked like one, command_keys.py)."""
        stored = self.service.store.stored_command(*key)
        if stored is None:
            return None
        if stored.command_hash not in (None, digest):
            return id_conflict(key[1])
        reply = p.reply_ok(key[1], self._result(stored.events, self.devices.get(key[0])))
        self._remember(key, digest, reply)
        return reply

    def _remember(self, key: tuple[str, str], digest: str, reply: str) -> None:
        self.replies.remember(key, digest, reply)

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
            result["ticket"] = ticket_for(device, ticket_view(state, tickets[-1]))
        issued = [e for _, e in committed if isinstance(e, ev.TicketIssued)]
        if issued:
            result["status"] = run_query(self, None, "ticket_status",
                                         {"ticket": issued[-1].ticket})
            result.update(status_page(issued[-1], self.service.hall))   # the issuer's alone
        return result


class RecentReplies:
    """The replies to each device's last REPLIES_PER_DEVICE commands, REPLY_CACHE in
    all; kept as UTF-8 (half a str's size once a reply holds one CJK character)."""

    def __init__(self, per_device: int = REPLIES_PER_DEVICE, total: int = REPLY_CACHE
                 ) -> None:
        self.per_device, self.total = per_device, total
        self._all: OrderedDict[tuple[str, str], tuple[str, bytes]] = OrderedDict()
        self._of: dict[str, deque[tuple[str, str]]] = {}   # each device's, oldest first

    def get(self, key: tuple[str, str]) -> tuple[str, str] | None:
        """(digest, reply) of a command remembered."""
        known = self._all.get(key)
        return None if known is None else (known[0], known[1].decode())

    def remember(self, key: tuple[str, str], digest: str, reply: str) -> None:
        if key not in self._all:
            mine = self._of.setdefault(key[0], deque())
            mine.append(key)
            if len(mine) > self.per_device:
                self._all.pop(mine.popleft(), None)
        self._all[key] = (digest, reply.encode())
        while len(self._all) > self.total:
            oldest, _ = self._all.popitem(last=False)
            self._forget(oldest)

    def _forget(self, key: tuple[str, str]) -> None:
        mine = self._of.get(key[0])
        if mine and mine[0] == key:
            mine.popleft()
            if not mine:
                del self._of[key[0]]

    def __len__(self) -> int:
        return len(self._all)

    def __contains__(self, key: object) -> bool:
        return key in self._all


def id_conflict(message_id: str) -> str:
    return p.reply_error(message_id, p.ProtocolError(
        "id_conflict", f"command id {message_id!r} was already used for another "
        "command or other arguments; use a new id for a new command").to_dict())


def stamped(command: Command, actor: str | None) -> Command:
    """The command with its ``by`` (if it has one) naming who does it: the hub's word,
    never a device's."""
    if "by" not in command_fields(type(command)):
        return command
    return dataclasses.replace(command, by=actor or "")  # type: ignore[call-arg]


def _parse_command(msg: p.CommandMessage) -> Command:
    if "by" in msg.args:
        raise DispatchError("bad_argument", f"{msg.name}: by is the hub's to say: it names "
                            "the person signed in", field="by")
    refuse_device_token(msg)
    try:
        return command_from_dict(msg.name, core_args(msg))
    except DispatchError as exc:
        if exc.details.get("field") == "name":
            raise p.ProtocolError("unknown_command", f"no command {msg.name!r}",
                                  field="name") from None
        raise
