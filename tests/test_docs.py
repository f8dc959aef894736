"""The README documents every command, and every command's help carries an example."""

from __future__ import annotations

import shutil

import click
import pytest

from conftest import ROOT
from watcher.cli import cli
from watcher.ruleset import load_rules


def _commands(group: click.Group, prefix: str = "watcher"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _ in _commands(cli) if f"`{name}" not in readme]
    assert missing == []


def test_every_command_help_has_an_example():
    missing = [name for name, command in _commands(cli) if "Example:" not in (command.help or "")]
    assert missing == []


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0].strip() for b in quick.split("```sh")[1:]]
    assert blocks == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _yaml_blocks(heading: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    part = readme.split(f"\n{heading}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in part.split("```yaml\n")[1:]]


@pytest.mark.parametrize("heading", ["### Named term lists and YAML anchors", "### Facts"])
def test_the_readme_examples_of_a_section_load(tmp_path, heading):
    blocks = _yaml_blocks(heading)
    assert blocks
    for n, block in enumerate(blocks):
        folder = tmp_path / f"example-{n}"
        folder.mkdir()
        (folder / "rules.yaml").write_text(block)
        load_rules(folder, environ={})


def test_the_readme_alert_rules_on_several_facts_load_with_the_bundled_rules(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    example = next(b for b in _yaml_blocks("### Alerts and templates") if "facts: all" in b)
    (folder / "more-alerts.yaml").write_text(example)
    rules = load_rules(folder, channels=False)
    assert rules.alerts["every-dispute"].facts == frozenset(rules.facts)
