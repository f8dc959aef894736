"""The dispatcher: sends what the outbox holds, retries with backoff, and never sends twice.

For each channel, deliveries go out in the order their alerts were written. A failed delivery
is retried with exponential backoff (``RetryPolicy``), and later alerts for the same channel
wait behind it so that a channel receives its alerts in order; other channels carry on. A
delivery still failing ``give_up`` after its alert was written is marked dead: visible in
`watcher alerts --failed` and revived with `watcher alerts retry`.

Crash safety: a delivery is marked sent right after apprise reports success. A crash between
those two steps is the one window where a message can be sent twice (it is retried after the
restart); nothing is ever lost, because rows are written before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Callable

from .deliver import Channels
from .logs import event
from .store import Store, outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    first: float = 10.0          # seconds before the first retry
    cap: float = 1800.0          # longest wait between retries
    give_up: float = 2 * 86400   # after this long since the alert was written, the delivery is dead

    def next_attempt(self, created_at: datetime, attempts: int, now: datetime,
                     retry_after: float | None = None) -> datetime | None:
        """When to try again after the ``attempts``-th failure, or ``None`` to give up."""
        if now - created_at >= timedelta(seconds=self.give_up):
            return None
        wait = min(self.cap, self.first * 2 ** min(max(attempts - 1, 0), 20))
        if retry_after is not None:
            wait = max(wait, retry_after)
        return now + timedelta(seconds=wait)


@dataclass
class DispatchReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0


class Dispatcher:
    def __init__(self, store: Store, channels: Callable[[], Channels], clock: Callable[[], datetime],
                 policy: RetryPolicy = RetryPolicy()):
        self.store = store
        self.channels = channels          # the current channels (they change on reload)
        self.clock = clock
        self.policy = policy
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def deliver_due(self, now: datetime | None = None) -> DispatchReport:
        """Send every delivery that is due, channel by channel in parallel, in order within one."""
        now = now or self.clock()
        due = await self.store.call(outbox.due, now)
        by_channel: dict[str, list[outbox.Due]] = {}
        for row in due:
            by_channel.setdefault(row.channel, []).append(row)
        report = DispatchReport()
        await asyncio.gather(*(self._channel(name, rows, report) for name, rows in by_channel.items()))
        return report

    async def _channel(self, name: str, rows: list[outbox.Due], report: DispatchReport) -> None:
        channels = self.channels()
        for row in rows:
            result = await channels.send(name, title=row.title, body=row.body, text=row.text, severity=row.severity)
            now = self.clock()
            if result.ok:
                await self.store.call(outbox.mark_sent, [row.id], now, result.detail)
                report.sent += 1
                event(log, logging.INFO, "alert sent", alert=row.alert_id, rule=row.rule, channel=name)
                continue
            retry_at = self.policy.next_attempt(row.created_at, row.attempts + 1, now, result.retry_after)
            await self.store.call(outbox.mark_failed, [row.id], now, result.detail, retry_at=retry_at)
            if retry_at is None:
                report.dead += 1
                event(log, logging.ERROR, "delivery dead", alert=row.alert_id, rule=row.rule, channel=name,
                      attempts=row.attempts + 1, error=result.detail)
                continue  # given up: the alerts behind it may go now
            report.failed += 1
            event(log, logging.WARNING, "delivery failed", alert=row.alert_id, rule=row.rule, channel=name,
                  attempts=row.attempts + 1, retry_at=retry_at.isoformat(timespec="seconds"), error=result.detail)
            return  # keep this channel's order: later alerts wait behind the failed one

    async def run(self, stop: asyncio.Event, *, idle: float = 30.0) -> None:
        """Deliver until ``stop`` is set; wakes when the pipeline queues alerts or a retry is due."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("dispatch round failed; retrying")
            next_at = await self.store.call(outbox.next_due_at)
            timeout = idle
            if next_at is not None:
                timeout = min(idle, max(0.05, (next_at - self.clock()).total_seconds()))
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
