"""The ``items`` table: every item ever seen, unique per (feed, key). The database decides what is new."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from collections.abc import Iterator, Mapping, Sequence

from sqlite_utils import Database

from ..models import Item, StoredItem
from ..timefmt import iso, parse_iso

_CHUNK = 400  # stays under SQLite's limit on bound parameters


def record_items(db: Database, feed: str, items: Sequence[Item], now: datetime, *,
                 backlog: bool) -> tuple[list[StoredItem], list[StoredItem]]:
    """Store a poll's items; return ``(new, updated)``.

    New: a key this feed never had. Updated: a known key whose text changed (its row is
    rewritten and its revision count goes up). Call inside the poll's transaction.
    """
    known: dict[str, tuple[int, str, str, str | None]] = {}
    keys = list(dict.fromkeys(item.key for item in items))
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT key, id, content_hash, first_seen_at, published_at FROM items "
                              f"WHERE feed = ? AND key IN ({marks})", [feed, *chunk]).fetchall():
            known[row[0]] = (row[1], row[2], row[3], row[4])
    new: list[StoredItem] = []
    updated: list[StoredItem] = []
    seen_now: set[str] = set()
    for item in items:
        if item.key in seen_now:  # the same entry twice in one document
            continue
        seen_now.add(item.key)
        previous = known.get(item.key)
        if previous is None:
            cursor = db.execute(
                "INSERT INTO items (feed, key, guid, link, title, summary, content, author, categories, "
                "published_at, updated_at, first_seen_at, content_hash, story, backlog) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (feed, key) DO NOTHING",
                [feed, item.key, item.guid, item.link, item.title, item.summary, item.content, item.author,
                 json.dumps(list(item.categories)), iso(item.published_at), iso(item.updated_at), iso(now),
                 item.content_hash, item.story, int(backlog)])
            if cursor.rowcount == 1:
                new.append(StoredItem(cursor.lastrowid, feed, item, now, backlog=backlog))
        elif previous[1] != item.content_hash:
            row_id, _, first_seen, _ = previous
            db.execute(
                "UPDATE items SET title = ?, summary = ?, content = ?, link = ?, author = ?, categories = ?, "
                "updated_at = ?, changed_at = ?, revisions = revisions + 1, content_hash = ?, story = ? "
                "WHERE id = ?",
                [item.title, item.summary, item.content, item.link, item.author, json.dumps(list(item.categories)),
                 iso(item.updated_at), iso(now), item.content_hash, item.story, row_id])
            updated.append(StoredItem(row_id, feed, item, parse_iso(first_seen) or now, updated=True))
    return new, updated


def _to_stored(row: Mapping[str, Any]) -> StoredItem:
    item = Item(key=row["key"], title=row["title"], link=row["link"], summary=row["summary"],
                content=row["content"], author=row["author"], categories=tuple(json.loads(row["categories"])),
                guid=row["guid"], published_at=parse_iso(row["published_at"]),
                updated_at=parse_iso(row["updated_at"]), content_hash=row["content_hash"], story=row["story"])
    return StoredItem(row["id"], row["feed"], item, parse_iso(row["first_seen_at"]),  # type: ignore[arg-type]
                      backlog=bool(row["backlog"]))


def get_item(db: Database, item_id: int) -> StoredItem | None:
    """Read-only: one stored item by id."""
    rows = list(db.query("SELECT * FROM items WHERE id = ?", [item_id]))
    return _to_stored(rows[0]) if rows else None


def iter_items(db: Database, *, since: datetime | None = None, feed: str | None = None) -> Iterator[StoredItem]:
    """Read-only: stored items in the order they were first seen (for backtests and explain)."""
    where, args = [], []
    if since is not None:
        where.append("first_seen_at >= ?")
        args.append(iso(since))
    if feed is not None:
        where.append("feed = ?")
        args.append(feed)
    sql = "SELECT * FROM items" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY first_seen_at, id"
    for row in db.query(sql, args):
        yield _to_stored(row)


def publication_times(db: Database, feed: str, *, limit: int = 200) -> list[datetime]:
    """Read-only: when the feed's latest items were published (for adaptive polling). Items
    without a date count from when they were first seen, except a feed's backlog, which was
    all first seen at once."""
    rows = db.execute("SELECT published_at, first_seen_at, backlog FROM items WHERE feed = ? "
                      "ORDER BY id DESC LIMIT ?", [feed, limit]).fetchall()
    times = [parse_iso(published) or (None if backlog else parse_iso(seen)) for published, seen, backlog in rows]
    return [t for t in times if t is not None]
