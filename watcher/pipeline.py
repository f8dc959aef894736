"""``check_feed``: the whole flow for one feed, top to bottom. Read this to know the daemon.

    fetch (conditional GET) ── 304 ──> record "not_modified", schedule next poll, stop
      │ 200                 ── error ─> record the error, back off, stop
      ├─ same body as last time? ─────> record "unchanged", stop
    parse (in the process pool)
      │
    one transaction, on the database thread:
      store items ─> only the new ones go on
      match alert rules on new items (backlog items only if young enough)
      weigh facts: observations from new items, with those still in their window, vs the
        ledger ─> fact changes, pending reports, contradictions, reviews
      build alerts ─> noise control ─> outbox (unique dedupe key; one delivery row per channel)
      record the poll on the feed row, with its next poll time (polling: interval, server
      hints, adaptive rate, spreading; backoff after failures)
    wake the dispatcher, which sends what the outbox holds

Everything that decides something is in a pure stage (``match``, ``facts``, ``alerts``,
``polling``); this module only calls them in order. The transaction makes a poll atomic: after
a crash either the items, fact changes and alerts of a poll are all stored, or none is and the
next poll sees the same items as new again.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from collections.abc import Awaitable, Callable, Sequence

from . import noise, polling
from .addresses import Network
from .alerts import build_alerts
from .errors import FetchError, ParseError
from .balance import expires, window
from .facts import observe, weigh_all
from .logs import event
from .match import match_items
from .models import (AlertDraft, FactChange, FactNotice, Fetched, Match, NotModified, Observation, ParsedFeed,
                     PollOutcome, StoredItem)
from .ruleset.compiled import Feed, Ruleset
from .store import Database, Store, feeds, items, ledger, observations, outbox, silences

log = logging.getLogger(__name__)

ParseFn = Callable[[bytes, str, str], Awaitable[ParsedFeed]]


class FetchFn(Protocol):
    async def __call__(self, url: str, *, etag: str | None, last_modified: str | None,
                       headers: tuple[tuple[str, str], ...], user_agent: str | None,
                       proxy: str | None = None, allow: tuple[Network, ...] = ()) -> Fetched | NotModified: ...


@dataclass
class PollReport:
    feed: str
    outcome: PollOutcome
    next_poll_at: datetime
    new: int = 0
    updated: int = 0
    matches: int = 0
    matched: dict[str, int] = field(default_factory=dict)  # matches by alert rule (for metrics)
    fact_changes: list[str] = field(default_factory=list)
    alerts: int = 0
    error: str | None = None
    warning: str | None = None
    cut: int = 0                  # entries past the limit per poll, not read
    # (rule or "fact signal N", item id, pattern) for each pattern that ran out of time on an item
    slow: list[tuple[str, int, str]] = field(default_factory=list)


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
                                 user_agent=feed.user_agent, proxy=feed.proxy.reveal() if feed.proxy else None,
                                 allow=feed.allow_addresses)
    except FetchError as exc:
        return await _failed(svc, feed, now, row.error_streak + 1 if row else 1, f"fetch: {exc}", exc.kind,
                             retry_after=exc.retry_after, gone=exc.kind == "gone", status=exc.status,
                             fetch_seconds=exc.elapsed)

    # nothing new to parse: the last body's hints (its <ttl>) still hold unless the server sent new ones
    kept_hint = result.max_age if result.max_age is not None else (row.server_hint_s if row else None)
    if isinstance(result, NotModified):
        plan = await svc.store.call(_record_reached, feed, PollOutcome.NOT_MODIFIED, now, kept_hint,
                                    svc.policy, http_status=304, moved_to=result.moved_to,
                                    fetch_seconds=result.elapsed)
        return PollReport(feed.name, PollOutcome.NOT_MODIFIED, plan.at)

    body_hash = hashlib.sha256(result.body).hexdigest()[:32]
    if row is not None and row.first_success_at is not None and row.body_hash == body_hash:
        # the server ignored our validators but sent the same bytes: nothing to parse
        plan = await svc.store.call(_record_reached, feed, PollOutcome.UNCHANGED, now, kept_hint,
                                    svc.policy, http_status=200, moved_to=result.moved_to, etag=result.etag,
                                    last_modified=result.last_modified, body_hash=body_hash,
                                    fetch_seconds=result.elapsed)
        return PollReport(feed.name, PollOutcome.UNCHANGED, plan.at)

    try:
        parsed = await svc.parse(result.body, result.url, result.content_type)
    except ParseError as exc:
        return await _failed(svc, feed, now, row.error_streak + 1 if row else 1, f"parse: {exc}", "parse",
                             status=200, fetch_seconds=result.elapsed)

    report = await svc.store.call(_commit_poll, ruleset, feed, parsed, result, body_hash, now, svc.policy)
    report.warning = "; ".join(w for w in (parsed.cut_note, parsed.warning) if w) or None
    report.cut = parsed.cut
    return report


async def _failed(svc: Services, feed: Feed, now: datetime, streak: int, error: str, kind: str, *,
                  retry_after: float | None = None, gone: bool = False, status: int | None = None,
                  fetch_seconds: float | None = None) -> PollReport:
    plan = polling.next_failure(feed.name, feed.cadence, streak, now, policy=svc.policy, retry_after=retry_after,
                                gone=gone)
    outcome = PollOutcome.GONE if gone else PollOutcome.ERROR
    await svc.store.call(feeds.record_poll, feed.name, outcome=outcome, now=now, next_poll_at=plan.at,
                         error=error, error_kind=kind, interval=plan.interval, interval_reason=plan.reason,
                         http_status=status, fetch_seconds=fetch_seconds)
    return PollReport(feed.name, outcome, plan.at, error=error)


def _plan_success(db: Database, feed: Feed, now: datetime, hint: float | None,
                  policy: polling.PollPolicy) -> polling.NextPoll:
    """The next poll after a success; an adaptive feed's rate comes from its stored items."""
    published = items.publication_times(db, feed.name) if feed.adaptive else ()
    return polling.next_success(feed.name, feed.cadence, now, published=published, server_hint=hint, policy=policy)


def _record_reached(db: Database, feed: Feed, outcome: PollOutcome, now: datetime, hint: float | None,
                    policy: polling.PollPolicy, **recorded: Any) -> polling.NextPoll:
    """A poll that reached the server and found nothing to parse: plan the next one, record both."""
    plan = _plan_success(db, feed, now, hint, policy)
    feeds.record_poll(db, feed.name, outcome=outcome, now=now, next_poll_at=plan.at, reached=True,
                      interval=plan.interval, interval_reason=plan.reason, server_hint=hint, **recorded)
    return plan


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
    """Insert the poll's items; the database says which are new and which changed. A feed's
    first poll is its backlog: those items alert and move facts only when recent enough
    (``feed.backlog``). Updated items may alert (rules with ``updates: true``); facts move on
    new items only."""
    row = feeds.feed_row(db, feed.name)
    backlog = row is None or row.first_success_at is None
    new, updated = items.record_items(db, feed.name, parsed.items, now, backlog=backlog)
    alertable = [s for s in new if not backlog or _young(s, now, feed.backlog.alerts)] + updated
    evidence = [s for s in new if not backlog or _young(s, now, feed.backlog.facts)]
    return _Fresh(new, updated, alertable, evidence)


@dataclass
class FactStep:
    """What weighing the facts recorded: changes and new notices, by their ids."""

    changes: dict[int, FactChange] = field(default_factory=dict)
    notices: dict[int, FactNotice] = field(default_factory=dict)


def _update_facts(db: Database, ruleset: Ruleset, evidence: list[StoredItem], now: datetime,
                  slow: list[tuple[str, StoredItem, str]] | None = None) -> FactStep:
    """Read what the new items say about facts, weigh it together with the evidence still in
    each fact's window, and record the outcome (observations, changes, notices)."""
    step = FactStep()
    new = observe(ruleset.facts, evidence, ruleset.index, slow=slow)
    states = ledger.known_facts(db)
    # only facts with something to weigh need their window read: new reports, or pending ones
    # whose last verdict may no longer hold (the fact moved, the rules changed, a report expired)
    weighed = {o.fact for o in new} | observations.facts_to_recheck(db, now, states, ruleset.digest)
    stored = observations.live_observations(db, now, weighed) if weighed else []
    for verdict in weigh_all(ruleset.facts, states, stored, new, now, ruleset.digest):
        fact = ruleset.facts[verdict.fact]
        saved = observations.save_verdict(db, verdict, now, ruleset.digest, lambda o, f=fact: window(f, o))
        if saved.change_id is not None and saved.change is not None:
            step.changes[saved.change_id] = saved.change
        step.notices.update(saved.notices)
    observations.note_rechecks(db, _rechecks(ruleset, weighed, [*stored, *new], now), states, ruleset.digest)
    observations.close_expired_notices(db, now)
    return step


def _rechecks(ruleset: Ruleset, weighed: set[str], seen: list[Observation],
              now: datetime) -> dict[str, datetime | None]:
    """For each fact just weighed, the first moment one of its live observations leaves its
    window: until then, its verdict holds unless a new observation comes (``None``: none will
    leave, so only a new observation can change it)."""
    until: dict[str, datetime | None] = dict.fromkeys(f for f in weighed if f in ruleset.facts)
    for o in seen:
        fact = ruleset.facts.get(o.fact)
        if fact is None or o.fact not in until:
            continue
        leaves = expires(fact, o)
        earliest = until[o.fact]
        if leaves > now and (earliest is None or leaves < earliest):
            until[o.fact] = leaves
    return until


def _enqueue_alerts(db: Database, ruleset: Ruleset, matches: list[Match], changes: dict[int, FactChange],
                    now: datetime, notices: dict[int, FactNotice] | None = None) -> int:
    """Build the alerts and write them to the outbox; returns how many were new."""
    return enqueue_drafts(db, ruleset, build_alerts(ruleset, matches, changes, notices=notices), now)


def enqueue_drafts(db: Database, ruleset: Ruleset, drafts: Sequence[AlertDraft], now: datetime) -> int:
    """Write drafts to the outbox through noise control (``noise.route``: severity routing,
    silences, realert, digest windows); returns how many alerts were new. Suppressed deliveries
    are written too, with the reason."""
    active = silences.active(db, now)
    queued = 0
    for draft in drafts:
        if outbox.exists(db, draft.dedupe_key):
            continue
        rule = ruleset.alerts.get(draft.rule)
        realert = rule.realert if rule is not None else None
        last = None
        if realert is not None and draft.realert_key is not None:
            last = outbox.last_fired(db, draft.rule, draft.realert_key, now - timedelta(seconds=realert))
        digests = {}
        for name in draft.channels:
            channel = ruleset.channels.get(name)
            if channel is not None and channel.digest and draft.digest:
                opened = outbox.open_digest(db, name, now)
                if opened is not None:
                    digests[name] = opened
        routes = noise.route(draft, ruleset.channels, active, now, realert=realert, last=last, open_digests=digests)
        queued += outbox.enqueue(db, draft, now, fact_change_id=draft.extra.get("fact_change_id"),
                                 routes=routes) is not None
    return queued


def _commit_poll(db: Database, ruleset: Ruleset, feed: Feed, parsed: ParsedFeed, fetched: Fetched,
                 body_hash: str, now: datetime, policy: polling.PollPolicy) -> PollReport:
    """The poll's one transaction (runs on the database thread)."""
    hint = max(filter(None, (fetched.max_age, parsed.ttl)), default=None)
    with db.atomic():
        fresh = _store_items(db, feed, parsed, now)
        slow: list[tuple[str, StoredItem, str]] = []   # patterns that ran out of time: not matched
        matches = match_items(ruleset.item_rules, fresh.alertable, ruleset.index, slow=slow)
        facts = _update_facts(db, ruleset, fresh.evidence, now, slow)
        changes = facts.changes
        queued = _enqueue_alerts(db, ruleset, matches, changes, now, notices=facts.notices)
        outcome = PollOutcome.NEW if fresh.new else PollOutcome.UNCHANGED
        plan = _plan_success(db, feed, now, hint, policy)
        feeds.record_poll(db, feed.name, outcome=outcome, now=now, next_poll_at=plan.at, reached=True,
                          parsed=True, found_new=bool(fresh.new), etag=fetched.etag,
                          last_modified=fetched.last_modified, body_hash=body_hash, interval=plan.interval,
                          interval_reason=plan.reason, server_hint=hint, http_status=200,
                          moved_to=fetched.moved_to, fetch_seconds=fetched.elapsed,
                          items=(len(parsed.items) + parsed.cut, parsed.cut))
    for change in changes.values():
        event(log, logging.INFO, "fact changed", fact=change.fact, old=change.old, new=change.new,
              feed=feed.name, evidence=len(change.evidence), sources=change.sources)
    for notice in facts.notices.values():
        event(log, logging.INFO, f"fact {notice.kind}", fact=notice.fact, current=notice.current,
              claims=", ".join(f"{v} ({n})" for v, n in notice.values), feed=feed.name)
    return PollReport(feed.name, outcome, plan.at, new=len(fresh.new), updated=len(fresh.updated),
                      matches=len(matches), fact_changes=[c.fact for c in changes.values()], alerts=queued,
                      matched=dict(Counter(m.rule for m in matches)),
                      slow=[(rule, stored.id, pattern) for rule, stored, pattern in slow])
