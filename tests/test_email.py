"""Email through apprise's mailto:// to a real SMTP server (aiosmtpd): what arrives, HTML and text."""

from __future__ import annotations

import asyncio
import io
from email.header import decode_header, make_header
from datetime import datetime, timedelta, UTC

import pytest

from conftest import LOOPBACK, rfc822, write_rules
from servers import rss
from smtp import MailReceiver
from watcher.app import Settings, Watcher

RULES = """\
settings:
  backlog: {{alerts: 1d}}
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
          any: ["pass(es|ed)"]
          scope: [title]
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    severity: critical
    notify: [desk]
  - name: drones
    on:
      items:
        all: [drones?]
    notify: [desk]
channels:
  desk:
    url: ${{DESK_URL}}
    digest: cycle
"""


@pytest.fixture
def mail():
    server = MailReceiver()
    yield server
    server.close()


async def _check_all(rules, db):
    """`watcher check` in-process: one pass over every feed, then deliver."""
    watcher = Watcher(Settings(allow_addresses=LOOPBACK, rules=rules, db=db, parse_workers=0, watch_rules=False),
                      console=io.StringIO())
    await watcher.open()
    try:
        return await watcher.check_all()
    finally:
        await watcher.close()


def test_digest_email_has_html_and_text_parts_with_feed_text_escaped(tmp_path, feed_server, mail, monkeypatch):
    now = datetime.now(UTC)
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, RULES.format(url=feed_server.url("/wire.xml")))
    feed_server.set("/wire.xml", rss([
        {"title": "Ukraine &lt;script&gt;alert(1)&lt;/script&gt; drones *strike* [x](javascript:alert(1))",
         "link": "https://news.example/drones?a=1&b=2", "guid": "d", "pubDate": rfc822(now - timedelta(minutes=5)),
         "description": "Long-range drones &amp; more"},
        {"title": "Senate passes Ukraine aid package 70-29", "link": "https://news.example/passed", "guid": "p",
         "pubDate": rfc822(now)}]))
    monkeypatch.setenv("DESK_URL", mail.url())

    _, report = asyncio.run(_check_all(rules, tmp_path / "w.db"))
    assert report.sent == 2 and report.messages == 1 and len(mail.messages) == 1   # one digest email
    message = mail.messages[0]
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject.startswith("[CRITICAL] 2 alerts (1 critical, 1 info): Ukraine <script>")  # the digest's highest
    assert message["To"] == "desk@example.com"
    parts = mail.parts()
    html, text = parts["text/html"], parts["text/plain"]
    # feed text is text: no tag, no link and no emphasis it carried survives as markup
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html.replace("[x](javascript:alert(1))", "") and 'href="javascript' not in html
    assert "<em>strike</em>" not in html and "*strike*" in html
    # the fact change: what, old -> new, the evidence with its link
    assert "<strong>US aid package for Ukraine</strong> is now <strong>passed-senate</strong>" in html
    assert '<a href="https://news.example/passed">https://news.example/passed</a>' in html
    assert '<a href="https://news.example/drones?a=1&amp;b=2">' in html
    # the plain-text part says the same, links included
    assert "Senate passes Ukraine aid package 70-29" in text and "https://news.example/passed" in text
    assert "is now passed-senate (was stalled" in text
    assert "Ukraine <script>alert(1)</script> drones *strike*" in text


def test_each_email_subject_starts_with_the_alert_severity(tmp_path, feed_server, mail, receiver, monkeypatch):
    """Through the real SMTP server: "[CRITICAL] ..." and "[INFO] ..."; a webhook's title stays as it is."""
    now = datetime.now(UTC)
    rules = tmp_path / "rules"
    rules.mkdir()
    text = RULES.format(url=feed_server.url("/wire.xml")).replace("    digest: cycle\n", "")
    write_rules(rules, text.replace("notify: [desk]", "notify: [desk, hook]") + "  hook: ${HOOK_URL}\n")
    feed_server.set("/wire.xml", rss([
        {"title": "Ukraine drones strike", "link": "https://news.example/d", "guid": "d", "pubDate": rfc822(now)},
        {"title": "Senate passes Ukraine aid package 70-29", "link": "https://news.example/p", "guid": "p",
         "pubDate": rfc822(now)}]))
    monkeypatch.setenv("DESK_URL", mail.url())
    monkeypatch.setenv("HOOK_URL", receiver.url("/hook"))

    _, report = asyncio.run(_check_all(rules, tmp_path / "w.db"))
    assert report.sent == 4
    subjects = sorted(str(make_header(decode_header(m["Subject"]))) for m in mail.messages)
    assert subjects == ["[CRITICAL] US aid package for Ukraine: stalled → passed-senate",
                        "[INFO] Ukraine drones strike"]
    assert sorted(receiver.titles()) == ["US aid package for Ukraine: stalled → passed-senate",
                                         "Ukraine drones strike"]


@pytest.mark.slow
def test_apprise_throttling_of_email_does_not_hold_up_another_channel(tmp_path, mail, receiver):
    """apprise waits 5.5 s between two emails to one service; the webhook channel must not wait."""
    from datetime import datetime as dt

    from watcher.deliver import Channels
    from watcher.dispatch import Dispatcher
    from watcher.models import AlertDraft
    from watcher.ruleset.compiled import Channel, Secret
    from watcher.store import Store, outbox

    arrivals: list[str] = []
    mail.on_receive = lambda _: arrivals.append("mail")
    receiver.on_receive = lambda *_: arrivals.append("hook")
    channels = Channels({"mail": Channel("mail", Secret(mail.url()), "${M}"),
                         "hook": Channel("hook", Secret(receiver.url("/h")), "${H}")}, console=io.StringIO())
    store = Store(tmp_path / "s.db")
    t0 = dt(2024, 4, 24, 12, 0, tzinfo=UTC)
    for i in range(3):
        store.run(outbox.enqueue, AlertDraft("r", f"k{i}", "item", f"alert {i}", "b", "b", ("mail", "hook")), t0)
    report = asyncio.run(Dispatcher(store, lambda: channels, lambda: t0).deliver_due())
    assert report.sent == 6
    assert arrivals.count("mail") == 3 and arrivals.count("hook") == 3
    assert arrivals.index("mail", arrivals.index("mail") + 1) > max(i for i, a in enumerate(arrivals) if a == "hook")
    assert [m["Subject"] for m in mail.messages] == ["[INFO] alert 0", "[INFO] alert 1", "[INFO] alert 2"]
    store.close()
