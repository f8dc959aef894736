"""Commands about alerts and channels: the outbox, retries, test messages."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from ..app import Watcher
from ..errors import WatcherError
from ..timefmt import utcnow
from .base import Context, _fail, _store, _when, cli


@cli.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only alerts with a failed or dead delivery.")
@click.option("--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def alerts(ctx: click.Context, failed: bool, limit: int, as_json: bool) -> None:
    """Recent alerts and the state of their delivery to each channel.

    \b
    Example:
        watcher alerts --failed
        watcher alerts retry --all
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..store import outbox

    store = _store(ctx.obj)
    try:
        rows = store.run(outbox.alert_rows, states=["failed", "dead"] if failed else None, limit=limit)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        states = ", ".join(f"{d['channel']}={d['state']}" for d in row["deliveries"])
        click.echo(f"#{row['id']} {_when(row['created_at'])} [{row['severity']}] {row['rule']}: {row['title']}"
                   f"\n    {states}")
        for d in row["deliveries"]:
            if d["last_error"] and d["state"] != "sent":
                click.echo(f"    {d['channel']}: {d['last_error']}")


@alerts.command("retry")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every failed and dead delivery.")
@click.pass_obj
def alerts_retry(obj: Context, delivery_ids: tuple[int, ...], everything: bool) -> None:
    """Queue failed or dead deliveries to be sent again at once (the daemon picks them up).

    \b
    Example:
        watcher alerts retry --all
    """
    from ..store import outbox

    if not delivery_ids and not everything:
        raise click.UsageError("name delivery ids, or use --all")
    store = _store(obj)
    try:
        count = store.run(outbox.retry, utcnow(), None if everything else delivery_ids)
    finally:
        store.close()
    click.echo(f"{count} deliveries queued again")


@cli.command("notify-test")
@click.argument("channel")
@click.pass_obj
def notify_test(obj: Context, channel: str) -> None:
    """Send a test message to one channel now and say whether it arrived.

    \b
    Example:
        POLICY_TEAM_APPRISE_URL='mailto://...' watcher notify-test policy-team
    """
    watcher = Watcher(obj.settings())
    try:
        ruleset, channels = watcher.load_rules()
    except WatcherError as exc:
        raise _fail(exc) from None
    if channel not in channels.names:
        raise click.ClickException(f'no channel "{channel}"; channels: {", ".join(sorted(channels.names))}')
    result = asyncio.run(channels.send(channel, title="watcher test message",
                                       body=f"This is a test of channel **{channel}** from watcher.",
                                       text=f"This is a test of channel {channel} from watcher."))
    click.echo(f"{channel} ({channels.describe(channel)}): {'sent' if result.ok else 'FAILED'}: {result.detail}")
    if not result.ok:
        sys.exit(1)
