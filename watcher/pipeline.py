"""``check_feed``: the whole flow for one feed, top to bottom. Read this to know the daemon.

    fetch (conditional GET) ── 304 ──> record "not_modified", schedule next poll, stop
      │ 200                 ── error ─> record the error, back off, stop
      ├─ same body as last time? ─────> record "unchanged", stop
    parse (in the process pool)
      │
    one transaction, on the database thread:
      store items ─> only the new ones go on
      match alert rules on new items (backlog items only if young enough)
      diff facts: observations from new items vs the ledger ─> fact changes
      build alerts ─> outbox (unique dedupe key; one delivery row per channel)
      record the poll on the feed row, with its next poll time
    wake the dispatcher, which sends what the outbox holds

Everything that decides something is in a pure stage (``match``, ``facts``, ``alerts``,
``polling``); this module only calls them in order. The transaction makes a poll atomic: after
a crash either the items, fact changes and alerts of a poll are all stored, or none is and the
next poll sees the same items as new again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from collections.abc import Awaitable, Callable

from . import polling
from .alerts import build_alerts
from .errors import FetchError, ParseError
from .facts import diff_facts
from .logs import event
from .match import match_items
from .models import FactChange, Fetched, Match, NotModified, ParsedFeed, PollOutcome, StoredItem
from .ruleset.compiled import Feed, Ruleset
from .store import Database, Store, feeds, items, ledger, outbox

log = logging.getLogger(__name__)

ParseFn = Callable[[bytes, str, str], Awaitable[ParsedFeed]]


class FetchFn(Protocol):
    async def __call__(self, url: str, *, etag: str | None, last_modified: str | None,
                       headers: tuple[tuple[str, str], ...], user_agent: str | None) -> Fetched | NotModified: ...


@dataclass
class PollReport:
    feed: str
    outcome: PollOutcome
    next_poll_at: datetime
    new: int = 0
    updated: int = 0
    matches: int = 0
    fact_changes: list[str] = field(default_factory=list)
    alerts: int = 0
    error: str | None = None
    warning: str | None = None


@dataclass
class Services:
    """What ``check_feed`` needs, injected so tests and `watcher check` can share it."""

    store: Store
    fetch: FetchFn
    parse: ParseFn
    policy: polling.PollPolicy = field(default_factory=polling.PollPolicy)


async def check_feed(svc: Services, ruleset: Ruleset, feed: Feed, now: datetime) -> PollReport:
    """Poll one feed once and carry every consequence through to the outbox."""
    row = await svc.store.call(feeds.feed_row, feed.name)
    etag, last_modified = (row.etag, row.last_modified) if row else (None, None)
    try:
        result = await svc.fetch(feed.url, etag=etag, last_modified=last_modified, headers=feed.headers,
                                 user_agent=feed.user_agent)
    except FetchError as exc:
        return await _failed(svc, feed, now, row.error_streak + 1 if row else 1, f"fetch: {exc}", exc.kind,
                             retry_after=exc.retry_after, gone=exc.kind == "gone")

    if isinstance(result, NotModified):
        next_at = polling.next_success(feed.interval, now, policy=svc.policy, server_hint=result.max_age)
        await svc.store.call(feeds.record_poll, feed.name, outcome=PollOutcome.NOT_MODIFIED, now=now,
                             next_poll_at=next_at, reached=True)
        return PollReport(feed.name, PollOutcome.NOT_MODIFIED, next_at)

    body_hash = hashlib.sha256(result.body).hexdigest()[:32]
    if row is not None and row.first_success_at is not None and row.body_hash == body_hash:
        # the server ignored our validators but sent the same bytes: nothing to parse
        next_at = polling.next_success(feed.interval, now, policy=svc.policy, server_hint=result.max_age)
        await svc.store.call(feeds.record_poll, feed.name, outcome=PollOutcome.UNCHANGED, now=now,
                             next_poll_at=next_at, reached=True, etag=result.etag,
                             last_modified=result.last_modified, body_hash=body_hash)
        return PollReport(feed.name, PollOutcome.UNCHANGED, next_at)

    try:
        parsed = await svc.parse(result.body, result.url, result.content_type)
    except ParseError as exc:
        return await _failed(svc, feed, now, row.error_streak + 1 if row else 1, f"parse: {exc}", "parse")

    hint = max(filter(None, (result.max_age, parsed.ttl)), default=None)
    next_at = polling.next_success(feed.interval, now, policy=svc.policy, server_hint=hint)
    report = await svc.store.call(_commit_poll, ruleset, feed, parsed, result, body_hash, now, next_at)
    report.warning = parsed.warning
    return report


async def _failed(svc: Services, feed: Feed, now: datetime, streak: int, error: str, kind: str, *,
                  retry_after: float | None = None, gone: bool = False) -> PollReport:
    next_at = polling.next_failure(feed.interval, streak, now, policy=svc.policy, retry_after=retry_after, gone=gone)
    outcome = PollOutcome.GONE if gone else PollOutcome.ERROR
    await svc.store.call(feeds.record_poll, feed.name, outcome=outcome, now=now, next_poll_at=next_at,
                         error=error, error_kind=kind)
    return PollReport(feed.name, outcome, next_at, error=error)


def _young(stored: StoredItem, now: datetime, max_age: float) -> bool:
    published = stored.item.published_at
    return max_age > 0 and published is not None and now - published <= timedelta(seconds=max_age)


@dataclass
class _Fresh:
    """What a poll brought that nobody has seen: all new items, and those allowed to act."""

    new: list[StoredItem]
    updated: list[StoredItem]
    alertable: list[StoredItem]   # may fire item alerts
    evidence: list[StoredItem]    # may move facts


def _store_items(db: Database, feed: Feed, parsed: ParsedFeed, now: datetime) -> _Fresh:
    """Insert the poll's items; the database says which are new. A feed's first poll is its
    backlog: those items alert and move facts only when recent enough (``feed.backlog``)."""
    row = feeds.feed_row(db, feed.name)
    backlog = row is None or row.first_success_at is None
    new, updated = items.record_items(db, feed.name, parsed.items, now, backlog=backlog)
    alertable = [s for s in new if not backlog or _young(s, now, feed.backlog.alerts)]
    evidence = [s for s in new if not backlog or _young(s, now, feed.backlog.facts)]
    return _Fresh(new, updated, alertable, evidence)


def _update_facts(db: Database, ruleset: Ruleset, evidence: list[StoredItem], now: datetime) -> dict[int, FactChange]:
    """Weigh the new items against the ledger and record the changes; returns them by change id."""
    changes = diff_facts(ruleset.facts, ledger.known_facts(db), evidence, now, ruleset.digest, ruleset.index)
    return {ledger.save_change(db, change): change for change in changes}


def _enqueue_alerts(db: Database, ruleset: Ruleset, matches: list[Match], changes: dict[int, FactChange],
                    now: datetime) -> int:
    """Build the alerts and write them to the outbox; returns how many were new."""
    drafts = build_alerts(ruleset, matches, changes)
    return sum(outbox.enqueue(db, d, now, fact_change_id=d.extra.get("fact_change_id")) is not None
               for d in drafts)


def _commit_poll(db: Database, ruleset: Ruleset, feed: Feed, parsed: ParsedFeed, fetched: Fetched,
                 body_hash: str, now: datetime, next_at: datetime) -> PollReport:
    """The poll's one transaction (runs on the database thread)."""
    with db.atomic():
        fresh = _store_items(db, feed, parsed, now)
        matches = match_items(ruleset.item_rules, fresh.alertable, ruleset.index)
        changes = _update_facts(db, ruleset, fresh.evidence, now)
        queued = _enqueue_alerts(db, ruleset, matches, changes, now)
        outcome = PollOutcome.NEW if fresh.new else PollOutcome.UNCHANGED
        feeds.record_poll(db, feed.name, outcome=outcome, now=now, next_poll_at=next_at, reached=True,
                          parsed=True, found_new=bool(fresh.new), etag=fetched.etag,
                          last_modified=fetched.last_modified, body_hash=body_hash)
    for change in changes.values():
        event(log, logging.INFO, "fact changed", fact=change.fact, old=change.old, new=change.new,
              feed=feed.name, evidence=len(change.evidence))
    return PollReport(feed.name, outcome, next_at, new=len(fresh.new), updated=len(fresh.updated),
                      matches=len(matches), fact_changes=[c.fact for c in changes.values()], alerts=queued)
