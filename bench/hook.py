"""A webhook receiver on 127.0.0.1 for apprise's ``json://``: when each expected post arrived."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Arrivals:
    """Records, for every key that ``keys`` finds in a posted JSON body, the ``clock`` time of its
    first arrival (``arrived``)."""

    def __init__(self, keys: Callable[[Any], Iterable[str]], clock: Callable[[], float]) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                when = clock()
                for key in keys(json.loads(body or b"{}")):
                    owner.arrived.setdefault(key, when)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
