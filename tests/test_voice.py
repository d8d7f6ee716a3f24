"""Voice announcements: what is said for a call, the queue that never overlaps, the
clip concatenation (no audio hardware needed) and the template check."""

from __future__ import annotations

import itertools
import math
import struct
import threading
import wave
from pathlib import Path

import pytest

from display.voice import (
    DEFAULT_TEMPLATE,
    Announcer,
    ClipBackend,
    SilentBackend,
    TemplateError,
    VoiceConfig,
    VoiceError,
    VoiceUnavailable,
    concat_wavs,
    read_out,
    speech_for,
    validate_template,
    wav_seconds,
)

LAYOUT = {
    "windows": {"B03": {"name": "综合受理窗口B03", "name_en": "Window B03", "zone": "B"},
                "A15": {"name": "咨询辅导窗口A15", "zone": "A"}},
    "queues": {"quick_b": {"name": "马上办", "prefix": "B"}},
}
VOICE_DIR = Path(__file__).resolve().parent.parent / "assets" / "voice"


def called(number: str = "B017", window: str = "B03") -> dict:
    return {"type": "event", "seq": 5, "name": "ticket_called",
            "data": {"ticket": f"20261123-{number}", "number": number, "window": window,
                     "queue": "quick_b", "tier": "main"}}


def test_a_call_is_read_digit_by_digit_with_the_window_name() -> None:
    assert speech_for(called(), LAYOUT) == [
        "请", "B", "零", "一", "七", "号", "到", "综合受理窗口", "B", "零", "三", "办理"]


def test_a_recall_is_announced_again_the_same_way() -> None:
    recall = {"name": "ticket_recalled",
              "data": {"ticket": "20261123-B017", "number": "B017", "window": "B03",
                       "recalls": 1}}
    assert speech_for(recall, LAYOUT) == speech_for(called(), LAYOUT)


def test_other_events_say_nothing() -> None:
    assert speech_for({"name": "ticket_issued", "data": {"number": "B001"}}, LAYOUT) == []


def test_letters_and_digits() -> None:
    assert read_out("A100") == ["A", "一", "零", "零"]
    assert read_out("zx9") == ["Z", "X", "九"]
    assert read_out("咨询辅导窗口A15") == ["咨询辅导窗口", "A", "一", "五"]
    assert read_out("1号 窗口") == ["一", "号", "窗口"]


def test_unknown_window_reads_its_id_and_templates_change_the_words() -> None:
    assert speech_for(called("C204", "C09"), {}, "{number} {window_id}") == [
        "C", "二", "零", "四", "C", "零", "九"]
    assert speech_for(called(), LAYOUT, "请{number}号到{window}") == [
        "请", "B", "零", "一", "七", "号到", "综合受理窗口", "B", "零", "三"]
    assert speech_for(called(), LAYOUT, "{queue} {number}")[0] == "马上办"


def test_template_is_validated_with_a_clear_error() -> None:
    assert validate_template(DEFAULT_TEMPLATE) == DEFAULT_TEMPLATE
    with pytest.raises(TemplateError, match=r"unknown placeholder \{numbr\}.*\{number\}"):
        validate_template("请 {numbr} 号")
    with pytest.raises(TemplateError, match="format spec"):
        validate_template("{number:>5}")
    with pytest.raises(TemplateError, match="brace"):
        validate_template("请 {number 号")
    with pytest.raises(TemplateError, match="empty"):
        validate_template("  ")
    with pytest.raises(TemplateError):
        Announcer(SilentBackend(), template="{ticket}")


def test_voice_config_from_a_toml_table() -> None:
    import tomllib

    table = tomllib.loads('[voice]\ntemplate = "请{number}号到{window}"\nrepeats = 3\n'
                          'max_age = 0\nbackend = "silent"\n')["voice"]
    config = VoiceConfig.from_dict(table)
    assert config.repeats == 3 and config.max_age is None
    announcer = config.announcer()
    assert isinstance(announcer.backend, SilentBackend) and announcer.template == table["template"]
    announcer.close()
    assert VoiceConfig.from_dict(None) == VoiceConfig()
    with pytest.raises(TemplateError, match=r"\{windw\}"):
        VoiceConfig.from_dict({"template": "请 {number} 到 {windw}"})
    with pytest.raises(VoiceError, match="unknown keys"):
        VoiceConfig.from_dict({"templates": "x"})
    with pytest.raises(VoiceError, match="backend"):
        VoiceConfig.from_dict({"backend": "festival"})


def test_a_burst_of_ten_calls_is_said_in_order_twice_each_never_overlapping() -> None:
    backend = SilentBackend(seconds_per_token=0.001)
    announcer = Announcer(backend, pause_s=0.0)
    numbers = [f"B{n:03d}" for n in range(1, 11)]
    for number in numbers:
        announcer.announce(called(number), LAYOUT)
    assert announcer.wait_idle(10)
    announcer.close()
    assert len(backend.spoken) == 20
    heard = [s.tokens for s in backend.spoken]
    expected = [speech_for(called(n), LAYOUT) for n in numbers for _ in range(2)]
    assert heard == expected
    for before, after in itertools.pairwise(backend.spoken):
        assert before.end <= after.start
    assert not announcer.dropped


def test_calls_from_many_threads_never_overlap() -> None:
    backend = SilentBackend(seconds_per_token=0.0005)
    announcer = Announcer(backend, pause_s=0.0, repeats=1)
    workers = [threading.Thread(target=announcer.announce, args=(called(f"A{n:03d}"), LAYOUT))
               for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert announcer.wait_idle(10)
    announcer.close()
    assert len(backend.spoken) == 8
    spans = sorted((s.start, s.end) for s in backend.spoken)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


def test_stale_announcements_are_skipped_and_kept_in_dropped() -> None:
    now = [100.0]
    backend = SilentBackend()
    gate, entered = threading.Event(), threading.Event()

    class Slow:
        def speak(self, tokens):
            entered.set()
            gate.wait(5)
            backend.speak(tokens)

    announcer = Announcer(Slow(), repeats=1, pause_s=0.0, max_age=30, clock=lambda: now[0])
    announcer.announce(called("B001"), LAYOUT)
    assert entered.wait(5)  # B001 is being said
    announcer.announce(called("B002"), LAYOUT)
    now[0] += 45           # B002 has now waited 45 s in the queue
    gate.set()
    assert announcer.wait_idle(5)
    announcer.close()
    assert [s.tokens[1:5] for s in backend.spoken] == [["B", "零", "零", "一"]]
    assert [d.number for d in announcer.dropped] == ["B002"]


def test_a_failing_backend_does_not_stop_the_queue() -> None:
    backend = SilentBackend()

    class Flaky:
        calls = 0

        def speak(self, tokens):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise OSError("sound card gone")
            backend.speak(tokens)

    announcer = Announcer(Flaky(), repeats=1, pause_s=0.0)
    announcer.announce(called("B001"), LAYOUT)
    announcer.announce(called("B002"), LAYOUT)
    assert announcer.wait_idle(5)
    announcer.close()
    assert [s.tokens[4] for s in backend.spoken] == ["二"]


# ---------------------------------------------------------------- clips


def tone(path: Path, seconds: float, freq: float = 440.0, rate: int = 8000) -> Path:
    n = int(seconds * rate)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i
                                                                       / rate)))
                               for i in range(n)))
    return path


def test_concatenation_has_the_summed_length(tmp_path: Path) -> None:
    parts = [tone(tmp_path / f"t{i}.wav", s) for i, s in enumerate((0.25, 0.5, 0.125))]
    out = tmp_path / "out.wav"
    assert concat_wavs(parts, out) == pytest.approx(0.875)
    assert wav_seconds(out) == pytest.approx(0.875)
    assert concat_wavs(parts, out, gap_s=0.1) == pytest.approx(1.075)
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)


def test_clips_of_different_formats_are_refused(tmp_path: Path) -> None:
    a = tone(tmp_path / "a.wav", 0.1, rate=8000)
    b = tone(tmp_path / "b.wav", 0.1, rate=16000)
    with pytest.raises(VoiceError, match="differs"):
        concat_wavs([a, b], tmp_path / "out.wav")


def test_clip_backend_with_tone_clips_and_a_fake_player(tmp_path: Path) -> None:
    lengths = {"请": 0.2, "号": 0.1, "到": 0.1, "办理": 0.3, "B": 0.05,
               **{d: 0.05 for d in "零一二三四五六七八九"}, "综合受理窗口": 0.4}
    lines = ["[clips]"]
    for n, (token, seconds) in enumerate(lengths.items()):
        tone(tmp_path / f"c{n}.wav", seconds, freq=300 + 20 * n)
        lines.append(f'"{token}" = "c{n}.wav"')
    (tmp_path / "index.toml").write_text("\n".join(lines), encoding="utf-8")
    played: list[float] = []
    backend = ClipBackend(tmp_path, gap_s=0.0, player=lambda p: played.append(wav_seconds(p)))
    tokens = speech_for(called(), LAYOUT)
    backend.speak(tokens)
    assert played == [pytest.approx(sum(lengths[t] for t in tokens))]
    with pytest.raises(VoiceUnavailable, match="no voice clip for '咨询辅导窗口'"):
        backend.clips_for(speech_for(called("B001", "A15"), LAYOUT))


def test_clip_backend_without_an_index_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(VoiceUnavailable, match="voice_build"):
        ClipBackend(tmp_path, player=lambda p: None)


@pytest.mark.skipif(not (VOICE_DIR / "index.toml").is_file(), reason="clips not built")
def test_the_committed_clips_cover_a_sample_hall_call(tmp_path: Path) -> None:
    backend = ClipBackend(VOICE_DIR, player=lambda p: None)
    for window in ("B03", "A15"):
        tokens = speech_for(called("B017", window), LAYOUT)
        seconds = backend.render(tokens, tmp_path / "call.wav")
        assert 2.0 < seconds < 15.0
