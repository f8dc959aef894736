"""The fact engine with an explicit `now`: no clock, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

from watcher.facts import decide, diff_facts, observe
from watcher.models import FactState, Item, StoredItem
from watcher.ruleset import load_rules

NOW = datetime(2024, 4, 24, 12, 0, tzinfo=UTC)

RULES = """\
facts:
  aid:
    describe: aid package
    values: [stalled, blocked, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {all: [senate, aid], any: [passes], none: [will, "\\\\?"], scope: [title]}
      - value: passed-house
        match: {all: [house, aid], any: [passes], none: [will, "\\\\?"], scope: [title]}
      - value: signed
        match: {all: [aid], any: [signs, signed], none: [will, "\\\\?"], scope: [title]}
  funds:
    describe: existing funds
    values: [available, depleted, replenished]
    known: available
    signals:
      - value: depleted
        match: {all: [funds], any: [depleted, "run out"]}
      - value: replenished
        match: {all: [funds], any: [replenished]}
"""


def _rules(tmp_path):
    (tmp_path / "r.yaml").write_text(RULES)
    return load_rules(tmp_path, environ={})


def stored(n: int, title: str, minutes: int = 0, feed: str = "wire") -> StoredItem:
    when = NOW - timedelta(hours=1) + timedelta(minutes=minutes)
    return StoredItem(n, feed, Item(key=f"k{n}", title=title, link=f"https://x.example/{n}", summary="",
                                    published_at=when), when)


def state(name: str, value: str) -> FactState:
    return FactState(name, value, NOW - timedelta(days=30), "rules")


def test_questions_and_predictions_do_not_move_a_fact(tmp_path):
    rules = _rules(tmp_path)
    items = [stored(1, "Will the Senate passes aid?"), stored(2, "Senate will pass aid, leaders say")]
    assert diff_facts(rules.facts, {"aid": state("aid", "stalled")}, items, NOW) == []


def test_a_later_stage_moves_and_names_its_evidence(tmp_path):
    rules = _rules(tmp_path)
    items = [stored(1, "Senate passes aid bill")]
    (change,) = diff_facts(rules.facts, {"aid": state("aid", "stalled")}, items, NOW, "r1")
    assert (change.old, change.new, change.cause, change.rules_hash) == ("stalled", "passed-senate", "signal", "r1")
    assert change.evidence[0].title == "Senate passes aid bill"
    assert change.evidence[0].quote == "Senate … aid … passes"


def test_an_earlier_stage_is_old_news(tmp_path):
    rules = _rules(tmp_path)
    assert diff_facts(rules.facts, {"aid": state("aid", "passed-house")}, [stored(1, "Senate passes aid")], NOW) == []


def test_skipped_stages_and_the_furthest_stage_wins(tmp_path):
    rules = _rules(tmp_path)
    items = [stored(1, "Senate passes aid"), stored(2, "Biden signs aid into law"), stored(3, "House passes aid")]
    (change,) = diff_facts(rules.facts, {"aid": state("aid", "stalled")}, items, NOW)
    assert change.new == "signed" and [e.item_id for e in change.evidence] == [2]


def test_unordered_fact_takes_the_latest_claim(tmp_path):
    rules = _rules(tmp_path)
    items = [stored(1, "Ukraine funds replenished", minutes=10), stored(2, "Ukraine funds depleted", minutes=5)]
    (change,) = diff_facts(rules.facts, {"funds": state("funds", "available")}, items, NOW)
    assert change.new == "replenished"


def test_confirmation_of_the_current_value_is_not_a_change(tmp_path):
    rules = _rules(tmp_path)
    observations = observe(rules.facts, [stored(1, "Ukraine funds depleted")])
    assert len(observations) == 1
    assert decide(rules.facts["funds"], state("funds", "depleted"), observations, NOW) is None
