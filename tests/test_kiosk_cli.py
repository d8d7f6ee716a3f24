"""`onewindow kiosk` argument parsing (kiosk/cli.py); the screen itself is tested in
tests/test_kiosk.py."""

from __future__ import annotations

import argparse

import pytest

from kiosk.cli import register


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="onewindow")
    register(p.add_subparsers(dest="command"))
    return p


def test_kiosk_subcommand_parses() -> None:
    args = parser().parse_args(["kiosk", "--server", "ws://hub:8765", "--device", "K-B1",
                                "--token", "t", "--printer", "virtual://k",
                                "--screenshot", "docs/images/kiosk"])
    assert (args.server, args.device, args.token, args.printer) == (
        "ws://hub:8765", "K-B1", "t", "virtual://k")
    assert (args.width, args.mode, args.screenshot) == (80, "native", "docs/images/kiosk")
    assert callable(args.handler)


def test_kiosk_needs_server_device_and_printer() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["kiosk", "--device", "K-B1"])


def test_a_bad_printer_url_fails_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["kiosk", "--server", "ws://127.0.0.1:1", "--device", "K-B1",
                                "--printer", "nonsense://x"])
    assert args.handler(args) == 2
    assert "error:" in capsys.readouterr().err
