"""LED window strips: the frame bytes, the fake strip on a pty pair, retries and
offline reports, and the bridge end to end against a live hub."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import subprocess
import sys
import time

import pytest
import serial
from hub_process import ROOT, HubProcess, RawClient, sample_token

from display.led import FakeStrip, LedBus, LedError, LedProfile, load_profile, parse_map
from display.led_bridge import LedBridge, StripTexts, register

# "请到B03窗口" to address 3 in red (colour byte 01), worked out by hand:
#   header A0 90, address 03, command A5, LEN = 18 payload bytes = 00 12
#   请 C7 EB 01 | 到 B5 BD 01 | B 42 01 | 0 30 01 | 3 33 01 | 窗 B4 B0 01 | 口 BF DA 01
#   XOR A0^90^03^A5^00^12 = 84; ^C7^EB^01 = A9; ^B5^BD^01 = A0; ^42^01 = E3;
#   ^30^01 = D2; ^33^01 = E0; ^B4^B0^01 = E5; ^BF^DA^01 = 81
KNOWN_FRAME = bytes.fromhex(
    "A0 90 03 A5 00 12"
    " C7 EB 01 B5 BD 01 42 01 30 01 33 01 B4 B0 01 BF DA 01"
    " 81")


def fast(profile: LedProfile | None = None, **changes) -> LedProfile:
    return dataclasses.replace(profile or load_profile(), **{"ack_timeout": 0.2, **changes})


def test_the_known_frame_byte_for_byte() -> None:
    profile = load_profile()
    assert profile.frame(3, "请到B03窗口") == KNOWN_FRAME
    assert profile.frame(3, "请到B03窗口", "red") == KNOWN_FRAME
    assert profile.frame(3, "请到B03窗口", "green")[8] == 0x02
    assert profile.decode_payload(KNOWN_FRAME[6:-1]) == ("请到B03窗口", [1] * 7)


def test_profile_errors_are_clear() -> None:
    with pytest.raises(LedError, match="no colour 'blue'"):
        load_profile().frame(1, "A", "blue")
    with pytest.raises(LedError, match="no gbk code"):
        load_profile().frame(1, "🙂")
    with pytest.raises(LedError, match="unknown keys"):
        LedProfile.from_dict({"baud": 9600})
    with pytest.raises(LedError, match="hex bytes"):
        LedProfile.from_dict({"header": "ZZ"})
    with pytest.raises(LedError, match="known:"):
        load_profile("no-such-vendor")
    assert load_profile("cn-a0-90-gb2312").frame(3, "请到B03窗口")[6:-1] == KNOWN_FRAME[6:-1]


def test_parse_map() -> None:
    assert parse_map("B01=1, B02=2,B03=13") == {"B01": 1, "B02": 2, "B03": 13}
    for bad in ("B01", "B01=x", "B01=300", "B01=1,B02=1", ""):
        with pytest.raises(LedError):
            parse_map(bad)


def test_the_fake_strip_decodes_a_frame_and_acks() -> None:
    with FakeStrip() as strip:
        port = serial.Serial(strip.path, 9600, timeout=1)
        port.write(KNOWN_FRAME)
        assert port.read(1) == b"\xaa"
        assert strip.wait_for(3, "请到B03窗口")
        assert strip.colours[3] == [1] * 7
        port.close()


def test_a_bad_checksum_is_rejected_and_not_acked() -> None:
    with FakeStrip() as strip:
        port = serial.Serial(strip.path, 9600, timeout=0.3)
        bad = KNOWN_FRAME[:-1] + bytes([KNOWN_FRAME[-1] ^ 0xFF])
        port.write(bad)
        assert port.read(1) == b""
        assert strip.rejected == [bad] and strip.shows == {}
        port.write(b"\x00\x13" + KNOWN_FRAME)   # noise before a good frame: resynced
        assert port.read(1) == b"\xaa"
        assert strip.shows == {3: "请到B03窗口"}
        port.close()


def test_a_silent_strip_is_retried_then_reported_offline_then_ok() -> None:
    reports: list[tuple[str, str, str]] = []
    with FakeStrip() as strip:
        strip.silent.add(4)
        bus = LedBus(strip.path, fast(retries=2), {"B03": 3, "B04": 4},
                     on_status=lambda *r: reports.append(r))
        assert bus.show("B03", "欢迎光临", "green")
        started = time.monotonic()
        assert not bus.show("B04", "欢迎光临", "green")
        assert time.monotonic() - started >= 0.55          # three waits of 0.2 s
        assert sum(f[2] == 4 for f in strip.frames) == 3   # first try + 2 retries
        assert reports == [("B04", "offline", "no answer from address 4 after 3 tries")]
        assert not bus.show("B04", "暂停服务")               # still offline: said once
        assert len(reports) == 1
        strip.silent.clear()
        assert bus.show("B04", "暂停服务")
        assert reports[-1] == ("B04", "ok", "")
        assert strip.shows == {3: "欢迎光临", 4: "暂停服务"}
        bus.close()


def test_strip_texts() -> None:
    texts = StripTexts()
    assert texts.for_view("B03", {"state": "calling", "number": "B017"}) == \
        ("B017 请到B03窗口", "red")
    assert texts.for_view("B03", {"state": "idle", "number": None}) == ("欢迎光临", "green")
    assert texts.for_view("B03", {"state": "paused", "pause_reason": "午休"}) == \
        ("暂停服务", "yellow")
    assert texts.for_view("B03", None)[0] == "暂停服务"
    assert StripTexts(paused="暂停：{reason}").for_view(
        "B03", {"state": "paused", "pause_reason": "午休"})[0] == "暂停：午休"
    with pytest.raises(LedError, match="unknown placeholder"):
        StripTexts(idle="{ticket}")


def test_the_cli_registers_led_bridge() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["led-bridge", "--port", "/dev/null", "--map", "B01=1,B02=2"])
    assert args.map == {"B01": 1, "B02": 2} and args.device == "LED-1"
    with pytest.raises(SystemExit):
        parser.parse_args(["led-bridge", "--port", "/dev/null", "--map", "B01"])


@pytest.mark.slow
def test_end_to_end_a_call_shows_on_the_strip_and_offline_reaches_the_hub(tmp_path) -> None:
    async def scenario(url: str, strip: FakeStrip) -> None:
        bus = LedBus(strip.path, fast(retries=1, ack_timeout=0.5), {"B03": 3, "B04": 4})
        bridge = LedBridge(bus, url, "LED-1", sample_token("LED-1"), recheck_s=0.2)
        bridge.start()
        await bridge.client.wait_connected(10)
        # The snapshot: B03 and B04 are closed, both get the closed text; B04 is silent.
        assert await asyncio.to_thread(strip.wait_for, 3, "暂停服务")

        caller = await RawClient.hello(url, "caller", "C-B03")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        console = await RawClient.hello(url, "console", "CONSOLE-1")
        assert (await caller.command("open_window", window="B03"))["ok"]
        assert await asyncio.to_thread(strip.wait_for, 3, "欢迎光临")
        assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        called = await caller.command("call_next", window="B03")
        assert called["result"]["ticket"]["number"] == "B001"
        assert await asyncio.to_thread(strip.wait_for, 3, "B001 请到B03窗口")
        assert strip.colours[3] == [1] * len("B001 请到B03窗口")

        async def device(part: str) -> dict | None:
            snap = (await console.query("snapshot"))["result"]["snapshot"]
            return snap["devices"].get(part)

        deadline = time.monotonic() + 10
        while (await device("LED-1/B04") or {}).get("status") != "offline":
            assert time.monotonic() < deadline, "the offline report never reached the hub"
            await asyncio.sleep(0.1)
        assert "address 4" in (await device("LED-1/B04"))["detail"]

        strip.silent.clear()            # plugged back in: the recheck finds it
        deadline = time.monotonic() + 10
        while (await device("LED-1/B04") or {}).get("status") != "ok":
            assert time.monotonic() < deadline, "the ok report never reached the hub"
            await asyncio.sleep(0.1)
        assert strip.shows[4] == "暂停服务"
        assert ("LED-1/B03", "offline") not in bridge.reports
        for c in (caller, kiosk, console):
            await c.close()
        await bridge.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeStrip() as strip:
        strip.silent.add(4)
        asyncio.run(scenario(hub.url, strip))


@pytest.mark.slow
def test_the_led_bridge_command_drives_the_strip(tmp_path) -> None:
    code = ("import argparse, sys; from display.led_bridge import register; "
            "p = argparse.ArgumentParser(); register(p.add_subparsers(dest='c')); "
            "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))")
    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeStrip() as strip:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "led-bridge", "--port", strip.path, "--server",
             hub.url, "--device", "LED-1", "--token", sample_token("LED-1"),
             "--map", "B03=3", "--closed-text", "窗口关闭"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert strip.wait_for(3, "窗口关闭", timeout=15), proc.stderr
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(10) == 0


def test_the_led_bridge_command_refuses_a_bad_profile(capsys) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["led-bridge", "--port", "/dev/null", "--map", "B01=1",
                              "--token", "x", "--profile", "nope"])
    assert args.handler(args) == 2
    assert "no LED profile 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_call_that_finishes_the_current_ticket_never_shows_the_idle_text(tmp_path) -> None:
    """call_next finishes B001 (service_finished: the window is idle for a moment) and
    calls B002 in one command: the strip goes from B001 to B002, never to 欢迎光临."""
    async def scenario(url: str, strip: FakeStrip) -> None:
        bus = LedBus(strip.path, fast(), {"B03": 3})
        bridge = LedBridge(bus, url, "LED-1", sample_token("LED-1"))
        bridge.start()
        await bridge.client.wait_connected(10)
        caller = await RawClient.hello(url, "caller", "C-B03")
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        assert (await caller.command("open_window", window="B03"))["ok"]
        assert await asyncio.to_thread(strip.wait_for, 3, "欢迎光临")
        for _ in range(3):
            assert (await kiosk.command("issue_ticket", queue="quick_b"))["ok"]
        for number in ("B001", "B002", "B003"):
            called = await caller.command("call_next", window="B03")
            assert called["result"]["ticket"]["number"] == number
            assert await asyncio.to_thread(strip.wait_for, 3, f"{number} 请到B03窗口")
        texts = [bus.profile.decode_payload(f[6:-1])[0] for f in strip.frames if f[2] == 3]
        first = texts.index("B001 请到B03窗口")
        assert texts[first:] == [f"B00{i} 请到B03窗口" for i in (1, 2, 3)], texts
        for c in (caller, kiosk):
            await c.close()
        await bridge.close()

    with HubProcess(f"sqlite:///{tmp_path / 'hub.db'}") as hub, FakeStrip() as strip:
        asyncio.run(scenario(hub.url, strip))


def test_an_offline_strip_costs_one_set_of_tries_and_is_rechecked_once(tmp_path) -> None:
    """A strip stops answering while events for it keep coming (each its own command):
    one write of three tries finds it offline, the writes queued behind it are dropped,
    and the recheck sends only its latest text, one try at a time."""
    def view(number: str) -> dict:
        return {"state": "calling", "number": number}

    async def scenario(strip: FakeStrip) -> None:
        bus = LedBus(strip.path, fast(retries=2, ack_timeout=0.2), {"B03": 3, "B04": 4})
        bridge = LedBridge(bus, "ws://127.0.0.1:9", "LED-1", "x", recheck_s=0.5,
                           report_timeout=0.1)
        bridge._loop = asyncio.get_running_loop()
        hall_view = bridge.client.view
        hall_view.load({"windows": {"B03": {"state": "idle"}, "B04": {"state": "idle"}},
                        "waiting": {}}, 1)
        bridge._on_snapshot(hall_view)
        assert await asyncio.to_thread(strip.wait_for, 4, "欢迎光临")
        await bridge.idle()
        spent: list[float] = []                     # bus time of each write
        send = bus._send

        def timed(*args):
            started = time.monotonic()
            try:
                return send(*args)
            finally:
                spent.append(time.monotonic() - started)

        bus._send = timed
        strip.silent.add(4)
        before = len(strip.frames)
        for seq in range(2, 8):                     # six calls at B04, 0.15 s apart
            frame = {"type": "event", "seq": seq, "name": "ticket_called", "data": {},
                     "changes": {"windows": {"B04": view(f"B00{seq}")}}}
            hall_view.apply(frame)
            bridge._on_event(frame)
            await asyncio.sleep(0.15)
        await bridge.idle()
        to_b04 = [f for f in strip.frames[before:] if f[2] == 4]
        assert len(to_b04) == 3, len(to_b04)        # one write: first try + 2 retries
        assert sum(spent) < 0.9, spent              # 0.6 s, not 0.6 s per queued frame
        assert not bus.online["B04"]
        recheck = asyncio.ensure_future(bridge._recheck())
        await asyncio.sleep(1.3)                    # two rechecks, one try each
        rechecked = [f for f in strip.frames[before:] if f[2] == 4][3:]
        assert 1 <= len(rechecked) <= 3, len(rechecked)
        assert {bus.profile.decode_payload(f[6:-1])[0] for f in rechecked} == \
            {"B007 请到B04窗口"}
        strip.silent.clear()
        assert await asyncio.to_thread(strip.wait_for, 4, "B007 请到B04窗口")
        recheck.cancel()
        await bridge.close()

    with FakeStrip() as strip:
        asyncio.run(scenario(strip))


def test_redraw_draws_once_per_burst_and_never_later_than_max() -> None:
    from dispatcher.client.redraw import Redraw

    async def scenario() -> None:
        drawn: list[tuple[str, bool]] = []
        redraw: Redraw[str] = Redraw(lambda key, force: drawn.append((key, force)),
                                     settle_s=0.05, max_s=0.2)
        redraw.mark("B03")
        redraw.mark("B04", force=True)
        redraw.mark("B03")                      # one command's frames: one draw each
        await asyncio.sleep(0.1)
        assert drawn == [("B03", False), ("B04", True)]
        drawn.clear()
        started = time.monotonic()
        while time.monotonic() - started < 0.35:  # a stream that never pauses 50 ms
            redraw.mark("B03")
            await asyncio.sleep(0.01)
        assert drawn and drawn[0] == ("B03", False)   # drawn by max_s all the same
        redraw.cancel()

    asyncio.run(scenario())
