"""Is the daemon alive, and can it do its job? The answers behind ``/healthz`` and ``/readyz``.

- *alive*: the event loop turns. A task sets a pulse every second; a loop stalled by a
  blocking call stops pulsing, and ``/healthz`` (answered by the HTTP thread, not the loop)
  says so once the pulse is older than ``stall_after``.
- *database writable*: every ``heartbeat`` seconds the daemon writes one row through its own
  store thread (``store.upkeep.beat``): a full disk, a read-only mount or a wedged database
  thread shows up as a failed or stale probe.

Both are read from other threads: they only read two attributes, each replaced whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from .errors import StoreError
from .logs import event, redact
from .store import Store, upkeep
from .web import Check

log = logging.getLogger(__name__)


class Vitals:
    def __init__(self, heartbeat: float = 5.0, stall_after: float = 60.0):
        self.heartbeat = heartbeat
        self.stall_after = stall_after
        self._pulse_at: float | None = None                    # time.monotonic() of the last pulse
        self._probe: tuple[float, str | None] | None = None    # (monotonic, error) of the last write probe

    def alive(self) -> Check:
        pulse = self._pulse_at
        if pulse is None:
            return Check("event loop", False, "the daemon is not running")
        age = time.monotonic() - pulse
        return Check("event loop", age < self.stall_after, f"last pulse {age:.1f}s ago")

    def database(self) -> Check:
        probe = self._probe
        if probe is None:
            return Check("database", False, "not checked yet")
        at, error = probe
        age = time.monotonic() - at
        if error:
            return Check("database", False, redact(error))
        if age > max(30.0, 3 * self.heartbeat):
            return Check("database", False, f"not checked for {age:.0f}s")
        return Check("database", True, f"writable (checked {age:.1f}s ago)")

    async def pulse(self, stop: asyncio.Event) -> None:
        """Mark, until ``stop``, that the event loop turns."""
        while not stop.is_set():
            self._pulse_at = time.monotonic()
            await sleep(stop, min(1.0, self.heartbeat))

    def start(self) -> None:
        self._pulse_at = time.monotonic()

    async def probe(self, store: Store, now: datetime) -> None:
        """One write through the store's thread, bounded in time; the result feeds ``database``."""
        try:
            await asyncio.wait_for(store.call(upkeep.beat, now), timeout=max(5.0, self.heartbeat))
            error = None
        except TimeoutError:
            error = "the database did not answer a write within the time limit"
        except StoreError as exc:  # a full disk, a read-only mount: the message says which and what to do
            error = str(exc)
        except Exception as exc:  # sqlite3 errors, a full disk, a read-only mount
            error = f"cannot write to the state database: {exc}"
        if error and (self._probe is None or self._probe[1] is None):
            event(log, logging.ERROR, "database write probe failed", error=error)
        elif not error and self._probe is not None and self._probe[1] is not None:
            event(log, logging.INFO, "database writable again")
        self._probe = (time.monotonic(), error)


async def sleep(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when ``stop`` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
