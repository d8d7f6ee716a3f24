"""Printing as found in use (issue 16): raster mode prints what its font has, a file
printer is never truncated by a status question, names are one line, the wait is
never split from its unit, big lines are big both ways, print-sample prints any
queue of any hall, and usb:// printers have their backend."""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from printers.elements import TextLine, display_width, paper_columns, text_of
from printers.escpos_decode import decode
from printers.layout import compose, encode_native, wrap
from printers.raster import render_ticket
from printers.samples import sample_slip
from printers.slip import wait_text
from printers.template import load_template

ROOT = Path(__file__).resolve().parent.parent
RARE = "㐀𬌗"        # CJK extension A and E: not in GBK, but in Noto Sans Mono CJK


@pytest.fixture(scope="module")
def template():
    return load_template()


def _run(*argv: str) -> int:
    from printers.cli import register

    parser = argparse.ArgumentParser(prog="onewindow")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def _rare(template):
    slip = sample_slip(template=template)
    return dataclasses.replace(slip, hall_name=f"开阳县{RARE}政务服务中心")


def test_raster_prints_characters_its_font_has(template) -> None:
    slip = _rare(template)
    boxed = dataclasses.replace(slip, hall_name="开阳县□□政务服务中心")
    assert render_ticket(slip, template, 80).tobytes() != \
        render_ticket(boxed, template, 80).tobytes()
    assert RARE in text_of(compose(slip, template, 80, "raster"))
    # a character the font lacks is still a box, never the font's blank .notdef
    emoji = dataclasses.replace(slip, hall_name="开阳县😀中心")
    assert "开阳县□中心" in text_of(compose(emoji, template, 80, "raster"))


def test_native_mode_still_boxes_what_gbk_cannot_say(template) -> None:
    data = encode_native(compose(_rare(template), template, 80, "native"), 80)
    assert "开阳县□□政务服务中心" in text_of(decode(data))


def test_printer_status_of_a_file_leaves_the_file_alone(tmp_path, capsys) -> None:
    ticket = tmp_path / "x.bin"
    ticket.write_bytes(b"a ticket captured earlier")
    assert _run("printer-status", "--printer", f"file://{ticket}") == 1   # no status
    assert ticket.read_bytes() == b"a ticket captured earlier"
    assert "file:// cannot answer status" in capsys.readouterr().out


def test_a_hall_name_with_a_line_break_is_refused_in_one_line(tmp_path) -> None:
    text = (ROOT / "assets/halls/sample.toml").read_text(encoding="utf-8")
    name = tomllib.loads(text)["hall"]["name"]
    hall = tmp_path / "hall.toml"
    hall.write_text(text.replace(f'name = "{name}"', f'name = "{name[:3]}\\n{name[3:]}"', 1),
                    encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "dispatcher.cli", "check", "--hall", str(hall)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert run.returncode != 0, run.stdout
    err = run.stderr.strip()
    assert "\n" not in err and "hall.name" in err and "one line" in err, err


@pytest.mark.parametrize("width", [58, 80])
def test_the_wait_never_leaves_a_unit_alone(template, width: int) -> None:
    """Each of 约 1 小时 20 分钟 and about 1 h 20 min stays whole on one line."""
    slip = sample_slip(template=template)
    seen = set()
    for minutes in range(0, 300, 1):
        zh, en = wait_text(minutes * 60.0)
        if (zh, en) in seen:
            continue
        seen.add((zh, en))
        lines = [e.text.strip() for e in compose(
            dataclasses.replace(slip, expected_wait_s=minutes * 60.0), template, width)
            if isinstance(e, TextLine)]
        for part in (zh, en):
            assert any(part in line for line in lines), (part, lines)
        for unit in ("min", "h", "分钟", "小时"):
            assert unit not in lines


def test_wrap_keeps_a_number_with_its_unit() -> None:
    assert wrap("about 1 h 20 min", 15) == ["about 1 h", "20 min"]
    assert wrap("约 1 小时 20 分钟", 14) == ["约 1 小时", "20 分钟"]
    assert all(display_width(li) <= 12 for li in wrap("about 1 h 20 min", 12))


@pytest.mark.parametrize("width", [58, 80])
@pytest.mark.parametrize("cls", ["normal", "green"])
def test_big_lines_are_as_wide_as_they_are_tall(template, width: int, cls: str) -> None:
    """Double height at normal width (tall, narrow) is what an OCR misreads: every run is
    magnified the same both ways, and the hall, zone · queue and number lines stay big
    where they fit."""
    for e in compose(sample_slip(cls, template), template, width):
        if isinstance(e, TextLine):
            assert all(r.width == r.height for r in e.runs), e
            assert e.columns <= paper_columns(width)
    lines = {e.text.strip(): e for e in compose(sample_slip(template=template), template, 80)
             if isinstance(e, TextLine)}
    assert lines["开阳县政务服务中心"].height == 2                 # 36 columns of 48: fits
    assert lines["B017"].height == 6


def test_print_sample_prints_a_unit_queue_of_another_hall(tmp_path) -> None:
    from printers.sim import virtual_printer

    text = (ROOT / "assets/halls/sample.toml").read_text(encoding="utf-8")
    name = tomllib.loads(text)["hall"]["name"]
    hall = tmp_path / "other.toml"
    hall.write_text(text.replace(f'name = "{name}"', 'name = "修文县政务服务中心"', 1),
                    encoding="utf-8")
    assert _run("print-sample", "--printer", "virtual://other-hall", "--hall", str(hall),
                "--queue", "housing_fund", "--zone", "A") == 0
    printed = text_of(virtual_printer("other-hall").tickets[-1].elements)
    assert "修文县政务服务中心" in printed
    assert "法人综合服务区 · 住房公积金" in printed
    assert re.search(r"^Z017$", printed, re.M)
    assert _run("print-sample", "--printer", "virtual://other-hall", "--queue", "nope") == 2


def test_usb_printers_have_their_backend() -> None:
    """pyusb is a dependency (the sample kiosk prints to usb://): the backend imports and
    an absent printer is 'no USB device', never 'needs pyusb'."""
    import usb.core  # noqa: F401
    from escpos.printer.usb import is_usable

    from printers import Printer

    assert is_usable()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"pyusb\b", d) for d in deps)
    detail = Printer("usb://0416:5011").status().detail
    assert "needs pyusb" not in detail
    assert "no USB device 0416:5011" in detail, detail   # libusb: the Makefile installs it


def test_the_makefile_installs_libxcb_cursor() -> None:
    """Qt's xcb platform (a real screen) aborts without libxcb-cursor0."""
    make = (ROOT / "Makefile").read_text()
    packages = re.search(r"DEB_PACKAGES :=((?:.*\\\n)*.*)", make)[1]
    assert "libxcb-cursor0" in packages.split()
