"""The state database stops taking writes while the daemon runs (a full disk, a read-only
mount), then takes them again: each failure is one clear log line that names the database and
what to do (no traceback), polls and deliveries wait and retry by themselves, and nothing is
lost or sent twice: items that could not be recorded are new again at the next poll.

SQLite's own switches make the database "full" (``PRAGMA max_page_count``) or read-only
(``PRAGMA query_only``) on the daemon's connection, which gives the same errors a full disk
(SQLITE_FULL) or a read-only mount (SQLITE_READONLY) give. ``test_faults_mounts.py`` does the
same with a real read-only mount and a real full file system where the machine allows it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import datetime, UTC

from conftest import rfc822, write_story_rules
from inprocess import LogLines, Running, settings, until
from servers import rss
from watcher.dispatch import RetryPolicy

UNLIMITED = 1073741823  # SQLite's default max_page_count


class Wire:
    """The feed: every published story stays in it (as on a real feed), each with a long text."""

    def __init__(self, server):
        self.server, self.items = server, []

    def publish(self, *numbers: int) -> None:
        for n in numbers:
            self.items.append({"title": f"story {n}", "guid": f"s{n}", "link": f"https://news.example/{n}",
                               "description": f"paragraph {n} " * 400, "pubDate": rfc822(datetime.now(UTC))})
        self.server.set("/wire.xml", rss(self.items))


def _stored_titles(db) -> list[str]:
    return [t for (t,) in db.execute("SELECT title FROM items ORDER BY id")]


def _set(pragma: str):
    def apply(db) -> None:
        db.execute(f"PRAGMA {pragma}")
    return apply


def test_a_full_then_read_only_database_is_reported_clearly_and_loses_nothing(tmp_path, rules_dir, feed_server,
                                                                                receiver):
    wire = Wire(feed_server)
    wire.publish(1)
    write_story_rules(rules_dir, {"wire": feed_server.url("/wire.xml")}, receiver.url("/team"))
    db_path = tmp_path / "w.db"
    config = settings(tmp_path, rules_dir, retry=RetryPolicy(first=0.2, cap=0.5))

    def received() -> Counter:
        return Counter(receiver.titles())

    async def scenario(logs: LogLines) -> None:
        async with Running(config) as daemon:
            await until(lambda: "story 1" in str(received()), 30, "the first alert")

            # the disk fills up: the polls that bring stories 2-4 cannot be recorded
            pages = await daemon.db(lambda db: db.execute("PRAGMA page_count").fetchone()[0])
            await daemon.db(_set(f"max_page_count = {pages}"))
            wire.publish(2, 3, 4)
            await until(lambda: len(logs.having("poll not recorded")) >= 3, 30, "three polls that could not commit")
            assert await daemon.db(_stored_titles) == ["story 1"]
            # space returns: the next poll finds the stories new and alerts on each
            await daemon.db(_set(f"max_page_count = {UNLIMITED}"))
            await until(lambda: all(f"story {n}" in received() for n in (2, 3, 4)), 30, "stories 2-4")

            # read-only while an alert waits for its retry: nothing is sent until it is writable
            receiver.fail_next(-1)
            wire.publish(5)
            await until(lambda: logs.having("delivery failed"), 30, "the first failed delivery of story 5")
            await daemon.db(_set("query_only = 1"))
            receiver.recover()
            wire.publish(6)
            await until(lambda: logs.having("delivery paused") and len(logs.having("read-only")) >= 3, 30,
                        "deliveries and polls refused by the read-only database")
            database = next(c for c in daemon.watcher.ready() if c.name == "database")
            await until(lambda: not next(c for c in daemon.watcher.ready() if c.name == "database").ok, 10,
                        "/readyz to report the database")
            database = next(c for c in daemon.watcher.ready() if c.name == "database")
            assert "read-only" in database.detail and str(db_path) in database.detail
            assert "story 5" not in received() and "story 6" not in received()
            await daemon.db(_set("query_only = 0"))
            await until(lambda: "story 5" in received() and "story 6" in received(), 60, "stories 5 and 6")
            await until(lambda: next(c for c in daemon.watcher.ready() if c.name == "database").ok, 10,
                        "/readyz to recover")
            await asyncio.sleep(0.5)                             # anything sent twice would arrive by now

    with LogLines() as logs:
        asyncio.run(scenario(logs))

    counts = received()
    assert counts == Counter({f"story {n}": 1 for n in range(1, 7)}), counts
    assert not logs.tracebacks, logs.tracebacks[:3]
    full = logs.having("poll not recorded")[0]
    assert f"cannot use the state database {db_path}: the disk is full" in full and "free some space" in full
    assert "feed=wire" in full
    paused = logs.having("delivery paused")[0]
    assert f"cannot use the state database {db_path}: it is read-only" in paused and "writable" in paused
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert [t for (t,) in db.execute("SELECT title FROM items ORDER BY id")] == [f"story {n}" for n in range(1, 7)]
    assert dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")) == {"sent": 6}
    db.close()
