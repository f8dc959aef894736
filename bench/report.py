"""bench/RESULTS.md: the tables, the targets, the machine and the exact command."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .daemon import DaemonResult
from .micro import MicroResult
from .passes import SCENARIOS, Run

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 2**20
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, {platform.platform()}, "
            f"Python {platform.python_version()}, nginx {nginx}, watcher at commit {commit()}")


def commit() -> str:
    """The checked-out commit, short."""
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    return found.strip() or "?"


def _median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    mid = statistics.median(values)
    return f"±{(max(values) - min(values)) / 2 / mid:.0%}" if mid else "-"


def summarise(runs: list[Run]) -> dict[tuple[int, str, str], dict]:
    """Median figures per (size, scenario, tool)."""
    out: dict[tuple[int, str, str], dict] = {}
    for key in sorted({(r.feeds, r.scenario, r.tool) for r in runs}):
        group = [r for r in runs if (r.feeds, r.scenario, r.tool) == key]
        wall = _median(r.wall for r in group)
        out[key] = {"wall": wall, "cpu": _median(r.cpu for r in group),
                    "rss": max(r.max_rss_mb for r in group), "tree_rss": max(r.tree_rss_mb for r in group),
                    "feeds_s": key[0] / wall, "items_s": _median(r.items for r in group) / wall,
                    "reps": len(group), "spread": _spread([r.wall for r in group]),
                    "problems": sorted({r.problem for r in group if r.problem}),
                    "outcome": group[-1].outcome}
    return out


def _pass_table(summary: dict, sizes: list[int]) -> list[str]:
    lines = ["| feeds | scenario | tool | wall s | CPU s | peak RSS MB (process / tree) | feeds/s | items/s "
             "| wall: watcher / urlwatch | CPU: watcher / urlwatch | reps | wall spread |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        for scenario in SCENARIOS:
            mine, peer = summary.get((n, scenario, "watcher")), summary.get((n, scenario, "urlwatch"))
            for tool, row in (("watcher", mine), ("urlwatch", peer)):
                if row is None:
                    continue
                ratio = cpu_ratio = ""
                if tool == "watcher" and peer:
                    ratio = f"**{row['wall'] / peer['wall']:.2f}**"
                    cpu_ratio = f"{row['cpu'] / peer['cpu']:.2f}"
                items = f"{row['items_s']:,.0f}" if row["items_s"] else "-"
                lines.append(f"| {n:,} | {scenario} | {tool} | {row['wall']:.2f} | {row['cpu']:.2f} | "
                             f"{row['rss']:.0f} / {row['tree_rss']:.0f} | {row['feeds_s']:,.0f} | {items} | "
                             f"{ratio} | {cpu_ratio} | {row['reps']} | {row['spread']} |")
    return lines


def _daemon_table(results: list[DaemonResult]) -> list[str]:
    lines = ["| feeds | interval | polls measured | CPU ms / poll | CPU s per hour per 1,000 feeds (at this interval) "
             "| same, at the default 15 min | peak RSS MB (tree) | alert latency median / max s (probes) "
             "| idle CPU (share of one core) | polls while idle |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lat = (f"{statistics.median(r.latencies):.1f} / {max(r.latencies):.1f} ({len(r.latencies)}"
               f"{f', {r.missing} missing' if r.missing else ''})") if r.latencies else f"- ({r.missing} missing)"
        idle = r.idle_cpu_s / r.idle_window_s if r.idle_window_s else float("nan")
        lines.append(f"| {r.feeds:,} | {r.interval:g} s | {r.polls:,} | {r.cpu_per_poll_ms:.1f} | "
                     f"{r.cpu_per_hour_per_1000:,.0f} | {r.cpu_per_hour_per_1000_at_15m:,.1f} | {r.peak_rss_mb:.0f} | "
                     f"{lat} | {idle:.2%} ({r.idle_cpu_s:.2f} s in {r.idle_window_s:.0f} s) | {r.idle_polls} |")
    return lines


def _micro_table(results: list[MicroResult]) -> list[str]:
    lines = ["| item rules | matchers (rules + fact signals) | plain loop items/s | with the index items/s | speed-up "
             "| identical results | plain loop sample | index runs | items matching |",
             "|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.rules:,} | {r.matchers:,} | {r.plain_items_per_s:,.0f} | "
                     f"**{r.indexed_items_per_s:,.0f}** | {r.speedup:,.0f}x | "
                     f"{'yes' if r.identical else '**NO**'} | {r.sample:,} items | "
                     f"{len(r.indexed_runs)} x {r.items:,} items ({_spread(r.indexed_runs)}) | {r.match_share:.0%} |")
    return lines


def targets(summary: dict, daemon: list[DaemonResult], micro: list[MicroResult]) -> list[str]:
    lines = ["| target | measured | met? |", "|---|---|---|"]

    def ratio(n: int, scenario: str) -> float | None:
        mine, peer = summary.get((n, scenario, "watcher")), summary.get((n, scenario, "urlwatch"))
        return mine["wall"] / peer["wall"] if mine and peer else None

    cold = ratio(1000, "cold")
    if cold is not None:
        lines.append(f"| cold pass, 1,000 feeds: no slower than urlwatch | {cold:.2f}x urlwatch's wall time | "
                     f"{'yes' if cold <= 1 else f'no ({cold:.1f}x slower)'} |")
    warm = ratio(1000, "warm")
    if warm is not None:
        lines.append(f"| warm pass (all 304), 1,000 feeds: at most half of urlwatch's time | {warm:.2f}x | "
                     f"{'yes' if warm <= 0.5 else 'no'} |")
    at200 = next((m for m in micro if m.rules == 200), None)
    if at200 is not None:
        lines.append(f"| rule engine: >= 50,000 items/s at 200 rules, 150x the plain loop | "
                     f"{at200.indexed_items_per_s:,.0f} items/s, {at200.speedup:,.0f}x the plain loop measured in "
                     f"the same run | {'yes' if at200.indexed_items_per_s >= 50_000 else 'no'} (items/s); "
                     f"{'yes' if at200.speedup >= 150 else 'no'} (ratio) |")
    big = summary.get((5000, "cold", "watcher"))
    if big is not None:
        rss = max(big["rss"], big["tree_rss"])
        lines.append(f"| peak RSS at 5,000 feeds under 300 MB | {big['rss']:.0f} MB largest process, "
                     f"{big['tree_rss']:.0f} MB whole tree (cold pass) | {'yes' if rss < 300 else 'no'} |")
    for r in daemon:
        idle = r.idle_cpu_s / r.idle_window_s if r.idle_window_s else float("nan")
        lines.append(f"| idle CPU between polls near zero ({r.feeds:,} feeds) | {idle:.2%} of one core | "
                     f"{'yes' if idle < 0.01 else 'no'} |")
    return lines
