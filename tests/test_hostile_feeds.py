"""Hostile feed servers on 127.0.0.1, each probe kept as a test: a document far over the items
limit, redirects to internal addresses and DNS rebinding, slow servers that would hold a host's
connection slots."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.request

from conftest import run_cli, write_rules
from inprocess import LogLines
from servers import rss
from watcher.app import Settings, Watcher
from watcher.models import MAX_ITEMS
from watcher.web import Check, Hooks, StatusServer


def _one_pass(settings: Settings) -> list:
    watcher = Watcher(settings, console=io.StringIO())

    async def run() -> list:
        await watcher.open()
        try:
            return (await watcher.check_all())[0]
        finally:
            await watcher.close()

    return asyncio.run(run())


def test_a_feed_over_the_items_limit_is_cut_and_says_so(tmp_path, rules_dir, feed_server):
    total = 100_000
    feed_server.set("/huge.xml", rss([{"title": f"Story {n}", "guid": f"g{n}"} for n in range(total)]))
    write_rules(rules_dir, f"feeds:\n  huge: {{url: \"{feed_server.url('/huge.xml')}\"}}\n")
    db = tmp_path / "w.db"
    with LogLines() as log:
        reports = _one_pass(Settings(rules=rules_dir, db=db, parse_workers=0))
    assert reports[0].new == MAX_ITEMS and reports[0].cut == total - MAX_ITEMS
    note = f"read the first {MAX_ITEMS:,} of {total:,} items (the limit per poll)"
    poll = next(line for line in log.lines if "poll feed=huge" in line)
    assert "WARNING" in poll and f"new={MAX_ITEMS}" in poll and f"cut={total - MAX_ITEMS}" in poll and note in poll
    env = {"WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(db)}
    listed = run_cli("feeds", env=env)
    assert listed.returncode == 0 and "read the first 2,000 of 100,000 items" in listed.stdout, listed.stdout
    detail = json.loads(run_cli("feeds", "--json", env=env).stdout)[0]
    assert (detail["items_total"], detail["items_cut"]) == (total, total - MAX_ITEMS)
    hooks = Hooks(db_path=db, alive=lambda: Check("loop", True), ready=lambda: [Check("rules", True)],
                  ruleset=lambda: None, metrics=lambda: (b"", "text/plain"), clock=lambda: reports[0].next_poll_at)
    server = StatusServer(("127.0.0.1", 0), hooks)
    server.start()
    try:
        with urllib.request.urlopen(server.url + "/", timeout=10) as page:
            assert note in page.read().decode()
        with urllib.request.urlopen(server.url + "/api/feeds", timeout=10) as api:
            assert json.loads(api.read())[0]["note"] == note
    finally:
        server.close()
