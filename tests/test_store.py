"""The state database: real SQLite files, migrations, new-item detection, the ledger, the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from watcher.errors import LockedError
from watcher.models import AlertDraft, Evidence, FactChange, Item
from watcher.store import StateLock, feeds, items, ledger, open_database, outbox, schema

NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "state.db")
    feeds.sync_feeds(database, {"wire": "https://w.example/rss"}, NOW)
    yield database
    database.conn.close()


def item(key: str, title: str = "t", summary: str = "s") -> Item:
    return Item(key=key, title=title, link=None, summary=summary, content_hash=f"{title}|{summary}")


def test_schema_is_migrated_once_and_in_wal_mode(tmp_path):
    first = open_database(tmp_path / "s.db")
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    first.conn.close()
    again = open_database(tmp_path / "s.db")
    applied = [r["name"] for r in again.query("SELECT name FROM _sqlite_migrations")]
    assert applied[0] == "m001_initial" and len(applied) == len(set(applied))  # each migration once
    assert schema.migrations.pending(again) == []
    again.conn.close()


def test_record_items_returns_only_new_and_detects_updates(db):
    new, updated = items.record_items(db, "wire", [item("a"), item("b"), item("a")], NOW, backlog=False)
    assert [s.item.key for s in new] == ["a", "b"] and updated == []
    new, updated = items.record_items(db, "wire", [item("a"), item("b", title="changed")], NOW, backlog=False)
    assert new == [] and [s.item.key for s in updated] == ["b"]
    assert db.execute("SELECT revisions, title FROM items WHERE key = 'b'").fetchone() == (1, "changed")


def test_foreign_keys_are_enforced(db):
    import sqlite3
    with pytest.raises(sqlite3.IntegrityError):
        items.record_items(db, "no-such-feed", [item("a")], NOW, backlog=False)


def test_ledger_sync_and_history(db):
    changes = ledger.sync_known(db, {"aid": "stalled"}, NOW, "r1")
    assert [(c.old, c.new, c.cause) for c in changes] == [("", "stalled", "rules")]
    assert ledger.sync_known(db, {"aid": "stalled"}, NOW, "r1") == []            # unchanged rule: nothing
    change = FactChange("aid", "stalled", "passed-senate", NOW + timedelta(hours=1), "signal",
                        (Evidence(None, "wire", "Senate passes aid", "https://x", "Senate … passes"),), rules_hash="r2")
    ledger.save_change(db, change)
    # the rule file still says stalled, but that is not an edit of it: the ledger's value stands
    assert ledger.sync_known(db, {"aid": "stalled"}, NOW, "r1") == []
    assert ledger.known_facts(db)["aid"].value == "passed-senate"
    # editing known: in the rule file is a correction
    (fix,) = ledger.sync_known(db, {"aid": "blocked"}, NOW + timedelta(hours=2), "r3")
    assert (fix.old, fix.new, fix.cause) == ("passed-senate", "blocked", "rules")
    history = ledger.fact_history(db, "aid")
    assert [(h.old, h.new) for h in history] == [("passed-senate", "blocked"), ("stalled", "passed-senate"),
                                                 (None, "stalled")]
    assert history[1].evidence[0].title == "Senate passes aid" and history[1].rules_hash == "r2"


def draft(key: str, channels=("a", "b")) -> AlertDraft:
    return AlertDraft(rule="r", dedupe_key=key, kind="item", title=key, body="b", text="t", channels=channels)


def test_outbox_dedupes_and_orders_per_channel(db):
    assert outbox.enqueue(db, draft("k1"), NOW) is not None
    assert outbox.enqueue(db, draft("k1"), NOW) is None
    outbox.enqueue(db, draft("k2"), NOW)
    due = outbox.due(db, NOW)
    assert [(d.title, d.channel) for d in due] == [("k1", "a"), ("k1", "b"), ("k2", "a"), ("k2", "b")]
    # k1 failed on channel a and waits for its retry: k2 must not overtake it on a
    outbox.mark_failed(db, [due[0].id], NOW, "500", retry_at=NOW + timedelta(minutes=1))
    outbox.mark_sent(db, [due[1].id], NOW)
    assert [(d.title, d.channel) for d in outbox.due(db, NOW)] == [("k2", "b")]
    later = outbox.due(db, NOW + timedelta(minutes=1))
    assert [(d.title, d.channel) for d in later] == [("k1", "a"), ("k2", "a"), ("k2", "b")]
    outbox.mark_failed(db, [due[0].id], NOW, "500", retry_at=None)              # dead: no longer blocks
    assert [d.title for d in outbox.due(db, NOW)] == ["k2", "k2"]
    assert outbox.retry(db, NOW) == 1
    assert outbox.due(db, NOW)[0].title == "k1"


def test_a_second_lock_is_refused(tmp_path):
    first = StateLock(tmp_path / "s.db")
    first.acquire()
    with pytest.raises(LockedError, match="another watcher daemon"):
        StateLock(tmp_path / "s.db").acquire()
    first.release()
    StateLock(tmp_path / "s.db").acquire()



def news(feed_key: str, title: str, link: str | None, text: str) -> Item:
    from watcher.identity import content_hash, item_key, story_key

    return Item(key=item_key(feed_key, link, title, text), title=title, link=link, summary=text,
                content_hash=content_hash(title, text, ""), story=story_key(link, title))


TEXT = ("The Senate voted 70 to 29 early on Tuesday to approve a long-stalled package of military aid "
        "for Ukraine, sending it to the House where its fate remains uncertain after months of delay.")


def test_the_same_story_in_several_feeds_gets_one_story(db):
    feeds.sync_feeds(db, {"wire": "https://w.example/rss", "a": "https://a.example/rss",
                          "b": "https://b.example/rss", "c": "https://c.example/rss"}, NOW)
    first = news("w1", "Senate passes Ukraine aid package", "https://wire.example/aid", TEXT)
    (stored,), _ = items.record_items(db, "wire", [first], NOW, backlog=False)
    story = stored.item.story
    later = NOW + timedelta(hours=2)
    same_link = news("a1", "Aid bill clears Senate", "https://wire.example/aid?utm_source=a", "Short.")
    same_title = news("b1", "Senate passes Ukraine aid package!", "https://b.example/1", "Different words here.")
    same_text = news("c1", "Ukraine aid: Senate vote", "https://c.example/9",
                     TEXT.replace("early on Tuesday", "on Tuesday") + " Reuters contributed.")
    unrelated = news("c2", "Harbour flood closes bridges", "https://c.example/10",
                     "Heavy rain flooded the harbour district overnight and the council closed three bridges "
                     "while engineers inspected the river walls.")
    results = [items.record_items(db, f, [i], later, backlog=False)[0][0]
               for f, i in (("a", same_link), ("b", same_title), ("c", same_text), ("c", unrelated))]
    assert [s.item.story for s in results[:3]] == [story] * 3
    assert results[3].item.story not in ("", story)
    stored_stories = dict(db.execute("SELECT feed || '/' || key, story FROM items").fetchall())
    assert len(set(stored_stories.values())) == 2
    assert db.execute("SELECT count(DISTINCT feed) FROM items WHERE story = ?", [story]).fetchone() == (4,)
    # a recurring headline in the same feed is a new story; so is one from another feed days later
    briefing = news("w2", "Morning briefing on the war", "https://wire.example/brief-1", "Monday.")
    (monday,), _ = items.record_items(db, "wire", [briefing], NOW, backlog=False)
    tuesday = news("w3", "Morning briefing on the war", "https://wire.example/brief-2", "Tuesday.")
    assert items.record_items(db, "wire", [tuesday], later, backlog=False)[0][0].item.story != monday.item.story
    stale = news("b9", "Senate passes Ukraine aid package", "https://b.example/9", "Old.")
    days = NOW + timedelta(days=5)
    assert items.record_items(db, "b", [stale], days, backlog=False)[0][0].item.story != story
    # but a link is the same story at any age
    relinked = news("c9", "Something else", "https://wire.example/aid", "x")
    assert items.record_items(db, "c", [relinked], days, backlog=False)[0][0].item.story == story


def test_an_update_keeps_its_story(db):
    item_a = news("k", "Senate to vote on Ukraine aid", None, TEXT)
    (stored,), _ = items.record_items(db, "wire", [item_a], NOW, backlog=False)
    changed = Item(key=item_a.key, title="Senate passes Ukraine aid", link=None, summary=TEXT,
                   content_hash="changed", story="t:other")
    new, (updated,) = items.record_items(db, "wire", [changed], NOW, backlog=False)
    assert new == [] and updated.updated and updated.item.story == stored.item.story


def test_wire_copy_in_many_feeds_is_one_story_and_each_lookup_reads_a_bounded_number_of_marks(db):
    """A text carried by 60 feeds (wire copy, boilerplate): every copy joins the first one's story,
    and a poll that meets its marks again reads at most ``TEXT_CANDIDATES`` earlier items per mark
    instead of all of them (which made polls slower as the state grew)."""
    import json

    from watcher.identity import story_marks

    names = [f"f{n}" for n in range(60)]
    feeds.sync_feeds(db, {name: f"https://{name}.example/rss" for name in names}, NOW)
    stored = [items.record_items(db, name, [news(f"{name}-1", "Senate approves long-stalled Ukraine aid package",
                                                 f"https://{name}.example/aid", TEXT)], NOW, backlog=False)[0][0]
              for name in names]
    assert len({s.item.story for s in stored}) == 1
    marks = [m for (m,) in db.execute("SELECT mark FROM story_marks WHERE mark LIKE 'm%' "
                                      "GROUP BY mark HAVING count(*) = 60")]
    assert marks                                          # the text marks every copy shares
    again = news("late-1", "Senate approves long-stalled Ukraine aid package", "https://late.example/aid", TEXT)
    marks_of_again = story_marks(again.link, again.title, again.summary, again.content)
    earlier = items._EarlierStories(db, "late", NOW, [marks_of_again])
    read = {mark: json.loads(rows) for mark, rows in earlier._texts.items() if mark in marks}
    assert set(read) == set(marks)
    assert all(len(rows) == items.TEXT_CANDIDATES for rows in read.values())
    first = sorted(read[marks[0]])                        # the earliest carriers: (seen_at, item_id, ...)
    assert {story for _, _, story, _ in first} == {stored[0].item.story}
    assert earlier.recognise(marks_of_again) == stored[0].item.story
