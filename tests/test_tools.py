"""The rule author's tools as users run them: `watcher explain`, `watcher backtest`,
`watcher facts set` for every kind of fact, and `watcher schema`."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pytest

from conftest import ROOT, doc_text, rfc822, run_cli, write_rules
from servers import rss

FEED_FILE = ROOT / "tests" / "data" / "feeds" / "aid-vote.xml"

RULES = """\
settings:
  corroborate: {{sources: {sources}, within: 24h}}
feeds:
  ap: {{url: "{base}/ap.xml"}}
  kyiv: {{url: "{base}/kyiv.xml"}}
facts:
  aid:
    describe: US aid package for Ukraine
    values: [stalled, passed-senate, signed]
    ordered: true
    known: stalled
    signals:
      - value: passed-senate
        match: {{all: [senate, ukraine], any: ["pass(es|ed)"], scope: [title], within: sentence}}
  amount:
    describe: aid for Ukraine
    kind: number
    unit: USD
    known: 60bn
  chair:
    describe: who chairs Armed Services
    kind: text
    known: Jack Reed
alerts:
  - name: aid-changed
    on: {{fact: aid}}
    notify: [team]
  - name: drones
    on: {{items: {{all: [drones]}}}}
    notify: [team]
channels:
  team: ${{TEAM_URL}}
"""


def _setup(tmp_path: Path, feed_server, receiver, sources: int = 2) -> dict[str, str]:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    write_rules(rules, RULES.format(base=feed_server.url(""), sources=sources))
    return {"TEAM_URL": receiver.url("/team"), "WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}


def test_explain_a_feed_file_shows_fired_and_refused_terms(tmp_path):
    result = run_cli("--rules", str(ROOT / "rules"), "--db", str(tmp_path / "none.db"), "explain", "--json",
                     str(FEED_FILE))
    assert result.returncode == 0, result.stderr
    question, passed, denied, opinion = json.loads(result.stdout)
    senate = next(s for s in passed["signals"] if s["target"] == "passed-senate")
    assert senate["fired"] and senate["value"] == "passed-senate"
    assert [(t["term"], [h["text"] for h in t["hits"]]) for t in senate["terms"] if t["group"] == "any"][0] == \
        ("pass(es|ed)", ["passes"])
    amount = next(s for s in passed["signals"] if s["fact"] == "us-aid-amount")
    assert amount["value"] == "61 billion USD"
    refused = next(s for s in question["signals"] if s["target"] == "passed-senate")
    assert not refused["fired"] and "question guard" in refused["reason"]
    assert {t["refused"][0]["guard"] for t in refused["terms"] if t["refused"]} == {"question"}
    assert not any(s["fired"] for s in denied["signals"] + opinion["signals"])


def test_explain_text_output_and_a_title_filter(tmp_path):
    result = run_cli("--rules", str(ROOT / "rules"), "--db", str(tmp_path / "none.db"), "explain",
                     "--title", "has not", str(FEED_FILE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("'The House has not passed the Ukraine aid package' [aid-vote]")
    assert "refused by the negation guard ('has not')" in result.stdout


def test_explain_shows_a_cue_that_the_signals_own_term_switched_off(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rates.yaml").write_text((ROOT / "tests" / "data" / "rules-errors" / "guard-cancelled.yaml").read_text())
    feed = tmp_path / "bank.xml"
    feed.write_text(rss([{"title": "Bank set to raise rates to 5.5%", "link": "https://b.example/1", "guid": "1"}]))
    text = run_cli("--rules", str(rules), "--db", str(tmp_path / "none.db"), "explain", str(feed))
    assert text.returncode == 0, text.stderr
    assert "+ rate = raise (signal 1)" in text.stdout      # the prediction counts: what the warning is about
    assert text.stdout.endswith("        “Bank set to raise rates to 5.5%” (title)\n"
                                "        modal cue 'set to' ignored: inside the signal's own term 'sets?'\n")
    verbose = run_cli("--rules", str(rules), "--db", str(tmp_path / "none.db"), "explain", "--verbose", str(feed))
    assert "        [x] any   'sets?': title[5:8] 'set'\n" \
           "                modal cue 'set to' ignored: inside the signal's own term 'sets?'\n" in verbose.stdout
    as_json = run_cli("--rules", str(rules), "--db", str(tmp_path / "none.db"), "explain", "--json", str(feed))
    (item,) = json.loads(as_json.stdout)
    sets = next(t for t in item["signals"][0]["terms"] if t["term"] == "sets?")
    assert sets["ignored"] == [{"field": "title", "start": 5, "end": 8, "text": "set", "guard": "modal",
                                "cue": "set to", "inside": "sets?"}]


def test_explain_is_short_by_default_and_names_every_term_with_verbose(tmp_path):
    """A 150-character pattern is named once, cut, where it is the reason; --verbose lists it in full."""
    long_topic = "|".join(f"topic{n:03d}" for n in range(16))[:150]
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, f"""\
        facts:
          aid:
            describe: US aid package
            values: [stalled, passed]
            known: stalled
            signals:
              - value: passed
                match: {{all: [senate, "{long_topic}|aid"], any: [passes]}}
              - value: stalled
                match: {{all: ["{long_topic}"]}}
        alerts:
          - name: topics
            on: {{items: {{all: ["{long_topic}"]}}}}
    """)
    feed = tmp_path / "wire.xml"
    feed.write_text(rss([{"title": "Senate passes Ukraine aid", "guid": "1", "link": "https://ap.example/1",
                          "description": "The vote was 70-29. Senate passes the aid bill after months."}]))
    env = {"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "none.db")}
    short = run_cli("explain", str(feed), env=env)
    assert short.returncode == 0, short.stderr
    assert long_topic not in short.stdout and max(len(line) for line in short.stdout.splitlines()) < 140
    assert short.stdout.splitlines()[1:] == [
        "  alert rules: 0 of 1 fire",
        f"    - topics: `all` term '{long_topic[:39]}…' is not in the text",
        "  fact signals: 1 of 2 fire",
        "    + aid = passed (signal 1): evidence for a change, stalled -> passed; enough to move the fact now",
        "        “Senate passes Ukraine aid” (title)",
        f"    - aid = stalled (signal 2): `all` term '{long_topic[:39]}…' is not in the text",
    ]
    verbose = run_cli("explain", "--verbose", str(feed), env=env)
    assert verbose.returncode == 0, verbose.stderr
    assert f"[x] all   '{long_topic}|aid': title[22:25] 'aid'" in verbose.stdout
    assert f"- topics: `all` term '{long_topic}' is not in the text" in verbose.stdout


def test_explain_a_url_and_a_stored_item(tmp_path, feed_server, receiver):
    env = _setup(tmp_path, feed_server, receiver)
    items = [{"title": "Senate passes Ukraine aid", "link": "https://ap.example/1", "guid": "1",
              "pubDate": rfc822(datetime.now(UTC))}]
    feed_server.set("/ap.xml", rss(items))
    feed_server.set("/kyiv.xml", rss([]))
    by_url = run_cli("explain", feed_server.url("/ap.xml"), "--feed", "ap", env=env)
    assert by_url.returncode == 0, by_url.stderr
    assert "+ aid = passed-senate (signal 1): evidence for a move forward, stalled -> passed-senate; moves the " \
           "fact with 2 independent sources within 1d" in by_url.stdout
    assert run_cli("check", env=env).returncode == 0
    item_id = sqlite3.connect(tmp_path / "w.db").execute("SELECT id FROM items").fetchone()[0]
    stored = run_cli("explain", str(item_id), env=env)
    assert stored.returncode == 0, stored.stderr
    assert stored.stdout.startswith(f"#{item_id} 'Senate passes Ukraine aid' [ap] https://ap.example/1")
    assert "ledger: aid = passed-senate: pending" in stored.stdout
    missing = run_cli("explain", "999", env=env)
    assert missing.returncode == 1 and "no stored item 999" in missing.stderr


def test_an_item_two_signals_found_is_one_piece_of_evidence(tmp_path, feed_server):
    """Its title and its summary both matched (a signal for each): `watcher facts` lists it once."""
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, f"""\
        feeds:
          ap: {{url: "{feed_server.url('/ap.xml')}"}}
        facts:
          aid:
            describe: US aid package for Ukraine
            values: [stalled, passed]
            known: stalled
            signals:
              - value: passed
                match: {{all: [senate, aid], any: [passes], scope: [title]}}
              - value: passed
                match: {{all: [senate, aid], any: [passes], scope: [summary]}}
    """)
    feed_server.set("/ap.xml", rss([{"title": "Senate passes Ukraine aid", "guid": "1",
                                     "description": "The Senate passes the aid bill 70-29.",
                                     "link": "https://ap.example/1", "pubDate": rfc822(datetime.now(UTC))}]))
    env = {"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    assert run_cli("check", env=env).returncode == 0
    board = run_cli("facts", env=env)
    assert board.returncode == 0, board.stderr
    assert "aid: passed" in board.stdout and board.stdout.count("Senate passes Ukraine aid") == 1, board.stdout
    history = json.loads(run_cli("facts", "history", "aid", "--json", env=env).stdout)
    (change,) = [e for e in history if e["type"] == "change" and e["new"] == "passed"]
    (evidence,) = change["evidence"]
    assert {s["field"] for s in evidence["spans"]} == {"title", "summary"}
    assert evidence["quote"] == "Senate passes Ukraine aid … The Senate passes the aid bill 70-29."


def _db_digest(path: Path) -> str:
    db = sqlite3.connect(path)
    rows = [db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    db.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.mark.slow
def test_backtest_replays_without_touching_live_state(tmp_path, feed_server, receiver):
    env = _setup(tmp_path, feed_server, receiver, sources=2)
    now = datetime.now(UTC)
    feed_server.set("/ap.xml", rss([]))
    feed_server.set("/kyiv.xml", rss([]))
    assert run_cli("check", env=env).returncode == 0
    feed_server.set("/ap.xml", rss([{"title": "Senate passes Ukraine aid", "link": "https://ap.example/1",
                                     "guid": "1", "pubDate": rfc822(now)},
                                    {"title": "Ukraine shows new drones", "link": "https://ap.example/2",
                                     "guid": "2", "pubDate": rfc822(now)}]))
    assert run_cli("check", env=env).returncode == 0
    live_alerts = len(receiver.received)                       # the drones alert; the fact is pending
    assert live_alerts == 1
    before = _db_digest(tmp_path / "w.db")

    candidate = tmp_path / "candidate"
    candidate.mkdir()
    write_rules(candidate, RULES.format(base=feed_server.url(""), sources=1))
    result = run_cli("backtest", "--rules", str(candidate), "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(c["fact"], c["old"], c["new"], c["sources"]) for c in report["changes"]] == \
        [("aid", "stalled", "passed-senate", 1)]
    assert [a["rule"] for a in report["alerts"]] == ["drones", "aid-changed"]
    assert report["end"]["aid"] == "passed-senate" and report["items"] == 2

    same = json.loads(run_cli("backtest", "--json", env=env).stdout)   # the live rules: what did happen
    assert same["changes"] == [] and [n["kind"] for n in same["notices"]] == ["pending"]
    later = json.loads(run_cli("backtest", "--since", (now + timedelta(hours=1)).isoformat(), "--json",
                               env=env).stdout)
    assert later["items"] == 0
    text = run_cli("backtest", "--rules", str(candidate), env=env)
    assert "aid: stalled -> passed-senate  [signal]" in text.stdout and "nothing was sent" in text.stdout

    assert _db_digest(tmp_path / "w.db") == before                      # the live state is untouched
    assert len(receiver.received) == live_alerts                         # and nothing was sent


@pytest.mark.slow
def test_facts_set_takes_every_kind_and_supersedes_pending_reports(tmp_path, feed_server, receiver):
    env = _setup(tmp_path, feed_server, receiver)
    feed_server.set("/ap.xml", rss([{"title": "Senate passes Ukraine aid", "link": "https://ap.example/1",
                                     "guid": "1", "pubDate": rfc822(datetime.now(UTC))}]))
    feed_server.set("/kyiv.xml", rss([]))
    assert run_cli("check", env=env).returncode == 0
    board = run_cli("facts", env=env)
    assert "pending: passed-senate until" in board.stdout and "Senate passes Ukraine aid [ap]" in board.stdout

    status = run_cli("facts", "set", "aid", "passed-senate", "--note", "seen on senate.gov", env=env)
    assert status.stdout.strip() == "aid: stalled -> passed-senate (recorded)"
    amount = run_cli("facts", "set", "amount", "$61 billion", env=env)
    assert amount.stdout.strip() == "amount: 60 billion USD -> 61 billion USD (recorded)"
    again = run_cli("facts", "set", "amount", "61e9", env=env)
    assert again.stdout.strip() == "amount is already 61 billion USD; nothing recorded"
    text = run_cli("facts", "set", "chair", "Roger Wicker", env=env)
    assert text.stdout.strip() == "chair: Jack Reed -> Roger Wicker (recorded)"
    bad = run_cli("facts", "set", "amount", "a lot", env=env)
    assert bad.returncode == 1 and '"a lot" is not an amount (write 61e9, 61bn or $61 billion, in USD)' in bad.stderr
    bad_status = run_cli("facts", "set", "aid", "pased", env=env)
    assert bad_status.returncode == 1 and "values: stalled, passed-senate, signed" in bad_status.stderr

    history = json.loads(run_cli("facts", "history", "aid", "--json", env=env).stdout)
    assert [(e["type"], e.get("state") or e.get("cause")) for e in history] == [
        ("change", "operator"), ("report", "superseded"), ("change", "rules")]
    assert history[0]["note"] == "seen on senate.gov"
    assert "pending" not in run_cli("facts", env=env).stdout


def test_facts_before_anything_ran_shows_the_known_values_of_the_rule_files(tmp_path):
    env = {"WATCHER_RULES": str(ROOT / "rules"), "WATCHER_DB": str(tmp_path / "w.db")}
    board = run_cli("facts", env=env)
    assert board.returncode == 0, board.stderr
    assert "us-aid-package: stalled  (known in the rule file;" in board.stdout
    assert "us-aid-amount: 60 billion USD  (known in the rule file;" in board.stdout
    as_json = json.loads(run_cli("facts", "--json", env=env).stdout)
    assert [(f["name"], f["value"], f["since"]) for f in as_json][:2] == [
        ("us-aid-amount", "60000000000", None), ("us-aid-package", "stalled", None)]
    # a correction records the known values first (as a start does); then the ledger's values are shown
    assert run_cli("facts", "set", "us-aid-package", "passed-senate", env=env).returncode == 0
    after = run_cli("facts", env=env).stdout
    assert "us-aid-package: passed-senate  (since " in after and "us-aid-amount: 60 billion USD  (since " in after


@pytest.mark.slow
def test_an_operators_correction_before_the_first_run_survives_the_daemons_start(tmp_path, feed_server, receiver):
    env = _setup(tmp_path, feed_server, receiver)
    feed_server.set("/ap.xml", rss([]))
    feed_server.set("/kyiv.xml", rss([]))
    assert run_cli("facts", "set", "aid", "signed", "--note", "seen on whitehouse.gov", env=env).returncode == 0
    assert run_cli("check", env=env).returncode == 0
    assert "aid: signed  (since " in run_cli("facts", env=env).stdout
    history = json.loads(run_cli("facts", "history", "aid", "--json", env=env).stdout)
    assert [(e["type"], e["cause"], e["new"]) for e in history] == [("change", "operator", "signed"),
                                                                   ("change", "rules", "stalled")]


def test_schema_command_prints_the_committed_schema():
    result = run_cli("schema")
    assert result.returncode == 0
    assert result.stdout == (ROOT / "rules" / "watcher.schema.json").read_text()


def test_the_about_example_explains_as_shown(tmp_path):
    """docs/rules.md's `about` rules, on tests/data/feeds/rate-cut.xml, print exactly what it shows."""
    section = doc_text("rules.md").split("**The subject in the headline, the value in the summary: `about`.**", 1)[1]
    rules_text = re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)
    shown = re.search(r"```\n\$ watcher --rules rates explain (\S+)[^\n]*\n(.*?)```", section, re.DOTALL)
    rules = tmp_path / "rates"
    rules.mkdir()
    (rules / "rates.yaml").write_text(rules_text)
    result = run_cli("--rules", str(rules), "--db", str(tmp_path / "none.db"), "explain", shown.group(1))
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown.group(2)


def test_explain_and_facts_say_which_feeds_never_count_or_only_confirm(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, """\
        settings:
          corroborate: {sources: 2, within: 1d, ignore: [rumours], confirm_only: [aggregator]}
        feeds:
          blog: {url: "https://blog.example/rss", tags: [rumours]}
          aggregator: {url: "https://agg.example/rss"}
          wire: {url: "https://wire.example/rss"}
        facts:
          aid:
            describe: US aid package for Ukraine
            values: [stalled, passed-senate]
            known: stalled
            signals:
              - value: passed-senate
                match: {all: [senate, passes], scope: [title]}
        """)
    env = {"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}

    def senate(feed: str) -> str:
        result = run_cli("explain", "--feed", feed, "--title", "Senate passes", str(FEED_FILE), env=env)
        assert result.returncode == 0, result.stderr
        return next(line.strip() for line in result.stdout.splitlines() if "aid = " in line)

    assert senate("blog") == "- aid = passed-senate (signal 1): ignored: feed blog is in corroborate.ignore"
    assert senate("aggregator").startswith(
        "+ aid = passed-senate (signal 1): evidence for a change, stalled -> passed-senate; moves the fact with 2 "
        "independent sources within 1d; waits for a report from a feed that counts (only aggregator, in "
        "corroborate.confirm_only, reported passed-senate), until ")
    assert senate("wire").startswith("+ aid = passed-senate (signal 1): evidence for a change, stalled -> "
                                     "passed-senate; moves the fact with 2 independent sources within 1d; waits "
                                     "for 1 more independent source, until ")
    board = run_cli("facts", env=env)
    assert "    needs 2 independent sources within 1d; ignored: blog (corroborate.ignore); confirm only: " \
           "aggregator (corroborate.confirm_only)" in board.stdout.splitlines()
