"""A rule index: which item rules and fact signals could match an item, found in one scan. Pure.

Evaluating every matcher on every item costs one regex search per term, field and rule
(about 3 ms an item at 200 rules). The index is compiled once per rule load and answers
"which matchers are worth running on this item?"; the caller then runs exactly those matchers,
so the results (matches, hits, order) are those of the plain loop by construction:

1. **Required literals.** Each term's regex is parsed (``re._parser``) and reduced to the
   literal strings any match must contain: ``(?<!\\w)(?:foreign\\s+aid)(?!\\w)`` needs "foreign"
   and "aid"; ``ukraine|foreign aid`` needs one of "ukraine" or "foreign"; ``drones?`` needs
   "drone". Anything the analysis does not understand, and literals shorter than three
   characters, require nothing.
2. **One multi-pattern scan** (Aho-Corasick, pyahocorasick) of each field's case-folded text
   finds which literals occur in which field.
3. A matcher is a **candidate** when every ``all`` term has a required literal in the
   matcher's scope and, if every ``any`` term has one, at least one of them is present. A
   matcher whose terms require nothing is always a candidate (conservative, never lossy).

Case folding follows ``re`` exactly: two characters match under ``re.IGNORECASE`` only if
their simple lower-case forms fall in the same class of ``re``'s extra case equivalences
(``ſ``/``s``, ``ı``/``i``, ``µ``/``μ``...), and ``fold`` maps both to one representative.
Extra conditions a matcher may carry beyond ``all``/``any`` are never looked at here: they can
only make a match rarer, and they are checked when the caller runs the matcher itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import ahocorasick

try:  # the stdlib regex parser: public as sre_parse until 3.10, private (and warning) after
    from re import _casefix, _constants as _sre_c, _parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _sre_c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]
    _casefix = None  # type: ignore[assignment]
import _sre

MIN_LITERAL = 3  # shorter literals ("us", "?") hit nearly every text: they filter nothing

Literal = tuple[str, bool]          # (text, case-insensitive); case-insensitive text is folded
Requirement = frozenset[Literal]    # at least one of these occurs in every match


# -- case folding, as re.IGNORECASE sees it ------------------------------------------------------

def _fold_classes() -> dict[int, int]:
    """Code point -> the smallest member of its class of re's extra case equivalences."""
    extra: dict[int, tuple[int, ...]] = getattr(_casefix, "_EXTRA_CASES", {}) if _casefix else {}
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for key, others in extra.items():
        for other in others:
            a, b = root(key), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {x: root(x) for x in {*extra, *(o for others in extra.values() for o in others)} if root(x) != x}


_REP = _fold_classes()
_REP_CHARS = {chr(k): chr(v) for k, v in _REP.items()}
_NEEDS_REP = re.compile("[" + "".join(re.escape(c) for c in sorted(_REP_CHARS)) + "]") if _REP_CHARS else None


def fold_char(code: int) -> str:
    """One character as ``re.IGNORECASE`` compares it: simple lower case, then its class."""
    low = _sre.unicode_tolower(code)
    return chr(_REP.get(low, low))


def fold(text: str) -> str:
    """``text`` with every character replaced by ``fold_char`` of it (same length, fast path
    for ASCII). ``str.lower`` differs from ``re``'s simple lower case only for U+0130 (which it
    expands to two characters), and final sigma, which the classes merge anyway."""
    if text.isascii():
        return text.lower()
    if "\u0130" in text:
        text = text.replace("\u0130", "i")
    text = text.lower()
    if _NEEDS_REP is not None and _NEEDS_REP.search(text):
        text = _NEEDS_REP.sub(lambda m: _REP_CHARS[m.group()], text)
    return text


# -- required literals of a regex ----------------------------------------------------------------

_REPEATS = {_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT} | ({_sre_c.POSSESSIVE_REPEAT}
                                                     if hasattr(_sre_c, "POSSESSIVE_REPEAT") else set())
_ATOMIC = getattr(_sre_c, "ATOMIC_GROUP", None)


def _score(req: Requirement) -> tuple[int, int]:
    return (min(len(text) for text, _ in req), -len(req))


def best(reqs: Sequence[Requirement]) -> Requirement | None:
    """The most selective requirement: longest shortest alternative, then fewest alternatives."""
    return max(reqs, key=_score) if reqs else None


def _literal(op: Any, av: Any) -> int | None:
    """The code point of a node that matches exactly one character (``a`` or ``[a]``)."""
    if op is _sre_c.LITERAL:
        return av
    if op is _sre_c.IN and len(av) == 1 and av[0][0] is _sre_c.LITERAL:
        return av[0][1]
    return None


def requirements(seq: Iterable[tuple[Any, Any]], ci: bool) -> list[Requirement]:
    """Every requirement of a parsed sequence: a list of sets, each with one member in any match."""
    found: list[Requirement] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= MIN_LITERAL:
            found.append(frozenset({("".join(run), ci)}))
        run.clear()

    for op, av in seq:
        code = _literal(op, av)
        if code is not None:
            run.append(fold_char(code) if ci else chr(code))
            continue
        flush()
        if op is _sre_c.SUBPATTERN:
            _group, add, remove, sub = av
            inner = (ci or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            found += requirements(sub, inner)
        elif op is _sre_c.BRANCH:
            alternatives = [best(requirements(branch, ci)) for branch in av[1]]
            if alternatives and all(a is not None for a in alternatives):
                found.append(frozenset().union(*alternatives))  # type: ignore[arg-type]
        elif op in _REPEATS:
            low, _high, sub = av
            if low >= 1:
                found += requirements(sub, ci)
        elif op is _ATOMIC and _ATOMIC is not None:
            found += requirements(av, ci)
        # anything else (classes, anchors, lookarounds, back-references...) requires nothing
    flush()
    return [req for req in found if _score(req)[0] >= MIN_LITERAL]


def term_requirements(pattern: re.Pattern[str]) -> list[Requirement]:
    """What any match of a compiled pattern must contain; ``[]`` if nothing is certain."""
    try:
        parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # a pattern re compiled but the parser refuses: assume nothing
        return []
    return requirements(parsed, bool(parsed.state.flags & re.IGNORECASE))


def matcher_groups(matcher: Any) -> list[Requirement] | None:
    """The requirements a matcher's ``all`` and ``any`` terms put on an item's scope.
    ``None``: the matcher cannot be filtered (it must always be run)."""
    try:
        all_terms, any_terms = tuple(matcher.all), tuple(matcher.any)
    except (AttributeError, TypeError):
        return None
    groups: list[Requirement] = []
    for term in all_terms:
        groups += term_requirements(term.pattern)
    if any_terms:
        alternatives = [best(term_requirements(term.pattern)) for term in any_terms]
        if all(a is not None for a in alternatives):
            groups.append(frozenset().union(*alternatives))  # type: ignore[arg-type]
    return groups or None


# -- the index -----------------------------------------------------------------------------------

_EMPTY: frozenset[int] = frozenset()
_VALUES = itemgetter(1)


class Prefilter:
    """Candidate positions among ``matchers`` for one item, from one scan per field."""

    def __init__(self, matchers: Sequence[Any]):
        self.size = len(matchers)
        ids: dict[Literal, int] = {}
        self._groups: list[tuple[tuple[str, ...], tuple[frozenset[int], ...]] | None] = []
        self.always: frozenset[int] = frozenset()
        always: set[int] = set()
        users: dict[int, set[int]] = {}
        fields: dict[str, None] = {}
        for position, matcher in enumerate(matchers):
            groups = matcher_groups(matcher)
            scope = tuple(getattr(matcher, "scope", ()) or ())
            if groups is None or not scope:
                always.add(position)
                self._groups.append(None)
                continue
            numbered = tuple(frozenset(ids.setdefault(lit, len(ids)) for lit in group) for group in groups)
            self._groups.append((scope, numbered))
            fields.update(dict.fromkeys(scope))
            for group in numbered:
                for lit in group:
                    users.setdefault(lit, set()).add(position)
        self.always = frozenset(always)
        self.fields = tuple(fields)
        self._users = {lit: frozenset(positions) for lit, positions in users.items()}
        self._folded = self._automaton((text, lit) for (text, ci), lit in ids.items() if ci)
        self._exact = self._automaton((text, lit) for (text, ci), lit in ids.items() if not ci)

    @staticmethod
    def _automaton(words: Iterable[tuple[str, int]]) -> Any:
        automaton = ahocorasick.Automaton()
        for text, lit in words:
            automaton.add_word(text, lit)
        if len(automaton) == 0:
            return None
        automaton.make_automaton()
        return automaton

    def _scan(self, text: str) -> frozenset[int] | set[int]:
        if not text:
            return _EMPTY
        found: set[int] = set()
        if self._folded is not None:
            found.update(map(_VALUES, self._folded.iter(fold(text))))
        if self._exact is not None:
            found.update(map(_VALUES, self._exact.iter(text)))
        return found

    def candidates(self, item: Any, feed: str = "") -> list[int]:
        """Positions of the matchers that may match ``item`` (ascending); the rest cannot."""
        if len(self.always) == self.size:
            return list(range(self.size))
        found = {name: self._scan(item.text(name, feed)) for name in self.fields}
        touched = set(self.always)
        for lits in found.values():
            for lit in lits:
                touched |= self._users[lit]
        chosen = []
        in_scope: dict[tuple[str, ...], set[int] | frozenset[int]] = {}
        for position in sorted(touched):
            entry = self._groups[position]
            if entry is None:
                chosen.append(position)
                continue
            scope, groups = entry
            present = in_scope.get(scope)
            if present is None:
                present = in_scope[scope] = found[scope[0]] if len(scope) == 1 else set().union(
                    *(found[name] for name in scope))
            if all(not group.isdisjoint(present) for group in groups):
                chosen.append(position)
        return chosen


class MatchIndex:
    """The prefilters of one rule set: item rules and fact signals. Built by the rule loader.

    ``rules_for(stored)`` and ``signals_for(stored)`` narrow the loops of ``match.match_items``
    and ``facts.observe``; those still run each matcher, so their results do not change.
    """

    def __init__(self, item_rules: Sequence[Any], facts: Mapping[str, Any]):
        self.item_rules = tuple(item_rules)
        self.signals = tuple(signal for fact in facts.values() for signal in fact.signals)
        self._rules = Prefilter([rule.matcher for rule in self.item_rules])
        self._signals = Prefilter([signal.matcher for signal in self.signals])

    def serves_rules(self, rules: Sequence[Any]) -> bool:
        """Whether the index was built for exactly these rules (same objects, same order)."""
        return len(rules) == len(self.item_rules) and all(a is b for a, b in zip(rules, self.item_rules, strict=True))

    def serves_facts(self, facts: Mapping[str, Any]) -> bool:
        mine = iter(self.signals)
        return all(signal is next(mine, None) for fact in facts.values() for signal in fact.signals) \
            and next(mine, None) is None

    def rules_for(self, stored: Any) -> list[Any]:
        """The item rules that may match a stored item, in rule order."""
        rules = self.item_rules
        return [rules[i] for i in self._rules.candidates(stored.item, stored.feed)]

    def signals_for(self, stored: Any) -> set[int]:
        """``id()`` of every signal that may match a stored item."""
        signals = self.signals
        return {id(signals[i]) for i in self._signals.candidates(stored.item, stored.feed)}

    def describe(self) -> str:
        filtered = self._rules.size - len(self._rules.always) + self._signals.size - len(self._signals.always)
        return f"{filtered} of {self._rules.size + self._signals.size} matchers prefiltered"
