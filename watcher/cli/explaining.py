"""Rendering `watcher explain`: items from a file or URL, and explanations as text or JSON."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from ..addresses import Network
from ..errors import WatcherError
from ..explain import ItemExplanation, MatchReport
from ..models import Hit, StoredItem
from ..timefmt import iso, utcnow


def read_feed_items(source: str, feed_name: str | None, title_filter: str | None, limit: int, *,
                    allowed: tuple[Network, ...] = ()) -> list[StoredItem]:
    """The items of a feed file or URL, as if they had just been stored (id 0). A URL is fetched
    like a feed: ``allowed`` networks besides public addresses."""
    from ..parse import parse_feed

    if source.startswith(("http://", "https://")):
        body, url, content_type = asyncio.run(_fetch(source, allowed))
        name = feed_name or "url"
    else:
        path = Path(source)
        if not path.is_file():
            raise WatcherError(f"{source} is not a stored item id, a file or an http(s) URL")
        body, url, content_type = path.read_bytes(), path.resolve().as_uri(), ""
        name = feed_name or path.stem
    parsed = parse_feed(body, url, content_type)
    now = utcnow()
    wanted = [i for i in parsed.items if not title_filter or title_filter.casefold() in i.title.casefold()]
    return [StoredItem(0, name, item, now) for item in wanted[:limit]]


async def _fetch(url: str, allowed: tuple[Network, ...]) -> tuple[bytes, str, str]:
    from ..fetch import Fetcher
    from ..models import Fetched

    fetcher = Fetcher(allowed=allowed)
    try:
        result = await fetcher.fetch(url)
    finally:
        await fetcher.aclose()
    if not isinstance(result, Fetched):
        raise WatcherError(f"{url} answered 304 Not Modified to a request without validators")
    return result.body, result.url, result.content_type


def _span(hit: Hit) -> str:
    return f"{hit.field}[{hit.start}:{hit.end}] {hit.text!r}"


def _echo_report(report: MatchReport, indent: str, what: str) -> None:
    for term in report.terms:
        found = ", ".join(_span(h) for h in term.hits[:3]) or "-"
        mark = ("x" if term.hits else " ") if term.group != "none" else ("!" if term.hits else " ")
        click.echo(f"{indent}[{mark}] {term.group:<5} '{term.source}': {found}")
        for hit, cue in term.refused[:3]:
            click.echo(f"{indent}        refused {_span(hit)}: {cue.guard} ({cue.text!r})")
        _echo_ignored(term.ignored, indent + "        ", what)


def _echo_ignored(ignored: Any, indent: str, what: str) -> None:
    """The guard cues a matcher's own term switched off: shown short or verbose, since a term
    that cancels a cue by accident lets predictions and denials count."""
    for cue, holder in dict.fromkeys((cue, holder) for _, cue, holder in ignored):
        click.echo(f"{indent}{cue.guard} cue {cue.text!r} ignored: inside the {what}'s own term '{holder}'")


def _echo_quote(report: MatchReport, indent: str, what: str) -> None:
    """What fired, in short: the sentence it was found in, the fields of its hits, and any cue
    its own terms cancelled."""
    fields = ", ".join(dict.fromkeys(h.field for h in report.hits))
    quote = " ".join(report.quote.split())
    click.echo(f"{indent}“{quote[:197] + '…' if len(quote) > 200 else quote}” ({fields})")
    _echo_ignored([i for term in report.terms for i in term.ignored], indent, what)


def echo_explanation(e: ItemExplanation, recorded: list[Any], *, verbose: bool) -> None:
    """Short by default: what fired (with the value and the quote) and why the rest did not,
    long patterns cut; ``verbose``: every term of every matcher with its spans, patterns in full."""
    item = e.item.item
    ident = f"#{e.item.id} " if e.item.id else ""
    click.echo(f"{ident}{item.title!r} [{e.item.feed}] {item.link or ''}".rstrip())
    fired = [r for r in e.rules if r.applies and r.report.matched]
    click.echo(f"  alert rules: {len(fired)} of {len(e.rules)} fire")
    for r in e.rules:
        if not r.applies:
            click.echo(f"    - {r.rule}: not for feed {e.item.feed}")
            continue
        click.echo(f"    {'+' if r.report.matched else '-'} {r.rule}: "
                   f"{r.report.reason if verbose else r.report.brief}")
        if verbose:
            _echo_report(r.report, "        ", "rule")
        elif r.report.matched:
            _echo_quote(r.report, "        ", "rule")
    click.echo(f"  fact signals: {sum(s.fired for s in e.signals)} of {len(e.signals)} fire")
    for s in e.signals:
        label = f"{s.fact} = {s.value or s.target} (signal {s.signal + 1})"
        click.echo(f"    {'+' if s.fired else '-'} {label}: {s.outcome if verbose else s.brief}")
        if verbose:
            _echo_report(s.report, "        ", "signal")
        elif s.fired:
            _echo_quote(s.report, "        ", "signal")
    for o in recorded:
        change = f", change #{o.change_id}" if o.change_id else ""
        click.echo(f"  ledger: {o.fact} = {o.value}: {o.state}{change} (rules {o.rules_hash})")


def _report_json(report: MatchReport) -> dict[str, Any]:
    return {"matched": report.matched, "reason": report.reason, "quote": report.quote,
            "terms": [{"group": t.group, "term": t.source,
                       "hits": [{"field": h.field, "start": h.start, "end": h.end, "text": h.text} for h in t.hits],
                       "refused": [{"field": h.field, "start": h.start, "end": h.end, "text": h.text,
                                    "guard": c.guard, "cue": c.text} for h, c in t.refused],
                       "ignored": [{"field": h.field, "start": h.start, "end": h.end, "text": h.text,
                                    "guard": c.guard, "cue": c.text, "inside": holder} for h, c, holder in t.ignored]}
                      for t in report.terms]}


def explanation_json(e: ItemExplanation, recorded: list[Any]) -> dict[str, Any]:
    item = e.item.item
    return {
        "item": {"id": e.item.id or None, "feed": e.item.feed, "title": item.title, "link": item.link,
                 "published_at": iso(item.published_at)},
        "rules": [{"rule": r.rule, "applies": r.applies, **_report_json(r.report)} for r in e.rules],
        "signals": [{"fact": s.fact, "signal": s.signal, "target": s.target, "fired": s.fired, "value": s.value,
                     "outcome": s.outcome,
                     **_report_json(s.report)} for s in e.signals],
        "ledger": [{"fact": o.fact, "value": o.value, "state": o.state, "change_id": o.change_id,
                    "rules_hash": o.rules_hash} for o in recorded],
    }
