"""Commands for rule authors: validate, schema, explain, backtest."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, UTC
from pathlib import Path
from typing import Any

import click

from ..app import Watcher
from ..errors import RuleError, WatcherError
from ..ruleset import Ruleset, load_rules
from ..text.patterns import BUDGET, probe
from ..timefmt import iso, parse_duration, utcnow
from .base import Context, _fail, _when, cli
from .explaining import echo_explanation, explanation_json, read_feed_items


@cli.command()
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too, not only on problems.")
@click.pass_obj
def validate(obj: Context, strict: bool) -> None:
    """Check the rule files and report every problem with file:line:column; exit 1 if any.

    Uses the daemon's own loader, including the check that every channel's apprise URL is
    usable and its environment variables are set. Warnings (`file:line:column: warning: ...`)
    point at rules that load but probably do not do what they say, such as a term that switches
    a guard's cue off; they fail the check only with --strict. Patterns that RE2 cannot run
    (lookarounds, back-references...) run with a time limit per item; each is tried on hostile
    probe texts, and one that runs out of time there is reported as slow (exit 1).

    \b
    Example:
        watcher --rules rules validate
        watcher --rules rules validate --strict      # in CI: warnings fail too
    """
    try:
        ruleset, _ = Watcher(obj.settings()).load_rules()
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except WatcherError as exc:
        raise _fail(exc) from None
    for warning in ruleset.warnings:
        click.echo(str(warning), err=True)
    terms = ruleset.terms()
    timed = [(label, term) for label, term in terms if term.engine == "budget"]
    slow = [(label, term, text) for label, term in timed if (text := probe(term)) is not None]
    for label, term, text in slow:
        click.echo(f"{label}: the pattern '{term.source}' is slow: {term.why_budget}, so it runs with a limit "
                   f"of {BUDGET:g}s per item, and it ran out of time on {text}; items like that are recorded as "
                   "not matched by it. Write it without lookarounds and back-references (RE2 then runs it in linear "
                   "time), or without a repeat inside a repeat",
                   err=True)
    if slow:
        sys.exit(1)
    count = len(ruleset.warnings)
    warned = f"{count} warning{'s' if count != 1 else ''}"
    if strict and count:
        click.echo(f"{warned} in the rule files (--strict)", err=True)
        sys.exit(1)
    click.echo(f"ok: {', '.join(ruleset.files)}: {ruleset.summary()}; {len(terms) - len(timed)} of {len(terms)} "
               "patterns run in linear time (RE2), the rest with a time limit per item"
               + (f" ({warned})" if count else ""))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the rule-file language (for editor autocompletion).

    The bundled rules/watcher.schema.json is this output; rule files point editors at it with
    a first line such as `# yaml-language-server: $schema=watcher.schema.json`.

    \b
    Example:
        watcher schema > rules/watcher.schema.json
    """
    from ..ruleset.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


def _candidate(obj: Context, rules: Path | None) -> Ruleset:
    """The rules to try (``--rules`` of the command, else of ``watcher``); channel URLs and feed
    headers are not expanded, so no secrets are needed to explain or replay."""
    try:
        return load_rules(rules or obj.rules, channels=False)
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


@cli.command()
@click.argument("item")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path),
              help="Rules to try instead of watcher's --rules.")
@click.option("--feed", "feed_name", help="Feed name to read a file or URL as (rules can select feeds); "
                                         "default: the file name.")
@click.option("--title", "title_filter", help="Only the items of a file or URL whose title contains this text.")
@click.option("--limit", default=20, show_default=True, help="At most this many items of a file or URL.")
@click.option("--verbose", "-v", is_flag=True, help="Every term of every matcher with its spans and refusals, "
              "patterns in full (the default is short: what fires and why not).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def explain(obj: Context, item: str, rules_dir: Path | None, feed_name: str | None, title_filter: str | None,
            limit: int, verbose: bool, as_json: bool) -> None:
    """Show which alert rules and fact signals an item fires, which not, and why. In short:
    for what fires, the value a signal reads, what it would mean for the fact (old news, a
    confirmation, or a change, and then, with the reports in the ledger's window, whether it
    moves the fact or what it waits for: more independent sources, the end of a contradiction,
    named with its sides, or an operator, and until when), the sentence it was found in and the
    guard cues a matcher's own term cancelled; for what does not, the missing term or the guard
    that refused it (a question, a negation, a prediction, opinion) and its cue, long patterns
    cut. A report published longer ago than the window is too old to count; a feed in
    corroborate.ignore never counts. --verbose adds every term with the spans it found and
    refused, patterns in full.

    ITEM is a stored item's id (see `watcher alerts`, `watcher facts history`), a feed file, or
    a feed URL. For a stored item the ledger's use of it is shown too.

    \b
    Example:
        watcher explain 1234
        watcher explain --title "Senate" tests/data/feeds/aid-vote.xml
        watcher explain --verbose 1234
    """
    from ..explain import explain_item
    from ..store import items, ledger, observations, open_readonly

    ruleset = _candidate(obj, rules_dir)
    now = utcnow()
    states: dict[str, Any] = {}
    live: list[Any] = []
    recorded: dict[int, list[Any]] = {}
    if item.isdigit():
        try:
            db = open_readonly(obj.db)
        except WatcherError as exc:
            raise _fail(exc) from None
        try:
            stored = items.get_item(db, int(item))
            if stored is None:
                raise click.ClickException(f"no stored item {item} in {obj.db}")
            states = ledger.known_facts(db)
            live = observations.live_observations(db, now)
            recorded[stored.id] = observations.observation_rows(db, item_id=stored.id)
        finally:
            db.conn.close()
        chosen = [stored]
    else:
        try:
            chosen = read_feed_items(item, feed_name, title_filter, limit, allowed=obj.allow_addresses)
        except WatcherError as exc:
            raise _fail(exc) from None
        if Path(obj.db).is_file():
            states, live = _ledger_readonly(obj.db, now)
    explanations = [explain_item(ruleset, s, states, live, now) for s in chosen]
    if as_json:
        click.echo(json.dumps([explanation_json(e, recorded.get(e.item.id, [])) for e in explanations],
                              indent=2, ensure_ascii=False))
        return
    if not explanations:
        click.echo("no items to explain", err=True)
    for explanation in explanations:
        echo_explanation(explanation, recorded.get(explanation.item.id, []), verbose=verbose)


def _ledger_readonly(path: Path, now: datetime) -> tuple[dict[str, Any], list[Any]]:
    """The ledger's values and the reports still in their window, if ``path`` holds a state."""
    from ..store import ledger, observations, open_readonly

    try:
        db = open_readonly(path)
    except WatcherError:
        return {}, []
    try:
        return ledger.known_facts(db), observations.live_observations(db, now)
    except Exception:  # an unmigrated or foreign database: explain without the ledger
        return {}, []
    finally:
        db.conn.close()


def _when_arg(value: str | None, name: str) -> datetime | None:
    """A date (2024-04-01), an ISO time, or a duration meaning that long ago (7d)."""
    if value is None:
        return None
    try:
        return utcnow() - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"expected a date (2024-04-01), a time (2024-04-01T12:00Z) or a duration (7d), "
                                 f"got {value!r}", param_hint=name) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


@cli.command()
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path),
              help="The candidate rules to replay through (default: watcher's --rules).")
@click.option("--since", help="Only items first seen at or after this date, time or duration ago (7d).")
@click.option("--until", help="Only items first seen before this date, time or duration ago.")
@click.option("--start-from", type=click.Choice(["rules", "ledger"]), default="rules", show_default=True,
              help="Facts start at the rules' known values, or at the live ledger's values at --since.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def backtest(obj: Context, rules_dir: Path | None, since: str | None, until: str | None, start_from: str,
             as_json: bool) -> None:
    """Replay the stored items through a candidate rule set and print the alerts and fact
    transitions it would have produced, without touching the live state or sending anything.

    Items are replayed poll by poll in the order they arrived, through the daemon's own steps
    (alert rules, guards, corroboration, contradictions), against a scratch ledger.

    \b
    Example:
        watcher backtest --rules candidate-rules/ --since 2024-04-01
    """
    from ..backtest import backtest as run_backtest
    from ..store import open_readonly

    ruleset = _candidate(obj, rules_dir)
    start, end = _when_arg(since, "--since"), _when_arg(until, "--until")
    try:
        db = open_readonly(obj.db)
    except WatcherError as exc:
        raise _fail(exc) from None
    try:
        result = run_backtest(ruleset, db, since=start, until=end, start_from=start_from)
    finally:
        db.conn.close()
    if as_json:
        click.echo(json.dumps(_backtest_json(ruleset, result), indent=2, ensure_ascii=False))
        return
    _echo_backtest(ruleset, result, rules_dir or obj.rules)


def _backtest_json(ruleset: Ruleset, result: Any) -> dict[str, Any]:
    def shown(fact: str, value: str | None) -> str:
        spec = ruleset.facts.get(fact)
        return spec.display(value) if spec else (value or "")
    return {
        "rules": ruleset.digest, "polls": result.polls, "items": result.items,
        "start": result.start, "end": result.end,
        "changes": [{"fact": c.fact, "old": c.old, "new": c.new, "old_shown": shown(c.fact, c.old),
                     "new_shown": shown(c.fact, c.new), "at": iso(c.at), "sources": c.sources,
                     "direction": c.direction, "disputed": list(c.disputed),
                     "evidence": [{"feed": e.feed, "title": e.title, "link": e.link, "quote": e.quote}
                                  for e in c.evidence]} for c in result.changes],
        "notices": [{"kind": n.kind, "fact": n.fact, "at": iso(n.at), "current": n.current,
                     "claims": [{"value": v, "sources": k} for v, k in n.values]} for n in result.notices],
        "alerts": [{"at": iso(at), "rule": d.rule, "severity": d.severity, "title": d.title,
                    "channels": list(d.channels), "dedupe_key": d.dedupe_key} for at, d in result.alerts],
    }


def _echo_backtest(ruleset: Ruleset, result: Any, folder: Path) -> None:
    click.echo(f"Replayed {result.items} items in {result.polls} polls through rules {ruleset.digest} ({folder}); "
               "nothing was sent and the live state was not touched.")
    click.echo(f"\nFact transitions ({len(result.changes)}):")
    for c in result.changes:
        spec = ruleset.facts[c.fact]
        more = f", {c.sources} sources" if c.sources > 1 else ""
        more += ", backwards" if c.direction == "backwards" else ""
        click.echo(f"  {_when(c.at)}  {c.fact}: {spec.display(c.old)} -> {spec.display(c.new)}  [signal{more}]")
        for e in c.evidence:
            click.echo(f"      - {e.title} [{e.feed}] {e.link or ''}".rstrip())
    click.echo(f"\nContradictions, reviews and pending reports ({len(result.notices)}):")
    for n in result.notices:
        spec = ruleset.facts[n.fact]
        claims = " / ".join(f"{spec.display(v)} ({k})" for v, k in n.values)
        click.echo(f"  {_when(n.at)}  {n.fact}: {n.kind}: {claims}")
    click.echo(f"\nAlerts ({len(result.alerts)}):")
    for at, d in result.alerts:
        click.echo(f"  {_when(at)}  [{d.severity}] {d.rule} -> {', '.join(d.channels)}: {d.title}")
    click.echo("\nFacts at the end:")
    for name, value in sorted(result.end.items()):
        spec = ruleset.facts.get(name)
        show = spec.display if spec else str
        start = result.start.get(name)
        was = f" (started at {show(start)})" if start is not None and start != value else ""
        click.echo(f"  {name} = {show(value)}{was}")
