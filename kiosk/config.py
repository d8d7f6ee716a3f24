"""A kiosk's config file (TOML), validated at load: ``onewindow kiosk --config FILE``.

Example and every key: assets/kiosks/K-B1.toml and docs/kiosk.md. A file that
cannot be used raises KioskConfigError, one line: ``file: key: reason``. The
device token is never in the file (``--token`` or ``$ONEWINDOW_TOKEN``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dispatcher.hall import read_toml, toml_error


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


class IdReaderSection(_Model):
    """``[id_reader]``: a second-generation ID card reader (kiosk/idcard.py)."""

    port: str = Field(min_length=1)              # /dev/ttyUSB0, or any pyserial URL
    baudrate: Literal[9600, 19200, 38400, 57600, 115200] = 115200


class KioskFile(_Model):
    server: str | None = None
    ca: str | None = None
    device: str | None = None
    printer: PrinterSection | None = None
    screen: ScreenSection = ScreenSection()
    id_reader: IdReaderSection | None = None


class KioskConfig(_Model):
    """The file's values, with the template path made absolute."""

    server: str | None
    ca: str | None
    device: str | None
    printer: PrinterSection | None
    screen: ScreenSection
    id_reader: IdReaderSection | None = None
    source: str = "<defaults>"

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)




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
        raise KioskConfigError(source, *toml_error(exc)) from None
    printer = model.printer
    if printer is not None and printer.template is not None:
        template = (base_dir / printer.template).resolve()
        if not template.is_file():
            raise KioskConfigError(source, "printer.template",
                                   f"no template file {str(template)!r}")
        printer = printer.model_copy(update={"template": str(template)})
    ca = str((base_dir / model.ca).resolve()) if model.ca else None
    return KioskConfig(server=model.server, ca=ca, device=model.device, printer=printer,
                       screen=model.screen, id_reader=model.id_reader, source=source)
