"""When to poll a feed next. Pure: every input, the time included, is a parameter.

- **Interval.** Each feed has its own interval (``settings.interval`` by default). With
  ``adaptive: true`` the interval follows how often the feed actually publishes (half the mean
  gap between its items over the last week), kept within ``min_interval`` and ``max_interval``.
- **Server hints are a lower bound.** RSS ``<ttl>``, Cache-Control ``max-age`` and ``Expires``
  stretch the wait when they ask for more than the interval, up to ``max_interval`` (default:
  ``PollPolicy.max_hint``) so a bogus "cache for a year" cannot silence a feed. Spreading never
  cuts such a wait short, nor an adaptive one below ``min_interval``.
- **Spreading.** Every feed has a fixed *phase* in its cycle, derived from its name. A wait is
  shortened by up to ``PollPolicy.spread`` of itself so the poll lands on that phase: feeds that
  start together (a thousand new feeds, a restart) drift onto their own slots within a few polls
  and then stay spread evenly over the interval. A wait is never made longer, so a feed is never
  polled later than its interval. (APScheduler's own jitter only ever delays, and accumulates.)
- **Failures.** Exponential backoff from the interval (x2 per consecutive failure) up to
  ``max_backoff``; polling then continues at that cap for as long as it takes: a feed is never
  given up silently. ``Retry-After`` (429/503) is honoured as a lower bound. A feed that answered
  410 Gone is polled at the cap and shown as gone.
- **Restarts.** ``resume_at`` derives a feed's first poll after a start from what its row says:
  the stored next poll, brought forward if the rules now want it sooner; overdue feeds are
  spread over ``restart_spread`` seconds instead of all firing at once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# The shortest interval the rules may ask for (``interval``, ``min_interval``, ``max_interval``).
# One second is what a test against a server of one's own needs; a shorter (or zero) interval
# would have the scheduler fire a feed's job while its last poll still runs.
MIN_INTERVAL = 1.0


@dataclass(frozen=True)
class PollPolicy:
    max_hint: float = 6 * 3600        # server hints stretch an interval at most this far (unless max_interval)
    max_backoff: float = 6 * 3600     # failing feeds are retried at least this often
    spread: float = 0.25              # a wait may be shortened by this fraction to land on the feed's phase
    max_retry_after: float = 24 * 3600
    restart_spread: float = 60.0      # overdue feeds after a start are spread over this many seconds
    adaptive_window: float = 7 * 86400  # publishing rate is measured over this past window


@dataclass(frozen=True)
class Cadence:
    """A feed's scheduling settings, as the rules give them."""

    interval: float
    min_interval: float | None = None
    max_interval: float | None = None
    adaptive: bool = False

    @property
    def lowest(self) -> float:
        """The shortest wait an adaptive feed may get (default: a quarter of the interval, and
        never below ``MIN_INTERVAL``)."""
        return self.min_interval if self.min_interval is not None else max(self.interval / 4, MIN_INTERVAL)

    @property
    def highest(self) -> float:
        """The longest wait an adaptive feed may get (default: four times the interval)."""
        return self.max_interval if self.max_interval is not None else self.interval * 4


@dataclass(frozen=True)
class NextPoll:
    """When to poll next and why; ``interval`` (before spreading) is shown by `watcher feeds`."""

    at: datetime
    interval: float
    reason: str                       # rules, adaptive, server, backoff, retry-after, gone
    server_hint: float | None = None  # the server's lower bound, kept for the next start


def phase(name: str) -> float:
    """A feed's fixed position in its cycle, in [0, 1): a stable hash of its name."""
    return (zlib.crc32(name.encode("utf-8")) % 100_000) / 100_000


def land_on_phase(wait: float, now: datetime, slot: float, fraction: float) -> float:
    """Shorten ``wait`` by at most ``fraction`` of itself so the poll falls on the feed's slot.

    Slots are the times ``(k + slot) * wait`` seconds since the epoch. If the slot is within
    reach the poll lands on it; otherwise it moves ``fraction`` closer, so a feed reaches its
    slot within ``1 / fraction`` polls and then keeps a steady ``wait`` between polls.
    """
    if wait <= 0 or fraction <= 0:
        return max(wait, 0.0)
    target = now.timestamp() + wait
    late = ((target / wait) - slot) % 1.0   # how far past its slot the target falls, in cycles
    if late > 1 - 1e-9:                     # on the slot, up to rounding
        late = 0.0
    return wait - min(late, fraction) * wait


def publishing_interval(times: Iterable[datetime], now: datetime, window: float) -> float | None:
    """Mean gap between the feed's publications in the past ``window`` seconds, counting the
    quiet time since the newest one (a feed that stopped publishing slows down); ``None`` when
    fewer than two publications fall in the window."""
    start = now - timedelta(seconds=window)
    recent = sorted(t for t in times if start <= t <= now)
    if len(recent) < 2:
        return None
    return (now - recent[0]).total_seconds() / len(recent)


def base_interval(cadence: Cadence, now: datetime, published: Iterable[datetime] = (), *,
                  policy: PollPolicy = PollPolicy()) -> tuple[float, str]:
    """The interval before server hints: the rules' one, or the adaptive one."""
    if not cadence.adaptive:
        return cadence.interval, "rules"
    gap = publishing_interval(published, now, policy.adaptive_window)
    wanted = cadence.highest if gap is None else gap / 2
    return min(max(wanted, cadence.lowest), cadence.highest), "adaptive"


def with_hint(interval: float, hint: float | None, cadence: Cadence, policy: PollPolicy) -> tuple[float, bool]:
    """Raise ``interval`` to a server hint, capped; returns (wait, whether the hint decided)."""
    if hint is None or hint <= interval:
        return interval, False
    cap = cadence.max_interval if cadence.max_interval is not None else policy.max_hint
    wait = min(hint, max(cap, interval))
    return wait, wait > interval


def next_success(name: str, cadence: Cadence, now: datetime, *, published: Iterable[datetime] = (),
                 server_hint: float | None = None, policy: PollPolicy = PollPolicy()) -> NextPoll:
    """Next poll after a poll that reached the server (200 or 304)."""
    interval, reason = base_interval(cadence, now, published, policy=policy)
    wait, hinted = with_hint(interval, server_hint, cadence, policy)
    spread = land_on_phase(wait, now, phase(name), policy.spread)
    if hinted:
        spread = wait                        # the server's lower bound is never cut short
    elif cadence.adaptive:
        spread = max(spread, min(cadence.lowest, wait))  # nor is the user's
    return NextPoll(now + timedelta(seconds=spread), wait, "server" if hinted else reason, server_hint)


def backoff(interval: float, streak: int, *, policy: PollPolicy = PollPolicy()) -> float:
    """Seconds to wait after the ``streak``-th consecutive failure (1 = the first)."""
    exponent = min(max(streak - 1, 0), 32)
    return min(max(policy.max_backoff, interval), interval * (2 ** exponent))


def next_failure(name: str, cadence: Cadence, streak: int, now: datetime, *, policy: PollPolicy = PollPolicy(),
                 retry_after: float | None = None, gone: bool = False) -> NextPoll:
    """Next poll after a failed poll; ``streak`` counts this failure."""
    if gone:
        wait, reason = max(policy.max_backoff, cadence.interval), "gone"
    else:
        wait, reason = backoff(cadence.interval, streak, policy=policy), "backoff"
    spread = land_on_phase(wait, now, phase(name), policy.spread)
    asked = min(retry_after, policy.max_retry_after) if retry_after is not None else 0.0
    if asked > spread:
        spread = asked
        wait, reason = max(wait, asked), "retry-after"
    return NextPoll(now + timedelta(seconds=spread), wait, reason)


def resume_at(name: str, cadence: Cadence, now: datetime, *, next_poll_at: datetime | None,
              last_poll_at: datetime | None, failing: bool, stored_interval: float | None = None,
              server_hint: float | None = None, policy: PollPolicy = PollPolicy()) -> datetime:
    """A feed's first poll after the daemon starts, from what its row remembers.

    A never-polled feed is polled soon. A healthy feed keeps its stored next poll, brought
    forward to ``last poll + interval`` if the rules now ask for a shorter one. A failing feed
    keeps its stored next poll (backoff, Retry-After). An overdue feed is polled within
    ``restart_spread`` seconds (never later than its interval), at a point set by its phase.
    """
    window = min(policy.restart_spread, cadence.interval)
    soon = now + timedelta(seconds=phase(name) * window)
    if next_poll_at is None or last_poll_at is None:
        return soon
    when = next_poll_at
    if not failing:
        interval = cadence.interval
        if cadence.adaptive and stored_interval is not None:
            interval = min(max(stored_interval, cadence.lowest), cadence.highest)
        wait, _ = with_hint(interval, server_hint, cadence, policy)
        when = min(when, last_poll_at + timedelta(seconds=wait))
    return when if when > now else soon
