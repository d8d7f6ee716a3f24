"""The ticket's layout and its native bytes: what a citizen reads, and what a
Chinese-firmware printer needs to print it (FS & before GB18030, never '?')."""

from __future__ import annotations

import pytest
from escpos.printer import Dummy
from PIL import Image

from printers.elements import (
    Cut,
    Run,
    TextLine,
    display_width,
    paper_columns,
    text_of,
)
from printers.escpos_decode import decode
from printers.layout import CHINESE_ON, INIT, compose, encode_native, encode_text, wrap
from printers.samples import hall_layout, sample_reply, sample_slip
from printers.slip import SlipError, slip_from_reply, wait_text
from printers.template import TemplateError, load_template, parse_template

PUNCTUATION = "，。：（）"


@pytest.fixture(scope="module")
def template():
    return load_template()


def test_punctuation_only_line_goes_out_as_gb18030_after_fs_ampersand() -> None:
    data = encode_native([TextLine((Run(PUNCTUATION),))], 80)
    gb = PUNCTUATION.encode("gb18030")
    assert gb == bytes.fromhex("a3aca1a3a3baa3a8a3a9")
    assert gb in data
    assert b"?" not in data
    # Chinese mode comes after the last reset and before the text
    assert data.rindex(INIT) < data.index(CHINESE_ON) < data.index(gb)
    assert text_of(decode(data)) == PUNCTUATION


def test_python_escpos_alone_would_print_question_marks() -> None:
    # The trap we wrap: python-escpos's encoder has no code page for these characters
    # and sends no FS & for Chinese text. If this starts failing, upstream fixed it.
    p = Dummy()
    p.text(PUNCTUATION + "\n")
    assert b"?????" in p.output
    q = Dummy()
    q.text("马上办\n")
    assert CHINESE_ON not in q.output


def test_a_printer_left_out_of_chinese_mode_garbles_gb18030() -> None:
    # Why FS & matters: the same GB18030 bytes read by a printer in code page mode
    raw = "马上办\n".encode("gb18030")
    assert text_of(decode(raw)) != "马上办"
    assert text_of(decode(CHINESE_ON + raw)) == "马上办"


def test_characters_beyond_gbk_are_a_box_not_a_question_mark() -> None:
    assert encode_text("号😀") == "号□".encode("gb18030")
    assert b"?" not in encode_text("𠀀")


def test_control_characters_in_names_cannot_become_commands(template) -> None:
    slip = sample_slip(template=template)
    evil = slip.__class__(**{**slip.__dict__, "hall_name": "开阳\x1dV\x00县\x1b@中心"})
    elements = decode(encode_native(compose(evil, template, 80), 80))
    assert sum(isinstance(e, Cut) for e in elements) == 1          # only the real cut
    assert "开阳 V 县 @中心" in text_of(elements)


def test_display_width_counts_chinese_as_two_columns() -> None:
    assert display_width("B017") == 4
    assert display_width("前面还有 5 人") == 13
    assert display_width(PUNCTUATION) == 10


@pytest.mark.parametrize("width", [58, 80])
@pytest.mark.parametrize("ticket_class", ["normal", "green"])
def test_no_line_is_wider_than_the_paper(template, width: int, ticket_class: str) -> None:
    columns = paper_columns(width)
    for e in compose(sample_slip(ticket_class, template), template, width):
        if isinstance(e, TextLine):
            assert e.columns <= columns, e.text


@pytest.mark.parametrize("width", [58, 80])
def test_table_rows_end_at_the_right_edge(template, width: int) -> None:
    """Mixed Chinese/ASCII rows: the values line up at the right edge by display width."""
    columns = paper_columns(width)
    lines = [e for e in compose(sample_slip(template=template), template, width)
             if isinstance(e, TextLine)]
    values = ["5 人 / 5 people", "约 12 分钟 / about 12 min", "2026-11-23 09:41"]
    for value in values:
        line = next(li for li in lines if li.text.endswith(value))
        assert display_width(line.text) == columns, line.text
        assert line.runs[-1].bold and line.runs[-1].text.strip() == value
        assert line.align == "left"
    ahead = next(li for li in lines if "前面还有" in li.text)
    assert ahead.text.startswith("前面还有 Ahead")


@pytest.mark.parametrize("width", [58, 80])
def test_the_number_is_the_biggest_thing_on_the_ticket(template, width: int) -> None:
    lines = [e for e in compose(sample_slip(template=template), template, width)
             if isinstance(e, TextLine)]
    number = next(li for li in lines if li.text == "B017")
    assert number.runs[0].height >= 5 and number.runs[0].width >= 4
    assert number.align == "center" and number.runs[0].bold
    assert all(li.height <= number.height for li in lines)


def test_wrap_keeps_english_words_and_chinese_punctuation() -> None:
    assert wrap("Kaiyang County Government Service Center", 32) == [
        "Kaiyang County Government", "Service Center"]
    lines = wrap("请留意叫号过号请到咨询台重新取号，谢谢合作。", 12)
    assert all(display_width(li) <= 12 for li in lines)
    assert not any(li[0] in "，。" for li in lines)
    assert "".join(lines) == "请留意叫号过号请到咨询台重新取号，谢谢合作。"


def test_green_and_appointment_tickets_are_marked(template) -> None:
    for cls, mark in (("green", "绿色通道 Green Channel"), ("appointment", "预约 Appointment")):
        lines = [e for e in compose(sample_slip(cls, template), template, 80)
                 if isinstance(e, TextLine)]
        marked = next(li for li in lines if mark in li.text)
        assert marked.runs[0].invert
    normal = text_of(compose(sample_slip("normal", template), template, 80))
    assert "绿色通道" not in normal and "预约" not in normal


# ---------------------------------------------------------------- slip


def test_slip_from_an_issue_ticket_reply(template) -> None:
    slip = slip_from_reply(hall_layout(), sample_reply(ticket_class="green"), template)
    assert (slip.hall_name, slip.zone_name, slip.queue_name) == (
        "开阳县政务服务中心", "自然人综合服务区", "马上办")
    assert slip.zone_name_en == "Individual Service Zone"   # quick_b is only in zone B
    assert (slip.number, slip.ticket_id, slip.ticket_class) == ("B017", "20261123-B017", "green")
    assert slip.issued == "2026-11-23 09:41"                  # hall-local time
    assert slip.qr_payload == "https://hall.example/t/x7Qk2mVb9RtL4wNp8sJd3A"   # its page
    assert slip.ahead_text == ("5 人", "5 people")
    assert slip.wait_text == ("约 12 分钟", "about 12 min")
    assert "过号请到咨询台" in slip.notice[0]


def test_slip_for_a_queue_of_several_zones_uses_the_kiosk_zone(template) -> None:
    reply = sample_reply(number="S003", queue="tax")
    assert slip_from_reply(hall_layout(), reply, template).zone_name == ""
    assert slip_from_reply(hall_layout(), reply, template, zone="A").zone_name == "法人综合服务区"


def test_slip_refuses_what_it_cannot_print(template) -> None:
    with pytest.raises(SlipError, match="unknown queue 'nope'"):
        slip_from_reply(hall_layout(), sample_reply(queue="nope"), template)
    with pytest.raises(SlipError, match="ticket needs id"):
        slip_from_reply(hall_layout(), {"ticket": {"number": "B1"}}, template)


@pytest.mark.parametrize(("seconds", "zh", "en"), [
    (None, "暂无估计", "no estimate"),
    (20, "不到 1 分钟", "under 1 min"),
    (700, "约 12 分钟", "about 12 min"),
    (29 * 60 + 40, "约 30 分钟", "about 30 min"),
    (41 * 60, "约 40 分钟", "about 40 min"),
    (80 * 60 + 100, "约 1 小时 20 分钟", "about 1 h 20 min"),
    (120 * 60, "约 2 小时", "about 2 h"),
])
def test_wait_is_said_the_way_people_say_it(seconds, zh: str, en: str) -> None:
    assert wait_text(seconds) == (zh, en)


def test_one_person_ahead_is_singular(template) -> None:
    slip = sample_slip(template=template, ahead=1)
    assert slip.ahead_text == ("1 人", "1 person")


# ---------------------------------------------------------------- template


def test_the_sample_template_loads(template) -> None:
    assert template.blocks[0] == "logo" and "number" in template.blocks
    assert template.qr == "{url}"


@pytest.mark.parametrize(("raw", "key", "reason"), [
    ({"colour": "red"}, "colour", "unknown key"),
    ({"blocks": ["hall", "nmuber"]}, "blocks[1]", "'nmuber' is not one of"),
    ({"blocks": ["hall", "hall"]}, "blocks[1]", "listed twice"),
    ({"qr": "https://x/{tikcet}"}, "qr", "unknown placeholder {tikcet}"),
    ({"qr": "https://x/{ticket"}, "qr", "unmatched"),
    ({"sizes": {"number": 9}}, "sizes.number", "must be 8 or less, got 9"),
    ({"sizes": {"number": "big"}}, "sizes.number", "expected a whole number, got 'big'"),
    ({"notice": ["a\nb"]}, "notice[0]", "one line per entry"),
    ({"logo": "missing.png"}, "logo", "no such file"),
    ({"time_format": "HH:MM"}, "time_format", "no % field"),
])
def test_a_bad_template_gets_one_line_naming_the_key(tmp_path, raw, key, reason) -> None:
    with pytest.raises(TemplateError) as err:
        parse_template(raw, "hall-ticket.toml", tmp_path)
    text = str(err.value)
    assert text.startswith(f"hall-ticket.toml: {key}: ")
    assert reason in text
    assert "\n" not in text


def test_template_file_errors(tmp_path) -> None:
    with pytest.raises(TemplateError, match="file not found"):
        load_template(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("blocks = [", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"bad.toml: -: not valid TOML"):
        load_template(bad)


def test_a_logo_is_printed_at_the_top(tmp_path) -> None:
    logo = Image.new("L", (300, 80), 255)
    logo.paste(0, (20, 20, 280, 60))
    logo.save(tmp_path / "logo.png")
    t = parse_template({"logo": "logo.png"}, "t.toml", tmp_path)
    elements = decode(encode_native(compose(sample_slip(template=t), t, 58), 58))
    pictures = [e for e in elements if e.__class__.__name__ == "Picture"]
    assert len(pictures) == 1 and pictures[0].size == (384, 80)
    assert elements.index(pictures[0]) < next(
        i for i, e in enumerate(elements) if isinstance(e, TextLine))
    # the black bar is centred on the paper: (384 - 300) / 2 + 20 = 62
    assert pictures[0].image.getpixel((62, 40)) == 0
    assert pictures[0].image.getpixel((60, 40)) == 255
