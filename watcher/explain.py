"""Why an item did or did not fire each rule and signal: what `watcher explain` shows. Pure.

For one item, every alert rule on items and every fact signal is run with its reasons kept:
each term with the spans where it was found, the occurrences a guard refused (and the cue that
refused them), the cues a term's own words switched off, the verdict in words, and for signals
the value read and what it would mean for the fact now (old news, a change, a confirmation, a
report from an ignored feed) and, with the ledger's reports, where that value stands: it moves
the fact, or what it waits for (more sources, the end of a contradiction, named with its sides,
an operator) and until when.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .balance import expires, outlooks, role, window
from .facts import extracted_value
from .match import CompiledTerm, Found, Matcher, hit_of, own_spans
from .models import FactState, Hit, Observation, StoredItem
from .text.guards import Cue
from .ruleset.compiled import Fact, Ruleset, Signal
from .text import quantity
from .text.patterns import BUDGET, SlowPattern
from .text.view import ItemView
from .timefmt import format_duration


@dataclass(frozen=True)
class TermReport:
    group: str                                   # all, any, none
    source: str
    hits: tuple[Hit, ...]                        # occurrences that count
    refused: tuple[tuple[Hit, Cue], ...] = ()    # occurrences a guard refused, with its cue
    ignored: tuple[tuple[Hit, Cue, str], ...] = ()  # cues that reached a hit but lie in a term (its source)


@dataclass(frozen=True)
class MatchReport:
    matched: bool
    reason: str                # the verdict in words, with each pattern it names in full
    terms: tuple[TermReport, ...]
    hits: tuple[Hit, ...]
    quote: str = ""            # when it matched: the sentence(s) the hits are in
    brief: str = ""            # the verdict with long patterns cut (`watcher explain` without --verbose)


SHORT_PATTERN = 40   # characters of a pattern the short verdict shows


def shortened(source: str, width: int = SHORT_PATTERN) -> str:
    """A pattern as the short form of `watcher explain` names it: cut to ``width`` characters."""
    return source if len(source) <= width else source[:width - 1] + "…"


def explain_matcher(matcher: Matcher, view: ItemView) -> MatchReport:
    """Every term of ``matcher`` with where it was found, which occurrences a guard refused and
    why, and the verdict in words (or which pattern ran out of time on this item)."""
    try:
        return _explain_matcher(matcher, view)
    except SlowPattern as exc:
        slow = (f"slow: the pattern '{exc.term.source}' took longer than {BUDGET:g}s on this item, so the daemon "
                "records the item as not matched by it")
        return MatchReport(False, slow, (), (), "", slow)


def _explain_matcher(matcher: Matcher, view: ItemView) -> MatchReport:
    scanned = matcher.scan(view)
    own = own_spans(scanned)
    lends = matcher.within != "field" and "title" in matcher.scope  # the title lends `about` terms, unguarded
    terms = []
    for group in ("about", "all", "any"):
        for term in getattr(matcher, group):
            def counts(field: str, cue: Cue | None, lent: bool = group == "about" and lends) -> bool:
                return cue is None or (lent and field == "title")
            occs = scanned[term]
            ignored = tuple((hit_of(term, f, m), cue, _holder(scanned, f, cue))
                            for f, m, _ in occs
                            for cue in view.cancelled(f, m.start(), m.end(), matcher.guards, own.get(f, [])))
            terms.append(TermReport(group, term.source,
                                    tuple(hit_of(term, f, m) for f, m, c in occs if counts(f, c)),
                                    tuple((hit_of(term, f, m), c) for f, m, c in occs if not counts(f, c)), ignored))
    refused = matcher.refused_by(view)
    for term in matcher.none:
        occ = (refused[1], refused[2]) if refused and refused[0] is term else None
        terms.append(TermReport("none", term.source, (hit_of(term, *occ),) if occ else ()))
    found = matcher.find(view)
    return MatchReport(found is not None, _reason(matcher, found, terms), tuple(terms), found.hits if found else (),
                       found.context if found else "", _reason(matcher, found, terms, shortened))


def _holder(scanned: dict[CompiledTerm, list[tuple[str, Any, Cue | None]]], field: str, cue: Cue) -> str:
    """The term whose occurrence holds ``cue`` (the first, if several do)."""
    return next(term.source for term, occs in scanned.items()
                if any(f == field and m.start() < cue.end and cue.start < m.end() for f, m, _ in occs))


def _reason(matcher: Matcher, found: Found | None, terms: list[TermReport], name: Any = str) -> str:
    """Why ``matcher`` did not match, naming each pattern as ``name`` shows it."""
    if found is not None:
        return "matched"
    for t in terms:
        if t.group in ("about", "all") and not t.hits:
            return f"`{t.group}` term '{name(t.source)}' {_why_not(t)}"
    anys = [t for t in terms if t.group == "any"]
    if anys and not any(t.hits for t in anys):
        refused = next((t for t in anys if t.refused), None)
        return "no `any` term counts" + (f": '{name(refused.source)}' {_why_not(refused)}" if refused else "")
    blocking = next((t for t in terms if t.group == "none" and t.hits), None)
    if blocking is not None:
        where = matcher.none_within or matcher.within
        place = "in the scope" if where == "field" else f"where the terms meet ({blocking.hits[0].field} {where})"
        return f"`none` term '{name(blocking.source)}' is present {place}"
    subject = " (an `about` term may be in the title)" if matcher.about and "title" in matcher.scope else ""
    return f"the terms are not all in one {matcher.within}{subject}"


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
    brief: str = ""            # ``outcome`` with long patterns cut

    @property
    def fired(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class ItemExplanation:
    item: StoredItem
    rules: tuple[RuleExplanation, ...]
    signals: tuple[SignalExplanation, ...]


def explain_item(ruleset: Ruleset, stored: StoredItem, states: Mapping[str, FactState] | None = None,
                 live: Sequence[Observation] = (), now: datetime | None = None) -> ItemExplanation:
    """Run every item rule and fact signal on ``stored``, keeping the reasons. With ``now`` (and
    the ledger's ``live`` reports), a signal's outcome also says where its value stands: whether
    it moves the fact, or what it waits for and until when (a contradiction named with its sides)."""
    view = ItemView(stored.item, stored.feed)
    rules = tuple(RuleExplanation(rule.name, rule.feeds is None or stored.feed in rule.feeds,
                                  explain_matcher(rule.matcher, view)) for rule in ruleset.item_rules)
    signals = []
    for fact in ruleset.facts.values():
        state = (states or {}).get(fact.name)
        current = state.value if state is not None else fact.known  # no ledger yet: the rules' known value
        since = state.since if state is not None else None
        for signal in fact.signals:
            report = explain_matcher(signal.matcher, view)
            target = fact.display(signal.value) if signal.value is not None else f"{fact.kind} read from the text"
            if signal.feeds is not None and stored.feed not in signal.feeds:
                signals.append(SignalExplanation(fact.name, signal.index, target, None,
                                                 f"not for feed {stored.feed}", report, f"not for feed {stored.feed}"))
                continue
            if stored.feed in fact.corroborate.ignore and report.matched:
                ignored = f"ignored: feed {stored.feed} is in corroborate.ignore"
                signals.append(SignalExplanation(fact.name, signal.index, target, None, ignored, report, ignored))
                continue
            value, outcome, brief = None, report.reason, report.brief
            if report.matched:
                found = signal.matcher.find(view)
                raw = signal.value
                if signal.extract is not None and found is not None:
                    m = found.match_of(signal.extract)
                    raw = extracted_value(fact, m, signal.take) if m is not None else None
                    if raw is None and m is not None:
                        outcome = brief = (f"read {m.group(0)!r}, which is not a value of this fact"
                                           + _refused(fact, m, signal))
                if raw is not None:
                    value = fact.display(raw)
                    claim = Observation(fact.name, raw, stored, found.hits if found else (), signal.index,
                                        backwards=signal.backwards)
                    outcome = brief = _meaning(fact, current, claim) + _standing(fact, current, since, claim, live,
                                                                                  now)
            signals.append(SignalExplanation(fact.name, signal.index, target, value, outcome, report, brief))
    return ItemExplanation(stored, rules, tuple(signals))


def _refused(fact: Fact, m: re.Match[str], signal: Signal) -> str:
    """Why a number read from the text is not a value of ``fact``: " (in bp, not in percent)"."""
    found = quantity.from_match(m) if fact.kind == "number" else None
    return f" ({quantity.refusal(found, fact.unit, signal.take)})" if found is not None else ""


def _meaning(fact: Fact, current: str, claim: Observation) -> str:
    kind = role(fact, current, claim)
    now, value = fact.display(current), fact.display(claim.value)
    return {
        "confirms": f"confirms the current value ({now})",
        "stale": f"old news: {value} is an earlier stage than {now}",
        "forward": f"evidence for a move forward, {now} -> {value}",
        "backwards": f"evidence for a move back, {now} -> {value}"
                     + (" (needs an operator)" if fact.regression.operator else ""),
    }.get(kind, f"evidence for a change, {now} -> {value}") + _policy(fact, kind)


def _standing(fact: Fact, current: str, since: datetime | None, claim: Observation, live: Sequence[Observation],
              now: datetime | None) -> str:
    """Where the claim's value stands with the reports in the window (``""`` without ``now``)."""
    if now is None:
        return ""
    if now >= expires(fact, claim):
        return (f"; too old to count: reported {format_duration((now - claim.reported_at).total_seconds())} ago, "
                f"outside the {format_duration(window(fact, claim))} window")
    if role(fact, current, claim) in ("confirms", "stale"):
        return ""
    others = [o for o in live if o.fact == fact.name and not (claim.item.id and o.item.id == claim.item.id)]
    found = next((o for o in outlooks(fact, current, since, [*others, claim], now)
                  if fact.key(o.value) == fact.key(claim.value)), None)
    if found is None:
        return ""
    if found.wins:
        return "; enough to move the fact now"
    return f"; waits for {found.waits_for(fact.display)}, until {found.until:%Y-%m-%d %H:%M} UTC"


def _policy(fact: Fact, kind: str) -> str:
    if kind in ("confirms", "stale") or (kind == "backwards" and fact.regression.operator):
        return ""
    sources = fact.regression.sources if kind == "backwards" else fact.corroborate.sources
    if sources <= 1:
        return ""
    within = fact.regression.within if kind == "backwards" else fact.corroborate.within
    return f"; moves the fact with {sources} independent sources within {format_duration(within)}"
