"""Delivery cost and the duplicate window, on loopback.

    .venv/bin/python -m bench.delivery [--alerts 500]

Sends N alerts through the real dispatcher (outbox in a SQLite file, apprise json:// to a local
HTTP receiver) and reports, per alert: the time to deliver it one message at a time, the time
with a digest channel, and the *duplicate window*: from the moment the receiver has the message
to the moment its "sent" record is committed. A crash inside that window is the only way an
alert can arrive twice (see README, "Crash safety").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from datetime import datetime, UTC
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from watcher.deliver import Channels
from watcher.dispatch import Dispatcher
from watcher.models import AlertDraft
from watcher.ruleset.compiled import Channel, Secret
from watcher.store import Store, outbox


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                owner.arrived[body["title"]] = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"


class TimedStore(Store):
    """Notes when each "sent" record is committed (after ``outbox.settle`` returns)."""

    committed: dict[int, float]

    async def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = await super().call(fn, *args, **kwargs)
        if fn is outbox.settle:
            for delivery_id in result:
                self.committed[delivery_id] = time.perf_counter()
        return result


def run(count: int, digest: float | None, folder: Path) -> tuple[float, list[float]]:
    receiver = Receiver()
    store = TimedStore(folder / f"bench-{digest}.db")
    store.committed = {}
    now = datetime.now(UTC)
    for i in range(count):
        store.run(outbox.enqueue, AlertDraft("bench", f"k{i}", "item", f"alert {i}", "**b**", "b", ("team",)), now)
    channels = Channels({"team": Channel("team", Secret(receiver.url()), "${T}", digest=digest)})
    dispatcher = Dispatcher(store, lambda: channels, lambda: datetime.now(UTC))
    started = time.perf_counter()
    report = asyncio.run(dispatcher.deliver_due())
    elapsed = time.perf_counter() - started
    assert report.sent == count, report
    windows = []
    if digest is None:
        titles = store.run(lambda db: dict(db.execute(
            "SELECT d.id, a.title FROM deliveries d JOIN alerts a ON a.id = d.alert_id").fetchall()))
        windows = [store.committed[i] - receiver.arrived[t] for i, t in titles.items()]
    store.close()
    receiver.server.shutdown()
    return elapsed, windows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        single, windows = run(args.alerts, None, Path(folder))
        digested, _ = run(args.alerts, 0.0, Path(folder))
    windows.sort()
    print(f"{args.alerts} alerts, one message each: {single * 1000 / args.alerts:.2f} ms per alert "
          f"({args.alerts / single:.0f} alerts/s)")
    print(f"{args.alerts} alerts, digest channel:   {digested * 1000 / args.alerts:.2f} ms per alert "
          f"({-(-args.alerts // 50)} messages of up to 50)")
    print(f"duplicate window (receiver has it -> 'sent' committed): median {statistics.median(windows) * 1000:.2f} ms, "
          f"p95 {windows[int(len(windows) * 0.95)] * 1000:.2f} ms, max {windows[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
