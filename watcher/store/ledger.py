"""The fact ledger: ``facts`` (current values) and ``fact_changes`` + ``fact_evidence`` (history).

The history is append-only and never pruned: every value a fact ever had, when, why, which
items supported it (feed, title, link, the quoted sentence and the matched spans), how many
independent sources, and which version of the rules decided it. Observations still waiting
for corroboration and notices live next door, in ``observations.py``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from collections.abc import Mapping

from sqlite_utils import Database

from ..models import Evidence, FactChange, FactState, Hit
from ..timefmt import iso, parse_iso


def hits_json(hits: tuple[Hit, ...]) -> str:
    return json.dumps([{"term": h.term, "field": h.field, "start": h.start, "end": h.end, "text": h.text}
                       for h in hits], ensure_ascii=False)


@functools.lru_cache(maxsize=4096)   # the same rows are read again by every poll that weighs their fact
def hits_from(text: str | None) -> tuple[Hit, ...]:
    try:
        return tuple(Hit(h["term"], h["field"], h["start"], h["end"], h["text"]) for h in json.loads(text or "[]"))
    except (ValueError, KeyError, TypeError):
        return ()


def known_facts(db: Database) -> dict[str, FactState]:
    """Read-only: the ledger's current value of every fact."""
    return {r["name"]: FactState(r["name"], r["value"], parse_iso(r["since_at"]), r["source"],  # type: ignore[arg-type]
                                 r["rules_known"])
            for r in db.query("SELECT * FROM facts")}


def save_change(db: Database, change: FactChange) -> int:
    """Append a change to the history, move the fact, store its evidence; returns the change id."""
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO fact_changes (fact, old_value, new_value, at, cause, note, rules_hash, old_since_at, "
            "sources, direction, disputed) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [change.fact, change.old or None, change.new, iso(change.at), change.cause, change.note,
             change.rules_hash, iso(change.old_since), change.sources, change.direction,
             json.dumps(list(change.disputed), ensure_ascii=False)])
        change_id = cursor.lastrowid
        for ev in change.evidence:
            db.execute("INSERT INTO fact_evidence (change_id, item_id, feed, title, link, quote, published_at, hits, "
                       "value, observation_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       [change_id, ev.item_id, ev.feed, ev.title, ev.link, ev.quote, iso(ev.published_at),
                        hits_json(ev.hits), ev.value, ev.observation_id])
        db.execute(
            "INSERT INTO facts (name, value, since_at, source, change_id) VALUES (?,?,?,?,?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, since_at = excluded.since_at, "
            "source = excluded.source, change_id = excluded.change_id",
            [change.fact, change.new, iso(change.at), change.cause, change_id])
    return change_id  # type: ignore[return-value]


def sync_known(db: Database, known: Mapping[str, str], now: datetime, rules_hash: str) -> list[FactChange]:
    """Bring the ledger in line with the rule files' ``known:`` values.

    A fact seen for the first time starts at its known value. When the rule file's ``known:``
    is edited, the edit is a correction by the rule author and the ledger takes it (recorded in
    the history with cause "rules"); otherwise the ledger's own value, moved by signals or an
    operator, stands. Returns the changes made (which never alert).
    """
    changes = []
    with db.atomic():
        states = known_facts(db)
        for name, value in known.items():
            state = states.get(name)
            if state is not None and state.rules_known == value:
                continue
            if state is None:
                change = FactChange(name, "", value, now, "rules", note="initial value from the rule file",
                                    rules_hash=rules_hash)
            elif state.value != value:
                change = FactChange(name, state.value, value, now, "rules", note="known value edited in the rule file",
                                    rules_hash=rules_hash, old_since=state.since)
            else:
                change = None
            if change is not None:
                save_change(db, change)
                changes.append(change)
            db.execute("UPDATE facts SET rules_known = ? WHERE name = ?", [value, name])
    return changes


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    fact: str
    old: str | None
    new: str
    at: datetime
    cause: str
    note: str
    rules_hash: str
    evidence: tuple[Evidence, ...]
    sources: int = 0
    direction: str = ""
    disputed: tuple[str, ...] = ()


def _evidence(row: Mapping[str, Any]) -> Evidence:
    return Evidence(row["item_id"], row["feed"], row["title"], row["link"], row["quote"],
                    parse_iso(row["published_at"]), hits_from(row["hits"]), row["value"], row["observation_id"])


def fact_history(db: Database, fact: str | None = None, *, limit: int = 1000) -> list[HistoryEntry]:
    """Read-only: changes, newest first, with their evidence."""
    where, args = ("WHERE fact = ?", [fact]) if fact else ("", [])
    rows = list(db.query(f"SELECT * FROM fact_changes {where} ORDER BY id DESC LIMIT ?", [*args, limit]))
    evidence: dict[int, list[Evidence]] = {}
    if rows:
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        for e in db.query(f"SELECT * FROM fact_evidence WHERE change_id IN ({marks}) ORDER BY id", ids):
            evidence.setdefault(e["change_id"], []).append(_evidence(e))
    return [HistoryEntry(r["id"], r["fact"], r["old_value"], r["new_value"], parse_iso(r["at"]),  # type: ignore[arg-type]
                         r["cause"], r["note"], r["rules_hash"], tuple(evidence.get(r["id"], ())),
                         r["sources"], r["direction"], tuple(json.loads(r["disputed"] or "[]")))
            for r in rows]


def fact_rows(db: Database) -> list[dict[str, Any]]:
    """Read-only: the facts board: each fact with its value, since when, and the last change's
    evidence and number of independent sources."""
    rows = [dict(r) for r in db.query(
        "SELECT f.*, c.sources AS sources, c.note AS note FROM facts f LEFT JOIN fact_changes c ON c.id = f.change_id "
        "ORDER BY f.name")]
    for row in rows:
        row["evidence"] = [dict(e) for e in db.query(
            "SELECT feed, title, link, quote, published_at, value FROM fact_evidence WHERE change_id = ? ORDER BY id",
            [row["change_id"]])] if row["change_id"] else []
    return rows
