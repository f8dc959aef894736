"""Commands that run the pipeline: the daemon, one pass, and the health check."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from typing import Any

import click

from ..app import Settings, Watcher
from ..errors import WatcherError
from ..logs import event
from ..timefmt import parse_duration, utcnow
from ..web import parse_address
from ..web.server import probe_host
from .base import Context, _fail, _store, cli

log = logging.getLogger("watcher.cli")
HTTP_HELP = "Serve /healthz, /readyz, /metrics, the status page and the JSON API on HOST:PORT, or `off`."


def _address(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int] | None:
    try:
        return parse_address(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.option("--parse-workers", type=click.IntRange(0, 64), default=2, show_default=True,
              help="Processes that parse feeds (0: parse in a thread).")
@click.option("--http", "http", default="127.0.0.1:8080", envvar="WATCHER_HTTP", show_default=True,
              callback=_address, help=HTTP_HELP)
@click.option("--keep-items", default="180d", envvar="WATCHER_KEEP_ITEMS", show_default=True, callback=_duration,
              help="Clear the text of items first seen longer ago than this (0: never). Rows, facts, their "
                   "history and evidence are kept.")
@click.option("--drain-timeout", default="10s", envvar="WATCHER_DRAIN_TIMEOUT", show_default=True,
              callback=_duration, help="On SIGTERM, how long polls in flight may take to finish.")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Reload the rules when a rule file changes (SIGHUP always reloads).")
@click.pass_obj
def run(obj: Context, parse_workers: int, http: tuple[str, int] | None, keep_items: float, drain_timeout: float,
        watch: bool) -> None:
    """Run the daemon: poll every feed on its interval, update facts, deliver alerts.

    Stops cleanly on SIGTERM or Ctrl-C (polls in flight finish first, for at most
    --drain-timeout; a second signal exits at once); SIGHUP, or saving a rule file, reloads
    the rules (a broken file is reported and the last good rules keep running). Only one
    daemon may use a state database: a second one refuses to start.

    \b
    Example:
        POLICY_TEAM_APPRISE_URL='slack://T000/B000/XXXX/#policy' watcher run --http 127.0.0.1:8080
    """
    settings = obj.settings(parse_workers=parse_workers, http=http, keep_items=keep_items,
                            drain_timeout=drain_timeout, watch_rules=watch)
    try:
        asyncio.run(_run(settings))
    except WatcherError as exc:
        raise _fail(exc) from None


async def _run(settings: Settings) -> None:
    watcher = Watcher(settings)
    await watcher.open()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task] = set()

    def hup() -> None:
        event(log, logging.INFO, "signal received", signal="SIGHUP", action="reload")
        task = loop.create_task(watcher.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    def term(name: str) -> None:
        if stop.is_set():  # a second signal: the operator does not want to wait for the drain
            event(log, logging.WARNING, "signal received again; exiting now", signal=name)
            os._exit(130)  # safe: every poll's writes are one transaction; pending deliveries stay queued
        event(log, logging.INFO, "signal received", signal=name, action="stop")
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, term, sig.name)
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
@click.option("--http", "http", default="127.0.0.1:8080", envvar="WATCHER_HTTP", show_default=True,
              callback=_address, help="Where the daemon serves HTTP (as given to `watcher run`); `off` checks "
                                      "the state database instead.")
@click.option("--ready", is_flag=True, help="Ask /readyz (rules, database, scheduler) instead of /healthz.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for an answer.")
@click.option("--max-silence", default="1h", show_default=True,
              help="With --http off: unhealthy if no feed was polled for this long.")
@click.pass_obj
def health(obj: Context, http: tuple[str, int] | None, ready: bool, timeout: float, max_silence: str) -> None:
    """Exit 0 if the daemon is alive (its /healthz answers 200), else 1 (the Docker HEALTHCHECK).

    With --ready, asks /readyz: rules loaded and the last reload ok, database writable,
    scheduler running. With --http off, checks that a daemon holds the state's lock and polls.

    \b
    Example:
        watcher health || echo "watcher is down"
        watcher health --ready
    """
    if http is not None:
        _probe(http, "/readyz" if ready else "/healthz", timeout)
        return
    _check_state(obj, max_silence)


def _probe(address: tuple[str, int], path: str, timeout: float) -> None:
    host = probe_host(address[0])
    url = f"http://[{host}]:{address[1]}{path}" if ":" in host else f"http://{host}:{address[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310  (our own loopback URL)
            body = json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
        failed = [c for c in body.get("checks", [body]) if not c.get("ok", False)]
        details = "; ".join(f"{c.get('name', '?')}: {c.get('detail', '')}" for c in failed)
        click.echo(f"unhealthy: {url} answered {exc.code}: {details}", err=True)
        sys.exit(1)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        click.echo(f"unhealthy: no answer from {url} ({reason}); is `watcher run` running with this --http?",
                   err=True)
        sys.exit(1)
    click.echo(f"ok: {url}: {body.get('status', 'ok')}")


def _check_state(obj: Context, max_silence: str) -> None:
    from ..errors import LockedError
    from ..store import StateLock, feeds as feed_table

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
