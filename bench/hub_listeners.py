"""Load process for bench/bench_hub.py: hold N display connections, stamp every event.

    python -m bench.hub_listeners URL N [--hello]

Opens N websockets to URL (with ``--hello``: as hub displays D-A, D-B, D-HALL in
turn, waiting for each welcome; without: bare connections to the floor server).
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
                       everything since the last dump
    closed CODE        a connection was closed under us (e.g. 4000 lagging)
Lines on stdin: "dump", "quit" (or EOF).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

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
                body = json.dumps({"times": self.times, "names": self.names},
                                  separators=(",", ":"))
                self.times.clear()
                self.names.clear()
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    parser.add_argument("--hello", action="store_true", help="say hello as hub displays")
    args = parser.parse_args(argv)
    raise_nofile()
    asyncio.run(Listeners(args.url, args.n, args.hello).run())


if __name__ == "__main__":
    main()
