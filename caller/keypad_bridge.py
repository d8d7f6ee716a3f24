"""`onewindow keypad-bridge`: caller keypads on an RS-485 bus → the hub's caller commands.

    onewindow keypad-bridge --port /dev/ttyUSB1 --server wss://hub:8765 --ca hall-ca.pem \\
        --map 1=B03,2=B04:TOKEN --open

Each keypad address is mapped to a window; for each window the bridge connects one
asyncio ``HubClient`` as that window's caller device ``C-<window>`` (C-B03 for B03).
A device's token is the one given in the map (``ADDR=WINDOW:TOKEN``), else
``$ONEWINDOW_TOKEN_<DEVICE>`` (the device id upper-cased, ``-`` as ``_``:
``ONEWINDOW_TOKEN_C_B03``), else ``$ONEWINDOW_TOKEN``.

Keys (default profile; a digit byte 00 is no digit): call next → ``call_next``, and
when nothing waits it still finishes the ticket in hand (``finish_service``) and
beeps; recall → ``recall``; 6 + confirm → ``no_show``; confirm alone →
``finish_service``; pause → ``pause`` (reason "keypad"), or ``resume`` when the window
is paused; the citizen's rating key (FUNC 0x11) → ``evaluate`` the last ticket
finished at that window, sent by the bridge's own evaluator device (``--rater
DEVICE[:TOKEN]``, whose ``windows`` in the devices file list the keypads' windows; its
token otherwise from ``$ONEWINDOW_TOKEN_<DEVICE>``): 好差评 is the citizen's, so the hub
never takes a rating from a caller device, and without ``--rater`` the rating key
beeps and nothing is rated; 2 + confirm → ``hold`` (挂起: the citizen fetches a
document); 3 + confirm → ``call_back`` (回呼: the ticket held longest, ahead of new
work). Transfer needs a target the keypad cannot name, and the clerk's evaluate key
has nothing to ask of the hub (the evaluator pad offers the rating by itself after
办结): the keypad beeps and the bridge logs "use the caller panel". A command the hub
refuses (``queue_empty``, ``wrong_state``, …) also beeps. After a change of the
window's view (number, waiting count of its main queues plus tickets transferred to it
by name) the keypad's display is updated, once per burst of events (one command's: no
blank number between the finish and the next call). When the serial port fails (the
USB adapter is pulled out), each mapped window's caller device reports
``C-<window>/keypad`` ``offline`` to the hub, the port is reopened every second, and
``ok`` is reported once it reads again.

dispatcher/cli.py calls ``register(sub)`` to add the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

from caller.keypad import (
    DEFAULT_PROFILE,
    Frame,
    KeyEvent,
    KeypadBus,
    KeypadError,
    Rating,
    load_profile,
)
from dispatcher.client import HubClient, HubError
from dispatcher.client.bridge import run_bridge
from dispatcher.client.redraw import Redraw
from dispatcher.client.tls import CA_HELP, settings_problem

log = logging.getLogger("onewindow.keypad")

PAUSE_REASON = "keypad"
UNSUPPORTED = {"transfer", "evaluate"}


@dataclass(frozen=True)
class KeypadMapping:
    address: int
    window: str
    device: str
    token: str | None = None


def device_for(window: str) -> str:
    return f"C-{window}"


def token_env(device: str) -> str:
    return "ONEWINDOW_TOKEN_" + device.upper().replace("-", "_")


def parse_map(text: str) -> dict[int, KeypadMapping]:
    """``1=B03,2=B04:TOKEN`` → {1: KeypadMapping(1, "B03", "C-B03"), 2: …}."""
    result: dict[int, KeypadMapping] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        addr, sep, rest = part.partition("=")
        window, _, token = rest.partition(":")
        addr, window, token = addr.strip(), window.strip(), token.strip()
        if not sep or not window or not addr.isdigit() or int(addr) > 255:
            raise KeypadError(f"--map {part!r}: expected ADDRESS=WINDOW[:TOKEN] with an "
                              "address 0–255, like 1=B03,2=B04")
        if int(addr) in result:
            raise KeypadError(f"--map: address {int(addr)} is given twice")
        if any(m.window == window for m in result.values()):
            raise KeypadError(f"--map: window {window} has two keypads")
        result[int(addr)] = KeypadMapping(int(addr), window, device_for(window), token or None)
    if not result:
        raise KeypadError("--map is empty; expected ADDRESS=WINDOW,… like 1=B03,2=B04")
    return result


def resolve_token(mapping: KeypadMapping, env: dict[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    return mapping.token or env.get(token_env(mapping.device)) or env.get("ONEWINDOW_TOKEN")


class KeypadBridge:
    def __init__(self, bus: KeypadBus, url: str, mappings: dict[int, KeypadMapping], *,
                 open_windows: bool = False, timeout: float = 10.0,
                 ca: str | None = None, rater: tuple[str, str] | None = None) -> None:
        self.bus, self.url = bus, url
        self.mappings = dict(mappings)
        self.open_windows, self.timeout = open_windows, timeout
        self.clients: dict[str, HubClient] = {}
        for m in self.mappings.values():
            token = resolve_token(m)
            if not token:
                raise KeypadError(f"no token for {m.device}: give {m.address}={m.window}:TOKEN "
                                  f"in --map or set ${token_env(m.device)}")
            self.clients[m.window] = HubClient(
                url, "caller", m.device, token, timeout=timeout, ca=ca,
                on_event=lambda f, m=m: self._on_event(m, f),
                on_snapshot=lambda _v, m=m: self.redraw.mark(m, force=True))
        # the rating keys' own evaluator credential: (device id, token)
        self.rater = (HubClient(url, "evaluator", rater[0], rater[1], timeout=timeout, ca=ca)
                      if rater else None)
        self.shown: dict[int, tuple[int | None, str | None]] = {}
        self.redraw: Redraw[KeypadMapping] = Redraw(self._update)
        self.last_finished: dict[str, str] = {}       # window → ticket id
        self.handled: list[tuple[int, str, str]] = []  # (address, action, outcome), tests
        self._locks = {m.window: asyncio.Lock() for m in self.mappings.values()}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self.bus.on_frame = self._frame_from_bus
        self.bus.on_health = self._health_from_bus
        self.reports: list[tuple[str, str]] = []       # (device part, status) sent (tests)

    # ----------------------------------------------------------- hub side

    def _on_event(self, m: KeypadMapping, frame: dict[str, Any]) -> None:
        data = frame.get("data") or {}
        if frame.get("name") == "service_finished" and data.get("window") == m.window:
            self.last_finished[m.window] = data.get("ticket", "")
        changes = frame.get("changes") or {}
        if m.window in (changes.get("windows") or {}) or changes.get("waiting"):
            self.redraw.mark(m)     # drawn once the burst of one command's frames is over

    def wanted(self, window: str) -> tuple[int | None, str | None]:
        client = self.clients[window]
        view = client.view.window(window)
        if not view:
            return None, None
        waiting = sum(int(client.view.waiting.get(q, 0)) for q in view.get("main") or [])
        waiting += int(view.get("waiting") or 0)
        number = view.get("number") if view.get("state") in ("calling", "serving") else None
        return waiting, number

    def finished_from_view(self, window: str) -> str | None:
        """The last ticket finished at the window and not yet rated, from the caller's
        ticket list (after a bridge restart, when no service_finished was seen)."""
        done = [t for t in self.clients[window].view.tickets.values()
                if t.get("state") == "done" and t.get("served_by") == window
                and t.get("rating") is None and t.get("finished_at") is not None]
        return max(done, key=lambda t: t["finished_at"])["id"] if done else None

    def _update(self, m: KeypadMapping, force: bool = False) -> None:
        wanted = self.wanted(m.window)
        if not force and self.shown.get(m.address) == wanted:
            return
        self.shown[m.address] = wanted
        self.bus.show(m.address, *wanted)

    # ----------------------------------------------------------- bus side

    def _frame_from_bus(self, frame: Frame) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_frame, frame)

    def _health_from_bus(self, ok: bool, why: str) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._report_health, ok, why)

    def _report_health(self, ok: bool, why: str) -> None:
        """Each window's caller device tells the hub its keypad is offline (or back), so
        dispatch staff see it on the console, not only in this bridge's log."""
        for m in self.mappings.values():
            part, status = f"{m.device}/keypad", "ok" if ok else "offline"
            self.reports.append((part, status))
            args = {"device": part, "status": status, "detail": why[:200]}
            self._spawn(asyncio.ensure_future(self._send_report(m.window, args)))

    async def _send_report(self, window: str, args: dict[str, Any]) -> None:
        try:
            await self.clients[window].command("report_device", args, timeout=self.timeout)
        except HubError as exc:
            log.warning("keypad bridge: could not report %s: %s", args["device"], exc)

    def _on_frame(self, frame: Frame) -> None:
        m = self.mappings.get(frame.address)
        if m is None:
            log.warning("keypad %d: not in the map; frame %s dropped", frame.address,
                        frame.raw.hex(" "))
            return
        event = self.bus.profile.interpret(frame)
        if event is None:
            return
        future = asyncio.ensure_future(self._handle(m, event))
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

    def action(self, m: KeypadMapping, event: KeyEvent | Rating) -> str:
        """The action name of a key event: a hub command, or an unsupported one."""
        if isinstance(event, Rating):
            return "evaluate_rating"
        if event.key == "confirm":
            return self.bus.profile.confirm.get(event.digits, "unknown")
        if event.key == "pause":
            view = self.clients[m.window].view.window(m.window) or {}
            return "resume" if view.get("state") == "paused" else "pause"
        return event.key

    async def _handle(self, m: KeypadMapping, event: KeyEvent | Rating) -> None:
        async with self._locks[m.window]:
            action = self.action(m, event)
            outcome = await self._run(m, event, action)
            self.handled.append((m.address, action, outcome))
            if outcome != "ok":
                self.bus.beep(m.address)

    async def _run(self, m: KeypadMapping, event: KeyEvent | Rating, action: str) -> str:
        client, window = self.clients[m.window], m.window
        args: dict[str, Any] = {"window": window}
        if action in ("call_next", "recall", "no_show", "resume", "hold", "call_back"):
            name = action
        elif action == "finish":
            name = "finish_service"
        elif action == "pause":
            name, args["reason"] = "pause", PAUSE_REASON
        elif action == "evaluate_rating":
            assert isinstance(event, Rating)
            if self.rater is None:
                log.info("keypad %d (%s): a rating needs the bridge's evaluator device "
                         "(--rater): nothing rated", m.address, window)
                return "no_rater"
            client = self.rater
            ticket = self.last_finished.get(window) or self.finished_from_view(window)
            if not ticket:
                log.info("keypad %d (%s): rating %d but no finished ticket to rate",
                         m.address, window, event.level)
                return "no_ticket"
            name, args = "evaluate", {"ticket": ticket, "level": event.level}
        elif action in UNSUPPORTED:
            log.info("keypad %d (%s): %s from a keypad is not supported: use the caller "
                     "panel", m.address, window, action)
            return "not_supported"
        else:
            log.warning("keypad %d (%s): unknown key %r", m.address, window, event)
            return "unknown"
        try:
            await client.command(name, args, timeout=self.timeout)
        except HubError as exc:
            log.info("keypad %d (%s): %s refused: %s %s", m.address, window, name,
                     exc.code, exc)
            if name == "call_next" and exc.code == "queue_empty":
                return await self._finish_last(m)
            return str(exc.code)
        if name == "evaluate":
            self.last_finished.pop(window, None)
        return "ok"

    async def _finish_last(self, m: KeypadMapping) -> str:
        """Next with nothing waiting: the hub refuses the call (queue_empty) and keeps the
        ticket in hand, so the clerk could never finish the queue's last ticket from a
        keypad. Finish it (the window's default outcome, as call_next would), then beep:
        nothing waits (the display shows 0 and no number)."""
        client = self.clients[m.window]
        view = client.view.window(m.window) or {}
        if view.get("state") not in ("calling", "serving") or \
                client.view.hall.get("call_next_finishes_current") is False:
            return "queue_empty"
        try:
            await client.command("finish_service", {"window": m.window},
                                 timeout=self.timeout)
        except HubError as exc:
            log.info("keypad %d (%s): finish_service refused: %s %s", m.address, m.window,
                     exc.code, exc)
            return str(exc.code)
        log.info("keypad %d (%s): next with nothing waiting: finished %s", m.address,
                 m.window, view.get("number"))
        return "finished_queue_empty"

    # ----------------------------------------------------------- life

    def start(self) -> asyncio.Task[None]:
        self._loop = asyncio.get_running_loop()
        return asyncio.ensure_future(self.run())

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.bus.start()
        tasks = [c.start() for c in self._hub_clients()]
        if self.open_windows:
            for window, client in self.clients.items():
                self._spawn(asyncio.ensure_future(self._open(window, client)))
        await asyncio.gather(*tasks)

    def _spawn(self, future: asyncio.Future[Any]) -> None:
        self._tasks.add(future)
        future.add_done_callback(self._tasks.discard)

    async def _open(self, window: str, client: HubClient) -> None:
        try:
            await client.wait_connected(self.timeout)
            if (client.view.window(window) or {}).get("state") in (None, "closed"):
                await client.command("open_window", {"window": window}, timeout=self.timeout)
        except HubError as exc:
            log.warning("keypad bridge: could not open %s: %s", window, exc)

    def _hub_clients(self) -> list[HubClient]:
        return [*self.clients.values(), *([self.rater] if self.rater else [])]

    async def wait_connected(self, timeout: float = 10.0) -> None:
        for client in self._hub_clients():
            await client.wait_connected(timeout)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued key has been handled (tests)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await self.idle(5)
        self.redraw.cancel()
        for client in self._hub_clients():
            await client.close()
        self.bus.close()


# ---------------------------------------------------------------- CLI


def register(sub: argparse._SubParsersAction) -> None:
    kp = sub.add_parser("keypad-bridge", help="caller keypads on an RS-485 bus → the hub's "
                        "caller commands, and their displays")
    kp.add_argument("--port", required=True, help="serial port or pyserial URL "
                    "(/dev/ttyUSB1, COM3, rfc2217://host:port, socket://host:port)")
    kp.add_argument("--server", default="ws://127.0.0.1:8765",
                    help="the hub: wss://HOST:PORT (ws:// only to this machine)")
    kp.add_argument("--ca", metavar="FILE", help=CA_HELP)
    kp.add_argument("--map", required=True, type=_map, metavar="ADDR=WIN[:TOKEN],…",
                    help="keypad address → window (device C-WIN), like 1=B03,2=B04; a "
                    "token not given here comes from $ONEWINDOW_TOKEN_C_B03 or "
                    "$ONEWINDOW_TOKEN")
    kp.add_argument("--profile", default=DEFAULT_PROFILE, help="framing profile: a name in "
                    "assets/keypad/ or a TOML path (default %(default)s)")
    kp.add_argument("--rater", metavar="DEVICE[:TOKEN]",
                    help="the evaluator device the rating keys rate through (its windows: "
                    "the keypads'); token from $ONEWINDOW_TOKEN_<DEVICE> if not given. "
                    "Without it a rating key beeps and rates nothing")
    kp.add_argument("--open", action="store_true",
                    help="open each mapped window when the bridge starts")
    kp.set_defaults(handler=_keypad_bridge)


def _map(text: str) -> dict[int, KeypadMapping]:
    try:
        return parse_map(text)
    except KeypadError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _keypad_bridge(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    problem = settings_problem(args.server, args.ca)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile)
        missing = [m for m in args.map.values() if not resolve_token(m)]
        if missing:
            raise KeypadError(f"no token for {missing[0].device}: give "
                              f"{missing[0].address}={missing[0].window}:TOKEN in --map or "
                              f"set ${token_env(missing[0].device)}")
        rater = parse_rater(args.rater) if args.rater else None
        bus = KeypadBus(args.port, profile)
    except KeypadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    return run_bridge(lambda: KeypadBridge(bus, args.server, args.map,
                                           open_windows=args.open, ca=args.ca, rater=rater))


def parse_rater(text: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """``E-K1`` or ``E-K1:TOKEN`` → (device, token), the token from the environment
    when not given."""
    env = os.environ if env is None else env
    device, _, token = text.partition(":")
    device, token = device.strip(), token.strip() or env.get(token_env(device.strip()), "")
    if not device:
        raise KeypadError(f"--rater {text!r}: expected DEVICE or DEVICE:TOKEN")
    if not token:
        raise KeypadError(f"no token for the rater {device}: give --rater {device}:TOKEN "
                          f"or set ${token_env(device)}")
    return device, token
