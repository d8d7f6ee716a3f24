"""Check voice clips as speech, trusting no generator.

For each clip, against the token's pinyin (display.voice_tokens):

* **syllables**: the count of syllable nuclei (display.pitch) equals the pinyin's, and
  each syllable lasts ``SYLLABLE_S`` (0.10–0.80 s);
* **tones**: each syllable's F0 contour (YIN), on the speaker's own range (5th–95th
  percentile of every voiced frame of the pack, as Chao's 1–5 scale), is nearest to
  its tone's template: 1 high level 55, 2 rising 35, 3 low 21 or dipping 214,
  4 falling 51; by at least ``MIN_MARGIN`` (Chao units, RMS) over every other tone. A
  neutral tone (5) only needs its syllable;
* **trace** (clips made by a synthesiser that gives one, ``[trace]`` in index.toml):
  no language switch ``(en)``, no English-only phoneme, and one tone per syllable,
  the pinyin's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from display.pitch import HOP_S, Syllable, Track, read_wav, syllables, track

SYLLABLE_S = (0.10, 0.80)
MIN_MARGIN = 0.25
POINTS = 5
TEMPLATES: dict[int, tuple[tuple[float, ...], ...]] = {
    1: ((5, 5, 5, 5, 5), (4, 4.5, 5, 5, 5)),     # the second: after a voiced onset
    2: ((3, 3.5, 4, 4.5, 5), (2, 2, 3, 4, 5)),
    3: ((2, 1.5, 1, 2.5, 4), (2, 1.5, 1, 1, 1), (2, 1, 1, 1.5, 2.5)),
    4: ((5, 4, 3, 2, 1),),
}
TRACE_TONES = {"55": 1, "35": 2, "214": 3, "21": 3, "51": 4, "11": 5, "22": 5, "33": 5}
#: phoneme symbols of espeak-ng's English that its Mandarin never uses
ENGLISH = re.compile(r"[IUVTD]|:")


@dataclass
class SyllableResult:
    seconds: float
    tone: int | None             # the expected tone
    heard: int | None            # the nearest template's tone (None: no pitch)
    margin: float | None         # distance of the next best tone minus the expected's


@dataclass
class ClipResult:
    token: str
    path: Path
    expected: list[str]
    syllables: list[SyllableResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Measured:
    track: Track
    spans: list[Syllable]
    contours: list[np.ndarray]   # semitones re 100 Hz, voiced frames of each nucleus


def measure(path: Path) -> Measured:
    samples, rate = read_wav(path)
    t = track(samples, rate)
    spans = syllables(t)
    contours = []
    for s in spans:
        db, f0 = t.db[s.start:s.end], t.f0[s.start:s.end]
        keep = (f0 > 0) & (db > t.db[s.peak] - 12)
        contours.append(12 * np.log2(f0[keep] / 100.0))
    return Measured(t, spans, contours)


def speaker_range(measured: list[Measured]) -> tuple[float, float]:
    """The 5th and 95th percentile of every voiced nucleus frame, in semitones."""
    values = np.concatenate([c for m in measured for c in m.contours] or [np.zeros(1)])
    lo, hi = np.percentile(values, [5, 95]) if len(values) > 1 else (0.0, 1.0)
    return float(lo), float(max(hi, lo + 2.0))


def chao(contour: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The contour as ``POINTS`` means over equal parts, on the 1–5 scale."""
    parts = np.array_split(contour, POINTS)
    means = np.array([p.mean() if len(p) else np.nan for p in parts])
    means = np.where(np.isnan(means), np.nanmean(means), means)
    return np.clip(1 + 4 * (means - lo) / (hi - lo), 0.0, 6.0)


def tone_distances(levels: np.ndarray) -> dict[int, float]:
    return {tone: min(float(np.sqrt(np.mean((levels - np.array(t)) ** 2))) for t in shapes)
            for tone, shapes in TEMPLATES.items()}


def check_clip(token: str, path: Path, expected: list[str], measured: Measured,
               rng: tuple[float, float], trace: str | None = None) -> ClipResult:
    result = ClipResult(token, path, expected)
    tones = [int(s[-1]) for s in expected]
    if len(measured.spans) != len(expected):
        result.problems.append(f"{len(measured.spans)} syllable(s) heard, "
                               f"{len(expected)} expected ({' '.join(expected)})")
    for n, (span, contour) in enumerate(zip(measured.spans, measured.contours, strict=False)):
        tone = tones[n] if n < len(tones) else None
        heard = margin = None
        if len(contour) >= 3:
            distances = tone_distances(chao(contour, *rng))
            heard = min(distances, key=lambda k: distances[k])
            if tone in distances:
                margin = min(d for k, d in distances.items() if k != tone) - distances[tone]
        result.syllables.append(SyllableResult(span.seconds, tone, heard, margin))
        where = f"syllable {n + 1} ({expected[n] if n < len(expected) else '?'})"
        if not SYLLABLE_S[0] <= span.seconds <= SYLLABLE_S[1]:
            result.problems.append(f"{where}: {span.seconds:.2f} s, outside "
                                   f"{SYLLABLE_S[0]:.2f}–{SYLLABLE_S[1]:.2f} s")
        if tone in TEMPLATES and len(measured.spans) == len(expected):
            if margin is None:
                result.problems.append(f"{where}: no pitch to hear a tone in")
            elif margin < MIN_MARGIN:
                result.problems.append(f"{where}: tone {tone} expected, sounds like tone "
                                       f"{heard} (margin {margin:+.2f})")
    if trace is not None:
        result.problems += trace_problems(trace, tones)
    return result


def trace_problems(trace: str, tones: list[int]) -> list[str]:
    """What is wrong with a synthesiser's phoneme trace for these tones."""
    problems = []
    switches = sorted(set(re.findall(r"\(([a-z-]+)\)", trace)) - {"cmn"})
    if switches:
        problems.append(f"trace {trace!r}: switches language to {', '.join(switches)}")
    english = sorted(set(ENGLISH.findall(re.sub(r"\d+", "", trace))))
    if english:
        problems.append(f"trace {trace!r}: English phonemes {' '.join(english)}")
    said = [TRACE_TONES.get(d, 0) for d in re.findall(r"\d+", trace)]
    if said != tones:
        problems.append(f"trace {trace!r}: tones {said}, expected {tones}")
    return problems


def duration(measured: Measured) -> float:
    return len(measured.track.db) * HOP_S
