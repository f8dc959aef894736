"""`python -m bench` (what `make bench` runs): the whole benchmark, written to bench/RESULTS.md.

    make bench                       # full: 100 / 1,000 / 5,000 feeds, 30-60 minutes
    make bench BENCH_ARGS=--quick    # 100 feeds only, a few minutes: checks the harness

Everything it needs is installed on the way: nginx (Debian's nginx-light, when root) and
urlwatch 2.29 in its own virtual environment under bench/.work/, where the farm, the rule
folders, the states and every run's output are kept too.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import asdict
from datetime import datetime, UTC
from pathlib import Path

from . import daemon, farm, micro, nginx, passes, peers, report

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"

FULL = {"sizes": [100, 1000, 5000], "reps": [5, 3, 1], "interval": 30.0, "intervals": 3, "probes": 3,
        "idle": 30.0, "micro_feeds": 1000, "micro_reps": 3, "plain_budget": 20.0, "timeout": 3600.0,
        "out": HERE / "RESULTS.md"}
QUICK = {"sizes": [100], "reps": [2], "interval": 15.0, "intervals": 2, "probes": 2, "idle": 10.0,
         "micro_feeds": 100, "micro_reps": 2, "plain_budget": 2.0, "timeout": 600.0,
         "out": WORK / "RESULTS-quick.md"}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 feeds, fewer repetitions (checks the harness)")
    parser.add_argument("--sizes", help="comma-separated farm sizes, e.g. 100,1000")
    parser.add_argument("--reps", help="comma-separated repetitions per size, e.g. 5,3")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: passes,daemon,micro")
    parser.add_argument("--out", type=Path, help="where to write the results (markdown)")
    return parser.parse_args()


def main() -> None:
    args = _args()
    cfg = dict(QUICK if args.quick else FULL)
    if args.sizes:
        cfg["sizes"] = [int(x) for x in args.sizes.split(",")]
        cfg["reps"] = [int(x) for x in args.reps.split(",")] if args.reps else cfg["reps"][:1] * len(cfg["sizes"])
    if args.out:
        cfg["out"] = args.out
    skip = set(filter(None, args.skip.split(",")))
    command = "make bench" + (f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else "")
    started, load0 = datetime.now(UTC), os.getloadavg()
    log = _logger(WORK / "bench.log")
    log(f"bench: {command}; sizes {cfg['sizes']}, reps {cfg['reps']}")

    binary = nginx.ensure_installed()
    urlwatch = peers.ensure_installed(WORK)
    runs: list[passes.Run] = []
    daemons: list[daemon.DaemonResult] = []
    for n, reps in zip(cfg["sizes"], cfg["reps"], strict=True):
        t0 = time.monotonic()
        folder = farm.build(WORK / "farm" / f"n{n}", n)
        log(f"farm n={n}: {time.monotonic() - t0:.1f}s")
        with nginx.Nginx(binary, folder, WORK / "nginx") as server:
            bench = passes.PassBench(WORK, n, server.base, urlwatch, timeout=cfg["timeout"])
            if "passes" not in skip:
                for rep in range(1, reps + 1):
                    runs += bench.repetition(rep, log)
            if "daemon" not in skip and bench.db.exists():
                daemons.append(daemon.run(WORK, n, server.base, bench.db, interval=cfg["interval"],
                                          intervals=cfg["intervals"], probes=cfg["probes"], idle_window=cfg["idle"],
                                          log=log))
    micros = [] if "micro" in skip else micro.run((20, 200, 2000), cfg["micro_feeds"], reps=cfg["micro_reps"],
                                                  plain_budget=cfg["plain_budget"], log=log)
    raw = {"command": command, "started": started.isoformat(), "runs": passes.as_dicts(runs),
           "daemon": [asdict(d) for d in daemons], "micro": [asdict(m) for m in micros]}
    (WORK / "results.json").write_text(json.dumps(raw, indent=1))
    text = _markdown(cfg, command, started, load0, runs, daemons, micros)
    Path(cfg["out"]).write_text(text)
    log(f"wrote {cfg['out']} ({(datetime.now(UTC) - started).total_seconds() / 60:.1f} min)")


def _logger(path: Path):  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    sink = path.open("a")

    def log(line: str) -> None:
        stamped = f"{datetime.now(UTC):%H:%M:%S} {line}"
        print(stamped, flush=True)
        sink.write(stamped + "\n")
        sink.flush()
    return log


def _markdown(cfg: dict, command: str, started: datetime, load0: tuple, runs: list, daemons: list,
              micros: list) -> str:
    summary = report.summarise(runs)
    load1 = os.getloadavg()
    problems = sorted({f"{r.tool} {r.scenario} n={r.feeds}: {r.problem}" for r in runs if r.problem})
    reps = ", ".join(f"{n:,} feeds: {r}" for n, r in zip(cfg["sizes"], cfg["reps"], strict=True))
    out = ["# Benchmark results", "",
           f"Produced by `{command}` on {started:%Y-%m-%d %H:%M} UTC, in "
           f"{(datetime.now(UTC) - started).total_seconds() / 60:.0f} minutes.", "",
           f"- **Machine**: {report.machine()}.",
           f"- **Load average** (1/5/15 min) at the start {load0[0]:.1f}/{load0[1]:.1f}/{load0[2]:.1f}, "
           f"at the end {load1[0]:.1f}/{load1[1]:.1f}/{load1[2]:.1f}: the machine is shared, so figures are "
           "medians and the comparison is the ratio measured in the same run.",
           f"- **Repetitions** of every pass (each figure is the median): {reps}. The daemon scenarios run "
           f"once per size over {cfg['intervals']} measured intervals of {cfg['interval']:g} s.",
           f"- **Peer**: urlwatch {peers.VERSION} (own virtual environment, one `url` job per feed, stdout reporter).",
           f"- **Farm**: N feeds x {farm.ITEMS} items from `bench/farm.py` (seed {farm.SEED}), served by nginx on "
           "127.0.0.1; 200 item rules and 3 facts with 9 signals from `bench/rulesgen.py`.",
           "- **What a figure is**: wall = elapsed time of the command; CPU = user + system seconds of its whole "
           "process tree (parse workers included); peak RSS = the largest process / the whole tree sampled "
           "every 50 ms; items/s = new items handled / wall.", ""]
    if problems:
        out += ["**Unexpected outcomes** (figures kept, flagged):", ""] + [f"- {p}" for p in problems] + [""]
    out += ["## Targets", ""] + report.targets(summary, daemons, micros) + [""]
    if runs:
        out += ["## Passes: `watcher check` and urlwatch on the same farm (scenarios 1-4)", "",
                "A ratio below 1 means watcher took less time than urlwatch.", ""]
        out += report._pass_table(summary, cfg["sizes"]) + [""]
        alerts = {n: summary[(n, "cold", "watcher")]["outcome"] for n in cfg["sizes"]
                  if (n, "cold", "watcher") in summary}
        out += ["Alerts in the cold pass (every item matched against 200 rules; `watcher check` delivers at most "
                "10,000 per channel per run (20 batches of 500), the harness marks the rest delivered before the "
                "next scenario): " +
                "; ".join(f"{n:,} feeds: {o.get('queued', 0):,} queued, {o.get('sent', 0):,} sent"
                          for n, o in alerts.items()) + ".", ""]
    if daemons:
        out += ["## The daemon: steady state, alert latency, idle (scenarios 5-6)", ""]
        out += report._daemon_table(daemons) + [""]
    if micros:
        out += ["## The rule engine alone", ""]
        out += report._micro_table(micros) + [""]
    out += ["Raw figures of every run: `bench/.work/results.json`; each run's output: `bench/.work/n*/runs/`.", ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
