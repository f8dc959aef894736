"""Load the rules folder: read every file, validate, merge, check references, compile.

Every problem of every file is collected in one pass and raised together as a ``RuleError``;
nothing is half-applied. The caller (the daemon) keeps its last good ``Ruleset`` when this
raises on reload. Warnings do not stop the load: they come with the ``Ruleset``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from collections.abc import Collection, Mapping

from ..errors import Problem, RuleError, in_order
from . import compiled as c
from .build import Source, build_ruleset, merge
from .matchers import compile_matcher
from .secrets import ConfigCheck, UrlCheck
from .validate import validate_file
from .yamlsrc import parse_yaml, read_source

__all__ = ["RULE_SUFFIXES", "ConfigCheck", "UrlCheck", "compile_matcher", "load_rules", "rule_files"]

RULE_SUFFIXES = (".yaml", ".yml")


def rule_files(folder: Path) -> list[Path]:
    """The rule files of a folder, recursively, in a stable order; hidden files are skipped."""
    found = [p for p in folder.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(found)


def file_sizes(folder: Path) -> dict[Path, int]:
    """The size of each rule file of a folder (to notice a file emptied while it is saved)."""
    sizes = {}
    for path in rule_files(folder) if folder.is_dir() else ():
        try:
            sizes[path] = path.stat().st_size
        except OSError:
            pass
    return sizes


def emptied_files(before: Mapping[Path, int], now: Mapping[Path, int]) -> list[str]:
    """The files that had content ``before`` and are empty ``now``, as shown in problems."""
    return [_display(path) for path, size in before.items() if size > 0 and now.get(path) == 0]


def load_rules(folder: str | Path, *, environ: Mapping[str, str] | None = None,
               check_url: UrlCheck | None = None, check_config: ConfigCheck | None = None,
               channels: bool | Collection[str] = True) -> c.Ruleset:
    """Load and compile every rule file under ``folder``; raise ``RuleError`` listing all problems.

    ``channels`` says which secrets to take from the environment (and check): ``True`` every
    channel's URL and every feed's headers and proxy (the daemon, `watcher validate`); ``False``
    none (tools that send and fetch nothing: `watcher explain`, `watcher backtest`, `watcher
    facts`); a collection of channel names: only those channels' URLs, and no feed's (`watcher
    notify-test CHANNEL`). A channel left out has ``expanded=False`` and no URL; a feed left
    out, no headers and no proxy."""
    folder = Path(folder)
    environ = os.environ if environ is None else environ
    if not folder.is_dir():
        raise RuleError([Problem(str(folder), 1, 1, "the rules folder does not exist (set --rules or WATCHER_RULES)")])
    paths = rule_files(folder)
    if not paths:
        raise RuleError([Problem(str(folder), 1, 1, "no rule files (*.yaml or *.yml) in this folder")])

    problems: list[Problem] = []
    sources: list[Source] = []
    digest = hashlib.sha256()
    for path in paths:
        display = _display(path)
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        raw, found = read_source(path, display)   # read once: the digest is of what was parsed
        digest.update(raw or b"")
        data, parsed = parse_yaml(raw, display) if raw is not None else (None, [])
        problems += found + parsed
        if found or data is None:
            continue
        checked = validate_file(data, display)
        problems += checked.problems
        if isinstance(data, dict):
            sources.append(Source(display, data, checked.model, checked.names, checked.alert_rows, checked.signal_rows))

    # Every file's valid entries are merged and cross-checked even when other entries failed, so
    # one run reports every problem there is (a reference to a broken entry is not reported
    # twice: the names of broken entries still count as defined).
    merged = merge(sources)
    problems += merged.problems
    ruleset, found = build_ruleset(sources, merged, digest.hexdigest()[:12], environ, check_url,
                                   tuple(_display(p) for p in paths), channels=channels,
                                   check_config=check_config)
    problems += found
    errors = [p for p in problems if not p.warning]
    warnings = [p for p in problems if p.warning]
    if errors:
        raise RuleError(errors, warnings)
    return dataclasses.replace(ruleset, warnings=tuple(in_order(warnings)))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
