"""The client side of TLS: which hub URLs a device accepts, and the context that trusts
the hall's own CA (docs/security.md#certificates-tls).

A device sends its token, and a caller panel its clerks' PINs, in the first frames:
so plain ws:// is for this machine only (a hub on 127.0.0.1 or localhost), and any
other hub is reached with wss://, verifying its certificate against ``ca``."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from ..addresses import is_loopback

EXPECTED = "expected ws://HOST:PORT or wss://HOST:PORT"
CA_HELP = ("the hall's CA certificate (PEM) to trust the hub's wss:// certificate with "
           "(default: the system's CAs); docs/security.md")


class ConnectionSettingsError(ValueError):
    """A hub URL or CA file a device cannot use. ``flag`` is the command-line option it
    came from; ``str()`` is one line: the value and what is wrong with it."""

    def __init__(self, flag: str, value: str, reason: str) -> None:
        super().__init__(f"{value}: {reason}")
        self.flag = flag

    def line(self) -> str:
        return f"{self.flag} {self}"


def check_server(url: str) -> bool:
    """Raise ConnectionSettingsError unless ``url`` is wss://HOST[:PORT], or ws:// to
    this machine; return whether it is wss://."""
    try:
        parts = urlsplit(url)
        parts.port   # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        raise ConnectionSettingsError("--server", url, EXPECTED) from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConnectionSettingsError("--server", url, EXPECTED)
    if parts.scheme == "ws" and not is_loopback(parts.hostname):
        raise ConnectionSettingsError(
            "--server", url, f"plain ws:// to {parts.hostname} would carry the device token "
            "and the clerks' PINs across the network in clear text: use "
            f"wss://{parts.netloc} and --ca FILE, the hall's CA (docs/security.md)")
    return parts.scheme == "wss"


def client_context(url: str, ca: str | None = None) -> ssl.SSLContext | None:
    """None for ws://; for wss:// a TLS 1.2+ context that checks the hub's certificate
    and name against ``ca`` (a PEM file), or the system's CAs without one."""
    if not check_server(url):
        return None
    try:
        context = ssl.create_default_context(cafile=ca)
    except ssl.SSLError:
        raise ConnectionSettingsError("--ca", str(ca), "no PEM certificate in it") from None
    except OSError as exc:
        raise ConnectionSettingsError("--ca", str(ca),
                                      f"cannot read it: {exc.strerror or exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def settings_problem(server: str, ca: str | None) -> str | None:
    """For an app's command line: the one line saying what is wrong with ``--server``
    and ``--ca``, or None."""
    try:
        client_context(server, ca)
    except ConnectionSettingsError as exc:
        return exc.line()
    return None
