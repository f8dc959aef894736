"""State that lasts: full-text search, browsing views, online backup, retention, the
pending-observations hook. Real SQLite files throughout."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, UTC
from pathlib import Path

import httpx
import pytest

from watcher.errors import StoreError
from watcher.metrics import Metrics
from watcher.models import AlertDraft, Evidence, FactChange, Item
from watcher.store import feeds, items, ledger, open_database, outbox, status, upkeep
from conftest import LOOPBACK

NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)


def _item(key: str, title: str, summary: str = "body text") -> Item:
    return Item(key=key, title=title, link=f"https://news.example/{key}", summary=summary,
                content="full content", content_hash=f"{key}|{title}|{summary}")


@pytest.fixture
def db(tmp_path):
    database = open_database(tmp_path / "state.db")
    feeds.sync_feeds(database, {"wire": "https://w.example/rss"}, NOW)
    yield database
    database.conn.close()


def _scenario(db) -> dict[str, int]:
    """Three old items (one evidence for a fact, one alerted on, one plain) and one new item."""
    old, _ = items.record_items(db, "wire", [_item("ev", "Senate passes Ukraine aid"),
                                             _item("al", "Drones over the harbour"),
                                             _item("plain", "Flooding in the valley")], NOW, backlog=False)
    new, _ = items.record_items(db, "wire", [_item("fresh", "Fresh harbour news")], NOW + timedelta(days=200),
                                backlog=False)
    ids = {s.item.key: s.id for s in old + new}
    ledger.sync_known(db, {"aid": "stalled"}, NOW, "r1")
    ledger.save_change(db, FactChange("aid", "stalled", "passed-senate", NOW, "signal",
                                      (Evidence(ids["ev"], "wire", "Senate passes Ukraine aid",
                                                "https://news.example/ev", "Senate passes"),)))
    outbox.enqueue(db, AlertDraft("drones", "item:drones:al", "item", "Drones", "b", "b", ("team",),
                                  item_id=ids["al"]), NOW)
    return ids


def test_items_have_full_text_search_kept_in_step_by_triggers(db):
    _scenario(db)
    found = status.search_items(db, "flood")                        # porter stemming: flooding
    assert [r["title"] for r in found] == ["Flooding in the valley"]
    assert {r["title"] for r in status.search_items(db, "harbour")} == {"Drones over the harbour",
                                                                       "Fresh harbour news"}
    assert status.search_items(db, 'unbalanced " quote OR') == []   # user text is taken literally
    items.record_items(db, "wire", [_item("plain", "Drought in the valley")], NOW, backlog=False)
    assert status.search_items(db, "flood") == [] and len(status.search_items(db, "drought")) == 1


def test_views_for_browsing_show_the_facts_board_and_the_rest(db):
    _scenario(db)
    board = [dict(r) for r in db.query("SELECT * FROM facts_board")]
    assert board[0]["fact"] == "aid" and board[0]["value"] == "passed-senate"
    assert board[0]["previous_value"] == "stalled" and board[0]["evidence_count"] == 1
    assert board[0]["evidence"] == "Senate passes Ukraine aid <https://news.example/ev>"
    assert [r["new_value"] for r in db.query("SELECT * FROM fact_timeline")] == ["passed-senate", "stalled"]
    assert [dict(r)["health"] for r in db.query("SELECT * FROM feed_health")] == ["never polled"]
    assert [r["deliveries"] for r in db.query("SELECT * FROM alert_log")] == ["team=pending"]


def test_sqlite_utils_cli_browses_and_searches_the_state(db, tmp_path):
    _scenario(db)
    cli = Path(sys.executable).parent / "sqlite-utils"
    search = subprocess.run([str(cli), "search", str(tmp_path / "state.db"), "items", "harbour", "--csv",
                             "-c", "title"], capture_output=True, text=True, timeout=60)
    assert search.returncode == 0, search.stderr
    assert "Drones over the harbour" in search.stdout
    board = subprocess.run([str(cli), str(tmp_path / "state.db"), "SELECT fact, value FROM facts_board"],
                           capture_output=True, text=True, timeout=60)
    assert '"value": "passed-senate"' in board.stdout


def test_datasette_browses_the_views_searches_items_and_follows_foreign_keys(db, tmp_path):
    """`datasette state/watcher.db`, as docs/operations.md suggests, on a real state file."""
    ids = _scenario(db)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "datasette.log"
    with log.open("wb") as out:   # the child keeps its own copy of the descriptor
        server = subprocess.Popen([str(Path(sys.executable).parent / "datasette"), "serve", str(tmp_path / "state.db"),
                                   "-h", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}/state"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                board = httpx.get(f"{base}/facts_board.json?_shape=array", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
        assert [(r["fact"], r["value"], r["previous_value"]) for r in board.json()] == [("aid", "passed-senate",
                                                                                        "stalled")]
        found = httpx.get(f"{base}/items.json?_search=harbour&_shape=array&_col=title", timeout=10).json()
        assert {r["title"] for r in found} == {"Drones over the harbour", "Fresh harbour news"}
        row = httpx.get(f"{base}/items/{ids['ev']}.json?_extras=foreign_key_tables", timeout=10).json()
        links = {t["other_table"]: t["count"] for t in row["foreign_key_tables"]}
        assert links["fact_evidence"] == 1 and links["alerts"] == 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_backup_is_a_consistent_self_contained_copy_taken_while_another_connection_writes(db, tmp_path):
    _scenario(db)
    writer = sqlite3.connect(tmp_path / "state.db")
    writer.execute("BEGIN IMMEDIATE")                  # a write in progress (not committed)
    writer.execute("UPDATE facts SET value = 'signed'")
    result = upkeep.backup(tmp_path / "state.db", tmp_path / "copy" / "backup.db")
    writer.rollback()
    writer.close()
    assert result.bytes > 0 and not (tmp_path / "copy" / "backup.db-wal").exists()
    copy = sqlite3.connect(tmp_path / "copy" / "backup.db")
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert copy.execute("SELECT value FROM facts").fetchone() == ("passed-senate",)
    assert copy.execute("SELECT count(*) FROM items").fetchone() == (4,)
    copy.close()
    with pytest.raises(StoreError, match="exists; remove it or pass --force"):
        upkeep.backup(tmp_path / "state.db", tmp_path / "copy" / "backup.db")
    assert upkeep.backup(tmp_path / "state.db", tmp_path / "copy" / "backup.db", overwrite=True).pages > 0
    with pytest.raises(StoreError, match="no state database"):
        upkeep.backup(tmp_path / "nothing.db", tmp_path / "x.db")


def test_retention_thins_old_unreferenced_items_and_never_deletes_rows(db):
    ids = _scenario(db)
    later = NOW + timedelta(days=200)
    assert upkeep.thin_items(db, 90 * 86400, later, batch=1) == 1     # batches: one at a time
    assert upkeep.thin_items(db, 90 * 86400, later) == 0
    rows = {r["key"]: (r["summary"], r["content"]) for r in db.query("SELECT key, summary, content FROM items")}
    assert rows == {"ev": ("body text", "full content"),             # evidence of a fact: kept whole
                    "al": ("body text", "full content"),             # subject of an alert: kept whole
                    "plain": ("", ""),                               # old: text cleared, row kept
                    "fresh": ("body text", "full content")}          # young: untouched
    # the thinned item is still known: the feed carrying it again does not make it new
    new, _ = items.record_items(db, "wire", [Item(key="plain", title="Flooding in the valley", link=None,
                                                  summary="", content_hash="other")], later, backlog=False)
    assert new == [] and ids["plain"] in {r["id"] for r in db.query("SELECT id FROM items")}
    assert ledger.fact_history(db, "aid")[0].evidence[0].item_id == ids["ev"]


def test_pending_observations_show_in_the_metrics(db, tmp_path):
    _scenario(db)
    metrics = Metrics(tmp_path / "state.db")
    assert status.pending_observations(db) == {}
    assert "watcher_pending_observations{" not in metrics.render().decode()
    for fact, value, title in [("aid", "signed", "Biden to sign"), ("aid", "signed", "Signing set"),
                               ("other", "x", "t"), ("aid", "blocked", "an applied one")]:
        db.execute("INSERT INTO fact_observations (fact, value, state, feed, title, quote, signal, seen_at, "
                   "decided_at) VALUES (?, ?, ?, 'wire', ?, 'q', 0, '2024-01-01T00:00:00Z', "
                   "'2024-01-01T00:00:00Z')", [fact, value, "applied" if "applied" in title else "pending", title])
    pending = status.pending_observations(db)
    assert {k: len(v) for k, v in pending.items()} == {"aid": 2, "other": 1}
    assert 'watcher_pending_observations{fact="aid"} 2.0' in metrics.render().decode()


def test_the_daemons_housekeeping_runs_retention_in_batches(tmp_path, rules_dir):
    import asyncio
    import io

    from conftest import write_rules
    from watcher.app import Settings, Watcher

    write_rules(rules_dir, 'feeds:\n  wire: {url: "https://w.example/rss"}\n')
    clock = [NOW]
    watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                               rules=rules_dir, db=tmp_path / "w.db", parse_workers=0, keep_items=90 * 86400),
                      clock=lambda: clock[0], console=io.StringIO())

    async def scenario() -> tuple[int, int]:
        await watcher.open()
        try:
            await watcher.store.call(items.record_items, "wire", [_item(f"k{i}", f"t{i}") for i in range(1200)],
                                     NOW, backlog=False)
            young = await watcher.housekeeper().thin_items()
            clock[0] = NOW + timedelta(days=91)
            return young, await watcher.housekeeper().thin_items()
        finally:
            await watcher.close()

    assert asyncio.run(scenario()) == (0, 1200)                     # three batches of at most 500
