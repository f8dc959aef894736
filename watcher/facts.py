"""The fact engine: items -> observations -> weighed against the ledger -> a ``Verdict``. Pure.

1. ``observe``: every signal of every fact is matched against new items; each match is an
   ``Observation`` ("this item says fact F is V"), its value read from the text when the
   signal ``extract``\\ s one. Guards have already kept questions, denials, predictions and
   opinion out (``match.py``).
2. ``weigh``: one fact's new observations, together with those still inside its window from
   earlier polls, are weighed against the ledger's value:

   - each claim is classed against the current value: it *confirms* it, is *stale* (an
     earlier stage of an ordered fact: old news), goes *forward* (a later stage; skipping
     stages is fine), goes *backwards* (an earlier stage from a signal marked ``backwards``),
     or simply *claims* another value (unordered facts, numbers, text);
   - support for a value is its number of independent sources (``corroboration.py``);
   - a value wins when its support meets the policy (``corroborate.sources``, or
     ``regression.sources`` to go backwards; one report from a ``trusted`` feed is enough)
     **and** exceeds the support of every value it contradicts in the window. So a lone
     report waits (pending), two sources that disagree hold the fact where it is (a
     contradiction, recorded and alertable) instead of flapping it, and a later majority wins;
   - with ``regression: operator`` a corroborated move back is never applied: it opens a review;
   - of several winners, an ordered fact takes the furthest stage, others the best supported.
   Observations leave the window ``within`` after they were reported (their item's publication,
   when that is earlier than when watcher first saw it); a pending one then expires, and a
   report already older than the window when it arrives never counts. Feeds in
   ``corroborate.ignore`` are never evidence; a restatement of the current value and a report
   from a ``confirm_only`` feed count only as ``balance.py`` says.

Everything takes ``now``; nothing reads a clock or the database.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from collections.abc import Iterable, Mapping, Sequence

from .balance import Balance, conflict, counts, expires, role, weigh_claims
from .models import Evidence, FactChange, FactNotice, FactState, Observation, ObservationState as S, StoredItem, \
    Verdict
from .ruleset.compiled import Fact, Signal
from .text import quantity
from .text.patterns import SlowPattern
from .text.view import ItemView

if TYPE_CHECKING:
    from .matchindex import MatchIndex

LIVE = (S.PENDING, S.APPLIED, S.CONFIRMED)


def observe(facts: Mapping[str, Fact], items: Iterable[StoredItem],
            index: MatchIndex | None = None, *, slow: list[tuple[str, StoredItem, str]] | None = None,
            ) -> list[Observation]:
    """Every (fact, value, item) that signals found, in item order. With the rule set's ``index``
    only the signals that can match an item are run on it (same result).

    An item is one report of a value however many of the fact's signals find it (one in its
    title and another in its summary): their hits and quotes are joined into one observation,
    so it is one piece of evidence, listed once. A signal whose pattern runs out of time on an
    item reads nothing from it nor from the items after it here; ``slow`` gets ("F signal N",
    item, pattern) for each."""
    if index is not None and not index.serves_facts(facts):
        index = None
    found: list[Observation] = []
    gave_up: dict[int, str] = {}   # id(signal) -> its pattern that ran out of time on an earlier item
    for stored in items:
        wanted = None if index is None else index.signals_for(stored)
        if wanted is not None and not wanted:
            continue
        view = ItemView(stored.item, stored.feed)  # built only for items some signal may match
        for fact in facts.values():
            reported: dict[str, int] = {}  # value (its key) -> where this item's observation of it is
            for signal in fact.signals:
                if wanted is not None and id(signal) not in wanted:
                    continue
                try:
                    if id(signal) in gave_up:
                        continue
                    observation = read(fact, signal, stored, view)
                except SlowPattern as exc:
                    gave_up[id(signal)] = exc.term.source
                    continue
                finally:
                    if slow is not None and id(signal) in gave_up:
                        slow.append((f"{fact.name} signal {signal.index}", stored, gave_up[id(signal)]))
                if observation is None:
                    continue
                key = fact.key(observation.value)
                if key in reported:
                    found[reported[key]] = _joined(found[reported[key]], observation)
                else:
                    reported[key] = len(found)
                    found.append(observation)
    return found


def _joined(first: Observation, other: Observation) -> Observation:
    """One item's two observations of one value: the first's value and signal, both's hits and
    quotes; a report some signal may take as a move back stays one."""
    hits = first.hits + tuple(h for h in other.hits if h not in first.hits)
    quote = first.quote if other.quote in ("", first.quote) else f"{first.quote} … {other.quote}".strip(" …")
    return replace(first, hits=hits, quote=quote, backwards=first.backwards or other.backwards)


def read(fact: Fact, signal: Signal, stored: StoredItem, view: ItemView) -> Observation | None:
    """One signal on one item: the observation it makes, or ``None``."""
    if signal.feeds is not None and stored.feed not in signal.feeds:
        return None
    if stored.feed in fact.corroborate.ignore:
        return None
    found = signal.matcher.find(view)
    if found is None:
        return None
    value = signal.value
    if signal.extract is not None:
        m = found.match_of(signal.extract)
        value = extracted_value(fact, m, signal.take) if m is not None else None
    if value is None:
        return None
    return Observation(fact.name, value, stored, found.hits, signal.index, found.context, signal.backwards)


def extracted_value(fact: Fact, m: re.Match[str], take: str | None = None) -> str | None:
    """The value an ``extract`` match reads, as the fact stores it (``None``: not a value of
    this fact, e.g. an amount in another currency, a change where the fact is a level, one
    number where it is a range). ``take`` is the signal's: which end of a ``{range}``."""
    groups = m.groupdict()
    if groups.get("value"):
        return fact.normalise(groups["value"])
    if fact.kind == "number":
        found = quantity.from_match(m)
        if found is None:
            return None
        return quantity.value_for(found, fact.unit, take)
    if groups.get("name"):
        return fact.normalise(groups["name"])
    return None


def weigh(fact: Fact, state: FactState, stored: Sequence[Observation], new: Sequence[Observation],
          now: datetime, rules_hash: str = "") -> Verdict:
    """Decide what one fact's evidence justifies (see the module docstring)."""
    changed: dict[int, Observation] = {}   # id(original) -> observation with its new state

    def mark(o: Observation, to: S) -> Observation:
        if o.state != to:
            changed[id(o)] = replace(o, state=to)
        return o

    current = state.value
    live: list[Observation] = []
    for o in stored:
        if o.state not in LIVE or o.item.feed in fact.corroborate.ignore:
            continue
        if now >= expires(fact, o):
            if o.state == S.PENDING:
                mark(o, S.EXPIRED)
        else:
            live.append(o)
    fresh = []
    for o in new:
        if fact.normalise(o.value) is None:
            continue
        if now < expires(fact, o):
            fresh.append(o)
        else:  # reported longer ago than the window (an old item in a feed's backlog): never counts
            mark(o, _too_old(fact, current, o))
    def old_news(o: Observation) -> None:
        if o.state in (S.NEW, S.PENDING):
            mark(o, S.STALE)

    balance = weigh_claims(fact, current, state.since, [*live, *fresh], old_news)
    claims = balance.claims
    target = _target(balance)
    notices = _notices(balance, state, live, now)
    change = None
    if target is not None:
        group = claims[target]
        disputed = tuple(claims[k][0].value for k in balance.rivals(target))
        change = FactChange(fact.name, current, group[0].value, now, "signal",
                            tuple(o.evidence() for o in group), rules_hash=rules_hash, old_since=state.since,
                            sources=balance.support(target), direction=_direction(balance.roles[target]),
                            disputed=disputed)
        for o in group:
            mark(o, S.APPLIED)
        current = group[0].value
    for key, group in claims.items():
        if target is not None and key == target:
            continue
        now_role = role(fact, current, group[0]) if target is not None else balance.roles[key]
        for o in group:
            if o.state in (S.APPLIED, S.CONFIRMED):
                continue  # settled: they stay what they were when they were weighed
            if now_role == "confirms":
                mark(o, S.CONFIRMED)
            elif now_role == "stale":
                mark(o, S.STALE)
            elif o.state == S.NEW:
                mark(o, S.PENDING)
    if target is not None:  # the value that won at once is news, not a pending report
        notices = tuple(n for n in notices if not (n.kind == "pending" and fact.key(n.values[0][0]) == target))
    return Verdict(fact.name, change, tuple(changed.values()), notices)


def _too_old(fact: Fact, current: str, observation: Observation) -> S:
    kind = role(fact, current, observation)
    return S.CONFIRMED if kind == "confirms" else S.STALE if kind == "stale" else S.EXPIRED


def _target(balance: Balance) -> str | None:
    fact, claims = balance.fact, balance.claims
    winners = [k for k in claims if balance.roles[k] != "confirms" and not balance.for_operator(k) and balance.wins(k)]
    if not winners:
        return None
    forward = [k for k in winners if balance.roles[k] == "forward"]
    if forward:
        return max(forward, key=lambda k: fact.rank(claims[k][0].value) or 0)
    return max(winners, key=lambda k: (balance.support(k), claims[k][-1].seen_at))


def _direction(kind: str) -> str:
    return {"forward": "forward", "backwards": "backwards"}.get(kind, "")


def _notices(balance: Balance, state: FactState, live: list[Observation], now: datetime) -> tuple[FactNotice, ...]:
    fact, claims = balance.fact, balance.claims
    notices = []
    # a move back under `regression: operator` is raised as a review, not as a contradiction
    reviewed = {k for k in claims if balance.for_operator(k)}
    # each side of a dispute, with the reports of it that count against the other side
    sides: dict[str, list[Observation]] = {}
    for k in claims:
        for j in claims:
            if k in reviewed or j in reviewed or not conflict(fact, balance.roles, k, j):
                continue
            mine, theirs = balance.against(j, k), balance.against(k, j)
            if mine and theirs:
                side = sides.setdefault(k, [])
                held = {id(o) for o in side}
                side += [o for o in mine if id(o) not in held]
    # what a notice shows of each value: the reports that count (against the other side, or for a change)
    groups = {k: sorted(sides[k], key=lambda o: (o.seen_at, o.id or 0)) if k in sides
              else balance.against(balance.current_key, k) or claims[k] for k in claims}
    shown = {k: balance.sources(group) if k in sides else balance.support(k) for k, group in groups.items()}

    def values(keys: Iterable[str]) -> tuple[tuple[str, int], ...]:
        ordered = sorted(keys, key=lambda k: (-shown[k], groups[k][0].seen_at, groups[k][0].id or 0))
        return tuple((claims[k][0].value, shown[k]) for k in ordered)

    def evidence(keys: Iterable[str]) -> tuple[Evidence, ...]:
        return tuple(o.evidence() for k in keys for o in groups[k])

    if sides:
        notices.append(FactNotice("contradiction", fact.name, state.value, values(sides), now,
                                  evidence(sorted(sides, key=lambda k: groups[k][0].seen_at))))
    for key in reviewed:
        if balance.support(key) >= fact.corroborate.sources or balance.trusted(key):
            notices.append(FactNotice("review", fact.name, state.value, values([key]), now, evidence([key])))
    # a value reported before (not only restated while the ledger held it) has had its notice
    earlier = {id(o) for o in live}
    before = {k for k, group in claims.items() for o in group if id(o) in earlier and counts(fact, o)
              and not balance.restates(o, k)}
    for key in claims:
        group = balance.against(balance.current_key, key)
        if balance.roles[key] != "confirms" and key not in before and any(o.state == S.NEW for o in group):
            notices.append(FactNotice("pending", fact.name, state.value, values([key]), now, evidence([key])))
    return tuple(notices)


def weigh_all(facts: Mapping[str, Fact], states: Mapping[str, FactState], stored: Sequence[Observation],
              new: Sequence[Observation], now: datetime, rules_hash: str = "") -> list[Verdict]:
    """``weigh`` every fact that has new observations or observations still pending."""
    verdicts = []
    for name, fact in facts.items():
        state = states.get(name)
        mine_new = [o for o in new if o.fact == name]
        mine_stored = [o for o in stored if o.fact == name]
        if state is None or not (mine_new or any(o.state == S.PENDING for o in mine_stored)):
            continue
        verdict = weigh(fact, state, mine_stored, mine_new, now, rules_hash)
        if verdict.change or verdict.observations or verdict.notices:
            verdicts.append(verdict)
    return verdicts
