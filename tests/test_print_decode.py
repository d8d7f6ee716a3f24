"""Sample tickets through the file, virtual and TCP (printer-sim) backends, in both
modes and widths, read back by the decoder: the number, the Chinese names, the QR
payload and the cut must all arrive."""

from __future__ import annotations

import itertools
import json

import pytest
from escpos.printer import Dummy
from PIL import Image

from printers.elements import (
    Cut,
    Feed,
    Picture,
    QRCode,
    TextLine,
    Unknown,
    paper_dots,
    text_of,
)
from printers.escpos_decode import Decoder, decode, render_decoded, stacked_picture, tickets
from printers.layout import compose, encode_native
from printers.printer import Printer
from printers.raster import encode_raster, render_ticket
from printers.samples import sample_slip
from printers.sim import PrinterSim, VirtualPrinter, virtual_printer
from printers.template import load_template

WIDTHS = [58, 80]
MODES = ["native", "raster"]
QR = "https://hall.example/t/x7Qk2mVb9RtL4wNp8sJd3A"   # the sample ticket's status page
_names = itertools.count()


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture(scope="module")
def slips(template):
    return {cls: sample_slip(cls, template) for cls in ("normal", "green")}


def _print_via(backend: str, mode: str, width: int, slip, template, tmp_path):
    """Print one ticket through a backend; return (result, the ticket's elements)."""
    if backend == "file":
        path = tmp_path / "ticket.bin"
        result = Printer(f"file://{path}", width, mode, template).print_ticket(slip)
        found = tickets(decode(path.read_bytes()))
        assert len(found) == 1
        return result, found[0]
    if backend == "virtual":
        name = f"decode-{next(_names)}"
        result = Printer(f"virtual://{name}", width, mode, template).print_ticket(slip)
        printed = virtual_printer(name).tickets
        assert len(printed) == 1 and printed[0].complete
        return result, printed[0].elements
    with PrinterSim(VirtualPrinter(width, out_dir=tmp_path / "sim")) as sim:
        result = Printer(sim.url, width, mode, template).print_ticket(slip)
    assert len(sim.printer.tickets) == 1
    ticket = sim.printer.tickets[0]
    assert ticket.complete and ticket.png is not None and ticket.png.is_file()
    meta = json.loads(ticket.png.with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["cut"] and meta["lines"] == ticket.lines
    return result, ticket.elements


@pytest.mark.parametrize("backend", ["file", "virtual", "tcp"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", WIDTHS)
def test_sample_ticket_arrives_whole(backend, mode, width, slips, template, tmp_path) -> None:
    slip = slips["green"]
    result, elements = _print_via(backend, mode, width, slip, template, tmp_path)
    assert result.ok and result.printed == "yes" and result.error is None
    assert isinstance(elements[-1], Cut) and elements[-1].partial
    assert not [e for e in elements if isinstance(e, Unknown)]
    if mode == "native":
        text = text_of(elements)
        lines = text.splitlines()
        assert "B017" in lines
        assert "开阳县政务服务中心" in lines
        assert "自然人综合服务区 · 马上办" in lines
        assert "绿色通道 Green Channel" in text
        assert any(li.startswith("前面还有") and li.endswith("5 人 / 5 people") for li in lines)
        assert "请留意叫号，过号请到咨询台" in lines
        assert [e.payload for e in elements if isinstance(e, QRCode)] == [QR]
        assert "\ufffd" not in text
        assert text.count("?") == 1 and "Missed your call?" in text  # the notice's own
        picture = render_decoded(elements, paper_dots(width))
    else:
        assert not [e for e in elements if isinstance(e, TextLine)]
        picture = stacked_picture(elements)
        assert picture is not None
    # the paper is as wide as the printer's dots, and shows what raster mode draws
    expected = render_ticket(slip, template, width)
    assert picture.size == expected.size
    assert picture.width == {58: 384, 80: 576}[width]
    assert picture.tobytes() == expected.tobytes()
    if backend != "file":
        assert result.status_after.state == "ok"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("cls", ["normal", "green"])
def test_native_bytes_decode_to_the_layout(width, cls, slips, template) -> None:
    """decode(encode(layout)) is the layout again, element for element (the feed the
    printer makes up to the cutter aside)."""
    elements = compose(slips[cls], template, width)
    decoded = decode(encode_native(elements, width))
    assert isinstance(decoded[-2], Feed) and isinstance(decoded[-1], Cut)
    assert decoded[:-2] + decoded[-1:] == elements


def test_raster_picture_shows_the_number(slips, template) -> None:
    """The decoded raster has ink exactly where the native layout prints B017, and the
    number's band is the tallest text on the ticket."""
    elements = compose(slips["normal"], template, 80)
    image = stacked_picture(decode(encode_raster(render_ticket(slips["normal"], template, 80),
                                                 80)))
    alone = [e if (isinstance(e, TextLine) and e.text == "B017") or not isinstance(
        e, TextLine | QRCode) else _blank(e) for e in elements]
    number_only = render_decoded(alone, 576)
    assert number_only.size == image.size
    ink = Image.eval(number_only.convert("L"), lambda v: 255 - v).getbbox()
    assert ink is not None and ink[3] - ink[1] >= 100          # 12 mm tall at 203 dpi
    assert image.crop(ink).tobytes() == number_only.crop(ink).tobytes()


def _blank(e) -> Picture:
    """White paper as tall as the element."""
    from printers.paper import element_height

    return Picture(Image.new("1", (576, element_height(e)), 1))


def test_tall_raster_goes_in_bands(slips, template) -> None:
    image = render_ticket(slips["green"], template, 58)
    assert image.height > 960
    elements = decode(encode_raster(image, 58))
    bands = [e for e in elements if isinstance(e, Picture)]
    assert [b.size[1] for b in bands] == [960, image.height - 960]
    assert stacked_picture(elements).tobytes() == image.tobytes()


def test_decoder_takes_bytes_as_they_come(slips, template) -> None:
    data = encode_native(compose(slips["green"], template, 58), 58)
    whole = decode(data)
    d = Decoder()
    for i in range(0, len(data), 7):                 # TCP may split anywhere
        d.feed(data[i:i + 7])
    d.close()
    assert d.elements == whole


def test_decoder_reads_code_pages() -> None:
    p = Dummy()
    p.text("Café 25°C\n")
    assert text_of(decode(p.output)) == "Café 25°C"


def test_two_tickets_in_one_stream_are_split_at_the_cut(slips, template) -> None:
    data = b"".join(encode_native(compose(slips[c], template, 80), 80)
                    for c in ("normal", "green"))
    found = tickets(decode(data))
    assert len(found) == 2
    assert "绿色通道" not in text_of(found[0]) and "绿色通道" in text_of(found[1])


def test_the_sim_keeps_each_ticket_as_png(slips, template, tmp_path) -> None:
    with PrinterSim(VirtualPrinter(80, out_dir=tmp_path)) as sim:
        printer = Printer(sim.url, 80, "native", template)
        assert printer.print_ticket(slips["normal"]).ok
        assert printer.print_ticket(slips["green"]).ok
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["ticket-0001.png", "ticket-0002.png"]
    with Image.open(tmp_path / "ticket-0002.png") as im:
        assert im.width > 576 and im.height > 800     # the paper strip around 576 dots
    meta = json.loads((tmp_path / "ticket-0002.json").read_text(encoding="utf-8"))
    assert "B017" in meta["lines"] and meta["qr"] == [QR] and meta["complete"]


# ---------------------------------------------------------------- the commands


def _run(*argv: str) -> int:
    import argparse

    from printers.cli import register

    parser = argparse.ArgumentParser(prog="onewindow")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_render_and_print_sample_commands(tmp_path, capsys) -> None:
    png = tmp_path / "t.png"
    assert _run("render-ticket", "--out", str(png), "--width", "58", "--mode", "native") == 0
    with Image.open(png) as im:
        assert im.width == 384 + 2 * 40 + 2          # dots, blank paper each side, edge
    out = tmp_path / "t.bin"
    assert _run("print-sample", "--printer", f"file://{out}", "--class", "green") == 0
    assert "绿色通道 Green Channel" in text_of(decode(out.read_bytes()))
    assert _run("print-sample", "--printer", "virtual://cli-out?paper=out") == 1
    assert _run("print-sample", "--printer", "lpt1") == 2
    err = capsys.readouterr().err
    assert "缺纸 paper out" in err and "printer lpt1: not a printer URL" in err


@pytest.mark.slow
def test_printer_sim_command_over_tcp(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

    code = ("import sys, argparse; from printers.cli import register; "
            "p = argparse.ArgumentParser(); register(p.add_subparsers(dest='c')); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")
    proc = subprocess.Popen([sys.executable, "-c", code, "printer-sim", "--port", "0",
                             "--out", str(tmp_path), "--width", "58"],
                            stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        first = proc.stdout.readline()
        url = first.split()[2]
        assert url.startswith("tcp://127.0.0.1:"), first
        assert _run("print-sample", "--printer", url, "--width", "58", "--mode", "raster") == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "printed 1 ticket" in rest
    meta = json.loads((tmp_path / "ticket-0001.json").read_text(encoding="utf-8"))
    assert meta["cut"] and meta["complete"]
    with Image.open(tmp_path / "ticket-0001.png") as im:
        assert im.width == 384 + 2 * 40 + 2
