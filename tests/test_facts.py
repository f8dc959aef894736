"""The fact engine, table-driven, with an explicit `now` for every poll: the traps (questions,
denials, predictions, opinion, lone rumours, syndicated copies), corroboration, order,
regressions, contradictions, and the three kinds of fact."""

from __future__ import annotations

import pytest

from facts_harness import Ledger, hours
from watcher.store import ledger, observations
from watcher.facts import observe
from watcher.models import Item, StoredItem

AID = """\
settings:
  corroborate: {sources: 2, within: 24h}
feeds:
  ap: {url: "https://ap.example/rss"}
  reuters: {url: "https://reuters.example/rss"}
  npr: {url: "https://npr.example/rss", tags: [public]}
  bbc: {url: "https://bbc.example/rss", tags: [public]}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [requested, stalled, blocked, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {all: [senate, "ukraine|aid"], any: ["pass(es|ed)", "approve[sd]"], none: [house],
                scope: [title], within: sentence}
      - value: passed-house
        match: {all: [house, "ukraine|aid"], any: ["pass(es|ed)", "approve[sd]"], none: [senate],
                scope: [title], within: sentence}
      - value: signed
        match: {all: ["ukraine|aid"], any: ["signs?", "signed into law"], scope: [title], within: sentence}
      - value: blocked
        backwards: true
        match: {all: ["ukraine|aid"], any: ["blocks?", "blocked"], scope: [title], within: sentence}
  funds:
    describe: existing US funds for Ukraine
    values: [available, depleted, replenished]
    known: available
    signals:
      - value: depleted
        match: {all: [funds], any: [depleted, "ran out"], scope: [title]}
      - value: replenished
        match: {all: [funds], any: [replenished], scope: [title]}
"""

SENATE = "Senate passes Ukraine aid package"


@pytest.fixture
def aid(tmp_path):
    return Ledger(tmp_path / "rules", AID)


# -- the traps: text that asks, denies, predicts or argues moves nothing ------------------------

@pytest.mark.parametrize("title", [
    "Will the Senate pass the Ukraine aid?",                 # question
    "Does the Senate pass Ukraine aid this week",            # question without a question mark
    "The Senate has not passed the Ukraine aid package",     # negation
    "Senate fails to pass Ukraine aid",                      # negation
    "Senate won't pass Ukraine aid, leader says",            # negation (contraction)
    "Senate expected to pass Ukraine aid on Tuesday",        # prediction
    "Senate set to pass Ukraine aid",                        # prediction
    "Senate could pass Ukraine aid as soon as Friday",       # modal
    "Congress must pass the Ukraine aid",                    # modal (argument) - and no senate anyway
    "Senate must pass the Ukraine aid",                      # modal
    "Opinion: The Senate passes Ukraine aid, finally",       # opinion label
    "Zelensky urges Senate to pass Ukraine aid",             # advocacy
    "Senate passes bill on farm subsidies; Ukraine aid next",  # terms in different sentences
])
def test_trap_headlines_are_not_evidence(aid, title):
    step = aid.poll("ap", title, hours(0))
    step2 = aid.poll("reuters", title + " ", hours(1))
    assert (step.changes, step2.changes) == ({}, {})
    assert aid.states("aid") == [] and aid.value("aid") == "stalled"


@pytest.mark.parametrize("title", [
    "Senate passes Ukraine aid package",
    "U.S. Senate approves $95 billion Ukraine aid bill",
    "Senate passes Ukraine aid in May vote",                   # "May" the month is not "may" the modal
    "Senate passes Ukraine aid, sends it to the House",        # the House is in another clause
])
def test_reports_are_evidence(aid, title):
    aid.poll("ap", title.replace("sends it to the House", "sends it on"), hours(0))
    assert aid.states("aid") == [("passed-senate", "pending")]


# -- corroboration ---------------------------------------------------------------------------

def test_a_lone_report_waits_then_expires(aid):
    aid.poll("ap", SENATE, hours(0))
    assert aid.value("aid") == "stalled" and aid.states("aid") == [("passed-senate", "pending")]
    (pending,) = aid.notices("aid", "pending")
    assert pending.claims == (("passed-senate", 1),)
    aid.poll("npr", "Drones hit Kharkiv", hours(25))        # any later poll weighs what is pending
    assert aid.states("aid") == [("passed-senate", "expired")]
    aid.poll("reuters", "Senate approves Ukraine aid", hours(26))  # too late to corroborate the first
    assert aid.value("aid") == "stalled"
    assert aid.states("aid") == [("passed-senate", "expired"), ("passed-senate", "pending")]


def test_two_independent_sources_move_the_fact_with_provenance(aid):
    aid.poll("ap", SENATE, hours(0))
    step = aid.poll("reuters", "Senate approves Ukraine aid after months of delay", hours(3))
    (change,) = step.changes.values()
    assert (change.old, change.new, change.sources, change.direction) == ("stalled", "passed-senate", 2, "forward")
    assert [(e.feed, e.title) for e in change.evidence] == [
        ("ap", SENATE), ("reuters", "Senate approves Ukraine aid after months of delay")]
    assert change.evidence[0].quote == SENATE
    assert [(h.field, h.text) for h in change.evidence[0].hits] == [("title", "Senate"), ("title", "Ukraine"),
                                                                     ("title", "passes")]
    assert change.rules_hash == aid.rules.digest
    assert aid.states("aid") == [("passed-senate", "applied"), ("passed-senate", "applied")]


@pytest.mark.parametrize("second", [
    {"feed": "reuters", "title": SENATE},                                       # wire copy, same headline
    {"feed": "reuters", "title": "Ukraine aid passed by Senate", "link": "https://ap.example/1"},  # same article
    {"feed": "ap", "title": "Senate approves Ukraine aid"},                     # same outlet again
    {"feed": "reuters", "title": "Aid for Ukraine approved by Senate",          # same summary text
     "summary": "WASHINGTON (AP) - The Senate voted 70-29 on Tuesday to approve the long-delayed aid package "
                "for Ukraine, Israel and Taiwan."},
])
def test_syndicated_copies_and_repeats_count_once(aid, second):
    summary = ("WASHINGTON (AP) - The Senate voted 70-29 on Tuesday to approve the long-delayed aid package "
               "for Ukraine, Israel and Taiwan.")
    aid.poll("ap", SENATE, hours(0), summary=summary)
    step = aid.poll(second["feed"], second["title"], hours(1), summary=second.get("summary", ""),
                    link=second.get("link"))
    assert step.changes == {} and aid.value("aid") == "stalled"
    step = aid.poll("bbc", "US Senate approves Ukraine aid", hours(2))           # a truly independent source
    (change,) = step.changes.values()
    assert change.sources == 2 and len(change.evidence) == 3


def test_a_trusted_feed_is_enough_alone(tmp_path):
    rules = AID.replace("corroborate: {sources: 2, within: 24h}", "corroborate: {sources: 2, within: 24h, "
                                                                    "trusted: [public]}")
    ledger = Ledger(tmp_path / "rules", rules)
    (change,) = ledger.poll("npr", SENATE, hours(0)).changes.values()
    assert change.new == "passed-senate" and change.sources == 1


# -- order -----------------------------------------------------------------------------------

def test_an_earlier_stage_after_a_later_one_is_old_news(aid):
    aid.poll("ap", "House passes Ukraine aid", hours(0))
    aid.poll("reuters", "House approves Ukraine aid", hours(1))
    assert aid.value("aid") == "passed-house"
    step = aid.poll("npr", SENATE, hours(2))
    step2 = aid.poll("bbc", "Senate approves Ukraine aid", hours(3))
    assert step.changes == step2.changes == {} and aid.value("aid") == "passed-house"
    assert aid.states("aid")[-2:] == [("passed-senate", "stale"), ("passed-senate", "stale")]


def test_skipped_stages_are_a_change_and_the_furthest_corroborated_stage_wins(aid):
    aid.poll("ap", "Biden signs Ukraine aid into law", hours(0))
    aid.poll("reuters", SENATE, hours(1))
    step = aid.poll("npr", "President signs Ukraine aid", hours(2))
    (change,) = step.changes.values()
    assert (change.old, change.new) == ("stalled", "signed")
    assert aid.states("aid") == [("signed", "applied"), ("passed-senate", "stale"), ("signed", "applied")]


def test_a_regression_flagged_for_an_operator_does_not_move_the_fact(aid):
    aid.poll("ap", SENATE, hours(0))
    aid.poll("reuters", "Senate approves Ukraine aid", hours(1))
    aid.poll("ap", "Speaker blocks Ukraine aid in the House", hours(2))
    step = aid.poll("npr", "House Republicans block Ukraine aid", hours(3))
    assert step.changes == {} and aid.value("aid") == "passed-senate"
    (review,) = step.notices.values()
    assert review.kind == "review" and review.values == (("blocked", 2),)


def test_a_regression_with_stronger_evidence_moves_back(tmp_path):
    ledger = Ledger(tmp_path / "rules", AID.replace("    ordered: true\n    known: stalled\n",
                                                    "    ordered: true\n    known: passed-senate\n"
                                                    "    regression: {sources: 3, within: 2d}\n"))
    ledger.poll("ap", "Speaker blocks Ukraine aid", hours(0))
    ledger.poll("reuters", "House blocks Ukraine aid", hours(1))
    assert ledger.value("aid") == "passed-senate"
    (change,) = ledger.poll("npr", "Republicans block Ukraine aid", hours(30)).changes.values()
    assert (change.old, change.new, change.direction, change.sources) == ("passed-senate", "blocked", "backwards", 3)


# -- contradictions --------------------------------------------------------------------------

def test_disagreeing_sources_hold_the_fact_and_record_a_contradiction(aid):
    aid.poll("ap", "Ukraine funds depleted, Pentagon says", hours(0))
    (change,) = aid.poll("reuters", "US funds for Ukraine depleted", hours(1)).changes.values()
    assert change.new == "depleted"
    step = aid.poll("npr", "Ukraine funds replenished", hours(2))
    assert step.changes == {}
    step = aid.poll("bbc", "Funds for Ukraine replenished by new bill", hours(3))
    assert step.changes == {} and aid.value("funds") == "depleted"          # 2 against 2: no flapping
    (contradiction,) = aid.notices("funds", "contradiction")
    assert contradiction.claims == (("depleted", 2), ("replenished", 2)) and contradiction.closed_at is None
    assert len(contradiction.evidence) == 4
    # once the first reports leave the window, the later majority wins
    (change,) = aid.poll("ap", "Ukraine funds replenished after vote", hours(25)).changes.values()
    assert (change.old, change.new, change.sources) == ("depleted", "replenished", 3)


def test_one_contradiction_notice_per_dispute(aid):
    aid.poll("ap", "Ukraine funds depleted", hours(0))
    aid.poll("reuters", "Ukraine funds depleted, officials say", hours(0.5))
    first = aid.poll("npr", "Ukraine funds replenished", hours(1))
    again = aid.poll("bbc", "Ukraine funds replenished, says Pentagon", hours(2))
    assert [n.kind for n in first.notices.values()] == ["contradiction", "pending"]
    assert [n.kind for n in again.notices.values()] == []            # the same dispute, still open


# -- kinds of fact: numbers and text -----------------------------------------------------------

NUMBERS = """\
settings:
  corroborate: {sources: 2}
feeds:
  ap: {url: "https://ap.example/rss"}
  reuters: {url: "https://reuters.example/rss"}
  npr: {url: "https://npr.example/rss"}
facts:
  aid-amount:
    describe: US military aid for Ukraine in the supplemental
    kind: number
    unit: USD
    known: 60bn
    signals:
      - extract: "{amount} (?:in |of )?(?:military |security )?(?:aid|assistance) (?:for|to) Ukraine"
        match: {within: sentence, all: [congress|senate|house|bill|package]}
  chair:
    describe: who chairs the Senate Armed Services Committee
    kind: text
    known: Jack Reed
    signals:
      - extract: "{name} (?:was )?(?:named|elected|chosen) (?:as )?chair"
        match: {all: [armed services], within: sentence}
"""


@pytest.mark.parametrize("first,second,expected", [
    ("Senate bill includes $61 billion in aid for Ukraine",
     "House package: $61bn of military aid to Ukraine", "61000000000"),
    ("Congress bill has 61 billion dollars in aid for Ukraine",
     "Senate approves US$61bn in security assistance for Ukraine", "61000000000"),
    ("Package of $60.8-billion in aid for Ukraine passes House",
     "Senate: $60.8 billion in aid to Ukraine", "60800000000"),
])
def test_amounts_in_any_spelling_corroborate_each_other(tmp_path, first, second, expected):
    ledger = Ledger(tmp_path / "rules", NUMBERS)
    assert ledger.value("aid-amount") == "60000000000"
    ledger.poll("ap", first, hours(0))
    (change,) = ledger.poll("reuters", second, hours(1)).changes.values()
    assert change.new == expected and ledger.rules.facts["aid-amount"].display(change.new).endswith(" USD")


def test_an_amount_in_another_currency_is_not_evidence(tmp_path):
    ledger = Ledger(tmp_path / "rules", NUMBERS)
    ledger.poll("ap", "EU package: €50 billion in aid for Ukraine", hours(0))
    ledger.poll("reuters", "Senate bill: €50bn of aid for Ukraine", hours(1))
    assert ledger.states("aid-amount") == []


def test_a_text_fact_reads_a_name(tmp_path):
    ledger = Ledger(tmp_path / "rules", NUMBERS)
    ledger.poll("ap", "Roger Wicker named chair of Senate Armed Services", hours(0))
    (change,) = ledger.poll("npr", "Roger  Wicker was elected chair of Armed Services panel", hours(2)).changes.values()
    assert (change.old, change.new) == ("Jack Reed", "Roger Wicker")


def test_observe_reads_each_signal_once_per_item(tmp_path):
    ledger = Ledger(tmp_path / "rules", AID)
    item = StoredItem(1, "ap", Item(key="k", title="Senate passes Ukraine aid. Biden signs the aid bill", link=None,
                                    summary=""), hours(0))
    assert sorted(o.value for o in observe(ledger.rules.facts, [item])) == ["passed-senate", "signed"]


def test_precision_makes_rounded_amounts_one_claim(tmp_path):
    exact = Ledger(tmp_path / "exact", NUMBERS)
    exact.poll("ap", "Senate bill: $60.8 billion in aid for Ukraine", hours(0))
    step = exact.poll("reuters", "House bill: $61 billion in aid for Ukraine", hours(1))
    assert step.changes == {} and [n.kind for n in step.notices.values()] == ["contradiction", "pending"]

    rounded = Ledger(tmp_path / "rounded", NUMBERS.replace("    unit: USD\n", "    unit: USD\n    precision: 2\n"))
    rounded.poll("ap", "Senate bill: $60.8 billion in aid for Ukraine", hours(0))
    (change,) = rounded.poll("reuters", "House bill: $61 billion in aid for Ukraine", hours(1)).changes.values()
    assert (change.new, change.sources) == ("60800000000", 2)
    # a later rounding of the same amount is a confirmation, not a change
    assert rounded.poll("npr", "Congress bill has $61bn of aid for Ukraine", hours(2)).changes == {}


def test_notices_fire_the_alert_rules_of_their_event(tmp_path):
    from watcher.alerts import build_alerts

    rules = AID + """\
alerts:
  - name: early
    on: {fact: aid, event: pending, to: [passed-house]}
  - name: disputes
    on: {fact: funds, event: [contradiction, change]}
  - name: reviews
    on: {fact: aid, event: review}
"""
    ledger = Ledger(tmp_path / "rules", rules)

    def titles(step):
        return [d.title for d in build_alerts(ledger.rules, [], step.changes, notices=step.notices)]

    assert titles(ledger.poll("ap", SENATE, hours(0))) == []                        # pending, but not to house
    assert titles(ledger.poll("ap", "House passes Ukraine aid", hours(1))) == [
        "US aid package for Ukraine: unconfirmed report of passed-house"]
    assert titles(ledger.poll("ap", "Ukraine funds depleted", hours(2))) == []
    assert titles(ledger.poll("npr", "Ukraine funds depleted, Pentagon says", hours(3))) == [
        "existing US funds for Ukraine: available → depleted"]
    step = ledger.poll("bbc", "Ukraine funds replenished", hours(4))
    (draft,) = build_alerts(ledger.rules, [], step.changes, notices=step.notices)
    assert draft.title == "existing US funds for Ukraine: sources disagree (depleted / replenished)"
    assert draft.dedupe_key.startswith("contradiction:disputes:")
    assert "- depleted: 2 independent sources" in draft.text and "Ukraine funds replenished (bbc)" in draft.text
    ledger.poll("reuters", "Senate approves Ukraine aid", hours(5))
    ledger.poll("ap", "Speaker blocks Ukraine aid in the House", hours(6))
    step = ledger.poll("npr", "House Republicans block Ukraine aid", hours(7))
    assert titles(step) == ["US aid package for Ukraine: blocked reported, needs review"]


def test_a_signal_can_be_limited_to_some_feeds(tmp_path):
    rules = AID.replace("""      - value: replenished
        match: {all: [funds], any: [replenished], scope: [title]}""", """      - value: replenished
        feeds: [public]
        match: {all: [funds], any: [replenished], scope: [title]}""")
    ledger = Ledger(tmp_path / "rules", rules)
    ledger.poll("ap", "Ukraine funds replenished", hours(0))          # not a public feed: not evidence
    ledger.poll("npr", "Ukraine funds replenished", hours(1))
    assert ledger.states("funds") == [("replenished", "pending")]


# -- weighing again without news -------------------------------------------------------------

TIPPING = """\
settings:
  corroborate: {sources: 2, within: 24h, trusted: [ap]}
feeds:
  ap: {url: "https://ap.example/rss"}
  reuters: {url: "https://reuters.example/rss"}
  npr: {url: "https://npr.example/rss"}
  bbc: {url: "https://bbc.example/rss"}
facts:
  funds:
    describe: existing US funds for Ukraine
    values: [available, frozen, depleted]
    known: available
    signals:
      - value: frozen
        match: {all: [funds], any: [frozen], scope: [title]}
      - value: depleted
        match: {all: [funds], any: [depleted], scope: [title]}
"""


def test_a_report_leaving_its_window_is_weighed_at_the_next_poll_without_news(tmp_path):
    """A trusted report is held back while an equal report says something else; when that one
    leaves its window the balance tips, and the next poll (bringing nothing about the fact)
    applies it. In between, polls do not read the fact's reports again: its verdict cannot have
    changed."""
    ledger_ = Ledger(tmp_path / "rules", TIPPING)
    ledger_.poll("npr", "Ukraine funds frozen, officials say", hours(0))
    ledger_.poll("ap", "Ukraine funds depleted, Pentagon says", hours(1))
    assert ledger_.value("funds") == "available"
    assert ("depleted", "pending") in ledger_.states("funds")

    def due(at):
        states = ledger.known_facts(ledger_.db)
        return observations.facts_to_recheck(ledger_.db, at, states, ledger_.rules.digest)

    assert due(hours(2)) == set() and due(hours(23.9)) == set()   # nothing can have changed yet
    assert due(hours(24)) == {"funds"}                           # npr's report leaves its window
    assert observations.facts_to_recheck(ledger_.db, hours(2), ledger.known_facts(ledger_.db), "other rules") \
        == {"funds"}                                             # new rules: weigh again
    ledger_.poll("bbc", "Drones hit Kharkiv", hours(10))
    assert ledger_.value("funds") == "available"
    ledger_.poll("bbc", "Drones hit Odesa", hours(24.5))
    assert ledger_.value("funds") == "depleted" and ledger_.moves("funds") == [("available", "depleted")]
    assert due(hours(24.6)) == set()


def test_one_alert_rule_watches_several_facts_or_all_of_them(tmp_path):
    from watcher.alerts import build_alerts

    rules = AID + """\
alerts:
  - name: both
    on: {facts: [aid, funds], event: [change, pending]}
  - name: every-fact
    on: {facts: all, event: contradiction}
  - name: replenished-only
    on: {facts: [funds], to: [replenished]}
"""
    ledger = Ledger(tmp_path / "rules", rules)
    assert {name: sorted(rule.facts) for name, rule in ledger.rules.alerts.items()} == {
        "both": ["aid", "funds"], "every-fact": ["aid", "funds"], "replenished-only": ["funds"]}

    def fired(step):
        return sorted((d.rule, d.fact) for d in build_alerts(ledger.rules, [], step.changes, notices=step.notices))

    assert fired(ledger.poll("ap", SENATE, hours(0))) == [("both", "aid")]                      # pending
    assert fired(ledger.poll("reuters", "Senate approves Ukraine aid", hours(1))) == [("both", "aid")]  # change
    assert fired(ledger.poll("ap", "Ukraine funds depleted", hours(2))) == [("both", "funds")]
    assert fired(ledger.poll("npr", "Ukraine funds depleted, Pentagon says", hours(3))) == [("both", "funds")]
    assert fired(ledger.poll("bbc", "Ukraine funds replenished", hours(4))) == [("both", "funds"),
                                                                                 ("every-fact", "funds")]
    # the reports of depleted leave the window: replenished wins, and `to:` lets this one through
    assert fired(ledger.poll("ap", "Ukraine funds replenished after vote", hours(27.5))) == [
        ("both", "funds"), ("replenished-only", "funds")]
