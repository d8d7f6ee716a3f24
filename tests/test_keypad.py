"""Caller keypads: the frame bytes, the streaming parser's resync, the fake keypad on a
pty pair, and the bridge end to end against a live hub."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

import pytest
from hub_process import ROOT, HubProcess, RawClient, sample_token

from caller.keypad import (
    FakeKeypad,
    Frame,
    FrameParser,
    KeyEvent,
    KeypadBus,
    KeypadError,
    KeypadProfile,
    Rating,
    load_profile,
)
from caller.keypad_bridge import (
    KeypadBridge,
    parse_map,
    parse_rater,
    register,
    resolve_token,
)

# Call next on keypad 1, worked out by hand:
#   FF 68 | L = 2 + 1 DATA byte = 03, twice | 68 | ADDR 01 | FUNC 01 | key 0C |
#   CS = 01 + 01 + 0C = 0E | 16
CALL_NEXT_1 = bytes.fromhex("FF 68 03 03 68 01 01 0C 0E 16")
# 6 then confirm on keypad 1: DATA 06 0F, L = 04, CS = 01 + 01 + 06 + 0F = 17
NO_SHOW_1 = bytes.fromhex("FF 68 04 04 68 01 01 06 0F 17 16")
# Display on keypad 1: 2 waiting, number B017 → cells "  2" "017" = 0A 0A 02 | 00 01 07
#   L = 2 + 6 = 08; CS = 01 + 02 + 0A + 0A + 02 + 00 + 01 + 07 = 21
DISPLAY_1 = bytes.fromhex("FF 68 08 08 68 01 02 0A 0A 02 00 01 07 21 16")
# An evaluator's rating 5 on keypad 1: FUNC 11, DATA 05, CS = 01 + 11 + 05 = 17
RATING_1 = bytes.fromhex("FF 68 03 03 68 01 11 05 17 16")
# Beep on keypad 1: FUNC 03, no DATA, L = 02, CS = 01 + 03 = 04
BEEP_1 = bytes.fromhex("FF 68 02 02 68 01 03 04 16")


def poll(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_known_frames_byte_for_byte() -> None:
    p = load_profile()
    assert p.key_frame(1, "call_next") == CALL_NEXT_1
    assert p.key_frame(1, "confirm", "6") == NO_SHOW_1
    assert p.display_frame(1, 2, "B017") == DISPLAY_1
    assert p.rating_frame(1, 5) == RATING_1
    assert p.beep_frame(1) == BEEP_1
    assert p == KeypadProfile()   # the TOML says what the built-in defaults say


def test_decoding_key_events_and_ratings() -> None:
    p = load_profile()
    frames = FrameParser(p).feed(CALL_NEXT_1 + NO_SHOW_1 + RATING_1)
    assert [f.raw for f in frames] == [CALL_NEXT_1, NO_SHOW_1, RATING_1]
    assert [p.interpret(f) for f in frames] == [
        KeyEvent(1, "call_next", "", 0x0C), KeyEvent(1, "confirm", "6", 0x0F), Rating(1, 5)]
    assert p.interpret(Frame(2, 1, b"\x99")) == KeyEvent(2, "unknown", "", 0x99)
    assert p.interpret(Frame(2, 0x11, b"\x09")) is None   # a rating must be 1–5


def test_display_text() -> None:
    p = load_profile()
    assert p.display_text(2, "B017") == "  2017"
    assert p.display_text(0, None) == "  0   "
    assert p.display_text(1234, "A1") == "999001"
    assert p.display_text(None, "B1234") == "   234"
    assert p.decode_digits(DISPLAY_1[7:13]) == "  2017"


def test_corrupt_frames_are_dropped_and_the_parser_resyncs(caplog) -> None:
    p = load_profile()
    parser = FrameParser(p)
    bad_cs = CALL_NEXT_1[:-2] + b"\x0f\x16"
    bad_len = bytes.fromhex("FF 68 03 04 68 01 01 0C 0E 16")
    bad_end = CALL_NEXT_1[:-1] + b"\x17"
    garbage = b"\x00\x68\xff\x12\xff"
    with caplog.at_level(logging.WARNING, "onewindow.keypad"):
        stream = garbage + bad_cs + NO_SHOW_1 + bad_len + b"\x55" + bad_end + CALL_NEXT_1
        got = []
        for i in range(0, len(stream), 3):          # arrives in pieces
            got += parser.feed(stream[i:i + 3])
    assert [f.raw for f in got] == [NO_SHOW_1, CALL_NEXT_1]
    assert bad_cs in parser.dropped and bad_end in parser.dropped
    assert any(d.startswith(bytes.fromhex("FF 68 03 04")) for d in parser.dropped)
    assert "dropped" in caplog.text
    assert parser.buffer == b""


def test_profile_errors_are_clear(tmp_path) -> None:
    with pytest.raises(KeypadError, match="unknown keys"):
        KeypadProfile.from_dict({"baud": 9600})
    with pytest.raises(KeypadError, match="hex"):
        KeypadProfile.from_dict({"preamble": "ZZ"})
    with pytest.raises(KeypadError, match="known:"):
        load_profile("no-such-vendor")
    with pytest.raises(KeypadError, match="digits only"):
        load_profile().encode_digits("B")
    with pytest.raises(KeypadError, match="no key"):
        load_profile().key_frame(1, "jump")
    # another vendor is a new profile: other codes and an XOR check
    other = tmp_path / "other.toml"
    other.write_text('preamble = "AA"\nchecksum = "xor"\n[keys]\ncall_next = "01"\n'
                     'confirm = "02"\n')
    p = load_profile(other)
    frame = p.key_frame(7, "call_next")
    assert frame == bytes.fromhex("AA 03 03 68 07 01 01 07 16")
    assert p.interpret(FrameParser(p).feed(frame)[0]) == KeyEvent(7, "call_next", "", 1)


def test_parse_map_and_tokens() -> None:
    m = parse_map("1=B03, 2=B04:secret")
    assert m[1].window == "B03" and m[1].device == "C-B03" and m[1].token is None
    assert m[2].token == "secret"
    assert resolve_token(m[1], {"ONEWINDOW_TOKEN_C_B03": "t3", "ONEWINDOW_TOKEN": "x"}) == "t3"
    assert resolve_token(m[1], {"ONEWINDOW_TOKEN": "x"}) == "x"
    assert resolve_token(m[2], {}) == "secret"
    assert resolve_token(m[1], {}) is None
    for bad in ("B03", "x=B03", "300=B03", "1=B03,1=B04", "1=B03,2=B03", ""):
        with pytest.raises(KeypadError):
            parse_map(bad)


def test_the_cli_registers_keypad_bridge() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["keypad-bridge", "--port", "/dev/null", "--map", "1=B03"])
    assert args.map[1].device == "C-B03" and not args.open
    with pytest.raises(SystemExit):
        parser.parse_args(["keypad-bridge", "--port", "/dev/null", "--map", "B03"])


def test_the_fake_keypad_gets_echoes_display_and_beeps() -> None:
    with FakeKeypad() as pad:
        bus = KeypadBus(pad.path, load_profile())
        got: list[Frame] = []
        bus.on_frame = got.append
        bus.start()
        try:
            pad.write(b"\x01\x02")            # noise first
            pad.press(1, "call_next")
            assert pad.wait(lambda: pad.echoes == [CALL_NEXT_1])
            assert poll(lambda: [f.raw for f in got] == [CALL_NEXT_1])   # after the echo
            bus.show(1, 2, "B017")
            assert pad.wait_for_show(1, "2", "017")
            bus.beep(1)
            assert pad.wait_for_beeps(1, 1)
        finally:
            bus.close()


def test_only_good_frames_are_echoed_and_handled() -> None:
    with FakeKeypad() as pad:
        bus = KeypadBus(pad.path, load_profile())
        got: list[Frame] = []
        bus.on_frame = got.append
        bus.start()
        try:
            bad_end = CALL_NEXT_1[:-1] + b"\x00"
            pad.sent += [bad_end, NO_SHOW_1]
            pad.write(bad_end + NO_SHOW_1)              # a bad end byte, then a good frame
            assert pad.wait(lambda: pad.echoes == [NO_SHOW_1])
            assert poll(lambda: [f.raw for f in got] == [NO_SHOW_1])
            assert bus.parser.dropped == [bad_end]
            assert pad.other == []
        finally:
            bus.close()


@pytest.mark.slow
def test_end_to_end_keypad_drives_window_b03(tmp_path) -> None:
    async def scenario(url: str, pad: FakeKeypad) -> None:
        bus = KeypadBus(pad.path, load_profile())
        bridge = KeypadBridge(bus, url, parse_map(f"1=B03:{sample_token('C-B03')}"),
                              open_windows=True, rater=("E-B03", sample_token("E-B03")))
        bridge.start()
        await bridge.wait_connected(10)
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")   # opened, idle

        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        console = await RawClient.hello(url, "console", "CONSOLE-1")

        async def settled() -> None:   # every key sent so far has been handled
            async with asyncio.timeout(10):
                while len(bridge.handled) < len(pad.sent):
                    await asyncio.sleep(0.01)

        async def window() -> dict:
            reply = await console.query("window_status", window="B03")
            return reply["result"]["windows"]["B03"]

        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        assert await asyncio.to_thread(pad.wait_for_show, 1, "1", "")

        pad.write(b"\x13\x37" + CALL_NEXT_1[:-2] + b"\x00\x16")   # garbage, a corrupt frame
        pad.press(1, "call_next")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "001")
        assert (await window())["number"] == "B001"
        assert CALL_NEXT_1 in pad.echoes

        pad.press(1, "confirm", "6")                               # no-show
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        await settled()
        assert bridge.handled[-1] == (1, "no_show", "ok")
        assert (await window())["state"] == "idle"

        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        pad.press(1, "call_next")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "002")
        pad.press(1, "recall")
        pad.press(1, "confirm")                                    # finish
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        await settled()
        finished = bridge.last_finished.pop("B03")   # seen in service_finished …
        assert bridge.finished_from_view("B03") == finished   # … and found without it
        pad.rate(1, 4)                                             # the evaluator: 4
        await settled()
        assert [a[1:] for a in bridge.handled[-3:]] == [
            ("recall", "ok"), ("finish", "ok"), ("evaluate_rating", "ok")]
        snap = (await console.query("snapshot"))["result"]["snapshot"]
        assert snap["tickets"][finished]["number"] == "B002"
        assert snap["tickets"][finished]["rating"] == 4
        beeps = pad.beeps.get(1, 0)
        pad.rate(1, 5)                                             # nothing left to rate
        assert await asyncio.to_thread(pad.wait_for_beeps, 1, beeps + 1)
        await settled()
        assert bridge.handled[-1] == (1, "evaluate_rating", "no_ticket")

        pad.press(1, "pause")
        await settled()
        window_b03 = await window()
        assert window_b03["state"] == "paused" and window_b03["pause_reason"] == "keypad"
        pad.press(1, "pause")
        await settled()
        assert (await window())["state"] == "idle"

        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        pad.press(1, "call_next")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "003")
        pad.press(1, "confirm", "2")                               # hold: 挂起
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        await settled()
        b03 = await window()
        assert b03["state"] == "idle" and [h["number"] for h in b03["held"]] == ["B003"]
        pad.press(1, "confirm", "3")                               # call back: 回呼
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "003")
        await settled()
        assert (await window())["held"] == []

        beeps = pad.beeps.get(1, 0)
        pad.press(1, "transfer")                                   # needs the panel
        assert await asyncio.to_thread(pad.wait_for_beeps, 1, beeps + 1)
        pad.press(1, "call_next")                  # nothing waiting: B003 is finished
        assert await asyncio.to_thread(pad.wait_for_beeps, 1, beeps + 2)
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        pad.press(1, "call_next")                  # nothing waiting, nothing in hand
        assert await asyncio.to_thread(pad.wait_for_beeps, 1, beeps + 3)
        await settled()
        assert [a[1:] for a in bridge.handled[-6:]] == [
            ("call_next", "ok"), ("hold", "ok"), ("call_back", "ok"),
            ("transfer", "not_supported"), ("call_next", "finished_queue_empty"),
            ("call_next", "queue_empty")]
        assert (await window())["state"] == "idle"
        assert len(pad.echoes) == len(pad.sent)                    # every frame echoed
        for c in (kiosk, console):
            await c.close()
        await bridge.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeKeypad() as pad:
        asyncio.run(scenario(hub.url, pad))


@pytest.mark.slow
def test_the_keypad_bridge_command_opens_and_shows(tmp_path) -> None:
    code = ("import argparse, sys; from caller.keypad_bridge import register; "
            "p = argparse.ArgumentParser(); register(p.add_subparsers(dest='c')); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")
    env = {**os.environ, "ONEWINDOW_TOKEN_C_B03": sample_token("C-B03")}
    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeKeypad() as pad:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "keypad-bridge", "--port", pad.path, "--server",
             hub.url, "--map", "1=B03", "--open"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert pad.wait_for_show(1, "0", "", timeout=15)
            pad.press(1, "call_next")                  # nothing waiting: a beep
            assert pad.wait_for_beeps(1, 1, timeout=10)
            assert pad.wait(lambda: len(pad.echoes) == 1)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(10) == 0, proc.stderr.read() if proc.stderr else ""


def test_the_keypad_bridge_command_needs_a_token(capsys, monkeypatch) -> None:
    for name in ("ONEWINDOW_TOKEN", "ONEWINDOW_TOKEN_C_B03"):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["keypad-bridge", "--port", "/dev/null", "--map", "1=B03"])
    assert args.handler(args) == 2
    assert "ONEWINDOW_TOKEN_C_B03" in capsys.readouterr().err
    args = parser.parse_args(["keypad-bridge", "--port", "/dev/null", "--map", "1=B03:x",
                              "--profile", "nope"])
    assert args.handler(args) == 2
    assert "no keypad profile 'nope'" in capsys.readouterr().err


def test_without_a_rater_credential_a_rating_key_rates_nothing(tmp_path) -> None:
    """The clerk's caller device may not rate: a bridge given no evaluator device
    (--rater) beeps on the rating key and the ticket stays unrated."""
    async def scenario(url: str, pad: FakeKeypad) -> None:
        bridge = KeypadBridge(KeypadBus(pad.path, load_profile()), url,
                              parse_map(f"1=B03:{sample_token('C-B03')}"), open_windows=True)
        bridge.start()
        await bridge.wait_connected(10)
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        ticket = (await kiosk.command("issue_ticket", queue="quick_b"))["result"]["ticket"]
        assert await asyncio.to_thread(pad.wait_for_show, 1, "1", "")
        pad.press(1, "call_next")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "001")
        pad.press(1, "confirm")                                    # finish
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        pad.rate(1, 5)
        assert await asyncio.to_thread(pad.wait_for_beeps, 1, 1)
        await bridge.idle()
        assert bridge.handled[-1] == (1, "evaluate_rating", "no_rater")
        seen = bridge.clients["B03"].view.ticket(ticket["id"])   # B03's own: the full view
        assert seen["state"] == "done" and seen["rating"] is None
        await kiosk.close()
        await bridge.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeKeypad() as pad:
        asyncio.run(scenario(hub.url, pad))


def test_the_rater_credential_reads_device_and_token() -> None:
    assert parse_rater("E-K1:tok") == ("E-K1", "tok")
    assert parse_rater("E-K1", {"ONEWINDOW_TOKEN_E_K1": "env"}) == ("E-K1", "env")
    for bad in ("", ":tok", "E-K1"):
        with pytest.raises(KeypadError):
            parse_rater(bad, {})


@pytest.mark.slow
def test_a_pulled_out_bus_is_reported_offline_and_ok_once_it_is_back(tmp_path) -> None:
    """The bridge opens the bus by a stable name (as udev gives /dev/ttyUSB1); the adapter
    goes away, then comes back under the same name."""
    link = tmp_path / "ttyUSB1"

    async def until_reported(console: RawClient, status: str) -> None:
        """The console sees the report as it happens (a device_reported event)."""
        async with asyncio.timeout(15):
            while True:
                frame = await console.recv(15)
                devices = (frame.get("changes") or {}).get("devices") or {}
                if (devices.get("C-B03/keypad") or {}).get("status") == status:
                    return

    async def scenario(url: str, first: FakeKeypad) -> None:
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        bus = KeypadBus(str(link), load_profile())
        bridge = KeypadBridge(bus, url, parse_map(f"1=B03:{sample_token('C-B03')}"))
        bridge.start()
        await bridge.wait_connected(10)
        first.close()                                   # the adapter is pulled out
        await until_reported(console, "offline")
        assert ("C-B03/keypad", "offline") in bridge.reports
        with FakeKeypad() as second:                    # plugged in again
            link.unlink()
            link.symlink_to(second.path)
            await until_reported(console, "ok")
            second.press(1, "call_next")                # and the keys work again
            assert await asyncio.to_thread(second.wait_for_beeps, 1, 1)   # nothing waits
            await bridge.close()
        await console.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeKeypad() as pad:
        link.symlink_to(pad.path)
        asyncio.run(scenario(hub.url, pad))


# Call next on keypad 1 from a keypad that always sends a digit byte, 00 for none:
#   DATA 00 0C, L = 04, CS = 01 + 01 + 00 + 0C = 0E
CALL_NEXT_PADDED_1 = bytes.fromhex("FF 68 04 04 68 01 01 00 0C 0E 16")
# Confirm alone from that keypad: DATA 00 0F, CS = 01 + 01 + 00 + 0F = 11
CONFIRM_PADDED_1 = bytes.fromhex("FF 68 04 04 68 01 01 00 0F 11 16")


def test_a_digit_byte_00_means_no_digit() -> None:
    p = load_profile()
    frames = FrameParser(p).feed(CALL_NEXT_PADDED_1 + CONFIRM_PADDED_1)
    assert [p.interpret(f) for f in frames] == [
        KeyEvent(1, "call_next", "", 0x0C), KeyEvent(1, "confirm", "", 0x0F)]
    assert p.confirm[""] == "finish"                  # confirm alone: 办结, never 挂起
    assert p.key_frame(1, "call_next", always_digit=True) == CALL_NEXT_PADDED_1
    assert p.key_frame(1, "confirm", always_digit=True) == CONFIRM_PADDED_1
    with pytest.raises(KeypadError, match="means no digit"):
        KeypadProfile.from_dict({"confirm": {"0": "hold", "": "finish"}})
    # a keypad that never pads may say so, and then 0 is a digit like the others
    plain = KeypadProfile.from_dict({"no_digit": "", "confirm": {"0": "hold"}})
    assert plain.interpret(Frame(1, 1, b"\x00\x0f")) == KeyEvent(1, "confirm", "0", 0x0F)


@pytest.mark.slow
def test_a_keypad_that_always_sends_a_digit_finishes_the_last_ticket(tmp_path) -> None:
    """Key frames always carry a digit byte (00: none). Confirm alone finishes (not 0 +
    confirm, hold); next with nothing waiting still finishes the ticket in hand and
    beeps; a next that finishes one ticket and calls another never shows a blank
    number in between."""
    def press(key: str) -> None:                # the digit byte 00, then the key
        p = pad.profile
        frame = p.frame(1, p.key_func, b"\x00" + bytes([p.keys[key]]))
        with pad.changed:
            pad.sent.append(frame)
        pad.write(frame)

    async def scenario(url: str, pad: FakeKeypad) -> None:
        bus = KeypadBus(pad.path, load_profile())
        drawn: list[tuple[int | None, str | None]] = []   # every display write, in order
        show = bus.show

        def recorded(address: int, waiting: int | None, number: str | None) -> None:
            drawn.append((waiting, number))
            show(address, waiting, number)

        bus.show = recorded
        bridge = KeypadBridge(bus, url, parse_map(f"1=B03:{sample_token('C-B03')}"),
                              open_windows=True)
        bridge.start()
        await bridge.wait_connected(10)
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")

        async def b03() -> dict:
            return (await console.query("window_status", window="B03"))["result"][
                "windows"]["B03"]

        async def issue() -> str:
            return (await kiosk.command("issue_ticket", queue="quick_b"))["result"][
                "ticket"]["id"]

        async def state(ticket: str) -> str:
            snap = (await console.query("snapshot"))["result"]["snapshot"]
            return snap["tickets"][ticket]["state"]

        first = await issue()
        press("call_next")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "001")
        press("confirm")                                    # 00 0F: finish
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        await bridge.idle()
        assert bridge.handled[-1] == (1, "finish", "ok")
        assert (await b03())["held"] == [] and await state(first) == "done"

        for _ in range(2):
            await issue()
        press("call_next")
        assert await asyncio.to_thread(pad.wait_for_show, 1, "1", "002")
        mark = len(drawn)
        press("call_next")                                  # finishes 002, calls 003
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "003")
        assert all(number for _, number in drawn[mark:]), drawn     # never a blank number

        last = (await b03())["ticket"]
        press("call_next")                                  # the last: nothing waits
        assert await asyncio.to_thread(pad.wait_for_beeps, 1, 1)
        assert await asyncio.to_thread(pad.wait_for_show, 1, "0", "")
        await bridge.idle()
        assert bridge.handled[-1] == (1, "call_next", "finished_queue_empty")
        assert (await b03())["state"] == "idle" and await state(last) == "done"
        for c in (kiosk, console):
            await c.close()
        await bridge.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeKeypad() as pad:
        asyncio.run(scenario(hub.url, pad))
