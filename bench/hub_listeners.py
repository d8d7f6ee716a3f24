"""Load process for bench/bench_hub.py: hold N display connections, stamp every event.

    python -m bench.hub_listeners URL N [--hello | --clients | --floor-clients HUB_URL]

Opens N websockets to URL (with ``--hello``: as hub displays D-A, D-B, D-HALL in
turn, waiting for each welcome; without: bare connections to the floor server).
With ``--clients``, instead: N real display clients of the hub, each a
``dispatcher.client.HubClient`` (role display, device D-B) with its HallView, as a
wall display runs them; see ``Clients`` below. With ``--floor-clients HUB_URL``: N
connections to the floor server URL that do the same client-side work on what the
floor broadcasts (the hub's very frames): see ``FloorClients``.
Each connection is a plain asyncio.Protocol driving websockets' Sans-I/O
ClientProtocol, so that one process can stand for N displays without adding much
of its own: the bytes are stamped with ``time.monotonic()`` the moment they are
read from the socket (before they are parsed), and each event frame in them is
recorded with that stamp. ``time.monotonic()`` is CLOCK_MONOTONIC, one clock for
every process on Linux, so bench_hub.py compares it with its own stamp taken just
before the command was sent. (The websockets asyncio client costs a task wake-up
per frame and per connection: with hundreds of connections in one process that
queueing, not the server, would set the figures.)

Lines on stdout, to the parent:
    ready N            every connection is open (and welcomed)
    all SEQ            every connection has received event SEQ
    dump {json}        answer to "dump": {"times": {seq: [t, ...]}, "names": {seq: name}},
                       everything since the last dump (with --clients, also "board":
                       [seconds, ...], each build_board call's duration)
    closed CODE        a connection was closed under us (e.g. 4000 lagging)
Lines on stdin: "dump", "quit" (or EOF).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from typing import TYPE_CHECKING, Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

if TYPE_CHECKING:
    from dispatcher.client import HallView, HubClient

DISPLAYS = ("D-A", "D-B", "D-HALL")   # the sample hall's only display device ids
EVENT_PREFIX = '{"type":"event","seq":'  # protocol.encode: compact, keys in this order
_PREFIX = EVENT_PREFIX.encode()
CONNECT_AT_ONCE = 50                 # stay under the server's listen backlog


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Display(asyncio.Protocol):
    def __init__(self, owner: Listeners, uri: str, device: str | None) -> None:
        self.owner, self.device = owner, device
        self.ws = ClientProtocol(parse_uri(uri), max_size=2**24)
        self.transport: asyncio.Transport | None = None
        self.partial: list[bytes] = []
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self.flush()

    def flush(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def data_received(self, data: bytes) -> None:
        t = time.monotonic()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT or event.opcode is Opcode.CONT:
                    if not event.fin:
                        self.partial.append(event.data)
                        continue
                    payload = b"".join([*self.partial, event.data]) if self.partial \
                        else event.data
                    self.partial = []
                    if payload.startswith(_PREFIX):
                        self.owner.stamp(payload, t)
                    elif not self.ready.done():
                        self.welcomed(payload)
                elif event.opcode is Opcode.CLOSE:
                    self.owner.closed(self.ws.close_rcvd.code if self.ws.close_rcvd else None)
            elif isinstance(event, Response):
                self.opened()
        self.flush()

    def opened(self) -> None:
        if self.ws.handshake_exc is not None:
            self.ready.set_exception(self.ws.handshake_exc)
        elif self.device is None:
            self.ready.set_result(None)
        else:
            self.ws.send_text(json.dumps({"type": "hello", "role": "display",
                                          "device": self.device,
                                          "token": f"sample-{self.device}"}).encode())

    def welcomed(self, payload: bytes) -> None:
        if json.loads(payload).get("type") == "welcome":
            self.ready.set_result(None)
        else:
            self.ready.set_exception(RuntimeError(f"display {self.device} refused: "
                                                  f"{payload[:300]!r}"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed during the handshake"))

    def close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.ws.send_close(1000)
        self.flush()
        self.transport.close()


class Listeners:
    def __init__(self, url: str, n: int, hello: bool) -> None:
        self.url, self.n, self.hello = url, n, hello
        self.displays: list[Display] = []
        self.times: dict[int, list[float]] = {}
        self.names: dict[int, str] = {}
        self.board: list[float] = []     # Clients only: build_board durations

    def out(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def stamp(self, payload: bytes, t: float) -> None:
        start = len(_PREFIX)
        comma = payload.index(b",", start)
        seq = int(payload[start:comma])
        got = self.times.get(seq)
        if got is None:
            got = self.times[seq] = []
            name_at = comma + len(',"name":"')
            self.names[seq] = payload[name_at:payload.index(b'"', name_at)].decode()
        got.append(t)
        if len(got) == self.n:
            self.out(f"all {seq}")

    def record(self, seq: int, name: str, t: float) -> None:
        got = self.times.get(seq)
        if got is None:
            got = self.times[seq] = []
            self.names[seq] = name
        got.append(t)
        if len(got) == self.n:
            self.out(f"all {seq}")

    def closed(self, code: int | None) -> None:
        if code not in (1000, 1001):
            self.out(f"closed {code}")

    async def open_one(self, i: int, gate: asyncio.Semaphore) -> Display:
        uri = parse_uri(self.url)
        device = DISPLAYS[i % len(DISPLAYS)] if self.hello else None
        display = Display(self, self.url, device)
        async with gate:
            await asyncio.get_running_loop().create_connection(lambda: display, uri.host,
                                                               uri.port)
            await asyncio.wait_for(display.ready, 60)
        return display

    async def control(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line == "dump":
                body = json.dumps({"times": self.times, "names": self.names,
                                   "board": self.board}, separators=(",", ":"))
                self.times.clear()
                self.names.clear()
                self.board.clear()
                self.out("dump " + body)
            elif line in ("quit", ""):
                return

    async def run(self) -> None:
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        self.displays = await asyncio.gather(*(self.open_one(i, gate)
                                               for i in range(self.n)))
        self.out(f"ready {len(self.displays)}")
        await self.control()
        for display in self.displays:
            display.close()
        await asyncio.sleep(0.1)


class Clients(Listeners):
    """N real display clients: ``dispatcher.client.HubClient`` (websockets' asyncio
    client, JSON decoding, HallView.apply) as display D-B, token "sample-D-B". Each
    event is stamped with ``time.monotonic()`` in the client's ``on_event`` callback,
    which runs once the view has applied the event, right after
    ``display.model.build_board`` turned the view into the wall's board (what the
    wall widget does on every view change before it repaints; the Qt repaint itself
    is not included)."""

    DEVICE = "D-B"

    def __init__(self, url: str, n: int) -> None:
        super().__init__(url, n, hello=True)
        self.clients: list[HubClient] = []
        self.closing = False

    def client(self) -> HubClient:
        # imported here: hub_floor.py imports this module, and its RSS is measured
        from dispatcher.client import HubClient
        from display.model import build_board

        client = HubClient(self.url, "display", self.DEVICE, f"sample-{self.DEVICE}",
                           timeout=60, open_timeout=60)

        def on_event(frame: dict[str, Any]) -> None:
            t0 = time.perf_counter()
            build_board(client.view, client.view.zone)
            self.record(int(frame["seq"]), str(frame.get("name")), time.monotonic())
            self.board.append(time.perf_counter() - t0)

        def on_status(status: str) -> None:
            if status in ("disconnected", "refused") and not self.closing:
                self.out(f"closed client-{status}")

        client.on_event, client.on_status = on_event, on_status
        return client

    async def run(self) -> None:
        self.clients = [self.client() for _ in range(self.n)]
        for client in self.clients:
            client.start()
        await asyncio.gather(*(c.wait_connected(60) for c in self.clients))
        self.out(f"ready {len(self.clients)}")
        await self.control()
        self.closing = True
        await asyncio.gather(*(c.close() for c in self.clients))


class FloorClients(Listeners):
    """The floor of the HubClient path: N bare websockets (the asyncio client, with
    HubClient's settings) to the floor server, each with its own HallView, loaded
    from the snapshot a HubClient of display D-B gets from the hub at start. Each
    frame is decoded, applied to the view, the board is built, then stamped: the
    same client-side work as ``Clients``, on the same frames (the floor broadcasts
    what the hub broadcast), without the hub. Start it once the hub's displays are
    all connected, so that the snapshot's seq is the one the next frame follows."""

    def __init__(self, url: str, n: int, hub_url: str) -> None:
        super().__init__(url, n, hello=False)
        self.hub_url = hub_url
        self.tasks: list[asyncio.Task[None]] = []

    async def one(self, view: HallView, ready: asyncio.Future[None]) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        from dispatcher.protocol import HARD_FRAME_LIMIT
        from display.model import build_board

        async with connect(self.url, proxy=None, max_size=HARD_FRAME_LIMIT,
                           compression=None, close_timeout=2) as ws:
            ready.set_result(None)
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame.get("type") != "event" or not view.apply(frame):
                        continue
                    t0 = time.perf_counter()
                    build_board(view, view.zone)
                    self.record(int(frame["seq"]), str(frame.get("name")), time.monotonic())
                    self.board.append(time.perf_counter() - t0)

    async def run(self) -> None:
        from dispatcher.client import HallView, HubClient

        probe = HubClient(self.hub_url, "display", Clients.DEVICE,
                          f"sample-{Clients.DEVICE}", timeout=60, open_timeout=60)
        probe.start()
        await probe.wait_connected(60)
        snapshot, seq = probe.view.to_dict(), probe.view.seq
        await probe.close()
        assert seq is not None
        loop = asyncio.get_running_loop()
        readies: list[asyncio.Future[None]] = []
        for _ in range(self.n):
            view = HallView()
            view.load(snapshot, seq)
            readies.append(loop.create_future())
            self.tasks.append(asyncio.create_task(self.one(view, readies[-1])))
        await asyncio.wait_for(asyncio.gather(*readies), 60)
        self.out(f"ready {self.n}")
        await self.control()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--hello", action="store_true", help="say hello as hub displays")
    mode.add_argument("--clients", action="store_true",
                      help="run N real HubClient displays (D-B) instead")
    mode.add_argument("--floor-clients", metavar="HUB_URL",
                      help="N floor connections doing the display client's work")
    args = parser.parse_args(argv)
    raise_nofile()
    listeners = (Clients(args.url, args.n) if args.clients
                 else FloorClients(args.url, args.n, args.floor_clients)
                 if args.floor_clients else Listeners(args.url, args.n, args.hello))
    asyncio.run(listeners.run())


if __name__ == "__main__":
    main()
