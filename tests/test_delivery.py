"""Delivery through apprise to a real webhook receiver; retries in order; nothing twice."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, UTC

from watcher.deliver import Channels
from watcher.dispatch import Dispatcher, RetryPolicy
from watcher.models import AlertDraft
from watcher.noise import Route
from watcher.ruleset.compiled import Channel, Secret
from watcher.store import Store, outbox

from servers import WebhookReceiver

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


def test_alerts_show_says_when_a_waiting_delivery_is_tried_next(tmp_path, receiver):
    from conftest import run_cli

    store = Store(tmp_path / "s.db")
    channels = _channels(receiver)
    dispatcher = Dispatcher(store, lambda: channels, Clock(T0), RetryPolicy(first=10, cap=60, give_up=3600))
    _enqueue(store, 1)
    receiver.fail_next(1)
    assert asyncio.run(dispatcher.deliver_due()).failed == 1
    in_digest = [Route("team", "pending", T0 + timedelta(minutes=10))]       # waits for its digest
    store.run(outbox.enqueue, AlertDraft("r", "later", "item", "later", "b", "b", ("team",)), T0, routes=in_digest)
    store.close()
    failed = run_cli("--db", str(tmp_path / "s.db"), "alerts", "show", "1")
    assert failed.returncode == 0, failed.stderr
    assert "delivery 1 to team: failed, 1 attempts, next attempt 2024-04-24 12:00:10 UTC\n" in failed.stdout
    pending = run_cli("--db", str(tmp_path / "s.db"), "alerts", "show", "2")
    assert "delivery 2 to team: pending, 0 attempts, next attempt 2024-04-24 12:10:00 UTC\n" in pending.stdout


def test_console_channel_prints(tmp_path):
    out = io.StringIO()
    result = asyncio.run(Channels({}, console=out).send("console", title="Hello", body="**b**", text="b",
                                                        severity="critical"))
    assert result.ok and "[CRITICAL] Hello" in out.getvalue() and "\nb\n" in out.getvalue()


def test_a_console_channel_follows_its_format(tmp_path):
    """`team: console` prints text, unless the channel says `format: markdown`."""
    out = {fmt: io.StringIO() for fmt in ("auto", "markdown")}
    for fmt, stream in out.items():
        channels = Channels({"team": Channel("team", Secret("console"), "console", format=fmt)}, console=stream)
        assert asyncio.run(channels.send("team", title="Hello", body="**b**", text="b")).ok
    assert "\nb\n" in out["auto"].getvalue() and "\n**b**\n" in out["markdown"].getvalue()


# -- channels with several services: partial failures ------------------------------------------

def _config_channels(tmp_path, receiver, **options):
    config = tmp_path / "team.apprise.txt"
    config.write_text(f"a={receiver.url('/a')}\nb={receiver.url('/b')}\n")
    config.chmod(0o600)
    return Channels({"team": Channel("team", Secret(""), "config", config=str(config), **options)},
                    console=io.StringIO())


def test_partial_failure_is_retried_only_where_it_failed(tmp_path, receiver):
    store = Store(tmp_path / "s.db")
    clock = Clock(T0)
    channels = _config_channels(tmp_path, receiver)
    assert len(channels.services("team")) == 2
    dispatcher = Dispatcher(store, lambda: channels, clock, RetryPolicy(first=10, cap=60, give_up=3600))
    _enqueue(store, 2)
    receiver.failing_paths = {"/b"}
    first = asyncio.run(dispatcher.deliver_due())
    assert receiver.paths == ["/a"] and first.failed == 1 and first.sent == 0  # /b failed; alert 1 waits
    receiver.failing_paths = set()
    clock.now += timedelta(seconds=61)
    second = asyncio.run(dispatcher.deliver_due())
    assert second.sent == 2
    by_path = sorted(zip(receiver.paths, receiver.titles(), strict=True))
    assert by_path == [("/a", "alert 0"), ("/a", "alert 1"), ("/b", "alert 0"), ("/b", "alert 1")]
    attempts = store.run(lambda db: [tuple(r) for r in db.execute(
        "SELECT d.alert_id, a.status, a.target FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
        "ORDER BY a.id")])
    assert [(alert, status) for alert, status, _ in attempts] == [(1, "success"), (1, "failure"), (1, "success"),
                                                                 (2, "success"), (2, "success")]
    assert all(target.startswith("json://127.0.0.1:") for _, _, target in attempts)
    store.close()


# -- crash between "sending" and the answer ----------------------------------------------------

def test_a_send_cut_off_by_a_crash_is_recorded_and_sent_again(tmp_path, receiver):
    store = Store(tmp_path / "s.db")
    _enqueue(store, 1)
    store.run(outbox.mark_sending, [1], T0)   # what a crash mid-send leaves behind
    channels = _channels(receiver)
    dispatcher = Dispatcher(store, lambda: channels, Clock(T0))
    assert asyncio.run(dispatcher.recover()) == 1
    asyncio.run(dispatcher.deliver_due())
    assert receiver.titles() == ["alert 0"]
    statuses = store.run(lambda db: [r[0] for r in db.execute("SELECT status FROM delivery_attempts ORDER BY id")])
    assert statuses == ["interrupted", "success"]
    assert asyncio.run(dispatcher.recover()) == 0
    store.close()


# -- one slow channel does not hold up the others -------------------------------------------------

def test_a_slow_channel_does_not_hold_up_another_or_the_loop(tmp_path, receiver):
    slow = WebhookReceiver()
    slow.delay = 1.0
    arrivals: list[str] = []
    receiver.on_receive = lambda path, _: arrivals.append("fast")
    slow.on_receive = lambda path, _: arrivals.append("slow")
    channels = Channels({"fast": Channel("fast", Secret(receiver.url("/f")), "${F}"),
                         "slow": Channel("slow", Secret(slow.url("/s")), "${S}")}, console=io.StringIO())
    store = Store(tmp_path / "s.db")
    _enqueue(store, 3, channels=("slow", "fast"))
    dispatcher = Dispatcher(store, lambda: channels, lambda: datetime.now(UTC))

    async def go():
        stop = asyncio.Event()
        runner = asyncio.create_task(dispatcher.run(stop, idle=0.2))
        ticks = 0
        for _ in range(400):                    # bounded: at most ~40 s
            await asyncio.sleep(0.1)
            ticks += 1                          # the event loop keeps turning meanwhile
            if len(slow.received) == 3:
                break
        stop.set()
        await runner
        return ticks

    ticks = asyncio.run(go())
    assert arrivals.count("fast") == 3 and arrivals.count("slow") == 3
    assert arrivals.index("slow") > arrivals.index("fast") and arrivals[:3] == ["fast"] * 3
    assert ticks >= 10                          # ~3 s of slow sends; a blocked loop would tick ~3 times
    slow.close()
    store.close()


def test_a_retry_held_for_quiet_hours_does_not_block_an_urgent_alert(tmp_path, receiver):
    from datetime import time as clock_time

    from watcher.ruleset.compiled import QuietWindow

    quiet = QuietWindow(clock_time(22), clock_time(7), "Europe/Kyiv", except_severity="critical")
    channels = Channels({"team": Channel("team", Secret(receiver.url("/team")), "${TEAM}", quiet_hours=(quiet,))},
                        console=io.StringIO())
    store = Store(tmp_path / "s.db")
    clock = Clock(datetime(2024, 4, 24, 18, 59, 55, tzinfo=UTC))   # 21:59:55 in Kyiv
    dispatcher = Dispatcher(store, lambda: channels, clock, RetryPolicy(first=10, cap=60, give_up=86400))
    store.run(outbox.enqueue, AlertDraft("r", "a", "item", "info alert", "b", "b", ("team",)), clock.now)
    receiver.fail_next(1)
    asyncio.run(dispatcher.deliver_due())                            # fails; retry at 22:00:05, quiet
    clock.now += timedelta(seconds=20)
    assert asyncio.run(dispatcher.deliver_due()).held == 1
    clock.now += timedelta(hours=1)
    store.run(outbox.enqueue, AlertDraft("r", "b", "item", "critical alert", "b", "b", ("team",),
                                         severity="critical"), clock.now)
    assert asyncio.run(dispatcher.deliver_due()).sent == 1            # not held back by the held retry
    clock.now = datetime(2024, 4, 25, 4, 0, tzinfo=UTC)               # 07:00 in Kyiv
    assert asyncio.run(dispatcher.deliver_due()).sent == 1
    assert receiver.titles() == ["critical alert", "info alert"]
    store.close()
