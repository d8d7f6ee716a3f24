"""The voice clips heard as speech, trusting no generator: every shipped clip has its
syllables (count, length) and its Mandarin tones (an F0 tracker of our own), and its
phoneme trace has no English; the first build's clips (tests/voice_old, espeak-ng
``cmn`` reading 零 as "ling two") are refused; a hall's recorded pack is checked
for missing tokens, unreadable files and the sample format; `onewindow voice-check`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import wave
from pathlib import Path

import numpy as np

from display.pitch import read_wav, syllables, track
from display.voice import VOICE_DIR, ClipBackend, speech_for
from display.voice_build import SPEED, VOICE
from display.voice_check import MIN_MARGIN, SYLLABLE_S, measure, trace_problems
from display.voice_pack import check_pack, pack_files
from display.voice_tokens import SAMPLE_HALL, clip_name, hall_tokens, pinyin, tones

ROOT = Path(__file__).resolve().parent.parent
OLD = Path(__file__).resolve().parent / "voice_old"
INDEX = tomllib.loads((VOICE_DIR / "index.toml").read_text(encoding="utf-8"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def sine(path: Path, seconds: float, freq: float, rate: int = 16000, channels: int = 1,
         glide: float = 0.0) -> Path:
    """A voiced-like tone, its pitch moving by ``glide`` Hz over the clip."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    phase = 2 * np.pi * np.cumsum(freq + glide * t / seconds) / rate
    pcm = (8000 * np.sin(phase) * np.hanning(n)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(pcm, channels).tobytes())
    return path


# ---------------------------------------------------------------- the tracker itself


def test_the_f0_tracker_follows_a_known_pitch(tmp_path: Path) -> None:
    level = track(*read_wav(sine(tmp_path / "a.wav", 0.5, 120.0)))
    voiced = level.f0[level.f0 > 0]
    assert len(voiced) > 30 and np.allclose(voiced, 120.0, rtol=0.01)
    rise = track(*read_wav(sine(tmp_path / "b.wav", 0.5, 100.0, glide=60.0)))
    voiced = rise.f0[rise.f0 > 0]
    assert voiced[-5:].mean() - voiced[:5].mean() > 35      # a rising pitch rises
    noise = np.random.default_rng(4).normal(0, 0.2, 16000)
    assert (track(noise, 16000).f0 > 0).mean() < 0.1         # noise is not voiced


def test_two_sounds_with_a_gap_are_two_syllables(tmp_path: Path) -> None:
    a, b = sine(tmp_path / "a.wav", 0.25, 110.0), sine(tmp_path / "b.wav", 0.3, 90.0)
    samples = np.concatenate([read_wav(a)[0], np.zeros(1600), read_wav(b)[0]])
    spans = syllables(track(samples, 16000))
    assert len(spans) == 2 and abs(spans[1].seconds - 0.3) < 0.1


# ---------------------------------------------------------------- the shipped clips


def test_the_readings_are_the_documented_pinyin() -> None:
    assert pinyin("零") == ["ling2"] and pinyin("号") == ["hao4"] and pinyin("B") == ["bi1"]
    assert pinyin("咨询辅导窗口") == ["zi1", "xun2", "fu2", "dao3", "chuang1", "kou3"]  # 3-3
    for token, reading in INDEX["readings"].items():
        assert reading.split() == pinyin(token), token


def test_every_shipped_clip_is_heard_as_its_mandarin() -> None:
    tokens = list(INDEX["clips"])
    assert set(hall_tokens(SAMPLE_HALL, all_letters=True)) <= set(tokens)
    report = check_pack(VOICE_DIR, tokens, tones=True)
    assert report.problems == []
    assert len(report.clips) == len(tokens) == 45
    for clip in report.clips:
        assert [s.heard for s in clip.syllables] == tones(clip.expected), clip.token
        for s in clip.syllables:
            assert SYLLABLE_S[0] <= s.seconds <= SYLLABLE_S[1]
            assert s.margin is not None and s.margin >= MIN_MARGIN, clip.token


def test_every_shipped_trace_is_mandarin_only() -> None:
    assert set(INDEX["trace"]) == set(INDEX["clips"])
    for token, trace in INDEX["trace"].items():
        assert "(en)" not in trace and trace_problems(trace, tones(pinyin(token))) == []


def test_the_generator_still_says_what_the_index_records() -> None:
    assert shutil.which("espeak-ng"), "espeak-ng is a Debian package of the Makefile"
    for token in ("零", "号", "W", "综合受理窗口"):
        said = subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(SPEED), "-x", "-q",
                               INDEX["readings"][token]], capture_output=True, text=True,
                              check=True).stdout.strip()
        assert said == INDEX["trace"][token]
    plain = subprocess.run(["espeak-ng", "-v", "cmn", "-x", "-q", "零"], capture_output=True,
                           text=True, check=True).stdout
    assert "(en)" in plain      # why the clips are not made from the characters


def test_the_first_builds_clips_are_refused() -> None:
    index = tomllib.loads((OLD / "index.toml").read_text(encoding="utf-8"))
    report = check_pack(OLD, list(index["clips"]), tones=True)
    assert report.clips and not any(c.ok for c in report.clips)
    text = "\n".join(report.problems)
    assert "digit_0.wav (零): 2 syllable(s) heard, 1 expected (ling2)" in text
    assert "switches language to en" in text and "English phonemes" in text
    assert "letter_B.wav (B): syllable 1 (bi1): tone 1 expected, sounds like tone" in text


def test_a_whole_call_sounds_like_a_call(tmp_path: Path) -> None:
    layout = {"windows": {"B03": {"name": "B03号窗口"}}}
    tokens = speech_for({"name": "ticket_called", "data": {"number": "B017", "window": "B03"}},
                        layout)
    assert tokens == ["请", "B", "零", "一", "七", "号", "到", "B", "零", "三", "号窗口", "办理"]
    out = tmp_path / "call.wav"
    seconds = ClipBackend(VOICE_DIR, player=lambda p: None).render(tokens, out)
    heard = measure(out)
    assert len(heard.spans) == sum(len(pinyin(t)) for t in tokens) == 15
    assert 3.0 < seconds < 8.0                     # 2–5 syllables a second
    assert all(0.15 < s.seconds < 0.7 for s in heard.spans)


# ---------------------------------------------------------------- a hall's pack


def hall_pack(folder: Path) -> Path:
    """The shipped clips copied under the documented names, no index.toml."""
    folder.mkdir()
    for token, name in INDEX["clips"].items():
        shutil.copy(VOICE_DIR / name, folder / clip_name(token))
    return folder


def test_a_pack_without_an_index_is_read_by_its_file_names(tmp_path: Path) -> None:
    pack = hall_pack(tmp_path / "pack")
    assert (pack / "综合受理窗口.wav").is_file() and (pack / "digit_7.wav").is_file()
    assert pack_files(pack)["综合受理窗口"] == pack / "综合受理窗口.wav"
    assert check_pack(pack, hall_tokens(SAMPLE_HALL), tones=True).problems == []
    backend = ClipBackend(pack, player=lambda p: None)
    assert backend.clips_for(["请", "B"]) == [pack / "qing.wav", pack / "letter_B.wav"]


def test_a_broken_pack_gets_one_line_per_problem(tmp_path: Path) -> None:
    pack = hall_pack(tmp_path / "pack")
    (pack / "digit_7.wav").unlink()
    (pack / "综合受理窗口.wav").unlink()
    (pack / "hao.wav").write_bytes(b"RIFF not really")
    sine(pack / "dao.wav", 0.4, 110.0, channels=2)
    sine(pack / "letter_B.wav", 0.4, 110.0, rate=8000)
    sine(pack / "qing.wav", 0.4, 110.0, rate=44100)
    report = check_pack(pack, hall_tokens(SAMPLE_HALL))
    unreadable = [p for p in report.problems if p.startswith("hao.wav (号): unreadable: ")]
    assert len(unreadable) == 1        # the wave module's own words follow
    assert sorted(report.problems) == sorted([*unreadable,
        "七: missing (digit_7.wav)",
        "综合受理窗口: missing (综合受理窗口.wav)",
        "dao.wav (到): 2 channel(s), 16-bit: need mono 16-bit PCM",
        "letter_B.wav (B): 8000 Hz: need 16000–48000 Hz",
        "qing.wav (请): 44100 Hz, the other clips 22050 Hz: record all at one rate",
    ])


def test_voice_check_cli(tmp_path: Path) -> None:
    shipped = cli("voice-check", "--tones", "--all-letters")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert shipped.stdout.strip().endswith("44 tokens, 0 problem(s), 44/44 heard right: complete")
    pack = hall_pack(tmp_path / "pack")
    (pack / "digit_7.wav").unlink()
    sine(pack / "digit_8.wav", 0.5, 98.0, rate=22050, glide=-20)   # a falling hum: ba4
    broken = cli("voice-check", "--pack", str(pack), "--tones")
    assert broken.returncode == 1 and not broken.stderr
    lines = broken.stdout.splitlines()
    assert "七: missing (digit_7.wav)" in lines
    assert any(line.startswith("digit_8.wav (八): ") for line in lines)
    listing = cli("voice-check", "--list")
    assert "综合受理窗口\t综合受理窗口.wav\tzong1 he2 shou4 li3 chuang1 kou3" in listing.stdout
    for args in (["voice-check", "--pack", str(tmp_path / "nope")],
                 ["voice-check", "--hall", str(tmp_path / "nope.toml")],
                 ["display", "--voice", str(tmp_path / "nope"), "--token", "t"]):
        done = cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, args
        assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error:")
