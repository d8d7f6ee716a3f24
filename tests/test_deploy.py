"""The files in deploy/ are checked by doing what an IT officer does with them.

Every systemd unit passes `systemd-analyze verify` (with no warning at all), with the
installed paths pointed at this checkout's `onewindow` and a stand-in for cage; every
command line in deploy/ (systemd units, the Windows task and startup file) parses with
`onewindow`'s own parser and names the hub as the apps accept it; the hub's unit,
its paths swapped for a test folder, really starts, serves wss:// and answers
/healthz, and the backup unit's command then backs its store up. The users and
folders files go through systemd-sysusers and systemd-tmpfiles into a scratch root.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import sqlite3
import ssl
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from certs import make_certs
from hub_process import ROOT, SAMPLE_CLERKS, SAMPLE_DEVICES

from dispatcher.cli import build_parser
from dispatcher.client.tls import check_server
from dispatcher.hall import SAMPLE_HALL
from dispatcher.store import SCHEMA_VERSION
from kiosk.config import load_config

DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service")) + sorted(
    (DEPLOY / "systemd").glob("*.timer"))
USER_UNITS = sorted((DEPLOY / "systemd" / "user").glob("*.service"))
INSTALLED = "/opt/onewindow/venv/bin/onewindow"
ONEWINDOW = Path(sys.executable).with_name("onewindow")   # this checkout's, in the venv
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
INSTANCE = "B03"   # the instance of a template unit (onewindow-evaluator@B03)


def instance_name(unit: Path) -> str:
    return unit.name.replace("@.", f"@{INSTANCE}.")


def service_lines(unit: Path) -> dict[str, list[str]]:
    """Key → values of a unit file, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", unit.read_text())
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def specifiers(value: str) -> str:
    """What systemd hands the command: %i the instance, %h the home, %% a percent."""
    return value.replace("%i", INSTANCE).replace("%h", "/home/clerk").replace("%%", "%")


def onewindow_args(words: list[str]) -> list[str]:
    """The arguments after the onewindow program in a command line (after cage --)."""
    for i, word in enumerate(words):
        if re.search(r"(^|[/\\])onewindow(\.exe)?$", word.strip('"')):
            return words[i + 1:]
    raise AssertionError(f"no onewindow program in {words}")


def command_lines() -> Iterator[tuple[str, list[str]]]:
    """(where, arguments of onewindow) of every command line in deploy/."""
    for unit in [*UNITS, *USER_UNITS]:
        for value in service_lines(unit).get("ExecStart", []):
            if "onewindow" in value:
                yield unit.name, onewindow_args(shlex.split(specifiers(value)))
    task = ET.parse(DEPLOY / "windows" / "onewindow-kiosk.xml").getroot()
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    for action in task.iterfind(".//t:Exec", ns):
        command = action.findtext("t:Command", namespaces=ns)
        assert command and command.endswith("\\onewindow.exe"), command
        yield "onewindow-kiosk.xml", action.findtext("t:Arguments", namespaces=ns).split()
    cmd = (DEPLOY / "windows" / "onewindow-screen.cmd").read_bytes().decode()
    values = dict(re.findall(r"^set (\w+)=(.*)$", cmd, re.M))
    for line in re.findall(r'^(?:rem )?"%ONEWINDOW%" (.*)$', cmd, re.M):
        line = re.sub(r"%(\w+)%", lambda m: values[m.group(1)], line)
        yield "onewindow-screen.cmd", line.split()


COMMANDS = list(command_lines())


# ------------------------------------------------------------------ systemd-analyze

@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The units as installed here: onewindow from this venv, cage a stand-in."""
    folder = tmp_path_factory.mktemp("units")
    cage = folder / "cage"
    cage.write_text("#!/bin/sh\nexec \"$@\"\n")
    cage.chmod(0o755)
    for unit in [*UNITS, *USER_UNITS]:
        text = unit.read_text().replace(INSTALLED, str(ONEWINDOW))
        (folder / instance_name(unit)).write_text(text.replace("/usr/bin/cage", str(cage)))
    return folder


def verify(*args: str, runtime: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``runtime``: the XDG_RUNTIME_DIR a --user check needs (no session here)."""
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)} if runtime else None
    return subprocess.run([SYSTEMD_ANALYZE, *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("unit", [u.name for u in UNITS])
def test_each_unit_passes_systemd_analyze_verify(installed: Path, unit: str) -> None:
    assert ONEWINDOW.is_file()
    done = verify("verify", "--man=no", str(installed / instance_name(Path(unit))))
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


@pytest.mark.parametrize("unit", [u.name for u in USER_UNITS])
def test_each_user_unit_passes_systemd_analyze_verify(installed: Path, unit: str) -> None:
    done = verify("--user", "verify", "--man=no", str(installed / instance_name(Path(unit))),
                  runtime=installed)
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


def test_verify_would_see_a_broken_unit(installed: Path, tmp_path: Path) -> None:
    """The check above can fail: a misspelt key, a missing program."""
    broken = tmp_path / "onewindow-hub.service"
    text = (installed / "onewindow-hub.service").read_text()
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSytem=strict"))
    assert "Unknown key" in verify("verify", "--man=no", str(broken)).stderr
    broken.write_text(text.replace(str(ONEWINDOW), "/nowhere/onewindow"))
    assert verify("verify", "--man=no", str(broken)).returncode != 0


HARDENED = ["onewindow-hub.service", "onewindow-backup.service",
            "onewindow-led-bridge.service", "onewindow-keypad-bridge.service"]


@pytest.mark.parametrize("unit", HARDENED)
def test_the_services_without_a_screen_are_hardened(installed: Path, unit: str) -> None:
    """systemd's own exposure score (0 safe … 10 unsafe): 'OK' or better."""
    done = verify("security", "--offline=true", "--no-pager", str(installed / unit))
    score = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", done.stdout)
    assert score and float(score[1]) <= 2.0, done.stdout[-2000:]


def test_the_timer_runs_the_backup_in_opening_hours_and_at_night() -> None:
    timer = service_lines(DEPLOY / "systemd" / "onewindow-backup.timer")
    assert timer["Unit"] == ["onewindow-backup.service"] and timer["Persistent"] == ["yes"]
    for calendar in timer["OnCalendar"]:
        done = verify("calendar", calendar)
        assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------ command lines

@pytest.mark.parametrize(("where", "args"), COMMANDS,
                         ids=[f"{w}:{a[0]}" for w, a in COMMANDS])
def test_every_command_line_parses(where: str, args: list[str]) -> None:
    try:
        parsed = build_parser().parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"{where}: onewindow {' '.join(args)}: exit {exc.code}")
    server = getattr(parsed, "server", None)
    if server is not None:
        assert check_server(server), f"{where}: the hub over wss:// across the LAN"
        assert parsed.ca, f"{where}: --ca, the hall's CA, with wss://"


def test_the_command_lines_cover_every_app() -> None:
    used = {args[0] for _, args in COMMANDS}
    assert used >= {"serve", "backup", "kiosk", "display", "evaluator", "caller", "console",
                    "led-bridge", "keypad-bridge"}


def test_the_hub_unit_serves_the_lan_with_tls_from_its_state_directory() -> None:
    hub = service_lines(DEPLOY / "systemd" / "onewindow-hub.service")
    backup = service_lines(DEPLOY / "systemd" / "onewindow-backup.service")
    serve = build_parser().parse_args(onewindow_args(shlex.split(hub["ExecStart"][0])))
    saved = build_parser().parse_args(
        onewindow_args(shlex.split(specifiers(backup["ExecStart"][0]))))
    assert hub["User"] == backup["User"] == ["onewindow"]
    assert hub["StateDirectory"] == ["onewindow"] and serve.data == "/var/lib/onewindow"
    assert saved.data == serve.data and serve.db is None   # the backup copies that store
    assert serve.host not in ("127.0.0.1", "localhost") and serve.tls_cert and serve.tls_key
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices"):
        assert hub[key] == ["yes"], key
    assert hub["ProtectSystem"] == ["strict"] and hub["Restart"] == ["on-failure"]
    assert saved.keep and "%" in saved.out
    assert backup["ReadWritePaths"] == [str(Path(saved.out).parent)]


# ------------------------------------------------------------------ doing it

def test_the_hub_unit_command_runs_and_the_backup_unit_command_backs_it_up(
        tmp_path: Path) -> None:
    """The two units' command lines, with /etc/onewindow, the data folder and the LAN
    address swapped for this test's: the hub starts, serves wss:// and /healthz; the
    backup's command writes a dated backup of its live store."""
    certs = make_certs(tmp_path / "tls")
    swap = {"/etc/onewindow/hall.toml": str(SAMPLE_HALL),
            "/etc/onewindow/devices.toml": str(SAMPLE_DEVICES),
            "/etc/onewindow/clerks.toml": str(SAMPLE_CLERKS),
            "/etc/onewindow/tls/hub.crt": str(certs.cert),
            "/etc/onewindow/tls/hub.key": str(certs.key),
            "/var/lib/onewindow": str(tmp_path / "data"),
            "/var/backups/onewindow": str(tmp_path / "backups")}

    def command(unit: str) -> list[str]:
        value = specifiers(service_lines(DEPLOY / "systemd" / unit)["ExecStart"][0])
        args = onewindow_args(shlex.split(value))
        args = [swap.get(a, a) for a in args]
        return [a.replace("/var/backups/onewindow", swap["/var/backups/onewindow"])
                for a in args]

    serve = command("onewindow-hub.service")
    serve[serve.index("--host") + 1] = "127.0.0.1"
    serve[serve.index("--port") + 1] = "0"
    hub = subprocess.Popen([str(ONEWINDOW), *serve], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = hub.stdout.readline() if hub.stdout else ""
        port = re.search(r"listening on wss://[^:]+:(\d+)", line)
        assert port, (line, hub.stderr.read() if hub.stderr else "")
        context = ssl.create_default_context(cafile=str(certs.ca))
        import json
        import urllib.request

        with urllib.request.urlopen(f"https://127.0.0.1:{port.group(1)}/healthz",
                                    context=context, timeout=10) as answer:
            assert json.loads(answer.read())["ok"] is True
        done = subprocess.run([str(ONEWINDOW), *command("onewindow-backup.service")],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    finally:
        hub.terminate()
        hub.wait(20)
    made = list((tmp_path / "backups").glob("hall-*.db"))
    assert len(made) == 1 and re.fullmatch(r"hall-\d{8}-\d{4}\.db", made[0].name)
    with closing(sqlite3.connect(made[0])) as conn:
        assert conn.execute("SELECT version FROM onewindow_schema").fetchall() == \
            [(SCHEMA_VERSION,)]


# ------------------------------------------------------------------ the other files

def test_sysusers_and_tmpfiles_make_the_users_and_folders(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", root / "etc" / name)
    users = subprocess.run(["systemd-sysusers", f"--root={root}",
                            str(DEPLOY / "sysusers.d" / "onewindow.conf")],
                           capture_output=True, text=True, timeout=60)
    assert users.returncode == 0, users.stderr
    passwd = {line.split(":")[0]: line.split(":") for line in
              (root / "etc" / "passwd").read_text().splitlines()}
    for user in ("onewindow", "onewindow-bridge", "onewindow-screen"):
        assert passwd[user][6].endswith("nologin"), passwd[user]
    groups = {line.split(":")[0]: line.split(":")[3].split(",") for line in
              (root / "etc" / "group").read_text().splitlines()}
    assert "onewindow-bridge" in groups["dialout"] and "onewindow-screen" in groups["lp"]
    folders = subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create",
                              str(DEPLOY / "tmpfiles.d" / "onewindow.conf")],
                             capture_output=True, text=True, timeout=60)
    assert folders.returncode == 0 and folders.stderr == "", folders.stderr
    backups = root / "var" / "backups" / "onewindow"
    assert backups.is_dir() and backups.stat().st_mode & 0o777 == 0o750
    assert backups.stat().st_uid == int(passwd["onewindow"][2])
    screen_home = root / passwd["onewindow-screen"][5].lstrip("/")
    assert screen_home.is_dir()   # Qt's and fontconfig's caches
    assert screen_home.stat().st_uid == int(passwd["onewindow-screen"][2])


RULE = re.compile(r'\s*(?P<key>[A-Z_]+)(\{(?P<attr>[^}]+)\})?\s*(?P<op>==|!=|\+=|:=|=)\s*'
                  r'"(?P<value>[^"]*)"\s*(,|$)')
MATCH_KEYS = {"SUBSYSTEM", "ATTRS", "ATTR", "ENV", "KERNEL", "ACTION", "DRIVERS"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "TAG", "ENV", "OWNER"}


@pytest.mark.parametrize("rules", sorted(p.name for p in (DEPLOY / "udev").glob("*.rules")))
def test_udev_rules_are_well_formed(rules: str) -> None:
    """Each rule (the commented examples too) is a list of KEY op "value" pairs."""
    lines = (DEPLOY / "udev" / rules).read_text().splitlines()
    found = [line.lstrip("#") for line in lines if re.match(r"#?[A-Z]+[{=!]", line)]
    assert found
    for line in found:
        pairs = list(RULE.finditer(line))
        assert "".join(m.group(0) for m in pairs) == line, line
        for m in pairs:
            keys = MATCH_KEYS if m["op"] in ("==", "!=") else ASSIGN_KEYS
            assert m["key"] in keys, (m["key"], m["op"], line)


def test_the_kiosk_config_and_the_journald_drop_in_load(tmp_path: Path) -> None:
    conf = load_config(DEPLOY / "etc" / "kiosk.toml")
    assert conf.server.startswith("wss://") and conf.ca and conf.device == "K-B1"
    journald = configparser.ConfigParser()
    journald.optionxform = str
    journald.read(DEPLOY / "journald" / "onewindow.conf")
    assert journald["Journal"]["Storage"] == "persistent"
    env = (DEPLOY / "etc" / "screen.env").read_text()
    assert re.search(r"^ONEWINDOW_TOKEN=[A-Z_]+$", env, re.M)   # no token shipped
