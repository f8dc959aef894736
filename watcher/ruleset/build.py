"""Merging validated files and compiling them into one ``Ruleset``, with the cross-file checks.

Names are claimed across every file (a second definition names both places); references
(an alert's channels, fact, feeds and tags; a fact's trusted feeds) are checked against the
merged names; every pattern is compiled here, once per load.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Collection, Mapping

from ..addresses import parse_networks
from ..errors import Problem
from ..match import ItemRule
from ..matchindex import MatchIndex
from . import compiled as c
from .delivery import alert_noise, channel_options
from .factrules import compile_fact, settings_feed_lists
from .matchers import cancel_message, compile_matcher, guard_cancels
from .problems import suggest
from .schema import NAME_PATTERN, AlertSpec, RuleFile, SettingsSpec
from .secrets import ConfigCheck, UrlCheck, channel, config_channel, feed_secrets
from .termlists import TermLists
from .yamlsrc import key_position, locate


@dataclass
class Source:
    """One parsed file: its data (with positions), its valid entries, the names of all entries."""

    display: str
    data: Any
    model: RuleFile
    names: dict[str, list[Any]] = field(default_factory=dict)
    alert_rows: list[int] = field(default_factory=list)
    signal_rows: dict[str, list[int]] = field(default_factory=dict)   # of salvaged facts (validate.py)


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
        for section, kind in (("feeds", "feed"), ("facts", "fact"), ("channels", "channel"), ("terms", "term list")):
            block = src.data.get(section) or {}
            for name in src.names.get(section, []):
                if isinstance(name, str):
                    merged.claim(kind, name, src, key_position(block, name))
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


@dataclass
class _Context:
    """What compiling one part needs to know about the rest."""

    merged: Merged
    feeds: dict[str, c.Feed]
    tags: dict[str, set[str]]
    problems: list[Problem]
    lists: TermLists


def build_ruleset(sources: list[Source], merged: Merged, digest: str, environ: Mapping[str, str],
                  check_url: UrlCheck | None, files: tuple[str, ...], *,
                  channels: bool | Collection[str] = True,
                  check_config: ConfigCheck | None = None) -> tuple[c.Ruleset, list[Problem]]:
    """``channels``: which secrets to take from the environment (see ``load.load_rules``)."""
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
            headers, proxy, found = feed_secrets(src.display, src.data, name, spec, environ) if channels is True \
                else ((), None, [])    # a tool that fetches nothing needs no credentials
            problems += found
            feeds[name] = c.Feed(name, spec.url, spec.interval or defaults.interval, tuple(spec.tags),
                                 headers, spec.user_agent or defaults.user_agent, backlog,
                                 min_interval=_first(spec.min_interval, defaults.min_interval),
                                 max_interval=_first(spec.max_interval, defaults.max_interval),
                                 adaptive=_first(spec.adaptive, defaults.adaptive), proxy=proxy,
                                 allow_addresses=parse_networks(spec.allow_addresses))
        for name, spec in src.model.channels.items():
            if not (channels is True or (channels is not False and name in channels)):  # not sent to: no secret
                made = c.Channel(name, c.Secret(""), spec.url or f"config: {spec.config}", expanded=False)
                problem = None
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
    lists = TermLists(sources, set(merged.names("term list")))
    problems += lists.problems
    ctx = _Context(merged, feeds, tags, problems, lists)

    facts: dict[str, c.Fact] = {}
    home = next((s for s in sources if s.model.settings is not None), None)
    inherited: dict[str, frozenset[str]] = {}
    if home is not None and settings is not None:
        inherited, found = settings_feed_lists(home.display, home.data, settings.corroborate, ctx.feeds, ctx.tags)
        problems += found
    for src in sources:
        for name, spec in src.model.facts.items():
            fact, found = compile_fact(src.display, src.data, name, spec,
                                       settings.corroborate if settings else None, ctx.feeds, ctx.tags, inherited,
                                       lists, rows=src.signal_rows.get(name))
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
        for row in _broken_alerts(src):
            _written_references(src, row, ctx, facts)
    ruleset = c.Ruleset(feeds, facts, alerts, tuple(item_rules), built, digest, files,
                        index=MatchIndex(item_rules, facts))
    return ruleset, problems


def _problem(ctx: _Context, src: Source, loc: tuple[Any, ...], message: str, owner: str,
             warning: bool = False) -> None:
    line, col = locate(src.data, loc)
    ctx.problems.append(Problem(src.display, line, col, message, owner, warning))


@dataclass(frozen=True)
class _References:
    """What an alert names elsewhere: its channels, its facts and the values it waits for, its feeds."""

    notify: tuple[str, ...] = ()
    fact: str | None = None
    facts: tuple[str, ...] | str | None = None   # names, or "all"
    to: tuple[str, ...] | None = None
    feeds: tuple[str, ...] | None = None

    @property
    def watches_facts(self) -> bool:
        return self.fact is not None or self.facts is not None


@dataclass(frozen=True)
class _Resolved:
    """An alert's references as the rule set holds them."""

    facts: tuple[str, ...] = ()                       # the facts it watches (known names)
    to: frozenset[tuple[str, str]] | None = None      # (fact, value as that fact stores it)
    feeds: frozenset[str] | None = None               # feed names its `feeds` select


def _references(src: Source, row: int, owner: str, refs: _References, ctx: _Context,
                facts: dict[str, c.Fact]) -> _Resolved:
    """Check an alert's references (each unknown name a problem where it is written)."""
    known_channels = sorted(set(ctx.merged.names("channel")) | {c.CONSOLE})
    for j, target in enumerate(refs.notify):
        if target not in known_channels:
            _problem(ctx, src, ("alerts", row, "notify", j),
                     f'notify: unknown channel "{target}"{suggest(target, known_channels)}', owner)
    named: list[str] = []
    to = None
    if refs.watches_facts:
        named = _watched_facts(src, row, refs.fact, refs.facts, ctx, facts, owner)
        if refs.to is not None:
            to = set()
            for k, value in enumerate(refs.to):
                misfits = []
                for name in named:
                    fact = facts.get(name)
                    normal = fact.normalise(value) if fact is not None else value
                    if normal is None:
                        misfits.append(fact)
                    else:
                        to.add((name, normal))
                if misfits:
                    _problem(ctx, src, ("alerts", row, "on", "to", k), f"on.to: {_not_a_value_of(value, misfits)}",
                             owner)
    selected: set[str] | None = None
    if refs.feeds is not None:
        selected = set()
        for k, name in enumerate(refs.feeds):
            if name in ctx.feeds:
                selected.add(name)
            elif name in ctx.tags:
                selected |= ctx.tags[name]
            elif ("feed", name) not in ctx.merged.origins:  # a broken feed is reported once, where it is
                known = sorted(set(ctx.merged.names("feed")) | set(ctx.tags))
                _problem(ctx, src, ("alerts", row, "on", "feeds", k),
                         f'on.feeds: no feed or feed tag is called "{name}"{suggest(name, known)}', owner)
    return _Resolved(tuple(named), frozenset(to) if to is not None else None,
                     frozenset(selected) if selected is not None else None)


def _broken_alerts(src: Source) -> list[int]:
    """The rows of the file's alerts that did not validate."""
    valid = set(src.alert_rows)
    return [row for row in range(len(src.names.get("alerts", []))) if row not in valid]


def _written_references(src: Source, row: int, ctx: _Context, facts: dict[str, c.Fact]) -> None:
    """A broken alert's references, as written (those of a usable type), are checked all the
    same: a bad pattern must not hide an unknown channel of the same alert."""
    entry = src.data["alerts"][row]
    if not isinstance(entry, dict):
        return
    on = entry.get("on") if isinstance(entry.get("on"), dict) else {}
    fact = on.get("fact") if isinstance(on.get("fact"), str) and re.match(NAME_PATTERN, on["fact"]) else None
    several = "all" if on.get("facts") == "all" else _written(on.get("facts"), NAME_PATTERN)
    watched = fact is not None or several is not None
    refs = _References(_written(entry.get("notify"), NAME_PATTERN) or (), fact, several,
                       _written(on.get("to")) if watched else None, _written(on.get("feeds"), NAME_PATTERN))
    name = entry.get("name")
    _references(src, row, f'alert "{name}"' if isinstance(name, str) else f"alert #{row + 1}", refs, ctx, facts)


def _written(value: Any, pattern: str | None = None) -> tuple[str, ...] | None:
    """A list of names or values as written, if it is one; an element that is not a usable name
    (a problem pydantic has reported already) is left out. Numbers are values too: `to: [61e9]`."""
    if not isinstance(value, list):
        return None
    found = tuple(v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v) for v in value
                  if isinstance(v, (str, int, float)) and not isinstance(v, bool))
    return tuple(v for v in found if pattern is None or re.match(pattern, v))


def _alert(src: Source, row: int, spec: AlertSpec, ctx: _Context,
           facts: dict[str, c.Fact]) -> tuple[c.AlertRule, ItemRule | None]:
    on = spec.on
    owner = f'alert "{spec.name}"'
    several = on.facts if isinstance(on.facts, str) or on.facts is None else tuple(on.facts)
    refs = _References(tuple(spec.notify), on.fact, several, tuple(on.to) if on.to is not None else None,
                       tuple(on.feeds) if on.feeds is not None else None)
    found = _references(src, row, owner, refs, ctx, facts)
    if refs.watches_facts:
        rule = c.AlertRule(spec.name, "fact", tuple(spec.notify), spec.severity, spec.title, spec.body,
                           facts=frozenset(found.facts), to=found.to, events=frozenset(on.event), **alert_noise(spec))
        return rule, None
    if on.feed_down is not None:
        return c.AlertRule(spec.name, "feed", tuple(spec.notify), spec.severity, spec.title, spec.body,
                           feed_down=on.feed_down, feeds=found.feeds, **alert_noise(spec)), None
    assert on.items is not None
    rule = c.AlertRule(spec.name, "item", tuple(spec.notify), spec.severity, spec.title, spec.body,
                       **alert_noise(spec))
    items = ctx.lists.expand(on.items, lambda loc, message: _problem(ctx, src, ("alerts", row, "on", "items", *loc),
                                                                       message, owner), "on.items.")
    matcher = compile_matcher(items)
    for group, k, term, cancels in guard_cancels(matcher):
        _problem(ctx, src, ("alerts", row, "on", "items", group, k),
                 f"on.items.{group}[{k}]: {cancel_message(term, cancels, 'rule')}", owner, warning=True)
    return rule, ItemRule(spec.name, matcher, found.feeds, updates=on.updates)


def _watched_facts(src: Source, row: int, one: str | None, several: list[str] | str | None, ctx: _Context,
                   facts: dict[str, c.Fact], owner: str) -> list[str]:
    """The facts an alert rule watches (``fact: F``, ``facts: [a, b]`` or ``facts: all``); an
    unknown name is a problem where it is written."""
    if several == "all":
        return sorted(facts)
    names = [one] if one is not None else list(several or [])
    known = []
    for k, name in enumerate(names):
        if name in facts or ("fact", name) in ctx.merged.origins:  # a broken fact is reported once, where it is
            known.append(name)
            continue
        loc, key = (("alerts", row, "on", "fact"), "on.fact") if one is not None else \
            (("alerts", row, "on", "facts", k), f"on.facts[{k}]")
        _problem(ctx, src, loc, f'{key}: unknown fact "{name}"{suggest(name, sorted(facts))}', owner)
    return known


def _not_a_value_of(value: str, facts: list[c.Fact]) -> str:
    """``"X" is not one of the values of fact "F"`` (with "did you mean"), for each fact it does not fit."""
    parts = []
    for fact in facts:
        if fact.kind == "status":
            parts.append(f'one of the values of fact "{fact.name}"{suggest(value, list(fact.values or ()))}')
        else:
            parts.append(f'{"an amount for" if fact.kind == "number" else "a value of"} fact "{fact.name}"')
    return f'"{value}" is not ' + ", nor ".join(parts)


def _first(value: Any, default: Any) -> Any:
    return default if value is None else value
