"""The HTTP endpoint: a stdlib ``ThreadingHTTPServer`` in a thread of its own.

Why this and not an ASGI server: the endpoint only reads, and it must keep answering while
the event loop is busy polling (and say so when the loop stalls: ``/healthz`` checks the
loop's heartbeat rather than being answered by it). A server thread with one read-only SQLite
connection per request needs no new dependency, cannot block the loop, and WAL mode lets it
read while the daemon writes. The daemon's own state (rules, reload result, scheduler) is
reached through ``Hooks``: plain callables that read attributes, safe from another thread.

    GET /healthz   200 while the daemon's event loop is alive, else 503
    GET /readyz    200 when rules are loaded (last reload ok), the database is writable and the
                   scheduler runs; else 503. JSON body lists every check.
    GET /metrics   Prometheus text format
    GET /          the status page;  GET /facts/NAME  one fact's history;  GET /search?q=
    GET /api/...   the same data as JSON (see docs/http-api.md)

Clients are not trusted to finish what they start (``ClientLimits``): a connection that says
nothing for ``idle`` seconds is closed, a request whose line and headers are not all in within
``request`` seconds is cut off (a client trickling one byte at a time resets a socket timeout
for ever, so a reaper thread enforces this deadline), and at most ``connections`` are served
at once: the next one is answered 503 and closed instead of getting a thread of its own. A
method other than GET and HEAD is answered 405 with ``Allow``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..logs import event, redact
from ..ruleset.compiled import Ruleset
from ..store import status
from . import data, page

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    # no script runs on these pages, whatever a feed item contains
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Check:
    """One health or readiness check."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Hooks:
    """What the endpoint needs from the daemon (each callable is safe to call from any thread)."""

    db_path: Path
    alive: Callable[[], Check]
    ready: Callable[[], list[Check]]
    ruleset: Callable[[], Ruleset | None]
    metrics: Callable[[], tuple[bytes, str]]
    clock: Callable[[], datetime]
    version: str = ""


def parse_address(text: str) -> tuple[str, int] | None:
    """``"127.0.0.1:8080"``, ``":8080"`` (loopback), ``"[::1]:8080"`` or ``"off"`` -> (host, port) or None."""
    text = text.strip()
    if text.lower() in ("off", "no", "none", "false", "0", ""):
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:8080) or off, got {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def probe_host(host: str) -> str:
    """Where a local client reaches a server bound to ``host`` (a wildcard is reached on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


@dataclass(frozen=True)
class ClientLimits:
    """How long and how many clients may hold the endpoint."""

    idle: float = 10.0           # seconds of silence before a connection is closed (keep-alive included)
    request: float = 15.0        # seconds to send a request's line and headers, however slowly
    connections: int = 32        # served at once; more are answered 503 at once and closed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], hooks: Hooks, limits: ClientLimits):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.hooks = hooks
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.connections)
        self._reading: dict[socket.socket, float] = {}   # connection -> deadline for its request's head
        self._reading_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            _busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.reading(request, False)
            self._slots.release()

    def reading(self, connection: socket.socket, started: bool) -> None:
        """A request's head starts (``True``) or has been read (``False``) on ``connection``."""
        with self._reading_lock:
            if started:
                self._reading[connection] = time.monotonic() + self.limits.request
            else:
                self._reading.pop(connection, None)

    def reap(self, stop: threading.Event) -> None:
        """Cut off connections whose request head is overdue (runs in its own thread)."""
        while not stop.wait(min(0.5, self.limits.request / 4)):
            now = time.monotonic()
            with self._reading_lock:
                overdue = [c for c, deadline in self._reading.items() if deadline < now]
                for connection in overdue:
                    del self._reading[connection]
            for connection in overdue:
                try:   # the handler's blocked read returns at once, and its thread ends
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _busy(connection: socket.socket) -> None:
    try:
        connection.settimeout(1.0)
        connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                           b"Retry-After: 1\r\nConnection: close\r\n\r\nbusy\n")
    except OSError:
        pass


class StatusServer:
    """``StatusServer(("127.0.0.1", 8080), hooks).start()`` ... ``.close()``."""

    def __init__(self, address: tuple[str, int], hooks: Hooks, limits: ClientLimits = ClientLimits()):
        self._server = _Server(address, hooks, limits)
        self._thread: threading.Thread | None = None
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        host = probe_host(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.25},
                                        name="watcher-http", daemon=True)
        self._thread.start()
        self._reaper = threading.Thread(target=self._server.reap, args=(self._stop,), name="watcher-http-reaper",
                                        daemon=True)
        self._reaper.start()

    def close(self) -> None:
        """Stop accepting requests and wait (briefly) for the serving threads."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in (self._thread, self._reaper):
            if thread is not None:
                thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "watcher"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the stdlib's name)
        pass  # requests are logged as events in ``_respond``

    def setup(self) -> None:
        self.timeout = self.server.limits.idle   # StreamRequestHandler puts it on the socket
        super().setup()

    def handle_one_request(self) -> None:
        self.server.reading(self.connection, True)
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()       # the request line and every header are in
        self.server.reading(self.connection, False)
        return parsed

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == HTTPStatus.NOT_IMPLEMENTED:  # the stdlib's answer to a method it has no do_ for
            self.close_connection = True        # its body, if any, was not read
            self._respond(405, b"read-only: GET and HEAD only\n", "text/plain; charset=utf-8",
                          {"Allow": "GET, HEAD", "Connection": "close"})
            return
        super().send_error(code, message, explain)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            code, body, ctype = self._route(unquote(url.path), query)
        except Exception:  # one bad request must never take the endpoint down
            log.exception("http request failed path=%s", url.path)
            code, body, ctype = 500, b"internal error\n", "text/plain; charset=utf-8"
        self._respond(code, body, ctype)
        event(log, logging.DEBUG, "http request", path=url.path, status=code,
              duration=time.perf_counter() - started)

    def do_POST(self) -> None:
        self.close_connection = True            # its body, if any, was not read
        self._respond(405, b"read-only: GET and HEAD only\n", "text/plain; charset=utf-8",
                      {"Allow": "GET, HEAD", "Connection": "close"})

    do_PUT = do_DELETE = do_PATCH = do_POST

    # -- routing -------------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        hooks = self.server.hooks
        if path == "/healthz":
            check = hooks.alive()
            return _json(200 if check.ok else 503, {"status": "ok" if check.ok else "unhealthy", **asdict(check)})
        if path == "/readyz":
            checks = hooks.ready()
            ok = all(c.ok for c in checks)
            return _json(200 if ok else 503, {"status": "ready" if ok else "not ready",
                                              "checks": [asdict(c) for c in checks]})
        if path == "/metrics":
            body, ctype = hooks.metrics()
            return 200, body, ctype
        if path == "/static/style.css":
            return 200, (STATIC / "style.css").read_bytes(), "text/css; charset=utf-8"
        if path.startswith("/api/"):
            return self._api(path[len("/api/"):].strip("/"), query)
        if path == "/" or path.startswith("/facts/") or path == "/search":
            return self._page(path, query)
        return _json(404, {"error": f"no such page: {path}"}) if path.startswith("/api") else \
            (404, page.not_found(path).encode(), "text/html; charset=utf-8")

    def _api(self, route: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        hooks = self.server.hooks
        ruleset = hooks.ruleset()
        limit = _limit(query.get("limit"), 50)
        with _reader(hooks.db_path) as db:
            if route == "status":
                checks = hooks.ready()
                return _json(200, {"version": hooks.version, "ready": all(c.ok for c in checks),
                                   "checks": [asdict(c) for c in checks],
                                   **data.summary(db, ruleset, hooks.clock())})
            if route == "facts":
                return _json(200, data.facts(db, ruleset, hooks.clock()))
            if route.startswith("facts/"):
                found = data.fact(db, ruleset, route[len("facts/"):], hooks.clock(), limit=limit)
                return _json(200, found) if found else _json(404, {"error": "no such fact"})
            if route == "history":
                return _json(200, data.history(db, query.get("fact") or None, limit=limit))
            if route == "alerts":
                return _json(200, data.alerts(db, failed=query.get("state") == "failed", limit=limit))
            if route == "feeds":
                return _json(200, data.feed_health(db, ruleset))
            if route == "outages":
                return _json(200, data.recent_outages(db, limit=limit))
            if route == "items":
                return _json(200, data.search(db, query.get("q", ""), limit=limit))
        return _json(404, {"error": f"no such endpoint: /api/{route}"})

    def _page(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        hooks = self.server.hooks
        ruleset = hooks.ruleset()
        now = hooks.clock()
        checks = hooks.ready()
        with _reader(hooks.db_path) as db:
            if path == "/":
                html = page.index(now=now, checks=checks, version=hooks.version,
                                  summary=data.summary(db, ruleset, now), facts=data.facts(db, ruleset, now),
                                  timeline=data.history(db, limit=30), alerts=data.alerts(db, limit=25),
                                  feeds=data.feed_health(db, ruleset), outages=data.recent_outages(db, limit=10))
            elif path == "/search":
                q = query.get("q", "")
                html = page.search(now=now, checks=checks, version=hooks.version, query=q,
                                   results=data.search(db, q, limit=100))
            else:
                found = data.fact(db, ruleset, path[len("/facts/"):], now)
                if found is None:
                    return 404, page.not_found(path).encode(), "text/html; charset=utf-8"
                html = page.fact(now=now, checks=checks, version=hooks.version, fact=found)
        return 200, html.encode(), "text/html; charset=utf-8"

    def _respond(self, code: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code, HTTPStatus(code).phrase)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _reader:
    """``with _reader(path) as db``: a read-only connection for one request."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> Any:
        self.db = status.open_readonly(self.path)
        return self.db

    def __exit__(self, *exc: Any) -> None:
        self.db.conn.close()


def _json(code: int, value: Any) -> tuple[int, bytes, str]:
    text = redact(json.dumps(value, ensure_ascii=False, indent=1, default=str))
    return code, text.encode(), "application/json; charset=utf-8"


def _limit(text: str | None, default: int) -> int:
    try:
        return max(1, min(500, int(text))) if text else default
    except ValueError:
        return default
