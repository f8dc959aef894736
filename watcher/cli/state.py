"""Commands that show the state of feeds (the fact ledger has its own module, ``facts``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from ..timefmt import format_duration, iso
from .base import Context, _store, _table, _when, cli


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Every field of every feed row, as JSON.")
@click.pass_obj
def feeds(obj: Context, name: str | None, as_json: bool) -> None:
    """List feeds with their health (ok, failing, gone: the server answered 410, new: never
    polled, as on the status page), last outcome and HTTP status, error streak, the interval in
    force and why (rules, adaptive, server, backoff, retry-after, gone), how long the last fetch
    took, last success, next poll, and the last error or a note (a document cut at the limit of
    2,000 items per poll, a permanent redirect).
    With NAME, every detail of one feed.

    \b
    Example:
        watcher feeds
        watcher feeds kyiv-independent
    """
    from ..store import feeds as feed_table

    store = _store(obj)
    try:
        rows = store.run(feed_table.feed_rows)
    finally:
        store.close()
    if name is not None:
        rows = [r for r in rows if r.name == name]
        if not rows:
            raise click.ClickException(f'no feed "{name}" in the state database')
    if as_json:
        click.echo(json.dumps([{"health": r.health, **{k: iso(v) if isinstance(v, datetime) else v
                                                       for k, v in r.__dict__.items()}} for r in rows], indent=2))
        return
    if name is not None:
        for key, value in {"health": rows[0].health, **rows[0].__dict__}.items():
            click.echo(f"{key:17s} {_when(value) if isinstance(value, datetime) else _show(value)}")
        return
    _table([[r.name, r.health, _status(r), r.error_streak, _every(r), _fetch(r), _when(r.last_success_at),
             _when(r.next_poll_at), (r.error or r.note or "")[:70]] for r in rows],
           ["feed", "health", "status", "errors", "every", "fetch", "last success", "next poll", "last error / note"])


def _status(row: Any) -> str:
    if row.status is None:
        return "never polled"
    return f"{row.status} ({row.http_status})" if row.http_status else row.status


def _fetch(row: Any) -> str:
    """How long the last fetch took (the slow ones take a lane of their own: see docs/polling.md, Limits)."""
    return "-" if row.fetch_s is None else f"{row.fetch_s:.2f}s"


def _every(row: Any) -> str:
    if row.interval_s is None:
        return "-"
    return f"{format_duration(round(row.interval_s))} {row.interval_reason or ''}".strip()


def _show(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)

