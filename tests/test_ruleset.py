"""Loading rule files: one fixture file per kind of problem, each with its exact message."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, write_rules
from inprocess import LogLines, Running, settings
from watcher.deliver import check_url
from watcher.errors import RuleError
from watcher.models import Item
from watcher.ruleset import load_rules

FIXTURES = Path(__file__).parent / "data" / "rules-errors"

EXPECTED = [
    ("bad-duration.yaml", "4:15: feed \"wire\": interval: expected a duration such as 30s, 15m, 2h or 1d, got 'soon'"),
    ("bad-regex.yaml", "5:15: alert \"broken\": on.items.all[0]: the pattern 'senate (passes' is not a valid "
                       "regular expression: missing ), unterminated subpattern at position 7"),
    ("bad-template.yaml", "4:12: alert \"drones\": title: template error on its line 1: unexpected end of "
                          "template, expected 'end of print statement'."),
    ("interval-too-short.yaml", "2:13: settings.interval: an interval is at least 1s, got 0s"),
    ("bad-url.yaml", "3:10: feed \"wire\": url: 'example.com/rss' is not an http:// or https:// address"),
    ("bad-network.yaml", "4:5: feed \"intranet\": allow_addresses: 'intranet' is not an IP address or network "
                         "(such as 127.0.0.1 or 10.0.0.0/8)"),
    ("bad-yaml.yaml", "5:1: this is not valid YAML: expected ',' or ']', but got '<stream end>' "
                      "(in the [ list that starts at line 4, column 11)"),
    ("duplicate-key.yaml", "4:3: the key 'wire' appears twice in the same block (the block starts on line 2)"),
    ("empty-match.yaml", "3:10: alert \"drones\": on.items: a match needs at least one term under `all` or `any`"),
    ("known-not-a-value.yaml", "5:12: fact \"aid\": known: \"stallled\" is not one of the values "
                               "(did you mean \"stalled\"?)"),
    ("not-a-mapping.yaml", "1:1: a rule file is a block of sections: settings, feeds, facts, alerts, channels, "
                           "terms"),
    ("on-both.yaml", "5:5: alert \"both\": on: `on` needs exactly one of `fact`, `facts` or `items`"),
    ("secret-in-file.yaml", "2:9: channel \"team\": the URL mailto://alice:****@mail.example.com/team%40example.com "
                            "contains a secret; keep secrets out of rule files: put the URL in an environment "
                            "variable and write ${VARIABLE} here"),
    ("unknown-channel.yaml", "6:14: alert \"drones\": notify: unknown channel \"polcy-team\" "
                             "(did you mean \"policy-team\"?)"),
    ("unknown-fact.yaml", "7:16: alert \"aid\": on.fact: unknown fact \"us-aid-pakage\" "
                          "(did you mean \"us-aid-package\"?)"),
    ("unknown-key.yaml", "4:5: feed \"wire\": unknown key \"intervall\" (did you mean \"interval\"?)"),
    ("unset-env.yaml", "2:9: channel \"team\": the environment variable WATCHER_TEST_SURELY_UNSET is not set"),
    ("redos-nested.yaml", "5:15: alert \"names\": on.items.all[0]: the pattern '(\\w+\\s?)+ says' could stall "
                          "matching: it repeats, without a limit, a part whose own length varies (the repeat at "
                          "position 8), as in (a+)+; on some text that takes exponential time. Repeat one level "
                          "only, give the outer repeat a limit such as {1,5}, or make it possessive (...)++ or "
                          "atomic (?>...)"),
    ("redos-wildcard.yaml", "5:15: alert \"aid\": on.items.all[0]: the pattern 'ukraine.*aid' could stall matching: "
                            "it repeats a wildcard that matches letters and spaces alike without a limit (the repeat "
                            "at position 8), as in .*; on long text that scans everything from every position. Write "
                            "a bounded repeat such as .{0,80}, or use `within: sentence`"),
    ("extract-without-capture.yaml", "8:18: fact \"amount\": signals[0].extract: the pattern needs exactly one of "
                                     "{amount}, {number}, {percent}, {range}, {change}, {quantity} or a regex group "
                                     "(?P<value>...)"),
    ("value-and-extract.yaml", "7:9: fact \"amount\": signals[0]: a signal needs exactly one of `value` or "
                               "`extract`"),
    ("known-not-an-amount.yaml", "6:12: fact \"amount\": known: \"sixty-one\" is not an amount (write 61e9, 61bn "
                                 "or $61 billion, in USD)"),
    ("backwards-unordered.yaml", "8:20: fact \"funds\": signals[0].backwards: only applies to `ordered: true` facts"),
    ("unknown-trusted.yaml", "8:41: fact \"funds\": corroborate.trusted: no feed or feed tag is called \"oficial\" "
                             "(did you mean \"official\"?)"),
    ("unknown-guard.yaml", "8:63: fact \"aid\": signals[0].match.guards[1]: 'rumour' is not allowed here; use one "
                           "of 'question', 'negation', 'modal' or 'opinion'"),
    ("event-on-items.yaml", "3:5: alert \"drones\": on: `event` only applies to `on: {fact: ...}` and "
                            "`on: {facts: ...}`"),
    ("unknown-section.yaml", "1:1: unknown key \"faccts\" (did you mean \"facts\"?)"),
    ("status-extract.yaml", "7:18: fact \"aid\": signals[0].extract: a status fact takes `value`; `extract` reads "
                            "numbers (kind: number) and text (kind: text)"),
    ("to-not-an-amount.yaml", "5:29: alert \"big\": on.to: \"lots\" is not an amount for fact \"amount\""),
    ("unit-on-status.yaml", "2:3: fact \"aid\": `unit` only applies to kind: number"),
    ("placeholder-in-lookbehind.yaml", "5:15: alert \"amounts\": on.items.all[0]: the pattern '(?<=about {amount} )"
                                       "in aid' cannot be used: {amount} (at position 10) is inside a look-behind "
                                       "(?<=...) or (?<!...), which must match a fixed number of characters, and "
                                       "{amount} matches text of varying length"),
    ("placeholder-twice.yaml", "5:15: alert \"forces\": on.items.all[0]: the pattern '{number} troops and {number} "
                               "tanks' cannot be compiled: redefinition of group name 'num' as group 5; was group 1 "
                               "once {number} is filled in ({number} uses num, scale, short, letter). A term reads "
                               "one value: use one placeholder once, and give your own groups other names"),
    ("regex-ambiguous.yaml", "5:23: alert \"letters\": on.items.all[0]: the pattern '[[:alpha:]]+ aid' is ambiguous "
                             "at position 1: a [ just inside a [...] class is read as a plain [ today and may open a "
                             "nested class in future Pythons; write \\[ for a bracket (classes such as [:alpha:] do "
                             "not exist in Python)"),
    ("none-within-narrower.yaml", "8:22: alert \"senate-votes\": on.items.none_within: `none_within: clause` is "
                                  "narrower than `within: sentence`; `none` terms apply at least where the other "
                                  "terms meet"),
    ("repeat-too-large.yaml", "5:23: alert \"shouting\": on.items.all[0]: the pattern 'A{99999999999}' is not a valid "
                              "regular expression: the repetition number is too large"),
    ("take-without-range.yaml", "9:15: fact \"fed-upper\": signals[0].take: only applies to an `extract` that "
                                "reads {range}"),
    ("quantity-without-unit.yaml", "8:18: fact \"opec-cut\": signals[0].extract: {quantity} reads a number "
                                   "followed by the fact's own unit: give the fact `unit: {name: ..., words: [...]}` "
                                   "(the words the text writes it with), or read it with {number}"),
    ("unit-with-scale.yaml", "7:20: fact \"opec-cut\": unit: \"million barrels per day\" starts with the scale "
                             "\"million\": write the unit without it (\"barrels per day\"); the scale is read from "
                             "the text, so \"3.66 million barrels per day\" is 3660000 in it"),
    ("percent-without-unit.yaml", "7:18: fact \"ecb-deposit\": signals[0].extract: {percent} reads a level in "
                                  "percent: give the fact `unit: percent`"),
    ("change-for-a-level.yaml", "8:18: fact \"ecb-deposit\": signals[0].extract: {change} reads a change in points, "
                                "and this fact is a level in percent: read it with {percent} or {range}, or make a "
                                "fact of the change with `unit: bp` or `unit: pp`"),
    ("range-fact-reads-one-number.yaml", "9:18: fact \"fed-target\": signals[1].extract: this fact holds a range "
                                         "(signals[0] takes both ends of {range}), and this pattern reads one number, "
                                         "which cannot say which range: read {range} here too, or give signals[0] "
                                         "`take: lower` or `take: upper`"),
    ("known-not-a-range.yaml", "6:12: fact \"fed-target\": known: \"4.5%\" is one number, and this fact holds a "
                               "range (its signals take both ends of {range}): write it like 4.25%-4.5%, 4.25 to 4.5 "
                               "percent or 4.25..4.5"),
    ("fact-takes-one.yaml", "6:10: alert \"aid-or-funds\": on.fact: `fact` names one fact; for several write "
                            "`facts: [a, b]`, for every fact `facts: all`"),
    ("to-not-a-value-of-every-fact.yaml", "6:43: alert \"passed-or-signed\": on.to: \"signed\" is not one of the "
                                          "values of fact \"bill\" (did you mean \"signd\"?)"),
    ("unknown-fact-in-facts.yaml", "6:23: alert \"aid-and-funds\": on.facts[1]: unknown fact \"fundz\" "
                                   "(did you mean \"funds\"?)"),
    ("unknown-term-list.yaml", "5:32: alert \"bridge-news\": on.items.all[0]: no term list is called "
                               "\"bridge-word\" (did you mean \"bridge-words\"?)"),
    ("term-lists-in-a-circle.yaml", "3:30: term list \"shut-words\": [1]: the term lists use each other in a "
                                    "circle: closed-words -> shut-words -> closed-words"),
    ("feed-trusted-and-ignored.yaml", "8:5: fact \"bridge\": corroborate: feed \"city\" is in trusted and in "
                                      "ignore; a feed is trusted, ignored or confirm-only, not two of these"),
    ("unknown-ignored-feed.yaml", "2:38: settings.corroborate.ignore: no feed or feed tag is called \"blgo\" "
                                  "(did you mean \"blog\"?)"),
    # a broken block hides none of its own other problems (each fixture: every problem, in one pass)
    ("broken-alert-and-unknown-channel.yaml", [
        "3:24: alert \"drones\": on.items.all[0]: the pattern 'drones (' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 7",
        "4:14: alert \"drones\": notify: unknown channel \"hok\" (did you mean \"hook\"?)"]),
    ("broken-fact-and-its-other-problems.yaml", [
        "7:12: fact \"aid\": known: \"stallled\" is not one of the values (did you mean \"stalled\"?)",
        "8:29: fact \"aid\": corroborate.trusted: no feed or feed tag is called \"oficial\" "
        "(did you mean \"official\"?)",
        "11:23: fact \"aid\": signals[0].match.all[0]: the pattern 'aid (' is not a valid regular expression: "
        "missing ), unterminated subpattern at position 4",
        "12:16: fact \"aid\": signals[1].value: \"pased\" is not one of the values (did you mean \"passed\"?)"]),
    ("broken-channel-and-unset-env.yaml", [
        "2:3: channel \"team\": the environment variable WATCHER_TEST_SURELY_UNSET is not set",
        "4:13: channel \"team\": format: 'html' is not allowed here; use one of 'auto', 'markdown' or 'text'"]),
    ("broken-feed-and-its-header-and-tag.yaml", [   # and the tag it gives its feed still counts
        "4:15: feed \"wire\": interval: expected a duration such as 30s, 15m, 2h or 1d, got 'soon'",
        "6:30: feed \"wire\": headers.Authorization: the environment variable WATCHER_TEST_SURELY_UNSET is not set"]),
]


# Warnings: the rules load anyway; `watcher validate` prints them and fails on them with --strict.
WARNINGS = [
    ("guard-cancelled.yaml", "8:36: warning: fact \"rate\": signals[0].match.any[0]: the term 'sets?' can match "
                             "'set' of the modal cue 'set to' (and of 1 other cue: 'set for'): a cue inside the "
                             "signal's own term is ignored, so text such as \"set to ...\" would count here as if "
                             "the guard were off; write 'sets?(?! (to|for))' to leave the cue alone, or write the "
                             "whole cue into the term if you mean it"),
]


def test_every_fixture_has_an_expected_message():
    assert sorted(p.name for p in FIXTURES.glob("*.yaml")) == sorted(name for name, _ in EXPECTED + WARNINGS)


@pytest.mark.parametrize("name,message", WARNINGS, ids=[name for name, _ in WARNINGS])
def test_each_warning_has_its_exact_message_and_the_rules_still_load(tmp_path, name, message):
    shutil.copy(FIXTURES / name, tmp_path / name)
    ruleset = load_rules(tmp_path, check_url=check_url, environ={})
    assert [str(p) for p in ruleset.warnings] == [f"{tmp_path / name}:{message}"]


def test_the_suggested_term_leaves_the_cue_alone(tmp_path):
    text = (FIXTURES / "guard-cancelled.yaml").read_text().replace('"sets?"', '"sets?(?! (to|for))"')
    (tmp_path / "rates.yaml").write_text(text)
    ruleset = load_rules(tmp_path, environ={})
    assert ruleset.warnings == ()
    signal = ruleset.facts["rate"].signals[0]
    assert signal.matcher.match(Item(key="k", title="Bank set to raise rates to 5.5%", link=None, summary="")) is None
    assert signal.matcher.match(Item(key="k", title="Bank sets rates at 5.5%", link=None, summary="")) is not None


def test_an_alert_rule_with_guards_is_checked_too(rules_dir):
    write_rules(rules_dir, """\
        alerts:
          - name: rates
            on: {items: {all: ["bank"], any: ["expected"], guards: [modal]}}
    """)
    (warning,) = load_rules(rules_dir, environ={}).warnings
    assert str(warning).startswith(f"{rules_dir / 'rules.yaml'}:3:39: warning: alert \"rates\": on.items.any[0]: "
                                   "the term 'expected' can match 'expected' of the modal cue 'expected to': a cue "
                                   "inside the rule's own term is ignored")


def test_validate_prints_warnings_and_fails_on_them_only_when_strict(tmp_path):
    shutil.copy(FIXTURES / "guard-cancelled.yaml", tmp_path / "rates.yaml")
    result = run_cli("--rules", str(tmp_path), "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ") and result.stdout.rstrip().endswith("(1 warning)")
    assert "rates.yaml:8:36: warning: fact \"rate\": signals[0].match.any[0]: the term 'sets?'" in result.stderr
    strict = run_cli("--rules", str(tmp_path), "validate", "--strict")
    assert strict.returncode == 1
    assert strict.stderr.rstrip().endswith("1 warning in the rule files (--strict)")


def test_the_daemon_runs_rules_with_a_warning_and_logs_it_at_each_load(tmp_path, rules_dir):
    shutil.copy(FIXTURES / "guard-cancelled.yaml", rules_dir / "rates.yaml")

    async def scenario() -> None:
        async with Running(settings(tmp_path, rules_dir)) as daemon:
            assert "rate" in daemon.watcher.ruleset.facts
            assert await daemon.watcher.reload()

    with LogLines() as logs:
        asyncio.run(scenario())
    warned = logs.having("rule warning")
    assert len(warned) == 2, logs.text()
    assert all("rates.yaml:8:36: warning: fact" in line and "'sets?'" in line for line in warned)


def test_warnings_are_listed_with_the_problems_that_stop_a_load(tmp_path):
    for name in ("guard-cancelled.yaml", "unknown-key.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path, check_url=check_url, environ={})
    assert len(caught.value.problems) == 1 and len(caught.value.warnings) == 1
    assert str(caught.value).startswith("1 problem in the rule files (and 1 warning)\n")


@pytest.mark.parametrize("name,message", EXPECTED, ids=[name for name, _ in EXPECTED])
def test_each_problem_has_its_exact_message(tmp_path, name, message):
    shutil.copy(FIXTURES / name, tmp_path / name)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path, check_url=check_url, environ={})
    messages = [message] if isinstance(message, str) else message
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / name}:{m}" for m in messages]


def test_all_problems_of_all_files_are_reported_in_one_pass(tmp_path):
    for name in ("unknown-key.yaml", "bad-regex.yaml", "bad-yaml.yaml", "unknown-channel.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path, check_url=check_url, environ={})
    assert len(caught.value.problems) == 4
    assert str(caught.value).startswith("4 problems in the rule files\n")


def test_a_name_defined_in_two_files_names_both_places(rules_dir):
    write_rules(rules_dir, "feeds:\n  wire:\n    url: https://a.example/rss\n", "a.yaml")
    write_rules(rules_dir, "\nfeeds:\n  wire:\n    url: https://b.example/rss\n", "b.yaml")
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, environ={})
    (problem,) = caught.value.problems
    assert str(problem) == f'{rules_dir / "b.yaml"}:3:3: feed "wire": already defined at {rules_dir / "a.yaml"}:2:3'


def test_bundled_rules_validate_with_the_cli():
    result = run_cli("--rules", str(ROOT / "rules"), "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert "4 facts" in result.stdout


def test_validate_cli_exits_1_with_locations(tmp_path):
    shutil.copy(FIXTURES / "unknown-key.yaml", tmp_path / "unknown-key.yaml")
    result = run_cli("--rules", str(tmp_path), "validate")
    assert result.returncode == 1
    assert 'unknown-key.yaml:4:5: feed "wire": unknown key "intervall" (did you mean "interval"?)' in result.stderr


def test_env_default_and_console_channel(rules_dir):
    write_rules(rules_dir, "channels:\n  team: ${NOT_SET_ANYWHERE:-console}\n  ops: ${OPS_URL}\n")
    ruleset = load_rules(rules_dir, check_url=check_url, environ={"OPS_URL": "json://127.0.0.1:9/x"})
    assert ruleset.channels["team"].is_console
    assert ruleset.channels["ops"].url.reveal() == "json://127.0.0.1:9/x"
    assert "127.0.0.1" not in repr(ruleset.channels["ops"])


def test_yaml_1_2_keeps_no_and_on_as_text(rules_dir):
    write_rules(rules_dir, """\
        facts:
          answer:
            describe: a yes/no fact
            values: [yes, no]
            known: no
    """)
    assert load_rules(rules_dir, environ={}).facts["answer"].known == "no"


def test_one_broken_block_hides_nothing_else_in_its_file(rules_dir):
    write_rules(rules_dir, """\
        feeds:
          wire: {url: "https://wire.example/rss", intervall: 5m}
          other: {url: "https://other.example/rss"}
        facts:
          aid: {describe: aid, values: [stalled, passed], known: stalled, ordered: maybe}
        alerts:
          - name: broken
            on: {items: {all: ["("]}}
          - name: aid-moved
            on: {fact: aid, to: [pased]}
          - name: drones
            on: {items: {all: [drones]}, feeds: [wirre]}
            notify: [team]
    """)
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, environ={})
    found = [p.message for p in caught.value.problems]
    assert found == [
        'unknown key "intervall" (did you mean "interval"?)',
        "ordered: expected true or false, got 'maybe'",
        "on.items.all[0]: the pattern '(' is not a valid regular expression: missing ), unterminated subpattern "
        "at position 0",
        'on.to: "pased" is not one of the values of fact "aid" (did you mean "passed"?)',   # aid is broken, too
        'on.feeds: no feed or feed tag is called "wirre" (did you mean "wire"?)',
        'notify: unknown channel "team"',
    ]


def test_named_term_lists_are_used_in_place_and_shared_by_every_file(rules_dir):
    write_rules(rules_dir, """\
        terms:
          bridge-words: [bridge, crossing]
          shut-words: ["remains closed", {terms: closing-words}, {regex: "\\\\bshut\\\\b", case_sensitive: true}]
        """, "terms.yaml")
    write_rules(rules_dir, """\
        terms:
          closing-words: [closes, "closed to traffic"]
        facts:
          bridge:
            describe: the river bridge
            values: [open, closed]
            known: open
            signals:
              - value: closed
                match: {all: [river, {terms: bridge-words}], any: [{terms: shut-words}], scope: [title]}
        alerts:
          - name: bridge-news
            on: {items: {any: [{terms: bridge-words}, ferry], none: [{terms: closing-words}]}}
        """, "bridge.yaml")
    ruleset = load_rules(rules_dir, environ={})
    signal = ruleset.facts["bridge"].signals[0].matcher
    assert [t.source for t in signal.all] == ["river", "{terms: bridge-words}"]
    assert [t.source for t in signal.any] == ["remains closed", "closes", "closed to traffic", "\\bshut\\b"]
    # in `all` the list is one term any of its words satisfies (words that mean the same thing);
    # spliced into `any`, one of them is enough too
    assert signal.match(Item(key="k", title="River bridge crossing shut after the storm", link=None, summary=""))
    assert signal.match(Item(key="k", title="River crossing shut after the storm", link=None, summary=""))
    assert not signal.match(Item(key="k", title="River ferry shut after the storm", link=None, summary=""))
    assert not signal.match(Item(key="k", title="River bridge crossing Shut after the storm", link=None,
                                 summary=""))
    (rule,) = ruleset.item_rules
    assert [t.source for t in rule.matcher.any] == ["bridge", "crossing", "ferry"]
    assert [t.source for t in rule.matcher.none] == ["closes", "closed to traffic"]


def test_a_named_list_in_all_or_about_keeps_each_terms_case_rule(rules_dir):
    write_rules(rules_dir, """\
        terms:
          agency: [{words: WHO, case_sensitive: true}, world health organization]
        alerts:
          - name: emergencies
            on: {items: {about: [{terms: agency}], any: [emergency], within: sentence}}
        """)
    (rule,) = load_rules(rules_dir, environ={}).item_rules
    assert [t.source for t in rule.matcher.about] == ["{terms: agency}"]
    for title, fires in (("WHO declares an emergency", True), ("World Health Organization declares an emergency",
                                                                  True), ("Who declares an emergency?", False)):
        assert bool(rule.matcher.match(Item(key="k", title=title, link=None, summary=""))) is fires, title


def test_a_term_list_defined_in_two_files_names_both_places(rules_dir):
    write_rules(rules_dir, "terms:\n  bridge-words: [bridge]\n", "a.yaml")
    write_rules(rules_dir, "\nterms:\n  bridge-words: [crossing]\n", "b.yaml")
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, environ={})
    (problem,) = caught.value.problems
    assert str(problem) == (f'{rules_dir / "b.yaml"}:3:3: term list "bridge-words": already defined at '
                            f'{rules_dir / "a.yaml"}:2:3')


def test_a_broken_term_list_is_reported_once_where_it_is_defined(rules_dir):
    write_rules(rules_dir, """\
        terms:
          broken: ["(unclosed"]
          user: [x, {terms: broken}]
        alerts:
          - name: a
            on: {items: {any: [{terms: broken}, {terms: user}]}}
        """)
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, environ={})
    assert [(p.line, p.where) for p in caught.value.problems] == [(2, 'term list "broken"')]


def test_yaml_anchors_repeat_a_block_within_one_file(rules_dir):
    write_rules(rules_dir, """\
        facts:
          bridge:
            describe: the river bridge
            values: [open, closed]
            known: open
            signals:
              - value: closed
                match: &bridge {all: [bridge], any: [closes], scope: [title], within: sentence}
              - value: open
                match: {<<: *bridge, any: [reopens]}
        alerts:
          - name: bridge-news
            on: {items: *bridge}
        """)
    ruleset = load_rules(rules_dir, environ={})
    closed, reopened = ruleset.facts["bridge"].signals
    assert [t.source for t in reopened.matcher.all] == ["bridge"] and reopened.matcher.within == "sentence"
    assert [t.source for t in reopened.matcher.any] == ["reopens"]
    assert ruleset.item_rules[0].matcher.any == closed.matcher.any


def test_a_facts_own_corroborate_keeps_the_settings_feed_lists_unless_it_lists_its_own(rules_dir):
    write_rules(rules_dir, """\
        settings:
          corroborate: {sources: 2, ignore: [rumours], confirm_only: [aggregator]}
        feeds:
          blog: {url: "https://blog.example/rss", tags: [rumours]}
          aggregator: {url: "https://agg.example/rss"}
        facts:
          plain: {describe: a, known: x}
          stricter: {describe: b, known: x, corroborate: {sources: 3}}
          own: {describe: c, known: x, corroborate: {sources: 1, ignore: [], confirm_only: [blog]}}
        """)
    facts = load_rules(rules_dir, environ={}).facts
    assert [(f.corroborate.sources, sorted(f.corroborate.ignore), sorted(f.corroborate.confirm_only))
            for f in facts.values()] == [(2, ["blog"], ["aggregator"]), (3, ["blog"], ["aggregator"]),
                                         (1, [], ["blog"])]


def test_the_committed_json_schema_is_the_generated_one():
    from watcher.ruleset.schema import json_schema

    committed = (ROOT / "rules" / "watcher.schema.json").read_text()
    assert committed == json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", \
        "regenerate it: watcher schema > rules/watcher.schema.json"


def test_the_bundled_rule_files_follow_the_json_schema_and_name_it():
    import jsonschema
    from ruamel.yaml import YAML

    schema = json.loads((ROOT / "rules" / "watcher.schema.json").read_text())
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=watcher.schema.json\n"), path
        jsonschema.validate(YAML(typ="safe").load(path.read_text()), schema)


def test_the_json_schema_refuses_what_the_loader_refuses():
    import jsonschema

    schema = json.loads((ROOT / "rules" / "watcher.schema.json").read_text())
    for wrong in ({"feeds": {"wire": {"url": "https://x.example/", "intervall": "5m"}}},
                  {"facts": {"n": {"describe": "n", "known": "1", "signals": [{"value": "2", "extract": "{number}"}]}}},
                  {"alerts": [{"name": "a", "on": {"fact": "n", "items": {"all": ["x"]}}}]},
                  {"alerts": [{"name": "a", "on": {"items": {"all": [{"words": "x", "regex": "y"}]}}}]},
                  {"alerts": [{"name": "a", "on": {"fact": "n", "facts": ["m"]}}]},
                  {"alerts": [{"name": "a", "on": {"items": {"all": [{"terms": "x", "words": "y"}]}}}]},
                  {"terms": {"empty": []}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(wrong, schema)


def test_a_reload_says_by_name_what_was_added_removed_and_changed(rules_dir):
    write_rules(rules_dir, """\
        facts:
          aid: {describe: aid, values: [stalled, passed], known: stalled,
                signals: [{value: passed, match: {all: [passes]}}]}
          funds: {describe: funds, known: low}
    """)
    before = load_rules(rules_dir, environ={})
    write_rules(rules_dir, """\
        facts:
          aid: {describe: aid, values: [stalled, passed], known: stalled,
                signals: [{value: passed, match: {all: [passes], within: sentence}}]}
          chair: {describe: chair, known: Jack Reed}
    """)
    after = load_rules(rules_dir, environ={})
    assert after.diff(before) == {"facts_added": ["chair"], "facts_removed": ["funds"], "facts_changed": ["aid"]}
    assert after.diff(after) == {}


def test_a_term_only_its_compilation_refuses_is_a_located_problem_everywhere(tmp_path, rules_dir):
    """`{number} troops and {number} tanks` is a valid regular expression until its placeholders
    are filled in: `watcher validate`, `watcher explain` and a live reload each report it at its
    line and column (no traceback), and the daemon keeps running its last good rules."""
    good = "alerts:\n  - name: forces\n    on:\n      items:\n        all: [\"{number} troops\"]\n"
    rule_file = write_rules(rules_dir, good)
    broken = good.replace("{number} troops", "{number} troops and {number} tanks")
    where = f"{rule_file}:5:15: alert \"forces\": on.items.all[0]: the pattern '{{number}} troops and {{number}} tanks'"

    async def reload_it() -> None:
        async with Running(settings(tmp_path, rules_dir)) as daemon:
            digest = daemon.watcher.ruleset.digest
            rule_file.write_text(broken)
            assert not await daemon.watcher.reload()
            assert daemon.watcher.ruleset.digest == digest
            assert where in daemon.watcher.last_reload_error

    with LogLines() as logs:
        asyncio.run(reload_it())
    assert logs.having("rule reload failed; keeping the last good rules") and not logs.tracebacks

    validate = run_cli("--rules", str(rules_dir), "validate")
    explain = run_cli("--rules", str(rules_dir), "--db", str(tmp_path / "none.db"), "explain",
                      str(ROOT / "tests" / "data" / "feeds" / "aid-vote.xml"))
    for result in (validate, explain):
        assert result.returncode == 1 and where in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize("term,message", [
    ("(" * 500 + "aid" + ")" * 500, "nests groups 500 deep (at position 499); at most 100 are allowed"),
    ("(?<=of {amount} )in aid", "{amount} (at position 7) is inside a look-behind"),
    ("[{name}] named chair", "{name} (at position 1) is inside a [...] class"),
    ("\\\\{amount} in aid", "{amount} (at position 1) comes right after a backslash"),
    ("{name} and {name}", "redefinition of group name 'name'"),
    ("(?P<num>\\\\d+) troops, {number} tanks", "redefinition of group name 'num'"),
    ("(?(+1)aid|help)", "the group number '+1' in (?(...)...) will not be accepted"),
    ("[a&&b] aid", "&& inside a [...] class may become a set intersection"),
])
def test_terms_the_loader_crashed_or_warned_on_are_problems_at_their_place(rules_dir, term, message):
    write_rules(rules_dir, f'alerts:\n  - name: x\n    on:\n      items:\n        all: ["{term}"]\n')
    with pytest.raises(RuleError) as caught:
        load_rules(rules_dir, environ={})
    [problem] = caught.value.problems
    assert (problem.line, problem.col) == (5, 15) and message in problem.message, str(problem)
