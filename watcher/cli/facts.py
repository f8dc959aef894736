"""Commands over the fact ledger: the board, a fact's history, an operator's correction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from .. import balance
from ..app import Watcher
from ..errors import WatcherError
from ..models import Evidence, FactChange, Observation
from ..text import quantity
from ..ruleset import Ruleset, load_rules
from ..timefmt import iso, parse_iso, utcnow
from .base import Context, _fail, _store, _when, cli


def _rules_if_valid(obj: Context) -> Ruleset | None:
    """The rules, for showing values with their units and what pending reports wait for; the
    ledger is shown without them if the rule files have problems (that is `watcher validate`'s
    business). No secret is needed."""
    try:
        return load_rules(obj.rules, channels=False)
    except WatcherError:
        return None


def _show(rules: Ruleset | None, fact: str, value: str | None) -> str:
    spec = rules.facts.get(fact) if rules else None
    return spec.display(value) if spec else (value or "(unknown)")


def _evidence_json(ev: Evidence, rules: Ruleset | None, fact: str) -> dict[str, Any]:
    return {"feed": ev.feed, "title": ev.title, "link": ev.link, "quote": ev.quote, "item_id": ev.item_id,
            "published_at": iso(ev.published_at), "value": ev.value, "shown": _show(rules, fact, ev.value),
            "spans": [{"field": h.field, "start": h.start, "end": h.end, "text": h.text, "term": h.term}
                      for h in ev.hits]}


def _pending_json(rules: Ruleset | None, name: str, current: str, since: datetime | None, live: list[Observation],
                  now: datetime) -> list[dict[str, Any]]:
    """The fact's pending reports, newest first, each with what its value waits for and until when."""
    spec = rules.facts.get(name) if rules else None
    show = spec.display if spec else str
    if spec is None:
        why = ("the rule files have problems (`watcher validate`)" if rules is None
               else "the fact is no longer in the rule files")
        return [{"value": o.value, "shown": o.value, "seen_at": iso(o.seen_at), "reported_at": iso(o.reported_at),
                 "expires_at": None, "evidence": _evidence_json(o.evidence(), rules, name),
                 "waits_for": f"unknown: {why}", "waits_until": None, "ignored": False}
                for o in reversed(live) if o.state == "pending"]
    return [{"value": o.value, "shown": show(o.value), "evidence": _evidence_json(o.evidence(), rules, name),
             **balance.pending_summary(spec, o, wait)} for o, wait in balance.pending(spec, current, since, live, now)]


def _corroborate_json(rules: Ruleset | None, name: str) -> dict[str, Any] | None:
    spec = rules.facts.get(name) if rules else None
    if spec is None:
        return None
    c = spec.corroborate
    return {"sources": c.sources, "within": c.within, "trusted": sorted(c.trusted), "ignore": sorted(c.ignore),
            "confirm_only": sorted(c.confirm_only), "words": balance.policy_words(spec)}


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def facts(ctx: click.Context, as_json: bool) -> None:
    """Show the ledger: every fact's value, since when, the evidence for it (with its number
    of independent sources), the evidence it needs (corroborate: sources, window, trusted,
    ignored and confirm-only feeds), reports still waiting for corroboration with what each
    waits for (more independent sources, the end of a contradiction, an operator) and until
    when, and open contradictions and reviews. A fact nothing has recorded yet (before the
    first run) shows its `known:` value from the rule files.

    \b
    Example:
        watcher facts
        watcher facts history us-aid-package
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..store import ledger, observations

    rules = _rules_if_valid(ctx.obj)
    now = utcnow()
    store = _store(ctx.obj)
    try:
        rows = store.run(ledger.fact_rows)
        live = store.run(observations.live_observations, now)
        notices = store.run(observations.notice_rows, open_at=now)
    finally:
        store.close()
    board = []
    for row in rows:
        name = row["name"]
        spec = rules.facts.get(name) if rules else None
        board.append({
            "name": name, "value": row["value"], "shown": _show(rules, name, row["value"]),
            "kind": spec.kind if spec else None, "since": row["since_at"], "source": row["source"],
            "sources": row["sources"] or 0, "evidence": row["evidence"],
            "corroborate": _corroborate_json(rules, name),
            "pending": _pending_json(rules, name, row["value"], parse_iso(row["since_at"]),
                                     [o for o in live if o.fact == name], now),
            "notices": [{"id": n.id, "kind": n.kind, "opened_at": iso(n.opened_at), "expires_at": iso(n.expires_at),
                         "claims": [{"value": v, "shown": _show(rules, name, v), "sources": k} for v, k in n.claims]}
                        for n in notices if n.fact == name],
        })
    board += _not_recorded(rules, {row["name"] for row in rows})
    board.sort(key=lambda fact: fact["name"])
    if as_json:
        click.echo(json.dumps(board, indent=2, ensure_ascii=False))
        return
    if not board:
        click.echo("no facts: the rule files define none (see `facts:` in docs/facts.md)")
    for fact in board:
        _echo_fact(fact)


def _echo_fact(fact: dict[str, Any]) -> None:
    if fact["since"] is None:
        click.echo(f"{fact['name']}: {fact['shown']}  (known in the rule file; the ledger records it "
                   f"when the daemon or `watcher check` starts)")
    else:
        how = f"{fact['source']}" + (f", {fact['sources']} independent sources" if fact["sources"] > 1 else "")
        click.echo(f"{fact['name']}: {fact['shown']}  (since {_when(fact['since'])}, {how})")
    if fact["corroborate"] is not None:
        click.echo(f"    needs {fact['corroborate']['words']}")
    for ev in fact["evidence"]:
        click.echo(f"    - {ev['title']} [{ev['feed']}] {ev['link'] or ''}".rstrip())
    for p in fact["pending"]:
        ev = p["evidence"]
        until = _when(p["expires_at"]) if p["expires_at"] else "?"
        click.echo(f"    pending: {p['shown']} until {until}: {ev['title']} [{ev['feed']}]")
        waits = f"      waits for {p['waits_for']}"
        click.echo(waits + (f", until {_when(p['waits_until'])}" if p["waits_until"] else ""))
    for n in fact["notices"]:
        claims = " / ".join(f"{c['shown']} ({c['sources']})" for c in n["claims"])
        hint = f"; settle it: watcher facts set {fact['name']} VALUE --note ..." if n["kind"] == "review" else ""
        click.echo(f"    {n['kind']} since {_when(n['opened_at'])}: {claims}{hint}")


def _not_recorded(rules: Ruleset | None, recorded: set[str]) -> list[dict[str, Any]]:
    """Facts of the rule files that the ledger has not recorded yet (nothing has run on this
    state since they were written): shown with their known value, ``since`` None."""
    if rules is None:
        return []
    return [{"name": name, "value": spec.known, "shown": _show(rules, name, spec.known), "kind": spec.kind,
             "since": None, "source": "rules", "sources": 0, "evidence": [],
             "corroborate": _corroborate_json(rules, name), "pending": [], "notices": []}
            for name, spec in rules.facts.items() if name not in recorded]


@facts.command("history")
@click.argument("fact", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.option("--changes-only", is_flag=True, help="Only the changes, not the reports and notices around them.")
@click.option("--limit", default=200, show_default=True)
@click.pass_obj
def facts_history(obj: Context, fact: str | None, as_json: bool, changes_only: bool, limit: int) -> None:
    """Every change of a fact (or of all facts), newest first, with its evidence, independent
    sources and rules hash; and the reports that did not change it (pending, expired, old news,
    superseded) and the contradictions and reviews it raised.

    \b
    Example:
        watcher facts history us-aid-package
    """
    from ..store import ledger, observations

    rules = _rules_if_valid(obj)
    store = _store(obj)
    try:
        changes = store.run(ledger.fact_history, fact, limit=limit)
        seen = [] if changes_only else store.run(observations.observation_rows, fact=fact, limit=limit)
        notices = [] if changes_only else store.run(observations.notice_rows, fact=fact,
                                                    kinds=("contradiction", "review"), limit=limit)
    finally:
        store.close()
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    for e in changes:
        entries.append((e.at, 2, {
            "type": "change", "id": e.id, "fact": e.fact, "old": e.old, "new": e.new,
            "old_shown": _show(rules, e.fact, e.old) if e.old else None, "new_shown": _show(rules, e.fact, e.new),
            "at": iso(e.at), "cause": e.cause, "note": e.note, "rules_hash": e.rules_hash, "sources": e.sources,
            "direction": e.direction, "disputed": list(e.disputed),
            "evidence": [_evidence_json(v, rules, e.fact) for v in e.evidence]}))
    for o in seen:
        if o.state in ("applied", "confirmed"):
            continue  # shown as evidence of their change, or they said what was already known
        entries.append((o.seen_at, 1, {
            "type": "report", "id": o.id, "fact": o.fact, "value": o.value, "shown": _show(rules, o.fact, o.value),
            "state": o.state, "at": iso(o.seen_at), "rules_hash": o.rules_hash,
            "evidence": _evidence_json(o.evidence, rules, o.fact)}))
    for n in notices:
        entries.append((n.opened_at, 0, {
            "type": n.kind, "id": n.id, "fact": n.fact, "at": iso(n.opened_at), "closed_at": iso(n.closed_at),
            "resolution": n.resolution, "current": n.current,
            "claims": [{"value": v, "shown": _show(rules, n.fact, v), "sources": k} for v, k in n.claims],
            "evidence": [_evidence_json(v, rules, n.fact) for v in n.evidence]}))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    if as_json:
        click.echo(json.dumps([e for _, _, e in entries], indent=2, ensure_ascii=False))
        return
    for at, _, e in entries:
        _echo_entry(at, e)


def _echo_entry(at: datetime, e: dict[str, Any]) -> None:
    if e["type"] == "change":
        extra = [e["cause"]]
        if e["sources"] > 1:
            extra.append(f"{e['sources']} sources")
        if e["direction"] == "backwards":
            extra.append("backwards")
        if e["rules_hash"]:
            extra.append(f"rules {e['rules_hash']}")
        click.echo(f"{_when(at)}  {e['fact']}: {e['old_shown'] or '(none)'} -> {e['new_shown']}  [{', '.join(extra)}]"
                   + (f"  {e['note']}" if e["note"] else ""))
        if e["disputed"]:
            click.echo(f"    disputed by reports of: {', '.join(e['disputed'])}")
        for ev in e["evidence"]:
            _echo_dict_evidence(ev)
    elif e["type"] == "report":
        click.echo(f"{_when(at)}  {e['fact']}: report of {e['shown']}  [{e['state']}]")
        _echo_dict_evidence(e["evidence"])
    else:
        claims = " / ".join(f"{c['shown']} ({c['sources']})" for c in e["claims"])
        state = f"closed: {e['resolution']}" if e["closed_at"] else "open"
        click.echo(f"{_when(at)}  {e['fact']}: {e['type']}: {claims}  [{state}]")


def _echo_dict_evidence(ev: dict[str, Any]) -> None:
    click.echo(f"    - {ev['title']} [{ev['feed']}] {ev['link'] or ''}".rstrip())
    spans = ", ".join(f"{s['field']}[{s['start']}:{s['end']}] {s['text']!r}" for s in ev["spans"])
    click.echo(f"      \"{ev['quote']}\"" + (f"  ({spans})" if spans else ""))


@facts.command("set")
@click.argument("fact")
@click.argument("value")
@click.option("--note", default="", help="Why: recorded in the history.")
@click.option("--alert/--no-alert", default=False, show_default=True,
              help="Send the fact's change alerts as if a signal had moved it.")
@click.pass_obj
def facts_set(obj: Context, fact: str, value: str, note: str, alert: bool) -> None:
    """Set a fact's value by hand (an operator's correction), recorded in its history.

    A status takes one of its values, a number any spelling of an amount ("61bn", "$61
    billion", 61e9) or a rate ("4.5%", "25bp"), a fact that holds a range any spelling of one
    ("4%-4.25%", "4 to 4.25 percent", 4..4.25), a text fact any text. Reports still pending for
    the fact are marked superseded and its open contradictions and reviews are closed: the
    operator has weighed them. No secret is needed; with --alert, those of the channels the
    fact's alerts go to.

    \b
    Example:
        watcher facts set us-aid-package signed --note "confirmed on whitehouse.gov"
        watcher facts set us-aid-amount '$61 billion' --note "final text of H.R. 8035"
        watcher facts set fed-target '4%-4.25%' --note "FOMC statement"
    """
    from ..alerts import fact_alerts
    from ..pipeline import enqueue_drafts
    from ..store import ledger, observations

    watcher = Watcher(obj.settings())
    try:
        ruleset, _ = watcher.load_rules(channels=False)
    except WatcherError as exc:
        raise _fail(exc) from None
    spec = ruleset.facts.get(fact)
    if spec is None:
        raise click.ClickException(f'no fact "{fact}" in the rules; facts: {", ".join(sorted(ruleset.facts))}')
    normal = spec.normalise(value)
    if normal is None:
        if spec.kind == "status":
            raise click.ClickException(f'"{value}" is not a value of {fact}; values: {", ".join(spec.values or ())}')
        if spec.kind == "number":
            raise click.ClickException(quantity.why_not(value, spec.unit, spec.interval))
        raise click.ClickException("the value cannot be empty")
    if alert:  # the alerts are queued for the daemon to send: check the channels they go to
        try:
            ruleset, _ = watcher.load_rules(channels=_alerted_channels(ruleset, fact, normal))
        except WatcherError as exc:
            raise _fail(exc) from None
    store = _store(obj)
    now = utcnow()

    def apply(db: Any) -> tuple[str | None, int]:
        # as the daemon does at start: on a state nothing has run on yet, the correction must
        # follow the known value, or the daemon's first start would take it for an edit of
        # `known:` and put the rule file's value back
        ledger.sync_known(db, {f.name: f.known for f in ruleset.facts.values()}, now, ruleset.digest)
        with db.atomic():
            state = ledger.known_facts(db).get(fact)
            old = state.value if state else spec.known
            observations.supersede(db, fact, now)
            if spec.key(old) == spec.key(normal):
                return old, 0
            change = FactChange(fact, old, normal, now, "operator", note=note, rules_hash=ruleset.digest,
                                old_since=state.since if state else None)
            change_id = ledger.save_change(db, change)
            queued = enqueue_drafts(db, ruleset, fact_alerts(ruleset, change, change_id), now) if alert else 0
            return old, queued

    try:
        old, queued = store.run(apply)
    finally:
        store.close()
    if old is not None and spec.key(old) == spec.key(normal):
        click.echo(f"{fact} is already {spec.display(old)}; nothing recorded")
    else:
        click.echo(f"{fact}: {spec.display(old)} -> {spec.display(normal)} "
                   f"(recorded{f'; {queued} alerts queued' if queued else ''})")


def _alerted_channels(ruleset: Ruleset, fact: str, value: str) -> set[str]:
    """The channels a change of ``fact`` to ``value`` alerts (as ``alerts.fact_alerts`` picks them)."""
    from ..alerts import channels_for

    return {name for rule in ruleset.fact_rules(fact) if rule.wants(fact, [value])
            for name in channels_for(rule, ruleset)}
