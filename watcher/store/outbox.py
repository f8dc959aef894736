"""The outbox: ``alerts`` (unique dedupe key), ``deliveries`` (one row per alert and channel) and
``delivery_attempts`` (what each service of a channel answered).

Write before send: an alert and its delivery rows are written in the same transaction as the
items and fact changes that caused them, before anything is sent. A delivery is then:

    pending ──send──> sent
       │  └─fails──> failed ──(backoff)──> pending again ... ──(give-up time)──> dead
       └─ suppressed (silenced, realert, inhibited, below min_severity), with the reason in ``note``

A channel may have several apprise services (an apprise config file). ``services_done`` lists
the services that already have the delivery, so a retry after a partial failure goes only to
the others. ``sending_at`` is set just before a send and cleared with its result: a crash in
between leaves it set, and the next start records the attempt as ``interrupted`` and sends
again (the one case where a message can arrive twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from collections.abc import Iterable, Mapping, Sequence

from sqlite_utils import Database

from ..models import AlertDraft, DeliveryState, SendResult
from ..noise import LastAlert, Route
from ..timefmt import iso, parse_iso

OPEN = ("pending", "failed")


def enqueue(db: Database, draft: AlertDraft, now: datetime, *, fact_change_id: int | None = None,
            routes: Sequence[Route] | None = None) -> int | None:
    """Store an alert and one delivery per channel; ``None`` if its dedupe key exists.

    ``routes`` (from ``noise.route``) say which deliveries are pending and when they are due, and
    which are suppressed and why; without them every channel's delivery is pending now.
    """
    cursor = db.execute(
        "INSERT INTO alerts (dedupe_key, rule, kind, severity, title, body, text, created_at, item_id, fact, "
        "fact_change_id, feed, fact_stage, realert_key, digest) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        [draft.dedupe_key, draft.rule, draft.kind, draft.severity, draft.title, draft.body, draft.text, iso(now),
         draft.item_id, draft.fact, fact_change_id, draft.feed, draft.stage, draft.realert_key, int(draft.digest)])
    if cursor.rowcount != 1:
        return None
    alert_id = cursor.lastrowid
    if routes is None:
        routes = [Route(channel, DeliveryState.PENDING, now) for channel in draft.channels]
    for r in routes:
        db.execute("INSERT INTO deliveries (alert_id, channel, state, created_at, next_attempt_at, note) "
                   "VALUES (?,?,?,?,?,?)", [alert_id, r.channel, r.state, iso(now), iso(r.due_at), r.note])
    return alert_id


def exists(db: Database, dedupe_key: str) -> bool:
    return db.execute("SELECT 1 FROM alerts WHERE dedupe_key = ?", [dedupe_key]).fetchone() is not None


def last_fired(db: Database, rule: str, key: str, since: datetime) -> LastAlert | None:
    """Read-only: the latest alert of ``rule`` with realert ``key`` written after ``since`` that
    was not suppressed on every channel (a silenced alert does not start the repeat interval)."""
    row = db.execute(
        "SELECT a.id, a.created_at FROM alerts a WHERE a.rule = ? AND a.realert_key = ? AND a.created_at > ? "
        "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.state != 'suppressed') "
        "ORDER BY a.id DESC LIMIT 1", [rule, key, iso(since)]).fetchone()
    return LastAlert(row[0], parse_iso(row[1])) if row else None  # type: ignore[arg-type]


def open_digest(db: Database, channel: str, now: datetime) -> datetime | None:
    """Read-only: when the channel's open digest is sent (a pending digest delivery not yet due)."""
    row = db.execute(
        "SELECT MIN(d.next_attempt_at) FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        "WHERE d.channel = ? AND d.state = 'pending' AND a.digest = 1 AND d.next_attempt_at > ? "
        "AND d.attempts = 0 AND d.note IS NULL", [channel, iso(now)]).fetchone()
    return parse_iso(row[0]) if row and row[0] else None


@dataclass(frozen=True)
class Due:
    """A delivery that is due, with what to send and what noise control needs to know."""

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
    kind: str = "item"
    fact: str | None = None
    feed: str | None = None
    stage: int | None = None
    digest: bool = True
    done: frozenset[str] = frozenset()   # services of the channel that already have it


@dataclass(frozen=True)
class Heard:
    """A fact change alert about to go to a channel: its change, and what the channel last heard."""

    told: str           # the value of the last change of the fact sent to the channel (see ``heard``)
    old: str            # the alert's own change
    new: str


def heard(db: Database, channel: str, alert_id: int) -> Heard | None:
    """Read-only: for a fact change alert, its change and the value the channel was last told of
    the fact before it: the new value of the last earlier change alert of the fact sent to it;
    if none was, the old value of the first earlier one it was due to get; if there is none,
    this change's own old value. ``None`` for any other alert."""
    own = db.execute("SELECT a.fact, c.old_value, c.new_value FROM alerts a JOIN fact_changes c "
                     "ON c.id = a.fact_change_id WHERE a.id = ?", [alert_id]).fetchone()
    if own is None:
        return None
    fact, old, new = own
    earlier = ("FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN fact_changes c ON c.id = a.fact_change_id "
               "WHERE d.channel = ? AND a.fact = ? AND a.id < ?")
    sent = db.execute(f"SELECT c.new_value {earlier} AND d.state = 'sent' ORDER BY a.id DESC LIMIT 1",
                      [channel, fact, alert_id]).fetchone()
    first = None if sent else db.execute(f"SELECT c.old_value {earlier} ORDER BY a.id LIMIT 1",
                                         [channel, fact, alert_id]).fetchone()
    told = sent[0] if sent else first[0] if first and first[0] else old
    return Heard(told, old or "", new)


def due(db: Database, now: datetime, *, limit: int = 500, channel: str | None = None) -> list[Due]:
    """Read-only: pending and failed deliveries whose time has come, oldest alert first.

    A channel receives its alerts in order: a failed delivery waiting for its retry holds back
    the later deliveries of the same channel, even those that are due. (Deliveries held for
    quiet hours or a digest do not: they wait by design, and an urgent alert may pass them.)
    """
    where = "AND d.channel = :channel " if channel is not None else ""
    rows = db.query(
        "SELECT d.id, d.alert_id, d.channel, d.attempts, d.created_at, d.services_done, a.title, a.body, a.text, "
        "a.severity, a.rule, a.kind, a.fact, a.feed, a.fact_stage, a.digest "
        "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
        f"WHERE d.state IN ('pending', 'failed') AND d.next_attempt_at <= :now {where}"
        "AND NOT EXISTS (SELECT 1 FROM deliveries b WHERE b.channel = d.channel AND b.alert_id < d.alert_id "
        "                AND b.state = 'failed' AND b.next_attempt_at > :now) "
        "ORDER BY d.alert_id, d.id LIMIT :limit",
        {"now": iso(now), "limit": limit, "channel": channel})
    return [Due(r["id"], r["alert_id"], r["channel"], r["attempts"], parse_iso(r["created_at"]),  # type: ignore[arg-type]
                r["title"], r["body"], r["text"], r["severity"], r["rule"], r["kind"], r["fact"], r["feed"],
                r["fact_stage"], bool(r["digest"]), frozenset(json.loads(r["services_done"] or "[]")))
            for r in rows]


# a delivery behind a failed one of its channel that waits for its retry is not due (see ``due``)
_NOT_HELD_BACK = ("NOT EXISTS (SELECT 1 FROM deliveries b WHERE b.channel = d.channel AND b.alert_id < d.alert_id "
                  "AND b.state = 'failed' AND b.next_attempt_at > ?)")


def due_channels(db: Database, now: datetime) -> list[str]:
    """Read-only: the channels that have a delivery due (one that ``due`` would return)."""
    return [r[0] for r in db.execute(
        "SELECT DISTINCT d.channel FROM deliveries d WHERE d.state IN ('pending', 'failed') "
        f"AND d.next_attempt_at <= ? AND {_NOT_HELD_BACK} ORDER BY d.channel", [iso(now), iso(now)])]


def next_due_at(db: Database, exclude: Iterable[str] = (), now: datetime | None = None) -> datetime | None:
    """Read-only: when the next pending or failed delivery becomes due (``exclude``: channels
    whose sender is busy anyway). With ``now``, deliveries held back behind a failed one count
    from that one's retry, so a channel waiting for a retry is not "due" over and over."""
    skip = list(exclude)
    marks = ",".join("?" * len(skip))
    sql = "SELECT MIN(d.next_attempt_at) FROM deliveries d WHERE d.state IN ('pending', 'failed')"
    args: list[Any] = []
    if skip:
        sql += f" AND d.channel NOT IN ({marks})"
        args += skip
    if now is not None:
        sql += f" AND {_NOT_HELD_BACK}"
        args.append(iso(now))
    row = db.execute(sql, args).fetchone()
    return parse_iso(row[0]) if row and row[0] else None


def mark_sending(db: Database, ids: Sequence[int], now: datetime) -> None:
    """A send is about to start: a crash before ``settle`` leaves the mark (see the module doc)."""
    with db.atomic():
        for delivery_id in ids:
            db.execute("UPDATE deliveries SET sending_at = ? WHERE id = ?", [iso(now), delivery_id])


def settle(db: Database, ids: Sequence[int], service: str, target: str, result: SendResult, now: datetime,
           services: Iterable[str]) -> list[int]:
    """Record one service's answer for these deliveries; those that every service of the channel
    (``services``) now has are marked sent. Returns the ids marked sent."""
    wanted = set(services)
    sent = []
    with db.atomic():
        for delivery_id in ids:
            db.execute("INSERT INTO delivery_attempts (delivery_id, at, service, target, status, detail) "
                       "VALUES (?,?,?,?,?,?)", [delivery_id, iso(now), service, target,
                                                result.status or ("success" if result.ok else "failure"),
                                                result.detail[:1000]])
            row = db.execute("SELECT services_done, state FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
            done = set(json.loads(row[0] or "[]")) if row else set()
            if result.ok:
                done.add(service)
            db.execute("UPDATE deliveries SET sending_at = NULL, services_done = ? WHERE id = ?",
                       [json.dumps(sorted(done)), delivery_id])
            if row and row[1] in OPEN and wanted <= done:
                _sent(db, delivery_id, now)
                sent.append(delivery_id)
    return sent


def _sent(db: Database, delivery_id: int, now: datetime) -> None:
    db.execute("UPDATE deliveries SET state = 'sent', attempts = attempts + 1, sent_at = ?, last_attempt_at = ?, "
               "last_error = NULL, note = NULL, sending_at = NULL WHERE id = ?", [iso(now), iso(now), delivery_id])


def mark_sent(db: Database, ids: Sequence[int], now: datetime, detail: str = "") -> None:
    with db.atomic():
        for delivery_id in ids:
            _sent(db, delivery_id, now)


def mark_failed(db: Database, ids: Sequence[int], now: datetime, error: str, *, retry_at: datetime | None) -> None:
    """A failed attempt: retried at ``retry_at``, or dead when that is ``None``."""
    fail(db, [(i, retry_at) for i in ids], now, error)


def fail(db: Database, retries: Sequence[tuple[int, datetime | None]], now: datetime, error: str) -> None:
    """Failed attempts, each with its own next attempt (``None``: give up, the delivery is dead)."""
    with db.atomic():
        for delivery_id, retry_at in retries:
            state = DeliveryState.FAILED if retry_at is not None else DeliveryState.DEAD
            db.execute("UPDATE deliveries SET state = ?, attempts = attempts + 1, last_attempt_at = ?, "
                       "last_error = ?, next_attempt_at = ?, note = NULL, sending_at = NULL WHERE id = ?",
                       [state, iso(now), error[:1000], iso(retry_at or now), delivery_id])


def suppress(db: Database, reasons: Mapping[int, str], now: datetime) -> None:
    """Deliveries that will not be sent, each with its reason (kept, so nothing vanishes)."""
    with db.atomic():
        for delivery_id, reason in reasons.items():
            db.execute("UPDATE deliveries SET state = 'suppressed', note = ?, last_attempt_at = ?, sending_at = NULL "
                       "WHERE id = ? AND state IN ('pending', 'failed')", [reason[:1000], iso(now), delivery_id])


def hold(db: Database, until: Mapping[int, tuple[datetime, str]]) -> None:
    """Deliveries held back (quiet hours): pending again, due at the given time, the reason in
    ``note``. (A held retry is pending, not failed, so it does not hold back an urgent alert
    that quiet hours let through.)"""
    with db.atomic():
        for delivery_id, (when, note) in until.items():
            db.execute("UPDATE deliveries SET state = 'pending', next_attempt_at = ?, note = ? WHERE id = ? AND state "
                       "IN ('pending', 'failed')", [iso(when), note[:1000], delivery_id])


def recover_interrupted(db: Database, now: datetime) -> list[dict[str, Any]]:
    """After a crash: sends that were in flight are recorded as ``interrupted`` and stay due, so
    they are sent again (they may have arrived: the one window for a duplicate)."""
    rows = [dict(r) for r in db.query("SELECT id, alert_id, channel, sending_at FROM deliveries "
                                      "WHERE sending_at IS NOT NULL")]
    with db.atomic():
        for row in rows:
            db.execute("INSERT INTO delivery_attempts (delivery_id, at, service, target, status, detail) "
                       "VALUES (?,?,?,?,?,?)", [row["id"], iso(now), "-", "-", "interrupted",
                                                f"the daemon stopped while sending (since {row['sending_at']})"])
            db.execute("UPDATE deliveries SET sending_at = NULL WHERE id = ?", [row["id"]])
    return rows


def retry(db: Database, now: datetime, ids: Iterable[int] | None = None) -> int:
    """Make dead (and failed) deliveries due again now; all of them when ``ids`` is None."""
    reset = "SET state = 'pending', next_attempt_at = ?, attempts = 0, note = NULL"
    with db.atomic():
        if ids is None:
            return db.execute(f"UPDATE deliveries {reset} WHERE state IN ('dead', 'failed')", [iso(now)]).rowcount
        return sum(db.execute(f"UPDATE deliveries {reset} WHERE id = ? AND state IN ('dead', 'failed')",
                              [iso(now), delivery_id]).rowcount for delivery_id in ids)


def alert_rows(db: Database, *, states: Sequence[str] | None = None, limit: int = 50) -> list[dict]:
    """Read-only: recent alerts with the state of each delivery, newest first."""
    where, args = "", []
    if states:
        marks = ",".join("?" * len(states))
        where = f"WHERE a.id IN (SELECT alert_id FROM deliveries WHERE state IN ({marks}))"
        args = list(states)
    alerts = [dict(r) for r in db.query(
        f"SELECT a.id, a.rule, a.kind, a.severity, a.title, a.created_at, a.fact, a.feed FROM alerts a {where} "
        "ORDER BY a.id DESC LIMIT ?", [*args, limit])]
    for alert in alerts:
        alert["deliveries"] = [dict(d) for d in db.query(
            "SELECT id, channel, state, attempts, last_error, sent_at, next_attempt_at, note FROM deliveries "
            "WHERE alert_id = ? ORDER BY id", [alert["id"]])]
    return alerts


def alert_detail(db: Database, alert_id: int) -> dict[str, Any] | None:
    """Read-only: one alert, its message, its deliveries and every attempt of each."""
    row = db.execute("SELECT id FROM alerts WHERE id = ?", [alert_id]).fetchone()
    if row is None:
        return None
    alert = dict(next(iter(db.query("SELECT id, dedupe_key, rule, kind, severity, title, body, text, created_at, "
                                    "fact, feed, realert_key FROM alerts WHERE id = ?", [alert_id]))))
    alert["deliveries"] = [dict(d) for d in db.query(
        "SELECT id, channel, state, attempts, last_error, sent_at, next_attempt_at, note, services_done "
        "FROM deliveries WHERE alert_id = ? ORDER BY id", [alert_id])]
    for delivery in alert["deliveries"]:
        delivery["attempts_log"] = [dict(a) for a in db.query(
            "SELECT at, service, target, status, detail FROM delivery_attempts WHERE delivery_id = ? ORDER BY id",
            [delivery["id"]])]
    return alert
