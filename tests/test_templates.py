"""Feed text in messages: escaped so that what apprise makes of our markdown (HTML for email,
mrkdwn for Slack) shows the text as it was, with no markup, link or emphasis of its own."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from hypothesis import given, settings, strategies as st

from watcher.templates import escape_markdown, render


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


FEED_TEXT = st.text(alphabet=st.sampled_from(list("abmpx 19.\\`*_[]()<>#+-=!~|&;:/\"'\n")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(FEED_TEXT)
def test_escaped_text_comes_out_of_apprise_as_the_same_text_and_no_markup(text):
    parsed = _html(escape_markdown(text))
    assert set(parsed.tags) <= {"p", "br"}, parsed.tags
    assert " ".join("".join(parsed.parts).split()) == " ".join(text.split())


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
