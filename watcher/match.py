"""Item matching: compiled matchers and their evaluation. Pure; no I/O.

A ``Matcher`` is compiled once per rule load from a ``match:`` block. Evaluation of one item:

1. Each field in ``scope`` is looked at separately (a term never spans two fields).
2. ``all``: every term must hit somewhere in the scope.
3. ``any``: at least one term must hit (if the list is not empty).
4. ``none``: no term may hit anywhere in the scope.
5. ``guards``: a hit counts only where no guard fires (a question, a negation, a modal or
   prediction, opinion: see ``text/guards.py``).
6. ``within``: with ``sentence`` or ``clause`` the ``all`` and ``any`` hits must be found in one
   sentence (or clause) of one field; with ``field`` (the default) anywhere in the scope.
The result is ``None`` (no match) or the tuple of ``Hit`` spans that made the match.

Guards and ``within`` only ever make a match rarer: a matcher matches only if every ``all``
term's pattern, and (when ``any`` is not empty) some ``any`` term's pattern, is found in the
scope. An index that skips matchers whose terms cannot be found relies on exactly that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .models import Hit, Item, Match, StoredItem
from .text.guards import Cue
from .text.patterns import CompiledTerm, SlowPattern, compile_pattern
from .text.quantity import PLACEHOLDERS
from .text.view import ItemView

MAX_OCCURRENCES = 50  # per term and field: enough to find an unguarded one, bounded on hostile text

if TYPE_CHECKING:
    from .matchindex import MatchIndex


def words_regex(pattern: str) -> str:
    """A plain term -> a regex matching it as whole words, any whitespace between its words.

    ``"foreign aid"`` -> ``(?<!\\w)(?:foreign\\s+aid)(?!\\w)``. Spaces inside ``[...]`` classes and
    escaped spaces are left alone; ``$`` is a dollar sign, not an anchor. Lookarounds rather than
    ``\\b`` so terms that start or end with punctuation (``$61bn``, ``co-production``) still get
    sensible boundaries.
    """
    out: list[str] = []
    in_class = False
    escaped = False
    pending_space = False
    for char in pattern.strip():
        if escaped:
            out.append(char)
            escaped = False
            continue
        if char == " " and not in_class:
            pending_space = True
            continue
        if pending_space:
            out.append(r"\s+")
            pending_space = False
        if char == "$" and not in_class:
            out.append(r"\$")  # a dollar sign: an end anchor means nothing inside whole words
            continue
        if char == "\\":
            escaped = True
        elif char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
    return r"(?<!\w)(?:" + "".join(out) + r")(?!\w)"


def expand_placeholders(regex: str) -> str:
    """``{amount}``, ``{number}``, ``{name}`` -> their patterns (see ``text/quantity.py``)."""
    for token, pattern in PLACEHOLDERS.items():
        regex = regex.replace(token, pattern)
    return regex


def compile_term(source: str, *, words: bool, case_sensitive: bool = False) -> CompiledTerm:
    """A term on the engine that can run it in linear time, else on one with a time budget
    (``text/patterns.py`` decides; a term that runs out of time raises ``SlowPattern``)."""
    regex = expand_placeholders(words_regex(source) if words else source)
    return compile_pattern(source, regex, 0 if case_sensitive else re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """A match with what ``Hit`` leaves out: the regex matches (for extraction) and the text
    around them (for quotes)."""

    hits: tuple[Hit, ...]
    matches: tuple[re.Match[str], ...]   # aligned with ``hits``
    terms: tuple[CompiledTerm, ...]      # aligned with ``hits``
    context: str                         # the sentence(s) the hits are in

    def match_of(self, term: CompiledTerm) -> re.Match[str] | None:
        for t, m in zip(self.terms, self.matches, strict=True):
            if t is term:
                return m
        return None


_Occ = tuple[str, re.Match[str]]  # (field, match)


@dataclass(frozen=True)
class Matcher:
    all: tuple[CompiledTerm, ...]
    any: tuple[CompiledTerm, ...]
    none: tuple[CompiledTerm, ...]
    scope: tuple[str, ...]
    within: str = "field"                    # field | sentence | clause: where all/any must meet
    guards: frozenset[str] = frozenset()     # question, negation, modal, opinion

    def match(self, item: Item, feed: str = "") -> tuple[Hit, ...] | None:
        """The hits that make ``item`` match, or ``None``."""
        found = self.find(ItemView(item, feed))
        return found.hits if found else None

    def match_view(self, view: ItemView) -> tuple[Hit, ...] | None:
        """The hits, as ``find`` gives them, without the context (which needs the sentences)."""
        chosen = self._chosen(view)
        return None if chosen is None else tuple(hit_of(t, f, m) for t, f, m in chosen)

    def find(self, view: ItemView) -> Found | None:
        """The match with its regex matches and context, or ``None``."""
        chosen = self._chosen(view)
        return None if chosen is None else _found(view, chosen)

    def _chosen(self, view: ItemView) -> list[tuple[CompiledTerm, str, re.Match[str]]] | None:
        if not self.guards and self.within == "field":
            chosen = self._first_anywhere(view)
        elif self._first_anywhere(view) is None:
            return None  # the terms are not all there: no need to read sentences and guards
        else:
            chosen = self._first_usable(view)
        if chosen is None or self._excluded(view):
            return None
        return chosen

    def _first_anywhere(self, view: ItemView) -> list[tuple[CompiledTerm, str, re.Match[str]]] | None:
        chosen = []
        for term in self.all:
            occ = first_in(term, view, self.scope)
            if occ is None:
                return None
            chosen.append((term, *occ))
        if self.any:
            any_hits = [(term, *occ) for term in self.any if (occ := first_in(term, view, self.scope))]
            if not any_hits:
                return None
            chosen += any_hits
        return chosen

    def _excluded(self, view: ItemView) -> bool:
        return any(first_in(term, view, self.scope) for term in self.none)

    def scan(self, view: ItemView) -> dict[CompiledTerm, list[tuple[str, re.Match[str], Cue | None]]]:
        """Every occurrence of the ``all`` and ``any`` terms, with the guard cue that refuses it."""
        found = {term: [(f, m) for f in self.scope for m in term.finditer(view.text(f), MAX_OCCURRENCES)]
                 for term in (*self.all, *self.any)}
        protected: dict[str, list[tuple[int, int]]] = {}
        for occs in found.values():
            for field, m in occs:
                protected.setdefault(field, []).append(m.span())
        return {term: [(f, m, view.blocked(f, m.start(), m.end(), self.guards, protected.get(f, [])))
                       for f, m in occs] for term, occs in found.items()}

    def _usable(self, view: ItemView) -> dict[CompiledTerm, list[_Occ]]:
        return {term: [(f, m) for f, m, cue in occs if cue is None] for term, occs in self.scan(view).items()}

    def _first_usable(self, view: ItemView) -> list[tuple[CompiledTerm, str, re.Match[str]]] | None:
        usable = self._usable(view)
        if self.within == "field":
            return _pick(self.all, self.any, usable, lambda f, m: True)
        for field in self.scope:
            for start, end in view.units(field, self.within):
                def inside(f: str, m: re.Match[str], field: str = field, s: int = start, e: int = end) -> bool:
                    return f == field and s <= m.start() < e
                chosen = _pick(self.all, self.any, usable, inside)
                if chosen is not None:
                    return chosen
        return None


def hit_of(term: CompiledTerm, field: str, m: re.Match[str]) -> Hit:
    return Hit(term.source, field, m.start(), m.end(), m.group(0))


def first_in(term: CompiledTerm, view: ItemView, scope: tuple[str, ...]) -> tuple[str, re.Match[str]] | None:
    for field in scope:
        found = term.search(view.text(field))
        if found:
            return field, found
    return None


def _pick(all_terms: tuple[CompiledTerm, ...], any_terms: tuple[CompiledTerm, ...],
          usable: dict[CompiledTerm, list[_Occ]], keep) -> list[tuple[CompiledTerm, str, re.Match[str]]] | None:
    chosen = []
    for term in all_terms:
        occ = next(((f, m) for f, m in usable[term] if keep(f, m)), None)
        if occ is None:
            return None
        chosen.append((term, *occ))
    if any_terms:
        any_hits = [(term, *occ) for term in any_terms
                    if (occ := next(((f, m) for f, m in usable[term] if keep(f, m)), None))]
        if not any_hits:
            return None
        chosen += any_hits
    return chosen


def _found(view: ItemView, chosen: list[tuple[CompiledTerm, str, re.Match[str]]]) -> Found:
    contexts: list[str] = []
    for _, field, m in chosen:
        if field in ("title", "summary", "content"):
            sentence = view.context(field, m.start())
            if sentence and sentence not in contexts:
                contexts.append(sentence)
    return Found(tuple(hit_of(t, f, m) for t, f, m in chosen), tuple(m for _, _, m in chosen),
                 tuple(t for t, _, _ in chosen), " … ".join(contexts) or " … ".join(m.group(0) for *_, m in chosen))


@dataclass(frozen=True)
class ItemRule:
    """An alert rule that fires on matching items."""

    name: str
    matcher: Matcher
    feeds: frozenset[str] | None = None  # resolved feed names; None = every feed
    updates: bool = False                # also items whose text changed under a known identity


def match_items(rules: Sequence[ItemRule], items: Iterable[StoredItem],
                index: MatchIndex | None = None, *, slow: list[tuple[str, StoredItem, str]] | None = None,
                ) -> list[Match]:
    """Every (rule, item) pair that matches, in item order then rule order.

    With the rule set's ``index`` only the rules that can match an item are run on it (same
    result, far fewer regex searches: see ``matchindex``). A rule whose pattern runs out of
    time on an item does not match it, nor the items after it here (one poll's items: a feed of
    hostile items costs one time limit per rule, not one per item); ``slow`` gets (rule, item,
    pattern) for each."""
    if index is not None and not index.serves_rules(rules):
        index = None
    matches: list[Match] = []
    gave_up: dict[str, str] = {}   # rule -> its pattern that ran out of time on an earlier item
    for stored in items:
        candidates = rules if index is None else index.rules_for(stored)
        if not candidates:
            continue
        view = ItemView(stored.item, stored.feed)  # built only for items some rule may match
        for rule in candidates:
            if rule.feeds is not None and stored.feed not in rule.feeds:
                continue
            if stored.updated and not rule.updates:
                continue
            try:
                if rule.name in gave_up:
                    continue
                hits = rule.matcher.match_view(view)
            except SlowPattern as exc:
                gave_up[rule.name] = exc.term.source
                continue
            finally:
                if slow is not None and rule.name in gave_up:
                    slow.append((rule.name, stored, gave_up[rule.name]))
            if hits is not None:
                matches.append(Match(rule.name, stored, hits))
    return matches
