"""The guards' cue inventory spelled out: every wording of a cue, the terms that can cancel
one, and the table of it in docs/facts.md. Pure.

A cue inside one of a matcher's own terms is not a cue. A term meant as a cue ("fails to
advance", "rules out") holds it whole; a term that can match only *part* of a cue ("sets?" and
the "set" of "set to") switches that cue off without meaning to, which the rule loader warns
about with ``cancelled_by``.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from . import cues as data
from .guards import GUARDS


def forms(rule: data.CueRule) -> list[str]:
    """Every wording of a cue ("fail|fails to" -> "fail to", "fails to"; "<aux> not": every
    auxiliary)."""
    slots = [sorted(data.WORDS[w[1:-1]]) if w.startswith("<") else sorted(w.split("|")) for w in rule.phrase.split()]
    return [" ".join(words) for words in itertools.product(*slots)]


@dataclass(frozen=True)
class Cancel:
    """A cue a term can match part of: where the term is found there, the cue is ignored."""

    guard: str
    cue: str        # the cue's wording
    matched: str    # the part of it the term matches


def cancelled_by(pattern: re.Pattern[str], guards: Iterable[str], source: str | None = None) -> list[Cancel]:
    """The cues of ``guards`` that ``pattern`` can match part of (not the whole: a term that is a
    whole cue, such as "fails to" or "rules out", is taken as meant). ``source``: the term as
    written; when it is plain words, a term that starts inside a cue and runs past it ("to
    convene" and the "to" of "likely to") is found too."""
    words = source if source is not None and _PLAIN_WORDS.fullmatch(source) else None
    return list(_cancelled_by(pattern, tuple(g for g in GUARDS if g in guards), words))


_PLAIN_WORDS = re.compile(r"[^\W\d_][\w'’ -]*")


@functools.lru_cache(maxsize=4096)   # a reload checks the same terms again
def _cancelled_by(pattern: re.Pattern[str], guards: tuple[str, ...], words: str | None) -> tuple[Cancel, ...]:
    found = []
    for guard in guards:
        for rule in data.CUES[guard]:
            for form in forms(rule):
                hit = _partial(pattern, form) or (_overlap(pattern, form, words) if words else None)
                if hit is not None:
                    found.append(Cancel(guard, form, hit))
    return tuple(found)


def _partial(pattern: re.Pattern[str], form: str) -> str | None:
    for variant in (form, form.capitalize(), form.upper()):
        for m in pattern.finditer(variant):
            if m.end() > m.start() and (m.start() > 0 or m.end() < len(variant)):
                return m.group()
    return None


def _overlap(pattern: re.Pattern[str], form: str, words: str) -> str | None:
    """The part of the cue ``form`` a term of plain ``words`` covers when it starts inside the
    cue and runs past its end, or starts before it and ends inside it."""
    cue, term = form.split(), words.casefold().split()
    for k in range(1, len(cue)):
        if term[:k] == cue[-k:]:          # "likely to" + "to convene"
            text, start, end = " ".join(cue[:-k] + term), len(" ".join(cue[:-k])) + 1, len(form)
        elif term[-k:] == cue[:k]:        # "vote on" + "will vote": the term ends inside the cue
            text, start, end = " ".join(term + cue[k:]), 0, len(" ".join(term))
        else:
            continue
        if any(m.start() <= start < m.end() and m.end() >= end for m in pattern.finditer(text)):
            return " ".join(cue[-k:]) if start else " ".join(cue[:k])
    return None


def cue_table() -> str:
    """The cue inventory as docs/facts.md's markdown table (a test keeps the two the same).
    Alternatives are shown ``a/b``: a ``|`` would end a table cell."""
    notes = {data.OPENING: " (opening a sentence)", data.ASKING: " (opening a sentence, an auxiliary within two words)",
             data.NOT_MONTH: " (not the month)", data.HEADLINE_VERB: " (in a title, before a `<verb>`)"}
    lines = ["| guard | direction | scope (words) | cues | pseudo-cues (not cues) |", "| --- | --- | --- | --- | --- |"]
    for guard, rules in data.CUES.items():
        groups: dict[tuple[str, str], list[str]] = {}
        for rule in rules:
            scope = data.DEFAULT_SCOPE[guard] if rule.scope == -1 else rule.scope
            key = (rule.direction, "clause" if scope is None else str(scope))
            note = notes.get(rule.when or "", "") + (f" (past a following '{rule.through}')" if rule.through else "")
            groups.setdefault(key, []).append(f"`{_shown(rule.phrase)}`{note}")
        pseudo = ", ".join(f"`{_shown(p)}`" for p in data.PSEUDO[guard]) or "-"
        for n, ((direction, scope), phrases) in enumerate(groups.items()):
            lines.append(f"| `{guard}` | {direction} | {scope} | {', '.join(phrases)} | {pseudo if n == 0 else ''} |")
    lines.append(f"| terminators | | | {', '.join(f'`{t}`' for t in data.TERMINATORS)}; backward only: "
                 f"{', '.join(f'`{t}`' for t in data.BACKWARD_TERMINATORS)}; `, ; : ( ) [ ]`, a dash | "
                 f"{', '.join(f'`{_shown(t)}`' for t in data.NOT_TERMINATORS)} |")
    lines.append(f"| attribution | | | a parenthetical between commas with {', '.join(sorted(data.ATTRIBUTION))} "
                 "does not end a scope | |")
    for name, words in data.WORDS.items():
        lines.append(f"| `<{name}>` | | | {' '.join(sorted(words))} | |")
    return "\n".join(lines)


def _shown(phrase: str) -> str:
    return phrase.replace("|", "/")
