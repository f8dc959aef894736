"""Commands for operators: backups of the state."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import WatcherError
from .base import Context, _fail, cli


@cli.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_obj
def backup(obj: Context, path: Path, force: bool) -> None:
    """Copy the state database to PATH with SQLite's online backup; safe while the daemon runs.

    The copy is one consistent snapshot, a single self-contained file, checked for integrity
    before it gets its final name. Restore it by stopping the daemon and moving it into place.

    \b
    Example:
        watcher --db state/watcher.db backup backups/watcher-$(date +%F).db
    """
    from ..store import upkeep

    try:
        result = upkeep.backup(obj.db, path, overwrite=force)
    except WatcherError as exc:
        raise _fail(exc) from None
    click.echo(f"backed up {obj.db} to {result.path} ({result.bytes / 1e6:.1f} MB, {result.pages} pages, "
               "integrity ok)")
