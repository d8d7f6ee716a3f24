"""Speech measurements in numpy, trusting no synthesiser: intensity, F0 (YIN) and
syllable nuclei of a mono 16-bit WAV.

* ``read_wav(path)`` → samples in [-1, 1] and the rate (mono 16-bit PCM only).
* ``track(samples, rate)`` → a ``Track``: per 10 ms frame the intensity in dB and the
  F0 in Hz (0 where unvoiced), by YIN (de Cheveigné & Kawahara 2002: the cumulative
  mean normalised difference, absolute threshold, parabolic interpolation).
* ``syllables(track)`` → ``Syllable`` spans: one per intensity peak that is voiced
  and stands out of the dip before it (De Jong & Wempe's syllable nuclei), split at
  the intensity minimum between two nuclei; the first starts where speech starts,
  the last ends where it ends.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HOP_S = 0.01
WINDOW_S = 0.025
F0_MIN, F0_MAX = 60.0, 500.0
YIN_THRESHOLD = 0.15   # the first dip below this is the period
VOICED_MAX = 0.45      # else the deepest dip, voiced if below this
SPEECH_DB = 30.0      # speech: within this of the loudest frame
NUCLEUS_DB = 16.0     # a nucleus: a peak within this of the loudest frame
DIP_DB = 4.0      # a nucleus stands this much above the dip before it


class WavFormatError(ValueError):
    """The file is not a WAV this module can read (mono 16-bit PCM)."""


@dataclass(frozen=True)
class Track:
    rate: int
    db: np.ndarray       # intensity per frame, dB re full scale
    f0: np.ndarray       # Hz per frame, 0 where unvoiced

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.db)) * HOP_S


@dataclass(frozen=True)
class Syllable:
    start: int           # first frame
    end: int             # one past the last frame
    peak: int            # the nucleus frame

    @property
    def seconds(self) -> float:
        return (self.end - self.start) * HOP_S


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise WavFormatError(f"not a PCM WAV file ({exc})") from None
    if channels != 1 or width != 2:
        raise WavFormatError(f"{channels} channel(s), {8 * width}-bit: need mono 16-bit PCM")
    return np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0, rate


def _frames(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    count = max(1 + (len(x) - size) // hop, 0) if len(x) >= size else 0
    if not count:
        return np.zeros((0, size))
    index = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    return x[index]


def _yin(frame: np.ndarray, window: int, lag_min: int, lag_max: int) -> tuple[float, float]:
    """(lag, aperiodicity) of one frame of ``window + lag_max`` samples; lag 0: none."""
    x = frame - frame.mean()
    n = 1 << int(np.ceil(np.log2(len(x) * 2)))
    spectrum = np.fft.rfft(x, n)
    corr = np.fft.irfft(spectrum[: n // 2 + 1] * np.conj(np.fft.rfft(x[:window], n)), n)
    energy = np.concatenate(([0.0], np.cumsum(x * x)))
    taus = np.arange(lag_max + 1)
    diff = energy[window] + (energy[taus + window] - energy[taus]) - 2 * corr[: lag_max + 1]
    diff[0] = 0.0
    running = np.cumsum(diff[1:]) / np.arange(1, lag_max + 1)
    cmnd = np.ones(lag_max + 1)
    cmnd[1:] = diff[1:] / np.where(running > 0, running, 1.0)
    below = np.nonzero(cmnd[lag_min:] < YIN_THRESHOLD)[0]
    if len(below):
        tau = lag_min + int(below[0])
    else:
        tau = lag_min + int(np.argmin(cmnd[lag_min:]))
        if cmnd[tau] >= VOICED_MAX:
            return 0.0, float(cmnd[tau])
    while tau + 1 <= lag_max and cmnd[tau + 1] < cmnd[tau]:
        tau += 1
    if 1 <= tau < lag_max:
        a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
        bend = a - 2 * b + c
        shift = 0.5 * (a - c) / bend if bend > 0 else 0.0
        return tau + float(np.clip(shift, -1, 1)), float(b)
    return float(tau), float(cmnd[tau])


def track(samples: np.ndarray, rate: int) -> Track:
    hop, window = int(rate * HOP_S), int(rate * WINDOW_S)
    lag_min, lag_max = int(rate / F0_MAX), int(np.ceil(rate / F0_MIN))
    padded = np.concatenate((np.zeros(window // 2), samples, np.zeros(window + lag_max)))
    count = max(1, int(np.ceil(len(samples) / hop)))
    rms = np.sqrt(np.mean(_frames(padded, window, hop)[:count] ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms + 1e-9)
    loud = db > db.max() - SPEECH_DB
    f0 = np.zeros(count)
    for i in np.nonzero(loud)[0]:
        start = i * hop
        lag, _ = _yin(padded[start:start + window + lag_max], window, lag_min, lag_max)
        if lag:
            f0[i] = rate / lag
    return Track(rate, db, _clean(f0))


def _clean(f0: np.ndarray) -> np.ndarray:
    """Drop isolated voiced frames and octave jumps (more than 7 semitones off the
    median of the 5 frames around)."""
    out = f0.copy()
    for i in np.nonzero(f0)[0]:
        around = f0[max(i - 2, 0): i + 3]
        voiced = around[around > 0]
        if len(voiced) < 3 or abs(12 * np.log2(f0[i] / np.median(voiced))) > 7:
            out[i] = 0.0
    return out


def _smooth(x: np.ndarray, frames: int = 3) -> np.ndarray:
    kernel = np.ones(frames) / frames
    return np.convolve(np.pad(x, frames // 2, mode="edge"), kernel, mode="valid")


def syllables(t: Track) -> list[Syllable]:
    if not len(t.db):
        return []
    db = _smooth(t.db, 5)
    top = db.max()
    speech = np.nonzero(db > top - SPEECH_DB)[0]
    first, last = int(speech[0]), int(speech[-1]) + 1
    voiced = t.f0 > 0
    peaks: list[int] = []
    for i in range(first, last):
        if not (db[i] >= db[max(i - 1, 0)] and db[i] >= db[min(i + 1, len(db) - 1)]
                and db[i] > top - NUCLEUS_DB and voiced[max(i - 1, 0): i + 2].any()):
            continue
        if peaks and db[peaks[-1]: i + 1].min() > min(db[peaks[-1]], db[i]) - DIP_DB:
            if db[i] > db[peaks[-1]]:       # no dip between: the same nucleus
                peaks[-1] = i
            continue
        peaks.append(i)
    spans: list[Syllable] = []
    for n, peak in enumerate(peaks):
        start = first if n == 0 else spans[-1].end
        end = last if n == len(peaks) - 1 else peak + int(np.argmin(db[peak: peaks[n + 1]]))
        spans.append(Syllable(start, end, peak))
    return spans
