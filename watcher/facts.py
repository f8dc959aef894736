"""The fact engine: new items -> observations -> at most one ``FactChange`` per fact. Pure.

1. ``observe``: every signal of every fact is matched against the new items; each hit is an
   ``Observation`` ("this item says fact F is V").
2. ``decide``: the observations of one fact are weighed against the ledger's current value:
   - a value equal to the current one confirms it: no change;
   - with ``ordered`` values, a value at or before the current stage is old news: no change;
     a later stage is a change, even if stages were skipped;
   - of several candidate values in one batch, an ordered fact moves to the furthest stage,
     an unordered one to the most recently published claim.
Everything takes ``now``; nothing reads a clock or the database.
"""

from __future__ import annotations

from datetime import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .models import FactChange, FactState, Observation, StoredItem
from .ruleset.compiled import Fact

if TYPE_CHECKING:
    from .matchindex import MatchIndex


def observe(facts: Mapping[str, Fact], items: Iterable[StoredItem],
            index: MatchIndex | None = None) -> list[Observation]:
    """Every (fact, signal, item) that matched, in item order. With the rule set's ``index``
    only the signals that can match an item are run on it (same result)."""
    if index is not None and not index.serves_facts(facts):
        index = None
    found: list[Observation] = []
    for stored in items:
        wanted = None if index is None else index.signals_for(stored)
        for fact in facts.values():
            for signal in fact.signals:
                if wanted is not None and id(signal) not in wanted:
                    continue
                hits = signal.matcher.match(stored.item, stored.feed)
                if hits is not None:
                    found.append(Observation(fact.name, signal.value, stored, hits, signal.index))
    return found


def _published(observation: Observation) -> datetime:
    return observation.item.item.published_at or observation.item.first_seen_at


def decide(fact: Fact, state: FactState, observations: Sequence[Observation], now: datetime,
           rules_hash: str = "") -> FactChange | None:
    """The change the observations justify for one fact, or ``None``."""
    candidates = [o for o in observations if o.fact == fact.name and o.value != state.value]
    if fact.ordered:
        current = fact.rank(state.value)
        candidates = [o for o in candidates
                      if (rank := fact.rank(o.value)) is not None and (current is None or rank > current)]
        if not candidates:
            return None
        target = max(candidates, key=lambda o: fact.rank(o.value) or 0).value
    else:
        if not candidates:
            return None
        target = max(candidates, key=_published).value
    support = sorted((o for o in candidates if o.value == target), key=_published)
    return FactChange(fact=fact.name, old=state.value, new=target, at=now, cause="signal",
                      evidence=tuple(o.evidence() for o in support), rules_hash=rules_hash,
                      old_since=state.since)


def diff_facts(facts: Mapping[str, Fact], states: Mapping[str, FactState], items: Iterable[StoredItem],
               now: datetime, rules_hash: str = "", index: MatchIndex | None = None) -> list[FactChange]:
    """observe + decide for every fact with a state in the ledger."""
    observations = observe(facts, items, index)
    changes = []
    for name, fact in facts.items():
        state = states.get(name)
        if state is None:
            continue
        change = decide(fact, state, [o for o in observations if o.fact == name], now, rules_hash)
        if change is not None:
            changes.append(change)
    return changes
