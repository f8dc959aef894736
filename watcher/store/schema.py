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
def m030_delivery_noise_control(db: Database) -> None:
    """Per-service delivery results, crash markers, suppression reasons, silences."""
    for column in ("feed TEXT",                          # the item's feed, or the first evidence's
                   "fact_stage INTEGER",                 # rank of an ordered fact's new value (inhibition)
                   "realert_key TEXT",                   # set when the rule has realert
                   "digest INTEGER NOT NULL DEFAULT 1"):  # may join a channel's digest
        db.execute(f"ALTER TABLE alerts ADD COLUMN {column}")
    for column in ("note TEXT",                          # why suppressed, or why held (quiet hours, digest)
                   "services_done TEXT NOT NULL DEFAULT '[]'",  # keys of the channel's services that have it
                   "sending_at TEXT"):                   # set while a send is in flight: a crash leaves it
        db.execute(f"ALTER TABLE deliveries ADD COLUMN {column}")
    db.execute("CREATE INDEX alerts_realert ON alerts(rule, realert_key, created_at)")
    db.execute("CREATE INDEX deliveries_channel ON deliveries(channel, state, alert_id)")
    db.execute("""
    CREATE TABLE delivery_attempts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        at TEXT NOT NULL,
        service TEXT NOT NULL,          -- key of one service of the channel (no secret in it)
        target TEXT NOT NULL,           -- the service's URL with secrets masked
        status TEXT NOT NULL,           -- success, failure, timeout, interrupted
        detail TEXT NOT NULL DEFAULT '' -- apprise's message, masked
    )""")
    db.execute("CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id)")
    db.execute("""
    CREATE TABLE silences (
        id INTEGER PRIMARY KEY,
        matchers TEXT NOT NULL,         -- JSON list of [key, op, value]; all must match
        comment TEXT NOT NULL DEFAULT '',
        created_by TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        ends_at TEXT NOT NULL           -- removing a silence sets this to the time of removal
    )""")
    db.execute("CREATE INDEX silences_ends ON silences(ends_at)")

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


@migrations()
def m040_items_fts(db: Database) -> None:
    """Full-text search on items (title, summary, content), kept in step by triggers.

    The table follows sqlite-utils' conventions (``items_fts``), so ``sqlite-utils search`` and
    Datasette's search box work on it, as does ``SELECT ... FROM items_fts WHERE items_fts MATCH``.
    """
    db["items"].enable_fts(["title", "summary", "content"], create_triggers=True, tokenize="porter")


@migrations()
def m041_operations(db: Database) -> None:
    """Feed outages (for feed-down alerts and the status page) and the daemon's write probe."""
    db.execute("""
    CREATE TABLE feed_outages (
        id INTEGER PRIMARY KEY,
        feed TEXT NOT NULL REFERENCES feeds(name),
        started_at TEXT NOT NULL,       -- the first failed poll after a success (or of a new feed)
        ended_at TEXT,                  -- the first successful poll after it; NULL while down
        last_error TEXT,
        failed_polls INTEGER NOT NULL DEFAULT 1
    )""")
    db.execute("CREATE INDEX feed_outages_open ON feed_outages(feed, ended_at)")
    db.execute("""
    CREATE TABLE _heartbeat (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at TEXT NOT NULL,               -- last time the running daemon proved the database writable
        pid INTEGER NOT NULL
    )""")
    db.execute("CREATE INDEX items_feed_first_seen ON items(feed, first_seen_at)")


@migrations()
def m042_views(db: Database) -> None:
    """Read-only views for browsing the state with Datasette or the sqlite-utils CLI."""
    db.execute("""
    CREATE VIEW facts_board AS
    SELECT f.name AS fact, f.value, f.since_at, f.source,
           c.old_value AS previous_value, c.cause, c.note,
           (SELECT count(*) FROM fact_evidence e WHERE e.change_id = f.change_id) AS evidence_count,
           (SELECT group_concat(e.title || COALESCE(' <' || e.link || '>', ''), char(10))
              FROM fact_evidence e WHERE e.change_id = f.change_id) AS evidence
    FROM facts f LEFT JOIN fact_changes c ON c.id = f.change_id
    ORDER BY f.name""")
    db.execute("""
    CREATE VIEW fact_timeline AS
    SELECT c.id, c.at, c.fact, c.old_value, c.new_value, c.cause, c.note, c.rules_hash,
           (SELECT count(*) FROM fact_evidence e WHERE e.change_id = c.id) AS evidence_count,
           (SELECT group_concat(e.title || COALESCE(' <' || e.link || '>', ''), char(10))
              FROM fact_evidence e WHERE e.change_id = c.id) AS evidence
    FROM fact_changes c ORDER BY c.id DESC""")
    db.execute("""
    CREATE VIEW feed_health AS
    SELECT name AS feed, url,
           CASE WHEN last_poll_at IS NULL THEN 'never polled'
                WHEN error_streak > 0 THEN 'failing' ELSE 'ok' END AS health,
           status, error_streak, last_success_at, last_poll_at, next_poll_at, error,
           (SELECT count(*) FROM items i WHERE i.feed = feeds.name) AS items
    FROM feeds WHERE removed_at IS NULL ORDER BY name""")
    db.execute("""
    CREATE VIEW alert_log AS
    SELECT a.id, a.created_at, a.rule, a.kind, a.severity, a.title, a.fact,
           (SELECT group_concat(d.channel || '=' || d.state, ', ') FROM deliveries d WHERE d.alert_id = a.id)
               AS deliveries
    FROM alerts a ORDER BY a.id DESC""")


@migrations()
def m070_items_fts_written_by_the_store(db: Database) -> None:
    """New items reach ``items_fts`` from ``items.record_items``, in the poll's transaction, as one
    batch per poll instead of through a trigger per row (which cost several times the insert of
    the item itself). Updates and deletes of items keep their triggers (they are rare)."""
    db.execute('DROP TRIGGER IF EXISTS "items_ai"')


@migrations()
def m071_fact_rechecks(db: Database) -> None:
    """When a fact with reports still pending must be weighed again although no new report came:
    the first moment one of its live reports leaves its window (which can tip the balance), noted
    with the fact's value and the rules it was weighed under. Without it every poll reread and
    reweighed every pending report of every such fact (hundreds of ms a poll on a large state)."""
    db["fact_rechecks"].create({"fact": str, "value": str, "since_at": str, "rules_hash": str, "recheck_at": str},
                               pk="fact")


@migrations()
def m072_fetch_seconds(db: Database) -> None:
    """How long each feed's last fetch took (request to last byte, or to its failure), so that
    feeds known to be slow keep their own fetch lane across restarts (``fetch.Fetcher``), and
    operators see which servers are slow (`watcher feeds`, the status page, the API)."""
    db.execute("ALTER TABLE feeds ADD COLUMN fetch_s REAL")


@migrations()
def m073_items_cut(db: Database) -> None:
    """How many entries the last parsed document had, and how many of them were past the limit
    per poll and not read (``models.MAX_ITEMS``): a cut is shown, never silent."""
    db.execute("ALTER TABLE feeds ADD COLUMN items_total INTEGER")
    db.execute("ALTER TABLE feeds ADD COLUMN items_cut INTEGER")


@migrations()
def m074_feed_health_says_gone(db: Database) -> None:
    """The ``feed_health`` view calls a feed that answered 410 Gone ``gone``, as `watcher feeds`
    and the status page do (``FeedRow.health``), not ``failing``."""
    db.execute("DROP VIEW IF EXISTS feed_health")
    db.execute("""
    CREATE VIEW feed_health AS
    SELECT name AS feed, url,
           CASE WHEN last_poll_at IS NULL THEN 'never polled' WHEN status = 'gone' THEN 'gone'
                WHEN error_streak > 0 THEN 'failing' ELSE 'ok' END AS health,
           status, error_streak, last_success_at, last_poll_at, next_poll_at, error,
           (SELECT count(*) FROM items i WHERE i.feed = feeds.name) AS items
    FROM feeds WHERE removed_at IS NULL ORDER BY name""")
