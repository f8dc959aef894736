"""The daemon as a real subprocess, killed with SIGKILL at random moments of busy cycles, many
times: afterwards every alert has arrived at the receiver, and an alert arrived twice only if
its send was cut off mid-flight (which the outbox records as "interrupted")."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import ROOT, write_rules
from servers import rss

ROUNDS = 24
FEEDS = ("alpha", "beta", "gamma")
PER_ROUND = 6  # new items per feed per round


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "watcher", "run", "--parse-workers", "0"], cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **env}, stdout=out, stderr=out,
                                start_new_session=True)


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)   # the group we started: the daemon and anything it spawned
    process.wait(timeout=30)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_interrupted_sends(tmp_path, feed_server,
                                                                                        receiver):
    seed = int(os.environ.get("WATCHER_CRASH_SEED", "0")) or random.randrange(1, 10**6)
    rng = random.Random(seed)
    print(f"seed {seed} (rerun with WATCHER_CRASH_SEED={seed})")
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, "settings: {interval: 1s, backlog: {alerts: 1d}}\nfeeds:\n"
                + "".join(f"  {f}: {{url: \"{feed_server.url(f'/{f}.xml')}\"}}\n" for f in FEEDS)
                + "alerts:\n  - name: stories\n    on: {items: {all: [story]}}\n    notify: [team]\n"
                + "channels:\n  team: ${TEAM_URL}\n")
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db"),
           "WATCHER_LOG_LEVEL": "INFO"}
    log = tmp_path / "daemon.log"
    posted = threading.Event()
    receiver.on_receive = lambda *_: posted.set()
    items: dict[str, list[dict[str, str]]] = {f: [] for f in FEEDS}
    expected: set[str] = set()
    now = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())

    for round_ in range(ROUNDS):
        for feed in FEEDS:
            for k in range(PER_ROUND):
                title = f"story {round_}-{feed}-{k}"
                items[feed].append({"title": title, "guid": title, "link": f"https://news.example/{round_}/{feed}/{k}",
                                    "pubDate": now})
                expected.add(title)
            feed_server.set(f"/{feed}.xml", rss(items[feed]))
        posted.clear()
        daemon = _start(env, log)
        if round_ % 2:
            # kill while alerts are being posted: the moment a send can be cut off
            posted.wait(timeout=15)
            time.sleep(rng.uniform(0, 0.05))
        else:
            time.sleep(rng.uniform(0.2, 3.0))   # anywhere: starting, polling, writing, sending
        _kill(daemon)

    daemon = _start(env, log)
    try:
        for _ in range(600):                    # bounded: at most ~60 s for the backlog to drain
            if expected <= set(receiver.titles()):
                break
            time.sleep(0.1)
        time.sleep(1.0)                         # anything still in flight arrives (or does not)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)

    counts = Counter(receiver.titles())
    missing = expected - set(counts)
    assert not missing, f"lost {len(missing)} alerts, e.g. {sorted(missing)[:3]}; see {log}"
    db = sqlite3.connect(tmp_path / "w.db")
    interrupted = {t for (t,) in db.execute(
        "SELECT a.title FROM delivery_attempts x JOIN deliveries d ON d.id = x.delivery_id "
        "JOIN alerts a ON a.id = d.alert_id WHERE x.status = 'interrupted'")}
    twice = {t for t, n in counts.items() if n > 1}
    print(f"{len(expected)} alerts, {len(interrupted)} sends interrupted by a kill, {len(twice)} arrived twice")
    assert twice <= interrupted, f"sent twice without an interrupted send: {sorted(twice - interrupted)[:3]}"
    assert max(counts.values()) <= 2
    states = dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    assert states == {"sent": len(expected)}
    assert set(counts) == expected              # and nothing that was not expected
