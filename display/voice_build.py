"""Build the shipped voice clips with espeak-ng, in Mandarin, from pinyin.

    python -m display.voice_build [--out assets/voice] [--hall assets/halls/sample.toml]
                                  [--word 不动产登记窗口[=bu2 dong4 chan3 deng1 ji4 chuang1 kou3]]

One WAV per token of ``display.voice_tokens.hall_tokens`` (all 26 letters) plus any
``--word``. Each clip is said by espeak-ng's ``cmn-Latn-pinyin`` voice from the token's
pinyin with tone numbers, never from the characters: the plain ``cmn`` voice of the
espeak-ng packaged here reads the digit of its own pinyin in English (零 → "ling two").
For each clip it runs, with SPEED words a minute::

    espeak-ng -v cmn-Latn-pinyin -s SPEED -w FILE "zong1 he2 shou4 li3 chuang1 kou3"
    espeak-ng -v cmn-Latn-pinyin -s SPEED -x -q "zong1 he2 …"      # the phoneme trace

trims the silence around it, and writes ``index.toml``: ``[clips]`` token = file,
``[readings]`` token = pinyin, ``[trace]`` token = espeak-ng's phonemes (checked by
``display.voice_check``: no language switch, no English phoneme).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

from dispatcher.hall import HallConfigError
from display.pitch import read_wav
from display.voice_tokens import SAMPLE_HALL, TokenError, hall_tokens, pinyin, shipped_name

VOICE = "cmn-Latn-pinyin"
SPEED = 150
#: window-name words the shipped clips also cover (other halls: "B03号窗口", tests)
EXTRA_WORDS = ("咨询辅导窗口", "投诉处理窗口", "统一出件窗口", "号窗口")


def espeak(args: list[str], text: str) -> str:
    result = subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(SPEED), *args, text],
                            check=True, capture_output=True, text=True, timeout=60)
    return result.stdout.strip()


def trim_silence(path: Path, floor_db: float = -45.0, margin_s: float = 0.03) -> None:
    """Cut leading and trailing samples more than ``-floor_db`` below full scale."""
    samples, rate = read_wav(path)
    loud = np.nonzero(np.abs(samples) > 10 ** (floor_db / 20))[0]
    if not len(loud):
        return
    margin = int(margin_s * rate)
    start, end = max(loud[0] - margin, 0), min(loud[-1] + margin + 1, len(samples))
    pcm = np.round(samples[start:end] * 32768).clip(-32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(rate)
        dst.writeframes(pcm.tobytes())


def build(out: Path, tokens: list[str], overrides: dict[str, str]) -> int:
    """Make every clip and index.toml; returns the total size in bytes."""
    out.mkdir(parents=True, exist_ok=True)
    clips, readings, traces = [], [], []
    total = 0
    for token in tokens:
        reading = " ".join(pinyin(token, overrides))
        name = shipped_name(token)
        espeak(["-w", str(out / name)], reading)
        trim_silence(out / name)
        total += (out / name).stat().st_size
        clips.append(f'"{token}" = "{name}"')
        readings.append(f'"{token}" = "{reading}"')
        traces.append(f'"{token}" = "{espeak(["-x", "-q"], reading)}"')
    header = [f"# made by `python -m display.voice_build`: espeak-ng -v {VOICE} -s {SPEED} "
              "from the pinyin below", "[clips]"]
    lines = [*header, *clips, "", "[readings]", *readings, "", "[trace]", *traces]
    (out / "index.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m display.voice_build",
                                     description="build the Mandarin voice clips with espeak-ng")
    parser.add_argument("--out", default="assets/voice", help="clip directory")
    parser.add_argument("--hall", default=str(SAMPLE_HALL),
                        help="hall TOML whose window names are recorded")
    parser.add_argument("--word", action="append", default=[],
                        help="one more word, optionally with its pinyin: 词=ci2")
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print("error: espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 2
    overrides = dict(w.split("=", 1) for w in args.word if "=" in w)
    words = [w.split("=", 1)[0] for w in args.word]
    try:
        tokens = list(dict.fromkeys(
            [*hall_tokens(Path(args.hall), all_letters=True), *EXTRA_WORDS, *words]))
        total = build(Path(args.out), tokens, overrides)
    except (TokenError, HallConfigError, OSError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(tokens)} clips in {args.out}, {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
