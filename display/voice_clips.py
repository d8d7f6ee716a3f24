"""Build the voice clips of the ClipBackend with espeak-ng.

    python -m display.voice_clips --out assets/voice [--hall assets/halls/sample.toml]
                                  [--word 不动产登记窗口 ...] [--voice cmn]

One WAV per token: 请 号 到 办理, the digits 零–九, the letters A–Z, and the words
of the hall's window names (综合受理窗口 …, letters and digits removed), plus any
``--word``. Leading and trailing silence is trimmed to keep the files small.
``index.toml`` maps each token to its file (ASCII file names).
"""

from __future__ import annotations

import argparse
import array
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
import wave
from pathlib import Path

from display.voice import DIGITS, read_out

FIXED = {"请": "qing", "号": "hao", "到": "dao", "办理": "banli"}
SAMPLE_HALL = Path(__file__).resolve().parent.parent / "assets" / "halls" / "sample.toml"


def clip_name(token: str) -> str:
    if token in FIXED:
        return f"{FIXED[token]}.wav"
    if token in DIGITS:
        return f"digit_{DIGITS.index(token)}.wav"
    if re.fullmatch(r"[A-Z]", token):
        return f"letter_{token}.wav"
    return f"word_{hashlib.sha1(token.encode()).hexdigest()[:10]}.wav"


def hall_words(hall_file: Path) -> list[str]:
    """The spoken words of the window names in a hall TOML ({id} removed)."""
    with hall_file.open("rb") as fh:
        hall = tomllib.load(fh)
    words: list[str] = []
    for entry in hall.get("windows", []):
        name = str(entry.get("name", "")).replace("{id}", "")
        for token in read_out(name):
            if len(token) > 1 or not token.isascii():
                words.append(token)
    return words


def tokens_to_build(hall_file: Path | None, extra: list[str]) -> list[str]:
    tokens = [*FIXED, *DIGITS, *(chr(c) for c in range(ord("A"), ord("Z") + 1))]
    if hall_file is not None:
        tokens += hall_words(hall_file)
    tokens += extra
    seen: dict[str, None] = {}
    for token in tokens:
        seen.setdefault(token, None)
    return list(seen)


def trim_silence(path: Path, threshold: int = 300, margin_s: float = 0.03) -> None:
    """Cut leading/trailing samples quieter than ``threshold`` (16-bit mono)."""
    with wave.open(str(path), "rb") as src:
        params = src.getparams()
        data = src.readframes(src.getnframes())
    if params.sampwidth != 2 or params.nchannels != 1:
        return
    samples = array.array("h", data)
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    if not loud:
        return
    margin = int(margin_s * params.framerate)
    start, end = max(loud[0] - margin, 0), min(loud[-1] + margin + 1, len(samples))
    with wave.open(str(path), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(params.framerate)
        dst.writeframes(samples[start:end].tobytes())


def build(out: Path, tokens: list[str], voice: str = "cmn", espeak: str = "espeak-ng") -> int:
    """Make every clip and index.toml; returns the total size in bytes."""
    if shutil.which(espeak) is None:
        raise SystemExit(f"{espeak} is not installed (apt-get install espeak-ng)")
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# token = clip file; made by `python -m display.voice_clips`", "[clips]"]
    total = 0
    for token in tokens:
        name = clip_name(token)
        path = out / name
        subprocess.run([espeak, "-v", voice, "-w", str(path), token], check=True,
                       capture_output=True, timeout=60)
        trim_silence(path)
        total += path.stat().st_size
        lines.append(f'"{token}" = "{name}"')
    (out / "index.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m display.voice_clips",
                                     description="build the voice clips with espeak-ng")
    parser.add_argument("--out", default="assets/voice", help="clip directory")
    parser.add_argument("--hall", default=str(SAMPLE_HALL),
                        help="hall TOML whose window names are recorded")
    parser.add_argument("--word", action="append", default=[], help="one more word to record")
    parser.add_argument("--voice", default="cmn", help="espeak-ng voice (default cmn)")
    args = parser.parse_args(argv)
    tokens = tokens_to_build(Path(args.hall) if args.hall else None, args.word)
    total = build(Path(args.out), tokens, args.voice)
    print(f"{len(tokens)} clips in {args.out}, {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
