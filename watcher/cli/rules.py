"""Commands for rule authors: validate, schema."""

from __future__ import annotations

import json
import sys

import click

from ..app import Watcher
from ..errors import RuleError, WatcherError
from .base import Context, _fail, cli


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
    from ..ruleset.schema import RuleFile

    document = RuleFile.model_json_schema(mode="validation")
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "watcher rule file"
    click.echo(json.dumps(document, indent=2))
