"""When feeds are polled: pure functions, every time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watcher.polling import (MIN_INTERVAL, Cadence, PollPolicy, backoff, base_interval, land_on_phase, next_failure,
                             next_success, phase, publishing_interval, resume_at)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
POLICY = PollPolicy()


def wait_of(plan) -> float:
    return (plan.at - NOW).total_seconds()


def test_a_wait_is_never_longer_than_asked_and_shortened_by_at_most_the_spread():
    for i in range(200):
        wait = land_on_phase(900, NOW + timedelta(seconds=i * 37), phase(f"feed-{i}"), 0.25)
        assert 675 <= wait <= 900


def test_feeds_that_start_together_spread_over_the_interval_and_then_keep_their_interval():
    interval = 900.0
    names = [f"feed-{i}" for i in range(300)]
    times = dict.fromkeys(names, NOW)                  # a thousand new feeds all polled at once
    for _ in range(6):
        times = {n: next_success(n, Cadence(interval), t).at for n, t in times.items()}
    offsets = sorted(t.timestamp() % interval for t in times.values())
    # spread: every tenth of the interval holds some feeds, none holds more than twice its share
    buckets = [sum(1 for o in offsets if k * 90 <= o < (k + 1) * 90) for k in range(10)]
    assert min(buckets) > 0 and max(buckets) < 2 * len(names) / 10
    # settled: once on its slot, a feed is polled exactly every interval
    steady = {n: next_success(n, Cadence(interval), t).at for n, t in times.items()}
    assert all((steady[n] - times[n]).total_seconds() == pytest.approx(interval) for n in names)


def test_server_hints_are_a_lower_bound_capped():
    plan = next_success("f", Cadence(600), NOW, server_hint=3600)
    assert plan.interval == 3600 and plan.reason == "server" and wait_of(plan) == 3600   # not cut short
    assert next_success("f", Cadence(600), NOW, server_hint=60).interval == 600     # never shorter
    assert next_success("f", Cadence(600), NOW, server_hint=10 ** 9).interval == POLICY.max_hint
    assert next_success("f", Cadence(600, max_interval=1800), NOW, server_hint=10 ** 9).interval == 1800


def test_publishing_interval_counts_the_quiet_time_since_the_last_item():
    hourly = [NOW - timedelta(hours=h) for h in range(1, 25)]
    assert publishing_interval(hourly, NOW, 7 * 86400) == pytest.approx(3600)
    assert publishing_interval([NOW - timedelta(days=30)], NOW, 7 * 86400) is None
    stopped = [t - timedelta(days=3) for t in hourly]       # same rate, but silent for three days
    assert publishing_interval(stopped, NOW, 7 * 86400) > 3 * 3600


def test_adaptive_interval_follows_the_publishing_rate_within_bounds():
    cadence = Cadence(1800, min_interval=300, max_interval=4 * 3600, adaptive=True)
    hourly = [NOW - timedelta(hours=h) for h in range(1, 25)]
    assert base_interval(cadence, NOW, hourly) == (1800, "adaptive")            # half the mean gap
    every_minute = [NOW - timedelta(minutes=m) for m in range(1, 200)]
    assert base_interval(cadence, NOW, every_minute)[0] == 300                   # the lower bound
    assert base_interval(cadence, NOW, [])[0] == 4 * 3600                        # quiet: the upper bound
    assert base_interval(Cadence(1800, adaptive=True), NOW, [])[0] == 4 * 1800   # default bounds
    assert base_interval(Cadence(1800), NOW, every_minute) == (1800, "rules")    # not adaptive
    busy = [NOW - timedelta(seconds=s) for s in range(1, 200)]
    assert base_interval(Cadence(2, adaptive=True), NOW, busy)[0] == MIN_INTERVAL  # never below the minimum
    for i in range(100):                                                          # spreading keeps the bound
        plan = next_success(f"f{i}", cadence, NOW + timedelta(seconds=i), published=every_minute)
        assert wait_of(plan) - i >= 300


def test_backoff_doubles_up_to_the_cap_and_stays_there():
    waits = [backoff(60, streak, policy=PollPolicy(max_backoff=3600)) for streak in range(1, 12)]
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600]
    assert backoff(60, 10 ** 6) == POLICY.max_backoff                            # no overflow, never gives up
    assert backoff(8 * 3600, 3) == 8 * 3600                                      # never below the interval
    plan = next_failure("f", Cadence(60), 3, NOW)
    assert plan.reason == "backoff" and plan.interval == 240 and 180 <= wait_of(plan) <= 240


def test_retry_after_is_a_lower_bound_and_gone_polls_at_the_cap():
    plan = next_failure("f", Cadence(60), 1, NOW, retry_after=7200)
    assert wait_of(plan) == 7200 and plan.reason == "retry-after"
    assert wait_of(next_failure("f", Cadence(60), 1, NOW, retry_after=10 ** 7)) == POLICY.max_retry_after
    assert next_failure("f", Cadence(60), 5, NOW, retry_after=1).reason == "backoff"
    gone = next_failure("f", Cadence(60), 1, NOW, gone=True)
    assert gone.reason == "gone" and gone.interval == POLICY.max_backoff


def test_resume_after_a_restart_follows_the_stored_row():
    cadence = Cadence(900)
    last = NOW - timedelta(minutes=5)
    stored = last + timedelta(minutes=14)
    # a healthy feed keeps its next poll
    assert resume_at("f", cadence, NOW, next_poll_at=stored, last_poll_at=last, failing=False) == stored
    # ... brought forward when the rules now want a shorter interval
    assert resume_at("f", Cadence(420), NOW, next_poll_at=stored, last_poll_at=last,
                     failing=False) == last + timedelta(seconds=420)
    # ... but not before what the server asked for
    hinted = last + timedelta(hours=2)
    assert resume_at("f", cadence, NOW, next_poll_at=hinted, last_poll_at=last, failing=False,
                     server_hint=7200) == hinted
    # a failing feed keeps its backoff even when it is longer than the interval
    backing_off = NOW + timedelta(hours=3)
    assert resume_at("f", cadence, NOW, next_poll_at=backing_off, last_poll_at=last, failing=True) == backing_off


def test_overdue_and_new_feeds_are_spread_after_a_restart_not_skipped():
    names = [f"feed-{i}" for i in range(500)]
    old = NOW - timedelta(hours=5)
    firsts = [resume_at(n, Cadence(900), NOW, next_poll_at=old, last_poll_at=old, failing=False) for n in names]
    offsets = [(t - NOW).total_seconds() for t in firsts]
    assert all(0 <= o < POLICY.restart_spread for o in offsets)      # none skipped for an interval
    assert max(offsets) - min(offsets) > 0.9 * POLICY.restart_spread  # spread, not a herd
    assert max(sum(1 for o in offsets if k <= o < k + 1) for k in range(60)) < 30
    never = resume_at("new", Cadence(20), NOW, next_poll_at=None, last_poll_at=None, failing=False)
    assert NOW <= never < NOW + timedelta(seconds=20)                 # within a short interval too
