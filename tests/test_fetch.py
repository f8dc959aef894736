"""Fetching against a real local server."""

from __future__ import annotations

import asyncio

import pytest

from conftest import LOOPBACK
from servers import rss
from watcher.errors import FetchError
from watcher.fetch import FetchLimits, Fetcher, retry_after
from watcher.models import Fetched, NotModified

BODY = rss([{"title": "x", "guid": "1"}])


def fetch(url, limits=FetchLimits(), **kw):
    async def go():
        fetcher = Fetcher(limits, allowed=LOOPBACK)
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


def _redirect(to: str, status: int = 301):
    def handler(r):
        r.send_response(status)
        r.send_header("Location", to)
        r.send_header("Content-Length", "0")
        r.end_headers()
    return handler


def test_redirects_are_bounded_and_a_permanent_chain_is_reported(feed_server):
    feed_server.set("/loop", handler=_redirect("/loop", 302))
    with pytest.raises(FetchError) as caught:
        fetch(feed_server.url("/loop"), FetchLimits(max_redirects=3))
    assert caught.value.kind == "redirects"
    assert feed_server.count("/loop") == 4                       # the first request and three redirects
    feed_server.set("/f", BODY)
    feed_server.set("/a", handler=_redirect("/b", 301))
    feed_server.set("/b", handler=_redirect("/f", 308))
    feed_server.set("/t", handler=_redirect("/f", 302))
    assert fetch(feed_server.url("/a")).moved_to == feed_server.url("/f")
    assert fetch(feed_server.url("/t")).moved_to is None       # a temporary redirect is not a move


@pytest.mark.parametrize("wrap", ["zlib", "raw"])
def test_deflate_bodies_are_decoded(feed_server, wrap):
    import zlib

    packer = zlib.compressobj(wbits=zlib.MAX_WBITS if wrap == "zlib" else -zlib.MAX_WBITS)
    packed = packer.compress(BODY.encode()) + packer.flush()

    def handler(r):
        r.send_response(200)
        r.send_header("Content-Encoding", "deflate")
        r.send_header("Content-Length", str(len(packed)))
        r.end_headers()
        r.wfile.write(packed)
    feed_server.set("/d", handler=handler)
    assert fetch(feed_server.url("/d")).body == BODY.encode()


def test_a_declared_length_over_the_cap_is_refused_without_reading(feed_server):
    feed_server.set("/big", b"x" * 300_000)
    with pytest.raises(FetchError, match="300,000 bytes") as caught:
        fetch(feed_server.url("/big"), FetchLimits(max_bytes=100_000))
    assert caught.value.kind == "too_large"
    assert feed_server.hits[-1][1]["Accept-Encoding"] == "gzip, deflate"


def test_connect_and_read_timeouts_are_named(feed_server):
    feed_server.set("/slow", BODY, delay=2)
    with pytest.raises(FetchError, match="reading the response timed out") as caught:
        fetch(feed_server.url("/slow"), FetchLimits(read_timeout=0.3, total_timeout=10))
    assert caught.value.kind == "timeout"


async def _loopback(host: str, port: int) -> list[str]:
    """Every name is 127.0.0.1 (the machine's resolver may also answer ::1 for localhost)."""
    return ["127.0.0.1"]


def test_concurrency_is_limited_per_host_and_overall(feed_server):
    import threading
    import time

    lock = threading.Lock()
    state = {"now": {}, "peak": {}, "all": 0, "all_peak": 0}

    def handler(r):
        host = r.headers["Host"].split(":")[0]
        with lock:
            state["now"][host] = state["now"].get(host, 0) + 1
            state["all"] += 1
            state["peak"][host] = max(state["peak"].get(host, 0), state["now"][host])
            state["all_peak"] = max(state["all_peak"], state["all"])
        time.sleep(0.2)
        with lock:
            state["now"][host] -= 1
            state["all"] -= 1
        r.send_response(200)
        r.send_header("Content-Length", str(len(BODY)))
        r.end_headers()
        r.wfile.write(BODY.encode())
    feed_server.set("/c", handler=handler)

    async def go():
        fetcher = Fetcher(FetchLimits(per_host=2, max_connections=3), allowed=LOOPBACK, resolve=_loopback)
        try:
            urls = [f"http://{host}:{feed_server.port}/c" for host in ("127.0.0.1", "localhost") for _ in range(6)]
            return await asyncio.gather(*(fetcher.fetch(u) for u in urls))
        finally:
            await fetcher.aclose()
    results = asyncio.run(go())
    assert len(results) == 12 and all(isinstance(r, Fetched) for r in results)
    assert set(state["peak"]) == {"127.0.0.1", "localhost"}
    assert max(state["peak"].values()) <= 2 and state["all_peak"] <= 3


def test_user_agent_headers_and_proxy_per_feed(feed_server):
    # the feed server also acts as a plain HTTP proxy: it sees the absolute URL as the path
    feed_server.set("http://feeds.invalid/x.xml", BODY)
    result = fetch("http://feeds.invalid/x.xml", proxy=feed_server.url(""), user_agent="newsroom-bot/2",
                   headers=(("Accept-Language", "uk"),))
    assert isinstance(result, Fetched) and result.body == BODY.encode()
    path, sent = feed_server.hits[-1]
    assert path == "http://feeds.invalid/x.xml"
    assert sent["User-Agent"] == "newsroom-bot/2" and sent["Accept-Language"] == "uk"


def test_proxy_credentials_never_appear_in_errors():
    with pytest.raises(FetchError) as caught:
        fetch("http://feeds.invalid/x.xml", proxy="http://reader:s3cret@127.0.0.1:9")
    assert caught.value.kind in ("proxy", "connect") and "s3cret" not in str(caught.value)


def test_max_age_from_cache_control_or_expires():
    import httpx

    from watcher.fetch import max_age

    assert max_age(httpx.Headers({"Cache-Control": "public, max-age=600"})) == 600
    assert max_age(httpx.Headers({"Cache-Control": "no-cache, max-age=600"})) is None
    assert max_age(httpx.Headers({"Expires": "Sat, 01 Mar 2025 13:00:00 GMT",
                                  "Date": "Sat, 01 Mar 2025 12:00:00 GMT"})) == 3600
    assert max_age(httpx.Headers({"Expires": "0"})) is None
    assert max_age(httpx.Headers({})) is None


def test_feeds_that_were_slow_take_their_own_lane_and_never_hold_up_prompt_ones(feed_server):
    """Two feeds that timed out last time fill their lane (two slots); a prompt feed still gets
    one of the two ordinary slots at once instead of queueing behind them."""
    for path in ("/hang0", "/hang1"):
        feed_server.set(path, BODY, delay=30)
    feed_server.set("/ok", BODY)
    limits = FetchLimits(max_connections=2, slow_connections=2, slow_after=1.0, read_timeout=2.0, total_timeout=3.0,
                         per_host=10)

    async def go() -> None:
        fetcher = Fetcher(limits, allowed=LOOPBACK)

        async def attempt(path: str) -> str:
            try:
                await fetcher.fetch(feed_server.url(path))
                return "ok"
            except FetchError as exc:
                return exc.kind

        try:
            assert await asyncio.gather(attempt("/hang0"), attempt("/hang1")) == ["timeout", "timeout"]
            assert fetcher.is_slow(feed_server.url("/hang0")) and not fetcher.is_slow(feed_server.url("/ok"))
            hanging = [asyncio.create_task(attempt(p)) for p in ("/hang0", "/hang1")]
            await asyncio.sleep(0.2)   # both hold the slow lane's two slots
            assert await attempt("/ok") == "ok"
            assert not any(task.done() for task in hanging)      # the prompt feed did not wait for them
            assert await asyncio.gather(*hanging) == ["timeout", "timeout"]
            feed_server.set("/hang0", BODY)                       # the server recovers
            assert await attempt("/hang0") == "ok" and not fetcher.is_slow(feed_server.url("/hang0"))
        finally:
            await fetcher.aclose()

    asyncio.run(go())
