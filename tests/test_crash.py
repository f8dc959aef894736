"""The daemon as a real subprocess, killed with SIGKILL at random moments of busy cycles, many
times: afterwards every alert has arrived at the receiver, and an alert arrived more than once
only as often as its send was cut off mid-flight (which the outbox records as "interrupted"; a
resend can be cut off again by the next kill).

The second test also moves facts (corroborated by two feeds, with pending reports) and compares
the state after the last restart with a clean run of the same scenario: the same items, the
same fact history (values and evidence), the same alerts by dedupe key, and the database passes
``PRAGMA integrity_check``. Set WATCHER_CRASH_SEED to replay a run's random kill points."""

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
from datetime import datetime, UTC
from pathlib import Path

import pytest

from conftest import LOOPBACK_ENV, ROOT, crash_rng, rfc822, run_cli, write_rules, write_story_rules
from servers import WebhookReceiver, rss

ROUNDS = 24
FEEDS = ("alpha", "beta", "gamma")
PER_ROUND = 6  # new items per feed per round


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "watcher", "run", "--parse-workers", "0", "--http", "off"],
                                cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **LOOPBACK_ENV, **env},
                                stdout=out, stderr=out, start_new_session=True)


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)   # the group we started: the daemon and anything it spawned
    process.wait(timeout=30)


class Killer:
    """Starts the daemon and kills it at a random moment: half the time anywhere (starting,
    polling, writing, sending), half the time just after the receiver took a post (the moment
    a send can be cut off between the service's answer and its record)."""

    def __init__(self, env: dict[str, str], log: Path, receiver: WebhookReceiver, rng: random.Random):
        self.env, self.log, self.rng = env, log, rng
        self.posted = threading.Event()
        self.kills = 0
        receiver.on_receive = lambda *_: self.posted.set()

    def run_and_kill(self, while_sending: bool, patience: int = 0) -> None:
        """``patience``: how many runs before this one were killed before their work was done;
        each widens the window of the next kill by 1.5 s, so a loaded machine, where the daemon
        takes seconds just to start, still gets to commit (the kill stays at a random moment)."""
        self.posted.clear()
        daemon = _start(self.env, self.log)
        if while_sending:
            self.posted.wait(timeout=15 + 1.5 * patience)
            time.sleep(self.rng.uniform(0, 0.05))
        else:
            time.sleep(self.rng.uniform(0.2, 3.0 + 1.5 * patience))
        _kill(daemon)
        self.kills += 1

    def finish(self, done, seconds: float = 60) -> None:
        """A last run, stopped with SIGTERM once ``done()`` holds (bounded) and a moment after."""
        daemon = _start(self.env, self.log)
        try:
            deadline = time.monotonic() + seconds
            while not done() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)                     # anything still in flight arrives (or does not)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)


def _interrupted_sends(db: sqlite3.Connection) -> Counter:
    """How many sends of each alert a kill cut off (one ``interrupted`` attempt each)."""
    return Counter(dict(db.execute(
        "SELECT a.title, count(*) FROM delivery_attempts x JOIN deliveries d ON d.id = x.delivery_id "
        "JOIN alerts a ON a.id = d.alert_id WHERE x.status = 'interrupted' GROUP BY a.title")))


def _drained(db_path: Path) -> bool:
    """Whether every delivery is recorded as sent. An alert can be at the receiver while its
    delivery is still due: a send cut off after the post is sent again by the next start."""
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM deliveries WHERE state != 'sent'").fetchone() == (0,)
        finally:
            db.close()
    except sqlite3.OperationalError:   # not created yet, or busy: ask again
        return False


def _check_deliveries(counts: Counter, expected: set[str], db: sqlite3.Connection, log: Path) -> None:
    """Every alert arrived; once more only for each of its sends that a kill cut off (a resend
    can itself be cut off by the next kill); every delivery is sent."""
    missing = expected - set(counts)
    assert not missing, f"lost {len(missing)} alerts, e.g. {sorted(missing)[:3]}; see {log}"
    interrupted = _interrupted_sends(db)
    repeated = {t: n for t, n in counts.items() if n > 1}
    print(f"{len(expected)} alerts, {sum(interrupted.values())} sends interrupted by a kill, "
          f"{len(repeated)} arrived more than once")
    extra = {t: n for t, n in counts.items() if n > 1 + interrupted[t]}
    assert not extra, f"arrived more often than sent: {sorted(extra.items())[:3]} (interrupted sends: " \
                      f"{ {t: interrupted[t] for t in extra} }); see {log}"
    states = dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    assert states == {"sent": len(expected)}
    assert set(counts) == expected              # and nothing that was not expected
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_interrupted_sends(tmp_path, feed_server,
                                                                                        receiver):
    rng = crash_rng()
    rules = tmp_path / "rules"
    rules.mkdir()
    write_story_rules(rules, {f: feed_server.url(f"/{f}.xml") for f in FEEDS}, "${TEAM_URL}")
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db"),
           "WATCHER_LOG_LEVEL": "INFO"}
    log = tmp_path / "daemon.log"
    killer = Killer(env, log, receiver, rng)
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
        killer.run_and_kill(while_sending=bool(round_ % 2))

    killer.finish(lambda: expected <= set(receiver.titles()) and _drained(tmp_path / "w.db"))
    _check_deliveries(Counter(receiver.titles()), expected, sqlite3.connect(tmp_path / "w.db"), log)


# -- the same, with facts moving, compared with a clean run -------------------------------------

FACT_RULES = """\
settings: {{interval: 1s, backlog: {{alerts: 1d, facts: 1d}}}}
feeds:
  wire: {{url: "{base}/wire.xml"}}
  agency: {{url: "{base}/agency.xml"}}
  blog: {{url: "{base}/blog.xml"}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    corroborate: {{sources: 2, within: 1d}}
    signals:
      - value: passed-senate
        match: {{all: [senate, ukraine, passes], scope: [title]}}
      - value: passed-house
        match: {{all: [house, ukraine, passes], scope: [title]}}
      - value: signed
        match: {{all: [president, ukraine, signs], scope: [title]}}
  amount:
    describe: US aid for Ukraine in the bill
    kind: number
    unit: USD
    known: 60bn
    signals:
      - extract: "{{amount}} in aid for ukraine"
        match: {{all: [ukraine], scope: [title]}}
        feeds: [wire, agency]
alerts:
  - name: stories
    on: {{items: {{all: [story]}}}}
    notify: [team]
  - name: aid-moved
    on: {{fact: aid, event: [change, pending]}}
    notify: [team]
  - name: amount-moved
    on: {{fact: amount}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""

# the news of each round, beside two stories per feed: two independent reports move ``aid``
# (the first of them, whichever feed it comes from, is a pending report); one report moves
# ``amount`` from its known value, two are needed to move it again
NEWS = {
    1: {"wire": "Senate passes Ukraine aid after a long delay",
        "agency": "In a late vote the Senate passes aid for Ukraine"},
    3: {"wire": "The bill before Congress carries $61 billion in aid for Ukraine"},
    5: {"wire": "House passes Ukraine aid, sending it to the president",
        "agency": "After months of delay the House passes aid for Ukraine"},
    7: {"wire": "Final bill carries $95 billion in aid for Ukraine",      # disputes $61bn until both are in
        "agency": "Negotiators settle on $95 billion in aid for Ukraine"},
    9: {"wire": "President signs Ukraine aid into law", "agency": "The president signs the bill with aid for Ukraine"},
}
FACT_ROUNDS = 12


class Newsroom:
    """The three feeds; every published item stays in its feed, as on a real feed."""

    def __init__(self, server):
        self.server = server
        self.items: dict[str, list[dict[str, str]]] = {"wire": [], "agency": [], "blog": []}

    def publish(self, round_: int) -> set[str]:
        """Publish a round; returns the titles of its items."""
        titles = set()
        for feed, items in self.items.items():
            news = [NEWS.get(round_, {}).get(feed)] + [f"story {round_}-{feed}-{k}" for k in range(2)]
            for title in filter(None, news):
                items.append({"title": title, "guid": f"{feed}:{title}", "pubDate": rfc822(datetime.now(UTC)),
                              "link": f"https://{feed}.example/{round_}/{len(items)}"})
                titles.add(title)
            self.server.set(f"/{feed}.xml", rss(items))
        return titles


def _state(path: Path) -> dict:
    """What must be the same after a clean run and a crashed one (ids and times aside)."""
    db = sqlite3.connect(path)
    try:
        history = []
        for change_id, fact, old, new, cause in db.execute(
                "SELECT id, fact, old_value, new_value, cause FROM fact_changes ORDER BY id"):
            evidence = sorted(db.execute("SELECT feed, title, link, quote FROM fact_evidence WHERE change_id = ?",
                                         [change_id]).fetchall())
            history.append((fact, old, new, cause, evidence))
        return {
            "items": sorted(db.execute("SELECT feed, key, title, link FROM items").fetchall()),
            "history": history,
            "facts": sorted(db.execute("SELECT name, value FROM facts").fetchall()),
            "notices": sorted(db.execute("SELECT fact, kind, claims FROM fact_notices").fetchall()),
            "alerts": sorted(db.execute("SELECT dedupe_key, title FROM alerts").fetchall()),
        }
    finally:
        db.close()


def _committed(path: Path, titles: set[str]) -> bool:
    if not path.exists():
        return False
    db = sqlite3.connect(path)
    try:
        stored = {t for (t,) in db.execute("SELECT title FROM items")}
    except sqlite3.OperationalError:       # killed before the first migration committed
        return False
    finally:
        db.close()
    return titles <= stored


def _clean_run(tmp_path: Path, rules: Path, feed_server) -> tuple[dict, Counter]:
    hook = WebhookReceiver()
    try:
        newsroom = Newsroom(feed_server)
        env = {"TEAM_URL": hook.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "clean.db")}
        for round_ in range(FACT_ROUNDS):
            newsroom.publish(round_)
            result = run_cli("check", env=env)
            assert result.returncode == 0, result.stderr
        return _state(tmp_path / "clean.db"), Counter(hook.titles())
    finally:
        hook.close()


@pytest.mark.slow
def test_sigkill_while_facts_move_ends_in_the_state_of_a_clean_run(tmp_path, feed_server, receiver):
    rng = crash_rng()
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, FACT_RULES.format(base=feed_server.url("")))
    clean, clean_received = _clean_run(tmp_path, rules, feed_server)
    assert [(f, o, n) for f, o, n, cause, _ in clean["history"] if cause == "signal"] == [
        ("aid", "stalled", "passed-senate"), ("amount", "60000000000", "61000000000"),
        ("aid", "passed-senate", "passed-house"), ("amount", "61000000000", "95000000000"),
        ("aid", "passed-house", "signed")]
    assert all(len(ev) == 2 for f, _, _, cause, ev in clean["history"] if f == "aid" and cause == "signal")
    assert set(clean_received.values()) == {1}

    db_path = tmp_path / "w.db"
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(db_path),
           "WATCHER_LOG_LEVEL": "INFO"}
    log = tmp_path / "daemon.log"
    killer = Killer(env, log, receiver, rng)
    newsroom = Newsroom(feed_server)
    for round_ in range(FACT_ROUNDS):
        titles = newsroom.publish(round_)
        # killed at random moments until the round is in the state (a round committed in part
        # is finished by the next start); only then comes the next round's news, as in the clean run
        for attempt in range(12):
            killer.run_and_kill(while_sending=attempt % 2 == 1, patience=attempt)
            if _committed(db_path, titles):
                break
        assert _committed(db_path, titles), f"round {round_} never committed in 12 runs; see {log}"

    expected = {title for _, title in clean["alerts"]}
    killer.finish(lambda: expected <= set(receiver.titles()) and _drained(db_path))
    print(f"{killer.kills} kills over {FACT_ROUNDS} rounds")
    crashed = _state(db_path)
    for part in ("items", "history", "facts", "notices", "alerts"):
        assert crashed[part] == clean[part], part
    _check_deliveries(Counter(receiver.titles()), expected, sqlite3.connect(db_path), log)
