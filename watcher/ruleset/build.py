"""Merging validated files and compiling them into one ``Ruleset``, with the cross-file checks.

Names are claimed across every file (a second definition names both places); references
(an alert's channels, fact, feeds and tags; a fact's trusted feeds) are checked against the
merged names; every pattern is compiled here, once per load.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from ..addresses import parse_networks
from ..errors import Problem
from ..match import ItemRule
from ..matchindex import MatchIndex
from . import compiled as c
from .delivery import alert_noise, channel_options
from .factrules import compile_fact
from .matchers import compile_matcher
from .schema import AlertSpec, RuleFile, SettingsSpec
from .secrets import ConfigCheck, UrlCheck, channel, config_channel, feed_secrets
from .yamlsrc import key_position, locate


@dataclass
class Source:
    """One parsed file: its data (with positions), its valid entries, the names of all entries."""

    display: str
    data: Any
    model: RuleFile
    names: dict[str, list[Any]] = field(default_factory=dict)
    alert_rows: list[int] = field(default_factory=list)


@dataclass
class Merged:
    origins: dict[tuple[str, str], tuple[Source, tuple[int, int]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def claim(self, kind: str, name: str, source: Source, pos: tuple[int, int]) -> bool:
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

    def names(self, kind: str) -> list[str]:
        return [name for (k, name) in self.origins if k == kind]


def merge(sources: list[Source]) -> Merged:
    """Claim every name of every file (valid or not) so duplicates and dangling references
    are found across files."""
    merged = Merged()
    for src in sources:
        for section in ("feeds", "facts", "channels"):
            block = src.data.get(section) or {}
            for name in src.names.get(section, []):
                if isinstance(name, str):
                    merged.claim(section[:-1], name, src, key_position(block, name))
        for i, name in enumerate(src.names.get("alerts", [])):
            if name is not None:
                merged.claim("alert", name, src, locate(src.data, ("alerts", i, "name")))
        if src.data.get("settings") is not None:
            merged.claim("settings", "settings", src, key_position(src.data, "settings"))
    if ("channel", c.CONSOLE) in merged.origins:
        src, (line, col) = merged.origins[("channel", c.CONSOLE)]
        merged.problems.append(Problem(src.display, line, col,
                                       f'"{c.CONSOLE}" is built in (alerts printed by the daemon); pick another name',
                                       f'channel "{c.CONSOLE}"'))
    return merged


def suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


@dataclass
class _Context:
    """What compiling one part needs to know about the rest."""

    merged: Merged
    feeds: dict[str, c.Feed]
    tags: dict[str, set[str]]
    problems: list[Problem]


def build_ruleset(sources: list[Source], merged: Merged, digest: str, environ: Mapping[str, str],
                  check_url: UrlCheck | None, files: tuple[str, ...], *, channels: bool = True,
                  check_config: ConfigCheck | None = None) -> tuple[c.Ruleset, list[Problem]]:
    problems: list[Problem] = []
    settings = next((s.model.settings for s in sources if s.model.settings is not None), None)
    defaults = settings or SettingsSpec()
    default_backlog = c.Backlog(defaults.backlog.alerts, defaults.backlog.facts)
    give_up = settings.delivery.give_up if settings else None

    feeds: dict[str, c.Feed] = {}
    built: dict[str, c.Channel] = {}
    for src in sources:
        for name, spec in src.model.feeds.items():
            backlog = c.Backlog(spec.backlog.alerts, spec.backlog.facts) if spec.backlog else default_backlog
            headers, proxy, found = feed_secrets(src.display, src.data, name, spec, environ)
            problems += found
            feeds[name] = c.Feed(name, spec.url, spec.interval or defaults.interval, tuple(spec.tags),
                                 headers, spec.user_agent or defaults.user_agent, backlog,
                                 min_interval=_first(spec.min_interval, defaults.min_interval),
                                 max_interval=_first(spec.max_interval, defaults.max_interval),
                                 adaptive=_first(spec.adaptive, defaults.adaptive), proxy=proxy,
                                 allow_addresses=parse_networks(spec.allow_addresses))
        for name, spec in src.model.channels.items():
            if not channels:  # tools that send nothing need no secrets
                made, problem = c.Channel(name, c.Secret(""), spec.url or f"config: {spec.config}"), None
            elif spec.config is not None:
                made, problem = config_channel(src.display, src.data, name, spec.config, spec.tag, check_config)
            else:
                made, problem = channel(src.display, src.data, name, spec.url or "", environ, check_url)
            if problem:
                problems.append(problem)
            else:
                built[name] = dataclasses.replace(made, **channel_options(spec, give_up))
    tags: dict[str, set[str]] = {}
    for feed in feeds.values():
        for tag in feed.tags:
            tags.setdefault(tag, set()).add(feed.name)
    ctx = _Context(merged, feeds, tags, problems)

    facts: dict[str, c.Fact] = {}
    for src in sources:
        for name, spec in src.model.facts.items():
            fact, found = compile_fact(src.display, src.data, name, spec,
                                       settings.corroborate if settings else None, ctx.feeds, ctx.tags)
            problems += found
            facts[name] = fact

    alerts: dict[str, c.AlertRule] = {}
    item_rules: list[ItemRule] = []
    for src in sources:
        for row, spec in zip(src.alert_rows, src.model.alerts, strict=True):
            rule, item_rule = _alert(src, row, spec, ctx, facts)
            alerts[spec.name] = rule
            if item_rule is not None:
                item_rules.append(item_rule)
    ruleset = c.Ruleset(feeds, facts, alerts, tuple(item_rules), built, digest, files,
                        index=MatchIndex(item_rules, facts))
    return ruleset, problems


def _problem(ctx: _Context, src: Source, loc: tuple[Any, ...], message: str, owner: str) -> None:
    line, col = locate(src.data, loc)
    ctx.problems.append(Problem(src.display, line, col, message, owner))


def _alert(src: Source, row: int, spec: AlertSpec, ctx: _Context,
           facts: dict[str, c.Fact]) -> tuple[c.AlertRule, ItemRule | None]:
    owner = f'alert "{spec.name}"'
    known_channels = sorted(set(ctx.merged.names("channel")) | {c.CONSOLE})
    for j, target in enumerate(spec.notify):
        if target not in known_channels:
            _problem(ctx, src, ("alerts", row, "notify", j),
                     f'notify: unknown channel "{target}"{suggest(target, known_channels)}', owner)
    on = spec.on
    if on.fact is not None:
        fact = facts.get(on.fact)
        if fact is None and ("fact", on.fact) not in ctx.merged.origins:
            _problem(ctx, src, ("alerts", row, "on", "fact"),
                     f'on.fact: unknown fact "{on.fact}"{suggest(on.fact, sorted(facts))}', owner)
        to = None
        if on.to is not None:
            to = set()
            for k, value in enumerate(on.to):
                normal = fact.normalise(value) if fact is not None else value
                if normal is None:
                    hint = suggest(value, list(fact.values or ())) if fact is not None else ""
                    _problem(ctx, src, ("alerts", row, "on", "to", k),
                             f'on.to: "{value}" is not {_a_value_of(fact)} "{on.fact}"{hint}', owner)
                else:
                    to.add(normal)
        rule = c.AlertRule(spec.name, "fact", tuple(spec.notify), spec.severity, spec.title, spec.body,
                           fact=on.fact, to=frozenset(to) if to is not None else None, events=frozenset(on.event),
                           **alert_noise(spec))
        return rule, None
    selected: set[str] | None = None
    if on.feeds is not None:
        selected = set()
        for k, name in enumerate(on.feeds):
            if name in ctx.feeds:
                selected.add(name)
            elif name in ctx.tags:
                selected |= ctx.tags[name]
            elif ("feed", name) not in ctx.merged.origins:  # a broken feed is reported once, where it is
                known = sorted(set(ctx.merged.names("feed")) | set(ctx.tags))
                _problem(ctx, src, ("alerts", row, "on", "feeds", k),
                         f'on.feeds: no feed or feed tag is called "{name}"{suggest(name, known)}', owner)
    feeds = frozenset(selected) if selected is not None else None
    if on.feed_down is not None:
        return c.AlertRule(spec.name, "feed", tuple(spec.notify), spec.severity, spec.title, spec.body,
                           feed_down=on.feed_down, feeds=feeds, **alert_noise(spec)), None
    assert on.items is not None
    rule = c.AlertRule(spec.name, "item", tuple(spec.notify), spec.severity, spec.title, spec.body,
                       **alert_noise(spec))
    return rule, ItemRule(spec.name, compile_matcher(on.items), feeds, updates=on.updates)


def _a_value_of(fact: c.Fact | None) -> str:
    if fact is None or fact.kind == "status":
        return "one of the values of fact"
    return "an amount for fact" if fact.kind == "number" else "a value of fact"


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value
