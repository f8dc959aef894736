"""Every file of the feedparser corpus, served over HTTP by the local feed server with the headers
it asks for, goes through the real daemon's fetch, parse (fast path or feedparser, in worker
processes) and store without an unhandled error, and the items stored are the entries
feedparser itself reports for the same bytes."""

from __future__ import annotations

import asyncio
import io
import sqlite3

import feedparser
import pytest

from conftest import LOOPBACK, write_rules
from corpus import cases, needs_corpus
from watcher.app import Settings, Watcher
from watcher.identity import canonical_url, html_to_text, item_key
from watcher.models import PollOutcome


def _expected(body: bytes, url: str, content_type: str) -> set[tuple]:
    """What feedparser reports: (guid, canonical link, title text) of each entry."""
    parsed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": url,
                                                                  "content-type": content_type})
    if not parsed.get("entries") and not parsed.get("version"):
        return set()
    found: dict[str, tuple] = {}
    for entry in parsed.entries[:2000]:
        guid = entry.get("id") if isinstance(entry.get("id"), str) else None
        guid = (guid or "").strip() or None
        link = canonical_url(entry.get("link") or None)
        title = html_to_text(entry.get("title") or "")
        summary = html_to_text(entry.get("summary") or "")
        content = "\n".join(t for t in (html_to_text(c.get("value") or "") for c in entry.get("content") or [])
                            if t and t != summary)
        # one item per identity: a repeated entry is stored once, as first seen
        found.setdefault(item_key(guid, link, title, summary or content), (guid, link, title))
    return set(found.values())


@pytest.mark.slow
@needs_corpus
def test_every_corpus_file_goes_through_fetch_parse_and_store(tmp_path, feed_server):
    files = list(cases())
    names = {}
    for i, (path, headers) in enumerate(files):
        route = f"/corpus/{i}/{path.name}"
        feed_server.set(route, path.read_bytes(), content_type=headers.pop("Content-Type"),
                        headers={k: v for k, v in headers.items() if k != "Etag"})
        names[f"c{i}"] = (path, route)
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, "feeds:\n" + "".join(f"  {name}:\n    url: {feed_server.url(route)}\n"
                                            for name, (_, route) in names.items()))
    settings = Settings(allow_addresses=LOOPBACK,
                        rules=rules, db=tmp_path / "w.db", parse_workers=2, watch_rules=False, check_concurrency=20)

    async def go():
        watcher = Watcher(settings)
        await watcher.open(lock=False)
        try:
            reports, _ = await watcher.check_all()
        finally:
            await watcher.close()
        return reports

    reports = asyncio.run(go())
    assert len(reports) == len(files)
    failed = {r.feed: r.error for r in reports if r.outcome == PollOutcome.ERROR}
    # the only errors allowed are documents that are not feeds at all (feedparser finds nothing)
    assert all(error.startswith("parse: ") for error in failed.values()), failed
    db = sqlite3.connect(tmp_path / "w.db")
    stored: dict[str, set[tuple]] = {}
    for feed, guid, link, title in db.execute("SELECT feed, guid, link, title FROM items"):
        stored.setdefault(feed, set()).add((guid, link, title))
    different = []
    for name, (path, route) in names.items():
        content_type = feed_server.routes[route].content_type
        expected = _expected(path.read_bytes(), feed_server.url(route), content_type)
        if name in failed:
            assert not expected, f"{path}: {failed[name]}"
        elif stored.get(name, set()) != expected:
            different.append(f"{path.relative_to(path.parents[2])}: stored {sorted(stored.get(name, set()))[:2]} "
                             f"feedparser {sorted(expected)[:2]}")
    assert different == []
