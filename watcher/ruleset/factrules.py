"""Compiling one fact: its kind, known value, corroboration policy and signals, with their checks.

Signals read text that reports, so they get every guard by default (a question, a denial, a
prediction or an opinion is not evidence); a signal's ``match`` may choose others. An
``extract`` pattern is also an ``all`` term of the signal's matcher: it must be found, where
the guards allow, for the signal to fire.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..errors import Problem
from ..match import Matcher, compile_term
from ..text.guards import GUARDS
from ..text import quantity, rates
from ..text.quantity import NUMBER_PLACEHOLDERS, PLACEHOLDERS
from . import compiled as c
from .matchers import cancel_message, compile_matcher, guard_cancels
from .schema import Corroboration, FactSpec, Signal
from .termlists import TermLists
from .yamlsrc import locate

SIGNAL_GUARDS = frozenset(GUARDS)
FEED_LISTS = ("trusted", "ignore", "confirm_only")   # the feed lists of `corroborate`
_DEFAULT_SCOPE = ("title", "summary", "content")
_CAPTURES = {"number": NUMBER_PLACEHOLDERS, "text": ("{name}",), "status": ()}


def compile_fact(display: str, data: Any, name: str, spec: FactSpec, default: Corroboration | None,
                 feeds: dict[str, c.Feed], tags: dict[str, set[str]],
                 inherited: Mapping[str, frozenset[str]] | None = None,
                 term_lists: TermLists | None = None,
                 rows: list[int] | None = None) -> tuple[c.Fact, list[Problem]]:
    """Compile one fact and check it. ``default`` is ``settings.corroborate``; ``inherited`` its
    feed lists (``FEED_LISTS``) as feed names, checked once where they are written
    (``settings_feed_lists``); ``term_lists`` the named term lists its signals may use; ``rows``
    the index in the file of each of ``spec.signals`` (when broken signals were left out of it,
    see ``validate.py``; default: as listed)."""
    owner = f'fact "{name}"'
    inherited = inherited or {}
    problems: list[Problem] = []

    def problem(loc: tuple[Any, ...], message: str, warning: bool = False) -> None:
        line, col = locate(data, ("facts", name, *loc))
        problems.append(Problem(display, line, col, message, owner, warning))

    kind = spec.fact_kind
    values = tuple(spec.values) if spec.values else None
    if values is not None and len(set(values)) != len(values):
        problem(("values",), "values: a value is listed twice")
    unit = quantity.unit_name(spec.unit_name)
    unit_words = spec.unit_words
    for k, refused in _own_unit_problems(unit_words):
        problem(("unit", "name") if k == 0 else ("unit", "words", k - 1), f"unit: {refused}")
    ranges = [i for i, sig in enumerate(spec.signals) if _take(sig) == "both"]
    probe = c.Fact(name, spec.describe, spec.known, values, spec.ordered, (), kind, unit, interval=bool(ranges),
                   unit_words=unit_words)
    known = probe.normalise(spec.known)
    if known is None:
        problem(("known",), f"known: {_not_a_value(probe, spec.known)}")
    raw = data.get("facts", {}).get(name, {}) if isinstance(data, dict) else {}
    if "regression" in raw and not spec.ordered:
        problem(("regression",), "regression: only applies to `ordered: true` facts")
    policy = spec.corroborate or default or Corroboration()
    lists: dict[str, frozenset[str]] = {}
    for key in FEED_LISTS:
        # which feeds never count or only confirm is about the feeds, not the fact: a fact's own
        # corroborate keeps the settings' lists unless it gives its own (sources, within and
        # trusted are replaced as a whole, as they always were)
        own = spec.corroborate is not None and (key == "trusted" or key in spec.corroborate.model_fields_set)
        lists[key] = (frozenset(_feeds(getattr(spec.corroborate, key), feeds, tags, problem, ("corroborate", key)))
                      if own else inherited.get(key, frozenset()))
    _overlaps(lists, problem)
    signals = []
    for i, sig in zip(rows if rows is not None else range(len(spec.signals)), spec.signals, strict=True):
        if sig.match is not None and term_lists is not None:
            sig = sig.model_copy(update={"match": term_lists.expand(
                sig.match, lambda loc, msg, i=i: problem(("signals", i, "match", *loc), msg), f"signals[{i}].match.")})
        signal = _signal(i, sig, probe, ranges,
                         lambda loc, msg, warning=False, i=i: problem(("signals", i, *loc), msg, warning))
        if signal is not None and sig.feeds is not None:
            chosen = _feeds(sig.feeds, feeds, tags, problem, ("signals", i, "feeds"))
            signal = replace(signal, feeds=frozenset(chosen))
        if signal is not None:
            signals.append(signal)
    regression = c.Regression(spec.regression.operator, spec.regression.sources, spec.regression.within)
    fact = c.Fact(name, spec.describe, known or spec.known, values, spec.ordered, tuple(signals), kind, unit,
                  c.Corroboration(policy.sources, policy.within, lists["trusted"], lists["ignore"],
                                  lists["confirm_only"]), regression, spec.precision, interval=bool(ranges),
                  unit_words=unit_words)
    return fact, problems


def settings_feed_lists(display: str, data: Any, default: Corroboration | None, feeds: dict[str, c.Feed],
                        tags: dict[str, set[str]]) -> tuple[dict[str, frozenset[str]], list[Problem]]:
    """The feed lists of ``settings.corroborate`` as feed names, each unknown name a problem
    where it is written."""
    problems: list[Problem] = []

    def problem(loc: tuple[Any, ...], message: str) -> None:
        line, col = locate(data, ("settings", *loc))
        problems.append(Problem(display, line, col, f"settings.{message}"))

    lists = {key: frozenset(_feeds(getattr(default, key), feeds, tags, problem, ("corroborate", key)))
             for key in FEED_LISTS} if default is not None else {}
    _overlaps(lists, problem)
    return lists, problems


def _overlaps(lists: Mapping[str, frozenset[str]], problem: Any) -> None:
    """A feed in more than one of the lists is a problem: trusted and ignored cannot both hold."""
    found: dict[str, list[str]] = {}
    for key in FEED_LISTS:
        for feed in lists.get(key, ()):
            found.setdefault(feed, []).append(key)
    for feed, keys in sorted(found.items()):
        if len(keys) > 1:
            problem(("corroborate",), f'corroborate: feed "{feed}" is in {" and in ".join(keys)}; a feed is '
                                      "trusted, ignored or confirm-only, not two of these")


def _not_a_value(fact: c.Fact, value: str) -> str:
    if fact.kind == "number":
        return quantity.why_not(value, fact.unit, fact.interval)
    if fact.kind == "status":
        close = difflib.get_close_matches(value, list(fact.values or ()), n=1, cutoff=0.6)
        return f'"{value}" is not one of the values' + (f' (did you mean "{close[0]}"?)' if close else "")
    return "a text value cannot be empty"


def _take(spec: Signal) -> str | None:
    """What a signal's extract reads: ``both`` ends of a range, one end of it, or (``None``) one number."""
    if spec.extract is None or "{range}" not in spec.extract.source:
        return None
    return spec.take or "both"


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


def _signal(index: int, spec: Signal, fact: c.Fact, ranges: list[int], problem: Any) -> c.Signal | None:
    ok = True
    value = None
    if spec.value is not None:
        value = fact.normalise(spec.value)
        if value is None:
            problem(("value",), f"signals[{index}].value: {_not_a_value(fact, spec.value)}")
            ok = False
    extract = None
    if spec.take is not None and (spec.extract is None or "{range}" not in spec.extract.source):
        problem(("take",), f"signals[{index}].take: only applies to an `extract` that reads {{range}}")
        ok = False
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
        else:
            refused = (_unit_problem(source, fact.unit, fact.unit_words)
                       or _shape_problem(index, spec, source, ranges))
            if refused:
                problem(("extract",), f"signals[{index}].extract: {refused}")
                ok = False
        own = {"{quantity}": quantity.quantity_pattern(fact.unit_words)} if fact.unit_words else None
        extract = compile_term(source, words=spec.extract.words is not None,
                               case_sensitive=spec.extract.case_sensitive, placeholders=own)
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
    return c.Signal(index, value, matcher, extract, spec.backwards, take=_take(spec))


def _own_unit_problems(words: tuple[str, ...]) -> list[tuple[int, str]]:
    """A unit of the fact's own (its name, then its words) that ``{quantity}`` could not read
    right: a rate (the rate placeholders read those), or a spelling that starts with a scale
    ("million barrels": the scale is read from the text, so 3.66 million barrels is 3660000)."""
    problems: list[tuple[int, str]] = []
    if words and quantity.unit_name(words[0]) in rates.RATE_UNITS:
        problems.append((0, f'"{words[0]}" is a rate: give it as `unit: {words[0]}` and read it with '
                            "{percent}, {range} or {change}"))
    for k, word in enumerate(words):
        scale = quantity.leading_scale(word)
        if scale:
            problems.append((k, f'"{word}" starts with the scale "{scale}": write the unit without it '
                                f'("{word[len(scale):].strip(" -")}"); the scale is read from the text, '
                                f'so "3.66 {word}" is 3660000 in it'))
    return problems


def _unit_problem(source: str, unit: str | None, unit_words: tuple[str, ...] = ()) -> str | None:
    """A placeholder that cannot read a value in the fact's ``unit``: a level for a change, a
    change for a level, a rate for a fact that does not say it is one, a quantity in no unit."""
    if "{quantity}" in source and not unit_words:
        return ("{quantity} reads a number followed by the fact's own unit: give the fact "
                "`unit: {name: ..., words: [...]}` (the words the text writes it with), or read it with {number}")
    if "{percent}" in source and unit != rates.PERCENT:
        if unit in (rates.BP, rates.PP):
            return (f"{{percent}} reads a level in percent, and this fact's unit is {unit}, a change: read it "
                    "with {change}")
        return "{percent} reads a level in percent: give the fact `unit: percent`"
    if "{range}" in source and unit in (rates.BP, rates.PP):
        return f"{{range}} reads levels, and this fact's unit is {unit}, a change: read it with {{change}}"
    if "{change}" in source and unit not in (rates.BP, rates.PP):
        if unit == rates.PERCENT:
            return ("{change} reads a change in points, and this fact is a level in percent: read it with "
                    "{percent} or {range}, or make a fact of the change with `unit: bp` or `unit: pp`")
        return ("{change} reads a change in points: give the fact `unit: bp` (basis points) or `unit: pp` "
                "(percentage points)")
    return None


def _shape_problem(index: int, spec: Signal, source: str, ranges: list[int]) -> str | None:
    """A fact whose signal takes both ends of a range holds ranges: every signal must read one."""
    if not ranges or _take(spec) == "both" or "(?P<value>" in source:
        return None
    other = ranges[0]
    return (f"this fact holds a range (signals[{other}] takes both ends of {{range}}), and this pattern reads one "
            f"number, which cannot say which range: read {{range}} here too, or give signals[{other}] "
            "`take: lower` or `take: upper`")
