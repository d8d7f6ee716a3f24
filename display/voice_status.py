"""The wall's voice as a device: started, or off with a reason.

``start_voice(choice, wall, hub, device)`` makes the announcer for ``--voice``
(auto, qt, clips, silent, or a clip pack's folder). When the voice cannot work —
no player, no sound device, a pack that is not there — or stops working later, the
wall goes on silently: it shows a small 语音关闭 voice off mark for staff
(``wall.set_voice_off``) and reports ``<device>/voice`` to the hub (``report_device``,
status ``offline`` or ``error``, the reason as detail), again after a reconnect
until the hub has taken it; ``ok`` once the voice works again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from .voice import Announcer, SilentBackend, VoiceConfig, VoiceError

log = logging.getLogger("onewindow.voice")
BACKENDS = ("auto", "qt", "clips", "silent")
MAX_DETAIL = 200


class VoiceStatus(QObject):
    """Shows and reports the voice's health; ``set`` may be called from any thread."""

    _changed = Signal(str, str)

    def __init__(self, wall: Any, hub: Any, device: str) -> None:
        super().__init__(wall if isinstance(wall, QObject) else None)   # lives with the wall
        self.wall, self.hub, self.part = wall, hub, f"{device}/voice"
        self.status, self.detail = "ok", ""
        self.sent: tuple[str, str] | None = None       # what the hub has taken
        self.replies: list[tuple[bool, Any]] = []
        self._changed.connect(self._apply, Qt.ConnectionType.QueuedConnection)
        hub.statusChanged.connect(lambda _status: self._report())

    def set(self, status: str, detail: str) -> None:
        self._changed.emit(status, detail[:MAX_DETAIL])

    def _apply(self, status: str, detail: str) -> None:
        self.status, self.detail = status, detail
        self.wall.set_voice_off("" if status == "ok" else detail or status)
        self._report()

    def _report(self) -> None:
        want = (self.status, self.detail)
        if not self.hub.connected or want == self.sent or (self.sent is None and
                                                            self.status == "ok"):
            return
        self.sent = want

        def replied(ok: bool, payload: Any) -> None:
            self.replies.append((ok, payload))
            if not ok and self.sent == want:
                self.sent = None          # try again after the next (re)connect
        args = {"device": self.part, "status": self.status}
        if self.detail:
            args["detail"] = self.detail
        self.hub.send_command("report_device", args, on_reply=replied)


def voice_config(choice: str) -> VoiceConfig:
    """``--voice``: a backend name, or a clip pack's folder."""
    if choice in BACKENDS:
        return VoiceConfig(backend=choice)
    return VoiceConfig(backend="clips", clips=str(Path(choice)))


def start_voice(choice: str, wall: Any, hub: Any, device: str) -> tuple[Announcer, VoiceStatus]:
    """The announcer for ``--voice`` (silent, with the fault shown and reported, when the
    voice cannot start), and its status."""
    status = VoiceStatus(wall, hub, device)
    try:
        announcer = voice_config(choice).announcer(on_health=status.set)
    except VoiceError as exc:
        log.error("voice off: %s", exc)
        status.set("offline", str(exc))
        return Announcer(SilentBackend()), status
    announcer.probe()
    return announcer, status
