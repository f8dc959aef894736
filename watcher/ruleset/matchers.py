"""``match:`` blocks -> compiled ``Matcher``: every pattern compiled once, when the rules load."""

from __future__ import annotations

from typing import Any

from ..match import Matcher, compile_term
from .terms import MatchSpec


def compile_matcher(spec: MatchSpec, *, guards: frozenset[str] = frozenset(),
                    extra_all: tuple[Any, ...] = ()) -> Matcher:
    """A ``match:`` block -> ``Matcher`` (``guards`` is the default when the block sets none;
    ``extra_all`` are terms that must also be found, such as a signal's ``extract``)."""
    def terms(group: list[Any]) -> tuple[Any, ...]:
        return tuple(compile_term(t.source, words=t.words is not None, case_sensitive=t.case_sensitive)
                     for t in group)
    return Matcher(terms(spec.all) + extra_all, terms(spec.any), terms(spec.none), tuple(spec.scope),
                   spec.within, spec.guard_set(guards), about=terms(spec.about), none_within=spec.none_within)
