"""The ``watcher`` command: a thin layer over ``Watcher`` and the store. Signals are handled here.

One module per group of commands (``daemon``, ``rules``, ``state``, ``facts``, ``outbox``, ``ops``,
``silence``), all registered
on the group in ``base``. Every command's help ends with an example; ``tests/test_docs.py``
checks that each command is in docs/commands.md, whose reference ``reference`` writes from the
help texts.
"""

from __future__ import annotations

from . import daemon, facts, ops, outbox, rules, silence, state  # noqa: F401  (registers the commands)
from .base import cli


def main() -> None:
    cli(prog_name="watcher")


__all__ = ["cli", "main"]
