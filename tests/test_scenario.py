"""A story told over several polls, through the real `watcher check` against a local feed
server: the fact history afterwards is exactly the expected sequence, with its provenance."""

from __future__ import annotations

import json
from datetime import datetime, UTC

import pytest

from conftest import rfc822, run_cli, write_rules
from servers import rss
from watcher.ruleset import load_rules

RULES = """\
settings:
  corroborate: {{sources: 2, within: 24h}}
feeds:
  ap: {{url: "{base}/ap.xml"}}
  reuters: {{url: "{base}/reuters.xml"}}
  kyiv: {{url: "{base}/kyiv.xml"}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, passed-house, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, ukraine], any: ["pass(es|ed)", approves], none: [house], scope: [title],
                within: sentence}}
      - value: passed-house
        match: {{all: [house, ukraine], any: ["pass(es|ed)", approves], none: [senate], scope: [title],
                within: sentence}}
  amount:
    describe: US aid for Ukraine in the bill
    kind: number
    unit: USD
    known: 60bn
    signals:
      - extract: "{{amount}} (in |of )?(ukraine )?aid"
        match: {{scope: [title], within: sentence, all: [ukraine]}}
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    notify: [team]
  - name: amount-changed
    on: {{fact: amount}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""


def _item(n: int, title: str, feed: str) -> dict[str, str]:
    return {"title": title, "link": f"https://{feed}.example/{n}", "guid": f"{feed}-{n}",
            "pubDate": rfc822(datetime.now(UTC))}


@pytest.mark.slow
def test_a_story_over_several_polls(tmp_path, feed_server, receiver):
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, RULES.format(base=feed_server.url("")))
    digest = load_rules(rules, environ={"TEAM_URL": "json://127.0.0.1/x"}).digest
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    feeds: dict[str, list[dict[str, str]]] = {"ap": [], "reuters": [], "kyiv": []}

    def step(*news: tuple[str, str]) -> None:
        for feed, title in news:
            feeds[feed].append(_item(len(feeds[feed]) + 1, title, feed))
        for feed, items in feeds.items():
            feed_server.set(f"/{feed}.xml", rss(items))
        result = run_cli("check", env=env)
        assert result.returncode == 0, result.stderr

    step()                                                              # empty feeds: the first poll
    step(("ap", "Will the Senate pass Ukraine aid this week?"))         # a question: nothing
    step(("ap", "Senate passes $61 billion Ukraine aid package"),       # a lone report: pending
         ("reuters", "Senate passes $61 billion Ukraine aid package"))  # wire copy: the same source
    assert receiver.titles() == []
    step(("kyiv", "US Senate approves $61bn in aid for Ukraine"))       # independent: both facts move
    step(("reuters", "The House has not passed the Ukraine aid package"))  # a denial: nothing
    step(("ap", "House passes Ukraine aid"), ("reuters", "House approves Ukraine aid, Biden to sign it"))
    step(("kyiv", "Senate passes Ukraine aid"))                         # an earlier stage: old news

    assert receiver.titles() == ["US aid package for Ukraine: stalled → passed-senate",
                                 "US aid for Ukraine in the bill: 60 billion USD → 61 billion USD",
                                 "US aid package for Ukraine: passed-senate → passed-house"]

    history = run_cli("facts", "history", "aid", "--json", env=env)
    assert history.returncode == 0, history.stderr
    entries = json.loads(history.stdout)
    assert [(e["type"], e.get("new") or e.get("value"), e.get("state"), e.get("sources")) for e in entries] == [
        ("report", "passed-senate", "stale", None),
        ("change", "passed-house", None, 2),
        ("change", "passed-senate", None, 2),
        ("change", "stalled", None, 0),
    ]
    stale, house, senate, initial = entries
    assert (initial["cause"], initial["note"]) == ("rules", "initial value from the rule file")
    assert [(e["cause"], e["old"], e["rules_hash"]) for e in (senate, house)] == [
        ("signal", "stalled", digest), ("signal", "passed-senate", digest)]
    assert [(ev["feed"], ev["title"], ev["link"]) for ev in senate["evidence"]] == [
        ("ap", "Senate passes $61 billion Ukraine aid package", "https://ap.example/2"),
        ("reuters", "Senate passes $61 billion Ukraine aid package", "https://reuters.example/1"),
        ("kyiv", "US Senate approves $61bn in aid for Ukraine", "https://kyiv.example/1"),
    ]
    assert senate["evidence"][2]["quote"] == "US Senate approves $61bn in aid for Ukraine"
    assert [(s["field"], s["start"], s["end"], s["text"]) for s in senate["evidence"][2]["spans"]] == [
        ("title", 3, 9, "Senate"), ("title", 36, 43, "Ukraine"), ("title", 10, 18, "approves")]
    assert [(ev["feed"], ev["title"]) for ev in house["evidence"]] == [
        ("ap", "House passes Ukraine aid"), ("reuters", "House approves Ukraine aid, Biden to sign it")]
    assert (stale["evidence"]["feed"], stale["evidence"]["title"]) == ("kyiv", "Senate passes Ukraine aid")

    amount = json.loads(run_cli("facts", "history", "amount", "--json", "--changes-only", env=env).stdout)
    assert [(e["old_shown"], e["new_shown"], e["sources"]) for e in amount] == [
        ("60 billion USD", "61 billion USD", 2), (None, "60 billion USD", 0)]

    board = run_cli("facts", env=env)
    assert "aid: passed-house  (since" in board.stdout and "2 independent sources" in board.stdout
    assert "amount: 61 billion USD" in board.stdout


RATE_RULES = """\
feeds:
  markets: {{url: "{base}/markets.xml"}}
facts:
  central-bank-rate:
    describe: top of the central bank's key rate range, in percent
    kind: number
    known: 3.75
    signals:
      - extract: "{{number}} percent"
        match: {{about: [central bank], all: [key rate], none: [predicted, "expected to"], within: sentence}}
alerts:
  - name: key-rate-moves
    on:
      items: {{about: [central bank], all: [key rate, "{{number}} percent"], within: sentence, guards: all}}
    notify: [desk]
  - name: rate-changed
    on: {{fact: central-bank-rate}}
    notify: [desk]
channels:
  desk: ${{DESK_URL}}
"""


@pytest.mark.slow
def test_the_subject_in_the_headline_and_the_value_in_the_summary(tmp_path, feed_server, receiver):
    """The README's `about` example through a real feed and `watcher check`: the headline names
    the central bank, the summary's sentence gives the rate, and the analysts' prediction in the
    next sentence does not refuse it (`none` applies where the match is). A question headline
    lends its subject, but the summary's sentence that only expects the rate is not a report."""
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, RATE_RULES.format(base=feed_server.url("")))
    env = {"DESK_URL": receiver.url("/desk"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    items: list[dict[str, str]] = []

    def poll(title: str = "", summary: str = "") -> None:
        if title:
            items.append({**_item(len(items) + 1, title, "markets"), "description": summary})
        feed_server.set("/markets.xml", rss(items))
        result = run_cli("check", env=env)
        assert result.returncode == 0, result.stderr

    poll()                                                              # the first poll: no backlog
    poll("Senate passes farm bill", "Ukraine aid is next.")
    poll("Will the central bank cut rates?", "Markets are expected to see the key rate at 3.25 percent.")
    assert receiver.titles() == []
    poll("Central bank lowers rates by half a point",
         "Its key rate now sits between 3 and 3.25 percent. Analysts had predicted a smaller move.")

    assert sorted(receiver.titles()) == sorted([
        "Central bank lowers rates by half a point",
        "top of the central bank's key rate range, in percent: 3.75 → 3.25"])
    item_alert = next(r for r in receiver.received if r["title"] == "Central bank lowers rates by half a point")
    assert "Central bank" in item_alert["message"] and "3.25 percent" in item_alert["message"]
    [change] = json.loads(run_cli("facts", "history", "central-bank-rate", "--json", "--changes-only",
                                  env=env).stdout)[:1]
    [evidence] = change["evidence"]
    assert evidence["quote"] == ("Central bank lowers rates by half a point … Its key rate now sits between 3 and "
                                 "3.25 percent.")
    assert [(s["field"], s["start"], s["end"], s["text"]) for s in evidence["spans"]] == [
        ("title", 0, 12, "Central bank"), ("summary", 4, 12, "key rate"), ("summary", 36, 48, "3.25 percent")]
