"""`onewindow led-bridge`: the hub's window views → the LED strips on an RS-485 bus.

    onewindow led-bridge --port /dev/ttyUSB0 --server wss://hub:8765 --ca hall-ca.pem \\
        --device LED-1 --token … --map B01=1,B02=2,B03=3

An asyncio ``HubClient`` (role ``led``) keeps the hall's picture; when events change a
mapped window's view (and after every snapshot) that window's strip is updated once
the burst of frames is over (one command's events: no idle text between the finish
and the next call): the number and "请到B03窗口" while calling, the idle text when
free, the paused text when paused. Strip writes run one at a time on a worker thread
(the bus is shared), one queued write per window, which sends the window's latest
text. A strip that stops answering is reported to the hub as ``report_device
{device: "LED-1/B03", status: "offline"}``; writes queued for it are dropped and its
latest text is tried once every ``recheck_s`` seconds; when it answers again it is
reported ``ok``.

dispatcher/cli.py calls ``register(sub)`` to add the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import string
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from dispatcher.client import HubClient
from dispatcher.client.bridge import run_bridge
from dispatcher.client.redraw import Redraw
from dispatcher.client.tls import CA_HELP, settings_problem
from display.led import DEFAULT_PROFILE, LedBus, LedError, load_profile, parse_map

log = logging.getLogger("onewindow.led")

TEXT_FIELDS = {"number", "window", "reason"}


@dataclass(frozen=True)
class StripTexts:
    """What a strip shows in each window state; {number}, {window} (id), {reason}."""

    calling: str = "{number} 请到{window}窗口"
    serving: str = "{number} 请到{window}窗口"
    idle: str = "欢迎光临"
    paused: str = "暂停服务"
    closed: str = "暂停服务"
    calling_colour: str | None = "red"
    serving_colour: str | None = "red"
    idle_colour: str | None = "green"
    paused_colour: str | None = "yellow"
    closed_colour: str | None = "yellow"

    def __post_init__(self) -> None:
        for state in ("calling", "serving", "idle", "paused", "closed"):
            template = getattr(self, state)
            try:
                names = {n for _, n, _, _ in string.Formatter().parse(template) if n is not None}
            except ValueError as exc:
                raise LedError(f"strip text for {state} {template!r}: {exc}") from None
            if names - TEXT_FIELDS:
                raise LedError(f"strip text for {state} {template!r}: unknown placeholder(s) "
                               f"{sorted(names - TEXT_FIELDS)}; use {{number}}, {{window}}, "
                               "{reason}")

    def for_view(self, window: str, view: dict[str, Any] | None) -> tuple[str, str | None]:
        state = str((view or {}).get("state") or "closed")
        if state not in ("calling", "serving", "idle", "paused", "closed"):
            state = "closed"
        values = {"number": (view or {}).get("number") or "", "window": window,
                  "reason": (view or {}).get("pause_reason") or ""}
        return getattr(self, state).format(**values), getattr(self, f"{state}_colour")


class LedBridge:
    def __init__(self, bus: LedBus, url: str, device: str, token: str, *,
                 texts: StripTexts | None = None, recheck_s: float = 10.0,
                 state_file: str | None = None, report_timeout: float = 30.0,
                 ca: str | None = None) -> None:
        self.bus, self.device = bus, device
        self.texts = texts or StripTexts()
        self.recheck_s, self.report_timeout = recheck_s, report_timeout
        self.client = HubClient(url, "led", device, token, state_file=state_file, ca=ca,
                                on_event=self._on_event, on_snapshot=self._on_snapshot)
        self.wanted: dict[str, tuple[str, str | None]] = {}
        self.redraw: Redraw[str] = Redraw(self._update)
        self._queued: set[str] = set()               # windows with a write on the worker
        self.reports: list[tuple[str, str]] = []     # (part, status) reported to the hub
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="led-bus")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._rechecking: set[str] = set()
        self.bus.on_status = self._status_from_bus

    # ----------------------------------------------------------- hub side

    def _on_snapshot(self, view: Any) -> None:
        for window in self.bus.addresses:
            self.redraw.mark(window, force=True)

    def _on_event(self, frame: dict[str, Any]) -> None:
        """Marked, drawn once the burst of one command's frames is over (Redraw): a
        call that finishes the current ticket never shows the idle text in between."""
        changed = (frame.get("changes") or {}).get("windows") or {}
        for window in changed:
            if window in self.bus.addresses:
                self.redraw.mark(window)

    def _update(self, window: str, force: bool = False) -> None:
        wanted = self.texts.for_view(window, self.client.view.window(window))
        unchanged = self.wanted.get(window) == wanted
        self.wanted[window] = wanted
        if (not force and unchanged) or not self.bus.online.get(window, True):
            return  # an offline strip gets its latest text from the recheck, so a dead
            #         strip does not hold up the shared bus on every event
        if window in self._queued:
            return  # the write waiting on the worker takes the latest text when it runs
        self._queued.add(window)
        self._spawn(self._loop_or_running().run_in_executor(self._pool, self._show, window))

    def _show(self, window: str, recheck: bool = False) -> None:
        """On the worker: write the window's latest text. A strip found offline since
        the write was queued is skipped (three tries per queued frame would hold the
        bus 1.8 s on one call); the recheck tries its latest text, once."""
        self._queued.discard(window)
        if not recheck and not self.bus.online.get(window, True):
            return
        text, colour = self.wanted[window]
        try:
            self.bus.show(window, text, colour, tries=1 if recheck else None)
        except LedError as exc:
            log.error("LED strip %s: %s", window, exc)

    def _loop_or_running(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _spawn(self, future: asyncio.Future[Any]) -> None:
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------- bus side

    def _status_from_bus(self, window: str, status: str, detail: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._report, window, status, detail)

    def _report(self, window: str, status: str, detail: str) -> None:
        part = f"{self.device}/{window}"
        self.reports.append((part, status))
        self._spawn(asyncio.ensure_future(self._send_report(part, status, detail)))

    async def _send_report(self, part: str, status: str, detail: str) -> None:
        args = {"device": part, "status": status}
        if detail:
            args["detail"] = detail
        try:
            await self.client.command("report_device", args, timeout=self.report_timeout)
        except Exception as exc:
            log.warning("LED bridge: could not report %s %s: %s", part, status, exc)

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_s)
            for window, online in list(self.bus.online.items()):
                if online or window not in self.wanted or window in self._rechecking:
                    continue
                self._rechecking.add(window)
                future = asyncio.get_running_loop().run_in_executor(
                    self._pool, self._show, window, True)
                future.add_done_callback(lambda _f, w=window: self._rechecking.discard(w))
                self._spawn(future)

    # ----------------------------------------------------------- life

    def start(self) -> asyncio.Task[None]:
        self._loop = asyncio.get_running_loop()
        return asyncio.ensure_future(self.run())

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        recheck = asyncio.ensure_future(self._recheck())
        try:
            await self.client.run()
        finally:
            recheck.cancel()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued strip write and report has finished (tests)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self.redraw.cancel()
        await self.client.close()
        with contextlib.suppress(TimeoutError):
            await self.idle(5)
        self._pool.shutdown(wait=True)
        self.bus.close()


# ---------------------------------------------------------------- CLI


def register(sub: argparse._SubParsersAction) -> None:
    led = sub.add_parser("led-bridge", help="drive the windows' LED strips on an RS-485 bus "
                         "from the hub's window views")
    led.add_argument("--port", required=True, help="serial port or pyserial URL "
                     "(/dev/ttyUSB0, COM3, rfc2217://host:port, socket://host:port)")
    led.add_argument("--server", default="ws://127.0.0.1:8765",
                     help="the hub: wss://HOST:PORT (ws:// only to this machine)")
    led.add_argument("--ca", metavar="FILE", help=CA_HELP)
    led.add_argument("--device", default="LED-1", help="this bridge's device id")
    led.add_argument("--token", help="the device token (default: $ONEWINDOW_TOKEN)")
    led.add_argument("--map", required=True, type=_map, metavar="WIN=ADDR,…",
                     help="window → strip address on the bus, like B01=1,B02=2")
    led.add_argument("--profile", default=DEFAULT_PROFILE, help="framing profile: a name in "
                     "assets/led/ or a TOML path (default %(default)s)")
    led.add_argument("--retries", type=int, help="resends before a strip is offline "
                     "(default: the profile's)")
    led.add_argument("--ack-timeout", type=float, help="seconds to wait for the ack")
    led.add_argument("--idle-text", default=StripTexts.idle)
    led.add_argument("--paused-text", default=StripTexts.paused)
    led.add_argument("--closed-text", default=StripTexts.closed)
    led.add_argument("--calling-text", default=StripTexts.calling,
                     help="with {number}, {window} (default %(default)r)")
    led.add_argument("--recheck", type=float, default=10.0,
                     help="seconds between retries of an offline strip")
    led.add_argument("--state-file", help="keep the hall picture here across restarts")
    led.set_defaults(handler=_led_bridge)


def _map(text: str) -> dict[str, int]:
    try:
        return parse_map(text)
    except LedError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _led_bridge(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    token = args.token or os.environ.get("ONEWINDOW_TOKEN")
    problem = settings_problem(args.server, args.ca)
    if problem or not token:
        print(f"error: {problem or 'give --token or set ONEWINDOW_TOKEN'}", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile)
        changes: dict[str, Any] = {}
        if args.retries is not None:
            changes["retries"] = args.retries
        if args.ack_timeout is not None:
            changes["ack_timeout"] = args.ack_timeout
        profile = dataclasses.replace(profile, **changes)
        texts = StripTexts(calling=args.calling_text, serving=args.calling_text,
                           idle=args.idle_text, paused=args.paused_text,
                           closed=args.closed_text)
        bus = LedBus(args.port, profile, args.map)
    except LedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_bridge(lambda: LedBridge(bus, args.server, args.device, token, texts=texts,
                                        recheck_s=args.recheck, state_file=args.state_file,
                                        ca=args.ca))
