"""Labelled news stories (tests/data/stories/*.yaml) told to the real daemon pass.

A story lists items (feed, day, time, title, summary, label) and the transitions of one fact it
should cause. ``tell`` serves each feed from a local feed server as its items' publication
times come, polls three times a day through ``Watcher.check_all`` with the clock set to the
story's time, and returns the fact's history; alerts go wherever the rules send them.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from inprocess import settings
from servers import FeedServer, rss
from watcher.app import Watcher
from watcher.store import ledger
from watcher.timefmt import parse_iso


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def start(story: dict[str, Any]) -> datetime:
    """Day 0 of the story, midnight UTC (YAML reads the timestamp itself)."""
    value = story["start"]
    return value.astimezone(UTC) if isinstance(value, datetime) else parse_iso(str(value))


def published(story: dict[str, Any], item: dict[str, Any]) -> datetime:
    hour, minute = (int(x) for x in item["at"].split(":"))
    return start(story) + timedelta(days=item["day"], hours=hour, minutes=minute)


def polls(story: dict[str, Any]) -> list[datetime]:
    """The story's poll times every day from its first day (0) until two days after its last item."""
    first = start(story)
    times = [tuple(int(x) for x in at.split(":")) for at in story["polls"]]
    last = max(item["day"] for item in story["items"])
    return [first + timedelta(days=day, hours=h, minutes=m) for day in range(0, last + 3) for h, m in times]


def feeds(story: dict[str, Any]) -> list[str]:
    return sorted({item["feed"] for item in story["items"]})


def serve(feed_server: FeedServer, story: dict[str, Any], now: datetime) -> None:
    """Each feed's document as it stands at ``now``: its 20 newest items published by then."""
    for feed in feeds(story):
        out = sorted((i for i in story["items"] if i["feed"] == feed and published(story, i) <= now),
                     key=lambda i: published(story, i), reverse=True)[:20]
        feed_server.set(f"/{feed}.xml", rss([
            {"title": i["title"], "description": i["summary"], "guid": f"{feed}-{i['day']}-{i['at']}",
             "link": f"https://{feed}.example/{i['day']}/{i['at'].replace(':', '')}",
             "pubDate": format_datetime(published(story, i))} for i in out]))


def tell(story: dict[str, Any], rules: Path, state: Path, feed_server: FeedServer) -> list[ledger.HistoryEntry]:
    """Run the story through the daemon's pass on ``rules`` (state in the folder ``state``); the
    history of the story's fact, oldest first."""
    clock = [start(story)]

    async def run() -> list[ledger.HistoryEntry]:
        watcher = Watcher(settings(state, rules), clock=lambda: clock[0], console=io.StringIO())
        await watcher.open()
        try:
            for at in polls(story):
                clock[0] = at
                serve(feed_server, story, at)
                await watcher.check_all()
            assert watcher.store is not None
            return list(reversed(await watcher.store.call(ledger.fact_history, story["fact"])))
        finally:
            await watcher.close()

    return asyncio.run(run())


def moves(story: dict[str, Any], history: list[ledger.HistoryEntry]) -> list[tuple[int, str]]:
    """The fact's moves by signals: (day of the story, new value as stored)."""
    first = start(story)
    return [((e.at - first).days, e.new) for e in history if e.cause == "signal"]


def expected(story: dict[str, Any]) -> list[tuple[int, str]]:
    """The labelled transitions, their values as the ledger stores them (a range as ``low..high``)."""
    def stored(value: Any) -> str:
        return "..".join(f"{v:g}" for v in value) if isinstance(value, list) else str(value)
    return [(t["day"], stored(t["to"])) for t in story["transitions"]]
