"""Load the rules folder: read every file, validate, merge, check references, compile.

Every problem of every file is collected in one pass and raised together as a ``RuleError``;
nothing is half-applied. The caller (the daemon) keeps its last good ``Ruleset`` when this
raises on reload.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from ..errors import Problem, RuleError
from ..match import ItemRule, Matcher, compile_term
from ..matchindex import MatchIndex
from . import compiled as c
from .problems import problems_from
from .schema import MatchSpec, RuleFile
from .yamlsrc import key_position, locate, position, read_yaml

RULE_SUFFIXES = (".yaml", ".yml")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# check_url(url, written) -> None if the channel is usable, else a message (secrets masked).
# ``url`` is expanded from the environment; ``written`` is the text of the rule file, so the
# check can also refuse secrets written into the file itself.
UrlCheck = Callable[[str, str], "str | None"]


@dataclass
class _Source:
    """One parsed and validated file."""

    display: str
    data: Any
    model: RuleFile


@dataclass
class _Merged:
    origins: dict[tuple[str, str], tuple[_Source, tuple[int, int]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def claim(self, kind: str, name: str, source: _Source, pos: tuple[int, int]) -> bool:
        """Register a name; a second definition anywhere is a problem naming both places."""
        first = self.origins.get((kind, name))
        if first is not None:
            other, (line, col) = first
            self.problems.append(Problem(source.display, pos[0], pos[1],
                                         f"already defined at {other.display}:{line}:{col}",
                                         f'{kind} "{name}"'))
            return False
        self.origins[(kind, name)] = (source, pos)
        return True

    def where(self, kind: str, name: str) -> tuple[_Source, tuple[int, int]]:
        return self.origins[(kind, name)]


def rule_files(folder: Path) -> list[Path]:
    """The rule files of a folder, recursively, in a stable order; hidden files are skipped."""
    found = [p for p in folder.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file()
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    return sorted(found)


def load_rules(folder: str | Path, *, environ: Mapping[str, str] | None = None,
               check_url: UrlCheck | None = None) -> c.Ruleset:
    """Load and compile every rule file under ``folder``; raise ``RuleError`` listing all problems."""
    folder = Path(folder)
    environ = os.environ if environ is None else environ
    if not folder.is_dir():
        raise RuleError([Problem(str(folder), 1, 1, "the rules folder does not exist (set --rules or WATCHER_RULES)")])
    paths = rule_files(folder)
    if not paths:
        raise RuleError([Problem(str(folder), 1, 1, "no rule files (*.yaml or *.yml) in this folder")])

    problems: list[Problem] = []
    sources: list[_Source] = []
    digest = hashlib.sha256()
    for path in paths:
        display = _display(path)
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        data, found = read_yaml(path, display)
        digest.update(path.read_bytes() if path.exists() else b"")
        problems += found
        if found or data is None:
            continue
        if not isinstance(data, dict):
            line, col = position(data)
            problems.append(Problem(display, line, col, "a rule file is a block of sections: "
                                    "settings, feeds, facts, alerts, channels"))
            continue
        try:
            sources.append(_Source(display, data, RuleFile.model_validate(data)))
        except ValidationError as exc:
            problems += problems_from(exc, data, display)

    # Files that validated are merged and cross-checked even when others failed, so one run
    # reports every problem there is (a reference into a broken file is not reported twice:
    # the broken file's names still count as defined).
    merged = _merge(sources)
    problems += merged.problems
    ruleset, found = _compile(sources, merged, digest.hexdigest()[:12], environ, check_url,
                              tuple(_display(p) for p in paths))
    problems += found
    if problems:
        raise RuleError(problems)
    return ruleset


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _merge(sources: list[_Source]) -> _Merged:
    merged = _Merged()
    for src in sources:
        for section in ("feeds", "facts", "channels"):
            block = src.data.get(section) or {}
            for name in getattr(src.model, section):
                merged.claim(section[:-1], name, src, key_position(block, name))
        for i, alert in enumerate(src.model.alerts):
            merged.claim("alert", alert.name, src, locate(src.data, ("alerts", i, "name")))
        if src.model.settings is not None:
            merged.claim("settings", "settings", src, key_position(src.data, "settings"))
    if ("channel", c.CONSOLE) in merged.origins:
        src, (line, col) = merged.origins[("channel", c.CONSOLE)]
        merged.problems.append(Problem(src.display, line, col,
                                       f'"{c.CONSOLE}" is built in (alerts printed by the daemon); pick another name',
                                       f'channel "{c.CONSOLE}"'))
    return merged


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _compile(sources: list[_Source], merged: _Merged, digest: str, environ: Mapping[str, str],
             check_url: UrlCheck | None, files: tuple[str, ...]) -> tuple[c.Ruleset, list[Problem]]:
    problems: list[Problem] = []
    settings = next((s.model.settings for s in sources if s.model.settings is not None), None)
    default_interval = settings.interval if settings else 900.0
    default_backlog = c.Backlog(settings.backlog.alerts, settings.backlog.facts) if settings else c.Backlog(0, 172800)

    feeds: dict[str, c.Feed] = {}
    facts: dict[str, c.Fact] = {}
    channels: dict[str, c.Channel] = {}
    for src in sources:
        for name, spec in src.model.feeds.items():
            backlog = c.Backlog(spec.backlog.alerts, spec.backlog.facts) if spec.backlog else default_backlog
            feeds[name] = c.Feed(name, spec.url, spec.interval or default_interval, tuple(spec.tags),
                                 tuple(spec.headers.items()), spec.user_agent, backlog)
        for name, spec in src.model.facts.items():
            fact_problems = _check_fact_values(src, name, spec)
            problems += fact_problems
            signals = tuple(c.Signal(i, s.value, compile_matcher(s.match)) for i, s in enumerate(spec.signals))
            facts[name] = c.Fact(name, spec.describe, spec.known,
                                 tuple(spec.values) if spec.values else None, spec.ordered, signals)
        for name, spec in src.model.channels.items():
            channel, problem = _channel(src, name, spec.url, environ, check_url)
            if problem:
                problems.append(problem)
            else:
                channels[name] = channel

    feed_names = set(feeds)
    tags = {tag: {f.name for f in feeds.values() if tag in f.tags} for f in feeds.values() for tag in f.tags}
    known_channels = sorted(set(merged_names(merged, "channel")) | {c.CONSOLE})
    alerts: dict[str, c.AlertRule] = {}
    item_rules: list[ItemRule] = []
    for src in sources:
        for i, spec in enumerate(src.model.alerts):
            owner = f'alert "{spec.name}"'
            for j, target in enumerate(spec.notify):
                if target not in known_channels:
                    line, col = locate(src.data, ("alerts", i, "notify", j))
                    problems.append(Problem(src.display, line, col, f'notify: unknown channel "{target}"'
                                            f"{_suggest(target, known_channels)}", owner))
            on = spec.on
            if on.fact is not None:
                if on.fact not in facts and ("fact", on.fact) not in merged.origins:
                    line, col = locate(src.data, ("alerts", i, "on", "fact"))
                    problems.append(Problem(src.display, line, col, f'on.fact: unknown fact "{on.fact}"'
                                            f"{_suggest(on.fact, sorted(facts))}", owner))
                elif on.to and facts.get(on.fact) and facts[on.fact].values:
                    for k, value in enumerate(on.to):
                        if value not in facts[on.fact].values:  # type: ignore[operator]
                            line, col = locate(src.data, ("alerts", i, "on", "to", k))
                            problems.append(Problem(src.display, line, col,
                                                    f'on.to: "{value}" is not one of the values of fact '
                                                    f'"{on.fact}"{_suggest(value, list(facts[on.fact].values or ()))}',
                                                    owner))
                alerts[spec.name] = c.AlertRule(spec.name, "fact", tuple(spec.notify), spec.severity,
                                                spec.title, spec.body, fact=on.fact,
                                                to=frozenset(on.to) if on.to else None)
            else:
                selected: set[str] | None = None
                if on.feeds is not None:
                    selected = set()
                    for k, name in enumerate(on.feeds):
                        if name in feed_names:
                            selected.add(name)
                        elif name in tags:
                            selected |= tags[name]
                        else:
                            line, col = locate(src.data, ("alerts", i, "on", "feeds", k))
                            problems.append(Problem(src.display, line, col,
                                                    f'on.feeds: no feed or feed tag is called "{name}"'
                                                    f"{_suggest(name, sorted(feed_names | set(tags)))}", owner))
                assert on.items is not None
                alerts[spec.name] = c.AlertRule(spec.name, "item", tuple(spec.notify), spec.severity,
                                                spec.title, spec.body)
                item_rules.append(ItemRule(spec.name, compile_matcher(on.items),
                                           frozenset(selected) if selected is not None else None))
    ruleset = c.Ruleset(feeds, facts, alerts, tuple(item_rules), channels, digest, files,
                        index=MatchIndex(item_rules, facts))
    return ruleset, problems


def merged_names(merged: _Merged, kind: str) -> list[str]:
    return [name for (k, name) in merged.origins if k == kind]


def _check_fact_values(src: _Source, name: str, spec: Any) -> list[Problem]:
    if not spec.values:
        return []
    problems = []
    owner = f'fact "{name}"'
    values = list(spec.values)
    if len(set(values)) != len(values):
        line, col = locate(src.data, ("facts", name, "values"))
        problems.append(Problem(src.display, line, col, "values: a value is listed twice", owner))
    if spec.known not in values:
        line, col = locate(src.data, ("facts", name, "known"))
        problems.append(Problem(src.display, line, col, f'known: "{spec.known}" is not one of the values'
                                f"{_suggest(spec.known, values)}", owner))
    for i, signal in enumerate(spec.signals):
        if signal.value not in values:
            line, col = locate(src.data, ("facts", name, "signals", i, "value"))
            problems.append(Problem(src.display, line, col, f'signals[{i}].value: "{signal.value}" is not one '
                                    f"of the values{_suggest(signal.value, values)}", owner))
    return problems


def _channel(src: _Source, name: str, written: str, environ: Mapping[str, str],
             check_url: UrlCheck | None) -> tuple[c.Channel, Problem | None]:
    owner = f'channel "{name}"'
    line, col = locate(src.data, ("channels", name))
    missing: list[str] = []

    def expand(found: re.Match[str]) -> str:
        var, default = found.group(1), found.group(2)
        if var in environ and environ[var] != "":
            return environ[var]
        if default is not None:
            return default
        missing.append(var)
        return ""

    url = _ENV.sub(expand, written).strip()
    channel = c.Channel(name, c.Secret(url), written)
    if missing:
        return channel, Problem(src.display, line, col, "the environment variable"
                                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                f"{'are' if len(missing) > 1 else 'is'} not set", owner)
    if url == c.CONSOLE:
        return channel, None
    if check_url is not None:
        message = check_url(url, written)
        if message:
            return channel, Problem(src.display, line, col, message, owner)
    return channel, None


def compile_matcher(spec: MatchSpec) -> Matcher:
    def terms(group: list[Any]) -> tuple[Any, ...]:
        return tuple(compile_term(t.regex, words=t.words, case_sensitive=t.case_sensitive) for t in group)
    return Matcher(terms(spec.all), terms(spec.any), terms(spec.none), tuple(spec.scope))
