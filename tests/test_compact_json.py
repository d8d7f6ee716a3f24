"""The hub's compact JSON (dispatcher/compact_json.py): the same JSON value as the
standard library's for everything the hub encodes, including what orjson refuses."""

from __future__ import annotations

import json

import pytest

from dispatcher import compact_json, protocol

CASES = [
    {"type": "event", "seq": 12, "name": "ticket_issued",
     "data": {"ticket": "A001", "at": 1764900000.125, "zone": "综合受理区", "tags": []}},
    {"wait": [0.1, 1e-7, 2.5e16, -0.0], "none": None, "ok": True},
    {"big": 2**70},                 # past 64 bits: orjson refuses, the library does not
    {1: "an int key"},              # a non-str key: likewise
    {"name": "lone \ud800 surrogate"},
]


@pytest.mark.parametrize("value", CASES)
def test_the_same_value_as_the_standard_library(value: dict) -> None:
    text = compact_json.dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert ", " not in text and ": " not in text   # compact


def test_chinese_goes_as_utf8_not_escaped() -> None:
    assert compact_json.dumps({"zone": "综合受理区"}) == '{"zone":"综合受理区"}'


def test_a_frame_with_a_lone_surrogate_goes_out_escaped() -> None:
    frame = protocol.reply_ok("c1", {"name": "x\ud800"})
    frame.encode()              # valid UTF-8 on the wire
    assert "\\ud800" in frame and json.loads(frame)["result"]["name"] == "x\ud800"
