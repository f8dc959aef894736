"""Commands that run the pipeline: the daemon, one pass, and the health check."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

import click

from ..app import Settings, Watcher
from ..errors import WatcherError
from ..timefmt import utcnow
from .base import Context, _fail, _store, cli


@cli.command()
@click.option("--parse-workers", type=click.IntRange(0, 64), default=2, show_default=True,
              help="Processes that parse feeds (0: parse in a thread).")
@click.pass_obj
def run(obj: Context, parse_workers: int) -> None:
    """Run the daemon: poll every feed on its interval, update facts, deliver alerts.

    Stops cleanly on SIGTERM or Ctrl-C (polls in flight finish first); SIGHUP, or saving a
    rule file, reloads the rules (a broken file is reported and the last good rules keep
    running).

    \b
    Example:
        POLICY_TEAM_APPRISE_URL='slack://T000/B000/XXXX/#policy' watcher run
    """
    try:
        asyncio.run(_run(obj.settings(parse_workers=parse_workers)))
    except WatcherError as exc:
        raise _fail(exc) from None


async def _run(settings: Settings) -> None:
    watcher = Watcher(settings)
    await watcher.open()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task] = set()

    def hup() -> None:
        task = loop.create_task(watcher.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hup)
    try:
        await watcher.run(stop)
    finally:
        await watcher.close()


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the pass as JSON.")
@click.pass_obj
def check(obj: Context, as_json: bool) -> None:
    """Poll every feed once, update facts, deliver alerts, and exit (for cron and scripts).

    Refuses to run while a daemon uses the same state (it would compete with its deliveries).

    \b
    Example:
        watcher --rules rules --db state/watcher.db check
    """
    try:
        reports, sent = asyncio.run(_check(obj.settings(parse_workers=1)))
    except WatcherError as exc:
        raise _fail(exc) from None
    if as_json:
        click.echo(json.dumps({"feeds": [{"feed": r.feed, "outcome": r.outcome.value, "new": r.new,
                                          "alerts": r.alerts, "error": r.error} for r in reports],
                               "sent": sent.sent, "failed": sent.failed, "dead": sent.dead}, indent=2))
        return
    errors = [r for r in reports if r.error]
    click.echo(f"checked {len(reports)} feeds: {sum(r.new for r in reports)} new items, "
               f"{sum(r.alerts for r in reports)} alerts queued, {sent.sent} sent, {sent.failed} to retry, "
               f"{len(errors)} feeds failed", err=True)
    for report in errors:
        click.echo(f"  {report.feed}: {report.error}", err=True)


async def _check(settings: Settings) -> Any:
    watcher = Watcher(settings)
    await watcher.open()
    try:
        return await watcher.check_all()
    finally:
        await watcher.close()




@cli.command()
@click.option("--max-silence", default="1h", show_default=True,
              help="Unhealthy if no feed was polled for this long (while feeds are configured).")
@click.pass_obj
def health(obj: Context, max_silence: str) -> None:
    """Exit 0 if a daemon is running on this state and polling, else 1 (for HEALTHCHECK).

    \b
    Example:
        watcher health || echo "watcher is down"
    """
    from ..errors import LockedError
    from ..store import StateLock, feeds as feed_table
    from ..timefmt import parse_duration

    lock = StateLock(obj.db)
    try:
        lock.acquire()
    except LockedError:
        pass
    else:
        lock.release()
        click.echo(f"unhealthy: no daemon is running on {obj.db}", err=True)
        sys.exit(1)
    store = _store(obj)
    try:
        rows = store.run(feed_table.feed_rows)
    finally:
        store.close()
    polled = [r.last_poll_at for r in rows if r.last_poll_at is not None]
    silence = parse_duration(max_silence)
    if rows and (not polled or (utcnow() - max(polled)).total_seconds() > silence):
        click.echo(f"unhealthy: no feed polled in the last {max_silence}", err=True)
        sys.exit(1)
    click.echo(f"ok: daemon running, {len(rows)} feeds")
