"""The schedule: one job per feed, hot reload that touches only what changed, restarts that
resume from the feed rows, and the real daemon polling on its own."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from conftest import LOOPBACK, write_rules
from servers import rss
from test_poll_cycle import START, Clock
from watcher.app import Settings, Watcher
from watcher.polling import PollPolicy
from watcher.scheduler import FeedScheduler, JobSpec
from watcher.store import feeds


async def _never(name: str) -> None:
    raise AssertionError(f"{name} was polled")


def test_sync_adds_removes_and_reschedules_only_what_changed():
    async def go():
        sched = FeedScheduler(_never)
        sched.start()
        later = datetime.now(UTC) + timedelta(hours=1)
        try:
            first = sched.sync({"a": JobSpec(900, later, "v1"), "b": JobSpec(900, later, "v1"),
                                "c": JobSpec(900, later, "v1")})
            assert first == {"added": ["a", "b", "c"], "removed": [], "rescheduled": []}
            job_a = sched._sched.get_job("feed:a")
            sooner = later - timedelta(minutes=30)
            second = sched.sync({"a": JobSpec(900, sooner, "v1"),       # same version: left alone
                                 "b": JobSpec(300, sooner, "v2"),       # changed: rescheduled
                                 "d": JobSpec(900, later, "v1")})       # new
            assert second == {"added": ["d"], "removed": ["c"], "rescheduled": ["b"]}
            assert sched._sched.get_job("feed:a") is job_a and sched.next_run("a") == later
            assert sched.next_run("b") == sooner
            assert sched._sched.get_job("feed:b").trigger.interval == timedelta(seconds=300)
            assert sched._sched.get_job("feed:b").misfire_grace_time == 300
            assert set(sched.jobs()) == {"a", "b", "d"}
            job = sched._sched.get_job("feed:a")
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 900)
        finally:
            await sched.shutdown(0)
    asyncio.run(go())


def _rules(folder, server, names, interval="1h"):
    write_rules(folder, "feeds:\n" + "".join(
        f"  {n}:\n    url: {server.url('/' + n)}\n    interval: {interval}\n" for n in names))


def test_a_restart_resumes_each_feed_from_its_row(tmp_path, feed_server):
    rules = tmp_path / "rules"
    rules.mkdir()
    _rules(rules, feed_server, ["ok", "failing", "fresh"])
    feed_server.set("/ok", rss([{"title": "x", "guid": "urn:1"}]))
    feed_server.set("/failing", "no", status=500)
    settings = Settings(allow_addresses=LOOPBACK, rules=rules, db=tmp_path / "w.db", parse_workers=0, watch_rules=False,
                        poll=PollPolicy(max_backoff=6 * 3600))
    clock = Clock()

    async def go():
        first = Watcher(settings, clock=clock)
        await first.open(lock=False)
        for _ in range(3):                                     # the failing feed backs off to 4h
            await first.poll("failing")
        await first.poll("ok")
        rows = {r.name: r for r in await first.store.call(feeds.feed_rows)}
        await first.close()

        clock.advance(600)                                     # down for ten minutes
        second = Watcher(settings, clock=clock)
        await second.open(lock=False)
        plan = await second._schedule_plan(second.ruleset)
        await second.close()
        return rows, plan

    rows, plan = asyncio.run(go())
    assert plan["ok"].first_run == rows["ok"].next_poll_at                 # not re-polled at once
    assert plan["failing"].first_run == rows["failing"].next_poll_at       # the backoff survives
    assert rows["failing"].next_poll_at - START >= timedelta(hours=3)        # longer than the interval
    assert clock.now <= plan["fresh"].first_run <= clock.now + timedelta(seconds=60)

    async def much_later():
        clock.advance(10 * 3600)                               # down for ten hours: all overdue
        third = Watcher(settings, clock=clock)
        await third.open(lock=False)
        plan = await third._schedule_plan(third.ruleset)
        await third.close()
        return plan

    plan = asyncio.run(much_later())
    for spec in plan.values():
        assert clock.now <= spec.first_run <= clock.now + timedelta(seconds=60)


def test_reload_adds_removes_and_reschedules_jobs(tmp_path, feed_server):
    rules = tmp_path / "rules"
    rules.mkdir()
    _rules(rules, feed_server, ["a", "b", "c"], interval="2h")
    for name in "abcd":
        feed_server.set(f"/{name}", rss([]))
    settings = Settings(allow_addresses=LOOPBACK, rules=rules, db=tmp_path / "w.db", parse_workers=0, watch_rules=False,
                        poll=PollPolicy(restart_spread=3600))

    async def go():
        watcher = Watcher(settings)
        await watcher.open(lock=False)
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        for _ in range(100):                                   # bounded wait for the scheduler
            if watcher.scheduler_running and watcher._scheduler.jobs():
                break
            await asyncio.sleep(0.05)
        before = watcher._scheduler.jobs()
        write_rules(rules, "feeds:\n"
                    f"  a:\n    url: {feed_server.url('/a')}\n    interval: 2h\n"
                    f"  b:\n    url: {feed_server.url('/b')}\n    interval: 10m\n"
                    f"  d:\n    url: {feed_server.url('/d')}\n    interval: 2h\n")
        assert await watcher.reload()
        after = watcher._scheduler.jobs()
        stop.set()
        await asyncio.wait_for(task, 30)
        await watcher.close()
        return before, after

    before, after = asyncio.run(go())
    assert set(before) == {"a", "b", "c"} and set(after) == {"a", "b", "d"}
    assert after["a"] == before["a"]


def test_the_daemon_polls_on_its_own_and_stores_the_next_poll(tmp_path, feed_server):
    rules = tmp_path / "rules"
    rules.mkdir()
    _rules(rules, feed_server, ["quick"], interval="2s")
    feed_server.set("/quick", rss([{"title": "x", "guid": "urn:1"}]))
    settings = Settings(allow_addresses=LOOPBACK, rules=rules, db=tmp_path / "w.db", parse_workers=0, watch_rules=False)

    async def go():
        watcher = Watcher(settings)
        await watcher.open(lock=False)
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        for _ in range(200):                                   # bounded: at most 20 s
            if feed_server.count("/quick") >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)                               # let the second poll commit
        row = await watcher.store.call(feeds.feed_row, "quick")
        job_next = watcher._scheduler.next_run("quick")
        stop.set()
        await asyncio.wait_for(task, 30)
        await watcher.close()
        return row, job_next

    row, job_next = asyncio.run(go())
    assert feed_server.count("/quick") >= 2
    assert row.polls >= 2 and row.status == "not_modified"
    assert job_next == row.next_poll_at
