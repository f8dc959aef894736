"""``Watcher``: wiring and lifecycle. No signals here, so a test can start and stop it in-process.

    watcher = Watcher(Settings(rules=Path("rules"), db=Path("state/watcher.db")))
    await watcher.open()            # state, rules, fetcher, parse pool, channels
    await watcher.check_all()       # one pass over every feed, then deliver (`watcher check`)
    await watcher.run(stop_event)   # the daemon: scheduler + dispatcher + rule reloads until stop
    await watcher.close()

The rule set is swapped whole on reload; a reload that fails keeps the last good rules.

While it runs, the daemon also keeps its ``vitals`` (a pulse of the event loop and a database
write probe, behind ``alive`` and ``ready``), serves the HTTP endpoint (``web``) when
``Settings.http`` is set, runs its ``housekeeping`` (feed-health sweep, retention), records
feed outages after each poll (``feedhealth``), and counts what it does (``metrics``). Stopping is bounded: polls in
flight get ``drain_timeout`` seconds to commit, then whatever is left is cancelled (a poll's
transaction is all or nothing, so a cancelled poll is simply polled again next time).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from collections.abc import Callable, Collection

from . import __version__, feedhealth, polling
from .addresses import Network
from .deliver import Channels, SendThreads, check_config, check_url
from .dispatch import Dispatcher, DispatchReport, RetryPolicy
from .errors import Problem, RuleError, StoreError, WatcherError
from .fetch import FetchLimits, Fetcher
from .logs import event, redact, register_secret
from .metrics import CONTENT_TYPE, Metrics
from .models import ParsedFeed, PollOutcome
from .parsepool import ParsePool
from .pipeline import PollReport, Services, check_feed
from .ruleset import Ruleset, load_rules
from .ruleset.load import emptied_files, file_sizes
from .scheduler import FeedScheduler, JobSpec
from .store import Database, StateLock, Store, feeds, ledger
from .text.patterns import BUDGET
from .timefmt import utcnow
from .housekeeping import Housekeeper
from .vitals import Vitals
from .web import Check, Hooks, StatusServer

log = logging.getLogger(__name__)


# watcher's own settings from the environment: never secrets, though a channel URL may well
# contain one (an address allowed with WATCHER_ALLOW_ADDRESSES), which must not be masked
SETTING_VARIABLES = frozenset({"WATCHER_RULES", "WATCHER_DB", "WATCHER_ALLOW_ADDRESSES", "WATCHER_HTTP",
                               "WATCHER_LOG_LEVEL", "WATCHER_LOG_FORMAT", "WATCHER_KEEP_ITEMS",
                               "WATCHER_DRAIN_TIMEOUT"})


@dataclass(frozen=True)
class Settings:
    """Run-time settings (from flags and environment variables; rules live in rule files)."""

    rules: Path = Path("rules")
    db: Path = Path("state/watcher.db")
    parse_workers: int = 2            # 0: parse in a thread instead of worker processes
    parse_timeout: float = 60.0       # seconds one parse may take before its worker is killed
    check_concurrency: int = 20       # feeds polled at once by `watcher check`
    drain_timeout: float = 10.0       # seconds to let polls in flight finish on stop
    watch_rules: bool = True          # reload when a rule file changes
    http: tuple[str, int] | None = None  # where to serve /healthz, /metrics, the status page (None: off)
    heartbeat: float = 5.0            # seconds between pulses and database write probes
    stall_after: float = 60.0         # /healthz fails when the event loop has not turned for this long
    keep_items: float = 0.0           # seconds before old items' text is cleared (0: keep forever)
    upkeep_every: float = 3600.0      # seconds between retention passes
    fetch: FetchLimits = field(default_factory=FetchLimits)
    # networks every feed may be fetched from besides public addresses (--allow-addresses); none
    # by default: loopback, private and link-local addresses are refused (see ``addresses``)
    allow_addresses: tuple[Network, ...] = ()
    poll: polling.PollPolicy = field(default_factory=polling.PollPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class Watcher:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow,
                 console: TextIO | None = None):
        self.settings = settings
        self.clock = clock
        self.console = console
        self.store: Store | None = None
        self.ruleset: Ruleset | None = None
        self.last_reload_ok = True
        self.last_reload_error: str | None = None
        self._channels: Channels | None = None
        self._lock = StateLock(settings.db)
        self._fetcher: Fetcher | None = None
        self._parser = ParsePool(settings.parse_workers, settings.parse_timeout)
        self._scheduler: FeedScheduler | None = None
        self._send_threads = SendThreads()  # one per channel, kept across reloads
        self.dispatcher: Dispatcher | None = None
        self.metrics = Metrics(settings.db, clock)
        self.http: StatusServer | None = None
        self.vitals = Vitals(settings.heartbeat, settings.stall_after)
        self._reloading = asyncio.Lock()
        self._rule_files: dict[Path, int] = {}   # size of each rule file at the last good load

    # -- rules ---------------------------------------------------------------------------------

    def load_rules(self, channels: bool | Collection[str] = True) -> tuple[Ruleset, Channels]:
        """Load, validate and compile the rule files; raises ``RuleError`` listing every problem.
        ``channels``: the channels whose secrets a command needs (see ``ruleset.load_rules``); the
        returned ``Channels`` has only those."""
        ruleset = load_rules(self.settings.rules, check_url=check_url, check_config=check_config, channels=channels)
        for channel in ruleset.channels.values():
            register_secret(channel.url.reveal())
        # values that fed a channel URL, a feed's proxy or a feed's header are secrets too
        carriers = [c.url.reveal() for c in ruleset.channels.values()]
        carriers += [f.proxy.reveal() for f in ruleset.feeds.values() if f.proxy is not None]
        carriers += [value for f in ruleset.feeds.values() for _, value in f.headers]
        for name, value in os.environ.items():
            if value and name not in SETTING_VARIABLES and any(value in carrier for carrier in carriers):
                register_secret(value)
        for feed in ruleset.feeds.values():
            if feed.proxy is not None:
                register_secret(feed.proxy.reveal())
        senders = Channels(ruleset.channels, console=self.console, threads=self._send_threads)
        register_secret(*senders.secrets())  # and every URL of apprise config files, with its parts
        return ruleset, senders

    def _load_settled(self) -> tuple[Ruleset, Channels]:
        """``load_rules`` for a reload, refusing while a file that had rules is empty: an editor
        or `cat > file` empties a file before writing it again, and applying that moment would
        drop every feed and rule of the file until the write is done."""
        emptied = emptied_files(self._rule_files, file_sizes(self.settings.rules))
        ruleset, channels = self.load_rules()
        sizes = file_sizes(self.settings.rules)
        emptied = emptied or emptied_files(self._rule_files, sizes)
        if emptied:
            raise RuleError([Problem(name, 1, 1, "the file is empty now but had rules (is it being saved?); "
                                                 "to drop its rules, delete the file") for name in emptied])
        self._rule_files = sizes
        return ruleset, channels

    async def _apply(self, ruleset: Ruleset, channels: Channels) -> None:
        assert self.store is not None
        now = self.clock()
        await self.store.call(feeds.sync_feeds, {f.name: f.url for f in ruleset.feeds.values()}, now)
        for change in await self.store.call(ledger.sync_known, {f.name: f.known for f in ruleset.facts.values()},
                                            now, ruleset.digest):
            event(log, logging.INFO, "fact set from the rule file", fact=change.fact, old=change.old or None,
                  new=change.new, note=change.note)
        for warning in ruleset.warnings:  # loaded anyway; `watcher validate` explains the same
            event(log, logging.WARNING, "rule warning", problem=str(warning))
        self.ruleset, self._channels = ruleset, channels

    async def reload(self) -> bool:
        """Load the rules again; on any problem keep running the last good set and say why.

        Reloads run one at a time (a SIGHUP during a file-change reload waits for it), and the
        files are read and compiled in a thread: a big rule folder takes seconds to parse, and
        polls, deliveries and /healthz go on meanwhile."""
        async with self._reloading:
            return await self._reload()

    async def _reload(self) -> bool:
        old = self.ruleset
        try:
            ruleset, channels = await asyncio.to_thread(self._load_settled)
        except WatcherError as exc:
            self.last_reload_ok, self.last_reload_error = False, str(exc)
            self.metrics.reloaded(False, self.clock())
            event(log, logging.ERROR, "rule reload failed; keeping the last good rules",
                  rules=old.digest if old else None, problems=str(exc))
            return False
        await self._apply(ruleset, channels)
        self.last_reload_ok, self.last_reload_error = True, None
        self.metrics.reloaded(True, self.clock())
        if old is not None:
            self.metrics.forget_feeds(sorted(set(old.feeds) - set(ruleset.feeds)))
        diff = _diff(old, ruleset)
        if self._scheduler is not None:
            jobs = self._scheduler.sync(await self._schedule_plan(ruleset, old))
            diff.update({f"feeds_{k}": len(v) for k, v in jobs.items()})
        event(log, logging.INFO, "rules reloaded", rules=ruleset.digest, **diff)
        return True

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self, *, lock: bool = True) -> None:
        """Open state and rules. Raises ``RuleError`` or ``StoreError`` (e.g. another daemon's lock)."""
        ruleset, channels = self.load_rules()
        self._rule_files = file_sizes(self.settings.rules)
        if lock:
            self._lock.acquire()
        try:
            self.store = Store(self.settings.db)
            await self._apply(ruleset, channels)
        except BaseException:
            self._lock.release()
            raise
        self._fetcher = Fetcher(self.settings.fetch, allowed=self.settings.allow_addresses)
        self._fetcher.remember(await self.store.call(_last_fetch_seconds, ruleset))
        self.dispatcher = _CountingDispatcher(self.store, self.channels, self.clock, self.settings.retry,
                                              facts=lambda: self.ruleset.facts if self.ruleset else {},
                                              metrics=self.metrics)
        self.metrics.reloaded(True, self.clock())
        if lock:  # with the lock held no other process is sending: a "sending" mark is a crash's
            await self.dispatcher.recover()
        event(log, logging.INFO, "watcher ready", rules=ruleset.summary(), db=str(self.settings.db))

    def channels(self) -> Channels:
        assert self._channels is not None
        return self._channels

    async def close(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
        self._parser.close()
        self._send_threads.close()
        if self.store is not None:
            self.store.close()
            self.store = None
        self._lock.release()

    def _services(self, feed: str | None = None) -> Services:
        """The pipeline's services; with ``feed``, fetch and parse are timed and counted for it."""
        assert self.store is not None and self._fetcher is not None
        fetch, parse = self._fetcher.fetch, self._parser.parse
        if feed is None:
            return Services(self.store, fetch, parse, self.settings.poll)
        metrics = self.metrics

        async def timed_fetch(url: str, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fetch(url, **kwargs)
            finally:
                metrics.fetched(feed, time.perf_counter() - started)

        async def counted_parse(body: bytes, url: str, content_type: str) -> ParsedFeed:
            parsed = await parse(body, url, content_type)
            metrics.parsed(feed, len(parsed.items))
            return parsed

        return Services(self.store, timed_fetch, counted_parse, self.settings.poll)

    async def _poll_once(self, ruleset: Ruleset, name: str) -> PollReport:
        """One poll and what follows it: log, count, feed health, wake the dispatcher."""
        assert self.store is not None
        started = self.clock()
        report = await check_feed(self._services(name), ruleset, ruleset.feeds[name], started)
        _log_poll(report, (self.clock() - started).total_seconds())
        _log_slow(report)
        self.metrics.poll(report)
        queued = 0
        try:
            queued = await self.store.call(feedhealth.after_poll, ruleset, name, report.outcome, report.error,
                                           self.clock())
        except StoreError as exc:  # the poll is recorded; its outage bookkeeping waits for the next one
            event(log, logging.ERROR, "feed health not updated", feed=name, error=str(exc))
        except Exception:  # feed health must never cost a poll
            log.exception("feed health update failed feed=%s", name)
        self.metrics.feed_alerts(queued)
        if (report.alerts or queued) and self.dispatcher is not None:
            self.dispatcher.wake()
        return report

    async def poll(self, name: str) -> datetime | None:
        """Poll one feed of the current rules now; returns when to poll it next."""
        ruleset = self.ruleset
        if ruleset is None or name not in ruleset.feeds:
            return None
        try:
            report = await self._poll_once(ruleset, name)
        except StoreError as exc:
            # nothing of the poll was recorded (its transaction rolled back): its items are new
            # again next time, which is the feed's next run on its interval
            event(log, logging.ERROR, "poll not recorded; the feed is polled again at its next run", feed=name,
                  error=str(exc))
            return None
        return report.next_poll_at

    async def check_all(self) -> tuple[list[PollReport], DispatchReport]:
        """One pass over every feed (bounded concurrency), then deliver what is due."""
        assert self.ruleset is not None and self.dispatcher is not None
        ruleset = self.ruleset
        limit = asyncio.Semaphore(self.settings.check_concurrency)

        async def one(name: str) -> PollReport:
            async with limit:
                return await self._poll_once(ruleset, name)

        reports = list(await asyncio.gather(*(one(name) for name in ruleset.feeds)))
        return reports, await self.dispatcher.deliver_due()

    async def _schedule_plan(self, ruleset: Ruleset, old: Ruleset | None = None) -> dict[str, JobSpec]:
        """Each feed's job: its interval, and its first run from the feed's row (``polling.resume_at``),
        so a restart neither re-polls everything at once nor skips a feed for a whole interval. A
        feed whose address changed in a reload is polled soon, as if new."""
        assert self.store is not None
        now = self.clock()
        rows = {r.name: r for r in await self.store.call(feeds.feed_rows)}
        plan = {}
        for name, feed in ruleset.feeds.items():
            row = rows.get(name)
            if row is None or (old is not None and name in old.feeds and old.feeds[name].url != feed.url):
                row = feeds.FeedRow(name, feed.url)  # as if never polled
            first = polling.resume_at(name, feed.cadence, now, next_poll_at=row.next_poll_at,
                                      last_poll_at=row.last_poll_at, failing=row.failing,
                                      stored_interval=row.interval_s, server_hint=row.server_hint_s,
                                      policy=self.settings.poll)
            plan[name] = JobSpec(feed.interval, first, (feed.cadence, feed.url))
        return plan

    async def run(self, stop: asyncio.Event) -> None:
        """The daemon: poll on schedule, deliver, reload on rule changes, until ``stop`` is set.

        After ``stop`` it returns within about ``drain_timeout`` seconds: no new poll starts,
        polls in flight and the delivery round in progress get that long to finish.
        """
        assert self.ruleset is not None and self.dispatcher is not None and self.store is not None
        self.vitals.start()
        await self.vitals.probe(self.store, self.clock())
        self._start_http()  # first: a taken port fails the start before anything is polled
        tasks: list[asyncio.Task] = []
        try:
            self._scheduler = FeedScheduler(self.poll)
            self._scheduler.start()
            self._scheduler.sync(await self._schedule_plan(self.ruleset))
            drain = max(1.0, self.settings.drain_timeout - 1)  # sends in flight finish within the stop's drain
            tasks += [asyncio.create_task(self.dispatcher.run(stop, drain=drain), name="dispatcher"),
                      asyncio.create_task(self.vitals.pulse(stop), name="pulse"),
                      asyncio.create_task(self.housekeeper().run(stop), name="housekeeping")]
            if self.settings.watch_rules:
                tasks.append(asyncio.create_task(self._watch_rules(stop), name="rules-watch"))
            event(log, logging.INFO, "daemon running", feeds=len(self.ruleset.feeds))
            await stop.wait()
            event(log, logging.INFO, "stopping", drain_timeout=self.settings.drain_timeout)
            deadline = time.monotonic() + self.settings.drain_timeout
            cut = await self._scheduler.shutdown(self.settings.drain_timeout)
            done, pending = await asyncio.wait(tasks, timeout=max(0.1, deadline - time.monotonic()))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
            event(log, logging.INFO, "stopped", polls_cut_off=cut, tasks_cut_off=len(pending) or None)
        finally:
            for task in tasks:
                task.cancel()
            await self._stop_http()

    # -- HTTP, health, readiness, housekeeping ------------------------------------------------------

    def _start_http(self) -> None:
        if self.settings.http is None:
            return
        hooks = Hooks(db_path=self.settings.db, alive=self.alive, ready=self.ready, ruleset=lambda: self.ruleset,
                      metrics=lambda: (self.metrics.render(), CONTENT_TYPE), clock=self.clock, version=__version__)
        try:
            self.http = StatusServer(self.settings.http, hooks)
        except OSError as exc:
            host, port = self.settings.http
            raise WatcherError(f"cannot serve HTTP on {host}:{port}: {exc.strerror}; choose another address "
                               "with --http HOST:PORT, or --http off") from None
        self.http.start()
        host, port = self.http.address
        event(log, logging.INFO, "http listening", address=f"{host}:{port}", url=self.http.url)

    async def _stop_http(self) -> None:
        if self.http is not None:
            await asyncio.to_thread(self.http.close)
            self.http = None

    def alive(self) -> Check:
        """Liveness (any thread): the event loop has turned recently."""
        return self.vitals.alive()

    def ready(self) -> list[Check]:
        """Readiness (any thread): rules loaded and the last reload ok, database writable, scheduler running."""
        ruleset = self.ruleset
        if ruleset is None:
            rules = Check("rules", False, "no rules loaded")
        elif not self.last_reload_ok:
            rules = Check("rules", False, redact(f"the last reload failed; still running rules {ruleset.digest}:\n"
                                                 f"{self.last_reload_error}"))
        else:
            rules = Check("rules", True, ruleset.summary())
        running = self.scheduler_running
        return [rules, self.vitals.database(), Check("scheduler", running, "running" if running else "stopped")]

    def housekeeper(self) -> Housekeeper:
        """The periodic chores: write probe, feed-health sweep, retention (see ``housekeeping``)."""
        assert self.store is not None
        return Housekeeper(self.store, self.vitals, self.metrics, self.clock, lambda: self.ruleset,
                           lambda: self.dispatcher.wake() if self.dispatcher else None,
                           keep_items=self.settings.keep_items, every=self.settings.upkeep_every)

    async def _watch_rules(self, stop: asyncio.Event) -> None:
        from watchfiles import DefaultFilter, awatch

        class RuleFiles(DefaultFilter):
            def __call__(self, change, path: str) -> bool:  # type: ignore[no-untyped-def]
                return super().__call__(change, path) and path.endswith((".yaml", ".yml"))

        try:
            async for _ in awatch(self.settings.rules, watch_filter=RuleFiles(), step=300, debounce=1600,
                                  stop_event=stop, recursive=True):
                await self.reload()
        except (OSError, RuntimeError) as exc:
            log.warning("cannot watch the rules folder for changes (%s); reload with SIGHUP", exc)

    @property
    def scheduler_running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running


class _CountingDispatcher(Dispatcher):
    """The dispatcher, counting each round's results in the metrics."""

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._metrics = metrics

    async def _drain(self, name: str, report: DispatchReport, now: datetime | None = None) -> None:
        # every path (one pass, the daemon's channel tasks) drains channels through here
        counted = DispatchReport()
        try:
            await super()._drain(name, counted, now)
        finally:
            for field in dataclasses.fields(DispatchReport):
                setattr(report, field.name, getattr(report, field.name) + getattr(counted, field.name))
            self._metrics.dispatched(counted)


def _diff(old: Ruleset | None, new: Ruleset) -> dict[str, str]:
    """What a reload added, removed and changed, by name (``facts_changed=us-aid-package``)."""
    if old is None:
        return {}
    return {key: ",".join(names[:20]) + (f",... ({len(names)} in all)" if len(names) > 20 else "")
            for key, names in new.diff(old).items()}


def _last_fetch_seconds(db: Database, ruleset: Ruleset) -> dict[str, float]:
    """How long the last fetch of each feed of the rules took, by address (runs on the database thread)."""
    return {ruleset.feeds[row.name].url: row.fetch_s for row in feeds.feed_rows(db)
            if row.fetch_s is not None and row.name in ruleset.feeds}


def _log_slow(report: PollReport) -> None:
    """One line per rule whose pattern ran out of time in this poll."""
    by_rule: dict[str, list[int]] = {}
    patterns: dict[str, str] = {}
    for rule, item, pattern in report.slow:
        by_rule.setdefault(rule, []).append(item)
        patterns[rule] = pattern
    for rule, items in by_rule.items():
        event(log, logging.WARNING, "rule too slow; the items are recorded as not matched by it", rule=rule,
              feed=report.feed, items=len(items), first_item=items[0], pattern=patterns[rule], budget=BUDGET)


def _log_poll(report: PollReport, duration: float) -> None:
    failed = report.outcome in (PollOutcome.ERROR, PollOutcome.GONE)
    level = logging.WARNING if failed or report.cut else logging.INFO
    event(log, level, "poll", feed=report.feed, outcome=report.outcome.value, new=report.new or None,
          cut=report.cut or None, updated=report.updated or None, matches=report.matches or None,
          alerts=report.alerts or None,
          facts=",".join(report.fact_changes) or None, error=report.error, warning=report.warning,
          duration=duration, next=report.next_poll_at.isoformat(timespec="seconds"))


__all__ = ["RuleError", "Settings", "Watcher"]
