"""``match:`` blocks -> compiled ``Matcher``: every pattern compiled once, when the rules load.

A guarded matcher is also checked against the guards' cue inventory: a cue inside one of the
matcher's own terms is not a cue, so a term that can match part of a cue ("sets?" matches the
"set" of "set to") silently switches that cue off. That is a warning, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..match import CompiledTerm, Matcher, compile_term
from ..text.guards import GUARDS
from ..text.inventory import Cancel, cancelled_by
from .terms import MatchSpec


def compile_matcher(spec: MatchSpec, *, guards: frozenset[str] = frozenset(),
                    extra_all: tuple[Any, ...] = ()) -> Matcher:
    """A ``match:`` block -> ``Matcher`` (``guards`` is the default when the block sets none;
    ``extra_all`` are terms that must also be found, such as a signal's ``extract``)."""
    def terms(group: list[Any]) -> tuple[Any, ...]:
        return tuple(compile_term(t.source, words=t.words is not None, case_sensitive=t.case_sensitive,
                                  shown=t.shown) for t in group)
    return Matcher(terms(spec.all) + extra_all, terms(spec.any), terms(spec.none), tuple(spec.scope),
                   spec.within, spec.guard_set(guards), about=terms(spec.about), none_within=spec.none_within)


def guard_cancels(matcher: Matcher) -> Iterator[tuple[str, int, CompiledTerm, list[Cancel]]]:
    """Each ``about``, ``all`` and ``any`` term (group, index) that can match part of a cue of the
    matcher's guards, with those cues."""
    guards = tuple(g for g in GUARDS if g in matcher.guards)
    if not guards:
        return
    for group in ("about", "all", "any"):
        for k, term in enumerate(getattr(matcher, group)):
            found = cancelled_by(term.pattern, guards, term.source)
            if found:
                yield group, k, term, found


def cancel_message(term: CompiledTerm, cancels: list[Cancel], what: str) -> str:
    """The warning for a term that can switch off guard cues; ``what`` is "signal" or "rule"."""
    first = cancels[0]
    # where the term matches the start of every cue it cancels, a lookahead keeps the rest out
    rests = list(dict.fromkeys(c.cue[len(c.matched):].strip() for c in cancels
                               if c.cue.startswith(c.matched.lower()) and len(c.cue) > len(c.matched)))
    if len(rests) == len(cancels) and term.pattern.pattern.startswith(r"(?<!\w)(?:"):   # a words term
        source = f"(?:{term.source})" if "|" in term.source else term.source
        rest = rests[0] if len(rests) == 1 else f"({'|'.join(rests)})"
        fix = f"write '{source}(?! {rest})' to leave the cue alone"
    elif all(term.source.casefold().startswith(c.matched + " ") for c in cancels):
        # "to convene" and the "to" of "likely to": the term starts inside the cues
        fix = f"write '{term.source[len(first.matched):].strip()}' to leave the cue alone"
    else:
        fix = "change the term so that it neither starts nor ends inside the cue"
    others = ""
    if len(cancels) > 1:
        shown = ", ".join(f"'{c.cue}'" for c in cancels[1:4])
        others = f" (and of {len(cancels) - 1} other cue{'s' if len(cancels) > 2 else ''}: {shown}"
        others += ", ...)" if len(cancels) > 4 else ")"
    return (f"the term '{term.source}' can match '{first.matched}' of the {first.guard} cue '{first.cue}'{others}: "
            f"a cue inside the {what}'s own term is ignored, so text such as \"{first.cue} ...\" would count "
            f"here as if the guard were off; {fix}, or write the whole cue into the term if you mean it")
