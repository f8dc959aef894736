"""Commands that show the state of feeds (the fact ledger has its own module, ``facts``)."""

from __future__ import annotations

import json
from datetime import datetime

import click

from ..timefmt import iso
from .base import Context, _store, _table, _when, cli


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def feeds(obj: Context, as_json: bool) -> None:
    """List feeds with their health: last status, error streak, last success, next poll.

    \b
    Example:
        watcher feeds
    """
    from ..store import feeds as feed_table

    store = _store(obj)
    try:
        rows = store.run(feed_table.feed_rows)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([{k: iso(v) if isinstance(v, datetime) else v for k, v in r.__dict__.items()}
                               for r in rows], indent=2))
        return
    _table([[r.name, r.status or "never polled", r.error_streak, _when(r.last_success_at),
             _when(r.next_poll_at), (r.error or "")[:60]] for r in rows],
           ["feed", "status", "errors", "last success", "next poll", "last error"])
