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


WIRE = ("The Senate voted 70 to 29 early on Tuesday to approve a long-stalled package of military aid "
        "for Ukraine, sending it to the House where its fate remains uncertain after months of delay.")


def test_near_duplicate_texts_share_a_sketch_and_different_ones_do_not():
    from watcher.identity import near_duplicate, text_sketch

    edited = WIRE.replace("early on Tuesday", "on Tuesday").replace("uncertain", "unclear") + " (AP)"
    other = ("Heavy rain flooded the harbour district overnight and the city council closed three bridges "
             "while engineers inspected the river walls for damage before the morning commute began.")
    assert near_duplicate(text_sketch(WIRE), text_sketch(edited))
    assert not near_duplicate(text_sketch(WIRE), text_sketch(other))
    assert text_sketch("too short to say anything") == ()


def test_story_marks_skip_short_titles():
    from watcher.identity import story_marks

    marks = story_marks("https://a.example/x?utm_source=1", "Senate passes Ukraine aid", WIRE)
    assert marks.link == "l:https://a.example/x" and marks.title and len(marks.sketch) == 12
    assert story_marks(None, "Live updates", "").title is None
    assert story_marks(None, "Live updates", "").marks() == []
