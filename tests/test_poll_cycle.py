"""One feed's polls end to end against a real local server and a real SQLite file: conditional
GET, body-hash skip, errors, backoff, Retry-After, 410, and what the feed row records."""

from __future__ import annotations

import asyncio
import sqlite3
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import LOOPBACK, rfc822, run_cli, write_rules
from servers import rss
from watcher.app import Settings, Watcher
from watcher.fetch import FetchLimits
from watcher.polling import PollPolicy
from watcher.store import feeds, items

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """The time the watcher sees; tests move it by hand (no patching of the real clock)."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def story(i: int, title: str | None = None) -> dict[str, str]:
    return {"title": title or f"Story {i}", "link": f"https://news.example/{i}", "guid": f"urn:story:{i}",
            "description": f"Text of story {i}.", "pubDate": rfc822(START - timedelta(hours=i))}


class Harness:
    def __init__(self, tmp_path: Path, feed_server, extra: str = "", policy: PollPolicy = PollPolicy(),
                 limits: FetchLimits = FetchLimits()):
        self.server = feed_server
        self.rules = tmp_path / "rules"
        self.rules.mkdir(exist_ok=True)
        write_rules(self.rules, f"feeds:\n  wire:\n    url: {feed_server.url('/wire.xml')}\n    interval: 1m\n"
                    + textwrap.dedent(extra))
        self.clock = Clock()
        self.settings = Settings(allow_addresses=LOOPBACK,
                                 rules=self.rules, db=tmp_path / "w.db", parse_workers=0, watch_rules=False,
                                 poll=policy, fetch=limits)

    async def poll(self, times: int = 1, *, advance: float = 0) -> list[feeds.FeedRow]:
        watcher = Watcher(self.settings, clock=self.clock)
        await watcher.open(lock=False)
        rows = []
        try:
            for _ in range(times):
                await watcher.poll("wire")
                assert watcher.store is not None
                row = await watcher.store.call(feeds.feed_row, "wire")
                assert row is not None
                rows.append(row)
                self.clock.advance(advance)
        finally:
            await watcher.close()
        return rows

    def run(self, times: int = 1, advance: float = 0) -> list[feeds.FeedRow]:
        return asyncio.run(self.poll(times, advance=advance))


def test_200_then_304_by_etag_then_by_last_modified(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server)
    route = feed_server.set("/wire.xml", rss([story(1), story(2)]))
    first, second = h.run(2)
    assert (first.status, first.http_status) == ("new", 200) and first.etag == route.etag
    assert (second.status, second.http_status) == ("not_modified", 304)
    assert feed_server.hits[-1][1]["If-None-Match"] == route.etag
    # a server that only knows Last-Modified: the stored date comes back and earns a 304
    feed_server.set("/wire.xml", rss([story(1), story(2), story(3)]), send_etag=False)
    (third,) = h.run()
    assert third.status == "new" and third.etag is None and third.last_modified
    (fourth,) = h.run()
    assert fourth.status == "not_modified"
    assert feed_server.hits[-1][1]["If-Modified-Since"] == third.last_modified


def test_a_server_ignoring_validators_is_skipped_by_body_hash(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server)
    feed_server.set("/wire.xml", rss([story(1)]), validators=False)
    first, second = h.run(2)
    assert first.status == "new" and second.status == "unchanged" and second.http_status == 200
    assert "If-None-Match" not in feed_server.hits[-1][1]


def test_updated_title_is_an_update_and_new_tracking_parameters_are_not_new(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server)
    no_guid = {"title": "Aid vote", "link": "https://news.example/aid?utm_source=rss", "description": "x"}
    feed_server.set("/wire.xml", rss([story(1), no_guid]))
    h.run()
    moved = {**no_guid, "link": "https://news.example/aid?utm_source=twitter&fbclid=abc"}
    feed_server.set("/wire.xml", rss([story(1, "Story 1, updated"), moved]))
    (row,) = h.run()
    assert row.status == "unchanged"                      # nothing new ...
    db = sqlite3.connect(h.settings.db)
    assert db.execute("SELECT count(*) FROM items").fetchone() == (2,)
    updated = db.execute("SELECT title, revisions FROM items WHERE key = 'g:urn:story:1'").fetchone()
    assert updated == ("Story 1, updated", 1)


def test_errors_back_off_exponentially_to_the_cap_and_keep_polling(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server, policy=PollPolicy(max_backoff=600))
    feed_server.set("/wire.xml", "broken", status=500)
    rows = h.run(6, advance=1)
    assert [r.error_streak for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r.interval_s for r in rows] == [60, 120, 240, 480, 600, 600]
    assert all(r.interval_reason == "backoff" and r.status == "error" and r.http_status == 500 for r in rows)
    for row in rows:
        wait = (row.next_poll_at - row.last_poll_at).total_seconds()
        assert 0.75 * row.interval_s <= wait <= row.interval_s
    assert "HTTP 500" in rows[-1].error
    feed_server.set("/wire.xml", rss([story(1)]))
    (healed,) = h.run()
    assert healed.error_streak == 0 and healed.error is None and healed.interval_s == 60
    assert healed.last_error_at == rows[-1].last_poll_at


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(tmp_path, feed_server, status):
    h = Harness(tmp_path, feed_server)
    feed_server.set("/wire.xml", "slow down", status=status, headers={"Retry-After": "7200"})
    (row,) = h.run()
    assert row.next_poll_at - row.last_poll_at == timedelta(hours=2) and row.interval_reason == "retry-after"
    assert row.http_status == status


def test_410_marks_the_feed_gone_and_it_is_shown(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server, policy=PollPolicy(max_backoff=3 * 3600))
    feed_server.set("/wire.xml", "bye", status=410)
    (row,) = h.run()
    assert row.status == "gone" and row.interval_reason == "gone" and row.interval_s == 3 * 3600
    shown = run_cli("feeds", env={"WATCHER_RULES": str(h.rules), "WATCHER_DB": str(h.settings.db)})
    assert shown.returncode == 0, shown.stderr
    assert "gone (410)" in shown.stdout and "3h gone" in shown.stdout and "410 Gone" in shown.stdout
    detail = run_cli("feeds", "wire", env={"WATCHER_RULES": str(h.rules), "WATCHER_DB": str(h.settings.db)})
    assert detail.returncode == 0
    assert "interval_reason   gone" in detail.stdout and "error_streak      1" in detail.stdout


def test_timeouts_and_the_size_cap_are_recorded(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server, limits=FetchLimits(total_timeout=0.5, max_bytes=50_000))
    feed_server.set("/wire.xml", rss([story(1)]), delay=2)
    (row,) = h.run()
    assert row.error_kind == "timeout" and row.status == "error"
    feed_server.set("/wire.xml", rss([story(i) for i in range(1000)]))
    (row,) = h.run()
    assert row.error_kind == "too_large" and row.error_streak == 2


def test_server_cache_hints_stretch_the_interval(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server)
    feed_server.set("/wire.xml", rss([story(1)]), headers={"Cache-Control": "public, max-age=1800"})
    first, second = h.run(2)
    assert (first.interval_s, first.interval_reason, first.server_hint_s) == (1800, "server", 1800)
    assert second.status == "not_modified" and second.interval_s == 1800
    ttl = rss([story(1)]).replace("<description>test</description>", "<description>t</description><ttl>20</ttl>")
    feed_server.set("/wire.xml", ttl)
    (third,) = h.run()
    assert third.interval_s == 1200 and third.interval_reason == "server"


def test_adaptive_interval_uses_the_stored_publishing_rate(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server)
    write_rules(h.rules, f"""\
        feeds:
          wire:
            url: {feed_server.url('/wire.xml')}
            interval: 30m
            adaptive: true
            min_interval: 5m
            max_interval: 6h
        """)
    hourly = [{**story(i), "pubDate": rfc822(START - timedelta(hours=i))} for i in range(1, 25)]
    feed_server.set("/wire.xml", rss(hourly))
    (row,) = h.run()
    assert row.interval_reason == "adaptive" and row.interval_s == pytest.approx(1800)
    feed_server.set("/wire.xml", rss([]))
    h.clock.advance(7 * 86400)                                         # a week of silence
    (row,) = h.run()
    assert row.interval_s == 6 * 3600


def test_a_permanent_redirect_is_shown_as_moved(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server)
    feed_server.set("/new.xml", rss([story(1)]))
    feed_server.set("/wire.xml", handler=lambda r: (r.send_response(301), r.send_header("Location", "/new.xml"),
                                                   r.send_header("Content-Length", "0"), r.end_headers()))
    (row,) = h.run()
    assert row.status == "new" and row.moved_to == feed_server.url("/new.xml")
    with_items = asyncio.run(_items(h))
    assert [s.item.link for s in with_items] == ["https://news.example/1"]


async def _items(h: Harness):
    from watcher.store import Store
    store = Store(h.settings.db)
    try:
        return await store.call(lambda db: list(items.iter_items(db)))
    finally:
        store.close()


def test_an_item_rule_chooses_whether_updates_count(tmp_path, feed_server):
    h = Harness(tmp_path, feed_server, extra="""\
            alerts:
              - name: aid-news
                on:
                  items: {any: [aid]}
              - name: aid-news-and-updates
                on:
                  items: {any: [aid]}
                  updates: true
            """)
    feed_server.set("/wire.xml", rss([story(1, "Senate to vote on aid")]))
    h.run()                                                  # the backlog: no item alerts
    feed_server.set("/wire.xml", rss([story(1, "Senate passes aid")]))
    h.run()
    feed_server.set("/wire.xml", rss([story(1, "Senate passes aid, 70-29")]))
    h.run()
    h.run()                                                  # unchanged: nothing more
    db = sqlite3.connect(h.settings.db)
    alerts = db.execute("SELECT rule, title FROM alerts ORDER BY id").fetchall()
    assert alerts == [("aid-news-and-updates", "Updated: Senate passes aid"),
                      ("aid-news-and-updates", "Updated: Senate passes aid, 70-29")]


def test_updates_only_apply_to_item_rules(tmp_path):
    from watcher.errors import RuleError
    from watcher.ruleset import load_rules

    write_rules(tmp_path, """\
        feeds: {w: {url: "https://w.example/rss"}}
        facts: {f: {describe: d, known: a}}
        alerts:
          - name: x
            on: {fact: f, updates: true}
        """)
    with pytest.raises(RuleError, match="`updates` only applies to `on: {items: ...}`"):
        load_rules(tmp_path)
