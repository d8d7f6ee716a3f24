"""The ticket template (assets/templates/ticket.toml): what a hall prints and how big.

Loaded like the hall file: pydantic checks the shape, then the values are checked
against each other (a QR pattern with an unknown placeholder, a logo that is not
there). Every problem is a `TemplateError` whose text is one line:
``file: key: reason``.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.hall import read_toml

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_TEMPLATE = ASSETS / "templates" / "ticket.toml"

Block = Literal["logo", "hall", "queue", "class", "number", "ahead", "wait", "issued",
                "ticket_id", "qr", "notice", "rule"]
BLOCKS: tuple[str, ...] = Block.__args__  # type: ignore[attr-defined]
QR_FIELDS = ("url", "token", "ticket", "number", "queue")
PAGE_FIELDS = ("url", "token")   # without them (no hall public_url, no token) no QR is printed
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class TemplateError(ValueError):
    """A template that cannot be used. ``str()`` is one line: file: key: reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        text = f"{file}: {key}: {reason}"
        super().__init__(_LINE_BREAKS.sub(
            lambda m: m[0].encode("unicode_escape").decode("ascii"), text))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


_Size = Annotated[int, Field(ge=1, le=8)]


class Sizes(_Model):
    hall: _Size = 2
    queue: _Size = 2
    number: _Size = 6
    qr: Annotated[int, Field(ge=1, le=16)] = 6


class TicketTemplate(_Model):
    blocks: list[Block] = Field(
        ["logo", "hall", "rule", "queue", "class", "number", "rule", "ahead", "wait",
         "issued", "qr", "rule", "notice", "ticket_id"], min_length=1)
    qr: str = "{url}"
    qr_caption: str = ""
    logo: str = ""
    time_format: str = Field("%Y-%m-%d %H:%M", min_length=1)
    notice: list[str] = []
    sizes: Sizes = Sizes()
    source: str = Field("<template>", exclude=True)  # set by the loader
    base_dir: str = Field(".", exclude=True)

    @property
    def logo_path(self) -> Path | None:
        return (Path(self.base_dir) / self.logo) if self.logo else None

    def qr_payload(self, ticket: str, number: str, queue: str, token: str = "",
                   base: str = "") -> str:
        """What the QR holds: ``{url}`` is the ticket's status page, ``base``/t/``token``
        (docs/phone.md); "" (no QR) when the pattern needs a page the ticket has not."""
        url = f"{base}/t/{token}" if base and token else ""
        fields = {"url": url, "token": token}
        if not self.qr or any(not fields[name] for name in self._placeholders()
                              if name in PAGE_FIELDS):
            return ""
        return self.qr.format(ticket=ticket, number=number, queue=queue, **fields)

    def _placeholders(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.qr) if name]


def load_template(path: str | Path = DEFAULT_TEMPLATE) -> TicketTemplate:
    """Read and check a template file; raise TemplateError on any problem."""
    path = Path(path)
    raw = read_toml(path, TemplateError, "template file")
    return parse_template(raw, str(path), path.parent)


def parse_template(raw: dict, source: str = "<template>",
                   base_dir: str | Path = ".") -> TicketTemplate:
    for key in ("source", "base_dir"):
        if key in raw:
            raise TemplateError(source, key, "unknown key")
    try:
        model = TicketTemplate.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise TemplateError(source, _key(err["loc"]), _reason(err)) from None
    model = model.model_copy(update={"source": source, "base_dir": str(base_dir)})
    _check(model)
    return model


def _check(t: TicketTemplate) -> None:
    src = t.source
    for i, block in enumerate(t.blocks):
        if block != "rule" and t.blocks.index(block) != i:
            raise TemplateError(src, f"blocks[{i}]", f"{block!r} is listed twice")
    if not _parses(t.qr):
        raise TemplateError(src, "qr", f"{t.qr!r} has an unmatched {{ or }}; write {{{{ or }}}}"
                            " for a literal brace")
    for _, name, spec, conv in string.Formatter().parse(t.qr):
        if name is not None and (name not in QR_FIELDS or spec or conv):
            raise TemplateError(src, "qr", f"unknown placeholder {{{name}}}; use "
                                + ", ".join(f"{{{f}}}" for f in QR_FIELDS))
    for i, line in enumerate(t.notice):
        if _LINE_BREAKS.search(line):
            raise TemplateError(src, f"notice[{i}]", "one line per entry: no line breaks or "
                                "control characters")
    for key in ("qr_caption",):
        if _LINE_BREAKS.search(getattr(t, key)):
            raise TemplateError(src, key, "no line breaks or control characters")
    if "%" not in t.time_format:
        raise TemplateError(src, "time_format", f"{t.time_format!r} has no % field; "
                            'use a strftime pattern like "%Y-%m-%d %H:%M"')
    path = t.logo_path
    if path is not None:
        if not path.is_file():
            raise TemplateError(src, "logo", f"no such file {str(path)!r}")
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                im.verify()
        except (UnidentifiedImageError, OSError) as exc:
            raise TemplateError(src, "logo", f"{str(path)!r} is not an image ({exc})") from None


def _parses(pattern: str) -> bool:
    try:
        list(string.Formatter().parse(pattern))
    except ValueError:
        return False
    return True


def _key(loc: tuple) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "-"


_REASONS = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "string_type": "expected text in quotes, got {got}",
    "int_type": "expected a whole number, got {got}",
    "list_type": "expected a list [...], got {got}",
    "model_type": "expected a table, got {got}",
    "literal_error": "{got} is not one of {expected}",
    "greater_than_equal": "must be {ge} or more, got {got}",
    "less_than_equal": "must be {le} or less, got {got}",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}


def _reason(err: dict) -> str:
    template = _REASONS.get(err["type"])
    if template is None:
        return str(err["msg"])
    value = err.get("input")
    got = ("a table" if isinstance(value, dict) else "a list" if isinstance(value, list)
           else repr(value))
    return template.format(**{**err.get("ctx", {}), "got": got})
