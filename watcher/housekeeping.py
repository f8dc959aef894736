"""The daemon's periodic chores, in one background task:

- every ``heartbeat``: the database write probe behind ``/readyz`` (``Vitals.probe``);
- every minute: the feed-health sweep, so a feed whose polls have backed off for hours still
  raises its ``feed_down`` alert on time (``feedhealth.sweep``);
- every ``every`` seconds: retention, clearing the text of old items in small batches so polls
  are never held up for long (``store.upkeep.thin_items``).

A failing chore is logged and tried again next round; it never ends the daemon.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from . import feedhealth
from .errors import StoreError
from .logs import event
from .metrics import Metrics
from .ruleset import Ruleset
from .store import Store, upkeep
from .vitals import Vitals, sleep

log = logging.getLogger(__name__)

SWEEP_EVERY = 60.0
MAX_BATCHES = 10_000  # a retention pass thins at most this many batches of 500 items


class Housekeeper:
    def __init__(self, store: Store, vitals: Vitals, metrics: Metrics, clock: Callable[[], datetime],
                 ruleset: Callable[[], Ruleset | None], wake: Callable[[], None], *, keep_items: float,
                 every: float):
        self.store, self.vitals, self.metrics, self.clock = store, vitals, metrics, clock
        self.ruleset, self.wake = ruleset, wake
        self.keep_items, self.every = keep_items, every

    async def run(self, stop: asyncio.Event) -> None:
        last_sweep = last_retention = 0.0
        while not stop.is_set():
            await self.vitals.probe(self.store, self.clock())
            now = time.monotonic()
            try:
                if now - last_sweep >= SWEEP_EVERY:
                    last_sweep = now
                    await self.sweep()
                if self.keep_items > 0 and now - last_retention >= self.every:
                    last_retention = now
                    await self.thin_items(stop)
            except StoreError as exc:  # a full disk or read-only mount: the write probe reports it too
                event(log, logging.WARNING, "housekeeping waits for the state database", error=str(exc))
            except Exception:
                log.exception("housekeeping round failed; trying again next round")
            await sleep(stop, self.vitals.heartbeat)

    async def sweep(self) -> int:
        ruleset = self.ruleset()
        if ruleset is None:
            return 0
        queued = await self.store.call(feedhealth.sweep, ruleset, self.clock())
        self.metrics.feed_alerts(queued)
        if queued:
            self.wake()
        return queued

    async def thin_items(self, stop: asyncio.Event | None = None) -> int:
        """Retention: clear the text of items older than ``keep_items``; returns how many."""
        total = 0
        for _ in range(MAX_BATCHES):
            if stop is not None and stop.is_set():
                break
            count = await self.store.call(upkeep.thin_items, self.keep_items, self.clock())
            total += count
            if count == 0:
                break
        if total:
            event(log, logging.INFO, "retention: old items thinned", items=total)
        return total
