"""Provisioning a big hall in one go: `onewindow token --devices FIRST..LAST` writes a
[[devices]] range entry and the installer's token list; a hub started on that file
lets each device in with its own token, and no other."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hub_process import ROOT, HubProcess, RawClient

from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.hub.devices import load_devices

pytestmark = pytest.mark.slow


def token(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", "token", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A devices file of three ranges (40 callers, 3 kiosks, a console) and the tokens."""
    tmp = tmp_path_factory.mktemp("provision")
    batches = [("C-B01..C-B40", "caller", ["--windows", "B01..B40", "--name", "叫号器 {id}"]),
               ("K-B1..K-B3", "kiosk", ["--zone", "B"]),
               ("CONSOLE-1", "console", [])]
    entries, tokens = [], {}
    for i, (ids, role, extra) in enumerate(batches):
        sealed = tmp / f"tokens-{i}.toml"
        made = token("--devices", ids, "--role", role, "--tokens", str(sealed), *extra)
        assert made.returncode == 0, made.stderr
        assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
        entries.append(made.stdout)
        tokens |= tomllib.loads(sealed.read_text(encoding="utf-8"))
    devices = tmp / "devices.toml"
    devices.write_text("\n".join(entries), encoding="utf-8")
    return devices, tokens


def test_the_range_entry_loads_one_device_per_id_with_its_own_token(provisioned) -> None:
    path, tokens = provisioned
    devices = load_devices(path, load_hall(SAMPLE_HALL))
    assert len(devices) == len(tokens) == 44
    c17 = devices["C-B17"]
    assert (c17.role, c17.windows, c17.name) == ("caller", ("B17",), "叫号器 C-B17")
    assert devices["K-B2"].zone == "B" and devices["CONSOLE-1"].role == "console"
    for device_id, secret in tokens.items():
        assert devices[device_id].token_matches(secret)
    assert not devices["C-B17"].token_matches(tokens["C-B18"])
    assert len(set(tokens.values())) == 44      # no two devices share a token


def test_the_token_list_is_never_written_over(provisioned, tmp_path: Path) -> None:
    sealed = tmp_path / "tokens.toml"
    first = token("--devices", "K-A1..K-A2", "--role", "kiosk", "--zone", "A",
                  "--tokens", str(sealed))
    assert first.returncode == 0, first.stderr
    before = sealed.read_bytes()
    again = token("--devices", "K-A1..K-A2", "--role", "kiosk", "--zone", "A",
                  "--tokens", str(sealed))
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "never written over" in again.stderr
    assert sealed.read_bytes() == before


@pytest.mark.parametrize(("args", "says"), [
    (["--devices", "C-B01..C-B40", "--role", "caller", "--windows", "B01..B39"],
     "40 devices but 39 windows"),
    (["--devices", "C-B01..C-B40", "--role", "caller"], "a caller needs --windows"),
    (["--devices", "K-B1..X-B3", "--role", "kiosk"], "share the prefix"),
    (["--devices", "K-B1..K-B3", "--role", "printer"], "--role is needed, one of"),
    (["--devices", "K B1..K B3", "--role", "kiosk"], "no spaces"),
])
def test_a_bad_batch_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str],
                                                     says: str) -> None:
    sealed = tmp_path / "tokens.toml"
    done = token(*args, "--tokens", str(sealed))
    assert done.returncode == 2 and done.stdout == "" and not sealed.exists()
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert says in done.stderr, done.stderr


def test_a_hub_on_the_ranged_file_lets_each_device_in_with_its_own_token(
        provisioned, tmp_path: Path) -> None:
    path, tokens = provisioned
    hub = HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", extra=["--devices", str(path)])
    hub.start()

    async def hellos() -> tuple[dict, dict]:
        own = await RawClient.hello(hub.url, "caller", "C-B17", token=tokens["C-B17"])
        other = await RawClient.hello(hub.url, "caller", "C-B17", token=tokens["C-B18"])
        await own.close()
        await other.close()
        return own.welcome, other.welcome

    try:
        own, other = asyncio.run(hellos())
    finally:
        hub.stop()
    assert own["type"] == "welcome" and own["snapshot"]["my_windows"] == ["B17"]
    assert other["type"] == "error" and other["error"]["code"] == "bad_credentials"
