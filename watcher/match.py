"""Item matching: compiled matchers and their evaluation. Pure; no I/O.

A ``Matcher`` is compiled once per rule load from a ``match:`` block. Evaluation of one item:

1. Each field in ``scope`` is looked at separately (a term never spans two fields).
2. ``all``: every term must hit somewhere in the scope.
3. ``any``: at least one term must hit (if the list is not empty).
4. ``none``: no term may hit anywhere in the scope.
The result is ``None`` (no match) or the tuple of ``Hit`` spans that made the match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .models import Hit, Item, Match, StoredItem

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


@dataclass(frozen=True)
class CompiledTerm:
    source: str                # as the rule author wrote it
    pattern: re.Pattern[str]

    def first_hit(self, texts: dict[str, str]) -> Hit | None:
        for field, text in texts.items():
            found = self.pattern.search(text)
            if found:
                return Hit(self.source, field, found.start(), found.end(), found.group(0))
        return None


def compile_term(source: str, *, words: bool, case_sensitive: bool = False) -> CompiledTerm:
    regex = words_regex(source) if words else source
    flags = 0 if case_sensitive else re.IGNORECASE
    return CompiledTerm(source, re.compile(regex, flags))


@dataclass(frozen=True)
class Matcher:
    all: tuple[CompiledTerm, ...]
    any: tuple[CompiledTerm, ...]
    none: tuple[CompiledTerm, ...]
    scope: tuple[str, ...]

    def match(self, item: Item, feed: str = "") -> tuple[Hit, ...] | None:
        """The hits that make ``item`` match, or ``None``."""
        texts = {name: item.text(name, feed) for name in self.scope}
        hits: list[Hit] = []
        for term in self.all:
            hit = term.first_hit(texts)
            if hit is None:
                return None
            hits.append(hit)
        if self.any:
            any_hits = [hit for hit in (term.first_hit(texts) for term in self.any) if hit]
            if not any_hits:
                return None
            hits.extend(any_hits)
        for term in self.none:
            if term.first_hit(texts) is not None:
                return None
        return tuple(hits)

    def explain(self, item: Item, feed: str = "") -> dict[str, list[tuple[str, Hit | None]]]:
        """Every term with its first hit or ``None``: what `watcher explain` shows."""
        texts = {name: item.text(name, feed) for name in self.scope}
        return {group: [(t.source, t.first_hit(texts)) for t in getattr(self, group)]
                for group in ("all", "any", "none")}


@dataclass(frozen=True)
class ItemRule:
    """An alert rule that fires on matching items."""

    name: str
    matcher: Matcher
    feeds: frozenset[str] | None = None  # resolved feed names; None = every feed


def match_items(rules: Sequence[ItemRule], items: Iterable[StoredItem],
                index: MatchIndex | None = None) -> list[Match]:
    """Every (rule, item) pair that matches, in item order then rule order.

    With the rule set's ``index`` only the rules that can match an item are run on it (same
    result, far fewer regex searches: see ``matchindex``)."""
    if index is not None and not index.serves_rules(rules):
        index = None
    matches: list[Match] = []
    for stored in items:
        for rule in (rules if index is None else index.rules_for(stored)):
            if rule.feeds is not None and stored.feed not in rule.feeds:
                continue
            hits = rule.matcher.match(stored.item, stored.feed)
            if hits is not None:
                matches.append(Match(rule.name, stored, hits))
    return matches
