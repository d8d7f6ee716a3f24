"""A clip pack — the shipped clips, or a hall's own recordings — and its check.

A pack is a folder with one WAV per token (display.voice_tokens): ``qing.wav``,
``hao.wav``, ``dao.wav``, ``banli.wav``, ``digit_0.wav``–``digit_9.wav``,
``letter_A.wav``…, and each window word under its own name (``综合受理窗口.wav``).
An ``index.toml`` with ``[clips]`` token = "file" may name the files otherwise (the
shipped pack does); ``[readings]`` token = "pinyin" gives a word's reading where
the dictionary would guess wrong.

Every clip: mono, 16-bit PCM, 16–48 kHz, the rate of most clips, 0.1–6 s, not silent.
"""

from __future__ import annotations

import tomllib
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from display.voice import DIGITS
from display.voice_check import ClipResult, check_clip, measure, speaker_range
from display.voice_tokens import LETTERS, WORD_FILES, TokenError, clip_name, pinyin

RATES = (16000, 48000)
SECONDS = (0.1, 6.0)
SILENT_DBFS = -40.0


def read_index(directory: Path) -> dict:
    index = directory / "index.toml"
    if not index.is_file():
        return {}
    with index.open("rb") as fh:
        return tomllib.load(fh)


def token_for(filename: str) -> str | None:
    """The token a conventionally named file says (None: not a clip name)."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or ext.lower() != "wav":
        return None
    by_file = {v: k for k, v in WORD_FILES.items()}
    if stem in by_file:
        return by_file[stem]
    if stem.startswith("digit_") and stem[6:].isdigit() and len(stem) == 7:
        return DIGITS[int(stem[6])]
    if stem.startswith("letter_") and stem[7:] in LETTERS:
        return stem[7:]
    return stem if stem and not stem.isascii() else None


def pack_files(directory: Path) -> dict[str, Path]:
    """token → file: the conventionally named files, then index.toml's ``[clips]``."""
    files = {}
    for path in sorted(directory.glob("*.wav")):
        token = token_for(path.name)
        if token is not None:
            files[token] = path
    for token, name in read_index(directory).get("clips", {}).items():
        files[str(token)] = directory / str(name)
    return files


@dataclass
class PackReport:
    tokens: int
    problems: list[str] = field(default_factory=list)
    clips: list[ClipResult] = field(default_factory=list)


@dataclass(frozen=True)
class WavInfo:
    channels: int
    width: int
    rate: int
    seconds: float
    peak: float          # of full scale


def wav_info(path: Path) -> WavInfo | str:
    """The clip's format, or why it cannot be read."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        return f"unreadable: {exc}"
    peak = 0.0
    if width == 2 and frames:
        peak = float(np.abs(np.frombuffer(frames, dtype="<i2").astype(np.int32)).max()) / 32768
    return WavInfo(channels, width, rate, len(frames) / max(channels * width, 1) / rate, peak)


def _format_problem(info: WavInfo, rate: int) -> str | None:
    if info.channels != 1 or info.width != 2:
        return f"{info.channels} channel(s), {8 * info.width}-bit: need mono 16-bit PCM"
    if not RATES[0] <= info.rate <= RATES[1]:
        return f"{info.rate} Hz: need {RATES[0]}–{RATES[1]} Hz"
    if info.rate != rate:
        return f"{info.rate} Hz, the other clips {rate} Hz: record all at one rate"
    if not SECONDS[0] <= info.seconds <= SECONDS[1]:
        return f"{info.seconds:.2f} s long: need {SECONDS[0]}–{SECONDS[1]} s"
    if info.peak <= 10 ** (SILENT_DBFS / 20):
        return f"silent (peak {20 * np.log10(info.peak + 1e-9):.0f} dBFS)"
    return None


def check_pack(directory: Path, tokens: list[str], *, tones: bool = False) -> PackReport:
    """Every token has a readable clip of the right format; with ``tones`` each clip
    is also heard (display.voice_check). One line per problem."""
    report = PackReport(len(tokens))
    files = pack_files(directory)
    readings = {str(k): str(v) for k, v in read_index(directory).get("readings", {}).items()}
    traces = read_index(directory).get("trace", {})
    infos: dict[str, tuple[Path, WavInfo | str]] = {}
    for token in tokens:
        path = files.get(token)
        if path is None or not path.is_file():
            name = path.name if path is not None else clip_name(token)
            report.problems.append(f"{token}: missing ({name})")
        else:
            infos[token] = (path, wav_info(path))
    rates = Counter(i.rate for _, i in infos.values() if isinstance(i, WavInfo))
    rate = rates.most_common(1)[0][0] if rates else 0      # the pack's rate: the most clips'
    good: dict[str, Path] = {}
    for token, (path, info) in infos.items():
        problem = info if isinstance(info, str) else _format_problem(info, rate)
        if problem:
            report.problems.append(f"{path.name} ({token}): {problem}")
        else:
            good[token] = path
    if tones and good:
        measured = {token: measure(path) for token, path in good.items()}
        rng = speaker_range(list(measured.values()))
        for token, path in good.items():
            try:
                expected = pinyin(token, readings)
            except TokenError as exc:
                report.problems.append(f"{path.name} ({token}): {exc}")
                continue
            result = check_clip(token, path, expected, measured[token], rng, traces.get(token))
            report.clips.append(result)
            report.problems += [f"{path.name} ({token}): {p}" for p in result.problems]
    return report
