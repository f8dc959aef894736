"""The ``watcher`` command: a thin layer over ``Watcher`` and the store. Signals are handled here.

Every command's help ends with an example; ``tests/test_docs.py`` checks that each command is
in the README.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from . import __version__
from .app import Settings, Watcher
from .errors import RuleError, WatcherError
from .logs import setup as setup_logging
from .timefmt import iso, utcnow

EPILOG_ENV = "Options can also be set with WATCHER_RULES, WATCHER_DB, WATCHER_LOG_LEVEL and WATCHER_LOG_FORMAT."


class Context:
    def __init__(self, rules: Path, db: Path):
        self.rules = rules
        self.db = db

    def settings(self, **overrides: Any) -> Settings:
        return Settings(rules=self.rules, db=self.db, **overrides)


@click.group(epilog=EPILOG_ENV, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="watcher")
@click.option("--rules", type=click.Path(path_type=Path), default=Path("rules"), envvar="WATCHER_RULES",
              show_default=True, help="Folder of rule files (*.yaml).")
@click.option("--db", type=click.Path(path_type=Path), default=Path("state/watcher.db"), envvar="WATCHER_DB",
              show_default=True, help="The SQLite state database.")
@click.option("--log-level", default="INFO", envvar="WATCHER_LOG_LEVEL", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-format", default="text", envvar="WATCHER_LOG_FORMAT", show_default=True,
              type=click.Choice(["text", "json"]), help="text: key=value lines; json: one object per line.")
@click.pass_context
def cli(ctx: click.Context, rules: Path, db: Path, log_level: str, log_format: str) -> None:
    """watcher: watch news feeds, keep a ledger of known facts, alert when they change.

    \b
    Example:
        watcher validate && watcher run
    """
    setup_logging(log_level, log_format)
    ctx.obj = Context(rules, db)


def main() -> None:
    cli(prog_name="watcher")


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


# -- the daemon and one-shot passes -------------------------------------------------------------


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


# -- rules ----------------------------------------------------------------------------------------


@cli.command()
@click.pass_obj
def validate(obj: Context) -> None:
    """Check the rule files and report every problem with file:line:column; exit 1 if any.

    Uses the daemon's own loader, including the check that every channel's apprise URL is
    usable and its environment variables are set.

    \b
    Example:
        watcher --rules rules validate
    """
    try:
        ruleset, _ = Watcher(obj.settings()).load_rules()
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except WatcherError as exc:
        raise _fail(exc) from None
    click.echo(f"ok: {', '.join(ruleset.files)}: {ruleset.summary()}")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the rule-file language (for editor autocompletion).

    \b
    Example:
        watcher schema > watcher.schema.json
    """
    from .ruleset.schema import RuleFile

    document = RuleFile.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "watcher rule file"
    click.echo(json.dumps(document, indent=2))


# -- looking at the state ---------------------------------------------------------------------------


def _store(obj: Context) -> Any:
    from .store import Store

    try:
        return Store(obj.db)
    except WatcherError as exc:
        raise _fail(exc) from None


def _when(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = iso(value)
    return str(value).replace("T", " ").replace("Z", "")[:19]


def _table(rows: list[list[Any]], headers: list[str]) -> None:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def feeds(obj: Context, as_json: bool) -> None:
    """List feeds with their health: last status, error streak, last success, next poll.

    \b
    Example:
        watcher feeds
    """
    from .store import feeds as feed_table

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
    from .store import ledger

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
    from .store import ledger

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
    from .alerts import fact_alerts
    from .models import FactChange
    from .store import ledger, outbox

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
            queued = 0
            if alert:
                for draft in fact_alerts(ruleset, change, change_id):
                    queued += outbox.enqueue(db, draft, now, fact_change_id=change_id) is not None
            return old, queued

    try:
        old, queued = store.run(apply)
    finally:
        store.close()
    if old == value:
        click.echo(f"{fact} is already {value}; nothing recorded")
    else:
        click.echo(f"{fact}: {old} -> {value} (recorded{f'; {queued} alerts queued' if queued else ''})")


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
    from .store import outbox

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
    from .store import outbox

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
    from .errors import LockedError
    from .store import StateLock, feeds as feed_table
    from .timefmt import parse_duration

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
