"""The status/API endpoint against a hostile client, on a real state file and a real server on
127.0.0.1: any text typed into search is a search (never a 500), and clients that open
connections and never finish a request cannot hold threads or slots for ever."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from watcher.models import Item
from watcher.store import feeds, items, open_database, status
from watcher.web import Check, Hooks, StatusServer

NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)
TITLES = ["Senate passes Ukraine aid", "Drones over the harbour", 'He said "no" (twice) -- AND left: NEAR*',
          "Flooding in the valley"]


def _state(path: Path) -> None:
    db = open_database(path)
    feeds.sync_feeds(db, {"wire": "https://w.example/rss"}, NOW)
    items.record_items(db, "wire", [Item(key=f"k{i}", title=t, link=f"https://news.example/{i}", summary="s",
                                         content_hash=f"h{i}") for i, t in enumerate(TITLES)], NOW, backlog=False)
    db.conn.close()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    path = tmp_path_factory.mktemp("state") / "w.db"
    _state(path)
    hooks = Hooks(db_path=path, alive=lambda: Check("loop", True), ready=lambda: [Check("rules", True)],
                  ruleset=lambda: None, metrics=lambda: (b"", "text/plain"), clock=lambda: NOW, version="t")
    server = StatusServer(("127.0.0.1", 0), hooks)
    server.start()
    yield server.url, path
    server.close()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_searches_that_answered_500_are_searches(endpoint):
    url, path = endpoint
    for typed in ('"', "\x00", 'a"b', "NEAR(", "-drones", "title:aid", "*", '""', "AND OR NOT"):
        code, body = _get(f"{url}/api/items?q={urllib.parse.quote(typed)}")
        assert code == 200, (typed, body)
        assert isinstance(json.loads(body), list)
        assert _get(f"{url}/search?q={urllib.parse.quote(typed)}")[0] == 200, typed
    # and what is documented still works: words, stems, phrases, prefixes, operators as words
    found = lambda q: [r["title"] for r in json.loads(_get(f"{url}/api/items?q={urllib.parse.quote(q)}")[1])]  # noqa: E731
    assert found("flood") == ["Flooding in the valley"]
    assert found('"passes ukraine"') == ["Senate passes Ukraine aid"] and found('"ukraine passes"') == []
    assert found("harb*") == ["Drones over the harbour"]
    assert found("near and") == [TITLES[2]] and found('"no" twice') == [TITLES[2]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_any_text_a_person_types_is_a_valid_search(endpoint, typed):
    url, path = endpoint
    code, body = _get(f"{url}/api/items?q={urllib.parse.quote(typed)}&limit=5")
    assert code == 200, body
    assert isinstance(json.loads(body), list)
    assert _get(f"{url}/search?q={urllib.parse.quote(typed)}")[0] == 200
    db = status.open_readonly(path)
    try:
        assert isinstance(status.search_items(db, typed), list)    # the same query, straight on the file
    finally:
        db.conn.close()
