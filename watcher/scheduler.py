"""One APScheduler job per feed; each run decides the time of the next one.

Jobs use an interval trigger (the feed's interval) as a safety net, and every run sets the
job's next run time to what the poll decided (backoff, server hints, jitter), which is also
stored on the feed row. ``coalesce`` and ``max_instances=1`` mean a feed is never polled twice
at once and a stalled loop does not cause a burst of catch-up polls; the misfire grace is
explicit (APScheduler's default of 1 s would silently drop runs after any stall).

On reload ``sync`` diffs the wanted feeds against the jobs: new feeds get a job, removed feeds
lose theirs, feeds whose interval changed are rescheduled, and the others are not touched
(replacing a job would restart its clock).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, UTC
from collections.abc import Awaitable, Callable, Mapping

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .logs import event

log = logging.getLogger(__name__)

PollFn = Callable[[str], Awaitable["datetime | None"]]


class FeedScheduler:
    def __init__(self, poll: PollFn, *, misfire_grace: float = 300.0):
        self._poll = poll
        self._intervals: dict[str, float] = {}
        self._inflight: set[asyncio.Task] = set()
        self._sched = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": int(misfire_grace)})

    @property
    def running(self) -> bool:
        return bool(self._sched.running)

    def start(self) -> None:
        """Start inside the running event loop."""
        self._sched.start()

    def sync(self, intervals: Mapping[str, float], next_at: Mapping[str, datetime]) -> dict[str, list[str]]:
        """Make the jobs follow ``intervals`` (feed -> seconds); ``next_at`` gives first run times."""
        added, removed, changed = [], [], []
        for name in list(self._intervals):
            if name not in intervals:
                try:
                    self._sched.remove_job(_job_id(name))
                except JobLookupError:
                    pass
                del self._intervals[name]
                removed.append(name)
        for name, interval in intervals.items():
            old = self._intervals.get(name)
            if old is None:
                self._sched.add_job(self._run, IntervalTrigger(seconds=max(1, interval), timezone=UTC),
                                    args=[name], id=_job_id(name), name=name, next_run_time=next_at[name],
                                    replace_existing=True)
                added.append(name)
            elif old != interval:
                job = self._sched.get_job(_job_id(name))
                if job is not None:
                    when = job.next_run_time
                    job.reschedule(IntervalTrigger(seconds=max(1, interval), timezone=UTC))
                    # keep the pending run if it comes sooner than a whole new interval
                    if when is not None:
                        job.modify(next_run_time=min(when, next_at.get(name, when)))
                changed.append(name)
            self._intervals[name] = interval
        return {"added": added, "removed": removed, "rescheduled": changed}

    def next_run(self, name: str) -> datetime | None:
        job = self._sched.get_job(_job_id(name))
        return job.next_run_time if job is not None else None

    async def _run(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            next_at = await self._poll(name)
        except Exception:
            log.exception("poll crashed feed=%s", name)
            return
        finally:
            if task is not None:
                self._inflight.discard(task)
        if next_at is not None and name in self._intervals:
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


def _job_id(name: str) -> str:
    return f"feed:{name}"
