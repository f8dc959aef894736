"""Noise control, the Alertmanager way. Pure: every decision takes ``now`` and its data as arguments.

When an alert is written (``route``, inside the poll's transaction), for each channel it names:
  - routing by severity: a channel with ``min_severity: warning`` never gets info alerts;
  - silences: matchers on rule, fact, feed, severity, kind and channel, between two times;
  - realert: at most one alert per rule and key every ``realert`` (ElastAlert's realert);
  - digest: on a channel with a window, the delivery waits until the open digest closes.
When a channel's due deliveries are sent (``plan_batch``, in the dispatcher):
  - silences again, so a silence added while a delivery waits (quiet hours, an outage) applies;
  - quiet hours: deliveries are held until the period ends;
  - inhibition: a later stage of an ordered fact suppresses an earlier stage in the same batch;
  - grouping: on a channel with a digest, the batch becomes one message (at most ``DIGEST_MAX``);
  - skipped stages: a fact change sent to a channel says which stages it jumped over since the
    last change the channel was sent (``skipped_note``), be they skipped by the fact itself or
    by alerts this channel never got (inhibited, silenced, dead).

Nothing is dropped silently: a suppressed delivery keeps its row, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from typing import Protocol, TypeVar
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from .models import AlertDraft, DeliveryState
from .ruleset.compiled import Channel, Fact, QuietWindow
from .timefmt import format_duration, iso

SEVERITIES = ("info", "warning", "critical")
LABELS = ("rule", "fact", "feed", "severity", "kind", "channel")
DIGEST_MAX = 50            # alerts in one digest message; more are split (chat services cap lengths)
_MATCHER = re.compile(r"^\s*([a-z]+)\s*(=~|!~|!=|=)(.*)$")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


@dataclass(frozen=True)
class Matcher:
    """``key op value``: ``=`` equal, ``!=`` not equal, ``=~`` / ``!~`` whole-value regular expression."""

    key: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str | None]) -> bool:
        actual = labels.get(self.key) or ""
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """``rule=aid-status-changed``, ``severity!=critical``, ``feed=~"bbc-.*"``; raises ``ValueError``."""
    found = _MATCHER.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a matcher: write KEY=VALUE, KEY!=VALUE, KEY=~REGEX or KEY!~REGEX "
                         f"with KEY one of {', '.join(LABELS)}")
    key, op, value = found.group(1), found.group(2), found.group(3).strip().strip('"')
    if key not in LABELS:
        raise ValueError(f'unknown matcher key "{key}" in {text!r}; use one of {", ".join(LABELS)}')
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression: {exc.msg}") from None
    elif key == "severity" and value not in SEVERITIES:
        raise ValueError(f'severity is one of {", ".join(SEVERITIES)}, not "{value}"')
    return Matcher(key, op, value)


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    comment: str = ""
    created_by: str = ""

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str | None]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def reason(self) -> str:
        about = f": {self.comment}" if self.comment else ""
        return f"silenced by silence {self.id} until {iso(self.ends_at)}{about}"


def silenced(labels: Mapping[str, str | None], silences: Sequence[Silence], now: datetime) -> Silence | None:
    return next((s for s in silences if s.active(now) and s.matches(labels)), None)


# -- when an alert is written ------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """What to write for one channel of an alert: a pending delivery (due at ``due_at``) or a
    suppressed one, with the reason."""

    channel: str
    state: str
    due_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class LastAlert:
    """The last alert of a rule and realert key that was not suppressed everywhere."""

    alert_id: int
    created_at: datetime


def draft_labels(draft: AlertDraft) -> dict[str, str | None]:
    return {"rule": draft.rule, "fact": draft.fact, "feed": draft.feed, "severity": draft.severity,
            "kind": draft.kind}


def route(draft: AlertDraft, channels: Mapping[str, Channel], silences: Sequence[Silence], now: datetime, *,
          realert: float | None = None, last: LastAlert | None = None,
          open_digests: Mapping[str, datetime] | None = None) -> list[Route]:
    """One ``Route`` per channel of the draft. ``last`` is the previous alert of the same rule and
    realert key; ``open_digests`` when each channel's open digest closes, if it has one."""
    labels = draft_labels(draft)
    realert_note = None
    if realert is not None and last is not None and now - last.created_at < timedelta(seconds=realert):
        realert_note = (f"realert: alert #{last.alert_id} of this rule and key was at {iso(last.created_at)}; "
                        f"at most one every {format_duration(realert)}")
    routes = []
    for name in draft.channels:
        channel = channels.get(name)
        hit = silenced({**labels, "channel": name}, silences, now)
        if channel is not None and severity_rank(draft.severity) < severity_rank(channel.min_severity):
            note = f"severity {draft.severity} is below the channel's min_severity {channel.min_severity}"
        elif hit is not None:
            note = hit.reason()
        else:
            note = realert_note
        if note is not None:
            routes.append(Route(name, DeliveryState.SUPPRESSED, now, note))
            continue
        due = now
        if channel is not None and channel.digest and draft.digest:
            due = (open_digests or {}).get(name) or now + timedelta(seconds=channel.digest)
        routes.append(Route(name, DeliveryState.PENDING, due))
    return routes


# -- when a channel's due deliveries are sent ---------------------------------------------------

class Queued(Protocol):
    """What ``plan_batch`` needs to know of a due delivery (``store.outbox.Due`` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def alert_id(self) -> int: ...
    @property
    def rule(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def fact(self) -> str | None: ...
    @property
    def feed(self) -> str | None: ...
    @property
    def stage(self) -> int | None: ...
    @property
    def digest(self) -> bool: ...
    @property
    def title(self) -> str: ...


Q = TypeVar("Q", bound=Queued)


@dataclass
class BatchPlan:
    suppressed: dict[int, str] = field(default_factory=dict)                 # delivery id -> reason
    held: dict[int, tuple[datetime, str]] = field(default_factory=dict)      # delivery id -> (until, why)
    messages: list[list] = field(default_factory=list)                      # what to send, in order


def plan_batch(rows: Sequence[Q], channel: Channel | None, channel_name: str, silences: Sequence[Silence],
               now: datetime) -> BatchPlan:
    """Decide, for a channel's due deliveries (oldest alert first), what is suppressed, what is
    held for quiet hours, and which messages to send in which order."""
    plan = BatchPlan()
    live: list[Q] = []
    for row in rows:
        labels = {"rule": row.rule, "fact": row.fact, "feed": row.feed, "severity": row.severity,
                  "kind": row.kind, "channel": channel_name}
        hit = silenced(labels, silences, now)
        if hit is not None:
            plan.suppressed[row.id] = hit.reason()
            continue
        until = quiet_until(channel.quiet_hours, now, row.severity) if channel is not None else None
        if until is not None:
            plan.held[row.id] = (until, f"held for quiet hours until {iso(until)}")
            continue
        live.append(row)
    plan.suppressed.update(inhibited(live))
    live = [row for row in live if row.id not in plan.suppressed]
    plan.messages = group(live, channel.digest if channel is not None else None)
    return plan


def inhibited(rows: Sequence[Q]) -> dict[int, str]:
    """A later stage of an ordered fact suppresses the earlier stages of that fact in the batch."""
    latest: dict[str, Q] = {}
    for row in rows:
        if row.kind == "fact" and row.fact and row.stage is not None:
            best = latest.get(row.fact)
            if best is None or (row.stage, row.alert_id) > (best.stage or 0, best.alert_id):
                latest[row.fact] = row
    out = {}
    for row in rows:
        best = latest.get(row.fact or "")
        if (best is not None and row.kind == "fact" and row.stage is not None and best.stage is not None
                and row.stage < best.stage):
            out[row.id] = f"inhibited by alert #{best.alert_id}, a later stage of the same fact: {best.title}"
    return out


def skipped_stages(fact: Fact, told: str, new: str) -> list[str]:
    """The stages of an ordered fact between ``told`` (what a channel last heard) and ``new`` that
    a move forward jumped over: those strictly between them in ``values``, but a stage that only a
    ``backwards`` signal reports (where a fact falls back to, such as "blocked", not a step on
    the way). Nothing for a move back or to the next stage."""
    low, high = fact.rank(told), fact.rank(new)
    if low is None or high is None or high - low < 2 or fact.values is None:
        return []
    forward = {s.value for s in fact.signals if not s.backwards}
    fallback = {s.value for s in fact.signals if s.backwards} - forward
    return [value for value in fact.values[low + 1:high] if value not in fallback]


def skipped_note(fact: Fact, told: str, old: str, new: str) -> str | None:
    """The line a fact change (``old`` -> ``new``) sent to a channel that last heard ``told`` adds
    to its message, or ``None`` when it jumped over no stage."""
    stages = skipped_stages(fact, told, new)
    if not stages:
        return None
    heard = "" if told == old else f" (the last change sent here was to {fact.display(told)})"
    return f"Stages skipped: {', '.join(fact.display(s) for s in stages)}{heard}."


def group(rows: Sequence[Q], digest: float | None, size: int = DIGEST_MAX) -> list[list[Q]]:
    """Messages to send, in order: one per delivery, or digests of up to ``size`` deliveries."""
    if digest is None:
        return [[row] for row in rows]
    messages: list[list[Q]] = []
    current: list[Q] | None = None
    for row in rows:
        if not row.digest:  # sent alone, in its place: the digest before it closes
            messages.append([row])
            current = None
            continue
        if current is None or len(current) >= size:
            current = []
            messages.append(current)
        current.append(row)
    return messages


# -- quiet hours ------------------------------------------------------------------------------

def quiet_until(windows: Sequence[QuietWindow], now: datetime, severity: str = "info") -> datetime | None:
    """If ``now`` is in quiet hours for an alert of ``severity``, when they end (windows that
    follow each other, such as a night and then a weekend, are joined); else ``None``."""
    until: datetime | None = None
    at = now
    for _ in range(32):  # bounded: each step moves to the end of a window
        ends = [end for w in windows if _applies(w, severity) and (end := window_end(w, at)) is not None]
        if not ends:
            break
        at = until = max(ends)
    return until


def _applies(window: QuietWindow, severity: str) -> bool:
    return window.except_severity is None or severity_rank(severity) < severity_rank(window.except_severity)


def window_end(window: QuietWindow, at: datetime) -> datetime | None:
    """When the period of ``window`` that contains ``at`` ends (UTC), or ``None`` if ``at`` is outside."""
    zone = ZoneInfo(window.timezone)
    local = at.astimezone(zone)
    if window.start is None or window.end is None:  # whole days
        if window.days is not None and local.weekday() not in window.days:
            return None
        return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    for back in (0, 1):  # a period that crosses midnight may have started the day before
        day = local.date() - timedelta(days=back)
        if window.days is not None and day.weekday() not in window.days:
            continue
        start = datetime.combine(day, window.start, zone).astimezone(UTC)
        end_day = day if window.end > window.start else day + timedelta(days=1)
        end = datetime.combine(end_day, window.end, zone).astimezone(UTC)
        if start <= at < end:
            return end
    return None
