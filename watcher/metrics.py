"""Prometheus metrics; the only module importing prometheus_client.

Two kinds of series:
- counters and the fetch histogram, fed by the daemon as polls, deliveries and reloads end
  (``Metrics.poll``, ``fetched``, ``parsed``, ``dispatched``, ``reloaded``); they start at zero
  with each process, as Prometheus expects of counters;
- gauges read from the state database at scrape time (``StateCollector``): feed health, the
  outbox, stored alerts and deliveries, fact values, pending observations. They are true
  after a restart and cost nothing between scrapes.

Each ``Metrics`` has its own registry, so several daemons (or tests) in one process never share
series. Labels are feed, rule and fact names from the rule files, never URLs or secrets.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from .store import Database
from .store import feeds as feed_table
from .store import status as state
from .timefmt import parse_iso, utcnow

if TYPE_CHECKING:
    from .dispatch import DispatchReport
    from .pipeline import PollReport

log = logging.getLogger(__name__)
disable_created_metrics()  # no `_created` series beside every counter: they double the output for nothing

CONTENT_TYPE = CONTENT_TYPE_LATEST
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, db_path: Path | None = None, clock: Callable[[], datetime] | None = None):
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("watcher_polls", "Feed polls by outcome (new, unchanged, not_modified, error, gone).",
                             ["feed", "outcome"], registry=r)
        self.fetch_seconds = Histogram("watcher_fetch_seconds", "Time to fetch a feed (request to last byte), "
                                       "failed fetches included.", ["feed"], buckets=FETCH_BUCKETS, registry=r)
        self.items_seen = Counter("watcher_items_seen", "Items read from fetched feed documents.", ["feed"],
                                  registry=r)
        self.items_new = Counter("watcher_items_new", "Items never seen before.", ["feed"], registry=r)
        self.matches = Counter("watcher_rule_matches", "New items matched by an item alert rule.", ["rule"],
                               registry=r)
        self.fact_changes = Counter("watcher_fact_changes", "Fact changes recorded from feed items.", ["fact"],
                                    registry=r)
        self.alerts_queued = Counter("watcher_alerts_queued", "Alerts written to the outbox.", ["source"],
                                     registry=r)
        self.deliveries = Counter("watcher_delivery_attempts", "Delivery attempts by result (sent, failed, dead).",
                                  ["result"], registry=r)
        self.reloads = Counter("watcher_rule_reloads", "Rule reloads by result (ok, error).", ["result"],
                               registry=r)
        self.reload_ok = Gauge("watcher_rules_last_reload_success", "1 if the last rule load or reload worked, "
                               "else 0 (the previous rules keep running).", registry=r)
        self.reload_time = Gauge("watcher_rules_last_reload_timestamp_seconds", "When the rules were last "
                                 "loaded or a reload was tried.", registry=r)
        for result in ("ok", "error"):
            self.reloads.labels(result)
        for result in ("sent", "failed", "dead"):
            self.deliveries.labels(result)
        if db_path is not None:
            self.registry.register(StateCollector(db_path, clock or utcnow))

    # -- fed by the daemon ------------------------------------------------------------------------

    def poll(self, report: PollReport) -> None:
        self.polls.labels(report.feed, report.outcome.value).inc()
        if report.new:
            self.items_new.labels(report.feed).inc(report.new)
        for rule, count in getattr(report, "matched", {}).items():
            self.matches.labels(rule).inc(count)
        for fact in report.fact_changes:
            self.fact_changes.labels(fact).inc()
        if report.alerts:
            self.alerts_queued.labels("poll").inc(report.alerts)

    def fetched(self, feed: str, seconds: float) -> None:
        self.fetch_seconds.labels(feed).observe(seconds)

    def parsed(self, feed: str, items: int) -> None:
        self.items_seen.labels(feed).inc(items)

    def feed_alerts(self, count: int) -> None:
        if count:
            self.alerts_queued.labels("feed_health").inc(count)

    def dispatched(self, report: DispatchReport) -> None:
        for result in ("sent", "failed", "dead"):
            if getattr(report, result):
                self.deliveries.labels(result).inc(getattr(report, result))

    def reloaded(self, ok: bool, when: datetime) -> None:
        self.reloads.labels("ok" if ok else "error").inc()
        self.reload_ok.set(1 if ok else 0)
        self.reload_time.set(when.timestamp())

    def forget_feeds(self, names: list[str]) -> None:
        """Drop the series of feeds removed from the rules, so they do not linger."""
        for name in names:
            for metric in (self.fetch_seconds, self.items_seen, self.items_new):
                try:
                    metric.remove(name)
                except KeyError:
                    pass
            for outcome in ("new", "unchanged", "not_modified", "error", "gone"):
                try:
                    self.polls.remove(name, outcome)
                except KeyError:
                    pass

    def render(self) -> bytes:
        return generate_latest(self.registry)


class StateCollector(Collector):
    """Gauges read from the state database on every scrape, through a read-only connection."""

    def __init__(self, db_path: Path, clock: Callable[[], datetime]):
        self.db_path = db_path
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # series depend on the database; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        readable = GaugeMetricFamily("watcher_state_readable", "1 if the state database could be read for "
                                     "this scrape.")
        try:
            db = state.open_readonly(self.db_path)
        except sqlite3.Error as exc:
            log.warning("metrics: cannot read the state database (%s)", exc)
            readable.add_metric([], 0)
            yield readable
            return
        try:
            families = list(self._families(db))
        except sqlite3.Error as exc:
            log.warning("metrics: cannot read the state database (%s)", exc)
            readable.add_metric([], 0)
            yield readable
            return
        finally:
            db.conn.close()
        readable.add_metric([], 1)
        yield readable
        yield from families

    def _families(self, db: Database) -> Iterator[Metric]:
        now = self.clock()
        rows = feed_table.feed_rows(db)
        down = state.open_outages(db)
        success = GaugeMetricFamily("watcher_feed_last_success_timestamp_seconds",
                                    "Last poll that reached the feed (200 or 304).", labels=["feed"])
        streak = GaugeMetricFamily("watcher_feed_error_streak", "Failed polls in a row.", labels=["feed"])
        next_poll = GaugeMetricFamily("watcher_feed_next_poll_timestamp_seconds", "When the feed is polled next.",
                                      labels=["feed"])
        is_down = GaugeMetricFamily("watcher_feed_down", "1 while the feed is failing (an open outage).",
                                    labels=["feed"])
        for row in rows:
            if row.last_success_at is not None:
                success.add_metric([row.name], row.last_success_at.timestamp())
            if row.next_poll_at is not None:
                next_poll.add_metric([row.name], row.next_poll_at.timestamp())
            streak.add_metric([row.name], row.error_streak)
            is_down.add_metric([row.name], 1 if row.name in down else 0)
        yield from (success, streak, next_poll, is_down)

        box = state.outbox_stats(db, now)
        deliveries = GaugeMetricFamily("watcher_deliveries", "Stored deliveries by state.", labels=["state"])
        for name in ("pending", "failed", "sent", "dead", "suppressed"):
            deliveries.add_metric([name], box["deliveries"].get(name, 0))
        alerts = GaugeMetricFamily("watcher_alerts", "Stored alerts by kind.", labels=["kind"])
        for kind, count in sorted(box["alerts"].items()):
            alerts.add_metric([kind], count)
        yield deliveries
        yield alerts
        yield GaugeMetricFamily("watcher_outbox_depth", "Deliveries waiting to be sent (pending or failed).",
                                value=box["depth"])
        yield GaugeMetricFamily("watcher_outbox_oldest_age_seconds", "Age of the oldest delivery waiting to "
                                "be sent (0 when none waits).", value=box["oldest_age"])

        values = GaugeMetricFamily("watcher_fact_value", "1 for each fact's current value.",
                                   labels=["fact", "value"])
        since = GaugeMetricFamily("watcher_fact_since_timestamp_seconds", "When each fact took its value.",
                                  labels=["fact"])
        for fact in db.query("SELECT name, value, since_at FROM facts ORDER BY name"):
            values.add_metric([fact["name"], fact["value"]], 1)
            since.add_metric([fact["name"]], parse_iso(fact["since_at"]).timestamp())  # type: ignore[union-attr]
        yield values
        yield since

        family = GaugeMetricFamily("watcher_pending_observations", "Reports waiting for corroboration.",
                                   labels=["fact"])
        for fact, rows_ in sorted(state.pending_observations(db).items()):
            family.add_metric([fact], len(rows_))
        yield family

        beat = state.heartbeat(db)
        if beat is not None:
            yield GaugeMetricFamily("watcher_heartbeat_timestamp_seconds", "Last time the daemon proved the "
                                    "database writable.", value=beat.timestamp())

