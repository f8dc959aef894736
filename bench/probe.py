"""Measuring a command: wall and CPU seconds, peak RSS, of the whole process tree.

``python -m bench.probe OUT.json -- CMD ...`` runs CMD and writes what it cost. The probe makes
itself a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``), so processes that CMD's children
leave behind (multiprocessing's forkserver and its workers) are re-parented to the probe and
reaped by it: their CPU time is counted too, which ``/usr/bin/time`` would miss. Peak RSS is
reported two ways: the largest single process (``ru_maxrss``) and the largest sum over the
tree, sampled every 50 ms from ``/proc``.

``tree_cpu(pid)`` and ``tree_rss(pid)`` read a running tree (for the daemon scenarios).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, user+system CPU seconds, RSS bytes) of one process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): ppid = 4, utime = 14, stime = 15, rss = 24
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK, int(fields[21]) * PAGE


def tree(root: int) -> dict[int, tuple[int, float, int]]:
    """Every live process in the tree under ``root`` (root included), with its ``_stat``."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                stats[int(entry)] = found
    members, frontier = {}, [root]
    while frontier:
        pid = frontier.pop()
        if pid in stats and pid not in members:
            members[pid] = stats[pid]
            frontier += [child for child, (ppid, _, _) in stats.items() if ppid == pid]
    return members


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by the live processes of the tree (not those already gone)."""
    return sum(cpu for _, cpu, _ in tree(root).values())


def tree_rss(root: int) -> int:
    return sum(rss for _, _, rss in tree(root).values())


def measure(command: list[str], *, timeout: float, stdout: Path, stderr: Path,
            env: dict[str, str] | None = None) -> dict:
    """Run ``command`` to completion (killed after ``timeout`` s); what it cost."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = [0]
    started = time.perf_counter()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, start_new_session=True)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                peak[0] = max(peak[0], tree_rss(os.getpid()) - _own_rss())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        wall = time.perf_counter() - started
        leftovers = _reap(deadline=time.monotonic() + 30)
        done.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": wall, "user": after.ru_utime - before.ru_utime, "sys": after.ru_stime - before.ru_stime,
            "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
            "max_rss_mb": after.ru_maxrss / 1024, "tree_rss_mb": peak[0] / 2**20, "rc": code,
            "killed_leftovers": leftovers, "timed_out": wall >= timeout}


def _own_rss() -> int:
    found = _stat(os.getpid())
    return found[2] if found else 0


def _reap(deadline: float) -> int:
    """Wait for every re-parented descendant; kill those still running at ``deadline``."""
    killed = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return killed
        if pid == 0:
            if time.monotonic() > deadline:
                for child in tree(os.getpid()):
                    if child != os.getpid():
                        os.kill(child, signal.SIGKILL)
                        killed += 1
                deadline = float("inf")
            time.sleep(0.02)


def main() -> None:
    out, sep, *command = sys.argv[1:]
    assert sep == "--" and command, "usage: python -m bench.probe OUT.json -- CMD ..."
    timeout = float(os.environ.get("BENCH_PROBE_TIMEOUT", "3600"))
    result = measure(command, timeout=timeout, stdout=Path(out).with_suffix(".out"),
                     stderr=Path(out).with_suffix(".err"))
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
