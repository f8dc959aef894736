"""Silences: mute alerts that match, for a while, without touching the rules or the daemon."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta

import click

from ..timefmt import format_duration, iso, parse_duration, parse_iso, utcnow
from .base import Context, _store, _table, _when, cli


@cli.group()
def silence() -> None:
    """Silence alerts by rule, fact, feed, severity, kind or channel, with an expiry.

    A silenced alert is still recorded (`watcher alerts --suppressed` shows it and why); it is
    just not sent. Silences apply at once to new alerts and to deliveries still waiting.

    \b
    Example:
        watcher silence add rule=coproduction-news --for 2h --comment "conference day"
        watcher silence list
        watcher silence remove 3
    """


@silence.command("add")
@click.argument("matchers", nargs=-1, required=True)
@click.option("--for", "duration", default="1h", show_default=True, help="How long: 30m, 2h, 1d...")
@click.option("--until", "until", default=None, help="Or an end time (ISO 8601, UTC if no offset).")
@click.option("--comment", default="", help="Why: shown with the silence and on each alert it mutes.")
@click.option("--author", default=None, help="Who (default: the current user).")
@click.pass_obj
def silence_add(obj: Context, matchers: tuple[str, ...], duration: str, until: str | None, comment: str,
                author: str | None) -> None:
    """Add a silence: every MATCHER (KEY=VALUE, KEY!=VALUE, KEY=~REGEX, KEY!~REGEX) must match.

    Keys: rule, fact, feed, severity, kind (item or fact), channel. Regular expressions match
    the whole value.

    \b
    Example:
        watcher silence add rule=coproduction-news --for 2h --comment "conference day"
        watcher silence add fact=us-aid-package severity!=critical channel=newsroom --for 1d
    """
    from ..noise import parse_matcher
    from ..store import silences

    try:
        parsed = [parse_matcher(m) for m in matchers]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="MATCHERS") from None
    now = utcnow()
    try:
        ends = parse_iso(until) if until else now + timedelta(seconds=parse_duration(duration))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--until" if until else "--for") from None
    if ends is None or ends <= now:
        raise click.BadParameter("the silence would end before it starts", param_hint="--until")
    store = _store(obj)
    try:
        silence_id = store.run(silences.add, parsed, now, ends, comment=comment,
                               created_by=author or getpass.getuser(), now=now)
    finally:
        store.close()
    what = " ".join(str(m) for m in parsed)
    length = format_duration(round((ends - now).total_seconds()))
    click.echo(f"silence {silence_id}: {what} until {iso(ends)} ({length})")


@silence.command("list")
@click.option("--all", "everything", is_flag=True, help="Include silences that ended.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def silence_list(obj: Context, everything: bool, as_json: bool) -> None:
    """List silences in force (and, with --all, those that ended).

    \b
    Example:
        watcher silence list
    """
    from ..store import silences

    now = utcnow()
    store = _store(obj)
    try:
        rows = store.run(silences.listing, now, expired=everything)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([{"id": s.id, "matchers": [str(m) for m in s.matchers], "starts_at": iso(s.starts_at),
                                "ends_at": iso(s.ends_at), "active": s.active(now), "comment": s.comment,
                                "created_by": s.created_by} for s in rows], indent=2))
        return
    if not rows:
        click.echo("no silences" + ("" if everything else " in force"))
        return
    _table([[s.id, " ".join(str(m) for m in s.matchers), _when(s.ends_at),
             "active" if s.active(now) else "ended" if s.ends_at <= now else "pending", s.created_by, s.comment]
            for s in rows], ["id", "matchers", "ends (UTC)", "state", "by", "comment"])


@silence.command("remove")
@click.argument("silence_id", type=int)
@click.pass_obj
def silence_remove(obj: Context, silence_id: int) -> None:
    """End a silence now (it stays in `watcher silence list --all`).

    \b
    Example:
        watcher silence remove 3
    """
    from ..store import silences

    store = _store(obj)
    try:
        removed = store.run(silences.remove, silence_id, utcnow())
    finally:
        store.close()
    if not removed:
        raise click.ClickException(f"no silence {silence_id} in force")
    click.echo(f"silence {silence_id} ended")
