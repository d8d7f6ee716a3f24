"""One frame to many connections: serialized once, then written to each transport.

``websockets.broadcast`` builds the websocket frame again for every connection
(``protocol.send_text``, then ``send_data``). A server frame is not masked and the hub
negotiates no extension (``compression=None``), so its bytes are the same for every
connection: ``write_all`` serializes it once with websockets' own ``Frame`` and hands
the bytes to each open connection's transport, the same bytes ``send_text`` would
have written. Only whole frames are ever written, and only from the event loop, so
they never interleave with a ping or a close that websockets writes itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from .guard import fell_behind


def write_all(conns: Iterable[ServerConnection], frame: str) -> list[ServerConnection]:
    """Write ``frame`` to every open connection; return those that fell behind with it
    (guard.py drops them)."""
    payload = frame.encode()
    data = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    behind = []
    for ws in conns:
        transport = ws.transport
        if ws.protocol.state is not State.OPEN or transport is None:
            continue
        transport.write(data)
        if fell_behind(ws, len(payload)):
            behind.append(ws)
    return behind
