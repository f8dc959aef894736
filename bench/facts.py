"""What reading facts costs: matching with guards and sentence scope, hostile text, the fact step.

    .venv/bin/python -m bench.facts [--items 5000] [--reps 5]

Prints per-item and per-poll figures (medians of ``--reps`` runs) and the ratios that matter:
guarded, sentence-scoped signals against the same signals without guards or scope, and the
worst hostile text against ordinary news. Everything is generated (seeded), in memory; nothing
is read from outside the repository.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, UTC
from pathlib import Path

from watcher.facts import observe, weigh
from watcher.match import match_items
from watcher.models import FactState, Item, Observation, ObservationState, StoredItem
from watcher.pipeline import _update_facts
from watcher.ruleset import load_rules
from watcher.store import feeds, items, ledger, open_database

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2024, 4, 20, tzinfo=UTC)
_COMMON = ("the of and to in a is that for on said with was as by at from his her it an were are which this be "
           "has have had not but what all when can there been if more one will would who their so up out about "
           "officials government minister week city region forces military support funding vote bill")
WORDS = _COMMON.split(" ")
HOT = ["Senate passes $95 billion aid package for Ukraine, Israel and Taiwan.",
       "Will the Senate pass the Ukraine aid this week?",
       "The House has not passed the Ukraine aid package.",
       "Congress must pass the Ukraine aid, Zelensky says.",
       "The bill includes $61 billion in aid for Ukraine.",
       "Pentagon says existing funds for Ukraine have run out.",
       "Ukraine and the US sign a weapons co-production agreement."]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 22))
    return " ".join(words).capitalize() + "."


def _items(n: int, seed: int = 7, hot_share: float = 0.05) -> list[StoredItem]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        title = " ".join(rng.choices(WORDS, k=rng.randint(6, 12))).capitalize()
        body = [_sentence(rng) for _ in range(rng.randint(3, 8))]
        if rng.random() < hot_share:
            hot = rng.choice(HOT)
            title = hot.rstrip(".")
            body.insert(rng.randint(0, len(body)), hot)
        item = Item(key=f"k{i}", title=title, link=f"https://n.example/{i}", summary=" ".join(body),
                    content_hash=f"h{i}", story=f"s{i}", published_at=T0)
        out.append(StoredItem(i + 1, f"feed{i % 20}", item, T0 + timedelta(seconds=i)))
    return out


def _hostile(n: int) -> list[StoredItem]:
    """Fields of the longest length read, built to make backtracking patterns work hard."""
    texts = ["a" * 20_000, ("Ukraine aid " * 1700)[:20_000], ("senate, " * 2500)[:20_000],
             ("$61 " * 5000)[:20_000], ("Senate passes Ukraine aid? " * 800)[:20_000]]
    return [StoredItem(i + 1, "feed0", Item(key=f"x{i}", title=texts[i % len(texts)][:300], link=None,
                                            summary=texts[i % len(texts)], content_hash=f"x{i}"), T0)
            for i in range(n)]


def _time(fn, reps: int) -> float:
    runs = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _unguarded(ruleset):
    facts = {}
    for name, fact in ruleset.facts.items():
        signals = tuple(replace(s, matcher=replace(s.matcher, guards=frozenset(), within="field"))
                        for s in fact.signals)
        facts[name] = replace(fact, signals=signals)
    return facts


def _fact_step(ruleset, stored: list[StoredItem], polls: int) -> float:
    """Median seconds of one poll's fact step (observe, weigh, store) on a file database."""
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder) / "bench.db")
        feeds.sync_feeds(db, {f"feed{i}": f"https://f{i}.example/rss" for i in range(20)}, T0)
        ledger.sync_known(db, {f.name: f.known for f in ruleset.facts.values()}, T0, ruleset.digest)
        per_poll = max(1, len(stored) // polls)
        runs = []
        for p in range(polls):
            batch = stored[p * per_poll:(p + 1) * per_poll]
            now = T0 + timedelta(minutes=p)
            with db.atomic():
                new, _ = items.record_items(db, batch[0].feed, [s.item for s in batch], now, backlog=False)
                started = time.perf_counter()
                _update_facts(db, ruleset, new, now)
                runs.append(time.perf_counter() - started)
        db.conn.close()
    return statistics.median(runs)


def _crowded_weigh(ruleset, reports: int, reps: int) -> float:
    """Median seconds of weighing one fact whose window holds ``reports`` reports of its three
    values from seven feeds (restatements of the current value among them): the fact step's worst
    case, a story every outlet is covering at once."""
    fact = ruleset.facts["us-ukraine-funds"]
    values = [fact.known, *(v for v in fact.values or () if v != fact.known)][:3]
    live = []
    for i in range(reports):
        value = values[i % len(values)]
        item = Item(key=f"k{i}", title=f"report {i}", link=None, summary="", content_hash=f"h{i}", story=f"s{i}",
                    published_at=T0 + timedelta(minutes=i))
        state = ObservationState.CONFIRMED if value == fact.known else ObservationState.PENDING
        live.append(Observation(fact.name, value, StoredItem(i, f"feed{i % 7}", item, T0 + timedelta(minutes=i)),
                                (), 0, id=i + 1, state=state))
    known = FactState(fact.name, fact.known, T0 - timedelta(days=1), "rules")
    return _time(lambda: weigh(fact, known, live, [], T0 + timedelta(hours=3)), reps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    ruleset = load_rules(ROOT / "rules", channels=False)
    news = _items(args.items)
    hot = _items(max(100, args.items // 10), seed=8, hot_share=1.0)
    hostile = _hostile(50)
    plain = _unguarded(ruleset)
    signals = sum(len(f.signals) for f in ruleset.facts.values())

    guarded = _time(lambda: observe(ruleset.facts, news), args.reps) / len(news)
    bare = _time(lambda: observe(plain, news), args.reps) / len(news)
    rules = _time(lambda: match_items(ruleset.item_rules, news), args.reps) / len(news)
    hot_guarded = _time(lambda: observe(ruleset.facts, hot), args.reps) / len(hot)
    hot_bare = _time(lambda: observe(plain, hot), args.reps) / len(hot)
    worst = _time(lambda: observe(ruleset.facts, hostile), max(1, args.reps // 2)) / len(hostile)
    step = _fact_step(ruleset, news, polls=50)
    crowded = _crowded_weigh(ruleset, 60, args.reps)

    print(f"bundled rules: {signals} fact signals, {len(ruleset.item_rules)} item rules; {len(news)} generated "
          f"items (5% carry a report, a question, a denial, an argument...), median of {args.reps}")
    print(f"  signals, guarded + sentence scope : {guarded * 1e6:8.1f} us/item")
    print(f"  signals, no guards, field scope   : {bare * 1e6:8.1f} us/item   (guards cost x{guarded / bare:.2f})")
    print(f"  signals on items that all carry one: {hot_guarded * 1e6:8.1f} us/item guarded, "
          f"{hot_bare * 1e6:.1f} bare (x{hot_guarded / hot_bare:.2f})")
    print(f"  item rules                        : {rules * 1e6:8.1f} us/item")
    print(f"  signals on hostile 20,000-char text: {worst * 1e3:8.2f} ms/item  (x{worst / guarded:.0f} ordinary news)")
    print(f"  fact step per poll of {len(news) // 50} items   : {step * 1e3:8.2f} ms (observe, weigh, store)")
    print(f"  weigh one fact, 60 reports in window: {crowded * 1e3:8.2f} ms (three values, seven feeds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
