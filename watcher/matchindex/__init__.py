"""A rule index: which item rules and fact signals could match an item, found in one scan. Pure.

Evaluating every matcher on every item costs one regex search per term, field and rule
(about 3 ms an item at 200 rules). The index is compiled once per rule load and answers
"which matchers are worth running on this item?"; the caller then runs exactly those matchers,
so the results (matches, hits, order) are those of the plain loop by construction:

1. **Required literals** (``literals.py``). Each term's regex is parsed (``re._parser``) and
   reduced to the literal strings any match must contain: ``(?<!\\w)(?:foreign\\s+aid)(?!\\w)`` needs "foreign"
   and "aid"; ``ukraine|foreign aid`` needs one of "ukraine" or "foreign"; ``drones?`` needs
   "drone". Anything the analysis does not understand, and literals shorter than three
   characters, require nothing.
2. **One multi-pattern scan** (Aho-Corasick, pyahocorasick) of the item's case-folded text for
   each matcher's *key* literals (those of its most selective requirement) finds the few
   matchers worth a closer look.
3. Those are **candidates** when, within their scope, every ``all`` and ``about`` term's
   requirements are met and, if every ``any`` term has requirements, those of one ``any`` term
   are (substring tests on the folded fields). A matcher whose terms require nothing is always a candidate.

Case folding follows ``re`` exactly (``literals.fold``), so nothing ``re`` would match is missed.
Extra conditions a matcher may carry beyond ``all``/``any`` are never looked at here: they can
only make a match rarer, and they are checked when the caller runs the matcher itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import ahocorasick

from .literals import Group, Literal, Requirement, weight, fold, matcher_groups

__all__ = ["MatchIndex", "Prefilter", "fold", "matcher_groups"]

# -- the index -----------------------------------------------------------------------------------

_EMPTY: frozenset[int] = frozenset()
_VALUES = itemgetter(1)


Check = tuple[tuple[str, ...], tuple[Group, ...]]   # a matcher's scope and groups
FEW_EXACT = 8  # up to this many case-sensitive key literals are looked for with `in`, not an automaton


class Prefilter:
    """Candidate positions among ``matchers`` for one item.

    Only each matcher's *key* literals (those of its most selective group) go into the
    automaton, so one scan of an item's text finds the few matchers worth a closer look; their
    groups are then checked with plain substring tests, field by field.
    """

    def __init__(self, matchers: Sequence[Any]):
        self.size = len(matchers)
        self._checks: list[Check | None] = []
        always: set[int] = set()
        users: dict[Literal, set[int]] = {}
        fields: dict[str, None] = {}
        for position, matcher in enumerate(matchers):
            groups = matcher_groups(matcher)
            scope = tuple(getattr(matcher, "scope", ()) or ())
            if groups is None or not scope:
                always.add(position)
                self._checks.append(None)
                continue
            self._checks.append((scope, tuple(groups)))  # scopes are settled below, once all fields are known
            fields.update(dict.fromkeys(scope))
            for lit in _key(groups):
                users.setdefault(lit, set()).add(position)
        self.always = frozenset(always)
        self.fields = tuple(fields)
        # a scope of every scanned field is looked up in the joined text at once (a literal holds
        # no NUL, so it cannot be found across two fields there)
        self._checks = [None if c is None else (_settle(c, self.fields), c[1]) for c in self._checks]
        numbered = list(users)
        self._users = [frozenset(users[lit]) for lit in numbered]
        folded = [(text, i) for i, (text, ci) in enumerate(numbered) if ci]
        exact = [(text, i) for i, (text, ci) in enumerate(numbered) if not ci]
        self._folded = _automaton(folded)
        self._exact = _automaton(exact) if len(exact) > FEW_EXACT else None
        self._few_exact = tuple(exact) if len(exact) <= FEW_EXACT else ()

    def candidates(self, item: Any, feed: str = "") -> list[int]:
        """Positions of the matchers that may match ``item`` (ascending); the rest cannot."""
        if len(self.always) == self.size:
            return list(range(self.size))
        raw = {name: item.text(name, feed) for name in self.fields}
        # one scan over all fields joined: a literal found across the joint only adds a candidate
        joined = raw[ALL] = "\x00".join(raw.values())
        folded_joined = fold(joined)
        touched = set(self.always)
        users = self._users
        if self._folded is not None:
            for lit in set(map(_VALUES, self._folded.iter(folded_joined))):
                touched |= users[lit]
        if self._exact is not None:
            for lit in set(map(_VALUES, self._exact.iter(joined))):
                touched |= users[lit]
        for text, lit in self._few_exact:
            if text in joined:
                touched |= users[lit]
        if not touched:
            return []
        folded = {name: fold(text) for name, text in raw.items() if name != ALL}
        folded[ALL] = folded_joined
        chosen = []
        for position in sorted(touched):
            check = self._checks[position]
            if check is None or _holds(check, raw, folded):
                chosen.append(position)
        return chosen


def _selective(req: Requirement) -> tuple[int, int]:
    return min(weight(text) for text, _ in req), -len(req)


def _key(groups: Sequence[Group]) -> frozenset[Literal]:
    """Literals one of which occurs in the text whenever the matcher matches: those of its most
    selective group (of each clause of that group, those of its most selective requirement)."""
    keys = [frozenset().union(*(max(clause, key=_selective) for clause in group)) for group in groups]
    return max(keys, key=_selective)


def _automaton(words: Sequence[tuple[str, int]]) -> Any:
    if not words:
        return None
    automaton = ahocorasick.Automaton()
    for text, lit in words:
        automaton.add_word(text, lit)
    automaton.make_automaton()
    return automaton


ALL = "\x00all"  # the pseudo-field of every scanned field joined


def _settle(check: Check, fields: tuple[str, ...]) -> tuple[str, ...]:
    scope, groups = check
    nul = any("\x00" in text for group in groups for clause in group for req in clause for text, _ in req)
    return (ALL,) if set(scope) == set(fields) and not nul else scope


def _present(req: Requirement, scope: tuple[str, ...], raw: dict[str, str], folded: dict[str, str]) -> bool:
    for text, ci in req:
        texts = folded if ci else raw
        for name in scope:
            if text in texts[name]:
                return True
    return False


def _holds(check: Check, raw: dict[str, str], folded: dict[str, str]) -> bool:
    """Whether every group has a clause whose requirements all occur within the scope."""
    scope, groups = check
    for group in groups:
        for clause in group:
            for req in clause:
                if not _present(req, scope, raw, folded):
                    break
            else:
                break   # every requirement of this clause is met: the group holds
        else:
            return False
    return True


class MatchIndex:
    """One prefilter over a rule set's item rules and fact signals. Built by the rule loader.

    ``rules_for(stored)`` and ``signals_for(stored)`` narrow the loops of ``match.match_items``
    and ``facts.observe``; those still run each matcher, so their results do not change. A poll
    asks both about the same items, so the last items' candidates are kept (by identity).
    """

    CACHE = 4096  # items

    def __init__(self, item_rules: Sequence[Any], facts: Mapping[str, Any]):
        self.item_rules = tuple(item_rules)
        self.signals = tuple(signal for fact in facts.values() for signal in fact.signals)
        self._prefilter = Prefilter([rule.matcher for rule in self.item_rules] +
                                    [signal.matcher for signal in self.signals])
        self._cache: dict[int, tuple[Any, list[int]]] = {}

    def serves_rules(self, rules: Sequence[Any]) -> bool:
        """Whether the index was built for exactly these rules (same objects, same order)."""
        return len(rules) == len(self.item_rules) and all(a is b for a, b in zip(rules, self.item_rules, strict=True))

    def serves_facts(self, facts: Mapping[str, Any]) -> bool:
        mine = iter(self.signals)
        return all(signal is next(mine, None) for fact in facts.values() for signal in fact.signals) \
            and next(mine, None) is None

    def _candidates(self, stored: Any) -> list[int]:
        cached = self._cache.get(id(stored))
        if cached is not None and cached[0] is stored:
            return cached[1]
        found = self._prefilter.candidates(stored.item, stored.feed)
        if len(self._cache) >= self.CACHE:
            del self._cache[next(iter(self._cache))]  # the oldest
        self._cache[id(stored)] = (stored, found)
        return found

    def rules_for(self, stored: Any) -> list[Any]:
        """The item rules that may match a stored item, in rule order."""
        rules, count = self.item_rules, len(self.item_rules)
        return [rules[i] for i in self._candidates(stored) if i < count]

    def signals_for(self, stored: Any) -> set[int]:
        """``id()`` of every signal that may match a stored item."""
        signals, count = self.signals, len(self.item_rules)
        return {id(signals[i - count]) for i in self._candidates(stored) if i >= count}

    def describe(self) -> str:
        prefilter = self._prefilter
        return f"{prefilter.size - len(prefilter.always)} of {prefilter.size} matchers prefiltered"
