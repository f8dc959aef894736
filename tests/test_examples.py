"""The rule examples of docs/examples/ on labelled stories of several weeks (tests/data/stories/).

Each story is served by a local feed server as its items' publication times come and polled
three times a day through the daemon's own pass (``stories.tell``), with alerts sent through
apprise to a real webhook receiver. What must hold: the fact moves exactly as labelled (each
transition on its day, to its value), nothing else moves it, and every transition alerts once.
"""

from __future__ import annotations

import re
import shutil

import pytest

import stories
from conftest import ROOT, doc_text, run_cli

STORIES = ROOT / "tests" / "data" / "stories"
EXAMPLES = ROOT / "docs" / "examples"
CASES = [("rail-strike", "northline-strike.yaml"), ("fed-rate", "fed-target-range.yaml"), ("opec-cut", "opec-cut.yaml")]


@pytest.mark.slow
@pytest.mark.parametrize("example,story_file", CASES, ids=[c[0] for c in CASES])
def test_an_example_follows_its_labelled_story(tmp_path, feed_server, receiver, monkeypatch, example, story_file):
    story = stories.load(STORIES / story_file)
    rules = tmp_path / "rules"
    shutil.copytree(EXAMPLES / example, rules)
    # the example's own feeds, by the same names (`corroborate` lists them), at the local server
    named = stories.load(rules / "feeds.yaml")["feeds"]
    assert sorted(named) == stories.feeds(story)
    (rules / "feeds.yaml").write_text("feeds:\n" + "".join(f'  {name}: {{url: "{feed_server.url(f"/{name}.xml")}"}}\n'
                                                           for name in named) + "channels:\n  desk: ${DESK_URL}\n")
    monkeypatch.setenv("DESK_URL", receiver.url("/desk"))
    history = stories.tell(story, rules, tmp_path, feed_server)
    assert stories.moves(story, history) == stories.expected(story)
    titles = receiver.titles()
    assert len(titles) == len(story["transitions"]) == len(set(titles)), titles


def test_the_rules_doc_shows_the_examples_as_they_are():
    rules_doc = doc_text("rules.md")
    for example, name in (("rail-strike", "strike.yaml"), ("fed-rate", "fed.yaml"), ("opec-cut", "opec.yaml")):
        text = (EXAMPLES / example / name).read_text()
        body = text.split("\n\n", 1)[1] if text.startswith("#") else text   # the file's header comment stays out
        assert body in rules_doc, f"docs/rules.md's copy of docs/examples/{example}/{name} differs from the file"


def _normalised(text: str) -> str:
    return re.sub(r"until \d{4}-\d\d-\d\d \d\d:\d\d UTC", "until <time>", text)


def test_the_explain_example_shows_what_explain_prints(tmp_path):
    shown = re.search(r"```\n\$ watcher --rules docs/examples/fed-rate explain (\S+)\n(.*?)```", doc_text("rules.md"),
                      re.DOTALL)
    assert shown is not None
    result = run_cli("--rules", str(EXAMPLES / "fed-rate"), "--db", str(tmp_path / "none.db"), "explain",
                     str(ROOT / shown.group(1)))
    assert result.returncode == 0, result.stderr
    assert _normalised(result.stdout) == _normalised(shown.group(2))


def test_the_complete_file_validates(tmp_path):
    section = doc_text("rules.md").split("## A complete file", 1)[1]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1))
    result = run_cli("--rules", str(rules), "--db", str(tmp_path / "none.db"), "validate")
    assert result.returncode == 0, result.stdout + result.stderr
