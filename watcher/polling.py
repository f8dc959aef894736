"""When to poll a feed next. Pure: every input, the time included, is a parameter.

- After a success: the feed's interval, raised to what the server asks for (Cache-Control
  max-age, Expires, RSS ``<ttl>``) but never beyond ``max_interval``, plus up to 10% jitter so
  feeds that started together drift apart.
- After a failure: exponential backoff from the interval (x2 per consecutive failure) up to
  ``max_backoff``, and polling continues at that cap for as long as it takes: a feed is never
  given up silently. A ``Retry-After`` is honoured as a lower bound.
- A feed that answered 410 Gone is polled at the cap too, and shown as gone.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PollPolicy:
    max_interval: float = 6 * 3600    # server hints never stretch an interval beyond this
    max_backoff: float = 6 * 3600     # failing feeds are retried at least this often
    jitter: float = 0.1               # fraction of the interval added at random
    max_retry_after: float = 24 * 3600


def next_success(interval: float, now: datetime, *, policy: PollPolicy = PollPolicy(),
                 server_hint: float | None = None, rng: random.Random | None = None) -> datetime:
    """Next poll after a poll that reached the server (200 or 304)."""
    wait = interval
    if server_hint is not None and server_hint > wait:
        wait = min(server_hint, max(policy.max_interval, interval))
    wait += (rng or random).uniform(0, policy.jitter * interval)
    return now + timedelta(seconds=wait)


def backoff(interval: float, streak: int, *, policy: PollPolicy = PollPolicy()) -> float:
    """Seconds to wait after the ``streak``-th consecutive failure (1 = the first)."""
    exponent = min(max(streak - 1, 0), 32)
    return min(policy.max_backoff, max(interval, interval * (2 ** exponent)))


def next_failure(interval: float, streak: int, now: datetime, *, policy: PollPolicy = PollPolicy(),
                 retry_after: float | None = None, gone: bool = False) -> datetime:
    """Next poll after a failed poll; ``streak`` counts this failure."""
    wait = policy.max_backoff if gone else backoff(interval, streak, policy=policy)
    if retry_after is not None:
        wait = max(wait, min(retry_after, policy.max_retry_after))
    return now + timedelta(seconds=wait)


def first_poll(name: str, interval: float, now: datetime, *, spread: float = 30.0) -> datetime:
    """When a never-polled feed is first polled: soon, spread by name over ``spread`` seconds
    (at most the interval) so a thousand new feeds do not start in the same second."""
    window = min(spread, interval)
    offset = (zlib.crc32(name.encode()) % 10_000) / 10_000 * window
    return now + timedelta(seconds=offset)
