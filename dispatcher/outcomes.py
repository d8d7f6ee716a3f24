"""The hall file's outcome codes (办件结果) and 差评 follow-up rules (``[cases]``).

Kept apart from dispatcher/hall.py, which imports this module (never the other way
round): the file shapes are checked by pydantic there, the cross-references
(an unknown outcome code, a default outcome that would need a 办件编号) here,
each refused with ``fail(key, reason)``, which raises the hall's HallConfigError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

from pydantic import BaseModel, ConfigDict, Field

Fail = Callable[[str, str], NoReturn]
_CODE = r"^[A-Za-z][A-Za-z0-9_-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class OutcomeFile(_Model):
    """``[outcomes.<code>]``: one outcome a clerk may record at 办结."""

    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    case_number: bool = False          # the outcome needs the 办件编号


class CasesFile(_Model):
    """``[cases]``: which ratings open a 差评 case, and its deadlines in working days."""

    open_at_or_below: int = Field(2, ge=1, le=5)
    contact_within_days: int = Field(1, ge=0)
    close_within_days: int = Field(15, ge=0)


@dataclass(frozen=True)
class Outcome:
    code: str
    name: str
    name_en: str
    case_number: bool = False


@dataclass(frozen=True)
class CaseRules:
    """``open_at_or_below`` 0: no cases (a hall file without ``[cases]``)."""

    open_at_or_below: int = 0
    contact_within_days: int = 1
    close_within_days: int = 15


def build_outcomes(raw: Mapping[str, OutcomeFile], fail: Fail) -> dict[str, Outcome]:
    out = {}
    for code, o in raw.items():
        if not re.fullmatch(_CODE, code):
            fail(f"outcomes.{code!r}", "an outcome code is letters, digits, '_' or '-'")
        out[code] = Outcome(code, o.name, o.name_en, o.case_number)
    return out


def build_cases(raw: CasesFile | None, fail: Fail) -> CaseRules:
    if raw is None:
        return CaseRules()
    if raw.close_within_days < raw.contact_within_days:
        fail("cases.close_within_days", f"must not be before the contact deadline "
             f"({raw.contact_within_days} working days), got {raw.close_within_days}")
    return CaseRules(raw.open_at_or_below, raw.contact_within_days, raw.close_within_days)


def check_required(key: str, required: bool, outcomes: Mapping[str, Outcome],
                   fail: Fail) -> None:
    """A queue that requires an outcome needs codes to choose from."""
    if required and not outcomes:
        fail(f"{key}.outcome_required", "no [outcomes.<code>] table defines a code to choose")


def check_defaults(defaults: list[str | None], outcomes: Mapping[str, Outcome],
                   fail: Fail) -> None:
    """Each ``[[windows]]`` block's default outcome (by its index)."""
    for g, code in enumerate(defaults):
        if code is not None:
            check_default(f"windows[{g}]", code, outcomes, fail)


def check_default(key: str, code: str, outcomes: Mapping[str, Outcome], fail: Fail) -> None:
    """A window's default outcome: a known code that needs no 办件编号 (a keypad
    window cannot type one)."""
    outcome = outcomes.get(code)
    if outcome is None:
        known = ", ".join(sorted(outcomes)) or "none defined"
        fail(f"{key}.default_outcome", f"unknown outcome {code!r} (known: {known})")
    if outcome.case_number:
        fail(f"{key}.default_outcome", f"outcome {code!r} needs a case number (办件编号), "
             "which a window's default cannot give")


def outcomes_layout(outcomes: Mapping[str, Outcome]) -> dict[str, dict[str, object]]:
    """The codes as the snapshot's hall layout carries them (for the caller panel)."""
    return {o.code: {"name": o.name, "name_en": o.name_en, "case_number": o.case_number}
            for o in outcomes.values()}
