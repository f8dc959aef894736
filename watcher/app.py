"""``Watcher``: wiring and lifecycle. No signals here, so a test can start and stop it in-process.

    watcher = Watcher(Settings(rules=Path("rules"), db=Path("state/watcher.db")))
    await watcher.open()            # state, rules, fetcher, parse pool, channels
    await watcher.check_all()       # one pass over every feed, then deliver (`watcher check`)
    await watcher.run(stop_event)   # the daemon: scheduler + dispatcher + rule reloads until stop
    await watcher.close()

The rule set is swapped whole on reload; a reload that fails keeps the last good rules.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO
from collections.abc import Callable

from . import polling
from .deliver import Channels, check_url
from .dispatch import Dispatcher, DispatchReport, RetryPolicy
from .errors import RuleError, WatcherError
from .fetch import FetchLimits, Fetcher
from .logs import event, register_secret
from .models import PollOutcome
from .parsepool import ParsePool
from .pipeline import PollReport, Services, check_feed
from .ruleset import Ruleset, load_rules
from .scheduler import FeedScheduler
from .store import StateLock, Store, feeds, ledger
from .timefmt import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """Run-time settings (from flags and environment variables; rules live in rule files)."""

    rules: Path = Path("rules")
    db: Path = Path("state/watcher.db")
    parse_workers: int = 2            # 0: parse in a thread instead of worker processes
    check_concurrency: int = 20       # feeds polled at once by `watcher check`
    drain_timeout: float = 10.0       # seconds to let polls in flight finish on stop
    watch_rules: bool = True          # reload when a rule file changes
    fetch: FetchLimits = field(default_factory=FetchLimits)
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
        self._parser = ParsePool(settings.parse_workers)
        self._scheduler: FeedScheduler | None = None
        self.dispatcher: Dispatcher | None = None

    # -- rules ---------------------------------------------------------------------------------

    def load_rules(self) -> tuple[Ruleset, Channels]:
        """Load, validate and compile the rule files; raises ``RuleError`` listing every problem."""
        ruleset = load_rules(self.settings.rules, check_url=check_url)
        for channel in ruleset.channels.values():
            register_secret(channel.url.reveal())
        for value in os.environ.values():  # values that fed a channel URL are secrets too
            if any(value and value in c.url.reveal() for c in ruleset.channels.values()):
                register_secret(value)
        return ruleset, Channels(ruleset.channels, console=self.console)

    async def _apply(self, ruleset: Ruleset, channels: Channels) -> None:
        assert self.store is not None
        now = self.clock()
        await self.store.call(feeds.sync_feeds, {f.name: f.url for f in ruleset.feeds.values()}, now)
        for change in await self.store.call(ledger.sync_known, {f.name: f.known for f in ruleset.facts.values()},
                                            now, ruleset.digest):
            event(log, logging.INFO, "fact set from the rule file", fact=change.fact, old=change.old or None,
                  new=change.new, note=change.note)
        self.ruleset, self._channels = ruleset, channels

    async def reload(self) -> bool:
        """Load the rules again; on any problem keep running the last good set and say why."""
        old = self.ruleset
        try:
            ruleset, channels = self.load_rules()
        except WatcherError as exc:
            self.last_reload_ok, self.last_reload_error = False, str(exc)
            event(log, logging.ERROR, "rule reload failed; keeping the last good rules",
                  rules=old.digest if old else None, problems=str(exc))
            return False
        await self._apply(ruleset, channels)
        self.last_reload_ok, self.last_reload_error = True, None
        diff = _diff(old, ruleset)
        if self._scheduler is not None:
            jobs = self._scheduler.sync(*await self._schedule_plan(ruleset))
            diff.update({f"feeds_{k}": len(v) for k, v in jobs.items()})
        event(log, logging.INFO, "rules reloaded", rules=ruleset.digest, **diff)
        return True

    # -- lifecycle -------------------------------------------------------------------------------

    async def open(self, *, lock: bool = True) -> None:
        """Open state and rules. Raises ``RuleError`` or ``StoreError`` (e.g. another daemon's lock)."""
        ruleset, channels = self.load_rules()
        if lock:
            self._lock.acquire()
        try:
            self.store = Store(self.settings.db)
            await self._apply(ruleset, channels)
        except BaseException:
            self._lock.release()
            raise
        self._fetcher = Fetcher(self.settings.fetch)
        self.dispatcher = Dispatcher(self.store, self.channels, self.clock, self.settings.retry)
        event(log, logging.INFO, "watcher ready", rules=ruleset.summary(), db=str(self.settings.db))

    def channels(self) -> Channels:
        assert self._channels is not None
        return self._channels

    async def close(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
        self._parser.close()
        if self.store is not None:
            self.store.close()
            self.store = None
        self._lock.release()

    def _services(self) -> Services:
        assert self.store is not None and self._fetcher is not None
        return Services(self.store, self._fetcher.fetch, self._parser.parse, self.settings.poll)

    async def poll(self, name: str) -> datetime | None:
        """Poll one feed of the current rules now; returns when to poll it next."""
        ruleset = self.ruleset
        if ruleset is None or name not in ruleset.feeds:
            return None
        started = self.clock()
        report = await check_feed(self._services(), ruleset, ruleset.feeds[name], started)
        _log_poll(report, (self.clock() - started).total_seconds())
        if report.alerts and self.dispatcher is not None:
            self.dispatcher.wake()
        return report.next_poll_at

    async def check_all(self) -> tuple[list[PollReport], DispatchReport]:
        """One pass over every feed (bounded concurrency), then deliver what is due."""
        assert self.ruleset is not None and self.dispatcher is not None
        ruleset = self.ruleset
        limit = asyncio.Semaphore(self.settings.check_concurrency)

        async def one(name: str) -> PollReport:
            async with limit:
                started = self.clock()
                report = await check_feed(self._services(), ruleset, ruleset.feeds[name], started)
                _log_poll(report, (self.clock() - started).total_seconds())
                return report

        reports = list(await asyncio.gather(*(one(name) for name in ruleset.feeds)))
        return reports, await self.dispatcher.deliver_due()

    async def _schedule_plan(self, ruleset: Ruleset) -> tuple[dict[str, float], dict[str, datetime]]:
        """Intervals and first run times: from each feed's stored next poll, so a restart neither
        re-polls everything at once nor skips a feed for a whole interval."""
        assert self.store is not None
        now = self.clock()
        rows = {r.name: r for r in await self.store.call(feeds.feed_rows)}
        intervals, first = {}, {}
        for name, feed in ruleset.feeds.items():
            intervals[name] = feed.interval
            row = rows.get(name)
            when = row.next_poll_at if row else None
            if when is not None and row is not None and row.last_poll_at is not None and row.error_streak == 0:
                when = min(when, row.last_poll_at + timedelta(seconds=feed.interval))
            if when is None or when <= now:
                when = polling.first_poll(name, feed.interval, now)
            first[name] = when
        return intervals, first

    async def run(self, stop: asyncio.Event) -> None:
        """The daemon: poll on schedule, deliver, reload on rule changes, until ``stop`` is set."""
        assert self.ruleset is not None and self.dispatcher is not None
        self._scheduler = FeedScheduler(self.poll)
        self._scheduler.start()
        self._scheduler.sync(*await self._schedule_plan(self.ruleset))
        tasks = [asyncio.create_task(self.dispatcher.run(stop), name="dispatcher")]
        if self.settings.watch_rules:
            tasks.append(asyncio.create_task(self._watch_rules(stop), name="rules-watch"))
        event(log, logging.INFO, "daemon running", feeds=len(self.ruleset.feeds))
        await stop.wait()
        event(log, logging.INFO, "stopping")
        cut = await self._scheduler.shutdown(self.settings.drain_timeout)
        done, pending = await asyncio.wait(tasks, timeout=self.settings.drain_timeout)
        for task in pending:
            task.cancel()
        event(log, logging.INFO, "stopped", polls_cut_off=cut)

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


def _diff(old: Ruleset | None, new: Ruleset) -> dict[str, str]:
    """What a reload added, removed and changed, by name (``facts_changed=us-aid-package``)."""
    if old is None:
        return {}
    return {key: ",".join(names[:20]) + (f",... ({len(names)} in all)" if len(names) > 20 else "")
            for key, names in new.diff(old).items()}


def _log_poll(report: PollReport, duration: float) -> None:
    level = logging.WARNING if report.outcome in (PollOutcome.ERROR, PollOutcome.GONE) else logging.INFO
    event(log, level, "poll", feed=report.feed, outcome=report.outcome.value, new=report.new or None,
          updated=report.updated or None, matches=report.matches or None, alerts=report.alerts or None,
          facts=",".join(report.fact_changes) or None, error=report.error, warning=report.warning,
          duration=duration, next=report.next_poll_at.isoformat(timespec="seconds"))


__all__ = ["RuleError", "Settings", "Watcher"]
