"""HubClient: one device's asyncio connection to the hub, kept alive forever.

The client says hello with the seq of its picture (``view``), loads the snapshot
or applies the missed events, then applies live events. When the connection
drops it reconnects with exponential backoff and jitter and resyncs the same
way; a seq gap or a ``lagging`` close (4000) is just another reconnect. A
refused hello (bad token, unknown device, wrong role) is permanent: the client
stops and reports ``HubRefused`` instead of hammering the hub.

Commands carry an id chosen here; a command whose reply was lost is resent with
the same id after the reconnect (the hub answers a repeated id with the first
reply and acts once). The hub sends a command's events before its reply, and
this client applies frames in order, so when ``command()`` returns the view
already shows the command's effect.

Everything here runs on one asyncio loop; for Qt apps see ``qt.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.uri import parse_uri

from .. import protocol as p
from .tls import client_context
from .view import HallView, SeqGap

log = logging.getLogger("onewindow.client")

CONNECTING, CONNECTED, DISCONNECTED, REFUSED = "connecting", "connected", "disconnected", \
    "refused"
RETRYABLE = {"store_failed": 0.3, "rate_limited": 0.5}   # code -> pause before resending
SAVE_INTERVAL = 2.0     # seconds between writes of the state file
# The cap of the reconnect backoff while the hub's port refuses connections (it is
# restarting): a refused connect costs the hub nothing, and a longer wait would put a
# hall's devices back seconds after the hub listens again.
NOBODY_LISTENING_MAX = 1.0


def reconnect_delay(attempt: int, low: float, high: float) -> float:
    """Exponential from ``low``, capped at ``high``, with jitter so a hall of devices
    does not reconnect in step after the hub restarts."""
    base = min(high, low * 2 ** min(attempt, 30))
    return base * (0.5 + random.random() / 2)


class HubError(Exception):
    """The hub refused a command or query (``code`` from docs/protocol.md)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None
                 ) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.details = code, message, details or {}

    @classmethod
    def from_dict(cls, error: dict[str, Any]) -> HubError:
        error = dict(error)
        return cls(str(error.pop("code", "unknown")), str(error.pop("message", "")), error)


class HubRefused(HubError):
    """The hub refused the hello: wrong token, unknown device or wrong role. Permanent."""


class HubUnavailable(HubError):
    """No reply in time (the hub is down or unreachable), or the client is closed."""

    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message)


class _Resync(Exception):
    """The connection must be dropped and made again (a confused welcome)."""


@dataclass
class _Pending:
    text: str                       # the exact frame, resent as is after a reconnect
    future: asyncio.Future[dict[str, Any]]


Callback = Callable[..., Any]


class HubClock:
    """The hub's clock as its last welcome told it: its time then and how fast it runs
    (a training hub's hall time may run faster than real time); this machine's clock
    before the first welcome."""

    def __init__(self) -> None:
        self.at: float | None = None       # the hub's time at the welcome
        self.local = 0.0                   # our monotonic clock then
        self.speed = 1.0

    def anchor(self, server_time: float, speed: float) -> None:
        self.at, self.local, self.speed = server_time, time.monotonic(), speed

    def now(self) -> float:
        if self.at is None:
            return time.time()
        return self.at + (time.monotonic() - self.local) * self.speed


class HubClient:
    def __init__(self, url: str, role: str, device: str, token: str, *,
                 last_seq: int | None = None, view: HallView | None = None,
                 state_file: str | os.PathLike[str] | None = None,
                 on_event: Callback | None = None, on_status: Callback | None = None,
                 on_snapshot: Callback | None = None, on_presence: Callback | None = None,
                 backoff_min: float = 0.2, backoff_max: float = 5.0,
                 timeout: float = 10.0, open_timeout: float = 5.0,
                 ca: str | None = None) -> None:
        """``on_event(frame)`` runs after the view applied the frame; ``on_status(status)``
        on each change; ``on_snapshot(view)`` after a snapshot replaced the picture.

        ``last_seq`` is the seq of ``view``'s picture: it only makes sense with a loaded
        view (events cannot be applied to nothing). ``state_file`` keeps the picture
        and its seq across app restarts, so a restarted device resyncs by events.
        ``timeout`` is the default for commands and queries. ``ca``: the hall CA's
        PEM file that a wss:// hub's certificate must chain to (default: the system's
        CAs). A bad url, plain ws:// to another machine or an unreadable ``ca`` raise
        ConnectionSettingsError (a ValueError) here: configuration, not a retry."""
        self._ssl = client_context(url, ca)
        parse_uri(url)
        if role not in p.ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(p.ROLES)}")
        self.url, self.role, self.device, self._token = url, role, device, token
        self.state_file = Path(state_file) if state_file else None
        self.view = view or self._restore() or HallView()
        if last_seq is not None and self.view.seq != last_seq:
            raise ValueError("last_seq needs the picture it belongs to: pass a view "
                             "loaded at that seq, or a state_file")
        self.on_event, self.on_status, self.on_snapshot = on_event, on_status, on_snapshot
        self.on_presence = on_presence
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.timeout, self.open_timeout = timeout, open_timeout
        self.status = DISCONNECTED
        self.refused: HubRefused | None = None
        self.resyncs: list[str] = []      # "snapshot" / "events", one per welcome
        self.connects = 0                 # connection attempts made
        self.hub_clock = HubClock()       # the hub's clock (a training hub runs its own)
        self._pending: dict[str, _Pending] = {}
        self._ws: ClientConnection | None = None     # set once welcomed
        self._catchup = 0                 # the welcome's seq: connected once there
        self._closing = False
        self._wake = asyncio.Event()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn_task: asyncio.Future[None] | None = None
        self._welcomed = False
        self._nobody_listening = False    # the last try was refused: the hub is restarting
        self._save_handle: asyncio.TimerHandle | None = None
        self._untrusted = False           # said once: the hub's certificate failed
        # A console's staff sign-in, resumed in the hello after a reconnect: the token
        # the hub gave in the staff_sign_in reply (never the PIN).
        self.session: str | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def connected(self) -> bool:
        return self.status == CONNECTED

    def start(self) -> asyncio.Task[None]:
        """Run in the background; the task ends on close() or raises HubRefused."""
        task = asyncio.get_running_loop().create_task(self.run())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved
        return task

    async def run(self) -> None:
        """Stay connected until close(); raise HubRefused if the hub refuses us."""
        self._task = asyncio.current_task()
        attempt = 0
        try:
            while not self._closing:
                if await self._session():
                    attempt = 0
                if self._closing:
                    break
                self._set_status(DISCONNECTED)
                await self._pause(self._backoff(attempt))
                attempt += 1
            if self.refused:
                raise self.refused
        finally:
            self._ws = None
            if self.status != REFUSED:
                self._connected.clear()
                self._set_status(DISCONNECTED)
            self._fail_pending(self.refused or HubUnavailable("the client is closed"))
            self._save_now()

    async def close(self) -> None:
        """Stop reconnecting, close the connection, wait for run() to end."""
        self._closing = True
        self._wake.set()
        if self._ws is not None:
            await self._ws.close()
        elif self._conn_task is not None:   # still connecting or saying hello
            self._conn_task.cancel()
        task = self._task
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected and caught up; HubRefused / HubUnavailable otherwise."""
        if self.refused:
            raise self.refused
        try:
            await asyncio.wait_for(self._connected.wait(), timeout or self.timeout)
        except TimeoutError:
            raise HubUnavailable(f"not connected to {self.url}") from None
        if self.refused:
            raise self.refused

    def _backoff(self, attempt: int) -> float:
        high = min(self.backoff_max, NOBODY_LISTENING_MAX) if self._nobody_listening \
            else self.backoff_max
        return reconnect_delay(attempt, self.backoff_min, high)

    async def _pause(self, delay: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def _set_status(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        if status == CONNECTED:
            self._connected.set()
        elif status != REFUSED:
            self._connected.clear()
        self._call(self.on_status, status)

    # ------------------------------------------------------------ one connection

    async def _session(self) -> bool:
        """One connection, until it drops. True if it got as far as a welcome."""
        self._set_status(CONNECTING)
        self.connects += 1
        self._welcomed = self._nobody_listening = False
        self._conn_task = asyncio.ensure_future(self._connection())
        try:
            await self._conn_task
        except HubRefused as exc:
            self._refuse(exc)
        except SeqGap as exc:
            log.warning("resync: %s", exc)
        except ssl.SSLCertVerificationError as exc:
            level = logging.INFO if self._untrusted else logging.WARNING
            self._untrusted = True
            log.log(level, "the hub at %s is not trusted: certificate verify failed: %s "
                    "(give the hall's CA with --ca)", self.url, exc.verify_message or exc)
        except (OSError, TimeoutError, WebSocketException, ValueError, _Resync) as exc:
            self._nobody_listening = isinstance(exc, ConnectionRefusedError)
            log.info("connection to %s lost: %r", self.url, exc)
        except asyncio.CancelledError:
            if not self._closing:   # not our close(): the app cancelled run()
                raise
        except Exception:   # a bug (ours or a callback's): log it, keep the device alive
            log.exception("unexpected error on the connection to %s", self.url)
        finally:
            self._ws = self._conn_task = None
        return self._welcomed

    async def _connection(self) -> None:
        tls = {"ssl": self._ssl} if self._ssl is not None else {}
        async with connect(self.url, open_timeout=self.open_timeout, proxy=None,
                           max_size=p.HARD_FRAME_LIMIT, compression=None,
                           close_timeout=2, **tls) as ws:
            await self._hello(ws)
            self._welcomed = True
            await self._resend(ws)
            async for raw in ws:
                frame = json.loads(raw)
                if isinstance(frame, dict):
                    self._on_frame(frame)
            log.info("connection closed: %s %s", ws.close_code, ws.close_reason)

    async def _hello(self, ws: ClientConnection) -> None:
        hello = {"type": "hello", "role": self.role, "device": self.device,
                 "token": self._token, "last_seq": self.view.seq,
                 "protocol": p.PROTOCOL_VERSION, "batch": True}
        if self.session:
            hello["session"] = self.session
        await ws.send(p.encode(hello))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), self.open_timeout))
        if welcome.get("type") == "error":
            raise HubRefused.from_dict(welcome.get("error") or {})
        if welcome.get("type") != "welcome":
            raise _Resync(f"expected a welcome, got {str(welcome)[:80]}")
        self._ws = ws     # before the welcome's callbacks, so they may send at once
        self._on_welcome(welcome)

    def server_now(self) -> float:
        """Now by the hub's clock, as of the last welcome."""
        return self.hub_clock.now()

    def _on_welcome(self, welcome: dict[str, Any]) -> None:
        self.hub_clock.anchor(float(welcome.get("server_time") or time.time()),
                              float(welcome.get("clock_speed") or 1.0))
        resync, seq = welcome.get("resync"), int(welcome["seq"])
        self.resyncs.append(str(resync))
        if resync != "events" or not self.view.loaded:
            if not isinstance(welcome.get("snapshot"), dict):
                raise _Resync(f"welcome without a snapshot (resync {resync!r})")
            self.view.load(welcome["snapshot"], seq)
            self._call(self.on_snapshot, self.view)
            self._schedule_save()
        self._catchup = seq
        self._check_caught_up()

    def _check_caught_up(self) -> None:
        if self.status != CONNECTED and (self.view.seq or 0) >= self._catchup:
            self._set_status(CONNECTED)

    def _refuse(self, exc: HubRefused) -> None:
        """A refused hello is permanent: record it, stop, never retry."""
        log.error("the hub refused %s: %s", self.device, exc)
        self.refused = exc
        self._closing = True
        self._set_status(REFUSED)
        self._connected.set()     # wake wait_connected(), which raises self.refused
        self._fail_pending(exc)

    # ------------------------------------------------------------ frames

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "event":
            self._on_event(frame)
        elif kind == "events":     # one commit's event frames (the hello asked for them)
            for event in frame.get("events") or ():
                if isinstance(event, dict):
                    self._on_frame(event)
        elif kind == "reply":
            pending = self._pending.get(str(frame.get("id")))
            result = frame.get("result")
            if frame.get("ok") and isinstance(result, dict) and "session" in result:
                self.session = result["session"]
            if pending is not None and not pending.future.done():
                pending.future.set_result(frame)
        elif kind == "presence" and self.view.loaded:
            self.view.note_presence(frame)
            self._call(self.on_presence, frame)
        elif kind == "error":
            log.warning("hub error: %s", frame.get("error"))
        # any other type: a newer hub; ignore it, as the protocol asks

    def _on_event(self, frame: dict[str, Any]) -> None:
        if not self.view.apply(frame):   # raises SeqGap: the session ends, we resync
            return
        self._check_caught_up()
        self._schedule_save()
        self._call(self.on_event, frame)

    def _call(self, callback: Callback | None, *args: Any) -> None:
        """An app's callback that fails must not break the connection."""
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("callback %r failed", callback)

    # ------------------------------------------------------------ commands

    async def command(self, name: str, args: dict[str, Any] | None = None, *,
                      timeout: float | None = None, command_id: str | None = None
                      ) -> dict[str, Any]:
        """Run a command; return its result or raise HubError / HubUnavailable.

        Safe to retry: the same id is resent after a reconnect until a reply comes or
        ``timeout`` passes. Pass ``command_id`` to choose the id (unique per device)."""
        message: dict[str, Any] = {"type": "command", "id": command_id or uuid.uuid4().hex,
                                   "name": name, "args": args or {}}
        return await self._request(message, timeout)

    async def query(self, name: str, args: dict[str, Any] | None = None, *,
                    timeout: float | None = None) -> dict[str, Any]:
        """Ask a question (changes nothing; resent freely after a reconnect)."""
        message = {"type": "query", "id": uuid.uuid4().hex, "name": name, "args": args or {}}
        return await self._request(message, timeout)

    async def _request(self, message: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.timeout if timeout is None else timeout)
        while True:
            reply = await self._exchange(message, deadline)
            if reply.get("ok"):
                return reply.get("result") or {}
            error = HubError.from_dict(reply.get("error") or {})
            pause = RETRYABLE.get(error.code)
            if pause is None or loop.time() + pause >= deadline:
                raise error
            await asyncio.sleep(pause)   # nothing was done: the same id may act now

    async def _exchange(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send (now, or when connected) and wait for the reply to this id."""
        if self.refused:
            raise self.refused
        if self._closing:
            raise HubUnavailable("the client is closed")
        loop = asyncio.get_running_loop()
        pending = _Pending(p.encode(message), loop.create_future())
        self._pending[message["id"]] = pending
        try:
            if self._ws is not None:
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(pending.text)   # if it drops: resent on welcome
            return await asyncio.wait_for(asyncio.shield(pending.future),
                                          max(0.0, deadline - loop.time()))
        except TimeoutError:
            raise HubUnavailable(f"no reply to {message['name']} from {self.url} in time"
                                 ) from None
        finally:
            self._pending.pop(message["id"], None)

    async def _resend(self, ws: ClientConnection) -> None:
        """After a welcome: send again whatever still waits for a reply (same ids)."""
        for pending in list(self._pending.values()):
            if not pending.future.done():
                await ws.send(pending.text)

    def _fail_pending(self, exc: Exception) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(exc)
                pending.future.exception()   # retrieved: no "never retrieved" warning

    # ------------------------------------------------------------ state file

    def _restore(self) -> HallView | None:
        """The picture saved by an earlier run of this device, if any and readable."""
        if self.state_file is None or not self.state_file.exists():
            return None
        try:
            saved = json.loads(self.state_file.read_text(encoding="utf-8"))
            if (saved.get("device"), saved.get("role")) != (self.device, self.role):
                return None
            view = HallView()
            view.load(saved["snapshot"], int(saved["seq"]))
            return view
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring state file %s: %s", self.state_file, exc)
            return None

    def _schedule_save(self) -> None:
        if self.state_file is None or self._save_handle is not None:
            return
        self._save_handle = asyncio.get_running_loop().call_later(SAVE_INTERVAL,
                                                                  self._save_now)

    def _save_now(self) -> None:
        """Write the picture and its seq together (atomically): an older file is
        merely further behind, never inconsistent."""
        if self._save_handle is not None:
            self._save_handle.cancel()
            self._save_handle = None
        if self.state_file is None or not self.view.loaded:
            return
        data = {"device": self.device, "role": self.role, "seq": self.view.seq,
                "saved_at": time.time(), "snapshot": self.view.to_dict()}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.state_file)
        except OSError as exc:
            log.warning("cannot save %s: %s", self.state_file, exc)
