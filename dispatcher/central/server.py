"""``onewindow central``: the supervision view over the hub protocol's websocket framing.

A device says hello with role ``supervision``, its id and its token (checked against
the supervision devices file: the hub's format, salted token hashes, role
``supervision``); the welcome carries the view as ``snapshot``; then a ``view``
frame follows every ``every`` seconds, and a ``query`` named ``halls`` is answered
with the view at once. Anything else gets an ``error`` frame; a refused hello closes
the socket with 1008, as at the hub.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from ..hall import HallConfigError, read_model
from ..hub.devices import DEVICE_ID, TOKEN_HASH, Device
from .views import Supervision

ROLE = "supervision"
HELLO_TIMEOUT = 10.0


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    id: str = Field(pattern=DEVICE_ID.pattern)
    role: str = Field(pattern=f"^{ROLE}$")
    token_hash: str = Field(pattern=TOKEN_HASH)
    name: str = ""


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    device: list[_Entry] = Field(min_length=1)


def load_supervisors(path: str | Path) -> dict[str, Device]:
    """The supervision devices file; HallConfigError names the file, key and problem."""
    source = str(path)
    parsed = read_model(path, _File, "supervision devices file")
    devices: dict[str, Device] = {}
    for i, e in enumerate(parsed.device):
        if e.id in devices:
            raise HallConfigError(source, f"device[{i}].id", f"device {e.id} is listed twice")
        devices[e.id] = Device(e.id, e.role, e.token_hash, name=e.name)
    return devices


def _error(code: str, message: str, msg_id: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "error": {"code": code, "message": message}}
    if msg_id is not None:
        frame["id"] = msg_id
    return json.dumps(frame)


@dataclass
class CentralServer:
    supervision: Supervision
    devices: dict[str, Device]
    every: float = 5.0

    def __post_init__(self) -> None:
        self.view: dict[str, Any] = {}
        self.views = 0
        self.clients: set[ServerConnection] = set()
        # one refresh at a time: each applies the new events to the kept replays
        self._refreshing = asyncio.Lock()

    async def refresh(self) -> dict[str, Any]:
        async with self._refreshing:
            self.view = await asyncio.to_thread(self.supervision.refresh)
            self.views += 1
            return self.view

    async def handler(self, ws: ServerConnection) -> None:
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT))
        except (TimeoutError, ConnectionClosed, ValueError):
            await ws.close(1008, "hello_first")
            return
        device = self._admit(hello)
        if device is None:
            await ws.send(_error("bad_credentials", "device, role or token not accepted"))
            await ws.close(1008, "bad_credentials")
            return
        view = await self.refresh()
        # seq and resync as a hub's welcome, so the client library (dispatcher/client)
        # loads the view as its snapshot: the number of views made, always a snapshot
        await ws.send(json.dumps({"type": "welcome", "protocol": 1, "role": ROLE,
                                  "device": device.id, "seq": self.views,
                                  "resync": "snapshot", "server_time": view["generated_at"],
                                  "snapshot": view}, ensure_ascii=False))
        self.clients.add(ws)
        try:
            async for message in ws:
                await self._answer(ws, message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(ws)

    def _admit(self, hello: Any) -> Device | None:
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            return None
        device = self.devices.get(str(hello.get("device")))
        token = hello.get("token")
        if device is None or hello.get("role") != ROLE or not isinstance(token, str) \
                or len(token) > 256 or not device.token_matches(token):
            return None
        return device

    async def _answer(self, ws: ServerConnection, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            await ws.send(_error("bad_message", "not JSON"))
            return
        msg_id = frame.get("id") if isinstance(frame, dict) else None
        if not isinstance(frame, dict) or frame.get("type") != "query" \
                or frame.get("name") != "halls":
            await ws.send(_error("bad_message", "a supervision device may only query "
                                 "'halls'", msg_id))
            return
        view = await self.refresh()
        await ws.send(json.dumps({"type": "reply", "id": msg_id, "ok": True, "result": view},
                                 ensure_ascii=False))

    async def push(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            if self.clients:
                view = await self.refresh()
                broadcast(self.clients, json.dumps({"type": "view", "view": view},
                                                   ensure_ascii=False))

    async def serve(self, host: str, port: int) -> None:
        async with serve(self.handler, host, port, max_size=2**16) as server:
            bound = next(iter(server.sockets)).getsockname()[1]
            print(f"onewindow central listening on ws://{host}:{bound}", flush=True)
            await self.push()
