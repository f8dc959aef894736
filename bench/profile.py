"""`python -m bench.profile [N] [--at COMMIT]` (`make bench-profile`): where a cold pass spends its time.

Runs one cold `watcher check` over an N-feed farm (default 1,000) under py-spy, sampling the
main process and its parse workers (``--subprocesses``), then sums the samples by the stage of
the pipeline they fall in and by function. Output: ``bench/.work/profile-N[-COMMIT].txt`` (the
summary) and ``.raw`` (py-spy's collapsed stacks, for a flame graph). ``--at COMMIT`` profiles
the watcher package of an earlier commit (exported with ``git archive``) in the same
environment, to compare before and after a change. ``bench/PROFILE.md`` is the written-up
reading of such runs.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import farm, nginx, rulesgen
from .passes import WATCHER, drain_outbox

# an older checkout has no --allow-addresses: the environment variable is read by the new ones only
LOOPBACK_ENV = {"WATCHER_ALLOW_ADDRESSES": "127.0.0.0/8"}

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
# the first frame (innermost last) that names one of these decides a sample's stage
STAGES = [("feedparser", "parse: feedparser"), ("watcher/parse.py", "parse: watcher/parse.py"),
          ("matchindex", "match: index"), ("watcher/match.py", "match: matchers"),
          ("watcher/facts.py", "facts"), ("watcher/alerts.py", "alerts"), ("watcher/templates.py", "alerts"),
          ("jinja2", "alerts"), ("watcher/store", "store (SQLite)"), ("sqlite_utils", "store (SQLite)"),
          ("watcher/deliver.py", "delivery"), ("watcher/dispatch.py", "delivery"), ("apprise", "delivery"),
          ("httpx", "fetch (httpx)"), ("httpcore", "fetch (httpx)"), ("watcher/fetch.py", "fetch (httpx)"),
          ("multiprocessing", "process pool (pickling, queues)"), ("concurrent/futures", "process pool"),
          ("asyncio", "event loop"), ("watcher/ruleset", "rule loading"), ("pydantic", "rule loading"),
          ("ruamel", "rule loading")]


def stage(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for needle, name in STAGES:
            if needle in frame:
                return name
    return "other (start-up, imports, idle)"


def summarise(raw: Path, top: int = 25) -> str:
    by_stage: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        by_stage[stage(stack)] += samples
        by_function[stack.split(";")[-1].strip()] += samples
    lines = [f"{total} samples (main process and parse workers)", "", "by stage:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_stage.most_common()]
    lines += ["", f"top {top} functions (self time):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_function.most_common(top)]
    return "\n".join(lines) + "\n"


def _watcher(commit: str | None) -> tuple[list[str], dict[str, str]]:
    """The command that runs watcher: this checkout's, or an earlier commit's package."""
    if commit is None:
        return [str(WATCHER)], {**os.environ, **LOOPBACK_ENV}
    source = WORK / f"source-{commit}"
    if not (source / "watcher").exists():
        source.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", commit, "watcher"], cwd=HERE.parent, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    # -S: no site hooks, so the editable install's import finder cannot pick this checkout's package
    packages = next(p for p in sys.path if p.endswith("site-packages"))
    return [sys.executable, "-S", "-m", "watcher"], {**os.environ, **LOOPBACK_ENV,
                                                      "PYTHONPATH": f"{source}{os.pathsep}{packages}"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("feeds", nargs="?", type=int, default=1000)
    parser.add_argument("--at", help="profile the watcher package of this commit instead")
    args = parser.parse_args()
    n, spy = args.feeds, Path(sys.executable).parent / "py-spy"
    name = f"profile-{n}" + (f"-{args.at}" if args.at else "")
    folder = farm.build(WORK / "farm" / f"n{n}", n)
    out = WORK / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command, env = _watcher(args.at)
    with nginx.Nginx(nginx.ensure_installed(), folder, WORK / "nginx-profile") as server:
        rules = rulesgen.write(out / "rules", feeds=n, base_url=f"{server.base}/v")
        raw = WORK / f"{name}.raw"
        subprocess.run([str(spy), "record", "--subprocesses", "--rate", "50", "--format", "raw", "--output", str(raw),
                        "--", *command, "--rules", str(rules), "--db", str(out / "watcher.db"), "check"],
                       check=True, stdout=subprocess.DEVNULL, stderr=(out / "check.log").open("wb"), env=env,
                       cwd=out)  # not the checkout: `-m` puts the working directory first on the path
    drain_outbox(out / "watcher.db")
    text = summarise(raw)
    (WORK / f"{name}.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
