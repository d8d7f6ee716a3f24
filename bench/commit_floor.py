"""A second floor for issue throughput (bench/bench_hub.py, bench/bench_peak.py): a
bare websockets server with group commit, no hub.

    python -m bench.commit_floor DB

Serves on a free port of 127.0.0.1 (prints "floor listening on ws://127.0.0.1:PORT")
with the hub's websockets settings. It speaks just enough of the hub's protocol for
the benches' kiosks: a hello gets a welcome; a command is parsed (json), and its row
(the command as JSON) written by the hub's design: every command that arrives while a
commit is in flight goes into the next transaction (WAL, synchronous=FULL, the hub's
pragmas), written on a thread of its own; each reply is sent once its transaction is
durable. Nothing is decided, checked or broadcast.

So this is what Python and websockets cost on this machine for a durable
request/reply with group commit; the bare one-row commit floor says what the disk
costs. A hub below this floor by a factor spends that factor on its own work.
Stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from bench.hub_floor import serve_floor
from dispatcher.store import SQLITE_PRAGMAS

Waiting = tuple[ServerConnection, str]   # a connection, its command's id


class CommitFloor:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            self.db.execute(pragma)
        self.db.execute("CREATE TABLE IF NOT EXISTS rows (seq INTEGER PRIMARY KEY, data TEXT)")
        self.writer = ThreadPoolExecutor(max_workers=1)
        self.inbox: list[tuple[Waiting, str]] = []
        self.writing: asyncio.Task[None] | None = None

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for text in ws:
                message = json.loads(text)
                if message.get("type") == "hello":
                    await ws.send(json.dumps({"type": "welcome", "seq": 0}))
                    continue
                self.inbox.append(((ws, message["id"]), json.dumps(message)))
                if self.writing is None:
                    self.writing = asyncio.ensure_future(self.write())
        except ConnectionClosed:
            pass

    async def write(self) -> None:
        loop = asyncio.get_running_loop()
        while self.inbox:
            batch, self.inbox = self.inbox, []
            await loop.run_in_executor(self.writer, self.commit, [row for _, row in batch])
            for ws, message_id in (waiting for waiting, _ in batch):
                if ws.transport is not None:
                    await ws.send(json.dumps({"type": "reply", "id": message_id, "ok": True,
                                              "result": {}}))
        self.writing = None

    def commit(self, rows: list[str]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO rows (data) VALUES (?)", [(r,) for r in rows])
        self.db.execute("COMMIT")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.commit_floor DB")
    asyncio.run(serve_floor(CommitFloor(sys.argv[1]).handler))


if __name__ == "__main__":
    main()
