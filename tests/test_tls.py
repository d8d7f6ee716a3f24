"""wss:// end to end: a real `onewindow serve --tls-cert --tls-key` subprocess with a
throwaway hall CA (tests/certs.py), the raw client, the client library, the apps'
command lines and /healthz over https; a device that does not trust the CA never
gets in, and nothing falls back to plain ws://."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Certs, make_certs
from hub_process import ROOT, HubProcess, RawClient, sample_token
from websockets.exceptions import InvalidMessage

from dispatcher.client import ConnectionSettingsError, HubClient, HubUnavailable
from dispatcher.client.tls import check_server, client_context

JSON_TYPE = "application/json; charset=utf-8"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[HubProcess]:
    folder = tmp_path_factory.mktemp("tls-hub")
    with HubProcess(f"sqlite:///{folder / 'hall.db'}", tls=(certs.cert, certs.key)) as live:
        yield live


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def connected_devices(hub: HubProcess) -> list[str]:
    lines = (json.loads(line) for line in hub.log_text().splitlines() if line.startswith("{"))
    return [entry["device"] for entry in lines if entry.get("event") == "connected"]


def raw_get(port: int, context: ssl.SSLContext | None = None) -> tuple[list[str], bytes]:
    """GET /healthz by hand: the response's header lines, exactly as sent, and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
        sock = context.wrap_socket(plain, server_hostname="127.0.0.1") if context else plain
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def content_types(lines: list[str]) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in lines[1:]
            if line.lower().startswith("content-type:")]


# ------------------------------------------------------------------ the hub


def test_the_hub_announces_wss(hub: HubProcess) -> None:
    assert hub.ready_line.startswith(f"onewindow hub listening on wss://127.0.0.1:{hub.port} ")
    assert "clear text" not in hub.ready_line
    assert hub.url.startswith("wss://")


def test_a_raw_client_that_trusts_the_ca_gets_a_welcome(hub: HubProcess, certs: Certs) -> None:
    async def scenario() -> dict:
        client = await RawClient.hello(hub.url, "display", "D-B", ssl=trusting(certs.ca))
        await client.close()
        return client.welcome

    welcome = asyncio.run(scenario())
    assert welcome["type"] == "welcome" and welcome["device"] == "D-B", welcome


def test_the_client_library_with_ca_connects_over_wss(hub: HubProcess, certs: Certs) -> None:
    async def scenario() -> tuple[str, bool, str]:
        client = HubClient(hub.url, "display", "D-HALL", sample_token("D-HALL"),
                           ca=str(certs.ca), backoff_min=0.05, backoff_max=0.2)
        client.start()
        try:
            await client.wait_connected(10)
            return client.status, client.view.loaded, client.resyncs[0]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ("connected", True, "snapshot")
    assert "D-HALL" in connected_devices(hub)


def test_a_client_without_the_ca_fails_the_handshake(hub: HubProcess, certs: Certs) -> None:
    async def raw() -> None:
        await RawClient.hello(hub.url, "display", "D-A")   # the system's CAs only

    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        asyncio.run(raw())


def test_the_client_library_never_trusts_another_ca(hub: HubProcess, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    stranger = make_certs(tmp_path, "stranger")

    async def scenario(ca: str | None) -> int:
        client = HubClient(hub.url, "led", "LED-1", sample_token("LED-1"), ca=ca,
                           backoff_min=0.05, backoff_max=0.1)
        client.start()
        try:
            with pytest.raises(HubUnavailable):
                await client.wait_connected(1.5)
            assert client.status != "connected" and not client.view.loaded
            return client.connects
        finally:
            await client.close()

    caplog.set_level(logging.INFO, "onewindow.client")
    for ca in (None, str(stranger.ca)):
        caplog.clear()
        tries = asyncio.run(scenario(ca))
        assert tries >= 2                                # it keeps trying, over TLS only
        said = [(r.levelno, r.getMessage()) for r in caplog.records]
        levels = [level for level, _ in said]          # said loudly once, then quietly
        assert len(said) >= tries - 1 >= 1 and levels[0] == logging.WARNING
        assert set(levels[1:]) == {logging.INFO}
        assert all("not trusted: certificate verify failed" in text for _, text in said), said
    assert "LED-1" not in connected_devices(hub)


def test_plain_ws_to_the_tls_port_fails(hub: HubProcess) -> None:
    async def plain() -> None:
        await RawClient.hello(f"ws://127.0.0.1:{hub.port}", "kiosk", "K-A1")

    with pytest.raises((InvalidMessage, ConnectionError, EOFError)):
        asyncio.run(plain())
    assert "K-A1" not in connected_devices(hub)


def test_healthz_over_https_with_the_ca(hub: HubProcess, certs: Certs) -> None:
    health = hub.health(context=trusting(certs.ca))
    assert health["ok"] is True and health["hall"] == "开阳县政务服务中心"
    lines, body = raw_get(hub.port, trusting(certs.ca))
    assert lines[0] == "HTTP/1.1 200 OK"
    assert content_types(lines) == [JSON_TYPE]
    assert json.loads(body)["ok"] is True
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"https://127.0.0.1:{hub.port}/healthz", timeout=10)
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{hub.port}/healthz", timeout=10)


def test_plain_healthz_sends_one_content_type(tmp_path: Path) -> None:
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}") as plain:
        lines, body = raw_get(plain.port)
    assert lines[0] == "HTTP/1.1 200 OK"
    assert content_types(lines) == [JSON_TYPE], lines
    assert json.loads(body)["ok"] is True


# ------------------------------------------------------------------ plain ws:// warnings


def test_a_plain_hub_on_the_network_warns_that_secrets_cross_in_clear(tmp_path: Path) -> None:
    with HubProcess(f"sqlite:///{tmp_path / 'lan.db'}", extra=["--host", "0.0.0.0"]) as lan:
        assert lan.ready_line.startswith("onewindow hub listening on ws://0.0.0.0:")
        assert lan.proc is not None and lan.proc.stdout is not None
        warning = lan.proc.stdout.readline()
    assert warning.startswith("warning: plain ws:// on 0.0.0.0")
    assert "tokens" in warning and "PINs" in warning and "clear text" in warning
    assert "--tls-cert FILE --tls-key FILE" in warning


def test_a_plain_hub_on_loopback_says_nothing_more(tmp_path: Path) -> None:
    local = HubProcess(f"sqlite:///{tmp_path / 'local.db'}").start()
    try:
        assert local.ready_line.startswith("onewindow hub listening on ws://127.0.0.1:")
        assert local.stop() == 0
        assert local.proc is not None and local.proc.stdout is not None
        assert local.proc.stdout.read() == ""
    finally:
        local.kill()


# ------------------------------------------------------------------ client-side checks


@pytest.mark.parametrize(("url", "secure"), [
    ("wss://hub.hall.lan:8765", True),
    ("wss://192.168.10.5:8765", True),
    ("ws://127.0.0.1:8765", False),
    ("ws://localhost:8765", False),
    ("ws://[::1]:8765", False),
])
def test_accepted_hub_urls(url: str, secure: bool) -> None:
    assert check_server(url) is secure


@pytest.mark.parametrize(("url", "problem"), [
    ("127.0.0.1:8765", "expected ws://HOST:PORT or wss://HOST:PORT"),
    ("http://hub:8765", "expected ws://HOST:PORT or wss://HOST:PORT"),
    ("wss://:8765", "expected ws://HOST:PORT or wss://HOST:PORT"),
    ("wss://hub:port", "expected ws://HOST:PORT or wss://HOST:PORT"),
    ("ws://192.168.10.5:8765", "plain ws:// to 192.168.10.5"),
    ("ws://hub.hall.lan:8765", "use wss://hub.hall.lan:8765 and --ca FILE"),
])
def test_refused_hub_urls(url: str, problem: str) -> None:
    with pytest.raises(ConnectionSettingsError, match=problem.replace("?", r"\?")):
        HubClient(url, "display", "D-B", "t")
    with pytest.raises(ConnectionSettingsError) as refused:
        check_server(url)
    assert refused.value.line().startswith(f"--server {url}: ")


def test_an_unusable_ca_file_is_named(tmp_path: Path, certs: Certs) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for ca, problem in ((tmp_path / "none.pem", "cannot read it"),
                        (junk, "no PEM certificate in it")):
        with pytest.raises(ConnectionSettingsError) as refused:
            client_context("wss://127.0.0.1:1", str(ca))
        assert refused.value.line().startswith(f"--ca {ca}: {problem}")
    assert client_context("wss://127.0.0.1:1", str(certs.ca)) is not None
    assert client_context("ws://127.0.0.1:1", str(certs.ca)) is None


# ------------------------------------------------------------------ the apps over wss://


def app(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_the_evaluator_reaches_the_hub_over_wss(hub: HubProcess, certs: Certs,
                                                tmp_path: Path) -> None:
    done = app("evaluator", "--window", "B02", "--server", hub.url, "--ca", str(certs.ca),
               "--device", "E-B02", "--token", sample_token("E-B02"),
               "--screenshot", str(tmp_path / "ev"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.glob("ev-*.png"))
    assert "E-B02" in connected_devices(hub)


def test_the_display_reaches_the_hub_over_wss(hub: HubProcess, certs: Certs,
                                              tmp_path: Path) -> None:
    done = app("display", "--server", hub.url, "--ca", str(certs.ca), "--device", "D-A",
               "--token", sample_token("D-A"), "--layout", "portrait",
               "--screenshot", str(tmp_path / "wall.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "wall.png").stat().st_size > 5000
    assert "D-A" in connected_devices(hub)


def test_the_kiosk_reaches_the_hub_over_wss(hub: HubProcess, certs: Certs,
                                            tmp_path: Path) -> None:
    done = app("kiosk", "--server", hub.url, "--ca", str(certs.ca), "--device", "K-B2",
               "--token", sample_token("K-B2"), "--printer", "virtual://tls-test",
               "--screenshot", str(tmp_path / "kiosk"), timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.glob("kiosk-*.png"))
    assert "K-B2" in connected_devices(hub)

