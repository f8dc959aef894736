"""The command reference of docs/commands.md, written from each command's own ``--help``.

``python -m watcher.cli.reference`` (``make docs``) rewrites the part of docs/commands.md between
its two markers; the text around them is written by hand. ``--check`` only says whether the file
is current (``tests/test_docs.py`` fails the same way), so help texts and the manual cannot drift.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click

from . import cli

BEGIN = "<!-- command reference: written by `python -m watcher.cli.reference` (make docs) from --help; do not edit -->"
END = "<!-- end of command reference -->"
WIDTH = 98           # what --help prints in a wide terminal: the max_content_width of 100, less the 2 click keeps
DEFAULT_PATH = Path("docs/commands.md")
REGENERATE = "make docs (or .venv/bin/python -m watcher.cli.reference)"


def commands(group: click.Group = cli, path: tuple[str, ...] = ("watcher",)) -> Iterator[tuple[str, click.Command]]:
    """Every command under ``group`` as (``watcher facts set``, command), the group first, sorted by name."""
    yield " ".join(path), group
    for name in sorted(group.commands):
        command = group.commands[name]
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def help_text(path: str, command: click.Command) -> str:
    """What ``PATH --help`` prints, at a fixed width so the reference does not depend on the terminal."""
    names = path.split()
    # the commands' own settings (-h as well as --help, the width); children inherit them
    ctx = click.Context(cli, info_name=names[0], **{**cli.context_settings, "terminal_width": WIDTH})
    for name in names[1:]:
        parent = ctx.command
        assert isinstance(parent, click.Group)
        child = parent.commands[name]
        ctx = click.Context(child, info_name=name, parent=ctx, **child.context_settings)
    assert ctx.command is command
    return command.get_help(ctx)


def reference() -> str:
    """The generated part: one section per command, its help in a code block."""
    sections = [f"## {path}\n\n```\n{help_text(path, command)}\n```\n" for path, command in commands()]
    return "\n".join(sections)


def render(document: str) -> str:
    """``document`` (docs/commands.md) with the part between the markers written afresh."""
    if BEGIN not in document or END not in document:
        raise ValueError(f"the command reference's markers are missing: {BEGIN!r} ... {END!r}")
    head, rest = document.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{BEGIN}\n\n{reference()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Write docs/commands.md (or the file given); with --check, exit 1 if it is not current."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    paths = [a for a in args if a != "--check"]
    path = Path(paths[0]) if paths else DEFAULT_PATH
    current = path.read_text(encoding="utf-8")
    fresh = render(current)
    if check:
        if fresh != current:
            print(f"{path} is out of date with the commands' --help: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        path.write_text(fresh, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
