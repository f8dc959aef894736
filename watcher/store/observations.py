"""Observations and notices: the evidence a fact is weighed on, and what it raised.

``fact_observations`` keeps every claim an item made about a fact and where it stands
(pending, applied, confirmed, stale, expired, superseded), so that a lone report survives
restarts while it waits for corroboration, and every later decision can be explained.
``fact_notices`` keeps pending reports, contradictions and reviews; one contradiction (or
review) stays open while its observations are inside the window, so it alerts once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from collections.abc import Callable, Iterable, Mapping

from sqlite_utils import Database

from ..corroboration import summary_key
from ..models import (Evidence, FactChange, FactNotice, FactState, Item, Observation, ObservationState, StoredItem,
                      Verdict)
from ..timefmt import iso, parse_iso
from .ledger import hits_from, hits_json, save_change

MAX_WINDOW = timedelta(days=30)  # the longest corroboration window the rule language allows
_LIVE = tuple(s.value for s in (ObservationState.PENDING, ObservationState.APPLIED, ObservationState.CONFIRMED))


def _observation(row: Mapping[str, Any]) -> Observation:
    item = Item(key="", title=row["title"], link=row["link"], summary="", content_hash=row["content_hash"],
                story=row["story"], published_at=parse_iso(row["published_at"]))
    stored = StoredItem(row["item_id"], row["feed"], item, parse_iso(row["seen_at"]))  # type: ignore[arg-type]
    return Observation(row["fact"], row["value"], stored, hits_from(row["hits"]), row["signal"], row["quote"],
                       bool(row["backwards"]), row["id"], ObservationState(row["state"]), row["text_key"])


def live_observations(db: Database, now: datetime, facts: Iterable[str] | None = None) -> list[Observation]:
    """Read-only: observations that may still count (pending, applied, confirmed) and were seen
    within the longest possible window."""
    marks = ",".join("?" * len(_LIVE))
    args: list[Any] = [*_LIVE, iso(now - MAX_WINDOW)]
    sql = f"SELECT * FROM fact_observations WHERE state IN ({marks}) AND seen_at >= ?"
    if facts is not None:
        names = list(facts)
        sql += f" AND fact IN ({','.join('?' * len(names))})"
        args += names
    return [_observation(r) for r in db.query(sql + " ORDER BY seen_at, id", args)]


def pending_facts(db: Database, now: datetime) -> set[str]:
    """Read-only: facts with a pending observation seen within the longest possible window."""
    return {r[0] for r in db.execute("SELECT DISTINCT fact FROM fact_observations WHERE state = ? AND seen_at >= ?",
                                     [ObservationState.PENDING.value, iso(now - MAX_WINDOW)])}


def facts_to_recheck(db: Database, now: datetime, states: Mapping[str, FactState], rules_hash: str) -> set[str]:
    """Read-only: facts with pending observations that must be weighed again without a new one:
    never weighed in their present state and rules, or one of their live observations has left
    its window since (see ``note_rechecks``)."""
    pending = pending_facts(db, now)
    if not pending:
        return pending
    noted = {r["fact"]: r for r in db.query("SELECT * FROM fact_rechecks")}
    due = set()
    for fact in pending:
        row, state = noted.get(fact), states.get(fact)
        unchanged = (row is not None and state is not None and row["value"] == state.value
                     and row["since_at"] == iso(state.since) and row["rules_hash"] == rules_hash)
        if not unchanged or (row["recheck_at"] is not None and row["recheck_at"] <= iso(now)):
            due.add(fact)
    return due


def note_rechecks(db: Database, rechecks: Mapping[str, datetime | None], states: Mapping[str, FactState],
                  rules_hash: str) -> None:
    """After weighing: until when each fact's verdict holds if no new observation comes (``None``:
    until one comes). Written in the poll's transaction, so a poll rolled back leaves the fact due."""
    rows = [{"fact": fact, "value": states[fact].value, "since_at": iso(states[fact].since), "rules_hash": rules_hash,
             "recheck_at": iso(at)} for fact, at in rechecks.items() if fact in states]
    if rows:
        db["fact_rechecks"].upsert_all(rows, pk="fact")


@dataclass(frozen=True)
class Saved:
    """What storing a verdict wrote: the change's id (if any) and each new notice with its id."""

    change_id: int | None
    change: FactChange | None
    notices: tuple[tuple[int, FactNotice], ...]


def save_verdict(db: Database, verdict: Verdict, now: datetime, rules_hash: str,
                 window: Callable[[Observation], float]) -> Saved:
    """Store a verdict: new observations, state changes, the change (with observation ids in
    its evidence) and notices. ``window(o)`` is how long ``o`` counts (for expiry times)."""
    ids: dict[tuple[int | None, str], int] = {}
    for o in verdict.observations:
        if o.id is None:
            ids[(o.item.id, o.value)] = _insert(db, o, now, rules_hash)
        else:
            db.execute("UPDATE fact_observations SET state = ?, decided_at = ? WHERE id = ?",
                       [o.state.value, iso(now), o.id])
            ids[(o.item.id, o.value)] = o.id
    change_id = None
    change = verdict.change
    if change is not None:
        evidence = tuple(replace(e, observation_id=e.observation_id or ids.get((e.item_id, e.value)))
                         for e in change.evidence)
        change = replace(change, evidence=evidence)
        change_id = save_change(db, change)
        applied = [e.observation_id for e in evidence if e.observation_id is not None]
        if applied:
            db.execute(f"UPDATE fact_observations SET change_id = ? WHERE id IN ({','.join('?' * len(applied))})",
                       [change_id, *applied])
    notices = []
    for notice in verdict.notices:
        notice_id = _save_notice(db, notice, now, rules_hash, ids, window, verdict)
        if notice_id is not None:
            notices.append((notice_id, notice))
    return Saved(change_id, change, tuple(notices))


def _insert(db: Database, o: Observation, now: datetime, rules_hash: str) -> int:
    item = o.item.item
    # (no RETURNING: with sqlite-utils it can leave a transaction open; see the dependency notes)
    db.execute(
        "INSERT INTO fact_observations (fact, value, state, item_id, feed, story, title, link, content_hash, "
        "text_key, quote, hits, signal, backwards, published_at, seen_at, decided_at, rules_hash) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (fact, item_id, value) DO UPDATE SET "
        "state = excluded.state, decided_at = excluded.decided_at",
        [o.fact, o.value, o.state.value, o.item.id, o.item.feed, item.story, item.title, item.link, item.content_hash,
         o.text_key or summary_key(item.summary), o.quote, hits_json(o.hits), o.signal, int(o.backwards),
         iso(item.published_at), iso(o.seen_at), iso(now), rules_hash])
    return db.execute("SELECT id FROM fact_observations WHERE fact = ? AND item_id IS ? AND value = ? "
                      "ORDER BY id DESC LIMIT 1", [o.fact, o.item.id, o.value]).fetchone()[0]


def _save_notice(db: Database, notice: FactNotice, now: datetime, rules_hash: str,
                 ids: dict[tuple[int | None, str], int], window: Callable[[Observation], float],
                 verdict: Verdict) -> int | None:
    """Open a notice, or extend the open one of the same kind (then ``None``: nothing new to say)."""
    members = [ids[(e.item_id, e.value)] for e in notice.evidence if (e.item_id, e.value) in ids] + \
              [e.observation_id for e in notice.evidence if e.observation_id is not None]
    expires = _expiry(db, members, window, now)
    claims = json.dumps([list(v) for v in notice.values], ensure_ascii=False)
    existing = None
    if notice.kind != "pending":
        existing = db.execute("SELECT id FROM fact_notices WHERE fact = ? AND kind = ? AND closed_at IS NULL "
                              "AND expires_at > ? ORDER BY id DESC LIMIT 1",
                              [notice.fact, notice.kind, iso(now)]).fetchone()
    if existing is not None:
        notice_id = existing[0]
        db.execute("UPDATE fact_notices SET claims = ?, updated_at = ?, expires_at = max(expires_at, ?) WHERE id = ?",
                   [claims, iso(now), iso(expires), notice_id])
    else:
        notice_id = db.execute(
            "INSERT INTO fact_notices (fact, kind, current_value, claims, opened_at, updated_at, expires_at, "
            "rules_hash) VALUES (?,?,?,?,?,?,?,?)",
            [notice.fact, notice.kind, notice.current, claims, iso(now), iso(now), iso(expires), rules_hash]).lastrowid
    for member in dict.fromkeys(members):
        db.execute("INSERT OR IGNORE INTO fact_notice_observations (notice_id, observation_id) VALUES (?, ?)",
                   [notice_id, member])
    return None if existing is not None else notice_id


def _expiry(db: Database, members: list[int], window: Callable[[Observation], float], now: datetime) -> datetime:
    if not members:
        return now
    rows = db.query(f"SELECT * FROM fact_observations WHERE id IN ({','.join('?' * len(members))})", members)
    return max((o.reported_at + timedelta(seconds=window(o)) for o in map(_observation, rows)), default=now)


def close_expired_notices(db: Database, now: datetime) -> int:
    """Close notices whose observations have all left their window."""
    return db.execute("UPDATE fact_notices SET closed_at = ?, resolution = 'expired' "
                      "WHERE closed_at IS NULL AND expires_at <= ?", [iso(now), iso(now)]).rowcount


def supersede(db: Database, fact: str, now: datetime) -> int:
    """An operator set the fact: what was pending has been weighed by a person; open notices close."""
    db.execute("UPDATE fact_notices SET closed_at = ?, resolution = 'operator' WHERE fact = ? AND closed_at IS NULL",
               [iso(now), fact])
    return db.execute("UPDATE fact_observations SET state = 'superseded', decided_at = ? "
                      "WHERE fact = ? AND state = 'pending'", [iso(now), fact]).rowcount


@dataclass(frozen=True)
class ObservationRow:
    """An observation as `watcher facts` and `watcher explain` show it."""

    id: int
    fact: str
    value: str
    state: str
    seen_at: datetime
    evidence: Evidence
    change_id: int | None
    rules_hash: str


def observation_rows(db: Database, *, fact: str | None = None, item_id: int | None = None,
                     states: Iterable[str] | None = None, limit: int = 500) -> list[ObservationRow]:
    """Read-only: observations, newest first."""
    where, args = [], []
    if fact is not None:
        where.append("fact = ?")
        args.append(fact)
    if item_id is not None:
        where.append("item_id = ?")
        args.append(item_id)
    if states is not None:
        wanted = list(states)
        where.append(f"state IN ({','.join('?' * len(wanted))})")
        args += wanted
    sql = "SELECT * FROM fact_observations" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY seen_at DESC, id DESC LIMIT ?", [*args, limit])
    return [ObservationRow(r["id"], r["fact"], r["value"], r["state"], parse_iso(r["seen_at"]),  # type: ignore[arg-type]
                           _observation(r).evidence(), r["change_id"], r["rules_hash"]) for r in rows]


@dataclass(frozen=True)
class NoticeRow:
    id: int
    fact: str
    kind: str
    current: str
    claims: tuple[tuple[str, int], ...]
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    resolution: str | None
    evidence: tuple[Evidence, ...]


def notice_rows(db: Database, *, fact: str | None = None, open_at: datetime | None = None,
                kinds: Iterable[str] = ("contradiction", "review"), limit: int = 200) -> list[NoticeRow]:
    """Read-only: notices, newest first; with ``open_at`` only those open at that time."""
    wanted = list(kinds)
    where, args = [f"kind IN ({','.join('?' * len(wanted))})"], list(wanted)
    if fact is not None:
        where.append("fact = ?")
        args.append(fact)
    if open_at is not None:
        where.append("closed_at IS NULL AND expires_at > ?")
        args.append(iso(open_at))
    rows = list(db.query(f"SELECT * FROM fact_notices WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                         [*args, limit]))
    out = []
    for r in rows:
        members = db.query("SELECT o.* FROM fact_observations o JOIN fact_notice_observations n "
                           "ON n.observation_id = o.id WHERE n.notice_id = ? ORDER BY o.seen_at, o.id", [r["id"]])
        out.append(NoticeRow(r["id"], r["fact"], r["kind"], r["current_value"],
                             tuple((v, n) for v, n in json.loads(r["claims"])), parse_iso(r["opened_at"]),  # type: ignore[arg-type]
                             parse_iso(r["expires_at"]), parse_iso(r["closed_at"]),  # type: ignore[arg-type]
                             r["resolution"], tuple(_observation(m).evidence() for m in members)))
    return out
