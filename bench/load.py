"""Load: thousands of feeds, a realistic share of them slow or failing, under the real daemon.

    .venv/bin/python -m bench.load [--feeds 5000] [--interval 60] [--duration 300] [--out FILE]

Starts the feed farm (``bench/load_server.py``: healthy, slow, hanging, trickling, erring and
unreachable feeds on a thousand loopback sites) in its own process, then `watcher run` on a rule
file with every feed at one interval, and samples the daemon's memory (its own RSS and that of
its parse workers) every second. After ``--duration`` seconds it stops both and reports, from
the farm's request log:

- peak RSS (the daemon, and the daemon with its worker processes), and RSS growth over the
  second half of the run (bounded memory: it should be flat once every feed was polled);
- polls per healthy feed against what its interval allows, and the share polled on schedule;
- lateness: the gap between two polls of a healthy feed minus the interval (negative: early,
  as spreading may bring a poll forward by up to a quarter of the interval), as percentiles;
- what the daemon recorded for the failing feeds (error kinds from the state database).

The figures and the exact command go to ``--out`` (default ``bench/results/load.md``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from bench.load_server import Feed, plan, serve
from bench.passes import LOOPBACK

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rules(feeds: list[Feed], port: int, interval: float) -> str:
    lines = [f"settings: {{interval: {interval:g}s, backlog: {{alerts: 0, facts: 1d}}}}", "feeds:"]
    lines += [f"  f{f.index:05d}: {{url: \"{f.url(port)}\"}}" for f in feeds]
    lines += ["facts:", "  budget:", "    describe: the regional security budget", "    values: [discussed, passed]",
              "    known: discussed", "    signals:", "      - value: passed",
              "        match: {all: [budget, passes], scope: [title]}",
              "alerts:", "  - name: budget-story",
              "    on: {items: {all: [budget, security], any: [vote, story 7\\d]}}",
              "    notify: [desk]", "channels:", f"  desk: json://{feeds[0].site}:{port}/hook"]
    return "\n".join(lines) + "\n"


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[ppid].append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args: argparse.Namespace, folder: Path) -> dict:
    feeds = plan(args.feeds, args.seed, args.period)
    port = _free_port()
    rules = folder / "rules"
    rules.mkdir()
    (rules / "bench.yaml").write_text(_rules(feeds, port, args.interval))
    stop = multiprocessing.Event()
    started = time.monotonic()
    farm = multiprocessing.Process(target=serve, args=(feeds, port, started, stop, folder / "hits.json"))
    farm.start()
    time.sleep(2)                                    # the farm binds its thousand addresses
    log = folder / "daemon.log"
    command = [sys.executable, "-m", "watcher", *LOOPBACK, "--rules", str(rules), "--db", str(folder / "w.db"),
               "--log-level", "WARNING", "run", "--http", "127.0.0.1:0", "--parse-workers", str(args.workers),
               "--no-watch"]
    with log.open("w") as sink:
        daemon = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
    launched = time.monotonic() - started
    samples: list[tuple[float, int, int]] = []     # (seconds since start, daemon RSS kB, with workers kB)
    cpu = 0.0
    try:
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline and daemon.poll() is None:
            own = _rss_kb(daemon.pid)
            total = own + sum(_rss_kb(p) for p in _descendants(daemon.pid))
            samples.append((time.monotonic() - started, own, total))
            cpu = _cpu_seconds(daemon.pid)
            time.sleep(1)
    finally:
        ended = time.monotonic() - started
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=120)
        stop.set()
        farm.join(timeout=120)
    hits = json.loads((folder / "hits.json").read_text())
    db = sqlite3.connect(folder / "w.db")
    recorded = db.execute("SELECT name, status, error_kind, polls FROM feeds").fetchall()
    items = db.execute("SELECT count(*) FROM items").fetchone()[0]
    db.close()
    return analyse(args, feeds, hits, samples, recorded, items, launched, ended, cpu, daemon.returncode,
                   log.read_text())


def analyse(args, feeds, hits, samples, recorded, items, launched, ended, cpu, code, log_text) -> dict:
    arrivals: dict[int, list[float]] = defaultdict(list)
    for at, index, _ in hits["hits"]:
        arrivals[index].append(at)
    healthy = [f.index for f in feeds if f.kind == "healthy"]
    polls, ratios, lateness, first, steady = [], [], [], [], []
    settled = launched + 2 * args.interval        # after the first pass and the drift onto phases
    for index in healthy:
        times = sorted(arrivals.get(index, []))
        polls.append(len(times))
        if not times:
            ratios.append(0.0)
            continue
        first.append(times[0] - launched)
        # what the interval allows after the first poll, up to the end of the run
        allowed = 1 + int((ended - times[0]) / args.interval)
        ratios.append(len(times) / allowed)
        gaps = [(a, b - a - args.interval) for a, b in zip(times, times[1:], strict=False)]
        lateness += [late for _, late in gaps]
        steady += [late for a, late in gaps if a >= settled]
    half = [s for s in samples if s[0] >= samples[-1][0] / 2] if samples else []
    kinds = Counter(f.kind for f in feeds)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for name, status, error_kind, _ in recorded:
        by_kind[feeds[int(name[1:])].kind][error_kind or status or "never polled"] += 1
    return {
        "feeds": args.feeds, "interval_s": args.interval, "duration_s": round(ended - launched, 1),
        "kinds": dict(kinds), "daemon_exit": code, "tracebacks_in_log": log_text.count("Traceback"),
        "requests": len(hits["hits"]), "alerts_posted": hits["posts"], "items_stored": items,
        "daemon_cpu_s": round(cpu, 1),
        "peak_rss_mb": round(max(s[1] for s in samples) / 1024, 1),
        "peak_rss_with_workers_mb": round(max(s[2] for s in samples) / 1024, 1),
        "rss_second_half_mb": [round(min(s[1] for s in half) / 1024, 1), round(max(s[1] for s in half) / 1024, 1)],
        "healthy_feeds": len(healthy), "healthy_never_polled": sum(1 for p in polls if p == 0),
        "polls_per_healthy_feed": {"median": statistics.median(polls), "min": min(polls), "max": max(polls)},
        "polls_vs_allowed": {"median": round(statistics.median(ratios), 3), "p5": round(_pct(ratios, 0.05), 3),
                             "min": round(min(ratios), 3)},
        "first_poll_after_start_s": {"p50": round(_pct(first, 0.5), 1), "p95": round(_pct(first, 0.95), 1),
                                     "max": round(max(first), 1)},
        "lateness_s": {q: round(_pct(lateness, p), 2) for q, p in
                       (("p1", 0.01), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))},
        "gaps_within_interval_plus_5s": round(sum(1 for x in lateness if x <= 5) / max(1, len(lateness)), 4),
        "steady_lateness_s": {q: round(_pct(steady, p), 2) for q, p in
                              (("p1", 0.01), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))},
        "steady_gaps": len(steady),
        "steady_gaps_within_interval_plus_5s": round(sum(1 for x in steady if x <= 5) / max(1, len(steady)), 4),
        "requests_per_30s": _per_window(hits["hits"], 30),
        "recorded_by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
    }


def _per_window(hits: list, width: float) -> list[int]:
    counts = Counter(int(at // width) for at, _, _ in hits)
    return [counts.get(n, 0) for n in range(max(counts, default=-1) + 1)]


def report(result: dict, command: str) -> str:
    lines = ["# Load benchmark", "", f"Command: `{command}`", "",
             f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {sys.version.split()[0]}, "
             f"{os.cpu_count()} CPUs (shared machine: expect 10-30 % between runs).", "", "```json",
             json.dumps(result, indent=2), "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls of each feed")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds the daemon runs")
    parser.add_argument("--period", type=float, default=600.0, help="mean seconds between new items of a feed")
    parser.add_argument("--workers", type=int, default=2, help="parse worker processes")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "load.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="watcher-load-") as folder:
        result = run(args, Path(folder))
    command = ".venv/bin/python -m bench.load " + " ".join(sys.argv[1:])
    text = report(result, command.strip())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
