"""A story told over several polls, through the real `watcher check` against a local feed
server: the fact history afterwards is exactly the expected sequence, with its provenance."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
from datetime import datetime, timedelta, UTC

import pytest

from conftest import ROOT, rfc822, run_cli, write_rules
from daemon import DaemonProcess
from facts_harness import BRIDGE_FACT
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


def _check(feed_server, served: dict[str, list[dict[str, str]]], env: dict[str, str]) -> None:
    """Serve each feed's items (feed name -> items) and run one `watcher check` over them."""
    for name, items in served.items():
        feed_server.set(f"/{name}.xml", rss(items))
    result = run_cli("check", env=env)
    assert result.returncode == 0, result.stderr


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
    """docs/rules.md's `about` example through a real feed and `watcher check`: the headline names
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
        _check(feed_server, {"markets": items}, env)

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


@pytest.mark.slow
def test_the_readme_fact_rule_alerts_once_as_the_readme_says(tmp_path, feed_server, receiver):
    """The front page's rule through real feeds and `watcher check`: a threat and a question are no
    evidence, one report waits for a second, two independent outlets move the fact, and the desk
    gets the one alert the README names, quoting both."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A fact rule", 1)[1].split("\n## ", 1)[0]
    rule = re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)
    shown = re.search(r"titled\n?\s*`([^`]+)`", section).group(1)
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, rule, name="strike.yaml")
    write_rules(rules, f'feeds:\n  wire: {{url: "{feed_server.url("/wire.xml")}"}}\n'
                       f'  citypaper: {{url: "{feed_server.url("/citypaper.xml")}"}}\n'
                       "channels:\n  desk: ${DESK_URL}\n", name="feeds.yaml")
    env = {"DESK_URL": receiver.url("/desk"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    served: dict[str, list[dict[str, str]]] = {"wire": [], "citypaper": []}

    def poll(feed: str = "", title: str = "", summary: str = "") -> None:
        if feed:
            served[feed].append({**_item(len(served[feed]) + 1, title, feed), "description": summary})
        _check(feed_server, served, env)

    poll()                                                                  # the first poll: no backlog
    poll("wire", "Northline union threatens to walk off the job")
    poll("citypaper", "Will Northline workers walk off the job?")
    assert receiver.titles() == []
    poll("wire", "Northline workers walk off the job")
    assert receiver.titles() == []                                          # one source: it waits
    poll("citypaper", "Northline commuters stranded", "The strike began at dawn.")
    assert receiver.titles() == [shown] == ["the contract dispute at Northline Rail: talks → on-strike"]
    message = receiver.received[0]["message"]
    assert "Northline workers walk off the job" in message and "Northline commuters stranded" in message


BRIDGE = """\
settings:
  corroborate: {{sources: 1, within: {within}}}
feeds:
  city: {{url: "{base}/city.xml"}}
  wire: {{url: "{base}/wire.xml"}}
  radio: {{url: "{base}/radio.xml"}}
facts:
""" + BRIDGE_FACT.replace("{", "{{").replace("}", "}}") + """\
alerts:
  - name: bridge-changed
    on: {{fact: bridge, event: [change, contradiction]}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""


@pytest.mark.slow
@pytest.mark.parametrize("within", ["24h", "48h"])
def test_an_old_backlog_headline_does_not_hold_the_news_that_follows_it(tmp_path, feed_server, receiver, within):
    """A feed's first poll brings a 30-hour-old "bridge remains closed"; then another feed says the
    bridge reopens. Under a one-source policy the bridge opens: the old headline is older than a
    24h window, and inside a 48h one it was published before the reopening, so it disputes nothing.
    A "remains closed" published after the reopening is a real dispute, and every tool says so."""
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, BRIDGE.format(base=feed_server.url(""), within=within))
    db = tmp_path / "w.db"
    env = {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(db)}
    now = datetime.now(UTC)

    def serve(feed: str, *news: tuple[str, datetime]) -> None:
        feed_server.set(f"/{feed}.xml", rss([{"title": title, "link": f"https://{feed}.example/{n}",
                                              "guid": f"{feed}-{n}", "pubDate": rfc822(published)}
                                             for n, (title, published) in enumerate(news, 1)]))

    serve("city", ("River bridge remains closed after the storm", now - timedelta(hours=30)))
    serve("wire")
    serve("radio")
    assert run_cli("check", env=env).returncode == 0                   # the first poll: city's backlog
    serve("wire", ("River bridge reopens to traffic", now))
    assert run_cli("check", env=env).returncode == 0
    assert receiver.titles() == ["the river bridge: closed → open"]
    serve("radio", ("River bridge remains closed, police say", now + timedelta(minutes=1)))
    assert run_cli("check", env=env).returncode == 0
    assert receiver.titles() == ["the river bridge: closed → open",
                                 "the river bridge: sources disagree (open / closed)"]

    secretless = {k: v for k, v in env.items() if k != "TEAM_URL"}    # reading the ledger needs no secrets
    board = run_cli("facts", env=secretless)
    assert board.returncode == 0, board.stderr
    lines = board.stdout.splitlines()
    pending = next(i for i, line in enumerate(lines) if line.startswith("    pending: closed until 2"))
    assert lines[pending].endswith(": River bridge remains closed, police say [radio]")
    assert lines[pending + 1].startswith("      waits for 1 more independent source: held by a contradiction, "
                                         "closed (1) against open (1), until 2")
    assert f"    needs 1 independent source within {'1d' if within == '24h' else '2d'}" in lines
    [fact] = json.loads(run_cli("facts", "--json", env=secretless).stdout)
    [waiting] = fact["pending"]
    assert waiting["contradiction"] == [{"value": "open", "shown": "open", "sources": 1}]
    assert waiting["more_sources"] == 1 and waiting["waits_until"] == waiting["expires_at"]

    radio_item = sqlite3.connect(db).execute("SELECT id FROM items WHERE feed = 'radio'").fetchone()[0]
    explained = run_cli("explain", str(radio_item), env=secretless)
    assert explained.returncode == 0, explained.stderr
    assert ("+ bridge = closed (signal 1): evidence for a change, open -> closed; waits for 1 more independent "
            "source: held by a contradiction, closed (1) against open (1), until ") in explained.stdout

    daemon = DaemonProcess(tmp_path, env)
    try:
        code, facts = daemon.json("/api/facts")
        page = daemon.get("/")[1]
    finally:
        daemon.signal(signal.SIGTERM)
        daemon.wait()
    assert code == 200
    [waiting] = facts[0]["pending"]
    assert waiting["waits_for"] == "1 more independent source: held by a contradiction, closed (1) against open (1)"
    assert waiting["waits_until"] is not None and waiting["feed"] == "radio"
    assert "waits for 1 more independent source: held by a contradiction" in page
