"""Fetching against a real local server."""

from __future__ import annotations

import asyncio

import pytest

from servers import rss
from watcher.errors import FetchError
from watcher.fetch import FetchLimits, Fetcher, retry_after
from watcher.models import Fetched, NotModified

BODY = rss([{"title": "x", "guid": "1"}])


def fetch(url, limits=FetchLimits(), **kw):
    async def go():
        fetcher = Fetcher(limits)
        try:
            return await fetcher.fetch(url, **kw)
        finally:
            await fetcher.aclose()
    return asyncio.run(go())


def test_200_then_304_by_etag_and_by_last_modified(feed_server):
    route = feed_server.set("/f", BODY)
    first = fetch(feed_server.url("/f"))
    assert isinstance(first, Fetched) and first.body == BODY.encode() and first.etag == route.etag
    assert isinstance(fetch(feed_server.url("/f"), etag=first.etag), NotModified)
    assert isinstance(fetch(feed_server.url("/f"), last_modified=first.last_modified), NotModified)
    sent = feed_server.hits[-1][1]
    assert sent["If-Modified-Since"] == first.last_modified and "watcher/" in sent["User-Agent"]


def test_gzip_and_redirect(feed_server):
    feed_server.set("/gz", BODY, gzip=True)
    feed_server.set("/old", handler=lambda r: (r.send_response(301), r.send_header("Location", "/gz"),
                                               r.send_header("Content-Length", "0"), r.end_headers()))
    result = fetch(feed_server.url("/old"))
    assert result.body == BODY.encode() and result.url == feed_server.url("/gz")


@pytest.mark.parametrize("status,kind", [(404, "http"), (500, "http"), (410, "gone")])
def test_error_statuses(feed_server, status, kind):
    feed_server.set("/f", "nope", status=status)
    with pytest.raises(FetchError) as caught:
        fetch(feed_server.url("/f"))
    assert caught.value.kind == kind and caught.value.status == status


def test_retry_after_on_429(feed_server):
    feed_server.set("/f", "slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as caught:
        fetch(feed_server.url("/f"))
    assert caught.value.retry_after == 120
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_size_cap_and_gzip_bomb(feed_server):
    feed_server.set("/big", b"x" * 300_000)
    feed_server.set("/bomb", b"<rss>" + b" " * 5_000_000, gzip=True)
    for path in ("/big", "/bomb"):
        with pytest.raises(FetchError) as caught:
            fetch(feed_server.url(path), FetchLimits(max_bytes=100_000))
        assert caught.value.kind == "too_large"


def test_total_deadline_cuts_a_trickling_server(feed_server):
    feed_server.set("/slow", BODY, trickle=0.05)
    with pytest.raises(FetchError) as caught:
        fetch(feed_server.url("/slow"), FetchLimits(total_timeout=1.0, read_timeout=5))
    assert caught.value.kind == "timeout"


def test_connection_refused():
    with pytest.raises(FetchError) as caught:
        fetch("http://127.0.0.1:9/feed")
    assert caught.value.kind == "connect"
