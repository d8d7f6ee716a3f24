"""A real `onewindow serve` subprocess for the tests, and a tiny raw client.

``HubProcess`` starts the hub on a free port with the training clock at a hall
time (so tickets can be issued whatever the real time is), waits for its
"listening" line, and can be killed with SIGKILL or stopped with SIGTERM.
``RawClient`` is a bare websockets connection that speaks JSON, for tests that
must see the exact frames (the client library has its own tests).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import ssl as ssl_module
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
START_AT = "2026-11-23 09:30"   # a Monday, the hall is open
SAMPLE_DEVICES = ROOT / "assets/halls/sample-devices.toml"   # published tokens: tests only
SAMPLE_CLERKS = ROOT / "assets/halls/sample-clerks.toml"     # published PINs: tests only
SAMPLE_PINS = {"clerk-017": "1701", "clerk-018": "1802", "clerk-021": "2103",
               "staff-001": "9001", "staff-002": "9002"}
STAFF = {"staff": "staff-001", "pin": "9001"}   # staff_sign_in args for a test's console


FAST = {"backoff_min": 0.05, "backoff_max": 0.4}   # client reconnects quickly in tests
QUIET = ["--balance-every", "86400"]   # no balancing round during a test module


def sample_token(device: str) -> str:
    return f"sample-{device}"   # assets/halls/sample-devices.toml documents these


@contextlib.contextmanager
def watched(cmd: list[str], timeout: float, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """A child with its output piped that cannot hang the test: killed after ``timeout``
    seconds, and reaped with its pipes closed however the test ends."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        yield proc
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


class HubProcess:
    def __init__(self, db_url: str, *, start_at: str | None = START_AT, speed: float = 1.0,
                 extra: list[str] | None = None, tls: tuple[Path, Path] | None = None
                 ) -> None:
        """``tls``: (certificate, key) to serve wss:// with (tests/certs.py makes them)."""
        self.db_url, self.start_at, self.speed = db_url, start_at, speed
        self.extra = extra or []
        self.tls = tls
        self.ready_line = ""   # the hub's first line on stdout
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.log_lines: list[str] = []   # the hub's JSON log (stderr), drained as it runs
        self._drain: threading.Thread | None = None

    def start(self) -> HubProcess:
        cmd = [sys.executable, "-m", "dispatcher.cli", "serve", "--db", self.db_url,
               "--port", "0", "--speed", str(self.speed), "--devices", str(SAMPLE_DEVICES),
               "--clerks", str(SAMPLE_CLERKS), *self.extra]
        if self.start_at:
            cmd += ["--start-at", self.start_at]
        if self.tls:
            cmd += ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stdout is not None
        line = self.ready_line = self.proc.stdout.readline()
        match = re.search(r"listening on wss?://[^:]+:(\d+)", line)
        if not match:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.proc.kill()
            raise RuntimeError(f"the hub did not start: {line!r} {err[-2000:]}")
        self.port = int(match.group(1))
        # A pipe nobody reads fills at 64 KiB and the hub would block on its next log line.
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()
        return self

    def _read_log(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log_lines.append(line)

    def log_text(self) -> str:
        """What the hub logged; all of it once the process has ended."""
        if self._drain is not None and self.proc is not None and self.proc.poll() is not None:
            self._drain.join(5)
        return "".join(self.log_lines)

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def health(self, timeout: float = 10.0, *,
               context: ssl_module.SSLContext | None = None) -> dict[str, Any]:
        """GET /healthz, which must answer 200; over https (trusting ``context``) when
        the hub serves TLS."""
        scheme = "https" if self.tls else "http"
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{self.port}/healthz",
                                    timeout=timeout, context=context) as response:
            assert response.status == 200
            return json.loads(response.read())

    def kill(self) -> None:
        """kill -9: no goodbye, no flush beyond what was committed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(10)
        return self.proc.returncode if self.proc else 0

    def __enter__(self) -> HubProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


class LiveHub:
    """A hub that can be killed and restarted on the same database and port (the
    ``hall`` fixture in conftest.py)."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.hub = HubProcess(db_url).start()
        self.url, self.port = self.hub.url, self.hub.port

    def restart(self) -> None:
        self.hub = HubProcess(self.db_url, start_at="2026-11-23 09:40",
                              extra=["--port", str(self.port)]).start()


class Closable(Protocol):
    def close(self) -> None: ...


@contextlib.contextmanager
def live_hub(folder: Path, wrap: Callable[[HubProcess], Closable]) -> Iterator[Any]:
    """A hub on a fresh SQLite file in ``folder``, wrapped for a test module's use. Its
    balancing rounds are a day apart: a module that counts every event it caused must
    not meet the hub's own suggestions (tests/test_hub_balancing.py tests those)."""
    with HubProcess(f"sqlite:///{folder / 'hall.db'}", extra=QUIET) as hub:
        live = wrap(hub)
        try:
            yield live
        finally:
            hub.kill()  # not stop(): a client a failed test left open would delay it
            live.close()


async def event_named(client: RawClient, name: str, timeout: float = 15.0,
                      **match: Any) -> dict[str, Any]:
    """The first event ``name`` whose data has ``match`` that ``client`` has seen
    already or sees within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        for frame in client.events:
            if frame["name"] == name and all(frame["data"].get(k) == v
                                             for k, v in match.items()):
                return frame
        await client.recv(max(0.1, deadline - time.monotonic()))


class RawClient:
    """One websocket, JSON in and out, with the frames kept in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}

    @classmethod
    async def hello(cls, url: str, role: str, device: str, *, token: str | None = None,
                    last_seq: int | None = None, staff: str | None = "staff-001",
                    ssl: ssl_module.SSLContext | None = None, **options: Any) -> RawClient:
        """Say hello; a console then signs its staff member in (``staff=None``: not).
        ``ssl``: the context a wss:// ``url`` is checked with; ``options`` go to
        websockets' connect (``max_queue=None``: an idle client never stops reading)."""
        tls = {"ssl": ssl} if ssl is not None else {}
        client = cls(await connect(url, **{"max_size": 2**24, **tls, **options}))
        await client.send({"type": "hello", "role": role, "device": device,
                           "token": token or sample_token(device), "last_seq": last_seq})
        client.welcome = await client.recv()
        if role == "console" and staff and client.welcome.get("type") == "welcome":
            signed = await client.command("staff_sign_in", staff=staff, pin=SAMPLE_PINS[staff])
            assert signed["ok"], signed
        return client

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        import asyncio

        frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if frame.get("type") == "event":
            self.events.append(frame)
        return frame

    async def reply_to(self, message_id: str, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            frame = await self.recv(timeout)
            if frame.get("type") in ("reply", "error") and frame.get("id", message_id) == \
                    message_id:
                return frame

    async def command(self, name: str, message_id: str | None = None,
                      **args: Any) -> dict[str, Any]:
        message_id = message_id or uuid.uuid4().hex
        await self.send({"type": "command", "id": message_id, "name": name, "args": args})
        return await self.reply_to(message_id)

    async def query(self, name: str, **args: Any) -> dict[str, Any]:
        message_id = uuid.uuid4().hex
        await self.send({"type": "query", "id": message_id, "name": name, "args": args})
        return await self.reply_to(message_id)

    async def close(self) -> None:
        await self.ws.close()
