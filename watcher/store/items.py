"""The ``items`` table: every item ever seen, unique per (feed, key). The database decides what is new."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from collections.abc import Iterator, Mapping, Sequence

from sqlite_utils import Database

from ..identity import SKETCH_BYTES, STORY_WINDOW, StoryMarks, near_duplicate, story_marks
from ..models import Item, StoredItem
from ..timefmt import iso, parse_iso

_CHUNK = 400  # stays under SQLite's limit on bound parameters


def record_items(db: Database, feed: str, items: Sequence[Item], now: datetime, *,
                 backlog: bool) -> tuple[list[StoredItem], list[StoredItem]]:
    """Store a poll's items; return ``(new, updated)``.

    New: a key this feed never had; its ``story`` is joined to an earlier item's story when the
    marks say it is the same story (see ``identity``). Updated: a known key whose text changed
    (its row is rewritten, its story kept, its revision count goes up). Call inside the poll's
    transaction (alone, it makes its own).
    """
    with db.atomic():
        return _record_items(db, feed, items, now, backlog)


def _record_items(db: Database, feed: str, items: Sequence[Item], now: datetime,
                  backlog: bool) -> tuple[list[StoredItem], list[StoredItem]]:
    known = _known(db, feed, [item.key for item in items])
    fresh: dict[str, Item] = {}
    changed: dict[str, tuple[Item, tuple[int, str, str, str | None]]] = {}
    for item in items:   # the same entry twice in one document counts once
        previous = known.get(item.key)
        if previous is None:
            fresh.setdefault(item.key, item)
        elif previous[1] != item.content_hash:
            changed.setdefault(item.key, (item, previous))
    new = _insert_new(db, feed, list(fresh.values()), now, backlog)
    updated = []
    for item, (row_id, _, first_seen, story) in changed.values():
        db.execute(
            "UPDATE items SET title = ?, summary = ?, content = ?, link = ?, author = ?, categories = ?, "
            "updated_at = ?, changed_at = ?, revisions = revisions + 1, content_hash = ? WHERE id = ?",
            [item.title, item.summary, item.content, item.link, item.author, json.dumps(list(item.categories)),
             iso(item.updated_at), iso(now), item.content_hash, row_id])
        updated.append(StoredItem(row_id, feed, replace(item, story=story or item.story), parse_iso(first_seen) or now,
                                  updated=True))
    return new, updated


def _known(db: Database, feed: str, keys: list[str]) -> dict[str, tuple[int, str, str, str | None]]:
    """key -> (id, content hash, first seen, story) for the keys this feed already has."""
    known = {}
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT key, id, content_hash, first_seen_at, story FROM items "
                              f"WHERE feed = ? AND key IN ({marks})", [feed, *chunk]).fetchall():
            known[row[0]] = (row[1], row[2], row[3], row[4])
    return known


def _insert_new(db: Database, feed: str, items: list[Item], now: datetime, backlog: bool) -> list[StoredItem]:
    marks = {item.key: story_marks(item.link, item.title, item.summary, item.content, item.sketch or None)
             for item in items}
    listed = {key: sm.marks() for key, sm in marks.items()}
    earlier = _stories_by_mark(db, [m for found in listed.values() for m in found], now)
    seen_at = iso(now)
    new, mark_rows = [], []
    for item in items:
        sm = marks[item.key]
        story = _recognise(sm, listed[item.key], feed, earlier) or item.story or f"k:{feed}/{item.key}"
        cursor = db.execute(
            "INSERT INTO items (feed, key, guid, link, title, summary, content, author, categories, "
            "published_at, updated_at, first_seen_at, content_hash, story, backlog) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (feed, key) DO NOTHING",
            [feed, item.key, item.guid, item.link, item.title, item.summary, item.content, item.author,
             json.dumps(list(item.categories)), iso(item.published_at), iso(item.updated_at), seen_at,
             item.content_hash, story, int(backlog)])
        if cursor.rowcount != 1:
            continue
        sketch = SKETCH_BYTES.pack(*sm.sketch) if sm.sketch else b""
        mark_rows += [(mark, seen_at, cursor.lastrowid, story, feed, sketch if mark[0] == "m" else b"")
                      for mark in listed[item.key]]
        for mark in listed[item.key]:   # later items of this poll can join this one's story
            earlier.setdefault(mark, []).append(_Mark(story, feed, sm.sketch, now))
        stored = item if story == item.story else replace(item, story=story)
        new.append(StoredItem(cursor.lastrowid, feed, stored, now, backlog=backlog))
    db.conn.executemany("INSERT INTO story_marks (mark, seen_at, item_id, story, feed, sketch) VALUES (?,?,?,?,?,?)",
                        mark_rows)
    return new


PER_MARK = 16  # earlier items read per story mark (see _stories_by_mark)


@dataclass(frozen=True)
class _Mark:
    story: str
    feed: str
    sketch: tuple[int, ...]
    seen_at: datetime


def _stories_by_mark(db: Database, marks: list[str], now: datetime) -> dict[str, list[_Mark]]:
    """Earlier items carrying any of ``marks``, oldest first: links at any age, titles and texts
    only recent ones; at most ``PER_MARK`` per mark. A mark that thousands of items share
    (boilerplate text, wire copy in hundreds of feeds) would otherwise be read whole by every
    poll that meets it again, and polls would slow down as the state grows."""
    found: dict[str, list[_Mark]] = {}
    since = iso(now - timedelta(seconds=STORY_WINDOW))
    for mark in dict.fromkeys(marks):
        # one query per mark walks the primary key (mark, seen_at, item_id) and stops at the limit
        if mark.startswith("l:"):
            rows = db.execute("SELECT story, feed, sketch, seen_at FROM story_marks WHERE mark = ? "
                              "ORDER BY seen_at, item_id LIMIT ?", [mark, PER_MARK])
        else:
            rows = db.execute("SELECT story, feed, sketch, seen_at FROM story_marks WHERE mark = ? AND seen_at >= ? "
                              "ORDER BY seen_at, item_id LIMIT ?", [mark, since, PER_MARK])
        for story, feed, sketch, seen_at in rows:
            sketch_values = SKETCH_BYTES.unpack(sketch) if len(sketch) == SKETCH_BYTES.size else ()
            found.setdefault(mark, []).append(_Mark(story, feed, sketch_values, parse_iso(seen_at) or now))
    return found


def _recognise(sm: StoryMarks, marks: list[str], feed: str, earlier: dict[str, list[_Mark]]) -> str | None:
    """The story of the earliest item that is the same story, by link, then title, then text."""
    if sm.link:
        for mark in earlier.get(sm.link, ()):
            return mark.story
    if sm.title:
        for mark in earlier.get(sm.title, ()):
            if mark.feed != feed:
                return mark.story
    for key in marks[bool(sm.link) + bool(sm.title):]:
        for mark in earlier.get(key, ()):
            if mark.feed != feed and near_duplicate(sm.sketch, mark.sketch):
                return mark.story
    return None


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
