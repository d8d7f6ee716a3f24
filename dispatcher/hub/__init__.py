"""The real-time hub: the websockets server every device talks to."""

from .devices import SAMPLE_DEVICES, Device, hash_token, load_devices, new_token
from .server import Hub

__all__ = ["SAMPLE_DEVICES", "Device", "Hub", "hash_token", "load_devices", "new_token"]
