"""Delivery through apprise to a real webhook receiver; retries in order; nothing twice."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, UTC

from watcher.deliver import Channels
from watcher.dispatch import Dispatcher, RetryPolicy
from watcher.models import AlertDraft
from watcher.ruleset.compiled import Channel, Secret
from watcher.store import Store, outbox

T0 = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _channels(receiver):
    return Channels({"team": Channel("team", Secret(receiver.url("/team")), "${TEAM}")}, console=io.StringIO())


def _enqueue(store, n, channels=("team",)):
    for i in range(n):
        store.run(outbox.enqueue, AlertDraft("r", f"k{i}", "item", f"alert {i}", "**b**", "b", channels), T0)


def test_markdown_body_reaches_the_webhook(tmp_path, receiver):
    result = asyncio.run(_channels(receiver).send("team", title="T", body="**bold**", text="bold"))
    assert result.ok and "success" in result.detail
    assert receiver.received[0]["title"] == "T"
    # json:// takes text, so it gets the plain-text rendering
    assert receiver.received[0]["message"] == "bold"


def test_receiver_down_then_back_every_alert_once_in_order(tmp_path, receiver):
    store = Store(tmp_path / "s.db")
    clock = Clock(T0)
    channels = _channels(receiver)
    dispatcher = Dispatcher(store, lambda: channels, clock, RetryPolicy(first=10, cap=60, give_up=3600))
    _enqueue(store, 5)
    receiver.fail_next(3)

    async def rounds():
        reports = []
        for _ in range(20):
            reports.append(await dispatcher.deliver_due())
            clock.now += timedelta(seconds=61)
        return reports

    reports = asyncio.run(rounds())
    assert receiver.titles() == [f"alert {i}" for i in range(5)]
    assert sum(r.failed for r in reports) == 3 and sum(r.sent for r in reports) == 5
    rows = store.run(lambda db: [tuple(r) for r in db.execute("SELECT state, attempts FROM deliveries ORDER BY id")])
    assert rows == [("sent", 4)] + [("sent", 1)] * 4
    store.close()


def test_dead_after_give_up_and_retry_by_hand(tmp_path, receiver):
    store = Store(tmp_path / "s.db")
    clock = Clock(T0)
    channels = _channels(receiver)
    dispatcher = Dispatcher(store, lambda: channels, clock, RetryPolicy(first=10, cap=60, give_up=100))
    _enqueue(store, 1)
    receiver.fail_next(-1)

    async def go():
        for _ in range(5):
            await dispatcher.deliver_due()
            clock.now += timedelta(seconds=61)
    asyncio.run(go())
    assert store.run(lambda db: db.execute("SELECT state FROM deliveries").fetchone()[0]) == "dead"
    receiver.recover()
    assert store.run(outbox.retry, clock.now) == 1
    asyncio.run(dispatcher.deliver_due())
    assert receiver.titles() == ["alert 0"]
    store.close()


def test_console_channel_prints(tmp_path):
    out = io.StringIO()
    result = asyncio.run(Channels({}, console=out).send("console", title="Hello", body="**b**", text="b",
                                                        severity="critical"))
    assert result.ok and "[CRITICAL] Hello" in out.getvalue()
