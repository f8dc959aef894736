"""Operations costs: what full-text search adds to storing items, and what the HTTP endpoint
costs per request on a state of realistic size. Loopback only; every loop bounded.

    .venv/bin/python -m bench.bench_ops            # prints a small table (medians of the reps)

1. ``record_items`` per item, one transaction per feed (as a poll does), with the items_fts
   triggers of migration m040 and without them (dropped in a copy): the ratio is the cost of
   search on the hot path.
2. ``/metrics``, ``/`` (status page), ``/api/facts`` and ``/api/feeds`` on a state of 200 feeds,
   10,000 items, 20 facts with evidence and 2,000 alerts: milliseconds per request over HTTP.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, UTC
from pathlib import Path

from watcher.metrics import CONTENT_TYPE, Metrics
from watcher.models import AlertDraft, Evidence, FactChange, Item
from watcher.store import feeds, items, ledger, open_database, outbox
from watcher.web import Check, Hooks, StatusServer

NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)
FEEDS, PER_FEED, REPS, REQUESTS = 200, 50, 3, 20
WORDS = ("senate", "ukraine", "aid", "package", "drones", "harbour", "flood", "minister", "talks", "budget",
         "vote", "defense", "air", "missile", "front", "line", "city", "council", "report", "sources", "said",
         "on", "monday", "after", "weeks", "of")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _items(rng: random.Random, feed: int) -> list[Item]:
    return [Item(key=f"g:{feed}-{i}", title=_text(rng, 9), link=f"https://news.example/{feed}/{i}",
                 summary=_text(rng, 90), content_hash=f"{feed}-{i}") for i in range(PER_FEED)]


def _store_all(path: Path, fts: bool) -> float:
    db = open_database(path)
    if not fts:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
    feeds.sync_feeds(db, {f"f{i}": f"https://f{i}.example/rss" for i in range(FEEDS)}, NOW)
    rng = random.Random(42)
    batches = [(f"f{i}", _items(rng, i)) for i in range(FEEDS)]
    started = time.perf_counter()
    for name, batch in batches:
        with db.atomic():
            items.record_items(db, name, batch, NOW, backlog=False)
    elapsed = time.perf_counter() - started
    db.conn.close()
    return elapsed / (FEEDS * PER_FEED) * 1e6


def _fill_rest(path: Path) -> None:
    db = open_database(path)
    ids = [r[0] for r in db.execute("SELECT id FROM items ORDER BY id LIMIT 2000").fetchall()]
    for f in range(20):
        ledger.sync_known(db, {f"fact-{f}": "stalled"}, NOW, "r")
        ledger.save_change(db, FactChange(f"fact-{f}", "stalled", "passed", NOW + timedelta(hours=f), "signal",
                                          tuple(Evidence(ids[f * 3 + k], "f1", "t", "https://e/x", "q")
                                                for k in range(3))))
    for i, item_id in enumerate(ids):
        outbox.enqueue(db, AlertDraft("rule", f"k{i}", "item", f"alert {i}", "b", "b", ("team", "ops"),
                                      item_id=item_id), NOW)
    for i in range(FEEDS):
        feeds.record_poll(db, f"f{i}", outcome="new", now=NOW, next_poll_at=NOW + timedelta(minutes=15),
                          reached=True, parsed=True)
    db.conn.close()


def _serve(path: Path) -> StatusServer:
    metrics = Metrics(path, lambda: NOW)
    hooks = Hooks(db_path=path, alive=lambda: Check("event loop", True), ready=lambda: [Check("rules", True)],
                  ruleset=lambda: None, metrics=lambda: (metrics.render(), CONTENT_TYPE), clock=lambda: NOW)
    server = StatusServer(("127.0.0.1", 0), hooks)
    server.start()
    return server


def _per_request(url: str) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(REQUESTS):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as answer:
            size = len(answer.read())
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, size


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with_fts = statistics.median(_store_all(Path(tmp) / f"fts{r}.db", True) for r in range(REPS))
        without = statistics.median(_store_all(Path(tmp) / f"plain{r}.db", False) for r in range(REPS))
        print(f"record_items, {FEEDS} feeds x {PER_FEED} items, 1 txn per feed, median of {REPS}:")
        print(f"  with items_fts triggers   {with_fts:6.1f} us/item")
        print(f"  without                   {without:6.1f} us/item   (FTS costs x{with_fts / without:.2f})")
        state = Path(tmp) / "fts0.db"
        _fill_rest(state)
        server = _serve(state)
        try:
            print(f"HTTP on a state of {FEEDS} feeds, {FEEDS * PER_FEED} items, 20 facts, 2000 alerts "
                  f"(median of {REQUESTS} requests):")
            for path in ("/metrics", "/", "/api/facts", "/api/feeds", "/api/items?q=senate+drones"):
                ms, size = _per_request(server.url + path)
                print(f"  {path:28s} {ms:7.1f} ms  {size / 1024:7.1f} KB")
        finally:
            server.close()


if __name__ == "__main__":
    main()
