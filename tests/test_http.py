"""The HTTP endpoint in-process, on a real daemon (`Watcher.run`) with a real feed server and
webhook receiver: health and readiness, /metrics parsed with prometheus_client's own parser
while counters move, the JSON API, and the status page escaping what feeds send."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, UTC

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import LOOPBACK, rfc822, run_cli, write_rules
from servers import rss
from watcher.app import Settings, Watcher
from watcher.web import parse_address

RULES = """\
feeds:
  wire: {{url: "{url}", interval: 1h}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, passes], scope: [title]}}
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    notify: [team]
  - name: drones
    on: {{items: {{all: [drones]}}}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""

# entity-encoded in the feed, so the stored title really holds "<script>" (raw tags are stripped by parse)
XSS = {"title": "Drones &lt;script&gt;document.body.dataset.pwned='1'&lt;/script&gt; seen", "guid": "x",
       "link": "javascript:alert(1)"}


def get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, parsed by prometheus_client: (name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


class Daemon:
    """`Watcher.run` in a background task of a test's event loop, with its HTTP endpoint."""

    def __init__(self, tmp_path, rules_dir, **settings):
        self.watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                                        rules=rules_dir, db=tmp_path / "w.db", parse_workers=0, watch_rules=False,
                                        http=("127.0.0.1", 0), heartbeat=0.2, **settings), console=io.StringIO())
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Daemon:
        await self.watcher.open()
        self.task = asyncio.create_task(self.watcher.run(self.stop))
        for _ in range(200):
            if self.watcher.http is not None:
                break
            await asyncio.sleep(0.02)
        self.url = self.watcher.http.url
        return self

    async def __aexit__(self, *exc) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)
        await self.watcher.close()

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return await asyncio.to_thread(get, self.url + path)

    async def scrape(self) -> dict:
        status, text, headers = await self.get("/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        return samples(text)


def _setup(rules_dir, feed_server, receiver, monkeypatch):
    monkeypatch.setenv("TEAM_URL", receiver.url("/team"))
    write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml")))
    feed_server.set("/wire.xml", rss([{"title": "Old story", "guid": "old"}]))


async def _until(condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_metrics_move_as_a_scenario_runs(tmp_path, rules_dir, feed_server, receiver, monkeypatch):
    _setup(rules_dir, feed_server, receiver, monkeypatch)
    now = datetime.now(UTC)

    async def scenario():
        async with Daemon(tmp_path, rules_dir) as d:
            await d.watcher.poll("wire")                                   # the backlog: one old item
            first = await d.scrape()
            feed_server.set("/wire.xml", rss([
                {"title": "Old story", "guid": "old"},
                {"title": "Senate passes Ukraine aid", "guid": "p", "link": "https://news.example/p",
                 "pubDate": rfc822(now)},
                {"title": "Drones over Kyiv", "guid": "d", "link": "https://news.example/d", "pubDate": rfc822(now)},
            ]))
            await d.watcher.poll("wire")
            await _until(lambda: len(receiver.received) == 2)
            await _until(lambda: value(samples(get(d.url + "/metrics")[1]), "watcher_delivery_attempts_total",
                                       result="sent") == 2)
            second = await d.scrape()
            await d.watcher.poll("wire")                                   # same document: 304
            feed_server.set("/wire.xml", "down", status=500)
            await d.watcher.poll("wire")
            third = await d.scrape()
            return first, second, third

    first, second, third = asyncio.run(scenario())
    assert value(first, "watcher_polls_total", feed="wire", outcome="new") == 1
    assert value(first, "watcher_items_seen_total", feed="wire") == 1
    assert value(first, "watcher_items_new_total", feed="wire") == 1
    assert value(first, "watcher_fetch_seconds_count", feed="wire") == 1
    assert value(first, "watcher_fact_value", fact="aid", value="stalled") == 1

    assert value(second, "watcher_polls_total", feed="wire", outcome="new") == 2
    assert value(second, "watcher_items_seen_total", feed="wire") == 4
    assert value(second, "watcher_items_new_total", feed="wire") == 3
    assert value(second, "watcher_rule_matches_total", rule="drones") == 1
    assert value(second, "watcher_fact_changes_total", fact="aid") == 1
    assert value(second, "watcher_alerts_queued_total", source="poll") == 2
    assert value(second, "watcher_delivery_attempts_total", result="sent") == 2
    assert value(second, "watcher_deliveries", state="sent") == 2
    assert value(second, "watcher_outbox_depth") == 0
    assert value(second, "watcher_fact_value", fact="aid", value="passed-senate") == 1
    assert value(second, "watcher_feed_last_success_timestamp_seconds", feed="wire") > 0
    assert value(second, "watcher_rules_last_reload_success") == 1

    assert value(third, "watcher_polls_total", feed="wire", outcome="not_modified") == 1
    assert value(third, "watcher_polls_total", feed="wire", outcome="error") == 1
    assert value(third, "watcher_fetch_seconds_count", feed="wire") == 4
    assert value(third, "watcher_feed_error_streak", feed="wire") == 1
    assert value(third, "watcher_feed_down", feed="wire") == 1
    assert value(third, "watcher_state_readable") == 1
    assert ("watcher_pending_observations", (("fact", "aid"),)) not in third   # nothing waits for corroboration


def test_health_readiness_api_and_a_page_that_escapes_feed_text(tmp_path, rules_dir, feed_server, receiver,
                                                                 monkeypatch):
    _setup(rules_dir, feed_server, receiver, monkeypatch)
    now = datetime.now(UTC)

    async def scenario():
        async with Daemon(tmp_path, rules_dir) as d:
            await d.watcher.poll("wire")
            feed_server.set("/wire.xml", rss([
                {"title": "Senate passes Ukraine aid", "guid": "p", "link": "https://news.example/p",
                 "pubDate": rfc822(now)}, {**XSS, "pubDate": rfc822(now)}]))
            await d.watcher.poll("wire")
            paths = ["/healthz", "/readyz", "/api/status", "/api/facts", "/api/facts/aid", "/api/history?limit=1",
                     "/api/alerts", "/api/feeds", "/api/items?q=senate", "/", "/facts/aid", "/search?q=drones",
                     "/api/facts/nosuch", "/nosuch", "/api/nosuch", "/static/style.css"]
            answers = {p: await d.get(p) for p in paths}
            post = await asyncio.to_thread(_post, d.url + "/api/facts")
            return answers, post

    answers, post = asyncio.run(scenario())
    code, body, _ = answers["/healthz"]
    assert code == 200 and json.loads(body)["status"] == "ok"
    code, body, _ = answers["/readyz"]
    assert code == 200 and [c["name"] for c in json.loads(body)["checks"]] == ["rules", "database", "scheduler"]
    status = json.loads(answers["/api/status"][1])
    assert status["ready"] is True and status["facts"] == 1 and status["items"] == 3

    [fact] = json.loads(answers["/api/facts"][1])
    assert (fact["name"], fact["value"], fact["source"], fact["pending"]) == ("aid", "passed-senate", "signal", [])
    assert fact["evidence"][0]["link"] == "https://news.example/p"
    detail = json.loads(answers["/api/facts/aid"][1])
    assert [(h["old"], h["new"]) for h in detail["history"]] == [("stalled", "passed-senate"), (None, "stalled")]
    assert [h["new"] for h in json.loads(answers["/api/history?limit=1"][1])] == ["passed-senate"]
    alerts = json.loads(answers["/api/alerts"][1])
    assert {a["rule"] for a in alerts} == {"aid-changed", "drones"}
    assert any("<script>" in a["title"] for a in alerts)                       # stored as the feed said
    assert all(d["channel"] == "team" for a in alerts for d in a["deliveries"])
    [feed] = json.loads(answers["/api/feeds"][1])
    assert feed["name"] == "wire" and feed["health"] == "ok" and "etag" not in feed
    assert [i["title"] for i in json.loads(answers["/api/items?q=senate"][1])] == ["Senate passes Ukraine aid"]
    assert answers["/api/facts/nosuch"][0] == 404 and answers["/api/nosuch"][0] == 404
    assert answers["/nosuch"][0] == 404 and post == 405

    for path in ("/", "/facts/aid", "/search?q=drones"):
        code, html, headers = answers[path]
        assert code == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<script" not in html.lower()                                    # feed text is text
        assert "script-src" not in headers["Content-Security-Policy"]            # and no script may run
        assert 'href="javascript:' not in html
    index = answers["/"][1]
    assert "Drones &lt;script&gt;document.body.dataset.pwned=&#39;1&#39;&lt;/script&gt; seen" in index
    assert 'href="https://news.example/p"' in index and 'data-value="passed-senate"' in index
    assert "http://" not in answers["/static/style.css"][1]                    # nothing from the internet


def test_a_feed_that_answered_410_is_gone_on_the_page_in_the_api_and_in_watcher_feeds(tmp_path, rules_dir,
                                                                                       feed_server, receiver,
                                                                                       monkeypatch):
    _setup(rules_dir, feed_server, receiver, monkeypatch)
    feed_server.set("/wire.xml", "this feed was removed", status=410)

    async def scenario():
        async with Daemon(tmp_path, rules_dir) as d:
            await d.watcher.poll("wire")
            return {p: await d.get(p) for p in ("/", "/api/feeds", "/api/status")}

    answers = asyncio.run(scenario())
    [feed] = json.loads(answers["/api/feeds"][1])
    assert (feed["health"], feed["status"], feed["http_status"]) == ("gone", "gone", 410)
    status = json.loads(answers["/api/status"][1])
    assert (status["feeds_failing"], status["feeds_gone"]) == (0, 1)
    assert '<span class="pill bad">gone</span>' in answers["/"][1] and '">failing</span>' not in answers["/"][1]
    assert '<b>1</b><span>feeds gone</span>' in answers["/"][1]
    env = {"WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(tmp_path / "w.db")}
    listed = run_cli("feeds", env=env)
    assert listed.returncode == 0, listed.stderr
    header, _, row = listed.stdout.splitlines()
    assert header.split()[:3] == ["feed", "health", "status"] and row.split()[:4] == ["wire", "gone", "gone", "(410)"]
    assert json.loads(run_cli("feeds", "--json", env=env).stdout)[0]["health"] == "gone"
    view = sqlite3.connect(tmp_path / "w.db").execute("SELECT health FROM feed_health").fetchall()
    assert view == [("gone",)]


def _post(url: str) -> int:
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=10)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def test_healthz_fails_while_the_event_loop_is_stalled(tmp_path, rules_dir, feed_server, receiver, monkeypatch):
    _setup(rules_dir, feed_server, receiver, monkeypatch)

    async def scenario():
        async with Daemon(tmp_path, rules_dir, stall_after=0.5) as d:
            before = await d.get("/healthz")
            during: list = []
            probe = threading.Thread(target=lambda: (time.sleep(1.0), during.append(get(d.url + "/healthz"))))
            probe.start()
            time.sleep(3.0)               # a blocking call on the loop: the server thread still answers
            probe.join()
            await asyncio.sleep(0.5)
            after = await d.get("/healthz")
            return before, during[0], after

    before, during, after = asyncio.run(scenario())
    assert before[0] == 200 and after[0] == 200
    assert during[0] == 503 and json.loads(during[1])["status"] == "unhealthy"


def test_parse_address():
    assert parse_address("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_address(":9000") == ("127.0.0.1", 9000)
    assert parse_address("[::1]:8080") == ("::1", 8080)
    assert parse_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_address("off") is None
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address("localhost")


def test_removed_feeds_lose_their_series_on_reload(tmp_path, rules_dir, feed_server, receiver, monkeypatch):
    _setup(rules_dir, feed_server, receiver, monkeypatch)

    async def scenario():
        async with Daemon(tmp_path, rules_dir) as d:
            await d.watcher.poll("wire")
            before = await d.scrape()
            write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml")).replace("wire:", "wire2:"))
            assert await d.watcher.reload()
            return before, await d.scrape()

    before, after = asyncio.run(scenario())
    assert value(before, "watcher_polls_total", feed="wire", outcome="new") == 1
    assert ("watcher_polls_total", (("feed", "wire"), ("outcome", "new"))) not in after
    assert value(after, "watcher_rule_reloads_total", result="ok") == 2



def test_readyz_reports_a_database_that_cannot_be_written(tmp_path, rules_dir, feed_server, receiver, monkeypatch):
    _setup(rules_dir, feed_server, receiver, monkeypatch)

    async def scenario():
        async with Daemon(tmp_path, rules_dir) as d:
            ready = await d.get("/readyz")
            # a real write failure: the probe's table is gone (as good as a full disk for the probe)
            await d.watcher.store.call(lambda db: db.execute("DROP TABLE _heartbeat"))
            for _ in range(100):
                broken = await d.get("/readyz")
                if broken[0] == 503:
                    break
                await asyncio.sleep(0.1)
            return ready, broken, await d.get("/healthz")

    ready, broken, alive = asyncio.run(scenario())
    assert ready[0] == 200 and broken[0] == 503 and alive[0] == 200     # alive, but not ready
    [database] = [c for c in json.loads(broken[1])["checks"] if c["name"] == "database"]
    assert database == {"name": "database", "ok": False,
                        "detail": "cannot write to the state database: no such table: _heartbeat"}
