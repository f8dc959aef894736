"""Conditional GET of feeds over one shared ``httpx.AsyncClient``. The only module importing httpx.

``Fetcher.fetch`` returns ``Fetched`` (a 200, body read within the size cap) or ``NotModified``
(a 304), and raises ``FetchError`` for everything else, with a ``kind`` from a closed
vocabulary: ``timeout``, ``connect``, ``http``, ``gone``, ``too_large``, ``redirects``,
``protocol``. httpx's timeouts apply per phase (connect, read, ...), so a server trickling one
byte a second would never time out on them: every fetch also runs under a total deadline.
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import re
import time
from dataclasses import dataclass
from datetime import datetime, UTC

import httpx

from . import __version__
from .errors import FetchError
from .models import Fetched, NotModified

DEFAULT_USER_AGENT = f"watcher/{__version__} (feed alerting daemon; +https://github.com/watcher-alerts/watcher)"
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0       # the whole fetch, body included
    max_bytes: int = 10_000_000       # decoded body; bigger feeds are refused
    max_redirects: int = 5
    max_connections: int = 50
    per_host: int = 4                 # concurrent requests to one host


class Fetcher:
    """Fetch feeds politely: validators, limits per host, a total deadline and a size cap."""

    def __init__(self, limits: FetchLimits = FetchLimits(), user_agent: str = DEFAULT_USER_AGENT):
        self.limits = limits
        self.user_agent = user_agent
        self._client = httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout, pool=limits.total_timeout),
            limits=httpx.Limits(max_connections=limits.max_connections,
                                max_keepalive_connections=min(20, limits.max_connections)),
            headers={"User-Agent": user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"},
            trust_env=False,  # only proxies the rules name; never one from the environment by surprise
        )
        self._per_host: dict[str, asyncio.Semaphore] = collections.defaultdict(
            lambda: asyncio.Semaphore(limits.per_host))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    headers: tuple[tuple[str, str], ...] = (), user_agent: str | None = None) -> Fetched | NotModified:
        request_headers = dict(headers)
        if user_agent:
            request_headers["User-Agent"] = user_agent
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        host = httpx.URL(url).host
        started = time.monotonic()
        async with self._per_host[host]:
            try:
                async with asyncio.timeout(self.limits.total_timeout):
                    return await self._get(url, request_headers, started)
            except TimeoutError:
                raise FetchError("timeout", f"no complete response within {self.limits.total_timeout:g}s") from None
            except httpx.TimeoutException as exc:
                raise FetchError("timeout", f"{_phase(exc)} timed out") from None
            except httpx.TooManyRedirects:
                raise FetchError("redirects", f"more than {self.limits.max_redirects} redirects") from None
            except httpx.ConnectError as exc:
                raise FetchError("connect", f"cannot connect: {_reason(exc)}") from None
            except httpx.HTTPError as exc:
                raise FetchError("protocol", f"{type(exc).__name__}: {_reason(exc)}") from None

    async def _get(self, url: str, headers: dict[str, str], started: float) -> Fetched | NotModified:
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return NotModified(time.monotonic() - started, max_age(response.headers))
            if status == 410:
                raise FetchError("gone", "410 Gone: the server says this feed was removed", status=410)
            if status >= 400 or status < 200 or status >= 300:
                retry = retry_after(response.headers.get("retry-after")) if status in (429, 503) else None
                raise FetchError("http", f"HTTP {status} {response.reason_phrase}".strip(), status=status,
                                 retry_after=retry)
            body = await self._read_capped(response)
            return Fetched(
                url=str(response.url), body=body,
                content_type=response.headers.get("content-type", ""),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                max_age=max_age(response.headers),
                elapsed=time.monotonic() - started,
            )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap and "content-encoding" not in response.headers:
            raise FetchError("too_large", f"the feed is {int(declared):,} bytes; the limit is {cap:,}")
        buffer = bytearray()
        # aiter_bytes yields *decoded* bytes, so a gzip bomb is cut at the cap, not after inflating
        async for chunk in response.aiter_bytes():
            buffer += chunk
            if len(buffer) > cap:
                raise FetchError("too_large", f"the feed is larger than the limit of {cap:,} bytes")
        return bytes(buffer)


def _phase(exc: httpx.TimeoutException) -> str:
    return {httpx.ConnectTimeout: "connecting", httpx.ReadTimeout: "reading the response",
            httpx.WriteTimeout: "sending the request", httpx.PoolTimeout: "waiting for a connection"
            }.get(type(exc), "the request")


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); ``None`` if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def max_age(headers: httpx.Headers) -> float | None:
    """How long the server says the response stays fresh (Cache-Control max-age, else Expires)."""
    found = _MAX_AGE.search(headers.get("cache-control", ""))
    if found:
        return float(found.group(1))
    expires = headers.get("expires")
    if expires:
        try:
            when = email.utils.parsedate_to_datetime(expires)
            date = email.utils.parsedate_to_datetime(headers["date"]) if "date" in headers else datetime.now(UTC)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if date.tzinfo is None:
            date = date.replace(tzinfo=UTC)
        return max(0.0, (when - date).total_seconds())
    return None
