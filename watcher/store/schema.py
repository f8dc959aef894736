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
def m020_fact_evidence(db: Database) -> None:
    """Observations that wait for corroboration (or supported a value), notices about facts
    (pending reports, contradictions, reviews), and richer provenance on changes."""
    db.execute("""
    CREATE TABLE fact_observations (
        id INTEGER PRIMARY KEY,
        fact TEXT NOT NULL,
        value TEXT NOT NULL,            -- as the fact stores it (canonical number, status, text)
        state TEXT NOT NULL,            -- pending, applied, confirmed, stale, expired, superseded
        item_id INTEGER REFERENCES items(id),
        feed TEXT NOT NULL,
        story TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL,
        link TEXT,
        content_hash TEXT NOT NULL DEFAULT '',
        text_key TEXT NOT NULL DEFAULT '',   -- fingerprint of the summary (syndicated copies share it)
        quote TEXT NOT NULL,            -- the sentence(s) the claim was read from
        hits TEXT NOT NULL DEFAULT '[]',     -- JSON [{term, field, start, end, text}]
        signal INTEGER NOT NULL,
        backwards INTEGER NOT NULL DEFAULT 0,
        published_at TEXT,
        seen_at TEXT NOT NULL,          -- when the item was first seen: the clock of the window
        decided_at TEXT NOT NULL,       -- when its state last changed
        change_id INTEGER REFERENCES fact_changes(id),
        rules_hash TEXT NOT NULL DEFAULT '',
        UNIQUE (fact, item_id, value)
    )""")
    db.execute("CREATE INDEX fact_observations_live ON fact_observations(state, seen_at)")
    db.execute("CREATE INDEX fact_observations_fact ON fact_observations(fact, id)")
    db.execute("CREATE INDEX fact_observations_item ON fact_observations(item_id)")
    db.execute("""
    CREATE TABLE fact_notices (
        id INTEGER PRIMARY KEY,
        fact TEXT NOT NULL,
        kind TEXT NOT NULL,             -- pending, contradiction, review
        current_value TEXT NOT NULL,
        claims TEXT NOT NULL,           -- JSON [[value, independent sources], ...]
        opened_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,       -- when its last observation leaves the window
        closed_at TEXT,
        resolution TEXT,                -- expired, operator
        rules_hash TEXT NOT NULL DEFAULT ''
    )""")
    db.execute("CREATE INDEX fact_notices_open ON fact_notices(fact, kind, closed_at)")
    db.execute("""
    CREATE TABLE fact_notice_observations (
        notice_id INTEGER NOT NULL REFERENCES fact_notices(id),
        observation_id INTEGER NOT NULL REFERENCES fact_observations(id),
        PRIMARY KEY (notice_id, observation_id)
    )""")
    db.execute("ALTER TABLE fact_changes ADD COLUMN sources INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE fact_changes ADD COLUMN direction TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE fact_changes ADD COLUMN disputed TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE fact_evidence ADD COLUMN hits TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE fact_evidence ADD COLUMN value TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE fact_evidence ADD COLUMN observation_id INTEGER REFERENCES fact_observations(id)")


def apply(db: Database) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending
