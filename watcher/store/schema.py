"""The database schema as an ordered set of sqlite-utils migrations, applied at every start.

Add a migration at the end to change the schema; never edit one that has shipped. Tables are
plural snake_case, timestamps ISO-8601 UTC text with an ``_at`` suffix, internal tables start
with ``_``. The schema is meant to be browsed with Datasette or the ``sqlite-utils`` CLI.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("watcher")


@migrations()
def m001_initial(db: Database) -> None:
    db.execute("""
    CREATE TABLE feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,                 -- of the last 200 body: an identical body skips parsing
        status TEXT,                    -- outcome of the last poll: new, unchanged, not_modified, error, gone
        error TEXT,                     -- the last error, if the last poll failed
        error_kind TEXT,
        error_streak INTEGER NOT NULL DEFAULT 0,
        polls INTEGER NOT NULL DEFAULT 0,
        last_poll_at TEXT,
        last_success_at TEXT,           -- last poll that reached the server and got a feed (200 or 304)
        last_new_at TEXT,               -- last poll that found a new item
        first_success_at TEXT,          -- first successful parse: items before it are the backlog
        next_poll_at TEXT,
        removed_at TEXT                 -- no longer in the rules; rows stay for history
    )""")
    db.execute("""
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        feed TEXT NOT NULL REFERENCES feeds(name),
        key TEXT NOT NULL,              -- identity within the feed: g:guid, l:canonical link, h:hash
        guid TEXT,
        link TEXT,
        title TEXT NOT NULL,
        summary TEXT NOT NULL,
        content TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '[]',
        published_at TEXT,
        updated_at TEXT,
        first_seen_at TEXT NOT NULL,
        changed_at TEXT,                -- last time its text changed under the same identity
        revisions INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT NOT NULL,
        story TEXT NOT NULL DEFAULT '', -- groups one story across feeds
        backlog INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed, key)
    )""")
    db.execute("CREATE INDEX items_story ON items(story)")
    db.execute("CREATE INDEX items_first_seen ON items(first_seen_at)")
    db.execute("""
    CREATE TABLE fact_changes (
        id INTEGER PRIMARY KEY,
        fact TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT NOT NULL,
        at TEXT NOT NULL,
        cause TEXT NOT NULL,            -- signal, operator, rules
        note TEXT NOT NULL DEFAULT '',
        rules_hash TEXT NOT NULL DEFAULT '',
        old_since_at TEXT
    )""")
    db.execute("CREATE INDEX fact_changes_fact ON fact_changes(fact, id)")
    db.execute("""
    CREATE TABLE facts (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        since_at TEXT NOT NULL,
        source TEXT NOT NULL,           -- rules, signal, operator
        rules_known TEXT,               -- the rule file's `known:` when last applied
        change_id INTEGER REFERENCES fact_changes(id)
    )""")
    db.execute("""
    CREATE TABLE fact_evidence (
        id INTEGER PRIMARY KEY,
        change_id INTEGER NOT NULL REFERENCES fact_changes(id),
        item_id INTEGER REFERENCES items(id),
        feed TEXT NOT NULL,
        title TEXT NOT NULL,
        link TEXT,
        quote TEXT NOT NULL,
        published_at TEXT
    )""")
    db.execute("CREATE INDEX fact_evidence_change ON fact_evidence(change_id)")
    db.execute("""
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        kind TEXT NOT NULL,             -- item, fact
        severity TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,             -- markdown
        text TEXT NOT NULL,             -- plain text
        created_at TEXT NOT NULL,
        item_id INTEGER REFERENCES items(id),
        fact TEXT,
        fact_change_id INTEGER REFERENCES fact_changes(id)
    )""")
    db.execute("""
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts(id),
        channel TEXT NOT NULL,
        state TEXT NOT NULL,            -- pending, failed, sent, dead
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_attempt_at TEXT,
        last_error TEXT,
        sent_at TEXT,
        UNIQUE (alert_id, channel)
    )""")
    db.execute("CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at)")



@migrations()
def m010_polling(db: Database) -> None:
    """How each feed is polled (effective interval and why, the server's lower bound, the last
    HTTP status, a permanent redirect) and what groups items into stories across feeds."""
    for column, kind in (("interval_s", "REAL"),        # the wait chosen after the last poll, before spreading
                         ("interval_reason", "TEXT"),   # rules, adaptive, server, backoff, retry-after, gone
                         ("server_hint_s", "REAL"),     # ttl / max-age / Expires of the last answer
                         ("http_status", "INTEGER"),    # of the last answer (200, 304, 429, ...)
                         ("moved_to", "TEXT"),          # a permanent redirect's target: update the rules
                         ("last_error_at", "TEXT")):
        db.execute(f"ALTER TABLE feeds ADD COLUMN {column} {kind}")
    db.execute("CREATE INDEX items_feed ON items(feed)")        # (feed, rowid): a feed's latest items
    # Marks a story can be recognised by in another feed (identity.story_marks): its canonical
    # link (l:), its normalised title (t:) and the smallest hashes of its text's word pairs (m:),
    # with the text's whole sketch to confirm a near-duplicate. No foreign key, so deleting old
    # items never trips on them; a mark whose item is gone still names its story.
    db.execute("""
    CREATE TABLE story_marks (
        mark TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        item_id INTEGER NOT NULL,
        story TEXT NOT NULL,
        feed TEXT NOT NULL,
        sketch BLOB NOT NULL DEFAULT x'',  -- the text's signature (identity.SKETCH_BYTES), on text marks only
        PRIMARY KEY (mark, seen_at, item_id)
    ) WITHOUT ROWID""")


def apply(db: Database) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
