"""Which engine runs a rule's pattern, and within what time. Pure (no I/O).

Python's ``re`` backtracks, and ``text/redos.py`` cannot refuse every shape that explodes: one
title of 28 a's and a "!" kept ``(a{1,30}){1,30}b`` busy for 18 s, holding the GIL, and the
daemon with it. So a ``CompiledTerm`` runs on one of two engines, chosen when it is compiled:

- **RE2** (google-re2), linear in the text whatever the pattern, for every pattern it can
  express with exactly ``re``'s results, including the whole-word lookarounds ``words_regex``
  adds. RE2 only ever sees ASCII: classes written out as ``re``'s exact ASCII sets, and every
  other character of a text replaced by a stand-in of its class (``re2form``).
- **regex** (the ``regex`` package, ``re``'s syntax and results) with a time limit,
  ``BUDGET`` seconds per search, for what RE2 cannot do (other lookarounds, back-references,
  possessive and atomic groups, letters outside ASCII in the pattern, ``$`` before a final
  newline) and for the rare text whose characters cannot stand in (``ſ``, ``K``, ``İ``, ``ı``:
  letters that match ASCII ones without regard to case). It releases the GIL while it
  searches (``concurrent=True``), so the event loop, polls and health checks go on; a search
  that runs out of time raises ``SlowPattern``, and the matcher treats the item as not matched
  by that rule (``match.match_items``, ``facts.observe``), which the caller logs and counts.
  ``regex`` reads ``\\w``, ``\\s`` and ``\\b`` by other rules than ``re``, so it gets them spelled
  out (``regexform``).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import regex

from .re2form import Linear, Unsupported
from .regexform import spell

# Seconds one search on the backtracking engine may take. The number placeholders run there (they
# use lookarounds) and a legitimate one takes up to ~20 ms on a field's 20,000 characters
# (`{amount} in aid`, no match); the margin keeps a busy machine from costing a real report its
# match, while a pattern that explodes still costs at most this much per rule and poll.
BUDGET = 0.5
MAX_PASSED = 200        # per search: matches passed over because ``accept`` refused them ("70-29")


class SlowPattern(Exception):
    """A search on the backtracking engine ran out of its time budget."""

    def __init__(self, term: CompiledTerm):
        super().__init__(f"the pattern {term.source!r} took longer than {BUDGET:g}s on this text")
        self.term = term


@dataclass(frozen=True)
class TermMatch:
    """Where a term matched, read the way ``re.Match`` is read (``start``, ``end``, ``group``...)."""

    span_: tuple[int, int]
    text: str
    groups: dict[str, str | None]

    def start(self) -> int:
        return self.span_[0]

    def end(self) -> int:
        return self.span_[1]

    def span(self) -> tuple[int, int]:
        return self.span_

    def group(self, name: int | str = 0) -> str | None:
        return self.text if name == 0 else self.groups[str(name)]

    def groupdict(self) -> dict[str, str | None]:
        return dict(self.groups)


class TermStats:
    """How often a term ran out of time (it belongs to one loaded rule set)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.timeouts = 0

    def timed_out(self) -> None:
        with self._lock:
            self.timeouts += 1


@dataclass(frozen=True)
class CompiledTerm:
    source: str                # as the rule author wrote it
    pattern: re.Pattern[str]   # the reference: what the term means (the index reads its literals)
    engine: str = field(default="re2", compare=False)       # re2 (linear) or budget (backtracking, timed)
    why_budget: str | None = field(default=None, compare=False)  # why RE2 cannot run it
    _linear: Any = field(default=None, compare=False, repr=False)
    stats: TermStats = field(default_factory=TermStats, compare=False, repr=False)
    # which matches count: a match ``accept`` refuses is passed over, and the search goes on from
    # the next character (a number placeholder's match that does not read as a value). It gets
    # the reference engine's ``re.Match`` of the span found, with its groups' spans and text.
    accept: Callable[[re.Match[str]], bool] | None = field(default=None, compare=False, repr=False)

    def search(self, text: str, pos: int = 0) -> TermMatch | re.Match[str] | None:
        """The first match at or after ``pos`` that counts, as ``pattern.search`` finds it."""
        if self.accept is None:
            return self._search(text, pos)
        for _ in range(MAX_PASSED):
            found = self._search(text, pos)
            if found is None:
                return None
            # the reference engine on the very span found: its groups, bounded by the span's length
            full = self.pattern.fullmatch(text, found.start(), found.end())
            if full is not None and self.accept(full):
                return full
            pos = found.start() + 1
        return None

    def finditer(self, text: str, limit: int) -> list[TermMatch] | list[re.Match[str]]:
        """The first ``limit`` matches that count, as ``pattern.finditer`` finds them."""
        if self.accept is None:
            return self._finditer(text, limit)
        found: list[re.Match[str]] = []
        pos = 0
        while len(found) < limit and (m := self.search(text, pos)) is not None:
            found.append(m)
            pos = max(m.end(), m.start() + 1)
        return found

    def _search(self, text: str, pos: int) -> TermMatch | None:
        if self._linear is not None:
            view = self._linear.view(text)
            if view is not None:
                return _term_match(text, self._linear.search(text, view, pos))
        return self._budgeted(text, pos)

    def _finditer(self, text: str, limit: int) -> list[TermMatch]:
        if self._linear is not None:
            view = self._linear.view(text)
            if view is not None:
                found: list[TermMatch] = []
                pos = 0
                while len(found) < limit and (m := _term_match(text, self._linear.search(text, view, pos))):
                    found.append(m)
                    pos = m.end()   # never empty: such patterns stay on the other engine
                return found
        return self._budgeted_all(text, limit)

    def _budgeted(self, text: str, pos: int) -> TermMatch | None:
        with self._timed():
            m = _backtracking(self.pattern.pattern, self.pattern.flags).search(text, pos, timeout=BUDGET,
                                                                             concurrent=True)
        return None if m is None else TermMatch(m.span(), m.group(0), m.groupdict())

    def _budgeted_all(self, text: str, limit: int) -> list[TermMatch]:
        compiled = _backtracking(self.pattern.pattern, self.pattern.flags)
        with self._timed():
            return [TermMatch(m.span(), m.group(0), m.groupdict()) for m in
                    itertools.islice(compiled.finditer(text, timeout=BUDGET, concurrent=True), limit)]

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        try:
            yield
        except TimeoutError:
            self.stats.timed_out()
            raise SlowPattern(self) from None


def _term_match(text: str, found: tuple[int, int, dict[str, str | None]] | None) -> TermMatch | None:
    return None if found is None else TermMatch((found[0], found[1]), text[found[0]:found[1]], found[2])


def probe(term: CompiledTerm) -> str | None:
    """For a term on the time-limited engine: a hostile text it runs out of time on (``None``:
    none of the probes). The probes repeat the characters the pattern names, the way the text
    that froze the daemon repeated an "a" 28 times before a "!"."""
    if term.engine != "budget":
        return None
    named = sorted({c for c in re.sub(r"\\.|[^\w ]", "", term.source.casefold()) if c.isalnum()})[:6] or ["a"]
    for char in named:
        for text in (char * 30 + "!", char * 3000 + "!", (char + " ") * 1500 + "!", (char * 5 + ".") * 600 + "!"):
            try:
                term._budgeted_all(text, 50)
            except SlowPattern:
                return f"{text[:12]!r}... ({len(text):,} characters)"
    return None


def compile_pattern(source: str, regex_text: str, flags: int,
                    accept: Callable[[re.Match[str]], bool] | None = None) -> CompiledTerm:
    """``regex_text`` (Python syntax; ``source`` as the author wrote it) on the best engine;
    ``accept``: which matches count (see ``CompiledTerm.accept``)."""
    reference = re.compile(regex_text, flags)
    linear = _linear(regex_text, flags)
    if isinstance(linear, str):
        return CompiledTerm(source, reference, "budget", linear, accept=accept)
    return CompiledTerm(source, reference, "re2", None, linear, accept=accept)


@functools.lru_cache(maxsize=8192)   # a reload compiles the same patterns again; RE2 programs are immutable
def _linear(regex_text: str, flags: int) -> Linear | str:
    """The RE2 form of a pattern, or why there is none."""
    try:
        return Linear(regex_text, flags)
    except Unsupported as exc:
        return str(exc)


@functools.lru_cache(maxsize=4096)   # a reload compiles the same patterns again
def _backtracking(pattern: str, flags: int) -> Any:
    """``pattern`` for the ``regex`` package, with ``re``'s meaning: ``regex`` reads ``\\w``,
    ``\\d``, ``\\s`` and ``\\b`` by the Unicode standard's rules (marks are word characters,
    \\x1c is no space...), so each is written out as the exact set ``re`` uses."""
    return regex.compile(spell(pattern, flags), regex.VERSION0)
