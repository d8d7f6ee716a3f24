"""Rotation and revocation without a restart: `kill -HUP` makes a real `onewindow
serve` reread its devices file (and clerks file). A new device gets in, a rotated
token lets only the new one in and ends the session of the old, a removed or
expired device is closed (1008, credentials_changed), and a file that fails to
load changes nothing. Each test has its own hub and its own devices file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_process import SAMPLE_PINS, HubProcess, RawClient, sample_token
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dispatcher.hub.devices import hash_token
from dispatcher.hub.people import hash_pin
from dispatcher.protocol import CLOSE_POLICY

TIMEOUT = 10.0


def entry(device: str, role: str, token: str | None = None) -> str:
    """A device's entry, its token hashed with a fresh salt: make it once and reuse the
    text, since the same token hashed again is a changed entry."""
    where = {"kiosk": 'zone = "B"\n', "caller": f'windows = ["{device[2:]}"]\n'}.get(role, "")
    return (f'[[device]]\nid = "{device}"\nrole = "{role}"\n{where}'
            f'token_hash = "{hash_token(token or sample_token(device))}"\n\n')


def expiring(text: str, expires: str) -> str:
    """The same entry with an ``expires`` line."""
    return text.replace("token_hash", f"expires = {expires}\ntoken_hash")


K_B1, C_B03, D_B = entry("K-B1", "kiosk"), entry("C-B03", "caller"), entry("D-B", "display")
K_B2 = entry("K-B2", "kiosk")
BASE = K_B1 + C_B03 + D_B


class Hall:
    """A hub started on ``devices.toml`` in its own folder, and HUP with a wait."""

    def __init__(self, folder: Path, devices: str, clerks: str | None = None) -> None:
        self.devices = folder / "devices.toml"
        self.devices.write_text(devices, encoding="utf-8")
        extra = ["--devices", str(self.devices)]
        if clerks is not None:
            self.clerks = folder / "clerks.toml"
            self.clerks.write_text(clerks, encoding="utf-8")
            extra += ["--clerks", str(self.clerks)]
        self.proc = HubProcess(f"sqlite:///{folder / 'hall.db'}", extra=extra).start()
        self.url = self.proc.url

    def log(self, event: str) -> list[dict[str, Any]]:
        lines = [json.loads(x) for x in self.proc.log_text().splitlines() if x.startswith("{")]
        return [x for x in lines if event in ("", x.get("event"))]

    def reloads(self) -> list[dict[str, Any]]:
        return [x for x in self.log("") if x.get("event") in ("reloaded", "reload_failed")]

    def hup(self, devices: str | None = None) -> dict[str, Any]:
        """Rewrite the devices file (if given), send SIGHUP, and return the hub's log line
        for that reload (reloaded or reload_failed)."""
        if devices is not None:
            self.devices.write_text(devices, encoding="utf-8")
        before = len(self.reloads())
        assert self.proc.proc is not None
        self.proc.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            done = self.reloads()
            if len(done) > before:
                assert self.proc.proc.poll() is None, "the hub died of the SIGHUP"
                return done[-1]
            time.sleep(0.02)
        raise AssertionError(f"no reload logged: {self.proc.log_text()[-2000:]}")


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[Hall]:
    h = Hall(tmp_path, BASE)
    yield h
    h.proc.kill()


async def hello(url: str, role: str, device: str, token: str | None = None
                ) -> tuple[RawClient, dict[str, Any]]:
    """The client and its first frame (a welcome, or the refusal's error)."""
    client = RawClient(await connect(url, max_size=2**24, max_queue=None))
    await client.send({"type": "hello", "role": role, "device": device,
                       "token": token or sample_token(device)})
    return client, await client.recv(TIMEOUT)


async def welcomed(url: str, role: str, device: str, token: str | None = None) -> RawClient:
    client, first = await hello(url, role, device, token)
    assert first["type"] == "welcome", first
    return client


async def refused(hall: Hall, role: str, device: str, token: str | None = None) -> str:
    """A hello refused as every bad one is (bad_credentials, then 1008, never saying
    why); returns the reason only the hub's log gives."""
    before = len(hall.log("refused"))
    client, first = await hello(hall.url, role, device, token)
    assert first["type"] == "error" and first["error"]["code"] == "bad_credentials", first
    assert "expire" not in json.dumps(first) and device not in first["error"]["message"]
    with contextlib.suppress(ConnectionClosed):
        await asyncio.wait_for(client.ws.recv(), TIMEOUT)
    assert client.ws.close_code == CLOSE_POLICY
    deadline = time.monotonic() + TIMEOUT
    while len(hall.log("refused")) == before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    line = hall.log("refused")[before]
    assert line["device"] == device, line
    return line["reason"]


async def closed_for_credentials(client: RawClient) -> None:
    await asyncio.wait_for(client.ws.wait_closed(), TIMEOUT)
    assert (client.ws.close_code, client.ws.close_reason) == (CLOSE_POLICY,
                                                              "credentials_changed")


async def still_served(client: RawClient) -> None:
    reply = await client.query("snapshot")
    assert reply["ok"] is True, reply


def test_a_device_added_to_the_file_gets_in_without_a_restart(hall: Hall) -> None:
    async def scenario() -> None:
        kiosk = await welcomed(hall.url, "kiosk", "K-B1")
        assert await refused(hall, "kiosk", "K-B2") == "unknown_device"
        line = await asyncio.to_thread(hall.hup, BASE + K_B2)
        assert line["devices"] == 4 and line["closed"] == []
        new = await welcomed(hall.url, "kiosk", "K-B2")
        issued = await new.command("issue_ticket", queue="quick_b")
        assert issued["ok"] is True, issued
        await still_served(kiosk)                        # nobody else was disturbed

    asyncio.run(scenario())


def test_a_rotated_token_lets_only_the_new_one_in_and_ends_the_old_session(
        hall: Hall) -> None:
    async def scenario() -> None:
        old = await welcomed(hall.url, "caller", "C-B03")
        display = await welcomed(hall.url, "display", "D-B")
        rotated = K_B1 + entry("C-B03", "caller", "new-secret-of-C-B03") + D_B
        line = await asyncio.to_thread(hall.hup, rotated)
        assert line["closed"] == ["C-B03"]
        await closed_for_credentials(old)
        assert await refused(hall, "caller", "C-B03") == "bad_token"   # as any wrong one
        new = await welcomed(hall.url, "caller", "C-B03", "new-secret-of-C-B03")
        await still_served(new)
        await still_served(display)

    asyncio.run(scenario())
    assert hall.log("credentials_changed")[0] == {"event": "credentials_changed",
                                                  "device": "C-B03", "why": "changed"}


def test_a_removed_device_is_closed_and_refused(hall: Hall) -> None:
    async def scenario() -> None:
        display = await welcomed(hall.url, "display", "D-B")
        kiosk = await welcomed(hall.url, "kiosk", "K-B1")
        line = await asyncio.to_thread(hall.hup, K_B1 + C_B03)
        assert line["closed"] == ["D-B"] and line["devices"] == 2
        await closed_for_credentials(display)
        assert await refused(hall, "display", "D-B") == "unknown_device"
        await still_served(kiosk)

    asyncio.run(scenario())
    assert [x["why"] for x in hall.log("credentials_changed")] == ["removed"]


@pytest.mark.parametrize("broken", [
    'this is [not toml',
    K_B1.replace('zone = "B"', 'zone = "Z"'),                     # no zone Z in the hall
    "",
])
def test_a_file_that_fails_to_load_keeps_the_old_list(hall: Hall, broken: str) -> None:
    async def scenario() -> None:
        kiosk = await welcomed(hall.url, "kiosk", "K-B1")
        line = await asyncio.to_thread(hall.hup, broken)
        assert line["event"] == "reload_failed"
        assert line["error"].startswith(f"{hall.devices}: ") and "\n" not in line["error"]
        await still_served(kiosk)
        await still_served(await welcomed(hall.url, "display", "D-B"))   # the old list
        assert await refused(hall, "kiosk", "K-B2") == "unknown_device"
        # once fixed, the next HUP takes the new file
        fixed = await asyncio.to_thread(hall.hup, BASE + K_B2)
        assert fixed["event"] == "reloaded"
        await still_served(await welcomed(hall.url, "kiosk", "K-B2"))

    asyncio.run(scenario())
    failed = [x for x in hall.proc.log_text().splitlines() if "reload_failed" in x]
    assert len(failed) == 1                               # one line per failed reload


def test_an_expired_device_is_refused_like_a_wrong_token_and_closed(hall: Hall) -> None:
    async def scenario() -> None:
        kiosk = await welcomed(hall.url, "kiosk", "K-B1")
        caller = await welcomed(hall.url, "caller", "C-B03")
        text = (expiring(K_B1, "2020-01-01")
                + expiring(C_B03, "2999-12-31T18:00:00+08:00") + D_B)
        line = await asyncio.to_thread(hall.hup, text)
        assert line["closed"] == ["K-B1"]
        await closed_for_credentials(kiosk)
        assert await refused(hall, "kiosk", "K-B1") == "expired"   # told only bad_credentials
        await still_served(caller)                        # expires later: still in

    asyncio.run(scenario())
    assert [x["why"] for x in hall.log("credentials_changed")] == ["expired"]
    assert hall.log("expired")[-1]["device"] == "K-B1"  # the log says why it was refused


def test_the_clerks_file_is_reread_too(tmp_path: Path) -> None:
    salt, pin_hash = hash_pin("4242")
    one = (f'[clerks.clerk-017]\nname = "王芳"\nsalt = "{salt}"\npin_hash = "{pin_hash}"\n')
    salt2, pin_hash2 = hash_pin("9999")
    two = one + f'[clerks.clerk-099]\nname = "新人"\nsalt = "{salt2}"\npin_hash = "{pin_hash2}"\n'
    h = Hall(tmp_path, BASE, clerks=one)

    async def sign_in(caller: RawClient, clerk: str, pin: str) -> dict[str, Any]:
        return await caller.command("sign_in", window="B03", clerk=clerk, pin=pin)

    async def scenario() -> None:
        caller = await welcomed(h.url, "caller", "C-B03")
        assert (await sign_in(caller, "clerk-099", "9999"))["error"]["code"] == "wrong_pin"
        assert (await sign_in(caller, "clerk-017", SAMPLE_PINS["clerk-017"]))["ok"] is False
        h.clerks.write_text("[clerks", encoding="utf-8")
        assert (await asyncio.to_thread(h.hup))["event"] == "reload_failed"
        assert (await sign_in(caller, "clerk-017", "4242"))["ok"] is True   # the old list
        h.clerks.write_text(two, encoding="utf-8")
        line = await asyncio.to_thread(h.hup)
        assert line["event"] == "reloaded" and line["closed"] == []
        reply = await sign_in(caller, "clerk-099", "9999")
        assert reply["ok"] is True and reply["result"]["person"] == {"id": "clerk-099",
                                                                     "name": "新人"}
        await still_served(caller)                         # a clerks change closes no device
        h.clerks.write_text(one, encoding="utf-8")         # clerk-099 is let go
        assert (await asyncio.to_thread(h.hup))["event"] == "reloaded"
        status = await caller.query("window_status", window="B03")
        assert status["result"]["windows"]["B03"]["clerk"] is None   # signed out at once
        assert (await sign_in(caller, "clerk-099", "9999"))["error"]["code"] == "wrong_pin"

    try:
        asyncio.run(scenario())
    finally:
        h.proc.kill()
