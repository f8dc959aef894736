"""Keeping the state healthy for months: the write probe, online backups, item retention."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

from ..errors import StoreError
from ..timefmt import iso


def beat(db: Database, now: datetime) -> None:
    """Prove the database is writable: one tiny real write (a full disk or a read-only mount fails here)."""
    db.execute("INSERT INTO _heartbeat (id, at, pid) VALUES (1, ?, ?) "
               "ON CONFLICT (id) DO UPDATE SET at = excluded.at, pid = excluded.pid", [iso(now), os.getpid()])


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    pages: int


def backup(source: str | Path, target: str | Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the state database to ``target`` with SQLite's online backup API.

    Safe while the daemon runs: the copy is one consistent snapshot (the source is read in a
    single step, inside one read transaction). The copy is a self-contained file (rollback
    journal, no ``-wal`` beside it) checked with ``PRAGMA quick_check``.
    """
    source, target = Path(source), Path(target)
    if not source.exists():
        raise StoreError(f"no state database at {source}")
    if target.exists() and not overwrite:
        raise StoreError(f"{target} exists; remove it or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
        check = dst.execute("PRAGMA quick_check").fetchone()[0]
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        dst.close()
        partial.unlink(missing_ok=True)
        raise StoreError(f"backup of {source} failed: {exc}") from None
    finally:
        src.close()
    dst.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise StoreError(f"the backup copy failed its integrity check: {check}")
    os.replace(partial, target)  # a reader never sees a half-written backup under the final name
    return BackupResult(target, target.stat().st_size, pages)


def thin_items(db: Database, keep: float, now: datetime, *, batch: int = 500) -> int:
    """Retention: clear the text (summary, content) of items first seen more than ``keep``
    seconds ago; returns how many rows were thinned in this batch (call until it returns 0).

    Rows are never deleted: an item's row is its identity (feed + key), and a feed that still
    carries an old item must not make it look new again. Items that are evidence for a fact
    or the subject of an alert keep their text. Facts and their history are never touched.
    """
    cutoff = iso(now - timedelta(seconds=keep))
    with db.atomic():
        cursor = db.execute(
            "UPDATE items SET summary = '', content = '' WHERE id IN ("
            "  SELECT id FROM items WHERE first_seen_at < ? AND (summary != '' OR content != '')"
            "  AND id NOT IN (SELECT item_id FROM fact_evidence WHERE item_id IS NOT NULL)"
            "  AND id NOT IN (SELECT item_id FROM alerts WHERE item_id IS NOT NULL)"
            "  LIMIT ?)", [cutoff, batch])
    return cursor.rowcount
