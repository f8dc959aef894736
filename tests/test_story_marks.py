"""Story recognition in the store (``items._EarlierStories``) against a plain reference: every
earlier item is compared with every new one, by link, title and text marks, as ``identity``
defines them. The store looks marks up through the ``story_marks`` key and compares at most
``TEXT_CANDIDATES`` earlier carriers per text mark; below that bound both must give the same
stories (differential test, with hypothesis), and beyond it a copied text is still recognised."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from watcher.identity import (STORY_WINDOW, content_hash, item_key, near_duplicate, story_key, story_marks,
                              text_marks, item_sketch)
from watcher.models import Item
from watcher.store import feeds, items, open_database

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FEEDS = ("a", "b", "c")
LINKS = tuple(f"https://wire.example/{n}" for n in range(4))
TITLES = ("Senate passes the Ukraine aid package", "House leaders block the aid vote", "Update", "News",
          "Short one")
# a small vocabulary, so that texts share word pairs, bands and whole signatures
SENTENCES = ("the senate voted to approve the long stalled package of military aid for ukraine",
             "house leaders said the vote would not happen before the recess in april",
             "officials in kyiv welcomed the decision and asked for air defence systems",
             "heavy rain flooded the harbour district and the council closed three bridges",
             "engineers inspected the river walls overnight while residents waited for news")


@dataclass
class _Seen:
    feed: str
    seen_at: datetime
    story: str
    link: str | None
    title: str | None
    sketch: tuple[int, ...]
    marks: list[str]


def _reference(earlier: list[_Seen], feed: str, item: Item, now: datetime) -> str | None:
    """What ``identity`` says: the earliest item with the link (any age, any feed), else the earliest
    item of another feed within the window with the title, else, text mark by text mark, the
    earliest item of another feed within the window that carries it and is a near-duplicate."""
    sm = story_marks(item.link, item.title, item.summary, item.content, item.sketch or None)
    since = now - timedelta(seconds=STORY_WINDOW)
    if sm.link:
        for e in earlier:
            if e.link == sm.link:
                return e.story
    recent = [e for e in earlier if e.feed != feed and e.seen_at >= since]
    if sm.title:
        for e in recent:
            if e.title == sm.title:
                return e.story
    for mark in text_marks(sm.sketch):
        for e in recent:
            if mark in e.marks and near_duplicate(sm.sketch, e.sketch):
                return e.story
    return None


def _item(key: str, link: str | None, title: str, words: list[str]) -> Item:
    summary = " ".join(words)
    return Item(key=item_key(key, link, title, summary), title=title, link=link, summary=summary,
                content_hash=content_hash(title, summary, ""), story=story_key(link, title),
                sketch=item_sketch(title, summary, ""))


# texts of one to three sentences, sometimes edited a little (a copy with a credit line, a word cut)
def _edited(sentences: list[str], edit: str) -> list[str]:
    words = " ".join(sentences).split()
    return words + ["reuters"] if edit == "reuters" else words[:-1] if edit == "cut" else words


_texts = st.builds(_edited, st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=3),
                   st.sampled_from(("", "reuters", "cut")))
_links = st.one_of(st.none(), st.none(), st.sampled_from(LINKS))
_items = st.tuples(st.sampled_from(FEEDS), _links, st.sampled_from(TITLES), _texts)
# polls: (hours after the previous poll, items of one feed)
_polls = st.lists(st.tuples(st.sampled_from((0, 1, 30, 60)), st.lists(_items, min_size=1, max_size=4)),
                  min_size=1, max_size=8)


@pytest.fixture
def fresh_db(tmp_path_factory):
    def make():
        db = open_database(tmp_path_factory.mktemp("stories") / "state.db")
        feeds.sync_feeds(db, {f: f"https://{f}.example/rss" for f in FEEDS}, NOW)
        return db
    return make


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(polls=_polls)
def test_stories_are_those_of_the_plain_comparison(fresh_db, polls):
    db = fresh_db()
    earlier: list[_Seen] = []
    now, serial = NOW, 0
    try:
        for hours, batch in polls:
            now += timedelta(hours=hours)
            feed = batch[0][0]
            poll = []
            for _, link, title, words in batch:
                serial += 1
                poll.append(_item(f"k{serial}", link, title, words))
            new, _ = items.record_items(db, feed, poll, now, backlog=False)
            for stored in new:
                item = stored.item
                original = next(i for i in poll if i.key == item.key)
                expected = _reference(earlier, feed, original, now) or original.story or f"k:{feed}/{item.key}"
                assert item.story == expected
                sm = story_marks(item.link, item.title, item.summary, item.content, item.sketch or None)
                earlier.append(_Seen(feed, now, item.story, sm.link, sm.title, sm.sketch, sm.marks()))
    finally:
        db.conn.close()


def _crowd(text: list[str], count: int) -> list[Item]:
    """``count`` texts that each share one text mark with ``text`` (the same one) without being
    near-duplicates of it: a piece of ``text`` and other words (a seeded, bounded search)."""
    target = _item("t", None, "Report", text).sketch
    marks = text_marks(target)
    rng = random.Random(7)
    found: dict[str, list[Item]] = {}
    for n in range(5000):
        start, length = rng.randrange(len(text)), rng.randrange(6, 18)
        words = text[start:start + length] + [f"filler{rng.randrange(10_000)}" for _ in range(rng.randrange(8, 20))]
        candidate = _item(f"c{n}", None, "Report", words)
        shared = [m for m in text_marks(candidate.sketch) if m in marks]
        if shared and not near_duplicate(target, candidate.sketch):
            found.setdefault(shared[0], []).append(candidate)
            if len(found[shared[0]]) == count:
                return found[shared[0]]
    raise AssertionError("no crowd found")


def test_a_copy_is_recognised_past_a_mark_many_other_texts_carry(fresh_db):
    """Boilerplate: many earlier items of other feeds share a text mark with a report and its copy
    but are not near-duplicates of them. Only the first carriers of that mark are compared; the
    copy is found through its other marks."""
    db = fresh_db()
    text = (SENTENCES[0] + " " + SENTENCES[2] + " " + SENTENCES[4]).split()
    crowd = _crowd(text, items.TEXT_CANDIDATES + 5)
    items.record_items(db, "b", crowd, NOW, backlog=False)
    (original,), _ = items.record_items(db, "a", [_item("o", None, "Report", text)],
                                       NOW + timedelta(minutes=1), backlog=False)
    copy = _item("copy", None, "Report", text + ["(Reuters)"])
    (found,), _ = items.record_items(db, "c", [copy], NOW + timedelta(minutes=2), backlog=False)
    carriers = [db.execute("SELECT count(*) FROM story_marks WHERE mark = ? AND feed = 'b'", [mark]).fetchone()[0]
                for mark in text_marks(copy.sketch)]
    db.conn.close()
    assert near_duplicate(copy.sketch, original.item.sketch)
    assert max(carriers) > items.TEXT_CANDIDATES      # a mark the crowd made popular, seen first
    assert found.item.story == original.item.story != ""
