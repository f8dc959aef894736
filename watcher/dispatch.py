"""The dispatcher: sends what the outbox holds, retries with backoff, and never sends twice.

Each channel is drained by its own task, so a channel that is slow, throttled or down never
holds up another channel or the loop that starts them. Within a channel:

1. the due deliveries are read, oldest alert first (a failed delivery waiting for its retry
   holds back the later ones, so a channel receives its alerts in order);
2. ``noise.plan_batch`` decides what is silenced, inhibited or held for quiet hours, and groups
   the rest into messages (one per alert, or digests);
3. each message goes to each service of the channel that does not have it yet: the deliveries
   are marked "sending", apprise is called, and the answer is recorded at once;
4. a failure is retried with exponential backoff (``RetryPolicy``); a delivery still failing
   ``give_up`` after its alert was written is dead: `watcher alerts --failed` shows it and
   `watcher alerts retry` revives it.

Crash safety: rows are written before anything is sent, so nothing is lost. A message can be
sent twice only if the process dies after apprise handed it over and before the answer is
recorded (milliseconds); the "sending" mark left behind is found at the next start
(``recover``), logged as a possible duplicate, and the delivery is sent again.

When the state database cannot be written (a full disk, a read-only mount), nothing is sent
(the "sending" mark cannot be written) and a channel tries again after a pause that grows to
a minute. An answer that cannot be recorded is kept and recorded once the database takes
writes again, so the message is not sent a second time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Callable, Mapping, Sequence

from . import noise
from .alerts import digest_message
from .deliver import Channels, Service
from .errors import StoreError
from .logs import event
from .models import Message, SendResult
from .ruleset.compiled import Fact
from .store import Store, outbox, silences
from .templates import escape_markdown

log = logging.getLogger(__name__)

MAX_ROUNDS = 20  # batches one channel task sends before it yields to a fresh look at the outbox
STORE_PAUSE = (1.0, 60.0)  # first and longest pause of a channel while the database takes no writes


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
    sent: int = 0          # deliveries
    failed: int = 0        # deliveries that will be retried
    dead: int = 0
    suppressed: int = 0
    held: int = 0          # quiet hours
    messages: int = 0      # messages handed to apprise successfully (a digest is one)


class Dispatcher:
    def __init__(self, store: Store, channels: Callable[[], Channels], clock: Callable[[], datetime],
                 policy: RetryPolicy = RetryPolicy(), facts: Callable[[], Mapping[str, Fact]] = dict):
        self.store = store
        self.channels = channels          # the current channels (they change on reload)
        self.facts = facts                # the current facts: their stages, for ``_with_skipped``
        self.clock = clock
        self.policy = policy
        self.totals = DispatchReport()    # since start, for the daemon's loop
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task] = {}
        self._store_failures = 0          # store failures in a row (a pause grows with them)

    def wake(self) -> None:
        self._wake.set()

    async def recover(self) -> int:
        """At start: sends a crash interrupted are logged and left due, to be sent again."""
        rows = await self.store.call(outbox.recover_interrupted, self.clock())
        for row in rows:
            event(log, logging.WARNING, "send interrupted by a stop; sending again (it may arrive twice)",
                  delivery=row["id"], alert=row["alert_id"], channel=row["channel"], since=row["sending_at"])
        return len(rows)

    async def deliver_due(self, now: datetime | None = None) -> DispatchReport:
        """Send everything due at ``now``: channels in parallel, in order within each; returns when done."""
        now = now or self.clock()
        names = await self.store.call(outbox.due_channels, now)
        report = DispatchReport()
        await asyncio.gather(*(self._drain(name, report, now) for name in names))
        return report

    async def _drain(self, name: str, report: DispatchReport, now: datetime | None = None) -> None:
        for _ in range(MAX_ROUNDS):
            at = now or self.clock()
            rows = await self.store.call(outbox.due, at, channel=name)
            if not rows or not await self._round(name, rows, report, at):
                return

    async def _round(self, name: str, rows: list[outbox.Due], report: DispatchReport, now: datetime) -> bool:
        """One batch of a channel; ``False`` when the channel should stop for now (a failure, or
        nothing left to do)."""
        channels = self.channels()
        active = await self.store.call(silences.active, now)
        plan = noise.plan_batch(rows, channels.spec(name), name, active, now)
        if plan.suppressed:
            await self.store.call(outbox.suppress, plan.suppressed, now)
            report.suppressed += len(plan.suppressed)
            for row in rows:
                if row.id in plan.suppressed:
                    event(log, logging.INFO, "delivery suppressed", alert=row.alert_id, rule=row.rule, channel=name,
                          reason=plan.suppressed[row.id])
        if plan.held:
            await self.store.call(outbox.hold, plan.held)
            report.held += len(plan.held)
            event(log, logging.INFO, "deliveries held for quiet hours", channel=name, count=len(plan.held),
                  until=min(u for u, _ in plan.held.values()).isoformat(timespec="minutes"))
        services = channels.services(name)
        for message_rows in plan.messages:
            message_rows = [await self._with_skipped(name, row) for row in message_rows]
            if not await self._send(name, message_rows, services, channels, report):
                return False
        return bool(plan.messages or plan.suppressed)

    async def _with_skipped(self, name: str, row: outbox.Due) -> outbox.Due:
        """A fact change that jumped over stages since the last change this channel was sent (an
        inhibited alert, a silenced one, or stages the fact skipped) says which, as it is sent."""
        fact = self.facts().get(row.fact or "") if row.kind == "fact" and row.stage is not None else None
        if fact is None or not fact.ordered:
            return row
        heard = await self.store.call(outbox.heard, name, row.alert_id)
        note = noise.skipped_note(fact, heard.told, heard.old, heard.new) if heard is not None else None
        if note is None:
            return row
        return dataclasses.replace(row, body=f"{row.body}\n\n{escape_markdown(note)}", text=f"{row.text}\n\n{note}")

    async def _send(self, name: str, rows: Sequence[outbox.Due], services: list[Service], channels: Channels,
                    report: DispatchReport) -> bool:
        """One message (an alert or a digest) to every service of the channel that lacks it."""
        if not services:
            await self._failed(name, rows, f'no channel "{name}" in the current rules', None, report)
            return False
        keys = [s.key for s in services]
        sent: set[int] = set()
        failure: tuple[str, float | None] | None = None
        for service in services:
            todo = [r for r in rows if service.key not in r.done]
            if not todo:
                continue
            message = digest_message([Message(r.title, r.body, r.text, r.severity) for r in todo])
            ids = [r.id for r in todo]
            await self.store.call(outbox.mark_sending, ids, self.clock())
            result = await channels.deliver(name, service, message)
            sent.update(await self._settle(name, ids, service, result, keys))
            if result.ok:
                report.messages += 1
                event(log, logging.INFO, "alert sent", alert=",".join(str(r.alert_id) for r in todo),
                      rule=todo[0].rule if len(todo) == 1 else None, channel=name,
                      service=service.target if len(services) > 1 else None)
            else:
                failure = (f"{service.target}: {result.detail}" if len(services) > 1 else result.detail,
                           result.retry_after)
        report.sent += len(sent)
        if failure is None:
            return True
        await self._failed(name, [r for r in rows if r.id not in sent], failure[0], failure[1], report)
        return False

    async def _settle(self, name: str, ids: list[int], service: Service, result: SendResult,
                      keys: list[str]) -> list[int]:
        """Record a service's answer. While the database takes no writes the answer is kept and
        recorded when it does: sending again would duplicate a message that arrived. (A stop in
        the meantime leaves the "sending" mark: ``recover`` finds it at the next start.)"""
        pause = STORE_PAUSE[0]
        while True:
            try:
                return await self.store.call(outbox.settle, ids, service.key, service.target, result, self.clock(),
                                             keys)
            except StoreError as exc:
                event(log, logging.ERROR, "cannot record a send's answer; trying again (the message is not sent "
                      "again)", channel=name, delivery=",".join(map(str, ids)), retry_in=pause, error=str(exc))
                await asyncio.sleep(pause)
                pause = min(STORE_PAUSE[1], pause * 2)

    async def _failed(self, name: str, rows: Sequence[outbox.Due], error: str, retry_after: float | None,
                      report: DispatchReport) -> None:
        now = self.clock()
        spec = self.channels().spec(name)
        policy = self.policy
        if spec is not None and spec.give_up is not None:
            policy = dataclasses.replace(policy, give_up=spec.give_up)
        retries = [(r.id, policy.next_attempt(r.created_at, r.attempts + 1, now, retry_after)) for r in rows]
        await self.store.call(outbox.fail, retries, now, error)
        for row, (_, retry_at) in zip(rows, retries, strict=True):
            if retry_at is None:
                report.dead += 1
                event(log, logging.ERROR, "delivery dead", alert=row.alert_id, rule=row.rule, channel=name,
                      attempts=row.attempts + 1, error=error)
            else:
                report.failed += 1
        pending = [t for _, t in retries if t is not None]
        if pending:
            event(log, logging.WARNING, "delivery failed", alert=",".join(str(r.alert_id) for r in rows),
                  channel=name, attempts=max(r.attempts for r in rows) + 1,
                  retry_at=min(pending).isoformat(timespec="seconds"), error=error)

    # -- the daemon's loop ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, idle: float = 30.0, drain: float = 10.0) -> None:
        """Until ``stop``: start a task for each channel with something due; sleep until the next
        delivery is due, the pipeline queues alerts, or a channel task finishes."""
        while not stop.is_set():
            self._wake.clear()
            timeout = idle
            try:
                for name in await self.store.call(outbox.due_channels, self.clock()):
                    if name not in self._tasks:
                        self._start(name)
                next_at = await self.store.call(outbox.next_due_at, list(self._tasks), self.clock())
                if next_at is not None:
                    timeout = min(idle, max(0.05, (next_at - self.clock()).total_seconds()))
            except StoreError as exc:
                self._store_failures += 1
                timeout = self._store_pause()
                if self._store_failures == 1:
                    event(log, logging.ERROR, "delivery waits for the state database", error=str(exc))
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("dispatch round failed; retrying")
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
        await self._stop_tasks(drain)

    def _start(self, name: str) -> None:
        task = asyncio.create_task(self._channel_task(name), name=f"deliver-{name}")
        self._tasks[name] = task

        def finished(_: asyncio.Task) -> None:
            self._tasks.pop(name, None)
            self._wake.set()
        task.add_done_callback(finished)

    async def _channel_task(self, name: str) -> None:
        try:
            await self._drain(name, self.totals)
        except StoreError as exc:
            # nothing was sent (the "sending" mark could not be written): the outbox still holds it
            self._store_failures += 1
            pause = self._store_pause()
            event(log, logging.ERROR, "delivery paused: the state database takes no writes", channel=name,
                  retry_in=pause, error=str(exc))
            await asyncio.sleep(pause)
        except Exception:
            log.exception("delivery to channel %s failed; trying again shortly", name)
            await asyncio.sleep(1.0)  # a broken database or channel must not spin the loop
        else:
            self._store_failures = 0

    def _store_pause(self) -> float:
        first, longest = STORE_PAUSE
        return min(longest, first * 2 ** min(self._store_failures - 1, 10))

    async def _stop_tasks(self, drain: float) -> None:
        """Let sends in flight finish (up to ``drain`` seconds), then cancel the rest: a send cut
        off here is found by ``recover`` at the next start and sent again."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=drain)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
