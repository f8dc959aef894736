"""The loaded, validated and compiled rule set: immutable, shared by every stage.

A ``Ruleset`` is built by ``load_rules`` and swapped whole on reload, so a stage always sees
one consistent version of the rules. ``digest`` identifies that version (it is stored with
every fact change as the "rules hash" that decided it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any
from collections.abc import Iterable, Mapping

from ..addresses import Network
from ..errors import Problem
from ..match import CompiledTerm, ItemRule, Matcher
from ..polling import Cadence
from ..text import quantity

CONSOLE = "console"  # the built-in channel: alerts printed to the daemon's standard output


class Secret:
    """A string that must not be printed: its repr and str are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Backlog:
    alerts: float   # seconds: backlog items younger than this may alert
    facts: float    # seconds: backlog items younger than this may move facts


@dataclass(frozen=True)
class Feed:
    name: str
    url: str
    interval: float
    tags: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    user_agent: str | None = None
    backlog: Backlog = Backlog(0, 172800)
    min_interval: float | None = None
    max_interval: float | None = None
    adaptive: bool = False
    proxy: Secret | None = None     # may carry credentials: never logged
    allow_addresses: tuple[Network, ...] = ()   # non-public networks this feed may reach

    @property
    def cadence(self) -> Cadence:
        return Cadence(self.interval, self.min_interval, self.max_interval, self.adaptive)


@dataclass(frozen=True)
class Signal:
    index: int
    value: str | None               # the value it supports (canonical); None when it extracts one
    matcher: Matcher                # with ``extract`` among its ``all`` terms, when there is one
    extract: CompiledTerm | None = None
    backwards: bool = False         # may report a move back to an earlier stage
    feeds: frozenset[str] | None = None  # only items of these feeds are evidence (None: every feed)
    take: str | None = None         # a {range} extract: lower, upper or both ends (None: one number)


@dataclass(frozen=True)
class Corroboration:
    sources: int = 1                # independent sources needed
    within: float = 86400.0         # seconds: the window they must fall in; pending reports expire after it
    trusted: frozenset[str] = frozenset()  # feed names whose report is enough alone
    ignore: frozenset[str] = frozenset()   # feed names whose items are never evidence
    confirm_only: frozenset[str] = frozenset()  # feed names that only add a source to a value a counting feed reported


@dataclass(frozen=True)
class Regression:
    operator: bool = True           # never move back on evidence: open a review instead
    sources: int = 2
    within: float = 86400.0


@dataclass(frozen=True)
class Fact:
    name: str
    describe: str
    known: str
    values: tuple[str, ...] | None
    ordered: bool
    signals: tuple[Signal, ...]
    kind: str = ""                  # status, number or text ("": status with values, else text)
    unit: str | None = None         # number facts
    corroborate: Corroboration = Corroboration()
    regression: Regression = Regression()
    precision: int | None = None    # number facts: significant digits that make two amounts the same
    interval: bool = False          # number facts: the value is a range ("3.25..3.5"; a signal takes both ends)
    unit_words: tuple[str, ...] = ()  # number facts with a unit of their own: how text writes it ({quantity})

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", "status" if self.values else "text")

    def rank(self, value: str) -> int | None:
        """Position of ``value`` among ordered values (``None`` if unordered or unknown)."""
        if not self.ordered or self.values is None or value not in self.values:
            return None
        return self.values.index(value)

    def normalise(self, raw: str) -> str | None:
        """``raw`` as this fact stores it, or ``None`` if it is not a value of this fact:
        status -> one of ``values``; number -> canonical digits (``"$61bn"`` -> ``"61000000000"``,
        ``"4.5%"`` -> ``"4.5"``, ``None`` in another unit than ``unit``), or a canonical range
        (``"3.25%-3.5%"`` -> ``"3.25..3.5"``) when the fact holds one; text -> spaces collapsed."""
        if self.kind == "number":
            found = quantity.parse(quantity.without_unit(raw, self.unit_words))
            return None if found is None else quantity.value_for(found, self.unit, "both" if self.interval else None)
        text = " ".join(raw.split()).strip(" \"'“”‘’.,;:")
        if self.kind == "status":
            return text if self.values is not None and text in self.values else None
        return text or None

    def key(self, value: str) -> str:
        """What two values must share to be the same claim: text compares without case, numbers
        (each end of a range) to ``precision`` significant digits when it is set."""
        if self.kind == "text":
            return value.casefold()
        if self.kind == "number" and self.precision:
            try:
                return "..".join(f"{float(end):.{self.precision - 1}e}" for end in value.split(".."))
            except ValueError:
                return value
        return value

    def display(self, value: str | None) -> str:
        """A value as people read it: ``"61 billion USD"``."""
        if value is None or value == "":
            return "(unknown)"
        return quantity.display(value, self.unit) if self.kind == "number" else value


@dataclass(frozen=True)
class AlertRule:
    name: str
    kind: str                       # "item" or "fact"
    channels: tuple[str, ...]
    severity: str = "info"
    title: str | None = None        # template source
    body: str | None = None         # template source
    facts: frozenset[str] = frozenset()  # kind == "fact": the facts it watches
    to: frozenset[tuple[str, str]] | None = None  # (fact, value as the fact stores it); None: any value
    feed_down: float | None = None  # kind == "feed": seconds a feed must have failed
    feeds: frozenset[str] | None = None  # kind == "feed": only these feeds (None: all)
    realert: float | None = None    # seconds: at most one alert per realert key in this time
    realert_key: str | None = None  # template source of the key (None: the fact, or the whole rule)
    digest: bool = True             # may be grouped into a channel's digest
    events: frozenset[str] = frozenset({"change"})  # change, pending, contradiction, review

    def wants(self, fact: str, values: Iterable[str]) -> bool:
        """Does `to:` let an event of ``fact`` about ``values`` through (any of them; no `to:`: all)?"""
        return self.to is None or any((fact, value) in self.to for value in values)


@dataclass(frozen=True)
class QuietWindow:
    """A quiet period of a channel, in local time: ``start``-``end`` (may cross midnight) on ``days``."""

    start: time | None              # None with end None: the whole day
    end: time | None
    timezone: str = "UTC"
    days: frozenset[int] | None = None   # 0 = Monday; the day the period starts on; None: every day
    except_severity: str | None = None   # this severity and higher are delivered anyway


@dataclass(frozen=True)
class Channel:
    name: str
    url: Secret                     # expanded from the environment; never logged
    written: str                    # as written in the rule file (with ${VAR}, no secret)
    config: str | None = None       # an apprise config file (absolute path) instead of ``url``
    tag: str | None = None          # with ``config``: only the services with this tag
    format: str = "auto"            # auto, markdown or text
    min_severity: str = "info"
    digest: float | None = None     # None: no digest; 0: the alerts due together; else a window in seconds
    quiet_hours: tuple[QuietWindow, ...] = ()
    give_up: float | None = None    # seconds of retrying before a delivery is dead (None: the default)
    expanded: bool = True           # False: loaded for a tool that does not send here; url is empty

    @property
    def is_console(self) -> bool:
        return self.expanded and self.config is None and self.url.reveal() == CONSOLE


@dataclass(frozen=True)
class Ruleset:
    feeds: Mapping[str, Feed]
    facts: Mapping[str, Fact]
    alerts: Mapping[str, AlertRule]
    item_rules: tuple[ItemRule, ...]
    channels: Mapping[str, Channel]
    digest: str                     # sha256 of the rule files, first 12 hex digits
    files: tuple[str, ...] = field(default=())
    # matchindex.MatchIndex over item_rules and the facts' signals (None: run every matcher)
    index: Any = field(default=None, compare=False, repr=False)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)  # loaded anyway; `watcher validate` shows them

    def fact_rules(self, fact: str, event: str = "change") -> list[AlertRule]:
        return [rule for rule in self.alerts.values()
                if rule.kind == "fact" and fact in rule.facts and event in rule.events]

    def diff(self, old: Ruleset) -> dict[str, list[str]]:
        """What replacing ``old`` by this set changes: names added, removed, changed per section."""
        out: dict[str, list[str]] = {}
        for section in ("feeds", "facts", "alerts", "channels"):
            before, after = getattr(old, section), getattr(self, section)
            out[f"{section}_added"] = sorted(set(after) - set(before))
            out[f"{section}_removed"] = sorted(set(before) - set(after))
            out[f"{section}_changed"] = sorted(k for k in set(after) & set(before) if after[k] != before[k])
        return {k: v for k, v in out.items() if v}

    def feed_rules(self, feed: str) -> list[AlertRule]:
        """The feed-health alert rules watching ``feed``."""
        return [rule for rule in self.alerts.values()
                if rule.kind == "feed" and (rule.feeds is None or feed in rule.feeds)]

    def terms(self) -> list[tuple[str, CompiledTerm]]:
        """Every pattern of the rules, with what it belongs to (``alert "x"``, ``fact "f" signal 2``)."""
        out = []
        for rule in self.item_rules:
            m = rule.matcher
            out += [(f'alert "{rule.name}"', t) for t in (*m.all, *m.any, *m.none)]
        for fact in self.facts.values():
            for signal in fact.signals:
                m = signal.matcher
                out += [(f'fact "{fact.name}" signal {signal.index}', t) for t in (*m.all, *m.any, *m.none)]
        return out

    def slow_terms(self) -> list[dict[str, Any]]:
        """The patterns that ran out of time on some item since these rules were loaded."""
        return [{"rule": label, "pattern": term.source, "timeouts": term.stats.timeouts,
                 "engine": term.engine, "why": term.why_budget}
                for label, term in self.terms() if term.stats.timeouts]

    def summary(self) -> str:
        return (f"{len(self.feeds)} feeds, {len(self.facts)} facts, {len(self.alerts)} alerts, "
                f"{len(self.channels)} channels (rules {self.digest})")
