"""Why an item did or did not fire each rule and signal: what `watcher explain` shows. Pure.

For one item, every alert rule on items and every fact signal is run with its reasons kept:
each term with the spans where it was found, the occurrences a guard refused (and the cue that
refused them), the verdict in words, and for signals the value read and what it would mean for
the fact now (old news, a change, a confirmation).
"""

from __future__ import annotations

from dataclasses import dataclass

from .facts import extracted_value, role
from .match import Found, Matcher, first_in, hit_of
from .models import FactState, Hit, Observation, StoredItem
from .text.guards import Cue
from .text.patterns import BUDGET, SlowPattern
from .ruleset.compiled import Fact, Ruleset
from .text.view import ItemView
from .timefmt import format_duration


@dataclass(frozen=True)
class TermReport:
    group: str                                   # all, any, none
    source: str
    hits: tuple[Hit, ...]                        # occurrences that count
    refused: tuple[tuple[Hit, Cue], ...] = ()    # occurrences a guard refused, with its cue


@dataclass(frozen=True)
class MatchReport:
    matched: bool
    reason: str
    terms: tuple[TermReport, ...]
    hits: tuple[Hit, ...]


def explain_matcher(matcher: Matcher, view: ItemView) -> MatchReport:
    """Every term of ``matcher`` with where it was found, which occurrences a guard refused and
    why, and the verdict in words (or which pattern ran out of time on this item)."""
    try:
        return _explain_matcher(matcher, view)
    except SlowPattern as exc:
        return MatchReport(False, f"slow: the pattern '{exc.term.source}' took longer than {BUDGET:g}s on this item, "
                                  "so the daemon records the item as not matched by it", (), ())


def _explain_matcher(matcher: Matcher, view: ItemView) -> MatchReport:
    scanned = matcher.scan(view)
    terms = []
    for group in ("all", "any"):
        for term in getattr(matcher, group):
            occs = scanned[term]
            terms.append(TermReport(group, term.source, tuple(hit_of(term, f, m) for f, m, c in occs if c is None),
                                    tuple((hit_of(term, f, m), c) for f, m, c in occs if c is not None)))
    for term in matcher.none:
        occ = first_in(term, view, matcher.scope)
        terms.append(TermReport("none", term.source, (hit_of(term, *occ),) if occ else ()))
    found = matcher.find(view)
    return MatchReport(found is not None, _reason(matcher, found, terms), tuple(terms), found.hits if found else ())


def _reason(matcher: Matcher, found: Found | None, terms: list[TermReport]) -> str:
    if found is not None:
        return "matched"
    for t in terms:
        if t.group == "all" and not t.hits:
            return f"`all` term '{t.source}' {_why_not(t)}"
    anys = [t for t in terms if t.group == "any"]
    if anys and not any(t.hits for t in anys):
        refused = next((t for t in anys if t.refused), None)
        return "no `any` term counts" + (f": '{refused.source}' {_why_not(refused)}" if refused else "")
    blocking = [t.source for t in terms if t.group == "none" and t.hits]
    if blocking:
        return f"`none` term '{blocking[0]}' is present"
    return f"the terms are not all in one {matcher.within}"


def _why_not(report: TermReport) -> str:
    if not report.refused:
        return "is not in the text"
    hit, cue = report.refused[0]
    return f"is found ({hit.text!r}) but refused by the {cue.guard} guard ({cue.text!r})"


@dataclass(frozen=True)
class RuleExplanation:
    rule: str
    applies: bool              # the rule looks at this item's feed
    report: MatchReport


@dataclass(frozen=True)
class SignalExplanation:
    fact: str
    signal: int
    target: str                # what the signal is evidence for: its value, or what it extracts
    value: str | None          # the value it reads (as people read it), if it fired
    outcome: str               # what it would mean for the fact, or why it did not fire
    report: MatchReport

    @property
    def fired(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class ItemExplanation:
    item: StoredItem
    rules: tuple[RuleExplanation, ...]
    signals: tuple[SignalExplanation, ...]


def explain_item(ruleset: Ruleset, stored: StoredItem,
                 states: dict[str, FactState] | None = None) -> ItemExplanation:
    """Run every item rule and fact signal on ``stored``, keeping the reasons."""
    view = ItemView(stored.item, stored.feed)
    rules = tuple(RuleExplanation(rule.name, rule.feeds is None or stored.feed in rule.feeds,
                                  explain_matcher(rule.matcher, view)) for rule in ruleset.item_rules)
    signals = []
    for fact in ruleset.facts.values():
        state = (states or {}).get(fact.name)
        current = state.value if state is not None else fact.known  # no ledger yet: the rules' known value
        for signal in fact.signals:
            report = explain_matcher(signal.matcher, view)
            value, outcome = None, report.reason
            if signal.feeds is not None and stored.feed not in signal.feeds:
                target = fact.display(signal.value) if signal.value is not None else f"{fact.kind} read from the text"
                signals.append(SignalExplanation(fact.name, signal.index, target, None,
                                                 f"not for feed {stored.feed}", report))
                continue
            if report.matched:
                found = signal.matcher.find(view)
                raw = signal.value
                if signal.extract is not None and found is not None:
                    m = found.match_of(signal.extract)
                    raw = extracted_value(fact, m) if m is not None else None
                    if raw is None and m is not None:
                        outcome = f"read {m.group(0)!r}, which is not a value of this fact" + (
                            f" (not in {fact.unit})" if fact.unit else "")
                if raw is not None:
                    value = fact.display(raw)
                    outcome = _meaning(fact, current, raw, signal.backwards, stored)
            target = fact.display(signal.value) if signal.value is not None else f"{fact.kind} read from the text"
            signals.append(SignalExplanation(fact.name, signal.index, target, value, outcome, report))
    return ItemExplanation(stored, rules, tuple(signals))


def _meaning(fact: Fact, current: str, value: str, backwards: bool, stored: StoredItem) -> str:
    kind = role(fact, current, Observation(fact.name, value, stored, (), 0, backwards=backwards))
    now = fact.display(current)
    return {
        "confirms": f"confirms the current value ({now})",
        "stale": f"old news: {fact.display(value)} is an earlier stage than {now}",
        "forward": f"evidence for a move forward, {now} -> {fact.display(value)}",
        "backwards": f"evidence for a move back, {now} -> {fact.display(value)}"
                     + (" (needs an operator)" if fact.regression.operator else ""),
    }.get(kind, f"evidence for a change, {now} -> {fact.display(value)}") + _policy(fact, kind)


def _policy(fact: Fact, kind: str) -> str:
    if kind in ("confirms", "stale") or (kind == "backwards" and fact.regression.operator):
        return ""
    sources = fact.regression.sources if kind == "backwards" else fact.corroborate.sources
    if sources <= 1:
        return ""
    within = fact.regression.within if kind == "backwards" else fact.corroborate.within
    return f"; moves the fact with {sources} independent sources within {format_duration(within)}"
