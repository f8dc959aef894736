"""Hostile and broken feeds, all at once, next to a healthy one: nothing stops the daemon, every
failure is recorded on its own feed, and the healthy feed's items and alerts go through."""

from __future__ import annotations

import asyncio
import gzip
import io
import time
from datetime import datetime, UTC
from pathlib import Path

import pytest

from conftest import LOOPBACK, LOOPBACK_ENV, rfc822, write_rules
from servers import rss
from watcher.app import Settings, Watcher
from watcher.fetch import FetchLimits
from watcher.store import feeds as feed_table

NOW = datetime.now(UTC)
HEALTHY = rss([{"title": "Ukraine drones story", "guid": "h1", "link": "https://news.example/h1",
                "pubDate": rfc822(NOW)}])

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title>
<item><title>&lol9;</title><guid>laughs</guid></item></channel></rss>"""


def _xxe(url: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "{url}">]>\n'
            '<rss version="2.0"><channel><title>x</title><item><title>a &xxe; b</title><guid>x1</guid>'
            "</item></channel></rss>").encode()


def _redirect_to(target: str):
    def handler(request):
        request.send_response(302)
        request.send_header("Location", target)
        request.send_header("Content-Length", "0")
        request.end_headers()
    return handler


def _serve_hostile(server) -> dict[str, str]:
    """Set up one route per fault; returns feed name -> URL."""
    server.set("/healthy", HEALTHY)
    server.set("/e500", "boom", status=500)
    server.set("/e404", "missing", status=404)
    server.set("/e410", "gone", status=410)
    server.set("/e429", "slow down", status=429, headers={"Retry-After": "3600"})
    server.set("/e503", "maintenance", status=503, headers={"Retry-After": "120"})
    server.set("/slow-headers", HEALTHY, delay=4)
    server.set("/trickle", HEALTHY, trickle=0.2)
    server.set("/loop-a", handler=_redirect_to("/loop-b"))
    server.set("/loop-b", handler=_redirect_to("/loop-a"))
    for i in range(12):
        server.set(f"/chain{i}", handler=_redirect_to(f"/chain{i + 1}"))
    server.set("/chain12", HEALTHY)
    server.set("/huge", b"<rss>" + b"x" * 3_000_000)
    server.set("/bomb", b"<rss>" + b" " * 40_000_000, gzip=True)
    server.set("/html", "<!doctype html><html><body><h1>Not a feed</h1></body></html>",
               content_type="text/html; charset=utf-8")
    server.set("/empty", b"")
    server.set("/laughs", BILLION_LAUGHS)
    server.set("/xxe", _xxe(server.url("/secret")))
    server.set("/secret", "TOP-SECRET-CONTENT", content_type="text/plain")
    server.set("/latin1-mislabelled", "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>"
               "<item><title>Caf\xe9 cr\xe8me</title><guid>l1</guid></item></channel></rss>".encode("latin-1"),
               content_type="application/rss+xml; charset=utf-8")
    server.set("/bad-encoding", b"<?xml version='1.0' encoding='no-such-codec'?><rss version='2.0'><channel>"
               b"<title>t</title><item><title>x\xff\xfe y</title><guid>b1</guid></item></channel></rss>")
    server.set("/garbage", bytes(range(256)) * 50, content_type="application/octet-stream")
    urls = {name.strip("/").replace("/", "-"): server.url(name) for name in
            ["/healthy", "/e500", "/e404", "/e410", "/e429", "/e503", "/slow-headers", "/trickle", "/loop-a",
             "/chain0", "/huge", "/bomb", "/html", "/empty", "/laughs", "/xxe", "/latin1-mislabelled",
             "/bad-encoding", "/garbage"]}
    urls["refused"] = "http://127.0.0.1:9/feed.xml"
    urls["no-dns"] = "http://watcher-test.invalid/feed.xml"
    return urls


def _rules(folder: Path, urls: dict[str, str], hook: str) -> None:
    feeds = "\n".join(f"  {name}:\n    url: {url}" for name, url in urls.items())
    write_rules(folder, f"""\
settings:
  interval: 1h
  backlog: {{alerts: 1d, facts: 1d}}
feeds:
{feeds}
alerts:
  - name: anything
    on: {{items: {{any: ["\\\\w+"], scope: [title]}}}}
    notify: [hook]
channels:
  hook: {hook}
""")


EXPECTED_KIND = {
    "e500": "http", "e404": "http", "e410": "gone", "e429": "http", "e503": "http", "slow-headers": "timeout",
    "trickle": "timeout", "loop-a": "redirects", "chain0": "redirects", "huge": "too_large", "bomb": "too_large",
    "html": "parse", "empty": "parse", "garbage": "parse", "refused": "connect", "no-dns": "connect",
}


def test_hostile_feeds_are_contained(tmp_path, feed_server, receiver):
    urls = _serve_hostile(feed_server)
    rules = tmp_path / "rules"
    rules.mkdir()
    _rules(rules, urls, receiver.url("/hook"))
    limits = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=3, max_bytes=1_000_000, max_redirects=5)
    watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                               rules=rules, db=tmp_path / "w.db", parse_workers=1, fetch=limits),
                      console=io.StringIO())

    async def scenario():
        await watcher.open()
        try:
            started = time.monotonic()
            reports, sent = await watcher.check_all()
            elapsed = time.monotonic() - started
            rows = {r.name: r for r in await watcher.store.call(feed_table.feed_rows)}
            return reports, sent, elapsed, rows
        finally:
            await watcher.close()

    reports, sent, elapsed, rows = asyncio.run(scenario())
    by_feed = {r.feed: r for r in reports}
    assert set(by_feed) == set(urls)
    # the healthy feed, and every feed whose document is usable despite its faults, got through
    assert by_feed["healthy"].new == 1 and by_feed["chain0"].error  # 12 redirects > the limit of 5
    for name in ("laughs", "xxe", "latin1-mislabelled", "bad-encoding"):
        assert by_feed[name].error is None, (name, by_feed[name].error)
    # each failure recorded on its own row with the kind of failure
    for name, kind in EXPECTED_KIND.items():
        row = rows[name]
        assert row.error_kind == kind, (name, row.error_kind, row.error)
        assert row.error_streak == 1 and row.next_poll_at is not None
    assert rows["e410"].status == "gone"
    # Retry-After is honoured: the 429 feed is not polled again for an hour
    assert (rows["e429"].next_poll_at - rows["e429"].last_poll_at).total_seconds() >= 3600
    # entities: no expansion, no fetching of external entities
    assert feed_server.count("/secret") == 0
    titles = receiver.titles()
    assert "Ukraine drones story" in titles
    assert all(len(t) < 300 for t in titles)
    assert not any("TOP-SECRET" in t for t in titles)
    # the slow servers were cut by the deadline, in parallel: the pass was not the sum of their delays
    assert elapsed < 60


def test_gzip_bomb_is_cut_without_inflating_it_whole(feed_server):
    from watcher.errors import FetchError
    from watcher.fetch import Fetcher

    feed_server.set("/bomb", b"<rss>" + b" " * 40_000_000, gzip=True)

    async def go():
        fetcher = Fetcher(FetchLimits(max_bytes=1_000_000), allowed=LOOPBACK)
        try:
            await fetcher.fetch(feed_server.url("/bomb"))
        finally:
            await fetcher.aclose()

    with pytest.raises(FetchError) as caught:
        asyncio.run(go())
    assert caught.value.kind == "too_large"
    assert len(gzip.compress(b" " * 40_000_000)) < 100_000  # the wire size really is tiny


CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "feedparser"


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the feedparser corpus (../shared/corpus/feedparser) is not here")
def test_every_corpus_file_through_the_daemon(tmp_path, feed_server):
    """~1,850 real well-formed and ill-formed feeds in one pass: no crash, every outcome recorded."""
    import re

    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE")
    urls = {}
    for n, path in enumerate(files):
        route = f"/c/{n}"
        content_type = "application/xml" if path.suffix in (".xml", ".rdf", ".atom") else "application/octet-stream"
        feed_server.set(route, path.read_bytes(), content_type=content_type)
        urls[f"c{n}-" + re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem)[:40]] = feed_server.url(route)
    rules = tmp_path / "rules"
    rules.mkdir()
    _rules(rules, urls, "console")
    watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                               rules=rules, db=tmp_path / "w.db", parse_workers=2, check_concurrency=50),
                      console=io.StringIO())

    async def scenario():
        await watcher.open()
        try:
            reports, _ = await watcher.check_all()
            again, _ = await watcher.check_all()   # the second pass is answered by 304s
            rows = await watcher.store.call(feed_table.feed_rows)
            return reports, again, rows
        finally:
            await watcher.close()

    reports, again, rows = asyncio.run(scenario())
    assert len(reports) == len(files) == len(rows)
    assert all(r.status in ("new", "unchanged", "error", "not_modified") for r in rows)
    failed = [r for r in rows if r.status == "error"]
    assert all(r.error and r.error_kind == "parse" for r in failed)
    assert len(failed) < len(files) * 0.05           # the corpus is feeds: nearly all parse
    assert sum(r.new for r in reports) > 1000
    assert all(r.outcome.value in ("not_modified", "error") for r in again)



@pytest.mark.slow
def test_slow_and_failing_feeds_do_not_hold_up_a_healthy_one(tmp_path, feed_server):
    """The daemon as a subprocess: hostile feeds on short intervals beside a healthy one."""
    import os
    import signal
    import subprocess
    import sys

    urls = _serve_hostile(feed_server)
    rules = tmp_path / "rules"
    rules.mkdir()
    feeds = "\n".join(f"  {name}:\n    url: {url}\n    interval: {2 if name == 'healthy' else 3}"
                      for name, url in urls.items())
    write_rules(rules, f"settings:\n  interval: 2\nfeeds:\n{feeds}\n")
    env = {**os.environ, **LOOPBACK_ENV, "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    command = [sys.executable, "-m", "watcher", "run", "--parse-workers", "1", "--http", "off"]
    daemon = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while feed_server.count("/healthy") < 5 and time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.5)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-3000:]
    assert feed_server.count("/healthy") >= 5, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
