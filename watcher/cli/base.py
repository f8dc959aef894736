"""The ``watcher`` group, its common options, and helpers shared by the command modules."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..addresses import Network, split_networks
from ..app import Settings
from ..errors import WatcherError
from ..logs import setup as setup_logging
from ..timefmt import iso

EPILOG_ENV = ("Options can also be set with WATCHER_RULES, WATCHER_DB, WATCHER_ALLOW_ADDRESSES, WATCHER_LOG_LEVEL "
              "and WATCHER_LOG_FORMAT.")


class Context:
    def __init__(self, rules: Path, db: Path, allow_addresses: tuple[Network, ...] = ()):
        self.rules = rules
        self.db = db
        self.allow_addresses = allow_addresses

    def settings(self, **overrides: Any) -> Settings:
        return Settings(rules=self.rules, db=self.db, allow_addresses=self.allow_addresses, **overrides)


def _networks(ctx: click.Context, param: click.Parameter, value: str) -> tuple[Network, ...]:
    try:
        return split_networks(value or "")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(epilog=EPILOG_ENV, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="watcher")
@click.option("--rules", type=click.Path(path_type=Path), default=Path("rules"), envvar="WATCHER_RULES",
              show_default=True, help="Folder of rule files (*.yaml).")
@click.option("--db", type=click.Path(path_type=Path), default=Path("state/watcher.db"), envvar="WATCHER_DB",
              show_default=True, help="The SQLite state database.")
@click.option("--allow-addresses", default="", envvar="WATCHER_ALLOW_ADDRESSES", callback=_networks,
              metavar="NETWORKS", help="Non-public addresses every feed may be fetched from, comma-separated "
              "(10.0.0.0/8,127.0.0.1). By default loopback, private, link-local and reserved addresses are "
              "refused, for feed URLs and redirects alike; a feed's allow_addresses opens them for that feed.")
@click.option("--log-level", default="INFO", envvar="WATCHER_LOG_LEVEL", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--log-format", default="text", envvar="WATCHER_LOG_FORMAT", show_default=True,
              type=click.Choice(["text", "json"]), help="text: key=value lines; json: one object per line.")
@click.pass_context
def cli(ctx: click.Context, rules: Path, db: Path, allow_addresses: tuple[Network, ...], log_level: str,
        log_format: str) -> None:
    """watcher: watch news feeds, keep a ledger of known facts, alert when they change.

    \b
    Example:
        watcher validate && watcher run
    """
    setup_logging(log_level, log_format)
    ctx.obj = Context(rules, db, allow_addresses)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


def _store(obj: Context) -> Any:
    from ..store import Store

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
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
