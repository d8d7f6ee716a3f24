"""The client library every app (kiosk, caller, display, LED bridge, console) uses
to talk to the hub. docs/client.md explains it; docs/protocol.md is the wire format.

It depends on dispatcher.protocol only, never on the hub's insides. The Qt
wrapper lives in ``dispatcher.client.qt`` (imported on demand: PySide6 is only
needed by Qt apps).
"""

from .client import (
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    REFUSED,
    HubClient,
    HubError,
    HubRefused,
    HubUnavailable,
)
from .tls import ConnectionSettingsError
from .view import HallView, SeqGap

__all__ = [
    "CONNECTED", "CONNECTING", "DISCONNECTED", "REFUSED", "ConnectionSettingsError",
    "HallView", "HubClient", "HubError", "HubRefused", "HubUnavailable", "SeqGap",
]
