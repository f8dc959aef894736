"""A ledger to drive the fact engine in tests: real rules, a real SQLite database (in memory),
the pipeline's own fact step, and an explicit ``now`` for every poll."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, UTC
from pathlib import Path

from watcher.identity import content_hash, story_key
from watcher.models import Item
from watcher.pipeline import FactStep, _update_facts
from watcher.ruleset import load_rules
from watcher.store import feeds, items, ledger, observations, open_database

T0 = datetime(2024, 4, 20, 12, 0, tzinfo=UTC)

# the bridge story's fact (under `facts:`): a 30-hour-old "remains closed", then "reopens"
BRIDGE_FACT = """\
  bridge:
    describe: the river bridge
    values: [open, closed]
    known: closed
    signals:
      - value: closed
        match: {all: [bridge], any: ["remains closed", closes], scope: [title], within: sentence}
      - value: open
        match: {all: [bridge], any: [reopens, reopened], scope: [title], within: sentence}
"""


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


class Ledger:
    def __init__(self, folder: Path, rules: str, feed_names: tuple[str, ...] = ("ap", "reuters", "npr", "bbc")):
        folder.mkdir(exist_ok=True)
        (folder / "rules.yaml").write_text(textwrap.dedent(rules))
        self.rules = load_rules(folder, environ={})
        self.db = open_database(":memory:")
        feeds.sync_feeds(self.db, {name: f"https://{name}.example/rss" for name in feed_names}, T0)
        ledger.sync_known(self.db, {f.name: f.known for f in self.rules.facts.values()}, T0, self.rules.digest)
        self._n = 0

    def poll(self, feed: str, title: str, at: datetime, summary: str = "", link: str | None = None) -> FactStep:
        """One poll of ``feed`` bringing one new item."""
        self._n += 1
        link = link or f"https://{feed}.example/{self._n}"
        item = Item(key=f"k{self._n}", title=title, link=link, summary=summary,
                    content_hash=content_hash(title, summary, ""), story=story_key(link, title), published_at=at)
        new, _ = items.record_items(self.db, feed, [item], at, backlog=False)
        with self.db.atomic():
            return _update_facts(self.db, self.rules, new, at)

    def value(self, fact: str) -> str:
        return ledger.known_facts(self.db)[fact].value

    def moves(self, fact: str) -> list[tuple[str, str]]:
        """The fact's changes made by signals, oldest first: (old, new)."""
        return [(e.old or "", e.new) for e in reversed(ledger.fact_history(self.db, fact)) if e.cause == "signal"]

    def states(self, fact: str) -> list[tuple[str, str]]:
        """Every observation of the fact, oldest first: (value, state)."""
        return [(o.value, o.state) for o in reversed(observations.observation_rows(self.db, fact=fact))]

    def notices(self, fact: str, kind: str) -> list[observations.NoticeRow]:
        return observations.notice_rows(self.db, fact=fact, kinds=[kind])
