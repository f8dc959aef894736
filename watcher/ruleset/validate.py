"""Validating one rule file entry by entry, so one broken block hides nothing else.

pydantic stops at the first broken part of a model for the checks that depend on the whole
(and a file that fails to validate would otherwise be left out of the cross-reference checks
altogether). Each feed, fact, alert, channel and term list, and the settings, is validated on its own: its
problems are reported, the entries that are valid go on to be merged and cross-checked, and the
names of broken entries still count as defined, so an alert pointing at a broken fact is not
also told that the fact does not exist.

A broken entry does not hide its own other problems either. Its broken parts (a key, or one
element of a list such as a fact's signals) are left out and the rest is validated again; when
that is valid, it goes on to the later checks like any entry (a fact's known value and its other
signals, a channel's URL and secrets, a feed's headers, the feed tags alerts select), so one run
reports them all. The rule set is never used when any problem was found, so these salvaged
entries only ever serve the checks. (A broken alert's references are checked from the file's
text instead: see ``build.py``.)
"""

from __future__ import annotations

from collections.abc import Callable
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
    # fact -> index in the file of each signal the model kept (a salvaged fact drops broken ones)
    signal_rows: dict[str, list[int]] = field(default_factory=dict)


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
    signal_rows: dict[str, list[int]] = {}
    for key, block in data.items():
        if key not in SECTIONS:
            problems += _check({key: block}, data, display)[0]  # reports the unknown key, with "did you mean"
        elif key == "settings":
            found, errors = _check({"settings": block}, data, display)
            problems += found
            kept = _salvage(block, [e["loc"][1:] for e in errors], lambda part: {"settings": part})[0]
            if kept is not None:
                valid["settings"] = kept
        elif key == "alerts":
            valid["alerts"], names["alerts"], rows = _alerts(block, data, display, problems)
        else:
            valid[key], names[key], kept_rows = _keyed(key, block, data, display, problems)
            if key == "facts":
                signal_rows = kept_rows
    try:
        model = RuleFile.model_validate(valid)
    except ValidationError as exc:  # not expected: every part validated alone; report rather than crash
        problems += problems_from_errors(exc.errors(include_url=False), data, display)
        model = RuleFile()
    return Validated(model, problems, names, rows, signal_rows)


def _check(part: dict[str, Any], data: Any, display: str,
           index: int | None = None) -> tuple[list[Problem], list[Any]]:
    """The problems of ``part`` (a file reduced to one entry), and pydantic's errors behind them."""
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
        return problems_from_errors(errors, data, display), errors
    return [], []


def _keyed(section: str, block: Any, data: Any, display: str,
           problems: list[Problem]) -> tuple[dict[Any, Any], list[Any], dict[str, list[int]]]:
    if not isinstance(block, dict):
        if block is not None:
            problems += _check({section: block}, data, display)[0]
        return {}, [], {}
    valid = {}
    signal_rows = {}
    for name, entry in block.items():
        found, errors = _check({section: {name: entry}}, data, display)
        problems += found
        kept, rows = _salvage(entry, [e["loc"][2:] for e in errors],
                              lambda part, name=name: {section: {name: part}})
        if kept is not None:
            valid[name] = kept
            if "signals" in rows:
                signal_rows[name] = rows["signals"]
    return valid, list(block), signal_rows


def _salvage(entry: Any, broken: list[tuple[Any, ...]],
             wrap: Callable[[Any], dict[str, Any]]) -> tuple[Any | None, dict[str, list[int]]]:
    """``entry`` without its broken parts, if the rest is valid (else ``None``), and for each list
    it shortened the index in the file of every element kept. ``broken`` are the locations of the
    problems inside the entry; ``wrap`` makes a rule file of an entry, to validate it again. An
    entry with no problem comes back as it is."""
    if not broken:
        return entry, {}
    if not isinstance(entry, dict) or any(not loc for loc in broken):
        return None, {}
    keys = {loc[0] for loc in broken if not (len(loc) >= 2 and isinstance(loc[1], int))}
    elements: dict[Any, set[int]] = {}
    for loc in broken:
        if len(loc) >= 2 and isinstance(loc[1], int) and loc[0] not in keys:
            elements.setdefault(loc[0], set()).add(loc[1])
    kept = {k: v for k, v in entry.items() if k not in keys}
    rows: dict[str, list[int]] = {}
    for key, bad in elements.items():
        if isinstance(kept.get(key), list):
            rows[str(key)] = [i for i in range(len(kept[key])) if i not in bad]
            kept[key] = [kept[key][i] for i in rows[str(key)]]
    try:
        RuleFile.model_validate(wrap(kept))
    except ValidationError:  # what is left does not stand on its own (a required key was broken)
        return None, {}
    return kept, rows


def _alerts(block: Any, data: Any, display: str,
            problems: list[Problem]) -> tuple[list[Any], list[Any], list[int]]:
    if not isinstance(block, list):
        if block is not None:
            problems += _check({"alerts": block}, data, display)[0]
        return [], [], []
    valid, names, rows = [], [], []
    for i, entry in enumerate(block):
        found = _check({"alerts": [entry]}, data, display, index=i)[0]
        problems += found
        if not found:
            valid.append(entry)
            rows.append(i)
        name = entry.get("name") if isinstance(entry, dict) else None
        names.append(name if isinstance(name, str) else None)
    return valid, names, rows
