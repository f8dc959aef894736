"""The state folder on a real read-only mount and on a real file system that fills up, in a
private mount namespace (``unshare -m``: the mounts exist for the daemon only and vanish with
it). Needs root, or the capability to mount; skipped with the reason otherwise.

A mount cannot turn read-only under a process that has files open on it for writing (the
kernel answers EBUSY), so read-only is tested at start; ``test_faults_state.py`` covers a
database that stops taking writes while the daemon runs."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, UTC
from pathlib import Path

import pytest

from conftest import LOOPBACK_ENV, ROOT, rfc822, write_rules, write_story_rules
from servers import rss

pytestmark = pytest.mark.slow


def _can_mount() -> str | None:
    """Why private mounts cannot be made here, or None if they can."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs /mnt && umount /mnt"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot mount in a private namespace (needs root or CAP_SYS_ADMIN): {probe.stderr.strip()[:200]}"
    return None


REASON = _can_mount()
needs_mounts = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def _env(rules: Path, db: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **LOOPBACK_ENV, "WATCHER_RULES": str(rules), "WATCHER_DB": str(db),
            **more}


@needs_mounts
def test_a_read_only_state_folder_is_a_clear_error_at_start(tmp_path, rules_dir, feed_server):
    feed_server.set("/wire.xml", rss([]))
    write_rules(rules_dir, f"feeds:\n  wire: {{url: \"{feed_server.url('/wire.xml')}\"}}\n")
    state = tmp_path / "state"
    state.mkdir()
    for existing in (False, True):                  # an empty folder, then one that holds the state
        if existing:
            made = subprocess.run([sys.executable, "-m", "watcher", "check"], cwd=ROOT, capture_output=True,
                                  text=True, env=_env(rules_dir, state / "w.db"), timeout=120)
            assert made.returncode == 0, made.stderr
        script = ('mount --bind "$STATE" "$STATE" && mount -o remount,ro,bind "$STATE" && '
                  'exec "$PYTHON" -m watcher run --http off')
        done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], cwd=ROOT,
                              capture_output=True, text=True, timeout=120,
                              env=_env(rules_dir, state / "w.db", STATE=str(state), PYTHON=sys.executable))
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        error = done.stderr.strip().splitlines()[-1]
        assert error == (f"Error: cannot use the state database {state / 'w.db'}: cannot create its lock file "
                         f"{state / 'w.db.lock'}: Read-only file system; make the state folder writable by this "
                         "user (uid 10001 in the Docker image), or point --db at a folder that is"), done.stderr


# the controller runs in the namespace: a small tmpfs for the state, the daemon, and commands
# from the test through files in a folder outside the tmpfs (bounded: at most ~3 minutes)
CONTROLLER = r"""
mount -t tmpfs -o size=16m tmpfs "$STATE" || exit 3
"$PYTHON" -m watcher run --http off --parse-workers 0 &
pid=$!
for i in $(seq 1 1800); do
  if [ -e "$CTL/fill" ]; then rm "$CTL/fill"; dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null; \
     touch "$CTL/filled"; fi
  if [ -e "$CTL/free" ]; then rm "$CTL/free" "$STATE/filler"; touch "$CTL/freed"; fi
  if [ -e "$CTL/stop" ] || ! kill -0 $pid 2>/dev/null; then break; fi
  sleep 0.1
done
kill -TERM $pid 2>/dev/null
wait $pid
echo $? > "$CTL/rc"
cp "$STATE"/w.db* "$OUT"/
"""


@needs_mounts
def test_a_full_disk_is_reported_and_the_daemon_recovers_when_space_returns(tmp_path, rules_dir, feed_server,
                                                                           receiver):
    state, ctl, out = tmp_path / "state", tmp_path / "ctl", tmp_path / "out"
    for folder in (state, ctl, out):
        folder.mkdir()
    write_story_rules(rules_dir, {"wire": feed_server.url("/wire.xml")}, receiver.url("/team"))
    items: list[dict[str, str]] = []

    def publish(numbers: range) -> None:
        for n in numbers:    # ~3 KB each: a batch of them needs more room than the WAL already has
            items.append({"title": f"story {n}", "guid": f"s{n}", "link": f"https://news.example/{n}",
                          "description": f"paragraph {n} " * 250, "pubDate": rfc822(datetime.now(UTC))})
        feed_server.set("/wire.xml", rss(items))

    log = tmp_path / "daemon.log"

    def wait(what: str, check, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            assert time.monotonic() < deadline, f"gave up waiting for {what}:\n{log.read_text()[-3000:]}"
            assert not (ctl / "rc").exists(), f"the daemon ended:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)

    publish(range(0, 2))
    with log.open("w") as sink:
        controller = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", CONTROLLER],
                                      cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                      env=_env(rules_dir, state / "w.db", STATE=str(state), CTL=str(ctl),
                                               OUT=str(out), PYTHON=sys.executable))
    try:
        wait("the first alerts", lambda: {"story 0", "story 1"} <= set(receiver.titles()))
        (ctl / "fill").touch()
        wait("a full disk", (ctl / "filled").exists)
        publish(range(2, 400))
        wait("polls that cannot be recorded", lambda: log.read_text().count("poll not recorded") >= 3)
        assert "story 2" not in receiver.titles()
        (ctl / "free").touch()
        wait("space again", (ctl / "freed").exists)
        wanted = {f"story {n}" for n in range(400)}
        wait("every alert", lambda: wanted <= set(receiver.titles()), seconds=120)
        time.sleep(1.0)                                        # a duplicate would arrive by now
        (ctl / "stop").touch()
        assert controller.wait(timeout=60) == 0
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait(timeout=30)
    text = log.read_text()
    assert (ctl / "rc").read_text().strip() == "0", text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    full = [line for line in text.splitlines() if "poll not recorded" in line][0]
    assert re.search(rf"error=\"cannot use the state database {re.escape(str(state / 'w.db'))}: the disk is full "
                     r"\(or the database reached its size limit\); free some space on that disk\"", full), full
    assert Counter(receiver.titles()) == Counter(wanted)           # each once
    db = sqlite3.connect(out / "w.db")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM items").fetchone() == (400,)
    assert dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")) == {"sent": 400}
    db.close()
