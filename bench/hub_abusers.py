"""Load process for bench/bench_abuse.py and tests/test_hub_limits.py: callers that
ask snapshots as fast as the hub lets them, and a client that never reads.

    python -m bench.hub_abusers URL [--callers C-B01,C-B02,C-B03,C-B04]
                                    [--non-reader C-B05] [--rate 20] [--ca FILE]

Each caller says hello with its sample token, then sends a snapshot query every
1/--rate s whatever the answers, which it reads meanwhile: 20 a second is what the
hub allowed any message before it charged by cost, the pattern of issue 14. With
``--rate 0`` it asks one at a time instead, each as soon as it has the answer to the
last, waiting what a rate_limited answer's ``retry_after`` says. The non-reader says hello
(as a caller, whose snapshot is the biggest) on a socket with a 4 KiB receive buffer
and a websockets queue of one message, reads nothing, not even its welcome, and asks
a snapshot every 0.25 s until its socket fails.

On stdout: ``ready`` once every client has its welcome (the non-reader: once its
hello is sent), then on ``quit`` (stdin) or EOF one line ``done JSON`` with what each
got: snapshots answered, refusals, characters read, the close code; for the
non-reader the messages it sent and the seconds until its socket failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import ssl
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

NON_READER_GAP = 0.25   # s between the non-reader's snapshot queries
SMALL_RCVBUF = 4096


def token(device: str) -> str:
    return f"sample-{device}"   # assets/halls/sample-devices.toml documents these


def hello(device: str) -> str:
    return json.dumps({"type": "hello", "role": "caller", "device": device,
                       "token": token(device)})


def snapshot_query() -> str:
    return json.dumps({"type": "query", "id": uuid.uuid4().hex, "name": "snapshot"})


@dataclass
class CallerTally:
    device: str
    snapshots: int = 0        # answered ok
    limited: int = 0          # refused rate_limited
    other: int = 0            # any other answer
    chars: int = 0            # characters of the snapshot replies
    close_code: int | None = None


@dataclass
class NonReaderTally:
    device: str
    sent: int = 0
    cut_after_s: float | None = None   # from hello to the failed send
    error: str = ""


async def open_ws(url: str, context: ssl.SSLContext | None, **kwargs: Any
                  ) -> ClientConnection:
    tls = {"ssl": context} if context is not None else {}
    return await connect(url, proxy=None, max_size=2**24, ping_interval=None,
                         compression=None, **tls, **kwargs)


async def caller(url: str, device: str, context: ssl.SSLContext | None, rate: float,
                 ready: asyncio.Event, stop: asyncio.Event) -> CallerTally:
    tally = CallerTally(device)
    ws = await open_ws(url, context)
    await ws.send(hello(device))
    welcome = json.loads(await ws.recv())
    assert welcome.get("type") == "welcome", welcome
    ready.set()
    try:
        if rate > 0:
            await pipelined(ws, tally, rate, stop)
        else:
            while not stop.is_set():
                await ws.send(snapshot_query())
                text, reply = await answer(ws)
                await note(tally, reply, len(text), wait=True)
    except ConnectionClosed:
        tally.close_code = ws.close_code
    await ws.close()
    return tally


async def pipelined(ws: ClientConnection, tally: CallerTally, rate: float,
                    stop: asyncio.Event) -> None:
    """A snapshot query every 1/rate s whatever the answers, which are read meanwhile."""
    async def read() -> None:
        while True:
            text, reply = await answer(ws)
            await note(tally, reply, len(text), wait=False)

    reader = asyncio.ensure_future(read())
    try:
        while not stop.is_set() and not reader.done():
            await ws.send(snapshot_query())
            await asyncio.sleep(1 / rate)
    finally:
        reader.cancel()
    if reader.done() and not reader.cancelled() and reader.exception() is not None:
        raise reader.exception()  # type: ignore[misc]


async def answer(ws: ClientConnection) -> tuple[str, dict[str, Any]]:
    """The next frame that is not an event (the hall goes on meanwhile)."""
    while True:
        text = await ws.recv()
        assert isinstance(text, str)
        reply = json.loads(text)
        if reply.get("type") != "event":
            return text, reply


async def note(tally: CallerTally, reply: dict[str, Any], chars: int, wait: bool) -> None:
    """Count one answer; after a rate_limited one, wait as long as it says (``wait``)."""
    if reply.get("ok"):
        tally.snapshots += 1
        tally.chars += chars
        return
    error = reply.get("error", {})
    if error.get("code") == "rate_limited":
        tally.limited += 1
        if wait:
            await asyncio.sleep(float(error.get("retry_after", 0.05)) + 0.001)
    else:
        tally.other += 1


async def non_reader(url: str, device: str, context: ssl.SSLContext | None,
                     ready: asyncio.Event, stop: asyncio.Event) -> NonReaderTally:
    tally = NonReaderTally(device)
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RCVBUF)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    ws = await open_ws(url, context, sock=sock, max_queue=1)
    began = time.monotonic()
    try:
        await ws.send(hello(device))
        ready.set()
        while not stop.is_set():
            await asyncio.wait_for(ws.send(snapshot_query()), 30)
            tally.sent += 1
            await asyncio.sleep(NON_READER_GAP)
    except (ConnectionClosed, OSError, TimeoutError) as exc:
        tally.cut_after_s = round(time.monotonic() - began, 2)
        tally.error = type(exc).__name__
    ready.set()
    ws.transport.abort()
    return tally


async def wait_quit() -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "quit":
            return


async def run(args: argparse.Namespace) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=args.ca) if args.ca else None
    stop = asyncio.Event()
    callers = [d for d in args.callers.split(",") if d]
    readies = [asyncio.Event() for _ in range(len(callers) + bool(args.non_reader))]
    tasks = [asyncio.ensure_future(caller(args.url, d, context, args.rate, r, stop))
             for d, r in zip(callers, readies, strict=False)]
    if args.non_reader:
        tasks.append(asyncio.ensure_future(non_reader(args.url, args.non_reader, context,
                                                      readies[-1], stop)))
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
    print("ready", flush=True)
    await wait_quit()
    stop.set()
    done = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return {"callers": [asdict(t) for t in done if isinstance(t, CallerTally)],
            "non_reader": next((asdict(t) for t in done if isinstance(t, NonReaderTally)),
                               None)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--callers", default="C-B01,C-B02,C-B03,C-B04")
    parser.add_argument("--non-reader", default="C-B05", help="'' for none")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="snapshot queries a second per caller, sent whatever the "
                        "answers (default 20, what the hub allowed before it charged by "
                        "cost); 0: one at a time, each after the last answer, waiting "
                        "what rate_limited's retry_after says")
    parser.add_argument("--ca", help="the CA to trust for a wss:// URL")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        print("done " + json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
