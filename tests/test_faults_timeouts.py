"""Servers that never answer and documents that never finish parsing, next to healthy feeds:
each fault is cut by its own limit and recorded on its own feed (kind ``timeout`` at connect or
read, ``parse`` for an abandoned parse), and the healthy feeds are polled as if nothing happened.

- connect: a listening socket whose backlog is full and which never accepts, so the SYN is
  never answered (the kernel drops it) and the connection never opens;
- read: a server that takes the request and says nothing, and one that stops mid-body;
- parse: a malformed feed with a huge HTML description, which feedparser's loose parser takes
  many seconds to read (abandoned at the parse timeout; only its own worker is replaced), and a
  parse worker killed mid-parse (as the kernel's OOM killer would)."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import socket
import threading
from datetime import datetime, UTC

import pytest

from conftest import LOOPBACK, rfc822, write_rules
from servers import rss, slow_to_parse
from watcher.app import Settings, Watcher
from watcher.fetch import FetchLimits
from watcher.store import feeds as feed_table

NOW = datetime.now(UTC)


def _healthy(n: int) -> str:
    return rss([{"title": f"healthy story {n}", "guid": f"h{n}", "link": f"https://news.example/h{n}",
                 "pubDate": rfc822(NOW)}])


class BlackHole:
    """A port that never completes a connection: listening with a backlog of 0, already filled by
    one connection nobody accepts, so every further SYN is dropped."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(0)
        self.port = self._server.getsockname()[1]
        self._filler = socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def close(self) -> None:
        self._filler.close()
        self._server.close()


class Mute:
    """Accepts connections and reads the request, then sends ``reply`` (perhaps nothing) and
    holds the connection open without another byte until closed."""

    def __init__(self, reply: bytes = b"") -> None:
        self.reply = reply
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            try:
                conn.recv(65536)
                conn.sendall(self.reply)
            except OSError:
                pass
            self._held.append(conn)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._server.close()


def _rules(folder, urls: dict[str, str]) -> None:
    feeds = "".join(f"  {name}: {{url: \"{url}\"}}\n" for name, url in urls.items())
    write_rules(folder, f"settings: {{interval: 1h, backlog: {{alerts: 1d}}}}\nfeeds:\n{feeds}")


def test_slow_feeds_are_remembered_and_start_in_their_own_lane_after_a_restart(tmp_path, rules_dir, feed_server):
    """How long each fetch took is recorded on the feed; a restarted daemon puts the feeds that
    were slow (an answer after the threshold, or a timeout) in the slow lane before fetching them."""
    feed_server.set("/prompt", _healthy(0))
    feed_server.set("/slow", _healthy(1), delay=1.5)
    feed_server.set("/hang", _healthy(2), delay=30)
    urls = {name: feed_server.url(f"/{name}") for name in ("prompt", "slow", "hang")}
    _rules(rules_dir, urls)
    limits = FetchLimits(slow_after=1.0, read_timeout=2.0, total_timeout=2.5)

    def daemon() -> Watcher:
        return Watcher(Settings(allow_addresses=LOOPBACK,
                                rules=rules_dir, db=tmp_path / "w.db", parse_workers=0, fetch=limits),
                       console=io.StringIO())

    async def first_run():
        watcher = daemon()
        await watcher.open()
        try:
            await watcher.check_all()
            return {r.name: r for r in await watcher.store.call(feed_table.feed_rows)}
        finally:
            await watcher.close()

    async def after_restart() -> dict[str, bool]:
        watcher = daemon()
        await watcher.open()
        try:
            return {name: watcher._fetcher.is_slow(url) for name, url in urls.items()}
        finally:
            await watcher.close()

    rows = asyncio.run(first_run())
    assert rows["prompt"].fetch_s < 1.0 and rows["prompt"].status == "new"
    assert 1.5 <= rows["slow"].fetch_s < 2.5 and rows["slow"].status == "new"
    assert rows["hang"].fetch_s >= 2.0 and rows["hang"].error_kind == "timeout"   # the read timeout
    assert asyncio.run(after_restart()) == {"prompt": False, "slow": True, "hang": True}


def test_connect_and_read_timeouts_are_recorded_and_hold_up_nothing(tmp_path, rules_dir, feed_server):
    hole = BlackHole()
    silent = Mute()
    half = Mute(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<rss ver")
    try:
        urls = {f"healthy{n}": feed_server.url(f"/h{n}") for n in range(3)}
        for n in range(3):
            feed_server.set(f"/h{n}", _healthy(n))
        urls |= {"no-answer-to-syn": f"http://127.0.0.1:{hole.port}/feed", "silent": f"http://127.0.0.1:{silent.port}/",
                 "stops-mid-body": f"http://127.0.0.1:{half.port}/"}
        _rules(rules_dir, urls)
        limits = FetchLimits(connect_timeout=1, read_timeout=1, total_timeout=10)
        watcher = Watcher(Settings(allow_addresses=LOOPBACK,
                                   rules=rules_dir, db=tmp_path / "w.db", parse_workers=0, fetch=limits),
                          console=io.StringIO())

        async def scenario():
            await watcher.open()
            try:
                reports, _ = await watcher.check_all()
                return reports, {r.name: r for r in await watcher.store.call(feed_table.feed_rows)}
            finally:
                await watcher.close()

        reports, rows = asyncio.run(scenario())
    finally:
        hole.close()
        silent.close()
        half.close()
    assert {r.feed: r.new for r in reports if r.feed.startswith("healthy")} == {f"healthy{n}": 1 for n in range(3)}
    expected = {"no-answer-to-syn": "fetch: connecting timed out",
                "silent": "fetch: reading the response timed out",
                "stops-mid-body": "fetch: reading the response timed out"}
    for name, error in expected.items():
        assert (rows[name].error_kind, rows[name].error, rows[name].status) == ("timeout", error, "error"), name
        assert rows[name].error_streak == 1 and rows[name].next_poll_at is not None


def _parse_rig(tmp_path, rules_dir, feed_server, names: list[str], *, timeout: float) -> Watcher:
    feed_server.set("/slow", slow_to_parse())
    urls = {name: feed_server.url("/slow") if name.startswith("slow") else feed_server.url(f"/{name}")
            for name in names}
    for name in names:
        if not name.startswith("slow"):
            feed_server.set(f"/{name}", _healthy(int(name.removeprefix("healthy"))))
    _rules(rules_dir, urls)
    return Watcher(Settings(allow_addresses=LOOPBACK,
                            rules=rules_dir, db=tmp_path / "w.db", parse_workers=2, parse_timeout=timeout),
                   console=io.StringIO())


def test_a_parse_that_never_ends_is_abandoned_and_the_other_feeds_are_parsed(tmp_path, rules_dir, feed_server):
    """Two documents that take far longer than the parse timeout occupy both workers; eight
    healthy feeds wait for a worker (the wait does not count against their own timeout) and are
    all parsed; only the two stuck workers are replaced."""
    names = ["slow-a", "slow-b"] + [f"healthy{n}" for n in range(8)]
    watcher = _parse_rig(tmp_path, rules_dir, feed_server, names, timeout=5)

    async def scenario():
        await watcher.open()
        try:
            reports, _ = await watcher.check_all()
            again = [await watcher.poll(f"healthy{n}") for n in range(2)]    # the pool still works
            return reports, again, {r.name: r for r in await watcher.store.call(feed_table.feed_rows)}
        finally:
            await watcher.close()

    reports, again, rows = asyncio.run(scenario())
    by_feed = {r.feed: r for r in reports}
    for n in range(8):
        assert by_feed[f"healthy{n}"].new == 1, (n, by_feed[f"healthy{n}"].error)
    for name in ("slow-a", "slow-b"):
        assert rows[name].error_kind == "parse", rows[name].error
        assert rows[name].error == "parse: parsing took longer than 5s; the document was abandoned"
    assert all(again)


def test_a_parse_worker_killed_mid_parse_costs_only_its_document(tmp_path, rules_dir, feed_server):
    """Every parse worker is killed while one of them is deep in a slow document: that document
    is tried once more on a fresh worker (and abandoned at the timeout), the healthy feeds polled
    during and after the kill are parsed, and workers killed while idle are replaced unnoticed."""
    names = ["slow"] + [f"healthy{n}" for n in range(6)]
    watcher = _parse_rig(tmp_path, rules_dir, feed_server, names, timeout=4)

    async def scenario():
        await watcher.open()
        try:
            assert await watcher.poll("healthy0")                               # the workers are up
            slow = asyncio.create_task(watcher.poll("slow"))
            for _ in range(100):
                if feed_server.count("/slow"):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)                                             # the parse is under way
            workers = [p for p in multiprocessing.active_children() if p.is_alive()]
            assert workers
            for process in workers:
                process.kill()
            during = await asyncio.gather(*(watcher.poll(f"healthy{n}") for n in range(1, 4)))
            await slow
            after = await asyncio.gather(*(watcher.poll(f"healthy{n}") for n in range(4, 6)))
            return during, after, {r.name: r for r in await watcher.store.call(feed_table.feed_rows)}
        finally:
            await watcher.close()

    during, after, rows = asyncio.run(scenario())
    assert all(during) and all(after)
    for n in range(6):
        assert rows[f"healthy{n}"].status == "new" and rows[f"healthy{n}"].error is None, rows[f"healthy{n}"]
    assert rows["slow"].error_kind == "parse", rows["slow"].error
    assert "longer than 4s" in rows["slow"].error


@pytest.fixture(autouse=True)
def _no_stray_workers():
    yield
    leftover = [p for p in multiprocessing.active_children() if p.is_alive()]
    for process in leftover:
        process.kill()
    assert not leftover, f"parse workers still running after the test: {leftover}"
