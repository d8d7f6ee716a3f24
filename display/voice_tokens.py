"""The tokens a hall's announcements are made of, with their Mandarin readings.

A clip pack (assets/voice/, or a hall's own recording) has one WAV per token:

* the template's words 请 号 到 办理, the digits 零–九 (read one by one);
* the letters of the hall's ticket numbers and window ids, read the way a Chinese
  announcer reads them, as Mandarin syllables (B → bi1, W → da1 bu3 liu1);
* the words of the hall's window names (综合受理窗口 …, letters and digits removed).

``pinyin(token)`` is the reading with tone numbers as spoken (third-tone sandhi
applied: 辅导 fu3 dao3 is said fu2 dao3); ``clip_name(token)`` the file's name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from display.voice import DIGITS, read_out

WORDS = {"请": "qing3", "号": "hao4", "到": "dao4", "办理": "ban4 li3"}
WORD_FILES = {"请": "qing", "号": "hao", "到": "dao", "办理": "banli"}
DIGIT_PINYIN = ("ling2", "yi1", "er4", "san1", "si4", "wu3", "liu4", "qi1", "ba1", "jiu3")
#: letters as a Chinese announcer says them (Mandarin syllables, no English sounds)
LETTERS = {
    "A": "ei1", "B": "bi1", "C": "xi1", "D": "di1", "E": "yi1", "F": "ai1 fu1",
    "G": "ji1", "H": "ei1 qi1", "I": "ai1", "J": "jie1", "K": "kai1", "L": "ai1 le1",
    "M": "ai1 mu1", "N": "en1", "O": "ou1", "P": "pi1", "Q": "qiu1", "R": "a1 er3",
    "S": "ai1 si1", "T": "ti1", "U": "you1", "V": "wei1", "W": "da1 bu3 liu1",
    "X": "ai1 ke4 si1", "Y": "wai1", "Z": "zei4",
}
SAMPLE_HALL = Path(__file__).resolve().parent.parent / "assets" / "halls" / "sample.toml"
SYLLABLE = re.compile(r"^[a-zü]+[1-5]$")


class TokenError(ValueError):
    """A token without a known reading, or a malformed pinyin override."""


def sandhi(syllables: list[str]) -> list[str]:
    """Third-tone sandhi within a word: a 3rd tone before a 3rd tone is said as a 2nd."""
    out = list(syllables)
    for i in range(len(out) - 1):
        if syllables[i].endswith("3") and syllables[i + 1].endswith("3"):
            out[i] = out[i][:-1] + "2"
    return out


def pinyin(token: str, overrides: dict[str, str] | None = None) -> list[str]:
    """The syllables of ``token`` with tone numbers, as said (neutral tone: 5)."""
    if overrides and token in overrides:
        text = overrides[token]
    elif token in WORDS:
        text = WORDS[token]
    elif token in DIGITS:
        text = DIGIT_PINYIN[DIGITS.index(token)]
    elif token in LETTERS:
        text = LETTERS[token]
    else:
        from pypinyin import Style, lazy_pinyin

        syllables = lazy_pinyin(token, style=Style.TONE3, neutral_tone_with_five=True,
                                v_to_u=True)
        return sandhi(syllables) if all(SYLLABLE.match(s) for s in syllables) else _bad(token)
    syllables = text.split()
    if not syllables or not all(SYLLABLE.match(s) for s in syllables):
        raise TokenError(f"{token}: reading {text!r} is not pinyin with tone numbers "
                         "(e.g. zong1 he2)")
    return syllables


def _bad(token: str) -> list[str]:
    raise TokenError(f"{token!r} has characters without a Mandarin reading")


def tones(syllables: list[str]) -> list[int]:
    return [int(s[-1]) for s in syllables]


def clip_name(token: str) -> str:
    """The clip's file name: qing.wav, digit_0.wav, letter_B.wav; a window word is
    named by itself (综合受理窗口.wav), so a hall can record one without a table."""
    if token in WORD_FILES:
        return f"{WORD_FILES[token]}.wav"
    if token in DIGITS:
        return f"digit_{DIGITS.index(token)}.wav"
    if re.fullmatch(r"[A-Z]", token):
        return f"letter_{token}.wav"
    return f"{token}.wav"


def shipped_name(token: str) -> str:
    """ASCII names for the clips in the repository (hash of the word)."""
    name = clip_name(token)
    if name.isascii():
        return name
    return f"word_{hashlib.sha1(token.encode()).hexdigest()[:10]}.wav"


def hall_tokens(hall_file: Path | None, *, all_letters: bool = False) -> list[str]:
    """Every token a hall's calls need, in a stable order: the words, the digits, the
    letters (of its ticket prefixes and window ids; all 26 with ``all_letters``), the
    window names' words."""
    letters: set[str] = set()
    words: list[str] = []
    if hall_file is not None:
        from dispatcher.hall import load_hall

        hall = load_hall(hall_file)
        texts = [q.prefix for q in hall.queues.values()]
        texts += [f"{w.name} {w.id}" for w in hall.windows.values()]
        for token in (t for text in texts for t in read_out(text)):
            if token.isascii() and token.isalpha():
                letters.add(token)
            elif token not in DIGITS:
                words.append(token)
    if all_letters or hall_file is None:
        letters = set(LETTERS)
    ordered = [*WORDS, *DIGITS, *sorted(letters), *words]
    return list(dict.fromkeys(ordered))
