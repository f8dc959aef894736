"""The manual: README.md is its front page and docs/*.md its files. Every command is in
docs/commands.md, whose reference is the commands' own --help; every command's help carries an
example; every link between the files leads somewhere; the examples of a section load. (The
README's fact rule runs through real feeds in test_scenario.py.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pytest

from conftest import DOCS, ROOT, doc_section, doc_text
from watcher.cli import cli, reference
from watcher.ruleset import load_rules


def _commands(group: click.Group, prefix: str = "watcher"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def test_every_command_is_in_the_commands_doc():
    """In the table written by hand, which says what each command is for (the generated
    reference below it has every command by construction)."""
    by_hand = doc_text("commands.md").split(reference.BEGIN, 1)[0]
    missing = [name for name, _ in _commands(cli) if f"`{name}" not in by_hand]
    assert missing == []


def test_the_command_reference_is_the_commands_help():
    current = doc_text("commands.md")
    assert reference.render(current) == current, \
        f"docs/commands.md is out of date with the commands' --help: run {reference.REGENERATE}"
    for name, _ in _commands(cli):
        assert f"\n## {name}\n\n```\nUsage: {name} [OPTIONS]" in current


def test_the_command_reference_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "commands.md"
    # the reference of a command that is gone, inside the generated part
    stale.write_text(doc_text("commands.md").replace(reference.END, "## watcher gone\n\n" + reference.END))
    assert reference.main(["--check", str(stale)]) == 1
    assert "make docs" in capsys.readouterr().err
    assert reference.main([str(stale)]) == 0
    assert stale.read_text() == doc_text("commands.md")


def test_every_command_help_has_an_example():
    missing = [name for name, command in _commands(cli) if "Example:" not in (command.help or "")]
    assert missing == []


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0].strip() for b in quick.split("```sh")[1:]]
    assert blocks == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_is_a_front_page_that_maps_every_doc():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10_500
    unmapped = [path.name for path in sorted(DOCS.glob("*.md")) if f"](docs/{path.name})" not in readme]
    assert unmapped == []


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    anchors, fenced = set(), False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


def _broken_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)       # code is not markdown
    text = re.sub(r"`[^`\n]*`", "", text)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue                                                       # https:, mailto:
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in _anchors(linked.read_text())):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def test_every_relative_link_of_the_manual_leads_to_a_file_and_heading():
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    broken = {str(page.relative_to(ROOT)): _broken_links(page) for page in pages}
    assert {page: links for page, links in broken.items() if links} == {}


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## A part: `x`\n\n```\n# not a heading\n```\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#a-part-x) [ok](#here) [ok](https://example.org/x#y) `[code](nowhere.md)`\n"
                    "# Here\n[gone](gone.md) [no heading](other.md#not-a-heading) [no anchor](#there)\n")
    assert _broken_links(page) == ["gone.md: no such file",
                                   "other.md#not-a-heading: no heading #not-a-heading in other.md",
                                   "#there: no heading #there in page.md"]


def _yaml_blocks(doc: str, heading: str) -> list[str]:
    part = doc_section(doc, heading)
    return [block.split("```", 1)[0] for block in part.split("```yaml\n")[1:]]


@pytest.mark.parametrize("doc,heading", [("rules.md", "## Named term lists and YAML anchors"), ("facts.md", "# Facts")])
def test_the_examples_of_a_section_load(tmp_path, doc, heading):
    blocks = _yaml_blocks(doc, heading)
    assert blocks
    for n, block in enumerate(blocks):
        folder = tmp_path / f"example-{n}"
        folder.mkdir()
        (folder / "rules.yaml").write_text(block)
        load_rules(folder, environ={})


def test_the_alert_rules_on_several_facts_load_with_the_bundled_rules(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", folder)
    example = next(b for b in _yaml_blocks("alerts.md", "# Alerts and templates") if "facts: all" in b)
    (folder / "more-alerts.yaml").write_text(example)
    rules = load_rules(folder, channels=False)
    assert rules.alerts["every-dispute"].facts == frozenset(rules.facts)

