"""QtHubClient: HubClient for PySide6 apps, with the network off the GUI thread.

Threading model:

* ``start()`` creates a private asyncio loop and runs a ``HubClient`` on it in a
  background thread (daemon). Every socket operation happens there; no method
  of this class waits on the network.
* That HubClient keeps its own ``HallView`` (network thread only): it decides
  the seq to resync from and detects gaps. Each frame it has *applied* (and each
  snapshot it loaded) is handed to the GUI thread through one queued signal, in
  order, and applied there to ``self.view``, a second ``HallView`` read only by
  the GUI thread. A view stores private deep copies, so the two never share a
  mutable dict. The GUI view therefore trails the network view by at most the
  frames still in the Qt event queue, and never sees a gap or a duplicate.
* Replies travel through the same queued signal, after the frames that came
  before them, so when ``on_reply`` runs ``self.view`` already shows the
  command's effect (as with ``await HubClient.command``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import PySide6
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from .client import DISCONNECTED, REFUSED, HubClient, HubError, HubRefused, HubUnavailable
from .tls import client_context
from .view import HallView

log = logging.getLogger("onewindow.client.qt")
OnReply = Callable[[bool, dict[str, Any]], Any]


def pyside_drops_references() -> bool:
    """True for a PySide6 build that returns None/True without a new reference, as the
    6.12.0 abi3 wheels do on Python < 3.12 (they assume 3.12's immortal objects). Every
    void call and signal emit then takes a reference from None or True, and the process
    aborts ("bool_dealloc", "none_dealloc") after a few thousand of them."""
    if sys.version_info >= (3, 12):
        return False     # None and True are immortal: nothing to run out of
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(50):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 25


PYSIDE_DROPS_REFERENCES = pyside_drops_references()
if PYSIDE_DROPS_REFERENCES:
    warnings.warn(f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} drops "
                  "references to None and True: a Qt app will crash within minutes. Install "
                  "PySide6-Essentials<6.12 or use Python 3.12+.", RuntimeWarning, stacklevel=2)


class QtHubClient(QObject):
    statusChanged = Signal(str)      # connecting / connected / disconnected / refused
    snapshotLoaded = Signal()        # self.view was replaced by a snapshot
    eventReceived = Signal(str, dict)   # name, data; self.view has applied the event
    viewChanged = Signal()           # after a snapshot or an event
    _deliver = Signal(object)        # network thread -> GUI thread, queued, in order

    def __init__(self, url: str, role: str, device: str, token: str, *,
                 state_file: str | os.PathLike[str] | None = None, ca: str | None = None,
                 parent: QObject | None = None, **options: Any) -> None:
        """``ca``: the hall CA's PEM file for a wss:// hub. ``options`` go to HubClient
        (backoff_min, backoff_max, timeout, ...). A bad url or ``ca`` raises
        ConnectionSettingsError here, as HubClient does."""
        super().__init__(parent)
        client_context(url, ca)
        self.view = HallView()           # GUI thread only
        self.status = DISCONNECTED
        self.refused: HubRefused | None = None
        self._args = (url, role, device, token)
        self._options = {"state_file": state_file, "ca": ca, **options}
        self._replies: dict[str, OnReply] = {}
        self._client: HubClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()    # guards _stopped and _outstanding
        self._stopped = False
        self._outstanding: set[concurrent.futures.Future[Any]] = set()
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def connected(self) -> bool:
        return self.status == "connected"

    @property
    def resync(self) -> str | None:
        """How the last welcome caught up: "events" or "snapshot" (None before one)."""
        resyncs = self._client.resyncs if self._client is not None else []
        return resyncs[-1] if resyncs else None

    def server_now(self) -> float:
        """Now by the hub's clock (a training hub runs its own hall time), as of the
        last welcome; this machine's clock before the first."""
        return self._client.server_now() if self._client is not None else time.time()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the network thread (returns at once)."""
        if self._thread is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._client = HubClient(*self._args, on_event=self._net_event,
                                 on_status=self._net_status, on_snapshot=self._net_snapshot,
                                 on_presence=self._net_presence,
                                 **self._options)
        if self._client.view.loaded:     # restored from the state file
            self._net_snapshot(self._client.view)
        self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                        name=f"hub-{self._args[2]}")
        self._thread.start()

    def close(self, timeout: float = 0.0) -> None:
        """Stop the client; with ``timeout`` > 0 wait that long for the thread (at app
        exit, so the state file is written)."""
        self._schedule(lambda client: client.close())
        if timeout > 0 and self._thread is not None:
            self._thread.join(timeout)

    def _thread_main(self) -> None:
        assert self._loop is not None and self._client is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._client.run())
        except HubRefused:
            pass     # already reported through statusChanged
        except Exception:
            log.exception("the hub client stopped")
        finally:
            with self._lock:
                self._stopped = True     # no new requests from now on
            self._loop.run_until_complete(self._drain())
            self._loop.close()

    async def _drain(self) -> None:
        """Let requests submitted before the stop run: each fails at once (refused or
        closed) and so gets its on_reply; cancel any that still do not finish."""
        for _ in range(100):
            if not self._outstanding:
                return
            await asyncio.sleep(0)
        with self._lock:
            left, self._outstanding = self._outstanding, set()
        for future in left:
            future.cancel()

    # ------------------------------------------------------------ requests

    def send_command(self, name: str, args: dict[str, Any] | None = None, *,
                     on_reply: OnReply | None = None, timeout: float | None = None) -> str:
        """Send a command; return its id at once. ``on_reply(ok, payload)`` runs later
        in the GUI thread: payload is the result, or the error (code, message, ...)."""
        command_id = uuid.uuid4().hex
        self._submit(command_id, on_reply, lambda c: c.command(
            name, args, timeout=timeout, command_id=command_id))
        return command_id

    def send_query(self, name: str, args: dict[str, Any] | None = None,
                   on_reply: OnReply | None = None, timeout: float | None = None) -> str:
        """Ask a query; return a request id at once; ``on_reply`` as for send_command."""
        request_id = uuid.uuid4().hex
        self._submit(request_id, on_reply, lambda c: c.query(name, args, timeout=timeout))
        return request_id

    def _submit(self, request_id: str, on_reply: OnReply | None,
                make: Callable[[HubClient], Any]) -> None:
        if on_reply is not None:
            self._replies[request_id] = on_reply
        future = self._schedule(make)
        if future is None:       # not started, or stopped: answer at once (still queued)
            future = concurrent.futures.Future()
            future.cancel()
        future.add_done_callback(lambda f: self._done(request_id, f))

    def _schedule(self, make: Callable[[HubClient], Any]
                  ) -> concurrent.futures.Future[Any] | None:
        """Run ``make(client)`` on the network loop, unless it has stopped."""
        with self._lock:
            if self._loop is None or self._client is None or self._stopped:
                return None
            future = asyncio.run_coroutine_threadsafe(make(self._client), self._loop)
            self._outstanding.add(future)
        future.add_done_callback(self._forget)    # outside the lock: it takes it
        return future

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._outstanding.discard(future)

    def _done(self, request_id: str, future: concurrent.futures.Future[Any]) -> None:
        """In whichever thread finished the future: hand the outcome to the GUI thread."""
        refused = self._client.refused if self._client else None
        self._deliver.emit(("reply", request_id, *_outcome(future, refused)))

    # ------------------------------------------------------------ network thread

    def _net_status(self, status: str) -> None:
        refused = self._client.refused if status == REFUSED and self._client else None
        self._deliver.emit(("status", status, refused))

    def _net_snapshot(self, view: HallView) -> None:
        self._deliver.emit(("snapshot", view.to_dict(), view.seq))

    def _net_event(self, frame: dict[str, Any]) -> None:
        self._deliver.emit(("event", frame))

    def _net_presence(self, frame: dict[str, Any]) -> None:
        self._deliver.emit(("presence", frame))

    # ------------------------------------------------------------ GUI thread

    def _on_deliver(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "event":
            frame = item[1]
            if self.view.loaded and self.view.apply(frame):
                self.eventReceived.emit(frame["name"], frame.get("data") or {})
                self.viewChanged.emit()
        elif kind == "presence":
            if self.view.loaded:
                self.view.note_presence(item[1])
                self.viewChanged.emit()
        elif kind == "snapshot":
            self.view.load(item[1], item[2])
            self.snapshotLoaded.emit()
            self.viewChanged.emit()
        elif kind == "status":
            self.status, self.refused = item[1], item[2] or self.refused
            self.statusChanged.emit(item[1])
        elif kind == "reply":
            callback = self._replies.pop(item[1], None)
            if callback is not None:
                callback(item[2], item[3])


def _outcome(future: concurrent.futures.Future[dict[str, Any]], refused: HubRefused | None
             ) -> tuple[bool, dict[str, Any]]:
    if future.cancelled():
        exc: BaseException | None = refused or HubUnavailable("the client is not running")
    else:
        exc = future.exception()
    if exc is None:
        return True, future.result()
    if isinstance(exc, HubError):
        return False, {"code": exc.code, "message": exc.message, **exc.details}
    return False, {"code": "client_error", "message": repr(exc)}


def run_app(app: Any, hub: QtHubClient, widget: Any, *, size: tuple[int, int],
            screenshot: str | None = None,
            shots: Callable[[str], Iterable[Any]] | None = None,
            settle_ms: int = 500, fullscreen: bool = False) -> int:
    """Run a device app: show ``widget`` at ``size`` (or full screen), start ``hub`` and
    the Qt loop; the hub client is closed when the app quits. With ``screenshot``
    (a path prefix) nothing is shown: once the hub's snapshot is in (and ``settle_ms``
    later) ``shots(prefix)`` renders the screens, their paths are printed and the app
    exits 0, or 1 when no snapshot came within 20 s."""
    app.aboutToQuit.connect(lambda: hub.close(timeout=2))
    if screenshot and shots is not None:
        def shoot() -> None:
            for path in shots(screenshot):
                print(path)
            app.quit()

        hub.snapshotLoaded.connect(lambda: QTimer.singleShot(settle_ms, shoot))
        QTimer.singleShot(20000, lambda: (print("error: no snapshot from the hub",
                                                file=sys.stderr), app.exit(1)))
    else:
        widget.resize(*size)
        widget.showFullScreen() if fullscreen else widget.show()
    hub.start()
    return app.exec()
