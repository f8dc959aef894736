"""Matches and fact changes -> ``AlertDraft`` ready for the outbox. Pure.

Each draft carries a ``dedupe_key`` that is unique for all time, so writing it twice (a crash
and a replay, two feeds carrying one story) stores it once:
- item alerts: ``item:<rule>:<story>``, the story being the canonical link (else the
  normalised title), so one article syndicated into several feeds alerts once per rule;
- fact alerts: ``fact:<rule>:<change id>``, one per recorded change.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping, Sequence

from .models import AlertDraft, FactChange, Match
from .ruleset.compiled import CONSOLE, AlertRule, Fact, Ruleset
from .templates import render
from .timefmt import iso

ITEM_TITLE = "{% if item.updated %}Updated: {% endif %}{{ item.title | oneline }}"
ITEM_BODY = """\
**{{ item.title | oneline }}**
{{ item.feed }}{% if item.published %} · {{ item.published }}{% endif %}

{{ item.summary | shorten(400) }}
{% if item.link %}

{{ item.link }}
{% endif %}

_{{ rule }}: {{ hits | join(", ") }}_"""

FACT_TITLE = "{{ fact.describe }}: {{ old }} → {{ new }}"
FACT_BODY = """\
**{{ fact.describe }}** is now **{{ new }}** (was **{{ old }}**{% if since %} since {{ since }}{% endif %}).
{% if evidence %}

Evidence:
{% for ev in evidence %}
- {{ ev.title | oneline }} ({{ ev.feed }}{% if ev.published %}, {{ ev.published }}{% endif %})\
{% if ev.link %} {{ ev.link }}{% endif %}

  “{{ ev.quote | shorten(200) }}”
{% endfor %}
{% endif %}
{% if note %}

Note: {{ note }}
{% endif %}"""


def channels_for(rule: AlertRule, ruleset: Ruleset) -> tuple[str, ...]:
    """Where an alert goes: the rule's channels, else every channel, else the console."""
    if rule.channels:
        return rule.channels
    return tuple(sorted(ruleset.channels)) or (CONSOLE,)


def _draft(rule: AlertRule, ruleset: Ruleset, key: str, kind: str, context: dict[str, Any],
           title: str, body: str, **refs: Any) -> AlertDraft:
    title_src, body_src = rule.title or title, rule.body or body
    return AlertDraft(
        rule=rule.name, dedupe_key=key, kind=kind,
        title=" ".join(render(title_src, context, "text").split())[:250],
        body=render(body_src, context, "markdown"),
        text=render(body_src, context, "text"),
        channels=channels_for(rule, ruleset), severity=rule.severity, **refs)


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
                             ITEM_TITLE, ITEM_BODY, item_id=stored.id))
    return drafts


def fact_alerts(ruleset: Ruleset, change: FactChange, change_id: int) -> list[AlertDraft]:
    """Alerts for one recorded change (only changes made by signals or operators alert)."""
    if change.cause == "rules":
        return []
    fact = ruleset.facts.get(change.fact)
    drafts = []
    for rule in ruleset.fact_rules(change.fact):
        if rule.to is not None and change.new not in rule.to:
            continue
        context = fact_context(fact, change, rule)
        drafts.append(_draft(rule, ruleset, f"fact:{rule.name}:{change_id}", "fact", context,
                             FACT_TITLE, FACT_BODY, fact=change.fact,
                             extra={"fact_change_id": change_id}))
    return drafts


def fact_context(fact: Fact | None, change: FactChange, rule: AlertRule) -> dict[str, Any]:
    return {
        "rule": rule.name, "severity": rule.severity,
        "fact": {"name": change.fact, "describe": fact.describe if fact else change.fact},
        "old": change.old or "(unknown)", "new": change.new,
        "since": _day(change.old_since), "at": iso(change.at), "cause": change.cause, "note": change.note,
        "evidence": [{"title": ev.title, "link": ev.link or "", "feed": ev.feed, "quote": ev.quote,
                      "published": _day(ev.published_at)} for ev in change.evidence],
    }


def _day(when: Any) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else ""


def build_alerts(ruleset: Ruleset, matches: Sequence[Match],
                 changes: Mapping[int, FactChange]) -> list[AlertDraft]:
    """All drafts of one poll: item alerts, then fact alerts (``changes`` keyed by change id)."""
    drafts = item_alerts(ruleset, matches)
    for change_id, change in changes.items():
        drafts += fact_alerts(ruleset, change, change_id)
    return drafts
