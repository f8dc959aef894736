"""The state database: real SQLite files, migrations, new-item detection, the ledger, the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from watcher.errors import LockedError
from watcher.models import AlertDraft, Evidence, FactChange, Item
from watcher.store import StateLock, feeds, items, ledger, open_database, outbox

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
    assert applied[0] == "m001_initial" and len(applied) == len(set(applied))
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
