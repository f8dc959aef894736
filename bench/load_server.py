"""The feed farm of ``bench/load.py``: thousands of feeds on loopback, a realistic mix of healthy,
slow and failing servers, in a process of its own (so its CPU is not the daemon's).

Feeds are spread over sites (five feeds per site, as news sites publish several), each site on
its own loopback address (127.0.x.y: all of 127/8 is loopback on Linux), so the daemon's
per-host limit applies per site as it would on the internet. One asyncio server listens on
every site's address; it logs the arrival time of each request for the analysis.

Feed kinds (``KINDS``: name, share): healthy (answers at once, 304 to a matching ETag, a new
item every ``period`` seconds), slow (the same after 2-8 s), hang (never answers within the
read timeout), trickle (a byte a second), errors (500, 503 with Retry-After, 404, 410, 429),
html (a web page instead of a feed); and, with no server involved, refused (a closed port)
and dns (a name that does not resolve).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

KINDS = [("healthy", 0.70), ("slow", 0.10), ("hang", 0.02), ("trickle", 0.01), ("e500", 0.03), ("e503", 0.02),
         ("e404", 0.03), ("e410", 0.01), ("e429", 0.02), ("html", 0.02), ("refused", 0.03), ("dns", 0.01)]
FEEDS_PER_SITE = 5
ITEMS = 20


@dataclass(frozen=True)
class Feed:
    index: int
    kind: str
    site: str            # the loopback address of its site
    period: float        # seconds between two new items (healthy and slow feeds)
    offset: float        # where in that period the feed starts
    delay: float         # slow feeds: seconds before answering

    def url(self, port: int) -> str:
        if self.kind == "refused":
            return f"http://{self.site}:9/feed/{self.index}"
        if self.kind == "dns":
            return f"http://feed-{self.index}.watcher-bench.invalid/rss"
        return f"http://{self.site}:{port}/feed/{self.index}"


def plan(count: int, seed: int, period: float) -> list[Feed]:
    rng = random.Random(seed)
    names, weights = zip(*KINDS, strict=True)
    feeds = []
    for i in range(count):
        site = i // FEEDS_PER_SITE
        feeds.append(Feed(i, rng.choices(names, weights)[0], f"127.0.{site // 250 + 1}.{site % 250 + 1}",
                          period * rng.uniform(0.5, 1.5), rng.uniform(0, period), rng.uniform(2, 8)))
    return feeds


def _rss(feed: Feed, newest: int) -> bytes:
    items = []
    for n in range(max(0, newest - ITEMS + 1), newest + 1):
        items.append(f"<item><title>Feed {feed.index} story {n}: officials discuss the budget and regional "
                     f"security</title><link>https://site{feed.index // FEEDS_PER_SITE}.example/{feed.index}/{n}"
                     f"</link><guid>urn:bench:{feed.index}:{n}</guid><description>Story {n} of feed {feed.index}: "
                     + "the committee met again on Tuesday to weigh the request, and members said a vote "
                     "could come next week. " * 3 + "</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed.index}</title>'
            f"<link>https://site.example/</link><description>bench</description>{''.join(items)}</channel></rss>"
            ).encode()


class Farm:
    def __init__(self, feeds: list[Feed], started: float):
        self.feeds = feeds
        self.started = started
        self.hits: list[tuple[float, int, int]] = []   # (seconds since start, feed, status)
        self.posts = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                if method == "POST":
                    await reader.readexactly(int(headers.get("content-length", "0")))
                    self.posts += 1
                    await _answer(writer, 200, b"ok", "text/plain")
                    continue
                if not await self.serve(path, headers, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError,
                asyncio.CancelledError):   # a client gone, or the farm stopping with requests held open
            pass
        finally:
            writer.close()

    async def serve(self, path: str, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        """Answer one GET; False when the connection should close."""
        now = time.monotonic() - self.started
        try:
            feed = self.feeds[int(path.rsplit("/", 1)[1])]
        except (ValueError, IndexError):
            await _answer(writer, 404, b"no such feed", "text/plain")
            return True
        kind = feed.kind
        status = {"e500": 500, "e503": 503, "e404": 404, "e410": 410, "e429": 429}.get(kind, 200)
        self.hits.append((now, feed.index, status))
        if kind == "hang":
            await asyncio.sleep(45)                     # beyond the daemon's 30 s read timeout
            return False
        if kind == "trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
            for _ in range(90):
                writer.write(b"<")
                await writer.drain()
                await asyncio.sleep(1)
            return False
        if status != 200:
            extra = {"e503": "Retry-After: 120\r\n", "e429": "Retry-After: 300\r\n"}.get(kind, "")
            await _answer(writer, status, b"error", "text/plain", extra)
            return True
        if kind == "html":
            await _answer(writer, 200, b"<!doctype html><html><body><h1>Welcome</h1></body></html>", "text/html")
            return True
        if kind == "slow":
            await asyncio.sleep(feed.delay)
        newest = int((now + feed.offset) // feed.period) + ITEMS
        etag = f'"{feed.index}-{newest}"'
        if headers.get("if-none-match") == etag:
            await _answer(writer, 304, b"", "application/rss+xml", f"ETag: {etag}\r\n")
        else:
            await _answer(writer, 200, _rss(feed, newest), "application/rss+xml", f"ETag: {etag}\r\n")
        return True


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str, extra: str = "") -> None:
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 410: "Gone", 429: "Too Many Requests",
              500: "Internal Server Error", 503: "Service Unavailable"}[status]
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                 f"{extra}\r\n".encode() + body)
    await writer.drain()


def serve(feeds: list[Feed], port: int, started: float, stop, out: Path) -> None:
    """Run the farm until ``stop`` (a multiprocessing Event) is set, then write the hits to ``out``."""
    farm = Farm(feeds, started)

    async def main() -> None:
        sites = sorted({f.site for f in feeds})
        server = await asyncio.start_server(farm.handle, host=sites, port=port, backlog=1024, reuse_address=True)
        async with server:
            while not stop.is_set():
                await asyncio.sleep(0.2)

    asyncio.run(main())
    out.write_text(json.dumps({"hits": farm.hits, "posts": farm.posts}))
