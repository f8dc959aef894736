"""Silences: matchers on alert labels with a start and an end, kept after they expire.

The daemon reads them from the database when it writes alerts and again when it sends, so
`watcher silence add` takes effect at once, without a reload. Removing a silence ends it now;
the row stays, so `watcher silence list --all` shows what was silenced and when.
"""

from __future__ import annotations

import json
from datetime import datetime
from collections.abc import Sequence

from sqlite_utils import Database

from ..noise import Matcher, Silence
from ..timefmt import iso, parse_iso


def add(db: Database, matchers: Sequence[Matcher], starts_at: datetime, ends_at: datetime, *,
        comment: str = "", created_by: str = "", now: datetime) -> int:
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO silences (matchers, comment, created_by, created_at, starts_at, ends_at) "
            "VALUES (?,?,?,?,?,?)", [json.dumps([[m.key, m.op, m.value] for m in matchers]), comment, created_by,
                                     iso(now), iso(starts_at), iso(ends_at)])
        return int(cursor.lastrowid or 0)


def remove(db: Database, silence_id: int, now: datetime) -> bool:
    """End a silence now; ``False`` if there is no such silence or it already ended."""
    with db.atomic():
        cursor = db.execute("UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
                            [iso(now), silence_id, iso(now)])
        return cursor.rowcount == 1


def _silence(row: Sequence) -> Silence:
    matchers = tuple(Matcher(k, op, v) for k, op, v in json.loads(row[1]))
    return Silence(row[0], matchers, parse_iso(row[2]), parse_iso(row[3]), row[4], row[5])  # type: ignore[arg-type]


_COLUMNS = "id, matchers, starts_at, ends_at, comment, created_by"


def active(db: Database, now: datetime) -> list[Silence]:
    """Read-only: the silences in force at ``now``."""
    return [_silence(r) for r in db.execute(
        f"SELECT {_COLUMNS} FROM silences WHERE starts_at <= ? AND ends_at > ? ORDER BY id", [iso(now), iso(now)])]


def listing(db: Database, now: datetime, *, expired: bool = False) -> list[Silence]:
    """Read-only: current and future silences (and, with ``expired``, the ended ones), newest first."""
    where = "" if expired else "WHERE ends_at > ?"
    return [_silence(r) for r in db.execute(f"SELECT {_COLUMNS} FROM silences {where} ORDER BY id DESC",
                                            [] if expired else [iso(now)])]
