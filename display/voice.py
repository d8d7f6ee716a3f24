"""Voice announcements of calls: "请 B 零 一 七 号 到 综合受理窗口 B 零 三 办理", twice.

* ``speech_for(event, hall_layout, template)`` turns a ``ticket_called`` or
  ``ticket_recalled`` event into the token sequence to say (pure, testable).
  Letters are spelled as letters and every digit is read on its own, the Chinese
  way (B017 → "B 零 一 七"); window names are read as the hall configures them.
* ``Announcer`` queues announcements and says them one after another on a worker
  thread, in order, never overlapping; each is said ``repeats`` times (2). Policy
  for bursts: nothing is dropped for being one of many, but an announcement that
  waited longer than ``max_age`` seconds (default 60) is skipped and logged — the
  hall would otherwise hear minutes-old calls; the call stays on the wall screen.
* Backends share one method, ``speak(tokens) -> None``, which blocks until the
  speech has finished: ``SilentBackend`` (tests: records every sequence with its
  start and end times), ``QtTtsBackend`` (QtTextToSpeech with a Chinese voice, when
  the installed PySide6 has the module) and ``ClipBackend`` (pre-recorded WAV clips
  from assets/voice/, joined with the stdlib ``wave`` module, played through
  QtMultimedia when present, else a player command such as ``aplay``).
"""

from __future__ import annotations

import logging
import queue
import shutil
import string
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("onewindow.voice")

DIGITS = "零一二三四五六七八九"
DEFAULT_TEMPLATE = "请 {number} 号 到 {window} 办理"
PLACEHOLDERS = {
    "number": "the ticket number, read out (B017 → B 零 一 七)",
    "window": "the window's configured name (综合受理窗口B03)",
    "window_id": "the window id (B03)",
    "queue": "the queue's configured name (马上办)",
}
ANNOUNCED = ("ticket_called", "ticket_recalled")
PROBE = "probe"     # an Announcer job that only checks the backend can play
VOICE_DIR = Path(__file__).resolve().parent.parent / "assets" / "voice"


class VoiceError(Exception):
    """A voice configuration or backend problem; the text says what to do."""


class TemplateError(VoiceError, ValueError):
    """The announcement template is wrong."""


class VoiceUnavailable(VoiceError):
    """The backend cannot run here (module, voice, clip or player missing)."""


# ---------------------------------------------------------------- what to say


def validate_template(template: str) -> str:
    """Return the template if every ``{placeholder}`` is known; else TemplateError."""
    if not isinstance(template, str) or not template.strip():
        raise TemplateError("the announcement template is empty")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"announcement template {template!r}: {exc} "
                            "(write a literal brace as {{ or }})") from None
    known = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise TemplateError(f"announcement template {template!r}: unknown placeholder "
                                f"{{{name}}}; use {known}")
        if spec or conversion:
            raise TemplateError(f"announcement template {template!r}: {{{name}}} takes no "
                                "format spec or conversion")
    return template


def read_out(text: str) -> list[str]:
    """Tokens for a piece of text: ASCII letters one by one (upper case), digits as
    Chinese digits, other runs (Chinese words) whole; whitespace separates."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isascii() and (char.isalnum() or char.isspace()):
            if word:
                tokens.append(word)
                word = ""
            if char.isdigit():
                tokens.append(DIGITS[int(char)])
            elif char.isalpha():
                tokens.append(char.upper())
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def _name(table: dict[str, Any], key: str) -> str:
    entry = table.get(key)
    if isinstance(entry, dict) and entry.get("name"):
        return str(entry["name"])
    return key


def speech_for(event: dict[str, Any], hall_layout: dict[str, Any] | None,
               template: str = DEFAULT_TEMPLATE) -> list[str]:
    """The tokens to say once for a call or a recall; [] for any other event.

    ``event`` is an event frame (``{"name": …, "data": {…}}``); ``hall_layout`` is the
    snapshot's ``hall`` (names of windows and queues; a missing name reads the id).
    """
    if event.get("name") not in ANNOUNCED:
        return []
    validate_template(template)
    data = event.get("data") or {}
    layout = hall_layout or {}
    window_id = str(data.get("window") or "")
    values = {
        "number": str(data.get("number") or ""),
        "window": _name(layout.get("windows") or {}, window_id),
        "window_id": window_id,
        "queue": _name(layout.get("queues") or {}, str(data.get("queue") or "")),
    }
    tokens: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        tokens += literal.split()
        if name is not None:
            tokens += read_out(values[name])
    return tokens


# ---------------------------------------------------------------- backends


class Backend(Protocol):
    def speak(self, tokens: Sequence[str]) -> None:
        """Say the tokens; return when the speech has finished."""


@dataclass
class Spoken:
    tokens: list[str]
    start: float
    end: float


@dataclass
class SilentBackend:
    """Says nothing; records each sequence with start/end times (``time.monotonic``).
    ``seconds_per_token`` makes speaking take time, so overlap would show."""

    seconds_per_token: float = 0.0
    spoken: list[Spoken] = field(default_factory=list)
    _busy: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def speak(self, tokens: Sequence[str]) -> None:
        if not self._busy.acquire(blocking=False):  # a second speaker at once: record it
            raise VoiceError("SilentBackend.speak called while already speaking")
        try:
            start = time.monotonic()
            if self.seconds_per_token:
                time.sleep(self.seconds_per_token * len(tokens))
            self.spoken.append(Spoken(list(tokens), start, time.monotonic()))
        finally:
            self._busy.release()


def _chinese_voice(engine: Any) -> Any:
    for voice in engine.availableVoices():
        if voice.locale().name().lower().startswith("zh"):
            return voice
    return None


class QtTtsBackend:
    """QtTextToSpeech with a Chinese voice. Raises VoiceUnavailable when the module
    is missing (PySide6-Essentials has no QtTextToSpeech: install PySide6-Addons) or
    no Chinese voice is installed (e.g. speech-dispatcher + espeak-ng). Must be used
    from a thread with a Qt application; ``speak`` runs a local event loop."""

    def __init__(self, engine_name: str | None = None) -> None:
        try:
            from PySide6.QtTextToSpeech import QTextToSpeech
        except ImportError:
            raise VoiceUnavailable(
                "QtTextToSpeech is not importable (PySide6-Essentials lacks it; install "
                "PySide6-Addons) — use the clip backend instead") from None
        self._engine = QTextToSpeech(engine_name) if engine_name else QTextToSpeech()
        voice = _chinese_voice(self._engine)
        if voice is None:
            raise VoiceUnavailable("QtTextToSpeech has no Chinese (zh) voice on this machine "
                                   "— install one or use the clip backend")
        self._engine.setLocale(voice.locale())
        self._engine.setVoice(voice)

    def speak(self, tokens: Sequence[str]) -> None:
        from PySide6.QtCore import QEventLoop
        from PySide6.QtTextToSpeech import QTextToSpeech

        loop = QEventLoop()

        def changed(state: Any) -> None:
            if state in (QTextToSpeech.State.Ready, QTextToSpeech.State.Error):
                loop.quit()

        self._engine.stateChanged.connect(changed)
        try:
            self._engine.say(" ".join(tokens))
            if self._engine.state() == QTextToSpeech.State.Speaking:
                loop.exec()
        finally:
            self._engine.stateChanged.disconnect(changed)


def concat_wavs(clips: Iterable[str | Path], out: str | Path, gap_s: float = 0.0) -> float:
    """Join WAV files into ``out`` (frames appended with the ``wave`` module), with
    ``gap_s`` of silence between clips. All clips must share channels, sample width
    and rate. Returns the length of ``out`` in seconds."""
    params = None
    frames: list[bytes] = []
    for number, clip in enumerate(clips):
        with wave.open(str(clip), "rb") as src:
            here = (src.getnchannels(), src.getsampwidth(), src.getframerate())
            if params is None:
                params = here
            elif here != params:
                raise VoiceError(f"clip {clip}: {here} (channels, width, rate) differs from "
                                 f"the first clip's {params}; rebuild the clips together")
            if number and gap_s > 0:
                frames.append(b"\0" * (int(gap_s * here[2]) * here[0] * here[1]))
            frames.append(src.readframes(src.getnframes()))
    if params is None:
        raise VoiceError("nothing to join: no clips")
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(params[0])
        dst.setsampwidth(params[1])
        dst.setframerate(params[2])
        dst.writeframes(b"".join(frames))
    with wave.open(str(out), "rb") as check:
        total = check.getnframes()
    return total / params[2]


def wav_seconds(path: str | Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


PLAYERS = (["aplay", "-q"], ["paplay"], ["pw-play"], ["ffplay", "-nodisp", "-autoexit",
                                                      "-loglevel", "quiet"], ["afplay"])


def find_player() -> list[str] | None:
    """The first audio player command found on PATH, or None."""
    for cmd in PLAYERS:
        if shutil.which(cmd[0]):
            return cmd
    return None


def load_clip_index(directory: str | Path) -> dict[str, Path]:
    """token → clip file of a pack (display.voice_pack): ``index.toml``'s ``[clips]``
    and the conventionally named files (qing.wav, digit_0.wav, 综合受理窗口.wav …)."""
    from display.voice_pack import pack_files

    directory = Path(directory)
    clips = pack_files(directory) if directory.is_dir() else {}
    if not clips:
        raise VoiceUnavailable(f"no voice clips in {directory}; build them with "
                               f"`python -m display.voice_build --out {directory}` or record "
                               "a pack (`onewindow voice-check --list`)")
    return clips


class ClipBackend:
    """Says tokens by joining pre-recorded clips. A token without a clip of its own is
    read character by character; a character without one raises VoiceUnavailable.

    ``player``: a callable taking the WAV path (blocking), or None for QtMultimedia
    when importable, else the first of aplay/paplay/pw-play/ffplay/afplay."""

    def __init__(self, directory: str | Path = VOICE_DIR, *, gap_s: float = 0.05,
                 player: Callable[[Path], None] | None = None) -> None:
        self.directory = Path(directory)
        self.clips = load_clip_index(self.directory)
        self.gap_s = gap_s
        self.player = player or self._default_player()

    def clips_for(self, tokens: Sequence[str]) -> list[Path]:
        paths: list[Path] = []
        for token in tokens:
            if token in self.clips:
                paths.append(self.clips[token])
                continue
            for char in token:
                if char not in self.clips:
                    raise VoiceUnavailable(f"no voice clip for {token!r} (nor for {char!r}) in "
                                           f"{self.directory}; add it with "
                                           f"`python -m display.voice_build --word {token}`")
                paths.append(self.clips[char])
        return paths

    def render(self, tokens: Sequence[str], out: str | Path) -> float:
        """Write the announcement as one WAV file; returns its length in seconds."""
        return concat_wavs(self.clips_for(tokens), out, self.gap_s)

    def speak(self, tokens: Sequence[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="onewindow-voice-") as tmp:
            path = Path(tmp) / "announcement.wav"
            self.render(tokens, path)
            self.player(path)

    def probe(self) -> None:
        """Play 50 ms of silence: raises VoiceUnavailable when the sound device or the
        player does not work, before a call needs it."""
        first = next(iter(self.clips.values()))
        with wave.open(str(first), "rb") as w:
            rate = w.getframerate()
        with tempfile.TemporaryDirectory(prefix="onewindow-voice-") as tmp:
            path = Path(tmp) / "probe.wav"
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(rate)
                out.writeframes(b"\0" * (rate // 10))
            self.player(path)

    @staticmethod
    def _default_player() -> Callable[[Path], None]:
        command = find_player()
        if command is not None:
            return partial(play_with, command)
        try:
            from PySide6 import QtMultimedia  # noqa: F401
        except ImportError:
            pass
        else:
            return _qt_play
        raise VoiceUnavailable("no way to play sound: QtMultimedia is not importable and none "
                               "of aplay, paplay, pw-play, ffplay, afplay is on PATH "
                               "(install alsa-utils)")


def play_with(command: list[str], path: Path) -> None:
    """Play ``path`` with a player command; VoiceUnavailable if it fails (no sound
    device, no sound server), with the player's own last line."""
    try:
        done = subprocess.run([*command, str(path)], capture_output=True, text=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VoiceUnavailable(f"{command[0]}: {exc}") from None
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise VoiceUnavailable(f"{command[0]} exited {done.returncode}: "
                               f"{lines[-1] if lines else 'no sound device?'}")


def _qt_play(path: Path) -> None:  # pragma: no cover - needs audio hardware
    from PySide6.QtCore import QEventLoop, QUrl
    from PySide6.QtMultimedia import QSoundEffect

    effect = QSoundEffect()
    effect.setSource(QUrl.fromLocalFile(str(path)))
    loop = QEventLoop()
    effect.playingChanged.connect(lambda: effect.isPlaying() or loop.quit())
    effect.play()
    loop.exec()


def make_backend(name: str, clips_dir: str | Path = VOICE_DIR) -> Backend:
    """``silent``, ``qt``, ``clips`` or ``auto`` (Qt TTS if it works, else clips)."""
    if name == "silent":
        return SilentBackend()
    if name == "qt":
        return QtTtsBackend()
    if name == "clips":
        return ClipBackend(clips_dir)
    if name == "auto":
        try:
            return QtTtsBackend()
        except VoiceUnavailable as exc:
            log.info("voice: %s; using clips", exc)
            return ClipBackend(clips_dir)
    raise VoiceError(f"unknown voice backend {name!r}; use silent, qt, clips or auto")


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class VoiceConfig:
    """The ``[voice]`` table of a display's config: every key optional."""

    template: str = DEFAULT_TEMPLATE
    repeats: int = 2
    pause_s: float = 0.4
    max_age: float | None = 60.0     # 0 or a negative value in TOML: no limit
    backend: str = "auto"            # silent, qt, clips, auto
    clips: str = str(VOICE_DIR)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VoiceConfig:
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise VoiceError(f"[voice]: unknown keys {unknown}; known: {sorted(known)}")
        if "template" in data:
            validate_template(data["template"])
        if int(data.get("repeats", 2)) < 1:
            raise VoiceError("[voice] repeats must be at least 1")
        if data.get("backend", "auto") not in ("silent", "qt", "clips", "auto"):
            raise VoiceError(f"[voice] backend {data['backend']!r}: use silent, qt, clips "
                             "or auto")
        if "max_age" in data and (data["max_age"] is None or float(data["max_age"]) <= 0):
            data["max_age"] = None
        return cls(**data)

    def announcer(self, backend: Backend | None = None,
                  on_health: Callable[[str, str], None] | None = None) -> Announcer:
        return Announcer(backend or make_backend(self.backend, self.clips),
                         template=self.template, repeats=self.repeats, pause_s=self.pause_s,
                         max_age=self.max_age, on_health=on_health)


# ---------------------------------------------------------------- the queue


@dataclass
class Announcement:
    tokens: list[str]
    queued_at: float
    event: str = ""
    number: str = ""


class Announcer:
    """Says announcements one after another on a worker thread: in order, never two at
    once, each ``repeats`` times. One that waited more than ``max_age`` seconds
    (None: no limit) is skipped and logged, and kept in ``dropped``.

    ``on_health(status, detail)`` is called on the worker thread when the backend
    starts failing — status ``offline`` (VoiceUnavailable: no player, no sound device)
    or ``error``, with the reason — and with ``ok`` when it works again."""

    def __init__(self, backend: Backend, *, template: str = DEFAULT_TEMPLATE,
                 repeats: int = 2, pause_s: float = 0.4, max_age: float | None = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_health: Callable[[str, str], None] | None = None) -> None:
        if repeats < 1:
            raise VoiceError("repeats must be at least 1")
        self.on_health, self.health = on_health, "ok"
        self.backend, self.template = backend, validate_template(template)
        self.repeats, self.pause_s, self.max_age, self.clock = repeats, pause_s, max_age, clock
        self.dropped: list[Announcement] = []
        self.said: list[Announcement] = []
        self._queue: queue.Queue[Announcement | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="announcer", daemon=True)
        self._thread.start()

    def announce(self, event: dict[str, Any], hall_layout: dict[str, Any] | None) -> bool:
        """Queue the announcement of a call or recall event; False for other events."""
        tokens = speech_for(event, hall_layout, self.template)
        if not tokens:
            return False
        data = event.get("data") or {}
        self.say(tokens, event=str(event.get("name")), number=str(data.get("number", "")))
        return True

    def say(self, tokens: Sequence[str], *, event: str = "", number: str = "") -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(Announcement(list(tokens), self.clock(), event, number))

    def probe(self) -> None:
        """Queue a check that the backend can play (``probe()``, when it has one)."""
        self.say([], event=PROBE)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been said (or dropped)."""
        return self._idle.wait(timeout)

    def close(self, timeout: float | None = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                spoke = self._one(item)
            except Exception as exc:  # a broken backend must not stop later announcements
                if isinstance(exc, VoiceError):
                    log.error("voice: %s", exc)
                else:
                    log.exception("voice: announcing %s failed", item.number or item.tokens)
                self._health("offline" if isinstance(exc, VoiceUnavailable) else "error",
                             str(exc) or type(exc).__name__)
            else:
                if spoke:
                    self._health("ok", "")
            finally:
                with self._lock:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.set()

    def _health(self, status: str, detail: str) -> None:
        if status == self.health:
            return
        self.health = status
        if self.on_health is not None:
            try:
                self.on_health(status, detail)
            except Exception:
                log.exception("voice: the health callback failed")

    def _one(self, item: Announcement) -> bool:
        """Say one item; True when the backend played (or a probe passed)."""
        if item.event == PROBE:
            probe = getattr(self.backend, "probe", None)
            if probe is not None:
                probe()
            return True
        waited = self.clock() - item.queued_at
        if self.max_age is not None and waited > self.max_age:
            log.warning("voice: skipped %s %s, queued %.0f s ago (max_age %.0f s)",
                        item.event, item.number, waited, self.max_age)
            self.dropped.append(item)
            return False
        for n in range(self.repeats):
            if n and self.pause_s:
                time.sleep(self.pause_s)
            self.backend.speak(item.tokens)
        self.said.append(item)
        return True
