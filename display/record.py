"""`onewindow display --record FILE`: JSON lines of what the wall showed and queued
for the voice, for the live demo's summary and the end-to-end test.

Each call (a recall is a call of its own) is written once, when it first appears on
the board (newest or recent): ``{"shown": "call", "number", "window", "recall",
"at"}``; each announcement handed to the voice: ``{"queued": "voice", "number",
"event"}``. A call already written is never written again, across a reconnect's
snapshot too, so a test can tell "shown twice" from "shown once".
"""

from __future__ import annotations

from typing import Any

from caller.autopilot import Recorder

SEEN_KEEP = 500


class WallRecord:
    def __init__(self, wall: Any, path: str, announcer: Any = None) -> None:
        self.record = Recorder(path)
        self.seen: dict[tuple[Any, ...], None] = {}
        show_board = wall.show_board

        def recording_show_board(board: Any) -> None:
            show_board(board)
            self.note(board)

        wall.show_board = recording_show_board
        if announcer is not None:
            announce = announcer.announce

            def recording_announce(event: dict[str, Any], layout: Any) -> bool:
                queued = announce(event, layout)
                if queued:
                    data = event.get("data") or {}
                    self.record.write(queued="voice", number=data.get("number", ""),
                                      window=data.get("window", ""), event=event.get("name"))
                return queued

            announcer.announce = recording_announce

    def note(self, board: Any) -> None:
        calls = ([board.newest] if board.newest else []) + list(board.recent)
        for call in reversed(calls):          # oldest first
            key = (call.ticket, call.number, call.window, call.at, call.recall)
            if key in self.seen:
                continue
            self.seen[key] = None
            self.record.write(shown="call", number=call.number, window=call.window,
                              recall=call.recall, at=call.at)
        while len(self.seen) > SEEN_KEEP:
            self.seen.pop(next(iter(self.seen)))
