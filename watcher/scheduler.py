"""One APScheduler job per feed; each run decides the time of the next one.

Every job has an interval trigger (the feed's interval) as a safety net, and every run sets the
job's next run time to what the poll decided (``polling``: server hints, adaptive rate,
spreading over the interval, backoff), which is also stored on the feed row so a restart picks
up where the last run left off. APScheduler's own jitter is not used: it only ever delays and
accumulates; ``polling`` spreads feeds instead.

- ``max_instances=1``: a feed is never polled twice at once (a run still going when the next is
  due makes APScheduler skip that one).
- ``coalesce=True``: a stalled loop (or a suspended machine) leads to one late poll per feed, not
  a burst of catch-up polls.
- ``misfire_grace_time`` is explicit and equals the feed's interval: a poll that is late by less
  than an interval still runs (once); APScheduler's default of 1 s would silently drop runs
  after any stall.

On reload ``sync`` diffs the wanted jobs against the running ones: new feeds get a job, removed
feeds lose theirs, feeds whose schedule changed (``JobSpec.version``) are rescheduled, and the
others are not touched at all (replacing a job would restart its clock).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .logs import event
from .polling import MIN_INTERVAL

log = logging.getLogger(__name__)

PollFn = Callable[[str], Awaitable["datetime | None"]]


@dataclass(frozen=True)
class JobSpec:
    """What one feed's job should be: its safety-net interval, when to run first (if the job is
    new or rescheduled), and a version: a job is only touched when its version changes."""

    interval: float
    first_run: datetime
    version: Hashable


class FeedScheduler:
    def __init__(self, poll: PollFn):
        self._poll = poll
        self._versions: dict[str, Hashable] = {}
        self._inflight: set[asyncio.Task] = set()
        self._sched = AsyncIOScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})

    @property
    def running(self) -> bool:
        return bool(self._sched.running)

    def start(self) -> None:
        """Start inside the running event loop."""
        self._sched.start()

    def sync(self, wanted: Mapping[str, JobSpec]) -> dict[str, list[str]]:
        """Make the jobs follow ``wanted`` (feed name -> JobSpec); returns what changed."""
        added, removed, changed = [], [], []
        for name in list(self._versions):
            if name not in wanted:
                try:
                    self._sched.remove_job(_job_id(name))
                except JobLookupError:
                    pass
                del self._versions[name]
                removed.append(name)
        for name, spec in wanted.items():
            if name not in self._versions:
                self._sched.add_job(self._run, _trigger(spec.interval), args=[name], id=_job_id(name), name=name,
                                    next_run_time=spec.first_run, misfire_grace_time=_grace(spec.interval),
                                    replace_existing=True)
                added.append(name)
            elif self._versions[name] != spec.version:
                job = self._sched.get_job(_job_id(name))
                if job is not None:
                    pending = job.next_run_time
                    job.modify(trigger=_trigger(spec.interval), misfire_grace_time=_grace(spec.interval),
                               next_run_time=min(pending, spec.first_run) if pending else spec.first_run)
                changed.append(name)
            self._versions[name] = spec.version
        return {"added": added, "removed": removed, "rescheduled": changed}

    def next_run(self, name: str) -> datetime | None:
        job = self._sched.get_job(_job_id(name))
        return job.next_run_time if job is not None else None

    def jobs(self) -> dict[str, datetime | None]:
        """Every feed's job and its next run time (for status pages and tests)."""
        return {job.name: job.next_run_time for job in self._sched.get_jobs()}

    async def _run(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            next_at = await self._poll(name)
        except asyncio.CancelledError:
            # cut off by a stop after the drain: its transaction never committed, so the next
            # start polls the feed again; a traceback here would only alarm the operator
            event(log, logging.WARNING, "poll cut off by the stop", feed=name)
            return
        except Exception:
            log.exception("poll crashed feed=%s", name)
            return
        finally:
            if task is not None:
                self._inflight.discard(task)
        if next_at is not None and name in self._versions:
            job = self._sched.get_job(_job_id(name))
            if job is not None:
                job.modify(next_run_time=next_at)

    async def shutdown(self, drain: float = 10.0) -> int:
        """Start no new poll, let running ones finish for up to ``drain`` seconds; returns how many
        were cut off. (APScheduler cancels running coroutine jobs on shutdown, hence the drain.)"""
        if not self._sched.running:
            return 0
        self._sched.pause()
        pending = set(self._inflight)
        if pending:
            event(log, logging.INFO, "waiting for polls in flight", count=len(pending), timeout=drain)
            _, pending = await asyncio.wait(pending, timeout=drain)
        self._sched.shutdown(wait=False)
        await asyncio.sleep(0)  # shutdown is applied on the next turn of the loop
        return len(pending)


def _trigger(interval: float) -> IntervalTrigger:
    return IntervalTrigger(seconds=max(MIN_INTERVAL, interval), timezone=UTC)


def _grace(interval: float) -> int:
    return max(1, int(interval))


def _job_id(name: str) -> str:
    return f"feed:{name}"
