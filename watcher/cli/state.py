"""Commands that show and correct the state: feeds and the fact ledger."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from ..app import Watcher
from ..errors import WatcherError
from ..timefmt import format_duration, iso, utcnow
from .base import Context, _fail, _store, _table, _when, cli


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Every field of every feed row, as JSON.")
@click.pass_obj
def feeds(obj: Context, name: str | None, as_json: bool) -> None:
    """List feeds with their health: last outcome and HTTP status, error streak, the interval in
    force and why (rules, adaptive, server, backoff, retry-after, gone), last success, next poll.
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
        click.echo(json.dumps([{k: iso(v) if isinstance(v, datetime) else v for k, v in r.__dict__.items()}
                               for r in rows], indent=2))
        return
    if name is not None:
        for key, value in rows[0].__dict__.items():
            click.echo(f"{key:17s} {_when(value) if isinstance(value, datetime) else _show(value)}")
        return
    _table([[r.name, _status(r), r.error_streak, _every(r), _when(r.last_success_at), _when(r.next_poll_at),
             (r.error or (f"moved permanently to {r.moved_to}" if r.moved_to else ""))[:70]] for r in rows],
           ["feed", "status", "errors", "every", "last success", "next poll", "last error / note"])


def _status(row: Any) -> str:
    if row.status is None:
        return "never polled"
    return f"{row.status} ({row.http_status})" if row.http_status else row.status


def _every(row: Any) -> str:
    if row.interval_s is None:
        return "-"
    return f"{format_duration(round(row.interval_s))} {row.interval_reason or ''}".strip()


def _show(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def facts(ctx: click.Context, as_json: bool) -> None:
    """Show the ledger: every fact's value, since when, and the evidence for it.

    \b
    Example:
        watcher facts
        watcher facts history us-aid-package
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..store import ledger

    store = _store(ctx.obj)
    try:
        rows = store.run(ledger.fact_rows)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['name']}: {row['value']}  (since {_when(row['since_at'])}, {row['source']})")
        for ev in row["evidence"]:
            click.echo(f"    - {ev['title']} [{ev['feed']}] {ev['link'] or ''}")


@facts.command("history")
@click.argument("fact", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def facts_history(obj: Context, fact: str | None, as_json: bool) -> None:
    """Every change of a fact (or of all facts), newest first, with its evidence.

    \b
    Example:
        watcher facts history us-aid-package
    """
    from ..store import ledger

    store = _store(obj)
    try:
        entries = store.run(ledger.fact_history, fact)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([{"id": e.id, "fact": e.fact, "old": e.old, "new": e.new, "at": iso(e.at),
                                "cause": e.cause, "note": e.note, "rules_hash": e.rules_hash,
                                "evidence": [{"feed": v.feed, "title": v.title, "link": v.link, "quote": v.quote}
                                             for v in e.evidence]} for e in entries], indent=2))
        return
    for e in entries:
        click.echo(f"{_when(e.at)}  {e.fact}: {e.old or '(none)'} -> {e.new}  [{e.cause}"
                   f"{', rules ' + e.rules_hash if e.rules_hash else ''}]{'  ' + e.note if e.note else ''}")
        for v in e.evidence:
            click.echo(f"    - {v.title} [{v.feed}] {v.link or ''}\n      \"{v.quote}\"")


@facts.command("set")
@click.argument("fact")
@click.argument("value")
@click.option("--note", default="", help="Why: recorded in the history.")
@click.option("--alert/--no-alert", default=False, show_default=True,
              help="Send the fact's change alerts as if a signal had moved it.")
@click.pass_obj
def facts_set(obj: Context, fact: str, value: str, note: str, alert: bool) -> None:
    """Set a fact's value by hand (an operator's correction), recorded in its history.

    \b
    Example:
        watcher facts set us-aid-package signed --note "confirmed on whitehouse.gov"
    """
    from ..alerts import fact_alerts
    from ..models import FactChange
    from ..pipeline import enqueue_drafts
    from ..store import ledger

    watcher = Watcher(obj.settings())
    try:
        ruleset, _ = watcher.load_rules()
    except WatcherError as exc:
        raise _fail(exc) from None
    spec = ruleset.facts.get(fact)
    if spec is None:
        raise click.ClickException(f'no fact "{fact}" in the rules; facts: {", ".join(sorted(ruleset.facts))}')
    if spec.values and value not in spec.values:
        raise click.ClickException(f'"{value}" is not a value of {fact}; values: {", ".join(spec.values)}')
    store = _store(obj)
    now = utcnow()

    def apply(db: Any) -> tuple[str | None, int]:
        with db.atomic():
            state = ledger.known_facts(db).get(fact)
            old = state.value if state else spec.known
            if old == value:
                return old, 0
            change = FactChange(fact, old, value, now, "operator", note=note, rules_hash=ruleset.digest,
                                old_since=state.since if state else None)
            change_id = ledger.save_change(db, change)
            queued = enqueue_drafts(db, ruleset, fact_alerts(ruleset, change, change_id), now) if alert else 0
            return old, queued

    try:
        old, queued = store.run(apply)
    finally:
        store.close()
    if old == value:
        click.echo(f"{fact} is already {value}; nothing recorded")
    else:
        click.echo(f"{fact}: {old} -> {value} (recorded{f'; {queued} alerts queued' if queued else ''})")
