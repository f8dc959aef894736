"""Feed health as alerts: a feed that fails for longer than a rule's ``feed_down`` fires it,
and the same rule fires again when the feed recovers.

    after each poll (on the database thread, in one transaction):
      failed   -> open or extend the feed's outage ─┐
      success  -> close its outage ─> "back" alerts │ for the rules that said "down"
    sweep (after polls and every minute): open outages past a rule's threshold ─> "down" alerts

An outage is one unbroken run of failed polls, stored in ``feed_outages`` (also shown on the
status page). The dedupe keys (``feed-down:<rule>:<outage>``, ``feed-up:<rule>:<outage>``)
make each alert fire once per outage however often this runs; the sweep means a feed whose
polls back off for hours still alerts on time.
"""

from __future__ import annotations

import logging
from datetime import datetime

from .alerts import feed_alerts
from .logs import event
from .models import AlertDraft, PollOutcome
from .ruleset.compiled import Ruleset
from .store import Database, outbox
from .store import outages as outage_table

log = logging.getLogger(__name__)

FAILED = (PollOutcome.ERROR, PollOutcome.GONE)


def after_poll(db: Database, ruleset: Ruleset, feed: str, outcome: PollOutcome, error: str | None,
               now: datetime) -> int:
    """Record the poll's effect on the feed's outage; returns how many alerts were queued."""
    with db.atomic():
        if outcome in FAILED:
            outage_table.record_failure(db, feed, now, error)
            return _sweep(db, ruleset, now, only=feed)
        ended = outage_table.record_success(db, feed, now)
        if ended is None:
            return 0
        event(log, logging.INFO, "feed recovered", feed=feed, failed_polls=ended.failed_polls,
              duration=(now - ended.started_at).total_seconds())
        rules = outage_table.alerted_rules(db, ended.id)
        return _enqueue(db, feed_alerts(ruleset, ended, now, recovered=True, rules=rules), now) if rules else 0


def sweep(db: Database, ruleset: Ruleset, now: datetime) -> int:
    """Fire "down" alerts for every open outage that has passed a rule's threshold."""
    with db.atomic():
        return _sweep(db, ruleset, now)


def _sweep(db: Database, ruleset: Ruleset, now: datetime, only: str | None = None) -> int:
    queued = 0
    for outage in outage_table.open_all(db):
        if (only is not None and outage.feed != only) or outage.feed not in ruleset.feeds:
            continue
        queued += _enqueue(db, feed_alerts(ruleset, outage, now), now)
    return queued


def _enqueue(db: Database, drafts: list[AlertDraft], now: datetime) -> int:
    queued = 0
    for draft in drafts:
        if outbox.enqueue(db, draft, now) is not None:
            queued += 1
            event(log, logging.WARNING if draft.dedupe_key.startswith("feed-down") else logging.INFO,
                  "feed health alert", rule=draft.rule, alert=draft.dedupe_key)
    return queued
