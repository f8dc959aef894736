"""``feed_outages``: each unbroken run of failed polls of a feed, opened and closed as polls end."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from collections.abc import Mapping

from sqlite_utils import Database

from ..models import FeedOutage
from ..timefmt import iso, parse_iso


def _outage(row: Mapping[str, Any]) -> FeedOutage:
    return FeedOutage(row["id"], row["feed"], parse_iso(row["started_at"]), parse_iso(row["ended_at"]),  # type: ignore[arg-type]
                      row["last_error"], row["failed_polls"])


def current(db: Database, feed: str) -> FeedOutage | None:
    """Read-only: the feed's open outage, if it is down."""
    rows = list(db.query("SELECT * FROM feed_outages WHERE feed = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
                         [feed]))
    return _outage(rows[0]) if rows else None


def open_all(db: Database) -> list[FeedOutage]:
    """Read-only: every open outage, oldest first."""
    return [_outage(r) for r in db.query("SELECT * FROM feed_outages WHERE ended_at IS NULL ORDER BY id")]


def record_failure(db: Database, feed: str, now: datetime, error: str | None) -> FeedOutage:
    """A failed poll: open an outage starting now, or extend the open one."""
    outage = current(db, feed)
    if outage is None:
        cursor = db.execute("INSERT INTO feed_outages (feed, started_at, last_error) VALUES (?, ?, ?)",
                            [feed, iso(now), error])
        return FeedOutage(cursor.lastrowid, feed, now, None, error, 1)  # type: ignore[arg-type]
    db.execute("UPDATE feed_outages SET last_error = ?, failed_polls = failed_polls + 1 WHERE id = ?",
               [error, outage.id])
    return FeedOutage(outage.id, feed, outage.started_at, None, error, outage.failed_polls + 1)


def record_success(db: Database, feed: str, now: datetime) -> FeedOutage | None:
    """A successful poll: close the open outage, if any, and return it."""
    outage = current(db, feed)
    if outage is None:
        return None
    db.execute("UPDATE feed_outages SET ended_at = ? WHERE id = ?", [iso(now), outage.id])
    return FeedOutage(outage.id, feed, outage.started_at, now, outage.last_error, outage.failed_polls)


def alerted_rules(db: Database, outage_id: int) -> list[str]:
    """Read-only: the rules that queued a "down" alert for this outage."""
    return [r["rule"] for r in db.query("SELECT rule FROM alerts WHERE kind = 'feed' AND dedupe_key LIKE ?",
                                        [f"feed-down:%:{outage_id}"])
            if r["rule"]]


def recent(db: Database, *, limit: int = 20) -> list[dict[str, Any]]:
    """Read-only: the latest outages, open or closed, newest first."""
    return [dict(r) for r in db.query("SELECT * FROM feed_outages ORDER BY id DESC LIMIT ?", [limit])]
