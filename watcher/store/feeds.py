"""The ``feeds`` table: one row per feed with its validators, health and next poll time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from collections.abc import Mapping

from sqlite_utils import Database

from ..models import describe_cut
from ..timefmt import iso, parse_iso


@dataclass(frozen=True)
class FeedRow:
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    status: str | None = None
    error: str | None = None
    error_kind: str | None = None
    error_streak: int = 0
    polls: int = 0
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_at: datetime | None = None
    first_success_at: datetime | None = None
    next_poll_at: datetime | None = None
    removed_at: datetime | None = None
    interval_s: float | None = None       # the wait chosen after the last poll (before spreading)
    interval_reason: str | None = None    # rules, adaptive, server, backoff, retry-after, gone
    server_hint_s: float | None = None    # the server's lower bound (ttl, max-age, Expires)
    http_status: int | None = None        # of the last answer
    moved_to: str | None = None           # where a permanent redirect points
    last_error_at: datetime | None = None
    fetch_s: float | None = None          # how long the last fetch took (to the last byte or the failure)
    items_total: int | None = None        # entries in the last parsed document
    items_cut: int | None = None          # of those, past the limit per poll and not read

    @property
    def note(self) -> str | None:
        """What the operator should know besides the error: a cut document, a permanent move."""
        notes = [describe_cut(self.items_total or 0, self.items_cut or 0),
                 f"moved permanently to {self.moved_to}" if self.moved_to else None]
        return "; ".join(n for n in notes if n) or None

    _TIMES = ("last_poll_at", "last_success_at", "last_new_at", "first_success_at", "next_poll_at", "removed_at",
              "last_error_at")
    _PLAIN = ("name", "url", "etag", "last_modified", "body_hash", "status", "error", "error_kind", "error_streak",
              "polls", "interval_s", "interval_reason", "server_hint_s", "http_status", "moved_to", "fetch_s",
              "items_total", "items_cut")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FeedRow:
        times = {k: parse_iso(row[k]) for k in cls._TIMES}
        plain = {k: row[k] for k in cls._PLAIN}
        return cls(**plain, **times)

    @property
    def failing(self) -> bool:
        return self.error_streak > 0

    @property
    def health(self) -> str:
        """What `watcher feeds`, the status page and /api/feeds call the feed's state: ``new``
        (never polled), ``gone`` (the server answered 410 Gone: fix or remove the feed),
        ``failing`` (its last poll failed) or ``ok``."""
        if self.last_poll_at is None:
            return "new"
        if self.status == "gone":
            return "gone"
        return "failing" if self.error_streak else "ok"


def sync_feeds(db: Database, feeds: Mapping[str, str], now: datetime) -> None:
    """Make the table follow the rules: add new feeds, note URL changes, mark removed ones.

    ``feeds`` maps name -> URL. A feed whose URL changed forgets its validators (they belong
    to the old address) but keeps its items. A removed feed keeps its row and items.
    """
    with db.atomic():
        existing = {r["name"]: r for r in db.query("SELECT name, url, removed_at FROM feeds")}
        for name, url in feeds.items():
            row = existing.get(name)
            if row is None:
                db.execute("INSERT INTO feeds (name, url) VALUES (?, ?)", [name, url])
            elif row["url"] != url:
                db.execute("UPDATE feeds SET url = ?, etag = NULL, last_modified = NULL, body_hash = NULL, "
                           "removed_at = NULL WHERE name = ?", [url, name])
            elif row["removed_at"] is not None:
                db.execute("UPDATE feeds SET removed_at = NULL WHERE name = ?", [name])
        for name, row in existing.items():
            if name not in feeds and row["removed_at"] is None:
                db.execute("UPDATE feeds SET removed_at = ? WHERE name = ?", [iso(now), name])


def feed_row(db: Database, name: str) -> FeedRow | None:
    """Read-only: one feed's row."""
    rows = list(db.query("SELECT * FROM feeds WHERE name = ?", [name]))
    return FeedRow.from_row(rows[0]) if rows else None


def feed_rows(db: Database, *, include_removed: bool = False) -> list[FeedRow]:
    """Read-only: every feed, by name."""
    where = "" if include_removed else " WHERE removed_at IS NULL"
    return [FeedRow.from_row(r) for r in db.query(f"SELECT * FROM feeds{where} ORDER BY name")]


def record_poll(db: Database, name: str, *, outcome: str, now: datetime, next_poll_at: datetime,
                error: str | None = None, error_kind: str | None = None, etag: str | None = None,
                last_modified: str | None = None, body_hash: str | None = None,
                reached: bool = False, parsed: bool = False, found_new: bool = False,
                interval: float | None = None, interval_reason: str | None = None,
                server_hint: float | None = None, http_status: int | None = None,
                moved_to: str | None = None, fetch_seconds: float | None = None,
                items: tuple[int, int] | None = None) -> None:
    """Write the outcome of one poll. ``reached``: the server answered 200/304;
    ``parsed``: a body was parsed (the first one ends the feed's backlog); ``moved_to``: the
    target of a permanent redirect (cleared by a poll that was not redirected);
    ``fetch_seconds``: how long the fetch took (None: it never reached the network);
    ``items``: the parsed document's entries and how many of them were cut."""
    sets = ["status = ?", "polls = polls + 1", "last_poll_at = ?", "next_poll_at = ?", "interval_s = ?",
            "interval_reason = ?", "http_status = ?"]
    args: list[Any] = [outcome, iso(now), iso(next_poll_at), interval, interval_reason, http_status]
    if reached:
        sets += ["server_hint_s = ?", "moved_to = ?"]
        args += [server_hint, moved_to]
    if error is not None:
        sets += ["error = ?", "error_kind = ?", "error_streak = error_streak + 1", "last_error_at = ?"]
        args += [error, error_kind, iso(now)]
    else:
        sets += ["error = NULL", "error_kind = NULL", "error_streak = 0"]
    if reached:
        sets.append("last_success_at = ?")
        args.append(iso(now))
    if etag is not None or last_modified is not None or body_hash is not None:
        sets += ["etag = ?", "last_modified = ?", "body_hash = ?"]
        args += [etag, last_modified, body_hash]
    if parsed:
        sets.append("first_success_at = COALESCE(first_success_at, ?)")
        args.append(iso(now))
    if found_new:
        sets.append("last_new_at = ?")
        args.append(iso(now))
    if fetch_seconds is not None:
        sets.append("fetch_s = ?")
        args.append(round(fetch_seconds, 3))
    if items is not None:
        sets += ["items_total = ?", "items_cut = ?"]
        args += list(items)
    db.execute(f"UPDATE feeds SET {', '.join(sets)} WHERE name = ?", [*args, name])
