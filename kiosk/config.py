"""A kiosk's config file (TOML), validated at load: ``onewindow kiosk --config FILE``.

Example and every key: assets/kiosks/K-B1.toml and docs/kiosk.md. A file that
cannot be used raises KioskConfigError, one line: ``file: key: reason``. The
device token is never in the file (``--token`` or ``$ONEWINDOW_TOKEN``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.hall import read_toml


class KioskConfigError(ValueError):
    """A kiosk config that cannot be used. ``str()`` is one line: file: key: reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(" ".join(f"{file}: {key}: {reason}".split()))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class PrinterSection(_Model):
    url: str = Field(min_length=1)
    width: Literal[58, 80] = 80
    mode: Literal["native", "raster"] = "native"
    template: str | None = None          # relative to the config file


class ScreenSection(_Model):
    idle_timeout_s: float = Field(30.0, ge=5, le=600)
    large: bool = False
    language: Literal["zh", "en"] = "zh"
    fullscreen: bool = False


class KioskFile(_Model):
    server: str | None = None
    device: str | None = None
    printer: PrinterSection | None = None
    screen: ScreenSection = ScreenSection()


class KioskConfig(_Model):
    """The file's values, with the template path made absolute."""

    server: str | None
    device: str | None
    printer: PrinterSection | None
    screen: ScreenSection
    source: str = "<defaults>"

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


_REASONS = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "string_type": "expected text in quotes, got {got}",
    "int_type": "expected a whole number, got {got}",
    "float_type": "expected a number, got {got}",
    "bool_type": "expected true or false, got {got}",
    "list_type": "expected a list [...], got {got}",
    "model_type": "expected a table, got {got}",
    "literal_error": "{got} is not one of {expected}",
    "greater_than_equal": "must be {ge:g} or more, got {got}",
    "less_than_equal": "must be {le:g} or less, got {got}",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
}


def load_config(path: str | Path) -> KioskConfig:
    """Read and validate a kiosk config file; KioskConfigError says what is wrong."""
    path = Path(path)
    raw = read_toml(path, KioskConfigError, "kiosk config file")
    return parse_config(raw, str(path), path.parent)


def parse_config(raw: dict[str, Any], source: str = "<kiosk>",
                 base_dir: Path = Path(".")) -> KioskConfig:
    try:
        model = KioskFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise KioskConfigError(source, _key(err["loc"]), _reason(err)) from None
    printer = model.printer
    if printer is not None and printer.template is not None:
        template = (base_dir / printer.template).resolve()
        if not template.is_file():
            raise KioskConfigError(source, "printer.template",
                                   f"no template file {str(template)!r}")
        printer = printer.model_copy(update={"template": str(template)})
    return KioskConfig(server=model.server, device=model.device, printer=printer,
                       screen=model.screen, source=source)


def _key(loc: tuple[Any, ...]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "-"


def _reason(err: dict[str, Any]) -> str:
    template = _REASONS.get(err["type"])
    if template is None:
        return str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    got = ("true" if value else "false") if isinstance(value, bool) else (
        "a table" if isinstance(value, dict) else repr(value)[:40])
    return template.format(**{**err.get("ctx", {}), "got": got})
