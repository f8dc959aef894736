"""Weighing one fact's reports against each other, and saying what a reported value waits for. Pure.

The reports still in a fact's window are grouped by the value they claim (a ``Balance``). For
each value: its *role* against the current value (confirms, forward, backwards, stale or a plain
claim), the independent sources that count for it, and its *rivals*: the values that contradict
it, each with the sources that count against it. ``facts.weigh`` decides with it; ``outlook``
turns it into what `watcher facts`, the status page and `watcher explain` say about a value
that has not won: how many more sources it needs, which contradiction holds it, whether it
waits for an operator, and until when.

Two rules shape what counts:

- a feed in ``corroborate.confirm_only`` counts only next to a feed that counts: its reports
  add a source to a value some other feed reported, never stand for a value alone;
- a *restatement* (a report that said what the ledger held, not one of the reports that moved
  the fact there) counts against another value only when it was reported at or after that
  value's first report. "Bridge remains closed" published before "bridge reopens" is old news,
  and stays old news once the bridge has reopened; published after it, it is a real dispute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .corroboration import independent, source_keys
from .models import Observation, ObservationState as S
from .ruleset.compiled import Fact
from .timefmt import format_duration, iso


def window(fact: Fact, observation: Observation) -> float:
    """Seconds an observation counts for after it was reported (``Observation.reported_at``)."""
    if observation.backwards and not fact.regression.operator:
        return fact.regression.within
    return fact.corroborate.within


def expires(fact: Fact, observation: Observation) -> datetime:
    """When ``observation`` leaves its window."""
    return observation.reported_at + timedelta(seconds=window(fact, observation))


def role(fact: Fact, current: str, observation: Observation) -> str:
    """confirms, forward, backwards, stale or claim (see ``facts``)."""
    if fact.key(observation.value) == fact.key(current):
        return "confirms"
    if not fact.ordered:
        return "claim"
    rank, now_rank = fact.rank(observation.value), fact.rank(current)
    if rank is None:
        return "stale"
    if now_rank is None or rank > now_rank:
        return "forward"
    return "backwards" if observation.backwards else "stale"


def conflict(fact: Fact, roles: dict[str, str], a: str, b: str) -> bool:
    """Do claims ``a`` and ``b`` contradict each other? For ordered facts, later stages do not
    contradict earlier ones (that is progress); a move back contradicts everything else."""
    if a == b:
        return False
    if not fact.ordered:
        return True
    return "backwards" in (roles[a], roles[b])


def counts(fact: Fact, observation: Observation) -> bool:
    """Is the report from a feed that counts on its own (not a ``confirm_only`` one)?"""
    return observation.item.feed not in fact.corroborate.confirm_only


@dataclass(frozen=True)
class Balance:
    """The reports in one fact's window, by value, weighed against each other."""

    fact: Fact
    current: str
    since: datetime | None                 # since when the fact has its current value (None: unknown)
    claims: dict[str, list[Observation]]   # value key -> its reports, oldest first; no old news
    roles: dict[str, str]                  # value key -> confirms, forward, backwards or claim
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def current_key(self) -> str:
        return self.fact.key(self.current)

    def restates(self, observation: Observation, key: str) -> bool:
        """Did the report only restate what the ledger held: confirmed when it was weighed, or a
        new report of the current value (not one of the reports that moved the fact there)?"""
        return observation.state == S.CONFIRMED or (key == self.current_key and observation.state != S.APPLIED)

    def first(self, key: str) -> datetime | None:
        """When a value was first reported, its restatements aside; the current value no later
        than when the fact took it."""
        if ("first", key) not in self._memo:
            group = self.claims.get(key, [])
            times = [o.reported_at for o in group if not self.restates(o, key)] or [o.reported_at for o in group]
            if key == self.current_key and self.since is not None:
                times.append(self.since)
            self._memo[("first", key)] = min(times, default=None)
        return self._memo[("first", key)]

    def counting(self, key: str) -> list[Observation]:
        """The reports of a value that count: all of them once a feed that counts reported it,
        none while only ``confirm_only`` feeds have."""
        group = self.claims[key]
        return group if any(counts(self.fact, o) for o in group) else []

    def against(self, key: str, other: str) -> list[Observation]:
        """The reports of ``other`` that count against ``key``: its restatements only when they
        were reported at or after ``key``'s first report (see the module docstring), and none
        while only ``confirm_only`` feeds are left."""
        if ("against", key, other) not in self._memo:
            first = self.first(key)
            kept = [o for o in self.claims[other]
                    if first is None or not self.restates(o, other) or o.reported_at >= first]
            self._memo[("against", key, other)] = kept if any(counts(self.fact, o) for o in kept) else []
        return self._memo[("against", key, other)]

    def sources(self, reports: list[Observation]) -> int:
        """How many independent sources ``reports`` are (``corroboration.independent``)."""
        return len(independent(reports, keys=self._keys))

    def _keys(self, observation: Observation) -> frozenset[str]:
        if ("keys", id(observation)) not in self._memo:  # (the reports live as long as the balance)
            self._memo[("keys", id(observation))] = source_keys(observation)
        return self._memo[("keys", id(observation))]

    def count(self, key: str, other: str) -> int:
        """Independent sources of ``other`` against ``key``."""
        if ("count", key, other) not in self._memo:
            self._memo[("count", key, other)] = self.sources(self.against(key, other))
        return self._memo[("count", key, other)]

    def support(self, key: str) -> int:
        """Independent sources for a value: against the current value for any other value (old
        restatements of it do not make a change), all that count for the current one."""
        if key == self.current_key:
            if ("support", key) not in self._memo:
                self._memo[("support", key)] = self.sources(self.counting(key))
            return self._memo[("support", key)]
        return self.count(self.current_key, key)

    def rivals(self, key: str) -> dict[str, int]:
        """The values that contradict ``key``, each with its independent sources against it."""
        found = {}
        for other in self.claims:
            if conflict(self.fact, self.roles, key, other) and self.count(key, other):
                found[other] = self.count(key, other)
        return found

    def needed(self, key: str) -> int:
        if self.roles[key] == "backwards" and not self.fact.regression.operator:
            return self.fact.regression.sources
        return self.fact.corroborate.sources

    def trusted(self, key: str) -> bool:
        group = self.counting(key) if key == self.current_key else self.against(self.current_key, key)
        return any(o.item.feed in self.fact.corroborate.trusted for o in group)

    def met(self, key: str) -> bool:
        """Enough sources for the policy (or a trusted one), contradictions aside."""
        return self.support(key) > 0 and (self.trusted(key) or self.support(key) >= self.needed(key))

    def short(self, key: str) -> int:
        """Further independent sources ``key`` needs to outnumber every value contradicting it."""
        return max((n + 1 - self.count(other, key) for other, n in self.rivals(key).items()), default=0)

    def wins(self, key: str) -> bool:
        """The policy is met and the value has more sources than every value contradicting it."""
        return self.met(key) and self.short(key) <= 0

    def for_operator(self, key: str) -> bool:
        """A move back that is never applied on evidence (``regression: operator``)."""
        return self.roles[key] == "backwards" and self.fact.regression.operator


def weigh_claims(fact: Fact, current: str, since: datetime | None, observations: Sequence[Observation],
                 stale: Callable[[Observation], None] | None = None) -> Balance:
    """Group the reports by value against ``current`` (held ``since``); reports of old news (an
    earlier stage) are left out and passed to ``stale``."""
    claims: dict[str, list[Observation]] = {}
    for o in sorted(observations, key=lambda o: (o.seen_at, o.id or 0)):
        if role(fact, current, o) == "stale":
            if stale is not None:
                stale(o)
            continue
        claims.setdefault(fact.key(o.value), []).append(o)
    roles = {}
    for key, group in claims.items():
        kinds = {role(fact, current, o) for o in group}
        roles[key] = "backwards" if kinds == {"backwards"} else next(iter(kinds - {"backwards"}), "backwards")
    return Balance(fact, current, since, claims, roles)


@dataclass(frozen=True)
class Outlook:
    """Where a reported value stands, and what it waits for to move the fact."""

    fact: str
    value: str
    sources: int                           # independent sources that count for it now
    needed: int                            # what the policy asks
    more: int                              # further independent sources it needs (0: none)
    rivals: tuple[tuple[str, int], ...]    # contradicting values, with their sources against it
    until: datetime                        # when its last report leaves the window
    wins: bool = False                     # it would move the fact now
    operator: bool = False                 # a move back: applied only by an operator
    confirm_only: tuple[str, ...] = ()     # it counts only once a feed that counts reports it (these did)
    reports: tuple[Observation, ...] = ()  # its reports in the window, oldest first

    @property
    def contradicted(self) -> bool:
        """Held by a contradiction: a value against it has at least as many sources."""
        return any(n >= self.sources for _, n in self.rivals)

    def waits_for(self, show: Callable[[str], str] = str) -> str:
        """In words, without the time: what this value waits for."""
        if self.wins:
            return "nothing: it moves the fact"
        if self.confirm_only:
            feeds = ", ".join(self.confirm_only)
            return (f"a report from a feed that counts (only {feeds}, in corroborate.confirm_only, "
                    f"reported {show(self.value)})")
        more = f"{self.more} more independent source{'s' if self.more != 1 else ''}"
        if self.operator:
            settle = f"an operator (`watcher facts set {self.fact} VALUE`): a move back is never applied on evidence"
            return f"{more}, then {settle}" if self.more else settle
        if self.contradicted:
            sides = " against ".join(f"{show(v)} ({n})" for v, n in ((self.value, self.sources), *self.rivals))
            return f"{more}: held by a contradiction, {sides}"
        return more


    def summary(self, show: Callable[[str], str] = str) -> dict[str, Any]:
        """As JSON: what `watcher facts --json` and the API add to a pending report."""
        return {"waits_for": self.waits_for(show), "waits_until": iso(self.until), "sources": self.sources,
                "more_sources": self.more, "needs_operator": self.operator,
                "confirm_only": list(self.confirm_only),
                "contradiction": [{"value": v, "shown": show(v), "sources": n} for v, n in self.rivals
                                  if self.contradicted]}


def outlook(balance: Balance, key: str) -> Outlook:
    """What the value ``key`` of ``balance`` waits for (see ``Outlook``)."""
    fact = balance.fact
    group = balance.claims[key]
    rivals = balance.rivals(key)
    sources = balance.support(key)
    operator = balance.for_operator(key)
    needed = fact.corroborate.sources if operator else balance.needed(key)
    short = 0 if balance.trusted(key) else max(needed - sources, 0)
    more = max(short, 0 if operator else balance.short(key), 0)
    confirm_only = () if any(counts(fact, o) for o in group) else tuple(sorted({o.item.feed for o in group}))
    until = max(expires(fact, o) for o in group)
    order = sorted(rivals.items(), key=lambda kv: (-kv[1], kv[0]))
    wins = balance.wins(key) and not operator
    return Outlook(fact.name, group[0].value, sources, needed, more,
                   tuple((balance.claims[k][0].value, n) for k, n in order), until, wins, operator, confirm_only,
                   tuple(group))


def outlooks(fact: Fact, current: str, since: datetime | None, observations: Sequence[Observation],
             now: datetime) -> list[Outlook]:
    """What each value reported in the window (other than the current one, held ``since``) waits
    for, most supported first. ``observations`` are the fact's live reports; those out of their
    window and from ignored feeds are left out."""
    live = [o for o in observations if now < expires(fact, o) and o.item.feed not in fact.corroborate.ignore]
    balance = weigh_claims(fact, current, since, live)
    found = [outlook(balance, key) for key, role_ in balance.roles.items() if role_ != "confirms"]
    return sorted(found, key=lambda o: (-o.sources, o.until))


def pending(fact: Fact, current: str, since: datetime | None, observations: Sequence[Observation],
            now: datetime) -> list[tuple[Observation, Outlook | None]]:
    """Each pending report of the fact still in its window, newest first, with what its value
    waits for (``None``: its feed is in ``corroborate.ignore``, so it never counts)."""
    waits = {fact.key(o.value): found for found in outlooks(fact, current, since, observations, now)
             for o in found.reports}
    found: list[tuple[Observation, Outlook | None]] = []
    for o in sorted(observations, key=lambda o: (o.seen_at, o.id or 0), reverse=True):
        if o.state != S.PENDING or now >= expires(fact, o):
            continue
        if o.item.feed in fact.corroborate.ignore:
            found.append((o, None))
        elif fact.key(o.value) in waits:  # (not one that now says the current value: weighed again soon)
            found.append((o, waits[fact.key(o.value)]))
    return found


def pending_summary(fact: Fact, observation: Observation, wait: Outlook | None) -> dict[str, Any]:
    """A pending report (from ``pending``) as JSON: when it was seen and reported, when it leaves
    its window, and what its value waits for (`watcher facts --json`, the API, the status page)."""
    found = {"seen_at": iso(observation.seen_at), "reported_at": iso(observation.reported_at),
             "expires_at": iso(expires(fact, observation)), "ignored": wait is None}
    if wait is None:
        found.update(waits_for=f"nothing: ignored, feed {observation.item.feed} is in corroborate.ignore",
                     waits_until=None)
    else:
        found.update(wait.summary(fact.display))
    return found


def policy_words(fact: Fact) -> str:
    """The fact's corroboration policy in words, as `watcher facts` and `watcher explain` show it."""
    c = fact.corroborate
    words = [f"{c.sources} independent source{'s' if c.sources != 1 else ''} within {format_duration(c.within)}"]
    for label, key, feeds in (("trusted", "trusted", c.trusted), ("ignored", "ignore", c.ignore),
                              ("confirm only", "confirm_only", c.confirm_only)):
        if feeds:
            words.append(f"{label}: {', '.join(sorted(feeds))} (corroborate.{key})")
    return "; ".join(words)
