"""What the status page and the JSON API show, read from the state through one read-only connection.

Every function returns plain dicts and lists of JSON-ready values (times as ISO-8601 text), so
the page and the API show the same data.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from .. import balance
from ..models import Observation
from ..ruleset.compiled import Fact, Ruleset
from ..store import Database, feeds, ledger, observations, outages, outbox, status
from ..timefmt import iso, parse_iso


def facts(db: Database, ruleset: Ruleset | None, now: datetime) -> list[dict[str, Any]]:
    """The facts board: value (as people read it: ``61 billion USD``), since, source, the evidence
    for the value, and the reports still waiting for corroboration, each with what it waits for
    and until when."""
    pending = status.pending_observations(db)
    live = observations.live_observations(db, now) if ruleset else []
    board = []
    for row in ledger.fact_rows(db):
        spec = ruleset.facts.get(row["name"]) if ruleset else None
        if spec is not None:
            waiting = _waiting(spec, row["value"], parse_iso(row["since_at"]),
                               [o for o in live if o.fact == row["name"]], now)
        else:  # what a report waits for depends on the fact's rules
            why = "the fact is not in the rules" if ruleset else "no rules are loaded"
            waiting = [{**_plain(p), "waits_for": f"unknown: {why}", "waits_until": None}
                       for p in pending.get(row["name"], [])]
        board.append({
            "name": row["name"], "value": spec.display(row["value"]) if spec else row["value"],
            "raw_value": row["value"], "since": row["since_at"], "source": row["source"],
            "describe": spec.describe if spec else row["name"],
            "values": list(spec.values) if spec and spec.values else None,
            "ordered": bool(spec and spec.ordered), "in_rules": spec is not None,
            "stage": spec.values.index(row["value"]) if spec and spec.values and row["value"] in spec.values else None,
            "evidence": [{"feed": e["feed"], "title": e["title"], "link": e["link"], "quote": e["quote"],
                          "published_at": e["published_at"]} for e in row["evidence"]],
            "pending": waiting,
        })
    return board


def _waiting(fact: Fact, current: str, since: datetime | None, live: list[Observation],
             now: datetime) -> list[dict[str, Any]]:
    """The fact's pending reports, newest first, with what each waits for (``balance.pending``)."""
    return [{"value": fact.display(o.value), "title": o.item.item.title, "link": o.item.item.link,
             "feed": o.item.feed, "quote": o.quote, **balance.pending_summary(fact, o, wait)}
            for o, wait in balance.pending(fact, current, since, live, now)]


def fact(db: Database, ruleset: Ruleset | None, name: str, now: datetime, *,
         limit: int = 200) -> dict[str, Any] | None:
    """One fact from the board, with its history."""
    found = next((f for f in facts(db, ruleset, now) if f["name"] == name), None)
    if found is None:
        return None
    return {**found, "history": status.timeline(db, name, limit=limit)}


def history(db: Database, fact_name: str | None = None, *, limit: int = 50) -> list[dict[str, Any]]:
    return status.timeline(db, fact_name, limit=limit)


def alerts(db: Database, *, failed: bool = False, limit: int = 30) -> list[dict[str, Any]]:
    """Recent alerts, newest first, with each delivery's state."""
    return outbox.alert_rows(db, states=["failed", "dead"] if failed else None, limit=limit)


def feed_health(db: Database, ruleset: Ruleset | None) -> list[dict[str, Any]]:
    """Every feed with its health (``FeedRow.health``: new, gone, failing or ok)."""
    down = status.open_outages(db)
    out = []
    for row in feeds.feed_rows(db):
        spec = ruleset.feeds.get(row.name) if ruleset else None
        outage = down.get(row.name)
        record = {k: iso(v) if isinstance(v, datetime) else v for k, v in asdict(row).items()
                  if k not in ("etag", "last_modified", "body_hash")}
        record.update({
            "health": row.health,
            "down_since": outage["started_at"] if outage else None,
            "interval": spec.interval if spec else None, "tags": list(spec.tags) if spec else [],
            "note": row.note,
        })
        out.append(record)
    return out


def recent_outages(db: Database, *, limit: int = 20) -> list[dict[str, Any]]:
    return outages.recent(db, limit=limit)


def summary(db: Database, ruleset: Ruleset | None, now: datetime) -> dict[str, Any]:
    """Counts for the page header and ``/api/status``."""
    box = status.outbox_stats(db, now)
    rows = feeds.feed_rows(db)
    return {
        "feeds": len(rows), "feeds_failing": sum(1 for r in rows if r.health == "failing"),
        "feeds_gone": sum(1 for r in rows if r.health == "gone"),
        "facts": db.execute("SELECT count(*) FROM facts").fetchone()[0],
        "items": db.execute("SELECT count(*) FROM items").fetchone()[0],
        "alerts": sum(box["alerts"].values()), "outbox_depth": box["depth"],
        "outbox_oldest_age": box["oldest_age"], "deliveries": box["deliveries"],
        "rules": ruleset.digest if ruleset else None,
        # patterns that ran out of time on some item (those items were recorded as not matched)
        "slow_rules": ruleset.slow_terms() if ruleset else [],
        "heartbeat": iso(status.heartbeat(db)),
    }


def search(db: Database, query: str, *, limit: int = 50) -> list[dict[str, Any]]:
    return status.search_items(db, query, limit=limit) if query.strip() else []


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if isinstance(v, (str, int, float, type(None)))}
