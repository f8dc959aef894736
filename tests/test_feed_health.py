"""Feed health as alerts: `on: {feed_down: DURATION}` fires once when a feed has failed that
long, and once more when it recovers. Rules, the pure draft, and the whole path through
`Watcher.check_all` to a real webhook receiver, with the clock passed in."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, UTC

import pytest

from conftest import LOOPBACK, write_rules
from servers import rss
from watcher.alerts import feed_alerts
from watcher.app import Settings, Watcher
from watcher.errors import RuleError
from watcher.models import FeedOutage
from watcher.ruleset import load_rules

T0 = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)

RULES = """\
feeds:
  wire: {{url: "{url}", interval: 5m, tags: [news]}}
  other: {{url: "{other}", interval: 5m}}
alerts:
  - name: news-feed-down
    on: {{feed_down: 1h, feeds: [news]}}
    notify: [ops]
    severity: warning
channels:
  ops: ${{OPS_URL}}
"""


def test_feed_down_rules_load_with_tags_and_reject_mixtures(rules_dir):
    write_rules(rules_dir, RULES.format(url="https://a.example/rss", other="https://b.example/rss"))
    ruleset = load_rules(rules_dir, environ={"OPS_URL": "json://127.0.0.1:9/x"})
    rule = ruleset.alerts["news-feed-down"]
    assert (rule.kind, rule.feed_down, rule.feeds) == ("feed", 3600.0, frozenset({"wire"}))
    assert ruleset.feed_rules("wire") == [rule] and ruleset.feed_rules("other") == []
    assert ruleset.item_rules == ()

    write_rules(rules_dir, """\
    feeds:
      wire: {url: "https://a.example/rss"}
    facts:
      f: {describe: d, known: a}
    alerts:
      - name: nowhere
        on: {feed_down: 2h, feeds: [nosuch]}
    """)
    write_rules(rules_dir, """\
    alerts:
      - name: mixed
        on: {feed_down: 1h, fact: f}
    """, name="mixed.yaml")
    with pytest.raises(RuleError) as problems:
        load_rules(rules_dir)
    text = str(problems.value)
    assert 'alert "mixed": on: `feed_down` cannot be combined with `fact`, `facts` or `items`' in text
    assert 'alert "nowhere": on.feeds: no feed or feed tag is called "nosuch"' in text


def test_feed_down_draft_waits_for_the_threshold_and_recovery_names_the_outage(rules_dir):
    write_rules(rules_dir, RULES.format(url="https://a.example/rss", other="https://b.example/rss"))
    ruleset = load_rules(rules_dir, environ={"OPS_URL": "json://127.0.0.1:9/x"})
    outage = FeedOutage(7, "wire", T0, None, "fetch: http 503", 4)
    assert feed_alerts(ruleset, outage, T0 + timedelta(minutes=59)) == []
    [down] = feed_alerts(ruleset, outage, T0 + timedelta(minutes=61))
    assert down.dedupe_key == "feed-down:news-feed-down:7" and down.kind == "feed" and down.severity == "warning"
    assert down.title == "Feed wire is down (failing for 1h 1m)" and "fetch: http 503" in down.text
    ended = FeedOutage(7, "wire", T0, T0 + timedelta(hours=3), "fetch: http 503", 9)
    [up] = feed_alerts(ruleset, ended, T0 + timedelta(hours=3), recovered=True, rules=["news-feed-down"])
    assert up.dedupe_key == "feed-up:news-feed-down:7" and up.title == "Feed wire is back (was down for 3h)"
    assert feed_alerts(ruleset, ended, T0, recovered=True, rules=[]) == []


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_failing_feed_alerts_once_after_the_threshold_and_once_when_back(tmp_path, rules_dir, feed_server,
                                                                           receiver, monkeypatch):
    monkeypatch.setenv("OPS_URL", receiver.url("/ops"))
    write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml"), other=feed_server.url("/other.xml")))
    feed_server.set("/wire.xml", "oops", status=503)
    feed_server.set("/other.xml", "oops", status=503)           # not watched by the rule: never alerts
    clock = Clock(T0)
    watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                               rules=rules_dir, db=tmp_path / "w.db", parse_workers=0), clock=clock,
                      console=io.StringIO())

    async def scenario() -> list[list[str]]:
        await watcher.open()
        seen = []
        try:
            for minutes, status in [(0, 503), (30, 503), (61, 503), (90, 503), (120, 200), (150, 200)]:
                clock.now = T0 + timedelta(minutes=minutes)
                feed_server.set("/wire.xml", rss([{"title": "hello", "guid": "1"}]) if status == 200 else "oops",
                                status=status)
                await watcher.check_all()
                seen.append(receiver.titles())
        finally:
            await watcher.close()
        return seen

    seen = asyncio.run(scenario())
    assert seen[1] == []                                          # failing for 30 min: below the 1h threshold
    assert seen[2] == ["Feed wire is down (failing for 1h 1m)"]   # past it: one alert
    assert seen[3] == seen[2]                                     # still down: not again
    assert seen[4] == ["Feed wire is down (failing for 1h 1m)", "Feed wire is back (was down for 2h)"]
    assert seen[5] == seen[4]
    text = watcher.metrics.render().decode()
    assert 'watcher_alerts_queued_total{source="feed_health"} 2.0' in text
