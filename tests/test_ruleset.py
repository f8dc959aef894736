"""Loading rule files: one fixture file per kind of problem, each with its exact message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, write_rules
from watcher.deliver import check_url
from watcher.errors import RuleError
from watcher.ruleset import load_rules

FIXTURES = Path(__file__).parent / "data" / "rules-errors"

EXPECTED = [
    ("bad-duration.yaml", "4:15: feed \"wire\": interval: expected a duration such as 30s, 15m, 2h or 1d, got 'soon'"),
    ("bad-regex.yaml", "5:15: alert \"broken\": on.items.all[0]: the pattern 'senate (passes' is not a valid "
                       "regular expression: missing ), unterminated subpattern at position 7"),
    ("bad-template.yaml", "4:12: alert \"drones\": title: template error on its line 1: unexpected end of "
                          "template, expected 'end of print statement'."),
    ("bad-url.yaml", "3:10: feed \"wire\": url: 'example.com/rss' is not an http:// or https:// address"),
    ("bad-network.yaml", "4:5: feed \"intranet\": allow_addresses: 'intranet' is not an IP address or network "
                         "(such as 127.0.0.1 or 10.0.0.0/8)"),
    ("bad-yaml.yaml", "5:1: this is not valid YAML: expected ',' or ']', but got '<stream end>' "
                      "(in the [ list that starts at line 4, column 11)"),
    ("duplicate-key.yaml", "4:3: the key 'wire' appears twice in the same block (the block starts on line 2)"),
    ("empty-match.yaml", "3:10: alert \"drones\": on.items: a match needs at least one term under `all` or `any`"),
    ("known-not-a-value.yaml", "5:12: fact \"aid\": known: \"stallled\" is not one of the values "
                               "(did you mean \"stalled\"?)"),
    ("not-a-mapping.yaml", "1:1: a rule file is a block of sections: settings, feeds, facts, alerts, channels"),
    ("on-both.yaml", "5:5: alert \"both\": on: `on` needs exactly one of `fact` or `items`"),
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
                                     "{amount}, {number} or a regex group (?P<value>...)"),
    ("value-and-extract.yaml", "7:9: fact \"amount\": signals[0]: a signal needs exactly one of `value` or "
                               "`extract`"),
    ("known-not-an-amount.yaml", "6:12: fact \"amount\": known: \"sixty-one\" is not an amount (write 61e9, 61bn "
                                 "or $61 billion, in USD)"),
    ("backwards-unordered.yaml", "8:20: fact \"funds\": signals[0].backwards: only applies to `ordered: true` facts"),
    ("unknown-trusted.yaml", "8:41: fact \"funds\": corroborate.trusted: no feed or feed tag is called \"oficial\" "
                             "(did you mean \"official\"?)"),
    ("unknown-guard.yaml", "8:63: fact \"aid\": signals[0].match.guards[1]: 'rumour' is not allowed here; use one "
                           "of 'question', 'negation', 'modal' or 'opinion'"),
    ("event-on-items.yaml", "3:5: alert \"drones\": on: `event` only applies to `on: {fact: ...}`"),
    ("unknown-section.yaml", "1:1: unknown key \"faccts\" (did you mean \"facts\"?)"),
    ("status-extract.yaml", "7:18: fact \"aid\": signals[0].extract: a status fact takes `value`; `extract` reads "
                            "numbers (kind: number) and text (kind: text)"),
    ("to-not-an-amount.yaml", "5:29: alert \"big\": on.to: \"lots\" is not an amount for fact \"amount\""),
    ("unit-on-status.yaml", "2:3: fact \"aid\": `unit` only applies to kind: number"),
]


def test_every_fixture_has_an_expected_message():
    assert sorted(p.name for p in FIXTURES.glob("*.yaml")) == sorted(name for name, _ in EXPECTED)


@pytest.mark.parametrize("name,message", EXPECTED, ids=[name for name, _ in EXPECTED])
def test_each_problem_has_its_exact_message(tmp_path, name, message):
    shutil.copy(FIXTURES / name, tmp_path / name)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path, check_url=check_url, environ={})
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / name}:{message}"]


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
        'on.feeds: no feed or feed tag is called "wirre" (did you mean "wire"?)',
        'notify: unknown channel "team"',
    ]


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
                  {"alerts": [{"name": "a", "on": {"items": {"all": [{"words": "x", "regex": "y"}]}}}]}):
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
