from __future__ import annotations

import pytest

from watcher.identity import canonical_url, html_to_text, item_key, story_key


@pytest.mark.parametrize("url,canonical", [
    ("HTTPS://News.Example.COM:443/a/b?utm_source=rss&id=7#top", "https://news.example.com/a/b?id=7"),
    ("http://x.example:80/p?fbclid=1&gclid=2", "http://x.example/p"),
    ("http://x.example:8080/p?a=1&utm_medium=x&b=2", "http://x.example:8080/p?a=1&b=2"),
    ("https://x.example", "https://x.example/"),
    ("mailto:someone@example.com", "mailto:someone@example.com"),
])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_tracking_parameters_do_not_change_identity():
    a = item_key(None, "https://n.example/story?utm_source=twitter", "T", "x")
    b = item_key(None, "https://n.example/story?utm_source=rss&utm_campaign=z", "T", "x")
    assert a == b == "l:https://n.example/story"
    assert item_key("https://n.example/story?utm_source=a", None, "T", "x") == "g:https://n.example/story"
    assert item_key("tag:n.example,2024:1", "https://n.example/story", "T", "x") == "g:tag:n.example,2024:1"
    assert item_key(None, None, "T", "x").startswith("h:")


def test_story_key_groups_the_same_headline_across_feeds():
    assert story_key(None, "Senate passes Ukraine aid!") == story_key(None, "senate passes  ukraine aid")
    assert story_key("https://a.example/x?utm_source=1", "A") == "l:https://a.example/x"


def test_html_to_text():
    markup = "<p>Senate <b>passes</b> aid&nbsp;&amp; more</p><script>alert(1)</script><p>Second</p>"
    assert html_to_text(markup) == "Senate passes aid & more\nSecond"
