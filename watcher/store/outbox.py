"""The outbox: ``alerts`` (unique dedupe key) and ``deliveries`` (one row per alert and channel).

Write before send: an alert and its delivery rows are written in the same transaction as the
items and fact changes that caused them, before anything is sent. Delivery then marks each
row sent, failed (with its next attempt) or dead; pending and failed rows survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterable, Sequence

from sqlite_utils import Database

from ..models import AlertDraft, DeliveryState
from ..timefmt import iso, parse_iso


def enqueue(db: Database, draft: AlertDraft, now: datetime, *, fact_change_id: int | None = None) -> int | None:
    """Store an alert and one pending delivery per channel; ``None`` if its dedupe key exists."""
    cursor = db.execute(
        "INSERT INTO alerts (dedupe_key, rule, kind, severity, title, body, text, created_at, item_id, fact, "
        "fact_change_id) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (dedupe_key) DO NOTHING",
        [draft.dedupe_key, draft.rule, draft.kind, draft.severity, draft.title, draft.body, draft.text, iso(now),
         draft.item_id, draft.fact, fact_change_id])
    if cursor.rowcount != 1:
        return None
    alert_id = cursor.lastrowid
    for channel in draft.channels:
        db.execute("INSERT INTO deliveries (alert_id, channel, state, created_at, next_attempt_at) "
                   "VALUES (?,?,?,?,?)", [alert_id, channel, DeliveryState.PENDING, iso(now), iso(now)])
    return alert_id


@dataclass(frozen=True)
class Due:
    """A delivery that is due, with what to send."""

    id: int
    alert_id: int
    channel: str
    attempts: int
    created_at: datetime
    title: str
    body: str
    text: str
    severity: str
    rule: str


def due(db: Database, now: datetime, *, limit: int = 500) -> list[Due]:
    """Read-only: pending and failed deliveries whose time has come, oldest alert first.

    A channel receives its alerts in order: a delivery waiting for a retry holds back the
    later deliveries of the same channel, even those that are due.
    """
    rows = db.query(
        "SELECT d.id, d.alert_id, d.channel, d.attempts, d.created_at, a.title, a.body, a.text, a.severity, a.rule "
        "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        "WHERE d.state IN ('pending', 'failed') AND d.next_attempt_at <= :now "
        "AND NOT EXISTS (SELECT 1 FROM deliveries b WHERE b.channel = d.channel AND b.alert_id < d.alert_id "
        "                AND b.state IN ('pending', 'failed') AND b.next_attempt_at > :now) "
        "ORDER BY d.alert_id, d.id LIMIT :limit",
        {"now": iso(now), "limit": limit})
    return [Due(r["id"], r["alert_id"], r["channel"], r["attempts"], parse_iso(r["created_at"]),  # type: ignore[arg-type]
                r["title"], r["body"], r["text"], r["severity"], r["rule"]) for r in rows]


def next_due_at(db: Database) -> datetime | None:
    """Read-only: when the next pending or failed delivery becomes due."""
    row = db.execute("SELECT MIN(next_attempt_at) FROM deliveries WHERE state IN ('pending', 'failed')").fetchone()
    return parse_iso(row[0]) if row and row[0] else None


def mark_sent(db: Database, ids: Sequence[int], now: datetime, detail: str = "") -> None:
    with db.atomic():
        for delivery_id in ids:
            db.execute("UPDATE deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                       "last_attempt_at = ?, last_error = NULL WHERE id = ?", [iso(now), iso(now), delivery_id])


def mark_failed(db: Database, ids: Sequence[int], now: datetime, error: str, *, retry_at: datetime | None) -> None:
    """A failed attempt: retried at ``retry_at``, or dead when that is ``None``."""
    state = DeliveryState.FAILED if retry_at is not None else DeliveryState.DEAD
    with db.atomic():
        for delivery_id in ids:
            db.execute("UPDATE deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?, "
                       "last_error = ?, next_attempt_at = ? WHERE id = ?",
                       [state, iso(now), error[:1000], iso(retry_at or now), delivery_id])


def retry(db: Database, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Make dead (and failed) deliveries due again now; all of them when ``ids`` is None."""
    with db.atomic():
        if ids is None:
            cursor = db.execute("UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0 "
                                "WHERE state IN ('dead', 'failed')", [iso(now)])
            return cursor.rowcount
        count = 0
        for delivery_id in ids:
            count += db.execute("UPDATE deliveries SET state = 'pending', next_attempt_at = ?, attempts = 0 "
                                "WHERE id = ? AND state IN ('dead', 'failed')", [iso(now), delivery_id]).rowcount
        return count


def alert_rows(db: Database, *, states: Sequence[str] | None = None, limit: int = 50) -> list[dict]:
    """Read-only: recent alerts with the state of each delivery, newest first."""
    where, args = "", []
    if states:
        marks = ",".join("?" * len(states))
        where = f"WHERE a.id IN (SELECT alert_id FROM deliveries WHERE state IN ({marks}))"
        args = list(states)
    alerts = [dict(r) for r in db.query(
        f"SELECT a.id, a.rule, a.kind, a.severity, a.title, a.created_at, a.fact FROM alerts a {where} "
        "ORDER BY a.id DESC LIMIT ?", [*args, limit])]
    for alert in alerts:
        alert["deliveries"] = [dict(d) for d in db.query(
            "SELECT id, channel, state, attempts, last_error, sent_at, next_attempt_at FROM deliveries "
            "WHERE alert_id = ? ORDER BY id", [alert["id"]])]
    return alerts
