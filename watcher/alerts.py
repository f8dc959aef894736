"""Matches and fact changes -> ``AlertDraft`` ready for the outbox. Pure.

Each draft carries a ``dedupe_key`` that is unique for all time, so writing it twice (a crash
and a replay, two feeds carrying one story) stores it once:
- item alerts: ``item:<rule>:<story>``, the story being the canonical link (else the
  normalised title), so one article syndicated into several feeds alerts once per rule;
- fact alerts: ``fact:<rule>:<change id>``, one per recorded change;
- fact notices: ``<kind>:<rule>:<notice id>`` (pending, contradiction, review), one per notice
  (an open contradiction that gathers more reports is the same notice).

Drafts also carry what noise control needs (``noise.py``): the feed, the stage of an ordered
fact (for inhibition), the realert key, and whether the rule's alerts may join a digest.
``digest_message`` turns several stored alerts into the one message a digest sends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from collections.abc import Mapping, Sequence

from .models import AlertDraft, Evidence, FactChange, FactNotice, FeedOutage, Match, Message
from .ruleset.compiled import CONSOLE, AlertRule, Fact, Ruleset
from .templates import escape_markdown, markdown_to_text, render
from .timefmt import iso

ITEM_TITLE = "{% if item.updated %}Updated: {% endif %}{{ item.title | oneline }}"
# The title is the message's title (email subject, chat heading; apprise puts it in the body for
# services without one), so the default bodies do not repeat it.
ITEM_BODY = """\
{{ item.feed }}{{ " · " ~ item.published if item.published else "" }}
{% if item.summary %}

{{ item.summary | shorten(400) }}
{% endif %}
{% if item.link %}

{{ item.link | url }}
{% endif %}

_{{ rule }}: {{ hits | join(", ") }}_"""

FACT_TITLE = "{{ fact.describe }}: {{ old }} → {{ new }}"
FACT_BODY = """\
**{{ fact.describe }}** is now **{{ new }}** (was **{{ old }}**{% if since %} since {{ since }}{% endif %}).
{% if disputed %}

Other sources said: {{ disputed | join(", ") }}.
{% endif %}
{% if evidence %}

Evidence{% if sources > 1 %} ({{ sources }} independent sources){% endif %}:

{% for ev in evidence %}
- **{{ ev.title | oneline }}** ({{ ev.feed }}{% if ev.published %}, {{ ev.published }}{% endif %})
  “{{ ev.quote | shorten(200) }}”
{% if ev.link %}
  {{ ev.link | url }}
{% endif %}
{% endfor %}
{% endif %}
{% if note %}

Note: {{ note }}
{% endif %}"""


FEED_DOWN_TITLE = "Feed {{ feed }} is down (failing for {{ down_for }})"
FEED_UP_TITLE = "Feed {{ feed }} is back (was down for {{ down_for }})"
FEED_BODY = """\
**{{ feed }}** {% if state == "down" %}has failed every poll since {{ since }}{% else %}is polled successfully \
again; it had failed since {{ since }}{% endif %} ({{ polls }} failed polls).
{% if error %}

Last error: {{ error | shorten(300) }}
{% endif %}"""


def channels_for(rule: AlertRule, ruleset: Ruleset) -> tuple[str, ...]:
    """Where an alert goes: the rule's channels, else every channel, else the console."""
    if rule.channels:
        return rule.channels
    return tuple(sorted(ruleset.channels)) or (CONSOLE,)


def _draft(rule: AlertRule, ruleset: Ruleset, key: str, kind: str, context: dict[str, Any],
           title: str, body: str, *, default_realert_key: str = "", **refs: Any) -> AlertDraft:
    title_src, body_src = rule.title or title, rule.body or body
    realert_key = None
    if rule.realert is not None:
        realert_key = render(rule.realert_key, context, "text") if rule.realert_key else default_realert_key
    markdown = render(body_src, context, "markdown")
    return AlertDraft(
        rule=rule.name, dedupe_key=key, kind=kind,
        title=" ".join(render(title_src, context, "text").split())[:250],
        body=markdown, text=markdown_to_text(markdown),
        channels=channels_for(rule, ruleset), severity=rule.severity, realert_key=realert_key,
        digest=rule.digest, **refs)


def item_alerts(ruleset: Ruleset, matches: Sequence[Match]) -> list[AlertDraft]:
    drafts = []
    for match in matches:
        rule = ruleset.alerts[match.rule]
        stored = match.item
        item = stored.item
        context = {
            "rule": rule.name, "severity": rule.severity,
            "item": {"title": item.title, "link": item.link or "", "summary": item.summary,
                     "content": item.content, "author": item.author, "feed": stored.feed,
                     "published": _day(item.published_at), "categories": list(item.categories),
                     "updated": stored.updated},
            "hits": [hit.text for hit in match.hits],
        }
        story = item.story or f"{stored.feed}/{item.key}"
        # an update alerts once per version of the text, not once per story
        key = f"item:{rule.name}:{story}" + (f":rev:{item.content_hash}" if stored.updated else "")
        drafts.append(_draft(rule, ruleset, key, "item", context,
                             ITEM_TITLE, ITEM_BODY, item_id=stored.id, feed=stored.feed))
    return drafts


def fact_alerts(ruleset: Ruleset, change: FactChange, change_id: int) -> list[AlertDraft]:
    """Alerts for one recorded change (only changes made by signals or operators alert)."""
    if change.cause == "rules":
        return []
    fact = ruleset.facts.get(change.fact)
    drafts = []
    for rule in ruleset.fact_rules(change.fact):
        if not rule.wants(change.fact, [change.new]):
            continue
        context = fact_context(fact, change, rule)
        drafts.append(_draft(rule, ruleset, f"fact:{rule.name}:{change_id}", "fact", context,
                             FACT_TITLE, FACT_BODY, default_realert_key=change.fact, fact=change.fact,
                             extra={"fact_change_id": change_id},
                             feed=change.evidence[0].feed if change.evidence else None,
                             stage=fact.rank(change.new) if fact is not None else None))
    return drafts


def fact_context(fact: Fact | None, change: FactChange, rule: AlertRule) -> dict[str, Any]:
    show = fact.display if fact is not None else (lambda v: v or "(unknown)")
    return {
        "rule": rule.name, "severity": rule.severity, "event": "change",
        "fact": _fact_info(fact, change.fact),
        "old": show(change.old) if change.old else "(unknown)", "new": show(change.new),
        "old_value": change.old, "new_value": change.new,
        "since": _day(change.old_since), "at": iso(change.at), "cause": change.cause, "note": change.note,
        "sources": change.sources, "direction": change.direction,
        "disputed": [show(v) for v in change.disputed],
        "feeds": sorted({ev.feed for ev in change.evidence}),
        "evidence_count": len(change.evidence),
        "evidence": [_evidence(ev, show) for ev in change.evidence],
    }


NOTICE_TITLES = {
    "pending": "{{ fact.describe }}: unconfirmed report of {{ claims[0].value }}",
    "contradiction": "{{ fact.describe }}: sources disagree ({{ claims | map(attribute='value') | join(' / ') }})",
    "review": "{{ fact.describe }}: {{ claims[0].value }} reported, needs review",
}
NOTICE_BODY = """\
**{{ fact.describe }}** stays **{{ current }}**{% if event == "pending" %} until the report is corroborated\
{% elif event == "review" %}: a move back needs an operator (`watcher facts set {{ fact.name }} VALUE`)\
{% else %} while sources disagree{% endif %}.

{% for claim in claims %}
- {{ claim.value }}: {{ claim.sources }} independent source{{ "s" if claim.sources != 1 else "" }}
{% endfor %}
{% if evidence %}

Reports:
{% for ev in evidence %}
- {{ ev.value }}: {{ ev.title | oneline }} ({{ ev.feed }}){% if ev.link %} {{ ev.link | url }}{% endif %}

  “{{ ev.quote | shorten(200) }}”
{% endfor %}
{% endif %}"""


def notice_alerts(ruleset: Ruleset, notice: FactNotice, notice_id: int) -> list[AlertDraft]:
    """Alerts for a new notice about a fact: rules with ``on: {fact: F, event: KIND}``."""
    fact = ruleset.facts.get(notice.fact)
    drafts = []
    for rule in ruleset.fact_rules(notice.fact, notice.kind):
        if not rule.wants(notice.fact, [value for value, _ in notice.values]):
            continue
        show = fact.display if fact is not None else str
        context = {
            "rule": rule.name, "severity": rule.severity, "event": notice.kind, "at": iso(notice.at),
            "fact": _fact_info(fact, notice.fact), "current": show(notice.current),
            "claims": [{"value": show(v), "sources": n} for v, n in notice.values],
            "evidence": [_evidence(ev, show) for ev in notice.evidence],
        }
        drafts.append(_draft(rule, ruleset, f"{notice.kind}:{rule.name}:{notice_id}", "fact", context,
                             NOTICE_TITLES[notice.kind], NOTICE_BODY, default_realert_key=notice.fact,
                             fact=notice.fact, feed=notice.evidence[0].feed if notice.evidence else None,
                             extra={"fact_notice_id": notice_id, "event": notice.kind}))
    return drafts


def _fact_info(fact: Fact | None, name: str) -> dict[str, Any]:
    return {"name": name, "describe": fact.describe if fact else name, "kind": fact.kind if fact else "",
            "unit": (fact.unit or "") if fact else ""}


def _evidence(ev: Evidence, show: Any) -> dict[str, Any]:
    return {"title": ev.title, "link": ev.link or "", "feed": ev.feed, "quote": ev.quote,
            "published": _day(ev.published_at), "value": show(ev.value) if ev.value else ""}


def _day(when: Any) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else ""


def build_alerts(ruleset: Ruleset, matches: Sequence[Match], changes: Mapping[int, FactChange],
                 notices: Mapping[int, FactNotice] | None = None) -> list[AlertDraft]:
    """All drafts of one poll: item alerts, then fact alerts (``changes`` keyed by change id),
    then notice alerts (``notices`` keyed by notice id)."""
    drafts = item_alerts(ruleset, matches)
    for change_id, change in changes.items():
        drafts += fact_alerts(ruleset, change, change_id)
    for notice_id, notice in (notices or {}).items():
        drafts += notice_alerts(ruleset, notice, notice_id)
    return drafts


def feed_alerts(ruleset: Ruleset, outage: FeedOutage, now: datetime, *, recovered: bool = False,
                rules: Sequence[str] | None = None) -> list[AlertDraft]:
    """Feed-health alerts for one outage: "down" for the rules whose threshold it has passed,
    or "back" (``recovered``) for the rules named in ``rules`` (those that said it was down)."""
    drafts = []
    down_for = (outage.ended_at or now) - outage.started_at
    for rule in ruleset.feed_rules(outage.feed):
        if recovered and (rules is None or rule.name not in rules):
            continue
        if not recovered and down_for.total_seconds() < (rule.feed_down or 0):
            continue
        state = "up" if recovered else "down"
        context = {"rule": rule.name, "severity": rule.severity, "feed": outage.feed, "state": state,
                   "since": _day(outage.started_at), "down_for": _span(down_for.total_seconds()),
                   "polls": outage.failed_polls, "error": outage.last_error or ""}
        drafts.append(_draft(rule, ruleset, f"feed-{state}:{rule.name}:{outage.id}", "feed", context,
                             FEED_UP_TITLE if recovered else FEED_DOWN_TITLE, FEED_BODY, feed=outage.feed,
                             default_realert_key=outage.feed))
    return drafts


def _span(seconds: float) -> str:
    """A rough human duration: ``3d 4h``, ``2h 5m``, ``12m``, ``40s``."""
    seconds = int(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if not parts:
        return f"{seconds}s"
    return " ".join(parts[:2])


def digest_message(alerts: Sequence[Message]) -> Message:
    """Several alerts as one message: a count in the title, each alert's title and body in turn."""
    if len(alerts) == 1:
        return alerts[0]
    severity = max((a.severity for a in alerts), key=_SEVERITY_ORDER.index, default="info")
    counts = [f"{n} {s}" for s in reversed(_SEVERITY_ORDER) if (n := sum(a.severity == s for a in alerts))]
    head = f"{len(alerts)} alerts ({', '.join(counts)})"
    titles = "; ".join(a.title for a in alerts)
    title = f"{head}: {titles}"
    if len(title) > 250:
        title = title[:249].rsplit(" ", 1)[0] + "…"
    body = "\n\n---\n\n".join(f"**{i}. {escape_markdown(a.title)}**\n\n{a.body}" for i, a in enumerate(alerts, 1))
    text = "\n\n----\n\n".join(f"{i}. {a.title}\n\n{a.text}" for i, a in enumerate(alerts, 1))
    return Message(title, body, text, severity)


_SEVERITY_ORDER = ["info", "warning", "critical"]
