"""The daemon's HTTP endpoint: health, readiness, metrics, a status page and a JSON API.

``server`` runs a stdlib ``ThreadingHTTPServer`` in its own thread, bound to 127.0.0.1 by
default; every request reads the state through its own read-only SQLite connection, so the
endpoint never blocks the daemon's event loop nor waits for it. ``data`` builds what pages and
the API show; ``page`` renders HTML with Jinja2 (autoescaped: everything from feeds is text).
"""

from .server import Check, ClientLimits, Hooks, StatusServer, parse_address

__all__ = ["Check", "ClientLimits", "Hooks", "StatusServer", "parse_address"]
