"""Addresses shared by the hub and its clients."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Only this machine is at ``host`` (``localhost``, 127.0.0.0/8, ``::1``)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
