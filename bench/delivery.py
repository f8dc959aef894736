"""Delivery cost and the duplicate window, on loopback.

    .venv/bin/python -m bench.delivery [--alerts 500]

Sends N alerts through the real dispatcher (outbox in a SQLite file, apprise json:// to a local
HTTP receiver) and reports, per alert: the time to deliver it one message at a time, the time
with a digest channel, and the *duplicate window*: from the moment the receiver has the message
to the moment its "sent" record is committed. A crash inside that window is the only way an
alert can arrive twice (see docs/delivery.md, "Crash safety").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

from watcher.deliver import Channels
from watcher.dispatch import Dispatcher
from watcher.models import AlertDraft
from watcher.ruleset.compiled import Channel, Secret
from watcher.store import Store, outbox

from .hook import Arrivals


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
    receiver = Arrivals(lambda body: [body["title"]], time.perf_counter)
    store = TimedStore(folder / f"bench-{digest}.db")
    store.committed = {}
    now = datetime.now(UTC)
    for i in range(count):
        store.run(outbox.enqueue, AlertDraft("bench", f"k{i}", "item", f"alert {i}", "**b**", "b", ("team",)), now)
    channels = Channels({"team": Channel("team", Secret(receiver.url), "${T}", digest=digest)})
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
    receiver.close()
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
