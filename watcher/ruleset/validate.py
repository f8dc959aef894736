"""Validating one rule file entry by entry, so one broken block hides nothing else.

pydantic stops at the first broken part of a model for the checks that depend on the whole
(and a file that fails to validate would otherwise be left out of the cross-reference checks
altogether). Each feed, fact, alert, channel and term list, and the settings, is validated on its own: its
problems are reported, the entries that are valid go on to be merged and cross-checked, and the
names of broken entries still count as defined, so an alert pointing at a broken fact is not
also told that the fact does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..errors import Problem
from .problems import problems_from_errors
from .schema import RuleFile
from .yamlsrc import position

SECTIONS = ("settings", "feeds", "facts", "alerts", "channels", "terms")
KEYED = ("feeds", "facts", "channels", "terms")


@dataclass
class Validated:
    """A file's valid entries as a ``RuleFile``, plus the names of all its entries."""

    model: RuleFile
    problems: list[Problem]
    names: dict[str, list[Any]] = field(default_factory=dict)  # section -> names, valid or not
    alert_rows: list[int] = field(default_factory=list)        # index in the file of each valid alert


def validate_file(data: Any, display: str) -> Validated:
    problems: list[Problem] = []
    if not isinstance(data, dict):
        line, col = position(data)
        problems.append(Problem(display, line, col, "a rule file is a block of sections: "
                                f"{', '.join(SECTIONS)}"))
        return Validated(RuleFile(), problems)
    valid: dict[str, Any] = {}
    names: dict[str, list[Any]] = {}
    rows: list[int] = []
    for key, block in data.items():
        if key not in SECTIONS:
            problems += _check({key: block}, data, display)  # reports the unknown key, with "did you mean"
        elif key == "settings":
            found = _check({"settings": block}, data, display)
            problems += found
            if not found:
                valid["settings"] = block
        elif key == "alerts":
            valid["alerts"], names["alerts"], rows = _alerts(block, data, display, problems)
        else:
            valid[key], names[key] = _keyed(key, block, data, display, problems)
    try:
        model = RuleFile.model_validate(valid)
    except ValidationError as exc:  # not expected: every part validated alone; report rather than crash
        problems += problems_from_errors(exc.errors(include_url=False), data, display)
        model = RuleFile()
    return Validated(model, problems, names, rows)


def _check(part: dict[str, Any], data: Any, display: str, index: int | None = None) -> list[Problem]:
    try:
        RuleFile.model_validate(part)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if index is not None:  # the alert was validated as the only one in a list: put its index back
            for err in errors:
                loc = list(err["loc"])
                if len(loc) >= 2 and loc[0] == "alerts" and loc[1] == 0:
                    loc[1] = index
                err["loc"] = tuple(loc)
        return problems_from_errors(errors, data, display)
    return []


def _keyed(section: str, block: Any, data: Any, display: str,
           problems: list[Problem]) -> tuple[dict[Any, Any], list[Any]]:
    if not isinstance(block, dict):
        if block is not None:
            problems += _check({section: block}, data, display)
        return {}, []
    valid = {}
    for name, entry in block.items():
        found = _check({section: {name: entry}}, data, display)
        problems += found
        if not found:
            valid[name] = entry
    return valid, list(block)


def _alerts(block: Any, data: Any, display: str,
            problems: list[Problem]) -> tuple[list[Any], list[Any], list[int]]:
    if not isinstance(block, list):
        if block is not None:
            problems += _check({"alerts": block}, data, display)
        return [], [], []
    valid, names, rows = [], [], []
    for i, entry in enumerate(block):
        found = _check({"alerts": [entry]}, data, display, index=i)
        problems += found
        if not found:
            valid.append(entry)
            rows.append(i)
        name = entry.get("name") if isinstance(entry, dict) else None
        names.append(name if isinstance(name, str) else None)
    return valid, names, rows
