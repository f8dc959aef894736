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
@click.option("--suppressed", is_flag=True, help="Only alerts with a suppressed delivery (silenced, realert...).")
@click.option("--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def alerts(ctx: click.Context, failed: bool, suppressed: bool, limit: int, as_json: bool) -> None:
    """Recent alerts and the state of their delivery to each channel.

    States: pending (waiting, or held for quiet hours or a digest), sent, failed (retried with
    backoff), dead (given up), suppressed (not sent on purpose; the reason is shown).

    \b
    Example:
        watcher alerts --failed
        watcher alerts retry --all
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..store import outbox

    states = (["failed", "dead"] if failed else []) + (["suppressed"] if suppressed else [])
    store = _store(ctx.obj)
    try:
        rows = store.run(outbox.alert_rows, states=states or None, limit=limit)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        states_text = ", ".join(f"{d['channel']}={d['state']}" for d in row["deliveries"]) or "no channel"
        click.echo(f"#{row['id']} {_when(row['created_at'])} [{row['severity']}] {row['rule']}: {row['title']}"
                   f"\n    {states_text}")
        for d in row["deliveries"]:
            why = d["last_error"] if d["state"] in ("failed", "dead") else d["note"]
            if why and d["state"] != "sent":
                click.echo(f"    {d['channel']} (delivery {d['id']}): {why}")


@alerts.command("show")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def alerts_show(obj: Context, alert_id: int, as_json: bool) -> None:
    """One alert: its message, each delivery's state (with, while it waits, when it is tried
    next), and every delivery attempt with each service's answer.

    \b
    Example:
        watcher alerts show 42
    """
    from ..store import outbox

    store = _store(obj)
    try:
        alert = store.run(outbox.alert_detail, alert_id)
    finally:
        store.close()
    if alert is None:
        raise click.ClickException(f"no alert #{alert_id}")
    if as_json:
        click.echo(json.dumps(alert, indent=2))
        return
    click.echo(f"#{alert['id']} {_when(alert['created_at'])} [{alert['severity']}] {alert['rule']} "
               f"({alert['kind']}{', fact ' + alert['fact'] if alert['fact'] else ''}"
               f"{', feed ' + alert['feed'] if alert['feed'] else ''})\n{alert['title']}\n\n{alert['text']}\n")
    for d in alert["deliveries"]:
        waiting = d["state"] in ("pending", "failed")   # OPEN: the daemon tries it at next_attempt_at
        click.echo(f"delivery {d['id']} to {d['channel']}: {d['state']}, {d['attempts']} attempts"
                   f"{', sent ' + _when(d['sent_at']) if d['sent_at'] else ''}"
                   f"{', next attempt ' + _when(d['next_attempt_at']) + ' UTC' if waiting else ''}")
        if d["note"] or d["last_error"]:
            click.echo(f"    {d['note'] or d['last_error']}")
        for a in d["attempts_log"]:
            click.echo(f"    {_when(a['at'])} {a['status']:<11} {a['target']} {a['detail']}".rstrip())


@alerts.command("retry")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every failed and dead delivery.")
@click.pass_obj
def alerts_retry(obj: Context, delivery_ids: tuple[int, ...], everything: bool) -> None:
    """Queue failed or dead deliveries to be sent again at once (the daemon picks them up).

    Give the delivery ids shown by `watcher alerts --failed`, or --all.

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
    """Send a test message to one channel now and say whether each of its services took it.
    Only this channel's secrets need to be set.

    \b
    Example:
        POLICY_TEAM_APPRISE_URL='mailto://...' watcher notify-test policy-team
    """
    watcher = Watcher(obj.settings())
    try:
        ruleset, channels = watcher.load_rules(channels={channel})
    except WatcherError as exc:
        raise _fail(exc) from None
    if channel not in channels.names:
        known = sorted(set(ruleset.channels) | channels.names)
        raise click.ClickException(f'no channel "{channel}"; channels: {", ".join(known)}')
    result = asyncio.run(channels.send(channel, title="watcher test message",
                                       body=f"This is a test of channel **{channel}** from watcher.",
                                       text=f"This is a test of channel {channel} from watcher."))
    click.echo(f"{channel} ({channels.describe(channel)}): {'sent' if result.ok else 'FAILED'}: {result.detail}")
    if not result.ok:
        sys.exit(1)
