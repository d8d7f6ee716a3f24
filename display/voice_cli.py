"""`onewindow voice-check`: is a clip pack complete, readable, and (``--tones``) heard
as the right Mandarin? One line per problem; exit 1 when there is any."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from display.voice import VOICE_DIR
from display.voice_tokens import SAMPLE_HALL, TokenError, clip_name, hall_tokens, pinyin


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("voice-check", help="check a voice clip pack (the shipped clips or a "
                       "hall's own recordings): missing tokens, format, syllables and tones")
    p.add_argument("--pack", default=str(VOICE_DIR), help="the pack's folder (default: the "
                   "shipped clips)")
    p.add_argument("--hall", default=str(SAMPLE_HALL), help="the hall whose calls the pack "
                   "must say (letters of its prefixes and window ids, its window names)")
    p.add_argument("--all-letters", action="store_true", help="require all 26 letters")
    p.add_argument("--tones", action="store_true", help="also hear every clip: syllable "
                   "count and length, each syllable's tone from its pitch")
    p.add_argument("--list", action="store_true", help="print the tokens to record (token, "
                   "file name, pinyin) and exit")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dispatcher.hall import HallConfigError

    try:
        tokens = hall_tokens(Path(args.hall), all_letters=args.all_letters)
    except (HallConfigError, OSError) as exc:
        print(f"error: --hall {args.hall}: {exc}", file=sys.stderr)
        return 2
    if args.list:
        for token in tokens:
            try:
                reading = " ".join(pinyin(token))
            except TokenError:
                reading = "?"
            print(f"{token}\t{clip_name(token)}\t{reading}")
        return 0
    pack = Path(args.pack)
    if not pack.is_dir():
        print(f"error: --pack {pack}: not a folder", file=sys.stderr)
        return 2
    from display.voice_pack import check_pack

    report = check_pack(pack, tokens, tones=args.tones)
    for line in report.problems:
        print(line)
    heard = f", {sum(c.ok for c in report.clips)}/{len(report.clips)} heard right" \
        if args.tones else ""
    verdict = "incomplete or wrong" if report.problems else "complete"
    print(f"{pack}: {report.tokens} tokens, {len(report.problems)} problem(s){heard}: "
          f"{verdict}")
    return 1 if report.problems else 0
