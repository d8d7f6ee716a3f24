"""`onewindow serve`: open the store, start the hub, stop cleanly on SIGTERM, reread
the devices and clerks files on SIGHUP (dispatcher/hub/credentials.py)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..addresses import is_loopback
from ..hall import Hall
from ..service import HallService
from ..store import StoreOpenError
from .balancer import BALANCE_EVERY
from .collector import freeze
from .credentials import CredentialFiles
from .devices import Device
from .guard import Limits
from .identity import Identity
from .people import People
from .server import Hub

EXPIRY_CHECK_S = 30.0


@dataclass
class HallClock:
    """Real time, or for training and tests a clock started at a chosen hall time
    that runs ``speed`` times faster than the wall clock."""

    start_at: float | None = None
    speed: float = 1.0

    def __post_init__(self) -> None:
        self._origin = time.monotonic()

    def __call__(self) -> float:
        if self.start_at is None:
            return time.time()
        return self.start_at + (time.monotonic() - self._origin) * self.speed


def parse_start_at(text: str, hall: Hall) -> float:
    """'2026-11-23 09:30' in the hall's timezone → epoch seconds."""
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--start-at {text!r}: expected a time like '2026-11-23 09:30'"
                         ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(hall.timezone))
    return local.timestamp()


def run_hub(hall: Hall, devices: dict[str, Device], url: str, host: str, port: int,
            clock: HallClock, rate_limit: tuple[float, float] | None = (20.0, 60.0),
            people: People | None = None, files: CredentialFiles | None = None,
            tls: ssl.SSLContext | None = None, limits: Limits | None = None,
            balance_every: float = BALANCE_EVERY, identity: Identity | None = None) -> int:
    """``files``: the devices (and clerks) file to reread on SIGHUP; None: no reload.
    ``tls``: serve wss:// (dispatcher/hub/tls.py). A store that does not open or an
    address the hub cannot listen on is one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("websockets").setLevel(logging.WARNING)  # our log is JSON lines
    quick_log_records()
    try:
        hub = Hub(lambda observer: HallService.open(hall, url, observer), devices, clock,
                  rate_limit, people=people, limits=limits, balance_every=balance_every)
    except StoreOpenError as exc:
        return _fail(str(exc))
    hub.identity = identity
    freeze()     # the day as started: out of the garbage collector's walks (collector.py)
    try:
        asyncio.run(_serve(hub, host, port, files, tls=tls))
    except ListenError as exc:
        return _fail(str(exc))
    finally:
        hub.service.close()
    return 0


def quick_log_records() -> None:
    """A log record without what the JSON lines never print: the caller's file and
    line (a walk up the stack for each record), the thread's and process's names
    (the logging HOWTO's "Optimization"). A batch's line cost the hub more than its
    write."""
    logging._srcfile = None   # the documented switch
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


class ListenError(Exception):
    """The hub could not listen on --host/--port; one line for the operator."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def listen_problem(host: str, port: int, exc: OSError) -> str:
    """Why binding ``host``:``port`` failed, naming the flag to change."""
    if isinstance(exc, socket.gaierror):
        return f"--host {host}: not an address or a name of this machine ({exc.strerror})"
    why = os.strerror(exc.errno) if exc.errno else str(exc)   # asyncio's text is longer
    if exc.errno == errno.EADDRINUSE:
        return (f"--port {port}: already in use on {host} (another hub, or another "
                "program, is listening there)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine ({why})"
    if exc.errno == errno.EACCES:
        return f"--port {port}: not allowed to listen there ({why})"
    return f"cannot listen on {host}:{port}: {why}"


def _url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


CLEAR_TEXT_WARNING = ("warning: plain ws:// on {host}, not only this machine: device tokens "
                      "and clerks' PINs cross the network in clear text; serve wss:// with "
                      "--tls-cert FILE --tls-key FILE (docs/security.md)")


async def _serve(hub: Hub, host: str, port: int, files: CredentialFiles | None, *,
                 tls: ssl.SSLContext | None = None) -> None:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    if files is not None:
        loop.add_signal_handler(signal.SIGHUP, hub.reload_credentials, files)
    expiry = asyncio.ensure_future(_close_expired(hub))

    bound: list[int] = []

    def ready(port: int) -> None:
        bound.append(port)
        url = _url("wss" if tls else "ws", host, port)
        print(f"onewindow hub listening on {url} ({hub.hall.name}, seq {hub.seq})",
              flush=True)
        if tls is None and not is_loopback(host):
            print(CLEAR_TEXT_WARNING.format(host=host), flush=True)

    try:
        await hub.serve_forever(host, port, ready, stop, ssl=tls)
    except OSError as exc:
        if bound:
            raise
        raise ListenError(listen_problem(host, port, exc)) from exc
    finally:
        expiry.cancel()


async def _close_expired(hub: Hub, every: float = EXPIRY_CHECK_S) -> None:
    """A device whose ``expires`` passes while it is connected is closed within
    ``every`` seconds."""
    while True:
        await asyncio.sleep(every)
        hub.close_stale()
