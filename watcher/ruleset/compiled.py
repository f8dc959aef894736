"""The loaded, validated and compiled rule set: immutable, shared by every stage.

A ``Ruleset`` is built by ``load_rules`` and swapped whole on reload, so a stage always sees
one consistent version of the rules. ``digest`` identifies that version (it is stored with
every fact change as the "rules hash" that decided it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

from ..match import ItemRule, Matcher

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


@dataclass(frozen=True)
class Signal:
    index: int
    value: str
    matcher: Matcher


@dataclass(frozen=True)
class Fact:
    name: str
    describe: str
    known: str
    values: tuple[str, ...] | None
    ordered: bool
    signals: tuple[Signal, ...]

    def rank(self, value: str) -> int | None:
        """Position of ``value`` among ordered values (``None`` if unordered or unknown)."""
        if not self.ordered or self.values is None or value not in self.values:
            return None
        return self.values.index(value)


@dataclass(frozen=True)
class AlertRule:
    name: str
    kind: str                       # "item" or "fact"
    channels: tuple[str, ...]
    severity: str = "info"
    title: str | None = None        # template source
    body: str | None = None         # template source
    fact: str | None = None         # kind == "fact"
    to: frozenset[str] | None = None


@dataclass(frozen=True)
class Channel:
    name: str
    url: Secret                     # expanded from the environment; never logged
    written: str                    # as written in the rule file (with ${VAR}, no secret)

    @property
    def is_console(self) -> bool:
        return self.url.reveal() == CONSOLE


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

    def fact_rules(self, fact: str) -> list[AlertRule]:
        return [rule for rule in self.alerts.values() if rule.kind == "fact" and rule.fact == fact]

    def summary(self) -> str:
        return (f"{len(self.feeds)} feeds, {len(self.facts)} facts, {len(self.alerts)} alerts, "
                f"{len(self.channels)} channels (rules {self.digest})")
