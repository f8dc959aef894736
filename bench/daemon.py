"""Scenarios 5 and 6, and idle: `watcher run` over several poll intervals.

The daemon starts on the state the passes left (every feed known) with a short interval.
After one uncounted interval (the first wave of polls), at the start of each measured interval
a few feeds publish a "probe" item that an alert rule sends to a real webhook receiver
(apprise ``json://``): scenario 6's latency is the time from the file appearing on the server to
the alert arriving. Scenario 5 is the CPU of the daemon's process tree over the measured
intervals, as CPU seconds per hour per 1,000 feeds. Idle: the daemon restarted with a one-hour
interval, measured after its first wave, while nothing is due.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import farm, rulesgen
from .hook import Arrivals
from .passes import LOOPBACK, WATCHER
from .probe import tree, tree_cpu

_POLL = re.compile(r"\bpoll\b.*\bfeed=")
_TOKEN = re.compile(r"Watcher latency probe (p\d+x\d+)")


@dataclass
class DaemonResult:
    feeds: int
    interval: float
    measured_s: float
    cpu_s: float
    polls: int
    peak_rss_mb: float
    latencies: list[float] = field(default_factory=list)
    missing: int = 0
    idle_window_s: float = 0.0
    idle_cpu_s: float = 0.0
    idle_polls: int = 0

    @property
    def cpu_per_hour_per_1000(self) -> float:
        return self.cpu_s / self.measured_s * 3600 / (self.feeds / 1000)

    @property
    def cpu_per_poll_ms(self) -> float:
        return 1000 * self.cpu_s / max(self.polls, 1)

    @property
    def cpu_per_hour_per_1000_at_15m(self) -> float:
        """The same work at the default 15-minute interval: 4 polls per feed an hour."""
        return self.cpu_per_poll_ms / 1000 * 4 * 1000


def _copy_db(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for old in target.parent.glob(target.name + "*"):
        old.unlink()
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _polls(log: Path) -> int:
    return len(_POLL.findall(log.read_text(errors="replace"))) if log.exists() else 0


class Daemon:
    def __init__(self, rules: Path, db: Path, log: Path):
        self.log = log
        self._out = log.with_suffix(".out").open("wb")
        self._err = log.open("wb")
        self.process = subprocess.Popen([str(WATCHER), *LOOPBACK, "--rules", str(rules), "--db", str(db), "run"],
                                        stdout=self._out, stderr=self._err, start_new_session=True)

    def wait_for(self, polls: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _polls(self.log) < polls and self.process.poll() is None:
            time.sleep(0.5)
        if self.process.poll() is not None:
            raise RuntimeError(f"the daemon exited: {self.log.read_text()[-2000:]}")

    def rss_mb(self) -> float:
        return sum(rss for _, _, rss in tree(self.process.pid).values()) / 2**20

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()
        self._err.close()


def run(work: Path, n: int, base_url: str, source_db: Path, *, interval: float, intervals: int,
        probes: int, idle_window: float, log=print) -> DaemonResult:  # type: ignore[no-untyped-def]
    folder = work / f"n{n}" / "daemon"
    db = folder / "watcher.db"
    _copy_db(source_db, db)
    hook = Arrivals(lambda body: _TOKEN.findall(json.dumps(body)), time.time)  # when each probe token arrived
    farm_dir = work / "farm" / f"n{n}"
    published: dict[str, float] = {}
    probed: list[int] = []
    try:
        rules = rulesgen.write(folder / "rules", feeds=n, base_url=f"{base_url}/v", interval=f"{interval:g}s",
                               hook=hook.url)
        daemon = Daemon(rules, db, folder / "run.log")
        try:
            daemon.wait_for(n, timeout=interval + 120)   # the first wave, not counted
            time.sleep(interval / 2)
            cpu0, t0, polls0 = tree_cpu(daemon.process.pid), time.monotonic(), _polls(daemon.log)
            peak = daemon.rss_mb()
            for k in range(intervals):
                started = time.monotonic()
                for j in range(probes):
                    feed = 1 + (7919 * (k * probes + j + 1)) % n
                    if feed in probed:
                        continue
                    token = f"p{k}x{j}"
                    farm.change(farm_dir, feed, farm.ITEMS + 10, farm.probe_text(token))
                    published[token] = time.time()
                    probed.append(feed)
                while time.monotonic() - started < interval:
                    time.sleep(min(1.0, interval - (time.monotonic() - started)))
                    peak = max(peak, daemon.rss_mb())
            cpu1, t1, polls1 = tree_cpu(daemon.process.pid), time.monotonic(), _polls(daemon.log)
            deadline = time.monotonic() + 1.5 * interval + 30
            while time.monotonic() < deadline and not set(published) <= set(hook.arrived):
                time.sleep(0.5)
        finally:
            daemon.stop()
        result = DaemonResult(n, interval, t1 - t0, cpu1 - cpu0, polls1 - polls0, peak,
                              sorted(hook.arrived[t] - published[t] for t in published if t in hook.arrived),
                              len(set(published) - set(hook.arrived)))
        log(f"  n={n} daemon: {result.polls} polls in {result.measured_s:.0f}s, cpu {result.cpu_s:.2f}s "
            f"({result.cpu_per_poll_ms:.1f} ms/poll), latency median "
            f"{statistics.median(result.latencies) if result.latencies else float('nan'):.1f}s, "
            f"{result.missing} probes missing")
        _idle(folder, n, base_url, db, idle_window, result)
        log(f"  n={n} idle: {result.idle_cpu_s:.3f}s cpu in {result.idle_window_s:.0f}s, {result.idle_polls} polls")
        return result
    finally:
        farm.reset(farm_dir, probed)
        hook.close()


def _idle(folder: Path, n: int, base_url: str, db: Path, window: float, result: DaemonResult) -> None:
    rules = rulesgen.write(folder / "rules-idle", feeds=n, base_url=f"{base_url}/v", interval="1h")
    daemon = Daemon(rules, db, folder / "idle.log")
    try:
        daemon.wait_for(n, timeout=180)   # feeds overdue after the short interval are polled first
        time.sleep(5)
        cpu0, t0, polls0 = tree_cpu(daemon.process.pid), time.monotonic(), _polls(daemon.log)
        time.sleep(window)
        result.idle_cpu_s = tree_cpu(daemon.process.pid) - cpu0
        result.idle_window_s = time.monotonic() - t0
        result.idle_polls = _polls(daemon.log) - polls0
    finally:
        daemon.stop()
