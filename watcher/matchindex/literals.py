"""Required literals of a regex, and case folding exactly as ``re.IGNORECASE`` compares text. Pure.

``term_requirements(pattern)`` reads a compiled pattern with the stdlib's own parser and lists
what any match must contain: each requirement is a set of literal strings, at least one of
which occurs in the matched text. ``(?<!\\w)(?:foreign\\s+aid)(?!\\w)`` needs "foreign" and
"aid"; ``ukraine|foreign aid`` needs one of "ukraine" or "foreign"; ``drones?`` needs "drone".
Whatever the analysis does not understand requires nothing, so a requirement is never wrong,
only sometimes missing.

Case folding: under ``re.IGNORECASE`` two characters match only if their simple lower-case
forms fall in one class of ``re``'s extra case equivalences (``ſ``/``s``, ``ı``/``i``,
``µ``/``μ``...); ``fold`` maps every character to one representative of its class, so a
case-insensitive literal occurs in ``fold(text)`` whenever the pattern matches ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# the stdlib's regex parser and case tables (``sre_parse`` before 3.11, which now warns on import)
from re import _casefix, _constants as _sre_c, _parser as _sre_parse  # type: ignore[attr-defined]

import _sre

MIN_LITERAL = 3  # shorter literals ("us", "of") hit nearly every text: they filter nothing ...
RARE = frozenset("$€£¥%#@&+=*~^|<>{}[]\\_")  # ... unless they hold a rare symbol ("$", "%")

Literal = tuple[str, bool]          # (text, case-insensitive); case-insensitive text is folded
Requirement = frozenset[Literal]    # at least one of these occurs in every match


# -- case folding, as re.IGNORECASE sees it ------------------------------------------------------

def _fold_classes() -> dict[int, int]:
    """Code point -> the smallest member of its class of re's extra case equivalences."""
    extra: dict[int, tuple[int, ...]] = _casefix._EXTRA_CASES
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


def weight(text: str) -> int:
    """How selective a literal is likely to be: its length, a rare symbol or (in a case-sensitive
    literal) a capital letter counting as three."""
    return len(text) + 2 * sum(ch in RARE or ch.isupper() for ch in text)


def _score(req: Requirement) -> tuple[int, int]:
    return (min(weight(text) for text, _ in req), -len(req))


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
        if run and weight("".join(run)) >= MIN_LITERAL:
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


Clause = tuple[Requirement, ...]   # all of these requirements hold
Group = tuple[Clause, ...]         # at least one of these clauses holds


def matcher_groups(matcher: Any) -> list[Group] | None:
    """What a matcher's ``all``, ``about`` and ``any`` terms require of the text in its scope:
    every group must hold. ``None``: nothing is certain, the matcher must always be run."""
    try:
        all_terms, any_terms = tuple(matcher.all) + tuple(getattr(matcher, "about", ())), tuple(matcher.any)
    except (AttributeError, TypeError):
        return None
    groups: list[Group] = []
    for term in all_terms:
        groups += [((req,),) for req in term_requirements(term.pattern)]
    if any_terms:
        clauses = [tuple(term_requirements(term.pattern)) for term in any_terms]
        if all(clauses):  # an `any` term that requires nothing lets every item through
            groups.append(tuple(clauses))
    return groups or None
