"""The whole pipeline as a user runs it: the `watcher` command as a subprocess, a real feed
server, a real webhook receiver behind apprise's json://, and a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, UTC
from pathlib import Path

from conftest import rfc822, run_cli, write_rules
from servers import rss

RULES = """\
settings:
  interval: 5m
feeds:
  wire:
    url: {url}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match:
          all: [senate, ukraine]
          any: ["pass(es|ed)", approves?]
          none: [will, "\\\\?"]
          scope: [title]
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    notify: [team]
  - name: drones
    on:
      items:
        all: [drones?]
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""


def _setup(tmp_path: Path, feed_server, receiver, items):
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, RULES.format(url=feed_server.url("/wire.xml")))
    feed_server.set("/wire.xml", rss(items))
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    return env


def test_check_alerts_once_and_fact_change_alerts_once(tmp_path, feed_server, receiver):
    now = datetime.now(UTC)
    env = _setup(tmp_path, feed_server, receiver, [])
    first = run_cli("check", env=env)                      # first poll: an empty feed, nothing to say
    assert first.returncode == 0, first.stderr
    assert receiver.received == []

    items = [{"title": "Ukraine unveils new drones for the front", "link": "https://news.example/drones-1",
              "guid": "drones-1", "pubDate": rfc822(now), "description": "Long-range drones."},
             {"title": "Will the Senate pass Ukraine aid?", "link": "https://news.example/q",
              "guid": "q", "pubDate": rfc822(now)}]
    feed_server.set("/wire.xml", rss(items))
    second = run_cli("check", env=env)
    assert second.returncode == 0, second.stderr
    assert receiver.titles() == ["Ukraine unveils new drones for the front"]
    assert "drones" in receiver.received[0]["message"]

    third = run_cli("check", env=env)                      # nothing new: nothing sent
    assert third.returncode == 0, third.stderr
    assert len(receiver.received) == 1

    items.append({"title": "Senate passes Ukraine aid package 70-29", "link": "https://news.example/passed",
                  "guid": "passed", "pubDate": rfc822(now + timedelta(minutes=1))})
    feed_server.set("/wire.xml", rss(items))
    fourth = run_cli("check", env=env)
    assert fourth.returncode == 0, fourth.stderr
    assert len(receiver.received) == 2
    alert = receiver.received[1]
    assert alert["title"] == "US aid package for Ukraine: stalled → passed-senate"
    assert "Senate passes Ukraine aid package 70-29" in alert["message"]
    assert "https://news.example/passed" in alert["message"]

    fifth = run_cli("check", env=env)
    assert fifth.returncode == 0 and len(receiver.received) == 2

    history = run_cli("facts", "history", "aid", env=env)
    assert "stalled -> passed-senate" in history.stdout
    assert "Senate passes Ukraine aid package 70-29" in history.stdout
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("SELECT value FROM facts WHERE name = 'aid'").fetchone() == ("passed-senate",)
    assert db.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone() == (2,)


def test_first_poll_backlog_does_not_alert_but_recent_items_move_facts(tmp_path, feed_server, receiver):
    now = datetime.now(UTC)
    items = [{"title": f"Drones story {i}", "guid": f"d{i}", "link": f"https://news.example/d{i}",
              "pubDate": rfc822(now - timedelta(hours=i))} for i in range(5)]
    items.append({"title": "Senate passes Ukraine aid", "guid": "p", "link": "https://news.example/p",
                  "pubDate": rfc822(now - timedelta(hours=3))})
    env = _setup(tmp_path, feed_server, receiver, items)
    result = run_cli("check", env=env)
    assert result.returncode == 0, result.stderr
    # no item alert for the 5 backlog drone stories; the fact moved (item younger than 2 days)
    assert receiver.titles() == ["US aid package for Ukraine: stalled → passed-senate"]


def _json_feed(items: list[dict]) -> str:
    """A JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/)."""
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Wire (JSON)",
                       "home_page_url": "https://news.example/", "items": items})


def test_a_json_feed_is_polled_and_matched_like_rss(tmp_path, feed_server, receiver):
    """The same rules as the RSS tests, on a JSON Feed served as application/feed+json."""
    now = datetime.now(UTC)
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, RULES.format(url=feed_server.url("/wire.json")))
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    feed_server.set("/wire.json", _json_feed([]), content_type="application/feed+json")
    assert run_cli("check", env=env).returncode == 0       # first poll: an empty feed, the backlog is read

    items = [{"id": "drones-1", "url": "https://news.example/drones-1", "title": "Ukraine unveils new drones",
              "content_html": "<p>Long-range <b>drones</b> for the front.</p>",
              "date_published": (now - timedelta(minutes=5)).isoformat()},
             {"id": "passed", "url": "https://news.example/passed", "title": "Senate passes Ukraine aid package",
              "content_text": "The vote was 70-29.", "date_published": now.isoformat(),
              "authors": [{"name": "A. Reporter"}], "tags": ["congress"]}]
    feed_server.set("/wire.json", _json_feed(items), content_type="application/feed+json")
    second = run_cli("check", env=env)
    assert second.returncode == 0, second.stderr
    assert sorted(receiver.titles()) == ["US aid package for Ukraine: stalled → passed-senate",
                                         "Ukraine unveils new drones"]
    item_alert = next(r for r in receiver.received if r["title"] == "Ukraine unveils new drones")
    assert "Long-range drones for the front." in item_alert["message"]
    assert "https://news.example/drones-1" in item_alert["message"]

    third = run_cli("check", env=env)                      # the same document again: nothing new
    assert third.returncode == 0 and len(receiver.received) == 2
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("SELECT value FROM facts WHERE name = 'aid'").fetchone() == ("passed-senate",)
    assert db.execute("SELECT title, link, summary, author, categories FROM items WHERE guid = 'passed'").fetchone() \
        == ("Senate passes Ukraine aid package", "https://news.example/passed", "The vote was 70-29.", "A. Reporter",
            '["congress"]')
