"""Micro-benchmark of the rule engine alone: items/s with 20, 200 and 2,000 rules.

Items come from the farm's generator (the same text as the feeds, turned into ``Item`` the
way the parser does), rules from ``rulesgen`` plus the bundled facts. Each figure is the time
for ``match_items`` over the item rules plus ``observe`` over the fact signals, for every item:
once as the plain loop over every matcher, once with the rule set's index. The plain loop is
timed on a stride sample (its cost per item does not depend on which items), and the two
must give identical matches and observations on that sample.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

from watcher.facts import observe
from watcher.identity import canonical_url, content_hash, html_to_text
from watcher.match import match_items
from watcher.models import Item, StoredItem
from watcher.ruleset import load_rules

from . import farm, rulesgen

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class MicroResult:
    rules: int
    matchers: int
    items: int
    plain_items_per_s: float
    indexed_items_per_s: float
    indexed_runs: list[float]
    sample: int
    identical: bool
    match_share: float       # items with at least one match or observation

    @property
    def speedup(self) -> float:
        return self.indexed_items_per_s / self.plain_items_per_s


def farm_items(feeds: int) -> list[StoredItem]:
    """The items of ``feeds`` farm feeds, as the parser would hand them on."""
    found = []
    for feed in range(1, feeds + 1):
        for serial in range(farm.ITEMS, 0, -1):
            e = farm._entry(random.Random(farm.SEED * 7_919 + feed * 100_003 + serial), feed, serial)
            title, summary = html_to_text(e.title), html_to_text(e.summary_html)
            item = Item(key=e.guid, title=title, link=canonical_url(e.link), summary=summary, author=e.author,
                        categories=e.categories, guid=e.guid, published_at=e.when,
                        content_hash=content_hash(title, summary, ""))
            found.append(StoredItem(len(found) + 1, f"f{feed:05d}", item, NOW))
    return found


def _evaluate(ruleset, items, indexed: bool):  # type: ignore[no-untyped-def]
    """Matches and observations, one feed's items at a time, as a poll hands them on."""
    index = ruleset.index if indexed else None
    matches, observations = [], []
    for start in range(0, len(items), farm.ITEMS):
        batch = items[start:start + farm.ITEMS]
        matches += match_items(ruleset.item_rules, batch, index)
        observations += observe(ruleset.facts, batch, index)
    return matches, observations


def _timed(ruleset, items, indexed: bool) -> tuple[float, tuple]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = _evaluate(ruleset, items, indexed)
    return time.perf_counter() - started, result


def run_one(rule_count: int, items: list[StoredItem], *, reps: int, plain_budget: float) -> MicroResult:
    with tempfile.TemporaryDirectory() as tmp:
        folder = rulesgen.write(Path(tmp) / "rules", feeds=1, base_url="http://127.0.0.1:9/v", rules=rule_count)
        ruleset = load_rules(folder)
    matchers = len(ruleset.item_rules) + sum(len(f.signals) for f in ruleset.facts.values())
    # the plain loop on a stride sample sized to fit the time budget (measured on a first slice)
    probe = items[:: max(1, len(items) // 50)][:50]
    per_item = _timed(ruleset, probe, False)[0] / len(probe)
    size = max(50, min(len(items), int(plain_budget / max(per_item, 1e-9))))
    sample = items[:: max(1, len(items) // size)][:size]
    plain_time, plain = _timed(ruleset, sample, False)
    indexed_sample = _evaluate(ruleset, sample, True)
    runs = [len(items) / _timed(ruleset, items, True)[0] for _ in range(reps)]
    matched = {m.item.id for m in plain[0]} | {o.item.id for o in plain[1]}
    return MicroResult(rule_count, matchers, len(items), len(sample) / plain_time, statistics.median(runs), runs,
                       len(sample), indexed_sample == plain, len(matched) / len(sample))


def run(rule_counts: tuple[int, ...], feeds: int, *, reps: int, plain_budget: float,
        log=print) -> list[MicroResult]:  # type: ignore[no-untyped-def]
    items = farm_items(feeds)
    results = []
    for count in rule_counts:
        result = run_one(count, items, reps=reps, plain_budget=plain_budget)
        log(f"micro: {count} rules ({result.matchers} matchers): plain {result.plain_items_per_s:,.0f} items/s, "
            f"indexed {result.indexed_items_per_s:,.0f} items/s ({result.speedup:,.0f}x), "
            f"identical={result.identical}, {result.match_share:.0%} of items match")
        results.append(result)
    return results


def main() -> None:
    """``python -m bench.micro [--feeds N] [--reps N] [--rules 20,200,2000]``: the rule engine alone."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__)
    parser.add_argument("--feeds", type=int, default=1000, help="farm feeds whose items are matched (50 each)")
    parser.add_argument("--reps", type=int, default=3, help="timed runs of the indexed loop (the median is shown)")
    parser.add_argument("--rules", default="20,200,2000", help="comma-separated rule counts")
    parser.add_argument("--plain-budget", type=float, default=20.0, help="seconds for the plain loop's sample")
    args = parser.parse_args()
    run(tuple(int(n) for n in args.rules.split(",")), args.feeds, reps=args.reps, plain_budget=args.plain_budget)


if __name__ == "__main__":
    main()
