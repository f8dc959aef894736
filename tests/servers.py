"""Real servers on 127.0.0.1 for tests: a programmable feed server and a webhook receiver.

Both are stdlib ``ThreadingHTTPServer``s in a daemon thread, bound to port 0. The feed server
honours ETag / If-None-Match and Last-Modified / If-Modified-Since like a static file server,
and each route can be switched to any status, delay or body while a test runs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from collections.abc import Callable


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0                 # seconds before answering
    trickle: float = 0.0               # seconds between body bytes (a slow-loris server)
    validators: bool = True            # send ETag/Last-Modified and answer 304
    send_etag: bool = True             # False: Last-Modified only (validated by If-Modified-Since)
    gzip: bool = False
    mtime: float = field(default_factory=time.time)
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None
    _gzipped: bytes | None = None

    def wire_body(self) -> bytes:
        """The body as sent: compressed once (a big body compressed per request would stall tests)."""
        if not self.gzip:
            return self.body
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6)
        return self._gzipped

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # a client killed mid-request (the crash tests do it on purpose)
        super().handle_error(request, client_address)


class FeedServer:
    """``server.set("/feed.xml", body=...)``; ``server.url("/feed.xml")``; ``server.hits``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner._serve(self)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, path: str, body: bytes | str = b"", **kwargs: Any) -> Route:
        if isinstance(body, str):
            body = body.encode()
        route = Route(body=body, **kwargs)
        route.wire_body()
        with self._lock:
            self.routes[path] = route
        return route

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.hits if p == path)

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.hits.append((request.path, dict(request.headers)))
            route = self.routes.get(request.path)
        if route is None:
            _send(request, 404, b"not found", {"Content-Type": "text/plain"})
            return
        if route.handler is not None:
            route.handler(request)
            return
        if route.delay:
            time.sleep(route.delay)
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.status == 200 and route.validators:
            if route.send_etag:
                headers["ETag"] = route.etag
            headers["Last-Modified"] = formatdate(route.mtime, usegmt=True)
            if (route.send_etag and request.headers.get("If-None-Match") == route.etag) or (
                    "If-None-Match" not in request.headers
                    and request.headers.get("If-Modified-Since") == headers["Last-Modified"]):
                _send(request, 304, b"", {"ETag": route.etag} if route.send_etag else {})
                return
        body = route.wire_body()
        if route.gzip:
            headers["Content-Encoding"] = "gzip"
        if route.trickle:
            request.send_response(route.status)
            for k, v in headers.items():
                request.send_header(k, v)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            try:
                for i in range(len(body)):
                    request.wfile.write(body[i:i + 1])
                    request.wfile.flush()
                    time.sleep(route.trickle)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        _send(request, route.status, body, headers)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    try:
        request.send_response(status)
        for k, v in headers.items():
            request.send_header(k, v)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


class WebhookReceiver:
    """Records what apprise's ``json://`` posts. ``fail_next(n)`` answers 500 to the next n posts."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._failures = 0
        self.status_when_failing = 500
        self.delay = 0.0                # seconds before answering (a slow service)
        self.failing_paths: set[str] = set()  # posts to these paths always get an error
        self.on_receive: Callable[[str, dict[str, Any]], None] | None = None  # called for each recorded post
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) != length or not raw:
                    # the sender died mid-request: like any real webhook, take nothing from it
                    _send(self, 400, b"incomplete request", {"Content-Type": "text/plain"})
                    return
                if owner.delay:
                    time.sleep(owner.delay)
                with owner._lock:
                    failing = owner._failures != 0 or self.path in owner.failing_paths
                    if owner._failures > 0 and self.path not in owner.failing_paths:
                        owner._failures -= 1
                    if not failing:
                        owner.received.append(json.loads(raw))
                        owner.paths.append(self.path)
                        if owner.on_receive is not None:
                            owner.on_receive(self.path, owner.received[-1])
                _send(self, owner.status_when_failing if failing else 200, b"ok", {"Content-Type": "text/plain"})

        self._server = _Server(("127.0.0.1", port), Handler)   # a port: the same service back after close()
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def fail_next(self, count: int) -> None:
        """Answer with an error to the next ``count`` posts (-1: until ``recover()``)."""
        with self._lock:
            self._failures = count

    def recover(self) -> None:
        self.fail_next(0)

    def titles(self) -> list[str]:
        with self._lock:
            return [r.get("title", "") for r in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def rss(items: list[dict[str, str]], title: str = "Test feed", link: str = "http://example.com/") -> str:
    """A small RSS 2.0 document; each item dict may have title, link, guid, description, pubDate."""
    from xml.sax.saxutils import escape

    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
             f"<link>{escape(link)}</link><description>test</description>"]
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "guid", "description", "pubDate", "author", "category"):
            if key in item:
                parts.append(f"<{key}>{escape(item[key])}</{key}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


def slow_to_parse(size: int = 2_000_000) -> bytes:
    """Malformed RSS (a stray ``&`` and an unclosed tag) whose one description is ``size`` bytes of
    HTML: feedparser falls back to its loose parser and sanitises all of it (about 20 s per MB
    on a 2-core machine)."""
    html = "<p><b>x</b> <a href='/r'>y</a></p>" * (size // 33)
    return ("<rss version='2.0'><channel><title>t</title><item><title>slow</title><guid>slow</guid>"
            f"<description><![CDATA[{html}]]></description></item><bogus & </channel></rss>").encode()
