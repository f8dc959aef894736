"""Named term lists: the top-level ``terms:`` section of every rule file, spliced into match blocks.

A list of terms (``all``, ``any``, ``none``, or a named list itself) may hold ``{terms: NAME}``,
which stands for the terms of the list ``NAME``, in its place. Names are shared by all rule
files, like feeds and facts. Everything is resolved once per load, before any pattern is
compiled: a reference to a list nobody defined is a problem where it is written (with "did you
mean"), a list that uses itself (directly or through others) is a problem where the circle
closes, and a broken list is reported once, where it is defined, not again at each use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Problem
from .problems import suggest
from ..text.regexsource import words_regex
from .terms import MatchSpec, Term, TermsRef
from .yamlsrc import locate

ProblemAt = Callable[[tuple[Any, ...], str], None]   # (where under the owner, message)


class TermLists:
    """The named lists of all rule files, resolved into terms."""

    def __init__(self, sources: list[Any], defined: set[str]):
        """``sources``: the parsed files (``build.Source``); ``defined``: every name defined,
        also by entries that failed to validate (references to them are not reported again)."""
        self._raw: dict[str, tuple[list[Any], Any]] = {}
        for src in sources:
            for name, entries in src.model.terms.items():
                self._raw[name] = (entries, src)
        self._defined = defined
        self._resolved: dict[str, tuple[Term, ...] | None] = {}
        self.problems: list[Problem] = []
        for name in self._raw:
            self._resolve(name, ())

    def names(self) -> list[str]:
        return sorted(self._defined)

    def _resolve(self, name: str, using: tuple[str, ...]) -> tuple[Term, ...] | None:
        """The terms of list ``name`` (``None``: broken, and reported where it is defined)."""
        if name in self._resolved:
            return self._resolved[name]
        if name not in self._raw:
            return None
        entries, src = self._raw[name]

        def problem(loc: tuple[Any, ...], message: str) -> None:
            line, col = locate(src.data, ("terms", name, *loc))
            self.problems.append(Problem(src.display, line, col, message, f'term list "{name}"'))

        circle: list[str] = []

        def inner(ref: str) -> tuple[Term, ...] | None:
            if ref == name or ref in using:
                circle.append(ref)
                return None
            return self._resolve(ref, (*using, name))

        terms = self._splice(entries, inner, problem, "")
        if circle:
            way = using[using.index(circle[0]):] if circle[0] in using else ()
            k = _index_of(entries, circle[0])
            problem((k, "terms"), f"[{k}]: the term lists use each other in a circle: "
                                  f"{' -> '.join((*way, name, circle[0]))}")
        self._resolved[name] = None if circle or terms is None else terms
        return self._resolved[name]

    def _splice(self, entries: list[Any], resolve: Callable[[str], tuple[Term, ...] | None], problem: ProblemAt,
                path: str) -> tuple[Term, ...] | None:
        """``entries`` with each ``{terms: NAME}`` replaced by that list's terms (``None`` if one
        of them is broken or unknown; an unknown name is reported at ``problem``)."""
        out: list[Term] = []
        broken = False
        for k, entry in enumerate(entries):
            if not isinstance(entry, TermsRef):
                out.append(entry)
                continue
            found = resolve(entry.terms)
            if found is None:
                broken = True
                if entry.terms not in self._defined:
                    problem((k, "terms"), f'{path}[{k}]: no term list is called "{entry.terms}"'
                                          f"{suggest(entry.terms, self.names())}")
            else:
                out += found
        return None if broken else tuple(out)

    def expand(self, spec: MatchSpec, problem: ProblemAt, path: str) -> MatchSpec:
        """``spec`` with every ``{terms: NAME}`` of every one of its lists of terms resolved.
        In ``any`` and ``none`` the list's terms take its place (one of them is enough, one
        refuses); in ``all`` and ``about``, where every entry must be found, the list is one term
        that any of its terms satisfies: a named list is words that mean the same thing. ``path``
        names the block in messages (``on.items.``); ``problem`` takes locations relative to it."""
        update = {}
        for key in type(spec).model_fields:
            entries = getattr(spec, key)
            if isinstance(entries, list) and any(isinstance(e, TermsRef) for e in entries):
                if key in ONE_OF:
                    def resolve(ref: str) -> tuple[Term, ...] | None:
                        found = self._resolve(ref, ())
                        return None if found is None else (one_of(ref, found),)
                else:
                    def resolve(ref: str) -> tuple[Term, ...] | None:
                        return self._resolve(ref, ())
                found = self._splice(entries, resolve, lambda loc, message, key=key: problem((key, *loc), message),
                                     f"{path}{key}")
                update[key] = list(found or [e for e in entries if not isinstance(e, TermsRef)])
        return spec.model_copy(update=update) if update else spec


ONE_OF = ("all", "about")   # the lists of a match block where every entry must be found


def one_of(name: str, terms: tuple[Term, ...]) -> Term:
    """One term that any of ``terms`` satisfies (an alternation of their patterns, each with its
    own case rule), shown as ``{terms: NAME}``."""
    if len(terms) == 1:
        return terms[0]
    sensitive = {t.case_sensitive for t in terms}
    parts = []
    for t in terms:
        pattern = words_regex(t.words) if t.words is not None else t.regex
        # one case rule for all of them is a flag of the whole pattern; mixed ones, a scoped flag each
        parts.append(f"(?:{pattern})" if len(sensitive) == 1 else f"(?{'-' if t.case_sensitive else ''}i:{pattern})")
    term = Term(regex="|".join(parts), case_sensitive=sensitive == {True})
    term._shown = f"{{terms: {name}}}"
    return term


def _index_of(entries: list[Any], ref: str) -> int:
    return next(k for k, e in enumerate(entries) if isinstance(e, TermsRef) and e.terms == ref)
