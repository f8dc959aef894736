"""Feed text in messages: escaped so that what apprise makes of our markdown (HTML for email,
mrkdwn for Slack) shows the text as it was, with no markup, link or emphasis of its own."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import asyncio
import io

from hypothesis import given, settings, strategies as st
from markdown_it import MarkdownIt

from conftest import LOOPBACK, rfc822, write_rules
from servers import rss
from watcher.templates import escape_markdown, markdown_to_text, render


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html(markdown: str) -> _Text:
    from apprise.conversion.format import markdown_to_html  # what apprise does for email

    parser = _Text()
    parser.feed(markdown_to_html(markdown))
    return parser


FEED_TEXT = st.text(alphabet=st.sampled_from(list("abmpx 19.\\`*_[]()<>#+-=!~|&;:/\"'\n\t\r")), max_size=60)


def _words(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=300, deadline=None)
@given(FEED_TEXT)
def test_escaped_text_comes_out_of_apprise_as_the_same_text_and_no_markup(text):
    parsed = _html(escape_markdown(text))
    assert set(parsed.tags) <= {"p", "br"}, parsed.tags
    assert _words("".join(parsed.parts)) == _words(text)


@settings(max_examples=300, deadline=None)
@given(FEED_TEXT)
def test_escaped_text_comes_back_from_the_text_rendering_as_the_same_text(text):
    assert _words(markdown_to_text(escape_markdown(text))) == _words(text)


@settings(max_examples=300, deadline=None)
@given(FEED_TEXT.map(str.strip).filter(bool))   # (blanks next to a ** would undo it whatever the text)
def test_feed_text_stays_inside_the_block_and_emphasis_the_template_put_it_in(text):
    body = render("- **{{ title }}** (ap)\n- next", {"title": text})
    blocks = [t.type for t in MarkdownIt("commonmark").parse(body) if t.level == 0]
    assert blocks == ["bullet_list_open", "bullet_list_close"]
    inline = [c.type for t in MarkdownIt("commonmark").parse(body) if t.type == "inline" for c in t.children]
    assert inline.count("strong_open") == 1 and "link_open" not in inline and "html_inline" not in inline
    assert _words(markdown_to_text(body)) == _words(f"- {text} (ap) - next")


def test_a_markdown_body_as_text_keeps_its_words_lists_and_links_and_drops_its_markup():
    body = render("**{{ fact }}** is now _{{ new }}_.\n\n- {{ url | link(title) }}\n- {{ url | url }}\n\n"
                  "1. `one`\n2. two\n\n# Done",
                  {"fact": "Aid", "new": "passed", "title": "Senate *passes* [x](y)", "url": "https://n.example/a_b"})
    assert markdown_to_text(body) == ("Aid is now passed.\n\n- Senate *passes* [x](y) (https://n.example/a_b)\n"
                                      "- https://n.example/a_b\n\n1. one\n2. two\n\nDone")


def test_templates_escape_expressions_but_not_their_own_markup():
    out = render("**{{ title }}** {{ url | url }} {{ url | link(title) }}",
                 {"title": "A *bold* [claim](javascript:x) <b>", "url": "https://news.example/a_b?c=1&d=2"})
    parsed = _html(out)
    assert parsed.tags.count("strong") == 1 and parsed.tags.count("a") == 2
    assert "A *bold* [claim](javascript:x) <b>" in "".join(parsed.parts)


def test_slack_receives_the_text_literally(receiver):
    """Slack's mrkdwn through apprise's own conversion. Slack cannot be pointed at another host by
    its URL, so this test sets the plugin's webhook address (an apprise internal)."""
    import apprise

    slack = apprise.Apprise.instantiate("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7/#alerts")
    slack.webhook_url = receiver.url("/slack").replace("json://", "http://")
    body = render("**{{ fact }}** is now **{{ new }}**: {{ title }}",
                  {"fact": "Aid", "new": "passed", "title": "Senate <passes> aid & *more* [x](y)"})
    assert slack.notify(title="t", body=body, body_format=apprise.NotifyFormat.MARKDOWN)
    text = json.dumps(receiver.received[0])
    # Slack shows &lt; &gt; &amp; as < > &; bold is *...*; nothing is entity-escaped twice
    assert "*Aid* is now *passed*: Senate &lt;passes&gt; aid &amp; " in text
    assert "&amp;lt;" not in text and "<x|" not in text and "<y|" not in text


FORMATS = """\
settings: {{backlog: {{alerts: 1d}}}}
feeds:
  wire: {{url: "{url}"}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, aid], any: [passes], scope: [title]}}
alerts:
  - name: aid-changed
    on: {{fact: aid}}
  - name: drones
    on: {{items: {{all: [drones]}}}}
channels:
  plain: {{url: "{hook}/plain", format: text}}
  auto: "{hook}/auto"
  rich: {{url: "{hook}/rich", format: markdown}}
  chat: {{url: "${{CHAT_URL}}", format: markdown}}
"""
HOSTILE = "Drones *strike* [x](https://evil.example) <b>bold</b> _u_ `c` # h"   # as stored: tags in the feed
FEED_HOSTILE = HOSTILE.replace("<", "&lt;").replace(">", "&gt;")               # were entities


def test_every_channel_gets_its_format_and_feed_text_never_becomes_markup(tmp_path, feed_server, receiver,
                                                                          monkeypatch):
    """Webhooks behind json:// (format text, auto, markdown) and a service that writes the title
    into a markdown body (Mattermost's webhook, mmost://), all at the real webhook receiver."""
    from datetime import datetime, UTC

    from apprise.conversion.format import markdown_to_html

    from watcher.app import Settings, Watcher

    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, FORMATS.format(url=feed_server.url("/wire.xml"), hook=receiver.url("")))
    monkeypatch.setenv("CHAT_URL", f"mmost://127.0.0.1:{receiver.port}/abcdefghijklmnop")
    now = rfc822(datetime.now(UTC))
    feed_server.set("/wire.xml", rss([
        {"title": FEED_HOSTILE, "guid": "d", "link": "https://news.example/d", "pubDate": now,
         "description": "Long-range drones &amp; **more** [y](javascript:alert(1))"},
        {"title": "Senate passes Ukraine aid", "guid": "p", "link": "https://news.example/p", "pubDate": now}]))

    async def check():
        watcher = Watcher(Settings(rules=rules, db=tmp_path / "w.db", parse_workers=0, watch_rules=False,
                                   allow_addresses=LOOPBACK), console=io.StringIO())
        await watcher.open()
        try:
            return await watcher.check_all()
        finally:
            await watcher.close()

    _, report = asyncio.run(check())
    assert report.sent == 8, report
    got = {(path, r.get("title") or r["text"].split("\r\n", 1)[0]): r.get("message") or r["text"]
           for path, r in zip(receiver.paths, receiver.received, strict=True)}
    fact_title = "US aid package for Ukraine: stalled → passed-senate"
    for path in ("/plain", "/auto"):            # text: the feed's words, the template's markup gone
        item, fact = got[(path, HOSTILE)], got[(path, fact_title)]
        assert "Long-range drones & **more** [y](javascript:alert(1))" in item and "\\" not in item
        assert item.endswith("drones: Drones") and "<https://" not in item and "https://news.example/d" in item
        assert fact.startswith("US aid package for Ukraine is now passed-senate (was stalled since ")
        assert "**" not in fact and "- Senate passes Ukraine aid (wire, " in fact
    rich = got[("/rich", HOSTILE)]              # markdown: the feed's words escaped, the template's markup kept
    assert "Long-range drones & \\*\\*more\\*\\* \\[y\\](javascript:alert(1))" in rich and rich.endswith("_")
    html = markdown_to_html(rich)
    assert "<strong>more</strong>" not in html and 'href="javascript' not in html and "<em>drones: Drones</em>" in html
    assert "**US aid package for Ukraine** is now **passed-senate**" in got[("/rich", fact_title)]
    # a title written into a markdown body is escaped like any feed text
    chat_item = next(v for (p, t), v in got.items() if p.startswith("/hooks/") and "strike" in t)
    chat_title = chat_item.split("\r\n", 1)[0]
    assert chat_title == escape_markdown(HOSTILE)
    assert "<a" not in markdown_to_html(chat_title) and "<b>" not in markdown_to_html(chat_title)
