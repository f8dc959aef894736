"""Read-only queries for the status page, the JSON API and the scrape-time metrics.

These run on the HTTP server's threads, each request on its own read-only connection
(``open_readonly``): SQLite in WAL mode lets them read a consistent snapshot while the daemon's
own connection writes, and nothing here can write by mistake.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..timefmt import iso, parse_iso
from . import ledger

def open_readonly(path: str | Path, *, timeout: float = 5.0) -> Database:
    """A read-only connection to the state database (for any thread; close it after use)."""
    conn = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=timeout,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return Database(conn)


def has_table(db: Database, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone() is not None


def pending_observations(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Reports waiting for corroboration (``fact_observations`` in state pending), by fact, newest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in db.query("SELECT fact, value, title, link, feed, quote, seen_at FROM fact_observations "
                        "WHERE state = 'pending' ORDER BY id DESC LIMIT 500"):
        out.setdefault(row["fact"], []).append(dict(row))
    return out


def outbox_stats(db: Database, now: datetime) -> dict[str, Any]:
    """Deliveries by state, alerts by kind, and the depth and age of what waits to be sent."""
    deliveries = {r["state"]: r["n"] for r in db.query("SELECT state, count(*) AS n FROM deliveries GROUP BY state")}
    alerts = {r["kind"]: r["n"] for r in db.query("SELECT kind, count(*) AS n FROM alerts GROUP BY kind")}
    row = db.execute("SELECT count(*), min(created_at) FROM deliveries WHERE state IN ('pending', 'failed')").fetchone()
    oldest = parse_iso(row[1])
    return {"deliveries": deliveries, "alerts": alerts, "depth": row[0],
            "oldest_age": (now - oldest).total_seconds() if oldest else 0.0}


def open_outages(db: Database) -> dict[str, dict[str, Any]]:
    """Feeds that are down now: feed -> its open outage row."""
    return {r["feed"]: dict(r) for r in db.query("SELECT * FROM feed_outages WHERE ended_at IS NULL")}


def timeline(db: Database, fact: str | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    """Fact changes (of one fact, or of all), newest first, each with its evidence, as plain dicts."""
    return [{"id": e.id, "fact": e.fact, "old": e.old, "new": e.new, "at": iso(e.at), "cause": e.cause,
             "note": e.note, "rules_hash": e.rules_hash,
             "evidence": [{"item_id": v.item_id, "feed": v.feed, "title": v.title, "link": v.link, "quote": v.quote,
                           "published_at": iso(v.published_at)} for v in e.evidence]}
            for e in ledger.fact_history(db, fact, limit=limit)]


# a phrase in double quotes (an unclosed quote runs to the end) or a word, each maybe ending in *
_TERMS = re.compile(r'"([^"]*)"?(\*?)|([^\s"]+)')


def fts_query(text: str) -> str:
    """What a person typed -> an FTS5 query that is never a syntax error ("" when nothing is left).

    Every word must appear (stemmed: ``flood`` finds "flooding"); ``"senate aid"`` is a phrase
    (those words in a row); a word or phrase ending in ``*`` is a prefix (``ukrain*``). Anything
    else is taken literally: each term goes to FTS5 as a quoted string, so ``AND``, ``OR``,
    ``NEAR``, ``-``, ``:``, ``(`` and unbalanced quotes are plain text, and NUL bytes (which end
    FTS5's reading of the query: "unterminated string") are spaces.
    """
    terms = []
    for phrase, star, word in _TERMS.findall(text.replace("\x00", " ")):
        if word:
            star = "*" if word.endswith("*") else ""
            phrase = word.rstrip("*")
        if phrase.strip():
            terms.append(f'"{phrase}"{star}')
    return " ".join(terms)


def search_items(db: Database, query: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Full-text search over stored items (``fts_query`` says how the text is read), best first."""
    match = fts_query(query)
    if not match:
        return []
    return [dict(r) for r in db["items"].search(match, limit=limit, quote=False,
                                                columns=["id", "feed", "title", "link", "published_at",
                                                         "first_seen_at"])]


def heartbeat(db: Database) -> datetime | None:
    """When the running daemon last proved the database writable."""
    if not has_table(db, "_heartbeat"):
        return None
    row = db.execute("SELECT at FROM _heartbeat WHERE id = 1").fetchone()
    return parse_iso(row[0]) if row else None
