"""Channels in trouble while the daemon runs: one down (connection refused) for a long time,
one slow, one answering errors; then all of them back. Meanwhile the feed is polled on its
schedule (counted at the feed server) and its new items are recorded; afterwards every
channel has received every alert exactly once, in order, and no delivery is left over."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import datetime, UTC

import pytest

from conftest import rfc822, write_rules
from inprocess import LogLines, Running, settings, until
from servers import WebhookReceiver, rss
from watcher.dispatch import RetryPolicy

INTERVAL = 1.0      # seconds between polls of the feed


@pytest.mark.slow
def test_channels_down_slow_and_failing_lose_nothing_and_polling_goes_on(tmp_path, rules_dir, feed_server,
                                                                          receiver):
    down = WebhookReceiver()
    down_port = down.port
    down.close()                                # connection refused until it comes back on the same port
    slow = WebhookReceiver()
    slow.delay = 2.0                            # every post takes 2 s to answer
    receiver.fail_next(-1)                      # the third answers 500 until it recovers
    write_rules(rules_dir, f"""\
settings: {{interval: {INTERVAL:g}s, backlog: {{alerts: 1d}}}}
feeds:
  wire: {{url: "{feed_server.url('/wire.xml')}"}}
alerts:
  - name: stories
    on: {{items: {{all: [story]}}}}
channels:
  down: json://127.0.0.1:{down_port}/down
  slow: {slow.url('/slow')}
  erring: {receiver.url('/erring')}
""")
    items: list[dict[str, str]] = []

    def publish(n: int) -> None:
        items.append({"title": f"story {n}", "guid": f"s{n}", "link": f"https://news.example/{n}",
                      "pubDate": rfc822(datetime.now(UTC))})
        feed_server.set("/wire.xml", rss(items))

    def stored() -> int:
        db = sqlite3.connect(tmp_path / "w.db")
        try:
            return db.execute("SELECT count(*) FROM items").fetchone()[0]
        finally:
            db.close()

    config = settings(tmp_path, rules_dir, retry=RetryPolicy(first=0.3, cap=1.0))
    back: list[WebhookReceiver] = []

    async def scenario() -> tuple[int, float]:
        async with Running(config):
            publish(0)
            await until(lambda: stored() == 1, 30, "the first item")
            # the trouble lasts 12 s: a new story every 1.5 s, polls counted at the feed server
            polls_before, started = feed_server.count("/wire.xml"), time.monotonic()
            for n in range(1, 9):
                publish(n)
                await asyncio.sleep(1.5)
            polls = feed_server.count("/wire.xml") - polls_before
            elapsed = time.monotonic() - started
            await until(lambda: stored() == 9, 30, "every story recorded during the trouble")
            assert not any(t.startswith("story") for t in receiver.titles())
            # everyone is back
            back.append(WebhookReceiver(port=down_port))
            slow.delay = 0.0
            receiver.recover()
            wanted = [f"story {n}" for n in range(9)]
            await until(lambda: all(sorted(r.titles(), key=_number) == wanted for r in (back[0], slow, receiver)),
                        60, "every alert on every channel")
            await asyncio.sleep(1.0)        # a duplicate would arrive by now
        return polls, elapsed

    try:
        with LogLines() as logs:
            polls, elapsed = asyncio.run(scenario())
        for channel in (back[0], slow, receiver):
            assert channel.titles() == [f"story {n}" for n in range(9)]          # each once, in order
    finally:
        slow.close()
        for hook in back:
            hook.close()
    # the feed was polled on its schedule while the channels were down or slow: at least one
    # poll per interval and a half (a poll may come up to a quarter of the interval early)
    assert polls >= elapsed / (1.5 * INTERVAL), (polls, elapsed)
    assert not logs.tracebacks
    assert logs.having("delivery failed") and "channel=down" in logs.text() and "channel=erring" in logs.text()
    db = sqlite3.connect(tmp_path / "w.db")
    assert dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")) == {"sent": 27}
    db.close()


def _number(title: str) -> int:
    return int(title.split()[-1])


def test_a_channel_waiting_for_a_retry_does_not_keep_the_dispatcher_busy(tmp_path, receiver):
    """A failed delivery waiting for its retry holds back the later alerts of its channel (they
    go in order). Meanwhile the dispatcher must sleep until the retry is due, not look at the
    outbox again and again (it did, hundreds of times a second, with a database call each)."""
    import io

    from watcher.deliver import Channels
    from watcher.dispatch import Dispatcher
    from watcher.models import AlertDraft
    from watcher.ruleset.compiled import Channel, Secret
    from watcher.store import Store, outbox

    channels = Channels({"team": Channel("team", Secret(receiver.url("/team")), "${TEAM}")}, console=io.StringIO())
    store = Store(tmp_path / "s.db")
    looks = []

    class Counting:
        """The store, counting the dispatcher's looks at which channels have something due."""

        async def call(self, fn, *args, **kwargs):
            if fn is outbox.due_channels:
                looks.append(fn)
            return await store.call(fn, *args, **kwargs)

    dispatcher = Dispatcher(Counting(), lambda: channels, lambda: datetime.now(UTC), RetryPolicy(first=60))
    receiver.fail_next(1)

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(dispatcher.run(stop, idle=30))
        await store.call(outbox.enqueue, AlertDraft("r", "k1", "item", "first", "b", "b", ("team",)),
                         datetime.now(UTC))
        dispatcher.wake()
        await until(lambda: store.run(lambda db: db.execute("SELECT state FROM deliveries").fetchone()) == ("failed",),
                    10, "the first delivery to fail")
        await store.call(outbox.enqueue, AlertDraft("r", "k2", "item", "second", "b", "b", ("team",)),
                         datetime.now(UTC))
        dispatcher.wake()
        looks.clear()
        await asyncio.sleep(2.0)              # the retry is a minute away: nothing to do until then
        stop.set()
        await runner

    asyncio.run(scenario())
    store.close()
    assert len(looks) <= 3, f"the dispatcher looked at the outbox {len(looks)} times in 2 s"
    assert receiver.titles() == []
