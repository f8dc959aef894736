"""The threat model's promises, checked on a running daemon:

- secrets (channel URLs with a password, a token or a header value; a feed's request header
  and proxy credentials) reach no log line, error message, metric, status page, JSON API
  answer, CLI output or database file, in any common encoding;
- the HTTP endpoint binds to loopback unless told otherwise;
- watcher fetches only configured feed URLs: no item link, enclosure, image, comments page,
  WebSub hub, stylesheet or DTD named by a feed is ever requested.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import signal
import os
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, UTC
from pathlib import Path

import pytest

from conftest import LOOPBACK, LOOPBACK_ENV, ROOT, rfc822, run_cli, write_rules
from daemon import DaemonProcess
from servers import rss
from watcher.app import Settings, Watcher

PASSWORD, HEADER, TOKEN = "Pa55-Hunter2-Secret", "HeaderSecret-7f3a9c", "XoxbTokenSecret9QxZ"
FEED_TOKEN, PROXY_PASSWORD, BAD_TOKEN = "FeedBearer-51e0c2d8", "ProxyPass-0a9b8c7d", "SlackToken-d41d8cd9"


def _encodings(secret: str) -> set[str]:
    """How a secret could leak without being spelled out: quoted, JSON-escaped, base64 (HTTP basic auth)."""
    forms = {secret, urllib.parse.quote(secret), urllib.parse.quote_plus(secret), json.dumps(secret)[1:-1]}
    for user in ("ops", "bot", "proxyuser", ""):
        forms.add(base64.b64encode(f"{user}:{secret}".encode()).decode().rstrip("="))
    forms.add(base64.b64encode(secret.encode()).decode().rstrip("="))
    return forms


@pytest.mark.slow
def test_secrets_never_leave_the_process_by_any_door(tmp_path, rules_dir, feed_server, receiver):
    desk_config = tmp_path / "desk.apprise.yml"                  # outside the rules folder, mode 600
    desk_config.write_text(f"urls:\n  - json://bot:{TOKEN}@127.0.0.1:{receiver.port}/desk\n")
    desk_config.chmod(0o600)
    rules = f"""\
settings: {{interval: 2s, backlog: {{alerts: 1d, facts: 1d}}}}
feeds:
  wire:
    url: {feed_server.url('/wire.xml')}
    headers: {{Authorization: "Bearer ${{FEED_TOKEN}}"}}
  behind-proxy:
    url: http://feeds.example/rss
    proxy: ${{FEED_PROXY}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate]
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, passes], scope: [title]}}
alerts:
  - name: stories
    on: {{items: {{all: [drones]}}}}
    notify: [team, desk]
  - name: aid-moved
    on: {{fact: aid}}
    notify: [team, desk]
  - name: feed-down
    on: {{feed_down: 1s}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
  desk: {{config: {desk_config}}}
"""
    rule_file = write_rules(rules_dir, rules)
    now = rfc822(datetime.now(UTC))
    feed_server.set("/wire.xml", rss([
        {"title": "Drones over the harbour", "guid": "1", "link": "https://news.example/1", "pubDate": now},
        {"title": "Senate passes Ukraine aid", "guid": "2", "link": "https://news.example/2", "pubDate": now}]))
    env = {"TEAM_URL": f"json://ops:{PASSWORD}@127.0.0.1:{receiver.port}/team?+X-Api-Key={HEADER}",
           "FEED_TOKEN": FEED_TOKEN, "FEED_PROXY": f"http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:9",
           "BAD_URL": f"slack://{BAD_TOKEN}/{PASSWORD}", "WATCHER_RULES": str(rules_dir),
           "WATCHER_DB": str(tmp_path / "w.db"), "WATCHER_LOG_LEVEL": "DEBUG"}
    receiver.failing_paths.add("/team")                  # team fails: its errors are recorded and shown
    texts: list[str] = []
    daemon = DaemonProcess(tmp_path, env)
    try:
        daemon.wait_for(r"delivery failed alert=\S+ channel=team")
        daemon.wait_for(r"alert sent alert=\S+ rule=aid-moved channel=desk")
        daemon.wait_for(r"feed health alert")
        # a reload with a channel apprise cannot use: its error is on /readyz and the page
        rule_file.write_text(rules.replace("desk: {config:", "bad: ${BAD_URL}\n  desk: {config:"))
        daemon.signal(signal.SIGHUP)
        ready = daemon.until("/readyz", 503)
        assert "channel" in json.dumps(ready), ready
        for path in ("/", "/facts/aid", "/search?q=drones", "/metrics", "/healthz", "/readyz", "/api/status",
                     "/api/facts", "/api/facts/aid", "/api/history", "/api/alerts", "/api/alerts?state=failed",
                     "/api/feeds", "/api/outages", "/api/items?q=drones", "/no-such-page", "/api/nothing"):
            texts.append(daemon.get(path)[1])
        assert any("Drones over the harbour" in t for t in texts)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    texts.append(daemon.log())
    for command in (("alerts", "--json"), ("alerts", "--failed"), ("alerts", "show", "1"), ("alerts", "show", "2"),
                    ("feeds", "--json"), ("feeds", "behind-proxy"), ("facts",), ("facts", "history"),
                    ("notify-test", "team"), ("notify-test", "desk"), ("check",), ("validate",)):
        done = run_cli(*command, env=env)
        texts.append(done.stdout + done.stderr)
    assert "Traceback" not in "\n".join(texts)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("w.db*"))
    assert b"Drones over the harbour" in stored
    for secret in (PASSWORD, HEADER, TOKEN, FEED_TOKEN, PROXY_PASSWORD, BAD_TOKEN):
        for form in _encodings(secret):
            for text in texts:
                assert form not in text, (secret, form, text[max(0, text.find(form) - 200):text.find(form) + 50])
            assert form.encode() not in stored, (secret, form)
    # the secrets did their job: the feed got its header, the desk its message
    assert any(h.get("Authorization") == f"Bearer {FEED_TOKEN}" for p, h in feed_server.hits if p == "/wire.xml")
    assert "/desk" in receiver.paths


def test_the_http_endpoint_binds_to_loopback_by_default():
    from watcher.cli import cli
    from watcher.web import parse_address

    for command in ("run", "health"):
        option = next(p for p in cli.commands[command].params if p.name == "http")
        assert parse_address(option.default)[0] == "127.0.0.1" and option.envvar == "WATCHER_HTTP"
    assert parse_address(":8080") == ("127.0.0.1", 8080)      # a port alone means loopback too
    assert Settings().http is None                            # embedded, it serves nothing unless asked


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp to see the socket")
def test_a_daemon_given_only_a_port_listens_on_loopback_only(tmp_path, rules_dir, feed_server):
    feed_server.set("/wire.xml", rss([]))
    write_rules(rules_dir, f"feeds:\n  wire: {{url: \"{feed_server.url('/wire.xml')}\"}}\n")
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        env = {**os.environ, **LOOPBACK_ENV, "WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(tmp_path / "w.db")}
        daemon = subprocess.Popen([sys.executable, "-m", "watcher", "run", "--http", ":0"], stdout=out,
                                  stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    try:
        for _ in range(600):                                     # bounded: at most 60 s
            found = re.search(r"http listening address=(\S+)", log.read_text())
            if found or daemon.poll() is not None:
                break
            time.sleep(0.1)
        assert found, log.read_text()
        address = found.group(1)
        port = int(address.rsplit(":", 1)[1])
        assert address.startswith("127.0.0.1:")
        # the kernel's view: the listening socket is bound to 127.0.0.1, not to every interface
        rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        listening = {row[1] for row in rows if row[3] == "0A"}
        assert f"0100007F:{port:04X}" in listening and f"00000000:{port:04X}" not in listening
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)


# -- links in items are never fetched ------------------------------------------------------------

def _bait_rss(url) -> str:
    """RSS whose every element that can carry an address points back at the feed server."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<?xml-stylesheet type="text/xsl" href="{url('/bait/stylesheet.xsl')}"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Bait</title><link>{url('/bait/site')}</link><description>d</description>
<atom:link rel="hub" href="{url('/bait/websub-hub')}"/><atom:link rel="self" href="{url('/bait/self')}"/>
<image><url>{url('/bait/logo.png')}</url><title>Bait</title><link>{url('/bait/site')}</link></image>
<cloud domain="127.0.0.1" port="{url('').rsplit(':', 1)[1]}" path="/bait/cloud" registerProcedure="p"
       protocol="http-post"/>
<item><title>Drones story one</title><link>{url('/bait/article-1')}</link><pubDate>{rfc822(datetime.now(UTC))}</pubDate>
<guid isPermaLink="true">{url('/bait/guid-1')}</guid><comments>{url('/bait/comments-1')}</comments>
<source url="{url('/bait/source-1')}">Elsewhere</source>
<enclosure url="{url('/bait/audio-1.mp3')}" length="1000" type="audio/mpeg"/>
<media:content url="{url('/bait/video-1.mp4')}" type="video/mp4"/><media:thumbnail url="{url('/bait/thumb-1.jpg')}"/>
<description>&lt;p&gt;&lt;img src="{url('/bait/img-1.png')}"&gt; &lt;a href="{url('/bait/a-1')}"&gt;more&lt;/a&gt;
&lt;iframe src="{url('/bait/frame-1')}"&gt;&lt;/iframe&gt;&lt;/p&gt;</description>
<content:encoded><![CDATA[<p><img src="{url('/bait/img-2.png')}" srcset="{url('/bait/img-2x.png')} 2x">
<script src="{url('/bait/script.js')}"></script><link rel="stylesheet" href="{url('/bait/style.css')}"></p>]]>
</content:encoded></item>
</channel></rss>"""


def _bait_atom(url) -> str:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE feed SYSTEM "{url('/bait/feed.dtd')}">
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{url('/bait/base/')}">
<title>Bait atom</title><id>urn:bait</id><updated>2024-04-24T12:00:00Z</updated>
<link rel="self" href="{url('/bait/atom-self')}"/><link rel="hub" href="{url('/bait/atom-hub')}"/>
<icon>{url('/bait/icon.png')}</icon><logo>{url('/bait/atom-logo.png')}</logo>
<entry><title>Drones story two</title><id>urn:bait:2</id><updated>{datetime.now(UTC).isoformat()}</updated>
<link rel="alternate" href="relative-article"/><link rel="enclosure" href="{url('/bait/atom-enclosure.mp3')}"/>
<link rel="related" href="{url('/bait/related')}"/><link rel="replies" href="{url('/bait/replies')}"/>
<content type="html">&lt;img src="relative.png"&gt;&lt;a href="{url('/bait/atom-a')}"&gt;x&lt;/a&gt;</content>
</entry></feed>"""


def test_links_in_items_are_never_fetched(tmp_path, rules_dir, feed_server, receiver):
    feed_server.set("/rss.xml", _bait_rss(feed_server.url))
    feed_server.set("/atom.xml", _bait_atom(feed_server.url), content_type="application/atom+xml")
    write_rules(rules_dir, f"""\
settings: {{backlog: {{alerts: 1d}}}}
feeds:
  rss: {{url: "{feed_server.url('/rss.xml')}"}}
  atom: {{url: "{feed_server.url('/atom.xml')}"}}
alerts:
  - name: drones
    on: {{items: {{all: [drones]}}}}
channels:
  team: {receiver.url('/team')}
""")
    watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                               rules=rules_dir, db=tmp_path / "w.db", parse_workers=1), console=io.StringIO())

    async def passes() -> list:
        await watcher.open()
        try:
            first, _ = await watcher.check_all()
            second, _ = await watcher.check_all()
            return first + second
        finally:
            await watcher.close()

    reports = asyncio.run(passes())
    assert all(r.error is None for r in reports), [r.error for r in reports]
    titles = receiver.titles()
    assert len(titles) == 2 and all("Drones story" in t for t in titles), titles   # each alerted once
    explained = run_cli("explain", "1", "--verbose", env={"WATCHER_RULES": str(rules_dir),
                                                         "WATCHER_DB": str(tmp_path / "w.db")})
    assert explained.returncode == 0, explained.stderr
    requested = {path for path, _ in feed_server.hits}
    assert requested == {"/rss.xml", "/atom.xml"}, sorted(requested)


def test_watchers_own_settings_in_the_environment_are_not_taken_for_secrets():
    """A channel URL may contain an address the operator allowed (WATCHER_ALLOW_ADDRESSES): that
    setting must not be masked in the log, where tests and operators read the endpoint's URL."""
    from watcher.app import SETTING_VARIABLES
    from watcher.cli import cli

    def envvars(group):
        for param in group.params:
            if getattr(param, "envvar", None):
                yield param.envvar
        for command in getattr(group, "commands", {}).values():
            yield from envvars(command)

    assert set(envvars(cli)) == SETTING_VARIABLES
