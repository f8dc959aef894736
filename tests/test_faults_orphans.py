"""A killed watcher leaves no process behind: `watcher check` and `watcher run` are SIGKILLed
(only them, as cron's ``timeout -s KILL`` or the OOM killer would) at random moments of a pass
over slow local feeds, many times, and a few seconds later no process of that run is left: no
parse worker, no forkserver, no resource tracker.

Every process of a run is found by a mark in its environment, which all of them inherit. Half
the kills land just after the parse pool starts to come up (the resource tracker, then the
forkserver, then a worker: the moments a kill used to leave all three running, re-parented to
PID 1), a quarter while a document takes long to parse, a quarter anywhere in the first six
seconds. Set WATCHER_CRASH_SEED to replay a run's kill points.

The last test kills watcher while a worker is deep in C code that never lets go of the GIL (a
regex backtracking for ages): the worker's own watch on its parent cannot run, only the
kernel's death signal ends it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from conftest import LOOPBACK_ENV, ROOT, crash_rng, write_story_rules
from servers import FeedServer, rss, slow_to_parse

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds processes through /proc")]

MARK = "WATCHER_TEST_RUN"     # in the environment of every process a run starts
GONE_WITHIN = 10.0            # seconds after the kill by which every process of the run has ended
ENOUGH_LEAKS = 2              # stop killing once this many runs have left processes behind
COMMANDS = {"check": ("check",), "run": ("run", "--parse-workers", "2", "--http", "off")}
KILLS = {"check": 12, "run": 8}
MOMENTS = ("pool starting", "long parse", "pool starting", "anywhere")   # taken in turn


def _processes_of(run: str) -> dict[int, str]:
    """The live processes (zombies aside) carrying ``run``'s mark: pid -> command line."""
    mark = f"{MARK}={run}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:     # ended meanwhile, or another user's
            continue
        if state not in ("Z", "X"):
            found[int(entry.name)] = command.strip()[:160]
    return found


def _left_after(run: str, seconds: float) -> dict[int, str]:
    """What of ``run`` is still running ``seconds`` from now, or nothing as soon as all of it has ended."""
    deadline = time.monotonic() + seconds
    while (left := _processes_of(run)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def _serve(feed_server: FeedServer, rules: Path) -> None:
    """Five feeds answering after 0 to 1.2 s, and one whose document takes feedparser seconds."""
    urls = {}
    for n in range(5):
        items = [{"title": f"story {n}-{k}", "guid": f"{n}-{k}", "link": f"https://news.example/{n}/{k}"}
                 for k in range(20)]
        feed_server.set(f"/f{n}.xml", rss(items), delay=0.3 * n)
        urls[f"f{n}"] = feed_server.url(f"/f{n}.xml")
    feed_server.set("/heavy.xml", slow_to_parse(300_000))
    urls["heavy"] = feed_server.url("/heavy.xml")
    write_story_rules(rules, urls, "json://127.0.0.1:9/nowhere")


class Round:
    """One run of watcher, killed at a moment chosen by ``rng``; fresh state each time, so
    every run fetches and parses every feed."""

    def __init__(self, command: tuple[str, ...], env: dict[str, str], log: Path, feed_server: FeedServer):
        self.run = uuid.uuid4().hex
        self.feed_server = feed_server
        self.heavy_before = feed_server.count("/heavy.xml")
        with log.open("ab") as out:   # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen([sys.executable, "-m", "watcher", *command], cwd=ROOT, stdout=out,
                                            stderr=out, env={**os.environ, **env, MARK: self.run},
                                            start_new_session=True)

    def pool_starting(self) -> bool:
        return any("multiprocessing" in c for c in _processes_of(self.run).values())

    def kill_at(self, moment: str, rng: random.Random) -> dict[int, str]:
        """Wait for ``moment``, SIGKILL watcher alone, and return what ran beside it."""
        if moment == "pool starting":
            _until(self.pool_starting, 30)
            time.sleep(rng.uniform(0, 0.6))
        elif moment == "long parse":
            _until(lambda: self.feed_server.count("/heavy.xml") > self.heavy_before, 30)
            time.sleep(rng.uniform(0.1, 1.0))
        else:
            time.sleep(rng.uniform(0.05, 6.0))
        beside = {pid: c for pid, c in _processes_of(self.run).items() if pid != self.process.pid}
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        return beside


def _kill_all(pids: Iterable[int]) -> None:
    """Clean up after a failure: what a run left behind, found by its mark."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_killed_watcher_leaves_no_process_behind(tmp_path, feed_server, name):
    rng = crash_rng()
    rules = tmp_path / "rules"
    rules.mkdir()
    _serve(feed_server, rules)
    log = tmp_path / "watcher.log"
    leaks, with_pool = [], 0
    for n in range(KILLS[name]):
        moment = MOMENTS[n % len(MOMENTS)]
        env = {"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / f"{n}.db"), "PYTHONUNBUFFERED": "1",
               **LOOPBACK_ENV}
        round_ = Round(COMMANDS[name], env, log, feed_server)
        try:
            beside = round_.kill_at(moment, rng)
            killed = time.monotonic()
            left = _left_after(round_.run, GONE_WITHIN)
            took = time.monotonic() - killed
        finally:
            _kill_all(_processes_of(round_.run))     # whatever happens, nothing of the run outlives the test
        with_pool += bool(beside)
        print(f"kill {n} ({moment}): {len(beside)} processes beside watcher; "
              + (f"{len(left)} still running {GONE_WITHIN:g}s later" if left else f"all ended within {took:.2f}s"))
        if left:
            leaks.append(f"kill {n} ({moment}) left {sorted(left.values())}")
            if len(leaks) >= ENOUGH_LEAKS:
                break
    assert not leaks, "\n".join(leaks) + f"\nsee {log}"
    assert with_pool >= KILLS[name] // 2, f"only {with_pool} kills came while the parse pool ran"


STUCK = textwrap.dedent("""\
    import re, sys, time
    from watcher.parsepool import _new_worker
    # catastrophic backtracking: the regex engine runs for ages and never lets go of the GIL
    _new_worker().submit(re.match, r"(a+)+$", "a" * 64 + "b")
    print("parsing", flush=True)
    time.sleep(120)
""")


@pytest.mark.skipif(sys.platform != "linux", reason="elsewhere a worker stuck in C code ends with its parse")
def test_a_worker_stuck_in_a_parse_that_holds_the_gil_ends_with_watcher():
    """A worker's own watch on its parent needs the GIL; a parse stuck in C code holding it is
    ended by the kernel (the worker's death signal, once the forkserver ends with watcher)."""
    run = uuid.uuid4().hex
    process = subprocess.Popen([sys.executable, "-c", STUCK], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, MARK: run}, start_new_session=True)
    try:
        assert process.stdout.readline() == "parsing\n"
        assert _until(lambda: len(_processes_of(run)) >= 4, 30), _processes_of(run)  # tracker, forkserver, worker
        time.sleep(0.5)                      # the worker is inside the regex
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
    left = _left_after(run, GONE_WITHIN)
    _kill_all(left)
    assert not left
