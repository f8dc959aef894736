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
from watcher.errors import FetchError
from watcher.fetch import FetchLimits, Fetcher
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


# -- one slow host starves its neighbours ----------------------------------------------------------

def test_two_trickling_feeds_cannot_hold_their_hosts_other_feeds(feed_server):
    """Two slowloris feeds (a byte every 0.1 s) and a prompt one, all on one host with two slots.
    Unknown yet, the slow ones take both slots but give them up at the prompt deadline (1 s, not
    the total 8 s), so the prompt feed waits that long at most; then, in the slow lane, they share
    the one slot it may hold, and the prompt feed is fetched at once while they trickle on."""
    for path in ("/trickle0", "/trickle1"):
        feed_server.set(path, "x" * 400, trickle=0.1)             # 40 s, cut by the deadlines below
    feed_server.set("/prompt", rss([{"title": "Prompt story", "guid": "p"}]))
    limits = FetchLimits(per_host=2, prompt_timeout=1.0, total_timeout=8.0, slow_after=0.5, read_timeout=5.0)

    async def go() -> None:
        fetcher = Fetcher(limits)

        async def attempt(path: str) -> str:
            try:
                await fetcher.fetch(feed_server.url(path))
                return "ok"
            except FetchError as exc:
                return str(exc)

        try:
            trickling = [asyncio.create_task(attempt(p)) for p in ("/trickle0", "/trickle1")]
            await asyncio.sleep(0.3)                              # both are transferring, in the prompt lane
            assert await asyncio.wait_for(attempt("/prompt"), 4.0) == "ok"
            first = await asyncio.gather(*trickling)
            assert all("within 1s; the next fetch takes the slow lane (8s)" in e for e in first), first
            assert fetcher.is_slow(feed_server.url("/trickle0")) and fetcher.is_slow(feed_server.url("/trickle1"))

            trickling = [asyncio.create_task(attempt(p)) for p in ("/trickle0", "/trickle1")]
            await asyncio.sleep(0.3)                              # the slow lane's one slot of the host is taken
            assert await asyncio.wait_for(attempt("/prompt"), 4.0) == "ok"
            assert not any(task.done() for task in trickling)    # the prompt feed did not wait for them
            assert await asyncio.gather(*trickling) == ["no complete response within 8s"] * 2
        finally:
            await fetcher.aclose()

    asyncio.run(asyncio.wait_for(go(), 60))
