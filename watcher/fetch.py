"""Conditional GET of feeds over shared ``httpx.AsyncClient``s. The only module importing httpx.

``Fetcher.fetch`` returns ``Fetched`` (a 200, body read within the size cap) or ``NotModified``
(a 304), and raises ``FetchError`` for everything else, with a ``kind`` from a closed
vocabulary: ``timeout``, ``connect``, ``proxy``, ``http``, ``gone``, ``too_large``,
``redirects``, ``protocol``, ``refused``.

Politeness and limits:
- at most ``max_connections`` fetches in flight, and at most ``per_host`` to one host; feeds
  whose last fetch took longer than ``slow_after`` (slow servers, timeouts) have a lane of their
  own (``slow_connections``), so they can never hold every slot while prompt feeds wait;
- the same per host: slow-lane fetches hold at most ``slow_per_host`` of a host's slots, and a
  fetch in the prompt lane gives its slot up after ``prompt_timeout`` (a timeout; the feed's
  next fetch takes the slow lane), so two trickling feeds cannot keep the other feeds of their
  host waiting for the whole total deadline;
- timeouts per phase (connect, read between two chunks, write, pool) *and* a total deadline:
  a server trickling one byte a second never trips a per-phase timeout;
- at most ``max_redirects`` redirects; a chain of permanent ones (301/308) is reported as
  ``moved_to`` so the feed list can say "update the address";
- the body is decoded here (gzip, deflate) with zlib's output limit, so the cap applies to the
  *decoded* size and a compression bomb never inflates past it in memory; brotli is not offered
  because its decoder has no output limit;
- connections go only to public addresses, or to networks the operator allowed (``connect``:
  checked on the address actually connected to, for the feed URL and every redirect alike);
  a refusal is a ``refused`` error before anything is sent;
- one client per distinct proxy and allowance (httpx binds proxies to a client, and a client's
  pooled connections must never serve a feed that was not allowed to open them), made on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import re
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import httpcore
import httpx

from . import __version__
from .addresses import Network, is_address, refusal
from .connect import AddressRefused, GuardedBackend, Resolver, system_resolve
from .errors import FetchError
from .models import Fetched, NotModified

DEFAULT_USER_AGENT = f"watcher/{__version__} (feed alerting daemon; python-httpx/{httpx.__version__})"
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
          "text/xml;q=0.9, */*;q=0.5")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(no-cache|no-store)\b", re.IGNORECASE)
_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]+@")


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0        # the longest silence between two chunks
    write_timeout: float = 10.0
    total_timeout: float = 60.0       # the whole fetch, body included
    max_bytes: int = 10_000_000       # decoded body; bigger feeds are refused
    max_redirects: int = 5
    # fetches in flight at once, over all hosts, for feeds that answered promptly last time; with
    # one shared pool, the slow, hanging and trickling feeds (13 % in bench/load.py) held most
    # slots and healthy feeds queued behind them. per_host keeps each server polite
    max_connections: int = 100
    slow_connections: int = 50        # apart: feeds whose last fetch took longer than slow_after
    slow_after: float = 5.0
    per_host: int = 2                 # fetches in flight to one host
    slow_per_host: int = 1            # of those, how many slow-lane fetches may hold (the rest wait)
    # the whole fetch in the prompt lane: a server that has not answered by then gives the slot
    # up (a timeout) and is fetched in the slow lane, with total_timeout, from its next poll on
    prompt_timeout: float = 15.0
    keepalive: int = 10               # idle connections kept per client


class Fetcher:
    """Fetch feeds politely: validators, limits per host and overall, a total deadline, a size cap."""

    def __init__(self, limits: FetchLimits = FetchLimits(), user_agent: str = DEFAULT_USER_AGENT, *,
                 allowed: tuple[Network, ...] = (), resolve: Resolver = system_resolve):
        self.limits = limits
        self.user_agent = user_agent
        self.allowed = allowed           # networks every feed may reach besides public addresses
        self._resolve = resolve
        self._clients: dict[tuple[str | None, tuple[Network, ...]], httpx.AsyncClient] = {}
        self._slots = asyncio.Semaphore(limits.max_connections)
        self._slow_slots = asyncio.Semaphore(limits.slow_connections)
        self._slow: set[str] = set()   # feed addresses whose last fetch was slow (seeded from the state at start)
        self._per_host: dict[str, _HostSlots] = {}

    def _client(self, proxy: str | None, allowed: tuple[Network, ...]) -> httpx.AsyncClient:
        client = self._clients.get((proxy, allowed))
        if client is None:
            limits = self.limits
            transport = httpx.AsyncHTTPTransport(
                proxy=proxy,
                limits=httpx.Limits(max_connections=limits.max_connections + limits.slow_connections,
                                    max_keepalive_connections=min(limits.keepalive, limits.max_connections)),
                trust_env=False,  # only proxies the rules name; never one from the environment by surprise
            )
            hooks = {}
            if proxy is None:
                # httpx 0.28 takes no network backend (encode/httpx#3749 adds one): give its pool ours
                pool = transport._pool
                assert isinstance(getattr(pool, "_network_backend", None), httpcore.AsyncNetworkBackend)
                pool._network_backend = GuardedBackend(allowed, self._resolve)
            else:   # the proxy resolves names: refuse what the URL itself says is internal
                hooks = {"request": [functools.partial(_refuse_literal, allowed=allowed)]}
            client = httpx.AsyncClient(
                transport=transport,
                follow_redirects=True,
                max_redirects=limits.max_redirects,
                timeout=httpx.Timeout(connect=limits.connect_timeout, read=limits.read_timeout,
                                      write=limits.write_timeout, pool=limits.total_timeout),
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
                event_hooks=hooks,
                trust_env=False,
            )
            self._clients[(proxy, allowed)] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    headers: tuple[tuple[str, str], ...] = (), user_agent: str | None = None,
                    proxy: str | None = None, allow: tuple[Network, ...] = ()) -> Fetched | NotModified:
        """One conditional GET. ``allow``: networks this feed may reach besides the ones every
        feed may (``allowed``) and public addresses."""
        request_headers = dict(headers)
        if user_agent:
            request_headers["User-Agent"] = user_agent
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        try:
            host = httpx.URL(url).host.lower()
        except httpx.InvalidURL as exc:
            raise FetchError("protocol", f"invalid address: {exc}") from None
        slots = self._per_host.get(host)
        if slots is None:
            slots = self._per_host[host] = _HostSlots(self.limits.per_host, self.limits.slow_per_host)
        client = self._client(proxy, tuple(dict.fromkeys(self.allowed + allow)))
        slow = self.is_slow(url)
        async with slots.hold(slow), self._lane(url):
            started = time.monotonic()
            try:
                return await self._attempt(client, url, request_headers, started, slow)
            except FetchError as exc:
                exc.elapsed = time.monotonic() - started   # recorded on the feed: a slow failure is slow too
                raise
            finally:
                self._note_speed(url, time.monotonic() - started)

    async def _attempt(self, client: httpx.AsyncClient, url: str, headers: dict[str, str],
                       started: float, slow: bool) -> Fetched | NotModified:
        """One request within its lane's deadline; every failure as a ``FetchError``."""
        limits = self.limits
        deadline = limits.total_timeout if slow else min(limits.prompt_timeout, limits.total_timeout)
        try:
            async with asyncio.timeout(deadline):
                return await self._get(client, url, headers, started)
        except TimeoutError:
            later = "" if deadline >= limits.total_timeout else \
                f"; the next fetch takes the slow lane ({limits.total_timeout:g}s)"
            raise FetchError("timeout", f"no complete response within {deadline:g}s{later}") from None
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"{_phase(exc)} timed out") from None
        except httpx.TooManyRedirects:
            raise FetchError("redirects", f"more than {self.limits.max_redirects} redirects") from None
        except httpx.ProxyError as exc:
            raise FetchError("proxy", f"the proxy refused or failed: {_reason(exc)}") from None
        except httpx.ConnectError as exc:
            raise FetchError("connect", f"cannot connect: {_reason(exc)}") from None
        except httpx.HTTPError as exc:
            raise FetchError("protocol", f"{type(exc).__name__}: {_reason(exc)}") from None

    def _lane(self, url: str) -> asyncio.Semaphore:
        return self._slow_slots if url in self._slow else self._slots

    def _note_speed(self, url: str, elapsed: float) -> None:
        """A fetch that took longer than ``slow_after`` (whatever its outcome: a timeout is the
        slowest of all) sends the feed's next fetch to the slow lane; a prompt one brings it back."""
        if elapsed > self.limits.slow_after:
            self._slow.add(url)
        else:
            self._slow.discard(url)

    def remember(self, last_fetch_seconds: Mapping[str, float]) -> None:
        """Durations of earlier fetches by address (from the state, at start): feeds that were
        slow before a restart take the slow lane from their first fetch on, instead of taking
        shared slots again until each has shown it is slow."""
        self._slow.update(url for url, seconds in last_fetch_seconds.items() if seconds > self.limits.slow_after)

    def is_slow(self, url: str) -> bool:
        """Whether the next fetch of ``url`` takes the slow lane."""
        return url in self._slow

    async def _get(self, client: httpx.AsyncClient, url: str, headers: dict[str, str],
                   started: float) -> Fetched | NotModified:
        async with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            moved_to = _permanent_target(response)
            if status == 304:
                return NotModified(time.monotonic() - started, max_age(response.headers), moved_to)
            if status == 410:
                raise FetchError("gone", "410 Gone: the server says this feed was removed", status=410)
            if not 200 <= status < 300:
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
                moved_to=moved_to,
            )

    async def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        encoding = response.headers.get("content-encoding", "").strip().lower()
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap and encoding in ("", "identity"):
            raise FetchError("too_large", f"the feed is {int(declared):,} bytes; the limit is {cap:,}")
        decoder = Decoder(encoding, cap)
        buffer = bytearray()
        async for chunk in response.aiter_raw():
            buffer += decoder.feed(chunk, cap - len(buffer))
        buffer += decoder.flush(cap - len(buffer))
        return bytes(buffer)


class _HostSlots:
    """One host's connection slots: ``size`` in all, of which slow-lane fetches may hold at most
    ``slow`` (never all of them, when there are two or more), so the host's prompt feeds always
    have a slot that no slow transfer can take."""

    def __init__(self, size: int, slow: int):
        self._all = asyncio.Semaphore(size)
        self._slow = asyncio.Semaphore(max(1, min(slow, size - 1)))

    @contextlib.asynccontextmanager
    async def hold(self, slow: bool) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as held:
            if slow:
                await held.enter_async_context(self._slow)
            await held.enter_async_context(self._all)
            yield


class Decoder:
    """Undo one Content-Encoding (gzip, deflate or none), never producing more than ``limit``."""

    def __init__(self, encoding: str, cap: int):
        self.cap = cap
        if encoding in ("", "identity"):
            self._inflate = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS)
        else:
            raise FetchError("protocol", f"the server used an encoding watcher did not ask for: {encoding[:40]}")
        self._deflate = encoding == "deflate"
        self._started = False

    def _too_large(self) -> FetchError:
        return FetchError("too_large", f"the feed is larger than the limit of {self.cap:,} bytes")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``; raise ``too_large`` once the output would exceed ``room``."""
        if self._inflate is None:
            if len(data) > room:
                raise self._too_large()
            return data
        try:
            out = self._inflate.decompress(data, room + 1)
        except zlib.error:
            if not (self._deflate and not self._started):
                raise FetchError("protocol", "the compressed body is corrupt") from None
            # "deflate" is often sent raw, without the zlib wrapper
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data, room)
        self._started = True
        if len(out) > room or self._inflate.unconsumed_tail:
            raise self._too_large()
        return out

    def flush(self, room: int) -> bytes:
        if self._inflate is None:
            return b""
        out = self._inflate.flush()
        if len(out) > room:
            raise self._too_large()
        return out


async def _refuse_literal(request: httpx.Request, *, allowed: tuple[Network, ...]) -> None:
    """For a proxied request (the feed URL or a redirect): refuse a host that is written as an
    internal address, or that names this machine."""
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    if host == "localhost" or host.endswith(".localhost"):
        raise AddressRefused(host, "127.0.0.1", port, "a loopback address (this machine)")
    why = refusal(host, allowed) if is_address(host) else None
    if why is not None:
        raise AddressRefused(host, host, port, why)


def _permanent_target(response: httpx.Response) -> str | None:
    """The final address when every redirect on the way was permanent (301, 308)."""
    if response.history and all(r.status_code in (301, 308) for r in response.history):
        return str(response.url)
    return None


def _phase(exc: httpx.TimeoutException) -> str:
    return {httpx.ConnectTimeout: "connecting", httpx.ReadTimeout: "reading the response",
            httpx.WriteTimeout: "sending the request", httpx.PoolTimeout: "waiting for a connection"
            }.get(type(exc), "the request")


def _reason(exc: Exception) -> str:
    """The first line of an exception's message, with any credentials in URLs masked."""
    text = str(exc) or type(exc).__name__
    return _CREDENTIALS.sub("***@", text.splitlines()[0][:200])


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
    """How long the server says the response stays fresh (Cache-Control max-age, else Expires).
    ``no-cache`` / ``no-store`` mean no hint at all."""
    control = headers.get("cache-control", "")
    if _NO_CACHE.search(control):
        return None
    found = _MAX_AGE.search(control)
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
