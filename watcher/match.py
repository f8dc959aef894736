"""Item matching: compiled matchers and their evaluation. Pure; no I/O.

A ``Matcher`` is compiled once per rule load from a ``match:`` block. Evaluation of one item:

1. Each field in ``scope`` is looked at separately (a term never spans two fields).
2. ``all``: every term must hit somewhere in the scope.
3. ``any``: at least one term must hit (if the list is not empty).
4. ``guards``: a hit counts only where no cue of the guards reaches it (a question, a negation,
   a modal or prediction, opinion: see ``text/guards.py``).
5. ``within``: with ``sentence`` or ``clause`` the ``all`` and ``any`` hits must be found in one
   sentence (or clause) of one field; with ``field`` (the default) anywhere in the scope.
6. ``about``: the subject. With ``within: field`` these are ``all`` terms; with ``sentence`` or
   ``clause`` each must be in the unit where the ``all``/``any`` hits meet, or, for a unit of
   another field, in the title (in scope), which gives every sentence its subject. Guards
   apply to an ``about`` hit in the unit, not to one the title lends.
7. ``none``: no term may hit where the match is: the unit (as wide as ``none_within``, which
   defaults to ``within``), and the title when it lent the subject; with ``field``, the scope.
   The first unit no ``none`` term refuses is the match.
The result is ``None`` (no match) or the tuple of ``Hit`` spans that made the match: the
``about`` hits first (in the title when it lent them), then ``all``, then ``any``.

Guards, ``within`` and ``about`` only ever make a match rarer: a matcher matches only if every
``all`` and ``about`` term's pattern, and (when ``any`` is not empty) some ``any`` term's
pattern, is found in the scope. An index that skips matchers whose terms cannot be found relies
on exactly that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .models import Hit, Item, Match, StoredItem
from .text.guards import Cue
from .text.patterns import CompiledTerm, SlowPattern, compile_pattern
from .text.quantity import PLACEHOLDERS, READING_GROUPS, readable
from .text.regexsource import words_regex
from .text.view import ItemView

MAX_OCCURRENCES = 50  # per term and field: enough to find an unguarded one, bounded on hostile text

if TYPE_CHECKING:
    from .matchindex import MatchIndex




def expand_placeholders(regex: str, own: Mapping[str, str] | None = None) -> str:
    """``{amount}``, ``{number}``, ``{name}`` -> their patterns (see ``text/quantity.py``);
    ``own``: patterns that replace some of them (a fact's ``{quantity}`` reads its own unit)."""
    for token, pattern in {**PLACEHOLDERS, **(own or {})}.items():
        regex = regex.replace(token, pattern)
    return regex


def compile_term(source: str, *, words: bool, case_sensitive: bool = False, shown: str | None = None,
                 placeholders: Mapping[str, str] | None = None) -> CompiledTerm:
    """A term on the engine that can run it in linear time, else on one with a time budget
    (``text/patterns.py`` decides; a term that runs out of time raises ``SlowPattern``).
    ``shown``: how explain and messages name it, when not by ``source``; ``placeholders``:
    see ``expand_placeholders``."""
    regex = expand_placeholders(words_regex(source) if words else source, placeholders)
    flags = 0 if case_sensitive else re.IGNORECASE
    # a rate placeholder's match counts only where it reads as a value ("voted 70-29 to cut rates
    # to 3.25%-3.5%" gives the range, not a dead end): the engine passes over the others
    reading = not READING_GROUPS.isdisjoint(re.compile(regex, flags).groupindex)
    return compile_pattern(shown or source, regex, flags, accept=readable if reading else None)


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


_Occ = tuple[str, re.Match[str]]                      # (field, match)
_Chosen = list[tuple[CompiledTerm, str, re.Match[str]]]  # the hits of a match: (term, field, match)
_Region = tuple[str, int, int]                         # (field, start, end): where `none` terms apply
WIDER = {"field": 0, "sentence": 1, "clause": 2}       # `none_within` may be wider than `within`, not narrower


@dataclass(frozen=True)
class Matcher:
    all: tuple[CompiledTerm, ...]
    any: tuple[CompiledTerm, ...]
    none: tuple[CompiledTerm, ...]
    scope: tuple[str, ...]
    within: str = "field"                    # field | sentence | clause: where all/any must meet
    guards: frozenset[str] = frozenset()     # question, negation, modal, opinion
    about: tuple[CompiledTerm, ...] = ()     # the subject: in the unit where all/any meet, or in the title
    none_within: str | None = None           # where `none` applies: field | sentence | clause; None: as within

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

    def refused_by(self, view: ItemView) -> tuple[CompiledTerm, str, re.Match[str]] | None:
        """The `none` hit that refused the first place where the other terms meet, if one did."""
        for _, regions in self._candidates(view):
            return self._none_hit(view, regions)
        return None

    def _chosen(self, view: ItemView) -> _Chosen | None:
        for chosen, regions in self._candidates(view):
            if self._none_hit(view, regions) is None:
                return chosen
            if self._none_where == "field":
                return None  # the same whole scope refuses every other place too
        return None

    @property
    def _none_where(self) -> str:
        return self.none_within or self.within

    def _candidates(self, view: ItemView) -> Iterator[tuple[_Chosen, list[_Region]]]:
        """Each place where the `about`, `all` and `any` terms meet (`none` aside), with the
        regions its `none` terms apply to: one place for `within: field`, else each unit."""
        anywhere = self._first_anywhere(view)
        if anywhere is None:
            return  # the terms are not all there: no need to read sentences and guards
        if self.within == "field":
            chosen = anywhere if not self.guards else _pick(
                self.about + self.all, self.any, self._usable(view), lambda f, m: True)
            if chosen is not None:
                yield chosen, self._whole_scope(view)
            return
        usable = self._usable(view)
        context = self._title_context(view)
        for field in self.scope:
            for start, end in view.units(field, self.within):
                def inside(f: str, m: re.Match[str], field: str = field, s: int = start, e: int = end) -> bool:
                    return f == field and s <= m.start() < e
                chosen = _pick(self.all, self.any, usable, inside)
                if chosen is None:
                    continue
                subject = self._subject(usable, context, inside, field)
                if subject is not None:
                    yield subject[0] + chosen, self._regions(view, field, start, end, subject[1])

    def _subject(self, usable: dict[CompiledTerm, list[_Occ]], context: dict[CompiledTerm, re.Match[str]],
                 inside: Callable[[str, re.Match[str]], bool], field: str) -> tuple[_Chosen, bool] | None:
        """The `about` hits for one unit, each in the unit itself or else (for a unit of another
        field) in the title; and whether the title gave any."""
        chosen: _Chosen = []
        from_title = False
        for term in self.about:
            occ = _first(usable[term], inside)
            if occ is None and field != "title" and term in context:
                occ, from_title = ("title", context[term]), True
            if occ is None:
                return None
            chosen.append((term, *occ))
        return chosen, from_title

    def _regions(self, view: ItemView, field: str, start: int, end: int, title: bool) -> list[_Region]:
        if self._none_where == "field":
            return self._whole_scope(view)
        if self._none_where == "sentence" and self.within == "clause":
            start, end = view.sentence_of(field, start)
        regions = [(field, start, end)]
        if title:  # the title gave the subject: what it says counts too
            regions.append(("title", 0, len(view.text("title"))))
        return regions

    def _whole_scope(self, view: ItemView) -> list[_Region]:
        return [(field, 0, len(view.text(field))) for field in self.scope]

    def _none_hit(self, view: ItemView, regions: list[_Region]) -> tuple[CompiledTerm, str, re.Match[str]] | None:
        for term in self.none:
            for field, start, end in regions:
                text = view.text(field)
                found = term.search(text, start)
                if found and (found.start() < end or (start, end) == (0, len(text))):
                    return term, field, found
        return None

    def _title_context(self, view: ItemView) -> dict[CompiledTerm, re.Match[str]]:
        """The `about` terms found in the title, which gives every other sentence its subject.
        Guards do not apply to them there: a question headline still names what the item is about."""
        if "title" not in self.scope or not self.about:
            return {}
        text = view.text("title")
        return {term: m for term in self.about if (m := term.search(text))}

    def _first_anywhere(self, view: ItemView) -> _Chosen | None:
        chosen = []
        for term in (*self.about, *self.all):
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

    def scan(self, view: ItemView) -> dict[CompiledTerm, list[tuple[str, re.Match[str], Cue | None]]]:
        """Every occurrence of the `about`, `all` and `any` terms, with the guard cue that refuses it."""
        found = {term: [(f, m) for f in self.scope for m in term.finditer(view.text(f), MAX_OCCURRENCES)]
                 for term in (*self.about, *self.all, *self.any)}
        protected = own_spans(found)
        return {term: [(f, m, view.blocked(f, m.start(), m.end(), self.guards, protected.get(f, [])))
                       for f, m in occs] for term, occs in found.items()}

    def _usable(self, view: ItemView) -> dict[CompiledTerm, list[_Occ]]:
        return {term: [(f, m) for f, m, cue in occs if cue is None] for term, occs in self.scan(view).items()}


def own_spans(found: Mapping[CompiledTerm, Sequence[tuple[Any, ...]]]) -> dict[str, list[tuple[int, int]]]:
    """Where a matcher's own terms are found (``(field, match, ...)`` per term), by field: a guard
    cue inside one of them is part of what the rule asks for, not a cue."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for occs in found.values():
        for field, m, *_ in occs:
            spans.setdefault(field, []).append(m.span())
    return spans


def hit_of(term: CompiledTerm, field: str, m: re.Match[str]) -> Hit:
    return Hit(term.source, field, m.start(), m.end(), m.group(0))


def first_in(term: CompiledTerm, view: ItemView, scope: tuple[str, ...]) -> tuple[str, re.Match[str]] | None:
    for field in scope:
        found = term.search(view.text(field))
        if found:
            return field, found
    return None


def _first(occs: list[_Occ], keep: Callable[[str, re.Match[str]], bool]) -> _Occ | None:
    return next(((f, m) for f, m in occs if keep(f, m)), None)


def _pick(all_terms: tuple[CompiledTerm, ...], any_terms: tuple[CompiledTerm, ...],
          usable: dict[CompiledTerm, list[_Occ]], keep: Callable[[str, re.Match[str]], bool]) -> _Chosen | None:
    chosen = []
    for term in all_terms:
        occ = _first(usable[term], keep)
        if occ is None:
            return None
        chosen.append((term, *occ))
    if any_terms:
        any_hits = [(term, *occ) for term in any_terms if (occ := _first(usable[term], keep))]
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
