"""The ``items`` table: every item ever seen, unique per (feed, key). The database decides what is new."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from collections.abc import Iterable, Iterator, Mapping, Sequence

from sqlite_utils import Database

from ..identity import SKETCH_BYTES, STORY_WINDOW, StoryMarks, near_duplicate, story_marks, text_marks
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
    earlier = _EarlierStories(db, feed, now, marks.values())
    seen_at = iso(now)
    new, mark_rows, fts_rows = [], [], []
    for item in items:
        sm = marks[item.key]
        story = earlier.recognise(sm) or item.story or f"k:{feed}/{item.key}"
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
                      for mark in sm.marks()]
        earlier.add_link(sm.link, story)   # later items of this poll with the same link join this one's story
        stored = item if story == item.story else replace(item, story=story)
        new.append(StoredItem(cursor.lastrowid, feed, stored, now, backlog=backlog))
        fts_rows.append((cursor.lastrowid, item.title, item.summary, item.content))
    db.conn.executemany("INSERT INTO story_marks (mark, seen_at, item_id, story, feed, sketch) VALUES (?,?,?,?,?,?)",
                        mark_rows)
    # full-text search (migration m070): in this transaction, one batch for the poll's new items
    db.conn.executemany("INSERT INTO items_fts (rowid, title, summary, content) VALUES (?,?,?,?)", fts_rows)
    return new


TEXT_CANDIDATES = 8   # earlier items of other feeds compared per text mark (see _EarlierStories)

# One statement per kind of mark and poll; for each mark a correlated subquery walks the
# primary key (mark, seen_at, item_id) from its start, so a lookup costs the same however many
# items carry the mark. Text candidates are compared here.
_BY_LINK = ("SELECT j.value, (SELECT story FROM story_marks WHERE mark = j.value ORDER BY seen_at, item_id LIMIT 1) "
            "FROM json_each(?) j")
_BY_TITLE = ("SELECT j.value, (SELECT story FROM story_marks WHERE mark = j.value AND seen_at >= ?2 AND feed != ?3 "
             "ORDER BY seen_at, item_id LIMIT 1) FROM json_each(?1) j")


_BY_TEXT = ("SELECT j.value, (SELECT json_group_array(json_array(t.seen_at, t.item_id, t.story, hex(t.sketch))) "
            "FROM (SELECT seen_at, item_id, story, sketch FROM story_marks WHERE mark = j.value AND seen_at >= ?2 "
            "AND feed != ?3 ORDER BY seen_at, item_id LIMIT ?4) t) FROM json_each(?1) j")


class _EarlierStories:
    """The stories of earlier items that carry the marks of a poll's items (see ``identity``),
    looked up through the ``story_marks`` key, in one statement per kind of mark:

    - a link: the earliest item with that link, at any age and in any feed (also this poll's);
    - a title: the earliest item of another feed within ``STORY_WINDOW``;
    - a text mark: the earliest item of another feed within ``STORY_WINDOW`` whose whole text
      signature is a near-duplicate, among the first ``TEXT_CANDIDATES`` items of other feeds that
      carry the mark. A mark carried by more is boilerplate (a phrase many texts share); copies of
      one text share their other marks too, and the first carrier of a copied text is normally a
      copy itself, so the bound keeps the cost of a poll from growing with the number of stored items.
    """

    def __init__(self, db: Database, feed: str, now: datetime, marks: Iterable[StoryMarks]):
        since = iso(now - timedelta(seconds=STORY_WINDOW))
        marks = list(marks)
        conn = db.conn
        links = {m.link for m in marks if m.link}
        titles = {m.title for m in marks if m.title}
        self._links: dict[str, str | None] = dict(conn.execute(_BY_LINK, [_json(links)]).fetchall()) if links else {}
        self._titles: dict[str, str | None] = (
            dict(conn.execute(_BY_TITLE, [_json(titles), since, feed]).fetchall()) if titles else {})
        texts = {mark for m in marks for mark in text_marks(m.sketch)}
        self._texts: dict[str, str] = {}
        if texts:
            self._texts = dict(conn.execute(_BY_TEXT, [_json(texts), since, feed, TEXT_CANDIDATES]).fetchall())
        self._candidates: dict[str, list[tuple[str, tuple[int, ...]]]] = {}

    def recognise(self, sm: StoryMarks) -> str | None:
        """The story of the earliest item that is the same story, by link, then title, then text."""
        story = self._links.get(sm.link) if sm.link else None
        if story is None and sm.title:
            story = self._titles.get(sm.title)
        if story is None:
            for mark in text_marks(sm.sketch):
                for candidate, sketch in self._text_candidates(mark):
                    if near_duplicate(sm.sketch, sketch):
                        return candidate
        return story

    def _text_candidates(self, mark: str) -> list[tuple[str, tuple[int, ...]]]:
        """The earlier carriers of a text mark (story, signature), decoded when first asked for."""
        found = self._candidates.get(mark)
        if found is None:
            rows = sorted(json.loads(self._texts.get(mark) or "[]"))   # by (seen_at, item_id)
            found = self._candidates[mark] = [(story, SKETCH_BYTES.unpack(bytes.fromhex(sketch)))
                                              for _, _, story, sketch in rows
                                              if len(sketch) == 2 * SKETCH_BYTES.size]
        return found

    def add_link(self, mark: str | None, story: str) -> None:
        """A new item of this poll: later items with its link join its story (unless an earlier
        item already had the link)."""
        if mark and self._links.get(mark) is None:
            self._links[mark] = story


def _json(values: Iterable[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


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
