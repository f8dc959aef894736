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
   Observations leave the window ``within`` after watcher first saw them; a pending one then
   expires.

Everything takes ``now``; nothing reads a clock or the database.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from collections.abc import Iterable, Mapping, Sequence

from .corroboration import independent
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
    """Every (fact, signal, item) that matched, in item order. With the rule set's ``index``
    only the signals that can match an item are run on it (same result). A signal whose
    pattern runs out of time on an item reads nothing from it nor from the items after it here;
    ``slow`` gets ("F signal N", item, pattern) for each."""
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
                if observation is not None:
                    found.append(observation)
    return found


def read(fact: Fact, signal: Signal, stored: StoredItem, view: ItemView) -> Observation | None:
    """One signal on one item: the observation it makes, or ``None``."""
    if signal.feeds is not None and stored.feed not in signal.feeds:
        return None
    found = signal.matcher.find(view)
    if found is None:
        return None
    value = signal.value
    if signal.extract is not None:
        m = found.match_of(signal.extract)
        value = extracted_value(fact, m) if m is not None else None
    if value is None:
        return None
    return Observation(fact.name, value, stored, found.hits, signal.index, found.context, signal.backwards)


def extracted_value(fact: Fact, m: re.Match[str]) -> str | None:
    """The value an ``extract`` match reads, as the fact stores it (``None``: not a value of
    this fact, e.g. an amount in another currency)."""
    groups = m.groupdict()
    if groups.get("value"):
        return fact.normalise(groups["value"])
    if fact.kind == "number" and groups.get("num"):
        amount = quantity.from_match(m)
        if amount is None or (amount.unit and fact.unit and amount.unit != fact.unit.upper()):
            return None
        return quantity.canonical(amount.value)
    if groups.get("name"):
        return fact.normalise(groups["name"])
    return None


def window(fact: Fact, observation: Observation) -> float:
    """Seconds an observation counts for after watcher first saw it."""
    if observation.backwards and not fact.regression.operator:
        return fact.regression.within
    return fact.corroborate.within


def role(fact: Fact, current: str, observation: Observation) -> str:
    """confirms, forward, backwards, stale or claim (see the module docstring)."""
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
        if o.state not in LIVE:
            continue
        if now - o.seen_at >= timedelta(seconds=window(fact, o)):
            if o.state == S.PENDING:
                mark(o, S.EXPIRED)
        else:
            live.append(o)
    fresh = [o for o in new if fact.normalise(o.value) is not None]
    claims = _claims(fact, current, [*live, *fresh], mark)
    support, roles = _support(fact, current, claims)
    target = _target(fact, support, roles, claims)
    notices = _notices(fact, state, claims, support, roles, live, now)
    change = None
    if target is not None:
        group = claims[target]
        disputed = tuple(claims[k][0].value for k in support if support[k] and _conflict(fact, roles, target, k))
        change = FactChange(fact.name, current, group[0].value, now, "signal",
                            tuple(o.evidence() for o in group), rules_hash=rules_hash, old_since=state.since,
                            sources=support[target], direction=_direction(roles[target]), disputed=disputed)
        for o in group:
            mark(o, S.APPLIED)
        current = group[0].value
    for key, group in claims.items():
        if target is not None and key == target:
            continue
        now_role = role(fact, current, group[0]) if target is not None else roles[key]
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


def _claims(fact: Fact, current: str, observations: list[Observation], mark) -> dict[str, list[Observation]]:
    """Observations that still say something, grouped by value; old news is marked stale."""
    claims: dict[str, list[Observation]] = {}
    for o in sorted(observations, key=lambda o: (o.seen_at, o.id or 0)):
        if role(fact, current, o) == "stale":
            if o.state in (S.NEW, S.PENDING):
                mark(o, S.STALE)
            continue
        claims.setdefault(fact.key(o.value), []).append(o)
    return claims


def _support(fact: Fact, current: str,
             claims: dict[str, list[Observation]]) -> tuple[dict[str, int], dict[str, str]]:
    support = {key: len(independent(group)) for key, group in claims.items()}
    roles = {}
    for key, group in claims.items():
        kinds = {role(fact, current, o) for o in group}
        roles[key] = "backwards" if kinds == {"backwards"} else next(iter(kinds - {"backwards"}), "backwards")
    return support, roles


def _conflict(fact: Fact, roles: dict[str, str], a: str, b: str) -> bool:
    """Do claims ``a`` and ``b`` contradict each other? For ordered facts, later stages do not
    contradict earlier ones (that is progress); a move back contradicts everything else."""
    if a == b:
        return False
    if not fact.ordered:
        return True
    return "backwards" in (roles[a], roles[b])


def _needed(fact: Fact, kind: str) -> int:
    if kind == "backwards" and not fact.regression.operator:
        return fact.regression.sources
    return fact.corroborate.sources


def _trusted(fact: Fact, group: list[Observation]) -> bool:
    return any(o.item.feed in fact.corroborate.trusted for o in group)


def _wins(fact: Fact, key: str, support: dict[str, int], roles: dict[str, str],
          claims: dict[str, list[Observation]]) -> bool:
    met = _trusted(fact, claims[key]) or support[key] >= _needed(fact, roles[key])
    return met and all(support[key] > support[k] for k in support if _conflict(fact, roles, key, k))


def _target(fact: Fact, support: dict[str, int], roles: dict[str, str],
            claims: dict[str, list[Observation]]) -> str | None:
    winners = [k for k in claims if roles[k] != "confirms" and _wins(fact, k, support, roles, claims)
               and not (roles[k] == "backwards" and fact.regression.operator)]
    if not winners:
        return None
    forward = [k for k in winners if roles[k] == "forward"]
    if forward:
        return max(forward, key=lambda k: fact.rank(claims[k][0].value) or 0)
    return max(winners, key=lambda k: (support[k], claims[k][-1].seen_at))


def _direction(kind: str) -> str:
    return {"forward": "forward", "backwards": "backwards"}.get(kind, "")


def _notices(fact: Fact, state: FactState, claims: dict[str, list[Observation]], support: dict[str, int],
             roles: dict[str, str], live: list[Observation], now: datetime) -> tuple[FactNotice, ...]:
    notices = []

    def values(keys: Iterable[str]) -> tuple[tuple[str, int], ...]:
        ordered = sorted(keys, key=lambda k: (-support[k], claims[k][0].seen_at, claims[k][0].id or 0))
        return tuple((claims[k][0].value, support[k]) for k in ordered)

    def evidence(keys: Iterable[str]) -> tuple[Evidence, ...]:
        return tuple(o.evidence() for k in keys for o in claims[k])

    # a move back under `regression: operator` is raised as a review, not as a contradiction
    reviewed = {k for k in claims if roles[k] == "backwards" and fact.regression.operator}
    contested = {k for k in claims for j in claims if k not in reviewed and j not in reviewed
                 and _conflict(fact, roles, k, j)}
    if contested:
        notices.append(FactNotice("contradiction", fact.name, state.value, values(contested), now,
                                  evidence(contested)))
    for key in reviewed:
        if support[key] >= fact.corroborate.sources or _trusted(fact, claims[key]):
            notices.append(FactNotice("review", fact.name, state.value, values([key]), now, evidence([key])))
    before = {fact.key(o.value) for o in live}
    for key, group in claims.items():
        if roles[key] != "confirms" and key not in before and any(o.state == S.NEW for o in group):
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
