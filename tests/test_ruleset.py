"""Loading rule files: one fixture file per kind of problem, each with its exact message."""

from __future__ import annotations

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
    assert "3 facts" in result.stdout


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
