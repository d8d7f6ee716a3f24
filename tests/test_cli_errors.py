"""Every operator mistake on the `onewindow` command line is one line on stderr that
starts with ``error:`` and names the problem, and exit code 2: never a traceback.
Each case runs the real command in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from certs import Certs, encrypted_copy, make_certs
from hub_process import ROOT, SAMPLE_DEVICES

PG_DOWN = "postgresql+psycopg://postgres@127.0.0.1:1/test"
EXPECTED_URL = "expected ws://HOST:PORT or wss://HOST:PORT"


@dataclass(frozen=True)
class Spot:
    """What the cases point at: a folder, a file in the way, a busy port, certificates."""

    tmp: Path
    a_file: Path
    busy_port: int
    certs: Certs
    other: Certs
    encrypted_key: Path
    arrivals: Path

    def serve(self, *args: str) -> list[str]:
        return ["serve", "--devices", str(SAMPLE_DEVICES), "--data", str(self.tmp / "data"),
                *args]


@pytest.fixture(scope="module")
def spot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spot]:
    tmp = tmp_path_factory.mktemp("cli-errors")
    a_file = tmp / "a-file"
    a_file.write_text("not a folder\n")
    arrivals = tmp / "arrivals.csv"
    made = cli("simulate", "--generate", "--tickets", "30", "--out", str(arrivals))
    assert made.returncode == 0, made.stderr
    certs, other = make_certs(tmp / "certs"), make_certs(tmp / "certs", "other")
    encrypted = encrypted_copy(certs.key, tmp / "certs" / "encrypted.key")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield Spot(tmp, a_file, busy.getsockname()[1], certs, other, encrypted, arrivals)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


Case = Callable[[Spot], list[str]]

CASES: dict[str, tuple[Case, str]] = {
    # serve: no published secret by default
    "serve: no --devices": (
        lambda s: ["serve", "--data", str(s.tmp / "data")],
        "serve needs --devices FILE, the hall's devices and their token hashes; make each "
        "device's line with: onewindow token --device ID"),
    "serve: --clerks missing": (
        lambda s: s.serve("--clerks", str(s.tmp / "no-clerks.toml")),
        "{tmp}/no-clerks.toml: -: cannot read the file: No such file or directory"),
    "serve: --clerks not TOML": (
        lambda s: s.serve("--clerks", str(s.a_file)), "{file}: -: not valid TOML"),
    # serve: the store, the address, the certificate
    "serve: port in use": (
        lambda s: s.serve("--port", str(s.busy_port)),
        "--port {port}: already in use on 127.0.0.1"),
    "serve: --db nonsense": (
        lambda s: s.serve("--db", "nonsense"), "database nonsense: not a database URL"),
    "serve: --db unknown kind": (
        lambda s: s.serve("--db", "nosql://hub/hall"), "unknown database kind 'nosql'"),
    "serve: --db driver not installed": (
        lambda s: s.serve("--db", "mysql://hub/hall"), "the driver for 'mysql' is not installed"),
    "serve: PostgreSQL unreachable": (
        lambda s: s.serve("--db", PG_DOWN),
        f"database {PG_DOWN}: cannot open it: connection failed"),
    "serve: --data under a file": (
        lambda s: s.serve("--data", str(s.a_file / "data")),
        "--data {file}/data: cannot create the folder: Not a directory"),
    "serve: --data is a file": (
        lambda s: s.serve("--data", str(s.a_file)),
        "--data {file}: a file is in the way, not a folder"),
    "serve: --data in /proc": (
        lambda s: s.serve("--data", "/proc/x"), "--data /proc/x: cannot create the folder"),
    "serve: --host 999.1.1.1": (
        lambda s: s.serve("--host", "999.1.1.1", "--port", "0"),
        "--host 999.1.1.1: not an address or a name of this machine"),
    "serve: --port -1": (
        lambda s: s.serve("--port", "-1"), "argument --port: '-1': expected a port number"),
    "serve: --port 70000": (
        lambda s: s.serve("--port", "70000"),
        "argument --port: '70000': expected a port number from 0 to 65535"),
    "serve: --speed -2": (
        lambda s: s.serve("--speed", "-2"), "argument --speed: '-2': expected a number"),
    "serve: --rate-limit fast": (
        lambda s: s.serve("--rate-limit", "fast"), "argument --rate-limit: 'fast'"),
    "serve: --start-at nonsense": (
        lambda s: s.serve("--start-at", "tomorrow"), "--start-at 'tomorrow': expected a time"),
    "serve: unknown flag": (
        lambda s: s.serve("--bogus"), "unrecognized arguments: --bogus"),
    "serve: --tls-cert without --tls-key": (
        lambda s: s.serve("--tls-cert", str(s.certs.cert)),
        "--tls-cert and --tls-key go together"),
    "serve: missing certificate": (
        lambda s: s.serve("--tls-cert", str(s.tmp / "none.pem"), "--tls-key", str(s.certs.key)),
        "--tls-cert {tmp}/none.pem: cannot read it: No such file or directory"),
    "serve: missing key": (
        lambda s: s.serve("--tls-cert", str(s.certs.cert), "--tls-key", str(s.tmp / "no.key")),
        "--tls-key {tmp}/no.key: cannot read it: No such file or directory"),
    "serve: key of another certificate": (
        lambda s: s.serve("--tls-cert", str(s.certs.cert), "--tls-key", str(s.other.key)),
        "--tls-key {other_key} does not belong to --tls-cert {cert}"),
    "serve: a key given as the certificate": (
        lambda s: s.serve("--tls-cert", str(s.certs.key), "--tls-key", str(s.certs.key)),
        "--tls-cert {key}: no PEM certificate in it"),
    "serve: a certificate given as the key": (
        lambda s: s.serve("--tls-cert", str(s.certs.cert), "--tls-key", str(s.certs.cert)),
        "--tls-key {cert}: no PEM private key in it"),
    "serve: an encrypted key": (
        lambda s: s.serve("--tls-cert", str(s.certs.cert), "--tls-key", str(s.encrypted_key)),
        "--tls-key {encrypted}: the key is encrypted with a passphrase"),
    # the apps: --server must be ws:// or wss://, and plain only to this machine
    "kiosk: --server without ws://": (
        lambda s: ["kiosk", "--server", "127.0.0.1:8765", "--device", "K-B1",
                   "--printer", "virtual://k"],
        f"--server 127.0.0.1:8765: {EXPECTED_URL}"),
    "display: --server without ws://": (
        lambda s: ["display", "--server", "127.0.0.1:8765", "--token", "t"],
        f"--server 127.0.0.1:8765: {EXPECTED_URL}"),
    "evaluator: --timeout nan": (
        lambda s: ["evaluator", "--window", "B03", "--server", "ws://127.0.0.1:1",
                   "--timeout", "nan"],
        "--timeout nan: must be a number of seconds, more than 0"),
    "evaluator: --timeout 0": (
        lambda s: ["evaluator", "--window", "B03", "--server", "ws://127.0.0.1:1",
                   "--timeout", "0"],
        "--timeout 0.0: must be a number of seconds, more than 0"),
    "evaluator: --server without ws://": (
        lambda s: ["evaluator", "--window", "B03", "--server", "127.0.0.1:8765"],
        f"--server 127.0.0.1:8765: {EXPECTED_URL}"),
    "caller: --server without ws://": (
        lambda s: ["caller", "--window", "B03", "--server", "127.0.0.1:8765"],
        f"--server 127.0.0.1:8765: {EXPECTED_URL}"),
    "led-bridge: --server without ws://": (
        lambda s: ["led-bridge", "--port", "/dev/null", "--map", "B01=1", "--token", "t",
                   "--server", "127.0.0.1:8765"],
        f"--server 127.0.0.1:8765: {EXPECTED_URL}"),
    "keypad-bridge: --server without ws://": (
        lambda s: ["keypad-bridge", "--port", "/dev/null", "--map", "1=B03:t",
                   "--server", "127.0.0.1:8765"],
        f"--server 127.0.0.1:8765: {EXPECTED_URL}"),
    "display: --server http://": (
        lambda s: ["display", "--server", "http://hub:8765", "--token", "t"],
        f"--server http://hub:8765: {EXPECTED_URL}"),
    "kiosk: plain ws:// across the LAN": (
        lambda s: ["kiosk", "--server", "ws://192.168.10.5:8765", "--device", "K-B1",
                   "--printer", "virtual://k"],
        "--server ws://192.168.10.5:8765: plain ws:// to 192.168.10.5"),
    "evaluator: plain ws:// across the LAN": (
        lambda s: ["evaluator", "--window", "B03", "--server", "ws://hub.hall.lan:8765"],
        "use wss://hub.hall.lan:8765 and --ca FILE"),
    "led-bridge: plain ws:// across the LAN": (
        lambda s: ["led-bridge", "--port", "/dev/null", "--map", "B01=1", "--token", "t",
                   "--server", "ws://10.0.0.2:8765"],
        "--server ws://10.0.0.2:8765: plain ws:// to 10.0.0.2"),
    "display: --ca missing": (
        lambda s: ["display", "--server", "wss://hub:8765", "--token", "t",
                   "--ca", str(s.tmp / "none.pem")],
        "--ca {tmp}/none.pem: cannot read it"),
    "caller: --ca not a certificate": (
        lambda s: ["caller", "--window", "B03", "--server", "wss://hub:8765",
                   "--ca", str(s.a_file)],
        "--ca {file}: no PEM certificate in it"),
    # simulate
    "simulate: --day 23/11/2026": (
        lambda s: ["simulate", "--arrivals", str(s.arrivals), "--day", "23/11/2026"],
        "--day 23/11/2026: expected a date like 2026-11-23"),
    "simulate: --day on a Sunday": (
        lambda s: ["simulate", "--arrivals", str(s.arrivals), "--day", "2026-11-22"],
        "--day 2026-11-22: the hall is closed on that day (Sunday)"),
    "simulate: --no-show abc": (
        lambda s: ["simulate", "--arrivals", str(s.arrivals), "--no-show", "abc"],
        "argument --no-show: 'abc': expected [QUEUE=]P"),
    "simulate: --no-show above 1": (
        lambda s: ["simulate", "--arrivals", str(s.arrivals), "--no-show", "Z=2"],
        "argument --no-show: 'Z=2'"),
    "simulate: --rebalance-minutes 0": (
        lambda s: ["simulate", "--arrivals", str(s.arrivals), "--policy", "balanced",
                   "--rebalance-minutes", "0"],
        "argument --rebalance-minutes: '0': expected a number, more than 0"),
    "simulate: --generate --tickets -5": (
        lambda s: ["simulate", "--generate", "--tickets", "-5"],
        "argument --tickets: '-5': expected a whole number, 1 or more"),
    "simulate: --generate --out unwritable": (
        lambda s: ["simulate", "--generate", "--tickets", "5", "--out", "/proc/x/a.csv"],
        "--out /proc/x/a.csv: cannot write it"),
    # demo
    "demo: --speed -1": (
        lambda s: ["demo", "--speed", "-1"], "argument --speed: '-1': expected a number"),
    "demo: --minutes -5": (
        lambda s: ["demo", "--minutes", "-5"],
        "argument --minutes: '-5': expected a number, more than 0"),
    "demo: --load -1": (
        lambda s: ["demo", "--load", "-1"],
        "argument --load: '-1': expected a number, more than 0"),
    "demo: --speed nan": (
        lambda s: ["demo", "--speed", "nan"], "argument --speed: 'nan'"),
    "demo: --db nonsense": (
        lambda s: ["demo", "--db", "nonsense"], "database nonsense: not a database URL"),
    "demo: --data under a file": (
        lambda s: ["demo", "--data", str(s.a_file / "d")], "--data {file}/d: cannot create"),
    # printers
    "printer-sim: --port 70000": (
        lambda s: ["printer-sim", "--port", "70000", "--out", str(s.tmp / "sim")],
        "cannot listen on 127.0.0.1:70000"),
    "printer-sim: --out under a file": (
        lambda s: ["printer-sim", "--port", "0", "--out", str(s.a_file / "sim")],
        "--out {file}/sim: cannot create the folder"),
    "render-ticket: --out unwritable": (
        lambda s: ["render-ticket", "--out", "/proc/x/t.png"], "--out /proc/x/t.png"),
    "render-ticket: --out of no image kind": (
        lambda s: ["render-ticket", "--out", str(s.tmp / "t.foo")], "unknown file extension"),
    # backup, restore: the SQLite store
    "backup: a PostgreSQL --db": (
        lambda s: ["backup", "--db", "postgresql+psycopg://hub:pw@db/hall", "--out",
                   str(s.tmp / "b.db")],
        "--db postgresql+psycopg://hub:***@db/hall: onewindow backup handles the SQLite "
        "store only; for PostgreSQL use pg_dump"),
    "backup: --out exists": (
        lambda s: ["backup", "--data", str(s.tmp), "--out", str(s.a_file)],
        "--out {file}: the file exists; give --force to replace it"),
    "backup: --out under a file": (
        lambda s: ["backup", "--data", str(s.tmp), "--out", str(s.a_file / "b.db")],
        "--out {file}: a file is in the way, not a folder"),
    "backup: no store in --data": (
        lambda s: ["backup", "--data", str(s.tmp / "none"), "--out", str(s.tmp / "b.db")],
        "store {tmp}/none/hall.db: no such file"),
    "backup: --keep without a date": (
        lambda s: ["backup", "--out", str(s.tmp / "b.db"), "--keep", "3"],
        "--keep 3: needs a dated --out"),
    "backup: --db and --data": (
        lambda s: ["backup", "--db", "sqlite:///x.db", "--data", "d", "--out", "b.db"],
        "argument --data: not allowed with argument --db"),
    "restore: --from not SQLite": (
        lambda s: ["restore", "--from", str(s.a_file), "--data", str(s.tmp / "r")],
        "--from {file}: not a SQLite database"),
    "restore: --from missing": (
        lambda s: ["restore", "--from", str(s.tmp / "none.db"), "--data", str(s.tmp / "r")],
        "--from {tmp}/none.db: no such file"),
    "restore: a PostgreSQL --db": (
        lambda s: ["restore", "--from", str(s.a_file), "--db", "postgresql://db/hall"],
        "for PostgreSQL use pg_dump and pg_restore"),
    # the command itself
    "no subcommand": (
        lambda s: [], "the following arguments are required: COMMAND"),
    "unknown subcommand": (
        lambda s: ["sevre"], "argument COMMAND: invalid choice: 'sevre'"),
}


def expected(template: str, spot: Spot) -> str:
    return template.format(port=spot.busy_port, file=spot.a_file, tmp=spot.tmp,
                           cert=spot.certs.cert, key=spot.certs.key,
                           other_key=spot.other.key, encrypted=spot.encrypted_key)


@pytest.mark.parametrize("name", list(CASES))
def test_a_mistake_is_one_line_and_exit_2(spot: Spot, name: str) -> None:
    make_args, problem = CASES[name]
    done = cli(*make_args(spot))
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines
    assert expected(problem, spot) in lines[0], lines[0]


def test_a_reader_that_goes_away_is_no_traceback() -> None:
    """`onewindow protocol-schema | head -1`: the pipe's reader has gone before the
    schema is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "dispatcher.cli", "protocol-schema"],
                              cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode in (0, 141)


def test_the_schema_still_prints_whole_to_a_reader_that_stays() -> None:
    done = cli("protocol-schema")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("{") and done.stdout.rstrip().endswith("}")
