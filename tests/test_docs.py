"""The README documents every command, and every command's help carries an example."""

from __future__ import annotations

import click

from conftest import ROOT
from watcher.cli import cli


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
