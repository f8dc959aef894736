"""Refuse, when the rules load, patterns whose matching time can explode on hostile text. Pure.

Python's ``re`` backtracks: a pattern such as ``(\\w+\\s?)+$`` takes seconds on 30 characters
and longer than the age of the universe on 100. Feed text is written by strangers, so a rule
file must not be able to stall the daemon. Three shapes are refused, each with the reason and
a way to write the same thing safely:

1. **a repeat inside a repeat**: an unbounded repeat (``*``, ``+``, ``{n,}``) of something whose
   own length varies (``(a+)+``, ``(\\w+\\s?)*``, ``(x|xy)+``);
2. **a repeated choice whose alternatives overlap**: ``(\\wx|\\dx)+``, ``(a|a)+``: both
   alternatives can match the same text, so every split is tried;
3. **an unlimited wildcard**: an unbounded repeat of something that matches both letters and
   spaces (``.*``, ``[^,]+``, ``[\\s\\S]*``): it runs over the whole text at every position.
   A bounded wildcard is fine (``.{0,80}``), up to ``MAX_WILDCARD_PRODUCT`` in total.

Possessive repeats (``a++``) and atomic groups (``(?>...)``) never backtrack and are accepted.
Matching also reads at most ``MAX_FIELD_CHARS`` characters of each field (``view``).
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import Any

from re import _constants as sre_c, _parser as sre_parse  # type: ignore[attr-defined]

UNBOUNDED = 1000                 # a repeat allowing more than this counts as unbounded
MAX_WILDCARD_PRODUCT = 10_000    # bounded wildcards multiply: .{0,100}.{0,100} is the most allowed
_ALPHABET = string.printable + "\u00a0éßıſюж中’“"
_BACKTRACKING = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)
_REPEATS = (*_BACKTRACKING, sre_c.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT)
_CATEGORIES = {
    sre_c.CATEGORY_DIGIT: re.compile(r"\d"), sre_c.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre_c.CATEGORY_SPACE: re.compile(r"\s"), sre_c.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    sre_c.CATEGORY_WORD: re.compile(r"\w"), sre_c.CATEGORY_NOT_WORD: re.compile(r"\W"),
}


@lru_cache(maxsize=4096)  # a rule file is validated entry by entry and then whole: each term twice
def check(regex: str, *, ignore_case: bool = True) -> str | None:
    """Why ``regex`` is refused (a sentence for the rule author), or ``None`` if it is safe."""
    try:
        parsed = sre_parse.parse(regex, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return None  # reported elsewhere as an invalid regular expression
    positions = _quantifier_positions(regex)
    # positions are only trusted when the parser saw as many repeats as were written
    state = _State(ignore_case, positions if len(positions) == _count_repeats(parsed) else [])
    state.walk(parsed, atomic=False)
    if state.problem is None and state.wildcards > MAX_WILDCARD_PRODUCT:
        return (f"its bounded wildcards allow {state.wildcards:,} combinations per position (at most "
                f"{MAX_WILDCARD_PRODUCT:,}); use smaller bounds or `within: sentence`")
    return state.problem


class _State:
    def __init__(self, ignore_case: bool, positions: list[int]):
        self.ignore_case = ignore_case
        self.positions = positions
        self.count = 0                # repeats seen so far, in the order their quantifiers are written
        self.problem: str | None = None
        self.wildcards = 1

    def _at(self) -> str:
        index = self.count - 1
        return f" (the repeat at position {self.positions[index]})" if 0 <= index < len(self.positions) else ""

    def walk(self, seq: Any, *, atomic: bool) -> None:
        for op, av in seq:
            if op in _REPEATS:
                low, high, body = av
                self.walk(body, atomic=atomic or op is sre_c.POSSESSIVE_REPEAT)
                self.count += 1
                if not atomic and op in _BACKTRACKING:
                    self._repeat(low, high, body)
            elif op is sre_c.SUBPATTERN:
                self.walk(av[3], atomic=atomic)
            elif op is sre_c.BRANCH:
                for branch in av[1]:
                    self.walk(branch, atomic=atomic)
            elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
                self.walk(av[1], atomic=atomic)
            elif op is sre_c.ATOMIC_GROUP:
                self.walk(av, atomic=True)
            elif op is sre_c.GROUPREF_EXISTS:
                for part in av[1:]:
                    if part is not None:
                        self.walk(part, atomic=atomic)

    def _repeat(self, low: int, high: int, body: Any) -> None:
        if self.problem is not None:
            return
        unbounded = high > UNBOUNDED
        broad = self._starts(body, " ") and self._starts(body, "a")
        if not unbounded:
            if broad and high > 1:
                self.wildcards *= high
            return
        if _varies(body):
            self.problem = ("it repeats, without a limit, a part whose own length varies"
                            f"{self._at()}, as in (a+)+; on some text that takes exponential time. Repeat one "
                            "level only, give the outer repeat a limit such as {1,5}, or make it possessive "
                            "(...)++ or atomic (?>...)")
        elif self._overlapping_branch(body):
            self.problem = ("it repeats, without a limit, a choice whose alternatives can match the same text"
                            f"{self._at()}, as in (a|a)+; on some text that takes exponential time. Make the "
                            "alternatives start differently, give the repeat a limit, or make it possessive")
        elif broad:
            self.problem = ("it repeats a wildcard that matches letters and spaces alike without a limit"
                            f"{self._at()}, as in .*; on long text that scans everything from every position. "
                            "Write a bounded repeat such as .{0,80}, or use `within: sentence`")

    def _overlapping_branch(self, seq: Any) -> bool:
        for op, av in seq:
            if op is sre_c.BRANCH:
                alternatives = av[1]
                for i, first in enumerate(alternatives):
                    for second in alternatives[i + 1:]:
                        if (_nullable(first) and _nullable(second)) or any(
                                self._starts(first, ch) and self._starts(second, ch) for ch in _ALPHABET):
                            return True
                if any(self._overlapping_branch(alt) for alt in alternatives):
                    return True
            elif op is sre_c.SUBPATTERN and self._overlapping_branch(av[3]):
                return True
        return False

    def _starts(self, seq: Any, ch: str) -> bool:
        """Can a match of ``seq`` begin with ``ch``? (Zero-width items are looked through.)"""
        for op, av in seq:
            hit, nullable = self._item_starts(op, av, ch)
            if hit:
                return True
            if not nullable:
                return False
        return False

    def _item_starts(self, op: Any, av: Any, ch: str) -> tuple[bool, bool]:
        if op is sre_c.LITERAL:
            return self._same(chr(av), ch), False
        if op is sre_c.NOT_LITERAL:
            return not self._same(chr(av), ch), False
        if op is sre_c.ANY:
            return ch != "\n", False
        if op is sre_c.IN:
            return self._in_class(av, ch), False
        if op is sre_c.SUBPATTERN:
            return self._starts(av[3], ch), _nullable(av[3])
        if op is sre_c.ATOMIC_GROUP:
            return self._starts(av, ch), _nullable(av)
        if op is sre_c.BRANCH:
            return any(self._starts(b, ch) for b in av[1]), any(_nullable(b) for b in av[1])
        if op in _REPEATS:
            return self._starts(av[2], ch), av[0] == 0 or _nullable(av[2])
        if op in _ZERO_WIDTH:
            return False, True
        return True, True  # back-references and the like: assume the worst

    def _in_class(self, items: Any, ch: str) -> bool:
        negate = False
        found = False
        for op, av in items:
            if op is sre_c.NEGATE:
                negate = True
            elif op is sre_c.LITERAL:
                found = found or self._same(chr(av), ch)
            elif op in (sre_c.RANGE, getattr(sre_c, "RANGE_UNI_IGNORE", sre_c.RANGE)):
                lo, hi = av
                cands = {ch, ch.lower(), ch.upper()} if self.ignore_case else {ch}
                found = found or any(lo <= ord(c) <= hi for c in cands if len(c) == 1)
            elif op is sre_c.CATEGORY:
                pattern = _CATEGORIES.get(av)
                found = found or pattern is None or bool(pattern.match(ch))
        return found != negate

    def _same(self, a: str, b: str) -> bool:
        return a == b or (self.ignore_case and a.casefold() == b.casefold())


def _varies(seq: Any) -> bool:
    """Can ``seq`` match texts of different lengths in ways a backtracking search revisits?
    (Atomic groups and possessive repeats commit to one length, so they do not count.)"""
    for op, av in seq:
        if op in _BACKTRACKING:
            low, high, body = av
            if low != high or _varies(body):
                return True
        elif op is sre_c.SUBPATTERN:
            if _varies(av[3]):
                return True
        elif op is sre_c.BRANCH:
            if len({b.getwidth() for b in av[1]}) > 1 or any(_varies(b) for b in av[1]):
                return True
        elif op in (sre_c.GROUPREF_EXISTS, sre_c.GROUPREF):
            return True
    return False


def _nullable(seq: Any) -> bool:
    return seq.getwidth()[0] == 0 if hasattr(seq, "getwidth") else not seq


def _count_repeats(seq: Any) -> int:
    total = 0
    for op, av in seq:
        if op in _REPEATS:
            total += 1 + _count_repeats(av[2])
        elif op is sre_c.SUBPATTERN:
            total += _count_repeats(av[3])
        elif op is sre_c.BRANCH:
            total += sum(_count_repeats(b) for b in av[1])
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            total += _count_repeats(av[1])
        elif op is sre_c.ATOMIC_GROUP:
            total += _count_repeats(av)
        elif op is sre_c.GROUPREF_EXISTS:
            total += sum(_count_repeats(p) for p in av[1:] if p is not None)
    return total


_BRACES = re.compile(r"\{(\d*)(,?)(\d*)\}")


def _quantifier_positions(regex: str) -> list[int]:
    """Where each quantifier is written, in order (0-based). The parser sees repeats in the
    same order when it visits a repeat after its body, which is how ``walk`` counts."""
    positions: list[int] = []
    i, n = 0, len(regex)
    in_class = False
    while i < n:
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            i += 1
            continue
        if c == "[":
            in_class = True
            i += 1
            if i < n and regex[i] == "^":
                i += 1
            if i < n and regex[i] == "]":  # a ] first in a class is a literal
                i += 1
            continue
        if c == "(" and regex.startswith("(?", i):
            if regex.startswith("(?#", i):
                end = regex.find(")", i)
                i = n if end < 0 else end + 1
            else:
                i += 2
            continue
        braces = _BRACES.match(regex, i) if c == "{" else None
        if c in "*+?" or (braces and (braces.group(1) or braces.group(3))):
            positions.append(i)
            i = braces.end() if braces else i + 1
            if i < n and regex[i] in "?+":
                i += 1
            continue
        i += 1
    return positions
