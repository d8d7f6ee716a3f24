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
    assert args.screenshot == "docs/images/kiosk"
    assert callable(args.handler)
    from kiosk.cli import settings

    conf = settings(args)                          # no config file: the defaults
    assert (conf["width"], conf["mode"], conf["idle_timeout_s"], conf["large"],
            conf["language"]) == (80, "native", 30.0, False, "zh")


def test_kiosk_needs_server_device_and_printer(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["kiosk", "--device", "K-B1"])
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert "--server, --printer: required" in err and "--config" in err


def test_a_bad_printer_url_fails_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["kiosk", "--server", "ws://127.0.0.1:1", "--device", "K-B1",
                                "--printer", "nonsense://x"])
    assert args.handler(args) == 2
    assert "error:" in capsys.readouterr().err


EXAMPLE = "assets/kiosks/K-B1.toml"


def test_the_example_config_loads_and_flags_override_it() -> None:
    from kiosk.cli import settings

    args = parser().parse_args(["kiosk", "--config", EXAMPLE])
    conf = settings(args)
    assert (conf["server"], conf["device"], conf["printer"]) == (
        "ws://127.0.0.1:8765", "K-B1", "usb://0416:5011")
    assert (conf["width"], conf["mode"], conf["idle_timeout_s"], conf["large"],
            conf["language"], conf["fullscreen"]) == (80, "native", 30.0, False, "zh", True)
    args = parser().parse_args(["kiosk", "--config", EXAMPLE, "--printer", "virtual://k",
                                "--width", "58", "--large", "--language", "en",
                                "--idle-timeout", "45", "--no-fullscreen"])
    conf = settings(args)
    assert (conf["printer"], conf["width"], conf["mode"], conf["large"], conf["language"],
            conf["idle_timeout_s"], conf["fullscreen"]) == (
        "virtual://k", 58, "native", True, "en", 45.0, False)


@pytest.mark.parametrize(("text", "error"), [
    ('device = "K-B1"\n[printer]\nurl = "virtual://k"\nwidth = 70\n',
     "printer.width: 70 is not one of 58 or 80"),
    ('[printer]\nurl = "virtual://k"\n[screen]\nlangauge = "en"\n',
     "screen.langauge: unknown key"),
    ('[screen]\nidle_timeout_s = 2\n', "screen.idle_timeout_s: must be 5 or more, got 2"),
    ('[screen]\nlarge = "yes"\n', "screen.large: expected true or false, got 'yes'"),
    ('[hours]\ndays = ["mon"]\nperiods = ["09:00-12:00"]\n',
     "hours: unknown key"),          # the hours are the hall file's, sent by the hub
    ('[printer]\nurl = "virtual://k"\ntemplate = "nowhere.toml"\n',
     "printer.template: no template file"),
    ('[printer\nurl = "x"\n', "-: not valid TOML"),
])
def test_a_bad_config_fails_at_start_saying_where(tmp_path, capsys: pytest.CaptureFixture[str],
                                                  text: str, error: str) -> None:
    path = tmp_path / "K-B9.toml"
    path.write_text(text, encoding="utf-8")
    args = parser().parse_args(["kiosk", "--config", str(path), "--server", "ws://h:1",
                                "--device", "K-B1", "--printer", "virtual://k"])
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and error in err, err
    assert err.count("\n") == 1                      # one line


def test_a_missing_config_file_is_named(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["kiosk", "--config", str(tmp_path / "none.toml")])
    assert args.handler(args) == 2
    assert f"{tmp_path / 'none.toml'}: -: file not found" in capsys.readouterr().err


def test_server_device_and_printer_come_from_the_flags_or_the_file(
        capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["kiosk", "--server", "ws://h:1", "--device", "K-B1"])
    assert args.handler(args) == 2
    assert "--printer: required" in capsys.readouterr().err
