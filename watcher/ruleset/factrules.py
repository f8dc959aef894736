"""Compiling one fact: its kind, known value, corroboration policy and signals, with their checks.

Signals read text that reports, so they get every guard by default (a question, a denial, a
prediction or an opinion is not evidence); a signal's ``match`` may choose others. An
``extract`` pattern is also an ``all`` term of the signal's matcher: it must be found, where
the guards allow, for the signal to fire.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Any

from ..errors import Problem
from ..match import Matcher, compile_term
from ..text.guards import GUARDS
from ..text.quantity import PLACEHOLDERS
from . import compiled as c
from .matchers import cancel_message, compile_matcher, guard_cancels
from .schema import Corroboration, FactSpec, Signal
from .yamlsrc import locate

SIGNAL_GUARDS = frozenset(GUARDS)
_DEFAULT_SCOPE = ("title", "summary", "content")
_CAPTURES = {"number": ("{amount}", "{number}"), "text": ("{name}",), "status": ()}


def compile_fact(display: str, data: Any, name: str, spec: FactSpec, default: Corroboration | None,
                 feeds: dict[str, c.Feed], tags: dict[str, set[str]]) -> tuple[c.Fact, list[Problem]]:
    owner = f'fact "{name}"'
    problems: list[Problem] = []

    def problem(loc: tuple[Any, ...], message: str, warning: bool = False) -> None:
        line, col = locate(data, ("facts", name, *loc))
        problems.append(Problem(display, line, col, message, owner, warning))

    kind = spec.fact_kind
    values = tuple(spec.values) if spec.values else None
    if values is not None and len(set(values)) != len(values):
        problem(("values",), "values: a value is listed twice")
    probe = c.Fact(name, spec.describe, spec.known, values, spec.ordered, (), kind, spec.unit)
    known = probe.normalise(spec.known)
    if known is None:
        problem(("known",), f"known: {_not_a_value(probe, spec.known)}")
    raw = data.get("facts", {}).get(name, {}) if isinstance(data, dict) else {}
    if "regression" in raw and not spec.ordered:
        problem(("regression",), "regression: only applies to `ordered: true` facts")
    policy = spec.corroborate or default or Corroboration()
    trusted = _feeds(policy.trusted, feeds, tags, problem, ("corroborate", "trusted"))
    signals = []
    for i, sig in enumerate(spec.signals):
        signal = _signal(i, sig, probe,
                         lambda loc, msg, warning=False, i=i: problem(("signals", i, *loc), msg, warning))
        if signal is not None and sig.feeds is not None:
            chosen = _feeds(sig.feeds, feeds, tags, problem, ("signals", i, "feeds"))
            signal = replace(signal, feeds=frozenset(chosen))
        if signal is not None:
            signals.append(signal)
    regression = c.Regression(spec.regression.operator, spec.regression.sources, spec.regression.within)
    fact = c.Fact(name, spec.describe, known or spec.known, values, spec.ordered, tuple(signals), kind, spec.unit,
                  c.Corroboration(policy.sources, policy.within, frozenset(trusted)), regression, spec.precision)
    return fact, problems


def _not_a_value(fact: c.Fact, value: str) -> str:
    if fact.kind == "number":
        return (f'"{value}" is not an amount (write 61e9, 61bn or $61 billion'
                f'{", in " + fact.unit if fact.unit else ""})')
    if fact.kind == "status":
        close = difflib.get_close_matches(value, list(fact.values or ()), n=1, cutoff=0.6)
        return f'"{value}" is not one of the values' + (f' (did you mean "{close[0]}"?)' if close else "")
    return "a text value cannot be empty"


def _feeds(names: list[str], feeds: dict[str, c.Feed], tags: dict[str, set[str]], problem: Any,
           loc: tuple[Any, ...]) -> set[str]:
    """Feed names and tags -> feed names (an unknown one is a problem at ``loc``)."""
    found: set[str] = set()
    for k, name in enumerate(names):
        if name in feeds:
            found.add(name)
        elif name in tags:
            found |= tags[name]
        else:
            close = difflib.get_close_matches(name, sorted(set(feeds) | set(tags)), n=1, cutoff=0.6)
            key = ".".join(str(part) if not isinstance(part, int) else f"[{part}]" for part in loc).replace(".[", "[")
            problem((*loc, k), f'{key}: no feed or feed tag is called "{name}"'
                    + (f' (did you mean "{close[0]}"?)' if close else ""))
    return found


def _signal(index: int, spec: Signal, fact: c.Fact, problem: Any) -> c.Signal | None:
    ok = True
    value = None
    if spec.value is not None:
        value = fact.normalise(spec.value)
        if value is None:
            problem(("value",), f"signals[{index}].value: {_not_a_value(fact, spec.value)}")
            ok = False
    extract = None
    if spec.extract is not None:
        source = spec.extract.source
        allowed = _CAPTURES[fact.kind]
        captures = sum(source.count(token) for token in PLACEHOLDERS) + source.count("(?P<value>")
        if fact.kind == "status":
            problem(("extract",), f"signals[{index}].extract: a status fact takes `value`; `extract` reads "
                                  "numbers (kind: number) and text (kind: text)")
            ok = False
        elif captures != 1 or not (any(t in source for t in allowed) or "(?P<value>" in source):
            problem(("extract",), f"signals[{index}].extract: the pattern needs exactly one of "
                                  f"{', '.join(allowed)} or a regex group (?P<value>...)")
            ok = False
        extract = compile_term(source, words=spec.extract.words is not None,
                               case_sensitive=spec.extract.case_sensitive)
    if spec.backwards and not fact.ordered:
        problem(("backwards",), f"signals[{index}].backwards: only applies to `ordered: true` facts")
        ok = False
    if not ok:
        return None
    extra = (extract,) if extract is not None else ()
    if spec.match is not None:
        matcher = compile_matcher(spec.match, guards=SIGNAL_GUARDS, extra_all=extra)
    else:
        matcher = Matcher(extra, (), (), _DEFAULT_SCOPE, "field", SIGNAL_GUARDS)
    written = len(spec.match.all) if spec.match is not None else 0
    for group, k, term, cancels in guard_cancels(matcher):
        loc = ("extract",) if group == "all" and k >= written else ("match", group, k)
        key = f"signals[{index}]." + ("extract" if loc == ("extract",) else f"match.{group}[{k}]")
        problem(loc, f"{key}: {cancel_message(term, cancels, 'signal')}", True)
    return c.Signal(index, value, matcher, extract, spec.backwards)
