"""The daemon as a real subprocess: SIGTERM drains a poll in flight and loses nothing, a second
daemon on the same state refuses, SIGHUP with a broken rule file keeps the old rules and says
so on /readyz and /metrics, and `watcher health` tells a running daemon from a stopped one."""

from __future__ import annotations

import signal
import sqlite3
import time
from datetime import datetime, UTC

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import rfc822, run_cli, write_rules
from daemon import DaemonProcess
from servers import rss

pytestmark = pytest.mark.slow

RULES = """\
feeds:
  wire: {{url: "{url}", interval: {interval}}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, passes], scope: [title]}}
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""


def _env(tmp_path, rules_dir, receiver) -> dict[str, str]:
    return {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(tmp_path / "w.db")}


def _metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise AssertionError(f"no sample {name}{labels}")


def test_sigterm_lets_the_poll_in_flight_commit_and_loses_nothing(tmp_path, rules_dir, feed_server, receiver):
    write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml"), interval="2s"))
    items = [{"title": "Senate passes Ukraine aid", "guid": "p", "link": "https://news.example/p",
              "pubDate": rfc822(datetime.now(UTC))}] + [{"title": f"story {i}", "guid": f"s{i}"} for i in range(20)]
    feed_server.set("/wire.xml", rss(items), delay=2.0)       # each poll takes two seconds to answer
    env = _env(tmp_path, rules_dir, receiver)
    daemon = DaemonProcess(tmp_path, env)
    try:
        daemon.wait_for("daemon running")
        deadline = time.monotonic() + 30
        while feed_server.count("/wire.xml") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert feed_server.count("/wire.xml") == 1              # the first poll is in flight
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        daemon.kill()
    log = daemon.log()
    assert "signal received signal=SIGTERM action=stop" in log and "stopped polls_cut_off=0" in log
    assert "Traceback" not in log
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("SELECT count(*) FROM items").fetchone() == (21,)     # the poll committed whole
    assert db.execute("SELECT value FROM facts").fetchone() == ("passed-senate",)
    states = db.execute("SELECT d.state FROM deliveries d JOIN alerts a ON a.id = d.alert_id").fetchall()
    assert len(states) == 1 and states[0][0] in ("pending", "sent")      # written before sending
    db.close()

    feed_server.set("/wire.xml", rss(items))                 # the next run delivers what is left, once
    again = run_cli("check", env=env)
    assert again.returncode == 0, again.stderr
    assert receiver.titles() == ["US aid package for Ukraine: stalled → passed-senate"]


def test_a_second_signal_exits_at_once_and_the_state_stays_whole(tmp_path, rules_dir, feed_server, receiver):
    write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml"), interval="2s"))
    feed_server.set("/wire.xml", rss([{"title": "story", "guid": "s"}]), delay=20.0)   # a poll that hangs
    daemon = DaemonProcess(tmp_path, _env(tmp_path, rules_dir, receiver))
    try:
        daemon.wait_for("daemon running")
        deadline = time.monotonic() + 30
        while feed_server.count("/wire.xml") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        daemon.signal(signal.SIGTERM)
        daemon.wait_for("stopping")
        daemon.signal(signal.SIGTERM)                          # the operator does not want to wait
        assert daemon.wait(15) == 130
    finally:
        daemon.kill()
    assert "signal received again; exiting now" in daemon.log()
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM items").fetchone() == (0,)    # the poll never committed
    db.close()


def test_second_daemon_refuses_and_health_follows_the_daemon(tmp_path, rules_dir, feed_server, receiver):
    write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml"), interval="1h"))
    feed_server.set("/wire.xml", rss([]))
    env = _env(tmp_path, rules_dir, receiver)
    first = DaemonProcess(tmp_path, env)
    try:
        address = first.url.removeprefix("http://")
        second = run_cli("run", "--http", "127.0.0.1:0", env=env, timeout=60)
        assert second.returncode == 1
        assert f"another watcher daemon (pid {first.proc.pid}) is using the state" in second.stderr
        check = run_cli("check", env=env, timeout=60)
        assert check.returncode == 1 and "another watcher daemon" in check.stderr
        alive = run_cli("health", "--http", address, env=env)
        assert alive.returncode == 0 and alive.stdout.startswith("ok:"), alive.stderr
        ready = run_cli("health", "--ready", "--http", address, env=env)
        assert ready.returncode == 0, ready.stderr
        taken = run_cli("run", "--http", address, env={**env, "WATCHER_DB": str(tmp_path / "other.db")})
        assert taken.returncode == 1 and f"cannot serve HTTP on {address}" in taken.stderr
        copy = run_cli("backup", str(tmp_path / "backup.db"), env=env)      # online, while the daemon runs
        assert copy.returncode == 0 and "integrity ok" in copy.stdout, copy.stderr
        db = sqlite3.connect(tmp_path / "backup.db")
        assert db.execute("SELECT name FROM feeds").fetchall() == [("wire",)]
        db.close()
        assert first.stop() == 0
    finally:
        first.kill()
    down = run_cli("health", "--http", address, env=env)
    assert down.returncode == 1 and "unhealthy: no answer from" in down.stderr
    offline = run_cli("health", "--http", "off", env=env)
    assert offline.returncode == 1 and "no daemon is running" in offline.stderr


def test_sighup_with_a_broken_rule_file_keeps_the_old_rules_and_says_so(tmp_path, rules_dir, feed_server, receiver):
    rule_file = write_rules(rules_dir, RULES.format(url=feed_server.url("/wire.xml"), interval="1h"))
    feed_server.set("/wire.xml", rss([]))
    daemon = DaemonProcess(tmp_path, _env(tmp_path, rules_dir, receiver), "--no-watch")
    try:
        daemon.until("/readyz", 200)
        good = rule_file.read_text()
        rule_file.write_text(good.replace("interval: 1h", "interval: soon"))
        daemon.signal(signal.SIGHUP)
        body = daemon.until("/readyz", 503)
        [rules] = [c for c in body["checks"] if c["name"] == "rules"]
        assert not rules["ok"] and "rules.yaml:2:" in rules["detail"] and "still running rules" in rules["detail"]
        metrics = daemon.get("/metrics")[1]
        assert _metric(metrics, "watcher_rule_reloads_total", result="error") == 1
        assert _metric(metrics, "watcher_rules_last_reload_success") == 0
        code, feeds = daemon.json("/api/feeds")
        assert code == 200 and [f["name"] for f in feeds] == ["wire"]        # the old rules still run
        code, page = daemon.get("/")
        assert 'id="readiness">not ready' in page and "rules.yaml:2:" in page

        rule_file.write_text(good)
        daemon.signal(signal.SIGHUP)
        daemon.until("/readyz", 200)
        metrics = daemon.get("/metrics")[1]
        assert _metric(metrics, "watcher_rule_reloads_total", result="ok") == 2
        assert _metric(metrics, "watcher_rules_last_reload_success") == 1
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    assert "rule reload failed; keeping the last good rules" in daemon.log()
