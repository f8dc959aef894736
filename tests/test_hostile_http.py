"""The status/API endpoint against a hostile client, on a real state file and a real server on
127.0.0.1: any text typed into search is a search (never a 500), and clients that open
connections and never finish a request cannot hold threads or slots for ever."""

from __future__ import annotations

import json
import socket
import threading
import time
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
from watcher.web import Check, ClientLimits, Hooks, StatusServer

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


# -- clients that never finish ---------------------------------------------------------------------

QUICK = ClientLimits(idle=1.0, request=2.0, connections=16)


@pytest.fixture
def strict(tmp_path) -> Iterator[StatusServer]:
    _state(tmp_path / "w.db")
    hooks = Hooks(db_path=tmp_path / "w.db", alive=lambda: Check("loop", True), ready=lambda: [Check("rules", True)],
                  ruleset=lambda: None, metrics=lambda: (b"", "text/plain"), clock=lambda: NOW, version="t")
    server = StatusServer(("127.0.0.1", 0), hooks, QUICK)
    server.start()
    yield server
    server.close()


def _open(server: StatusServer, first: bytes) -> socket.socket:
    sock = socket.create_connection(server.address, timeout=10)
    if first:
        sock.sendall(first)
    return sock


def _closed_by_server(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Read until the server closes the connection (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    got = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return False, got
        except ConnectionResetError:
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def _exchange(server: StatusServer, sent: bytes, seconds: float = 5.0) -> tuple[bool, bytes]:
    """Send ``sent`` on a new connection; whether the server then closed it, and what it answered."""
    sock = _open(server, b"")
    try:
        try:
            sock.sendall(sent)
        except OSError:
            pass                                                  # the server may close before reading it all
        return _closed_by_server(sock, seconds)
    finally:
        sock.close()


def _threads() -> int:
    return threading.active_count()


def test_two_hundred_half_finished_requests_are_capped_and_closed(strict):
    before = _threads()
    socks = [_open(strict, b"GET /api/status HTTP/1.1\r\nHost: x\r\n") for _ in range(200)]   # no blank line
    try:
        time.sleep(0.3)
        assert _threads() - before <= QUICK.connections + 2       # one thread per served connection, no more
        # every one is closed by the server: told 503 at once when the slots are taken, else cut off at
        # the request deadline (+ the reaper's beat); those queued behind get a slot, then the same
        deadline = time.monotonic() + 4 * QUICK.request + 10
        answers = []
        for sock in socks:
            closed, got = _closed_by_server(sock, max(0.1, deadline - time.monotonic()))
            assert closed, f"a connection still open after {4 * QUICK.request + 10}s"
            answers.append(got)
        assert sum(a.startswith(b"HTTP/1.1 503") for a in answers) >= 100
        assert all(a == b"" or a.startswith(b"HTTP/1.1 503") for a in answers)   # nothing was served
    finally:
        for sock in socks:
            sock.close()
    deadline = time.monotonic() + 10
    while _threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _threads() <= before
    assert _get(strict.url + "/healthz")[0] == 200               # and the endpoint answers again


def test_a_client_trickling_its_headers_is_cut_off_at_the_deadline(strict):
    sock = _open(strict, b"GET / HTTP/1.1\r\n")
    started = time.monotonic()
    try:
        for _ in range(int((QUICK.request + 3.0) / 0.25)):      # a byte every 0.25 s: under the idle timeout
            try:
                sock.sendall(b"X")
            except OSError:
                break
            if _closed_by_server(sock, 0.25)[0]:
                break
        assert time.monotonic() - started < QUICK.request + 2.0
    finally:
        sock.close()


def test_an_idle_connection_is_closed(strict):
    sock = _open(strict, b"")
    try:
        assert _closed_by_server(sock, QUICK.idle + 3.0)[0]
    finally:
        sock.close()
    # and a keep-alive connection that goes quiet after an answer
    sock = _open(strict, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        closed, got = _closed_by_server(sock, QUICK.idle + 3.0)
        assert closed and got.startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


@pytest.mark.parametrize("method", ["BREW", "OPTIONS", "TRACE", "PROPFIND", "POST", "DELETE"])
def test_other_methods_are_405_with_allow(strict, method):
    closed, got = _exchange(strict, f"{method} /api/status HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                            .encode())
    head = got.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("HTTP/1.1 405"), head
    assert "Allow: GET, HEAD" in head and closed


# -- probes the endpoint held before: kept so it goes on holding ----------------------------------

@pytest.mark.parametrize("path", ["/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd",
                                  "/facts/..%2f..%2f..%2fetc%2fpasswd", "/../../etc/passwd", "//etc/passwd",
                                  "/static/..%5c..%5cpyproject.toml"])
def test_paths_out_of_the_endpoint_find_nothing(strict, path):
    closed, got = _exchange(strict, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert got.startswith(b"HTTP/1.1 404"), got[:80]
    assert b"root:" not in got and b"[build-system]" not in got


@pytest.mark.parametrize("request_head,status", [
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),                    # an oversized URL
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(150)) + b"\r\n", b"431"),  # too many headers
    (b"GET / HTTP/1.1\r\nX-Big: " + b"y" * 70_000 + b"\r\n\r\n", b"431"),                      # one huge header
])
def test_oversized_requests_are_refused_and_the_endpoint_goes_on(strict, request_head, status):
    closed, got = _exchange(strict, request_head)
    assert closed and got.split(b" ")[1:2] == [status], got[:80]
    assert _get(strict.url + "/healthz")[0] == 200
