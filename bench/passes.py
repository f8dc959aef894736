"""Scenarios 1-4: one pass over every feed, by `watcher check` and by urlwatch, side by side.

Per size and repetition, from a fresh state for both tools:
1. cold: every item is new (watcher stores, matches 200 rules, moves facts, queues and
   delivers alerts to the console; urlwatch reports every job as new);
2. warm: nothing changed, every feed answers 304;
3. changed: 5 % of the feeds got one new item at the top;
4. no validators: the same feeds from a location that ignores validators (200, same body).
Each command runs under ``bench.probe`` (wall, CPU of the whole process tree, peak RSS).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import farm, rulesgen
from .peers import Urlwatch

ROOT = Path(__file__).resolve().parent.parent
WATCHER = ROOT / ".venv" / "bin" / "watcher"
# the farm is served on loopback (nginx, bench.load_server), which watcher refuses unless allowed
LOOPBACK = ("--allow-addresses", "127.0.0.0/8")
SCENARIOS = ("cold", "warm", "changed", "no-validators")
CHANGED_SHARE = 0.05
_SUMMARY = re.compile(r"checked (\d+) feeds: (\d+) new items, (\d+) alerts queued, (\d+) sent, (\d+) to retry, "
                      r"(\d+) feeds failed")
_URLWATCH = re.compile(r"^\d+\. (NEW|CHANGED|ERROR|UNCHANGED): ", re.MULTILINE)


@dataclass
class Run:
    tool: str
    scenario: str
    feeds: int
    rep: int
    wall: float
    cpu: float
    max_rss_mb: float
    tree_rss_mb: float
    items: int                       # items the pass had to handle (new ones)
    outcome: dict = field(default_factory=dict)
    problem: str = ""                # an unexpected outcome (the figure is kept, and flagged)


def changed_feeds(n: int) -> list[int]:
    step = round(1 / CHANGED_SHARE)
    return list(range(step, n + 1, step)) or [1]


def probe(out: Path, command: list[str], timeout: float) -> dict:
    """Run ``command`` under ``bench.probe`` in a fresh process; its figures, stdout and stderr."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "bench.probe", str(out), "--", *command], check=True, cwd=ROOT,
                   env={"BENCH_PROBE_TIMEOUT": str(timeout), "PATH": "/usr/bin:/bin", "HOME": str(out.parent)})
    result = json.loads(out.read_text())
    result["stdout"] = out.with_suffix(".out").read_text(errors="replace")
    result["stderr"] = out.with_suffix(".err").read_text(errors="replace")
    return result


def drain_outbox(db: Path) -> int:
    """Mark every pending delivery sent (uncounted, between passes). `watcher check` delivers at
    most 10,000 alerts per channel per run; the cold pass queues more, and without this the next
    scenario would be measured delivering the cold pass's alerts instead of doing its own work."""
    with sqlite3.connect(db) as conn:
        return conn.execute("UPDATE deliveries SET state = 'sent' WHERE state IN ('pending', 'failed')").rowcount


class PassBench:
    """The rules, states and runs of scenarios 1-4 for one farm size."""

    def __init__(self, work: Path, n: int, base_url: str, urlwatch_bin: Path, *, timeout: float):
        self.n, self.work, self.timeout = n, work / f"n{n}", timeout
        self.farm = work / "farm" / f"n{n}"
        self.rules = rulesgen.write(self.work / "rules", feeds=n, base_url=f"{base_url}/v")
        self.rules_nv = rulesgen.write(self.work / "rules-nv", feeds=n, base_url=f"{base_url}/v", no_validators=True)
        self.db = self.work / "state" / "watcher.db"
        urls = [f"{base_url}/v/{farm.name(i)}" for i in range(1, n + 1)]
        self.urlwatch = Urlwatch(urlwatch_bin, self.work / "urlwatch")
        self.urlwatch.write_jobs(urls)
        self.urls = urls

    def _fresh(self) -> None:
        farm.reset(self.farm, changed_feeds(self.n))
        shutil.rmtree(self.db.parent, ignore_errors=True)
        self.db.parent.mkdir(parents=True)
        self.urlwatch.reset_cache()

    def watcher(self, scenario: str, rep: int, rules: Path) -> Run:
        out = self.work / "runs" / f"watcher-{scenario}-{rep}.json"
        result = probe(out, [str(WATCHER), *LOOPBACK, "--rules", str(rules), "--db", str(self.db), "check"],
                       self.timeout)
        found = _SUMMARY.search(result["stderr"])
        outcome = dict(zip(("feeds", "new", "queued", "sent", "retry", "failed"),
                           map(int, found.groups()), strict=True)) if found else {}
        outcome["drained"] = drain_outbox(self.db)
        expected_new = {"cold": self.n * farm.ITEMS, "changed": len(changed_feeds(self.n))}.get(scenario, 0)
        problem = ""
        if result["rc"] != 0 or not found:
            problem = f"exit {result['rc']}: {result['stderr'].strip().splitlines()[-1:] or ''}"
        elif outcome["failed"] or outcome["new"] != expected_new:
            problem = f"{outcome['new']} new (expected {expected_new}), {outcome['failed']} feeds failed"
        return Run("watcher", scenario, self.n, rep, result["wall"], result["cpu"], result["max_rss_mb"],
                   result["tree_rss_mb"], outcome.get("new", 0), outcome, problem)

    def peer(self, scenario: str, rep: int) -> Run:
        out = self.work / "runs" / f"urlwatch-{scenario}-{rep}.json"
        result = probe(out, self.urlwatch.command(), self.timeout)
        counts = {kind.lower(): 0 for kind in ("NEW", "CHANGED", "ERROR", "UNCHANGED")}
        for kind in _URLWATCH.findall(result["stdout"]):
            counts[kind.lower()] += 1
        expected = {"cold": ("new", self.n), "changed": ("changed", len(changed_feeds(self.n)))}.get(scenario)
        problem = ""
        if result["rc"] != 0:
            problem = f"exit {result['rc']}"
        elif counts["error"] or (expected and counts[expected[0]] != expected[1]) or \
                (not expected and (counts["new"] or counts["changed"])):
            problem = f"unexpected report: {counts}"
        items = self.n * farm.ITEMS if scenario == "cold" else 0
        return Run("urlwatch", scenario, self.n, rep, result["wall"], result["cpu"], result["max_rss_mb"],
                   result["tree_rss_mb"], items, counts, problem)

    def repetition(self, rep: int, log=print) -> list[Run]:  # type: ignore[no-untyped-def]
        self._fresh()
        runs: list[Run] = []
        for scenario in SCENARIOS:
            if scenario == "changed":
                for feed in changed_feeds(self.n):
                    farm.change(self.farm, feed, farm.ITEMS + 1)
            if scenario == "no-validators":
                self.urlwatch.write_jobs(self.urls, no_validators=True)
            rules = self.rules_nv if scenario == "no-validators" else self.rules
            pair = [self.watcher(scenario, rep, rules), self.peer(scenario, rep)]
            if scenario == "no-validators":
                self.urlwatch.write_jobs(self.urls)
            for run in pair:
                log(f"  n={self.n} rep {rep} {scenario:13s} {run.tool:8s} wall {run.wall:7.2f}s cpu {run.cpu:7.2f}s "
                    f"rss {run.max_rss_mb:5.0f}/{run.tree_rss_mb:5.0f} MB {run.outcome} {run.problem}")
            runs += pair
        return runs


def as_dicts(runs: list[Run]) -> list[dict]:
    return [asdict(run) for run in runs]
