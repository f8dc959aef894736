"""Replaying stored items through a candidate rule set: what would it have said?

``backtest`` reads the items the daemon stored (read-only) and feeds them, poll by poll in the
order they arrived, through the same steps a live poll runs (item rules, the fact step, alert
drafts with their dedupe keys), against a ledger and outbox in a scratch in-memory database
that starts from the candidate rules' ``known`` values (or from the live ledger's values at the
start of the replay). Nothing is sent and the live state is never written: the answer is the
alerts and fact transitions the candidate rules would have produced, to judge a rule change
before it goes live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from collections.abc import Iterator

from .alerts import build_alerts
from .match import match_items
from .models import AlertDraft, FactChange, FactNotice, StoredItem
from .pipeline import _update_facts, _young
from .ruleset.compiled import Backlog, Ruleset
from .store import Database, feeds, items, ledger, open_database, outbox
from .timefmt import utcnow

_DEFAULT_BACKLOG = Backlog(0, 172800)


@dataclass
class BacktestResult:
    start: dict[str, str]                                   # each fact's value when the replay starts
    polls: int = 0
    items: int = 0
    alerts: list[tuple[datetime, AlertDraft]] = field(default_factory=list)
    changes: list[FactChange] = field(default_factory=list)
    notices: list[FactNotice] = field(default_factory=list)
    end: dict[str, str] = field(default_factory=dict)       # each fact's value when it ends


def backtest(ruleset: Ruleset, live: Database, *, since: datetime | None = None, until: datetime | None = None,
             start_from: str = "rules") -> BacktestResult:
    """Replay the items first seen in ``[since, until)``; ``start_from`` is ``rules`` (the
    candidate's ``known`` values) or ``ledger`` (the live ledger's values at ``since``)."""
    stored = [s for s in items.iter_items(live, since=since) if until is None or s.first_seen_at < until]
    start_at = since or (stored[0].first_seen_at if stored else utcnow())
    start = _start_values(ruleset, live, since, start_from)
    scratch = open_database(":memory:")
    try:
        names = {s.feed for s in stored} | set(ruleset.feeds)
        feeds.sync_feeds(scratch, {n: ruleset.feeds[n].url if n in ruleset.feeds else f"replay:{n}" for n in names},
                         start_at)
        ledger.sync_known(scratch, start, start_at, ruleset.digest)
        result = BacktestResult(start=dict(start))
        for poll in _polls(stored):
            _replay(scratch, ruleset, poll, result)
        result.end = {name: state.value for name, state in ledger.known_facts(scratch).items()}
        return result
    finally:
        scratch.conn.close()


def _start_values(ruleset: Ruleset, live: Database, since: datetime | None, start_from: str) -> dict[str, str]:
    values = {name: fact.known for name, fact in ruleset.facts.items()}
    if start_from == "ledger":
        for entry in reversed(ledger.fact_history(live, limit=100_000)):
            if entry.fact in values and (since is None or entry.at <= since):
                normal = ruleset.facts[entry.fact].normalise(entry.new)
                if normal is not None:
                    values[entry.fact] = normal
    return values


def _polls(stored: list[StoredItem]) -> Iterator[list[StoredItem]]:
    """Items grouped as they arrived: one group per feed and first-seen time (one poll)."""
    for _, group in groupby(stored, key=lambda s: (s.first_seen_at, s.feed)):
        yield list(group)


def _replay(db: Database, ruleset: Ruleset, poll: list[StoredItem], result: BacktestResult) -> None:
    now = poll[0].first_seen_at
    feed = poll[0].feed
    backlog = ruleset.feeds[feed].backlog if feed in ruleset.feeds else _DEFAULT_BACKLOG
    with db.atomic():
        copies: list[StoredItem] = []
        for s in poll:
            new, _ = items.record_items(db, feed, [s.item], now, backlog=s.backlog)
            copies += new
        alertable = [s for s in copies if not s.backlog or _young(s, now, backlog.alerts)]
        evidence = [s for s in copies if not s.backlog or _young(s, now, backlog.facts)]
        matches = match_items(ruleset.item_rules, alertable)
        step = _update_facts(db, ruleset, evidence, now)
        for draft in build_alerts(ruleset, matches, step.changes, notices=step.notices):
            change_id = draft.extra.get("fact_change_id")
            if outbox.enqueue(db, draft, now, fact_change_id=change_id) is not None:
                result.alerts.append((now, draft))
    result.polls += 1
    result.items += len(copies)
    result.changes += step.changes.values()
    result.notices += step.notices.values()
