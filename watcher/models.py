"""Plain, frozen data passed between the pipeline's stages.

fetch -> ``Fetched`` | ``NotModified``;  parse -> ``ParsedFeed`` of ``Item``;
match -> ``Match`` (with ``Hit`` spans);  facts -> ``Observation`` and ``FactChange``;
alerts -> ``AlertDraft`` (and ``Message``);  deliver -> ``SendResult``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# Item fields a matcher can look at (the ``scope`` of a match block).
ITEM_FIELDS = ("title", "summary", "content", "link", "author", "categories", "feed")


class PollOutcome(StrEnum):
    """How one poll of one feed ended."""

    NEW = "new"                    # 200, parsed, at least one new item
    UNCHANGED = "unchanged"        # 200, parsed (or same body hash), nothing new
    NOT_MODIFIED = "not_modified"  # 304
    ERROR = "error"                # fetch or parse failed; retried with backoff
    GONE = "gone"                  # 410: the server says the feed is gone


class DeliveryState(StrEnum):
    PENDING = "pending"  # not tried yet, or held (quiet hours)
    FAILED = "failed"    # tried, failed, will be retried at next_attempt_at
    SENT = "sent"
    DEAD = "dead"        # retried until the channel's give-up time; `watcher alerts retry` revives
    SUPPRESSED = "suppressed"  # never sent, on purpose: silenced, realert, inhibited, below min_severity


@dataclass(frozen=True)
class Fetched:
    """A 200 response, fully read (within the size cap)."""

    url: str                   # final URL after redirects
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    max_age: float | None      # from Cache-Control max-age / Expires, seconds
    elapsed: float
    moved_to: str | None = None  # the target of a permanent redirect (301/308) on the way


@dataclass(frozen=True)
class NotModified:
    """A 304: the feed has not changed since the validators we sent."""

    elapsed: float
    max_age: float | None = None
    moved_to: str | None = None


@dataclass(frozen=True)
class Item:
    """One feed entry, normalised. Text fields are plain text (tags stripped, entities decoded)."""

    key: str                   # identity within the feed: guid, else canonical link, else content hash
    title: str
    link: str | None           # canonical link (tracking parameters removed)
    summary: str
    content: str = ""
    author: str = ""
    categories: tuple[str, ...] = ()
    guid: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    content_hash: str = ""     # of title + summary + content: changes mean "updated"
    story: str = ""            # cross-feed story key (see identity.py); the store may join it to an earlier story
    # MinHash signature of the text (identity.text_sketch), computed by the parser so the store
    # need not; not part of the item's value
    sketch: tuple[int, ...] = field(default=(), compare=False, repr=False)

    def text(self, name: str, feed: str = "") -> str:
        """The text of one matchable field (see ``ITEM_FIELDS``)."""
        if name == "categories":
            return "\n".join(self.categories)
        if name == "feed":
            return feed
        return getattr(self, name) or ""


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    version: str               # feedparser's version string, e.g. "rss20", "atom10"
    items: tuple[Item, ...]
    ttl: float | None = None   # RSS <ttl>, seconds
    warning: str | None = None # a recoverable problem (feedparser's bozo exception name)
    cut: int = 0               # entries after the first MAX_ITEMS, not read

    @property
    def cut_note(self) -> str | None:
        """What the cut left out, for the log and the feed's row (``None``: nothing)."""
        return describe_cut(len(self.items) + self.cut, self.cut)


MAX_ITEMS = 2000  # entries read from one document (the first ones: feeds list the newest first)


def describe_cut(total: int, cut: int) -> str | None:
    """``"read the first 2,000 of 100,000 items (the limit per poll)"`` (``None`` when nothing was cut)."""
    return f"read the first {total - cut:,} of {total:,} items (the limit per poll)" if cut else None


@dataclass(frozen=True)
class StoredItem:
    """An item as the store knows it: the parsed item plus its row id and feed."""

    id: int
    feed: str
    item: Item
    first_seen_at: datetime
    backlog: bool = False      # arrived in the first poll of a feed
    updated: bool = False      # an item seen before whose text changed


@dataclass(frozen=True)
class Hit:
    """A span of text that satisfied one term of a matcher."""

    term: str
    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Match:
    """An alert rule on items matched one stored item."""

    rule: str
    item: StoredItem
    hits: tuple[Hit, ...]


@dataclass(frozen=True)
class Evidence:
    """An item that supported a fact's value: where it came from and the words that said so."""

    item_id: int | None
    feed: str
    title: str
    link: str | None
    quote: str                 # the sentence(s) the claim was read from
    published_at: datetime | None = None
    hits: tuple[Hit, ...] = ()  # the matched spans (field, start, end, text)
    value: str = ""            # the value it supports
    observation_id: int | None = None


@dataclass(frozen=True)
class FactState:
    """What the ledger currently holds for one fact."""

    name: str
    value: str
    since: datetime
    source: str                # "rules", "signal" or "operator"
    rules_known: str | None = None  # the `known:` value of the rule file when last applied


class ObservationState(StrEnum):
    """Where one observation stands (kept in the ledger, shown by `watcher facts`)."""

    NEW = "new"                # just read from an item, not weighed yet
    PENDING = "pending"        # awaits corroboration; expires after the fact's window
    APPLIED = "applied"        # part of the evidence of a change
    CONFIRMED = "confirmed"    # said what the ledger already held
    STALE = "stale"            # an earlier stage of an ordered fact: old news
    EXPIRED = "expired"        # never corroborated within the window
    SUPERSEDED = "superseded"  # an operator set the fact while it was pending


@dataclass(frozen=True)
class Observation:
    """One item's claim that a fact has a given value."""

    fact: str
    value: str                 # as the fact stores it (canonical number, status value, text)
    item: StoredItem
    hits: tuple[Hit, ...]
    signal: int                # index of the signal in the fact's definition
    quote: str = ""            # the sentence(s) it was read from
    backwards: bool = False    # from a signal that may move an ordered fact back
    id: int | None = None      # its ledger row, once stored
    state: ObservationState = ObservationState.NEW
    text_key: str = ""         # fingerprint of the item's summary, kept when the item's text is not

    @property
    def seen_at(self) -> datetime:
        """When watcher first saw the item."""
        return self.item.first_seen_at

    @property
    def reported_at(self) -> datetime:
        """When the report was made, as far as watcher can tell: the item's publication when that
        is earlier than when watcher first saw it (a backlog item, a feed polled late), else when
        it was seen (a date in the future, or none, cannot make a report younger than that). The
        clock of corroboration windows: an old headline found today is still old news."""
        published = self.item.item.published_at
        seen = self.item.first_seen_at
        return published if published is not None and published < seen else seen

    def evidence(self) -> Evidence:
        item = self.item.item
        return Evidence(self.item.id, self.item.feed, item.title, item.link,
                        self.quote or " … ".join(h.text for h in self.hits), item.published_at, self.hits,
                        self.value, self.id)


@dataclass(frozen=True)
class FactChange:
    """The ledger moved: ``fact`` went from ``old`` to ``new`` at ``at``."""

    fact: str
    old: str
    new: str
    at: datetime
    cause: str                 # "signal", "operator" or "rules"
    evidence: tuple[Evidence, ...] = ()
    note: str = ""
    rules_hash: str = ""
    old_since: datetime | None = None
    sources: int = 0           # independent sources behind a signal's change
    direction: str = ""        # forward, backwards (ordered facts) or "" (unordered)
    disputed: tuple[str, ...] = ()  # values other sources claimed in the same window


@dataclass(frozen=True)
class FactNotice:
    """Something about a fact short of a change, worth knowing and alerting on:
    ``pending`` (a new value reported, awaiting corroboration), ``contradiction`` (sources
    disagree within the window) or ``review`` (a move back awaits an operator)."""

    kind: str
    fact: str
    current: str               # the ledger's value meanwhile
    values: tuple[tuple[str, int], ...]  # (value, independent sources), most supported first
    at: datetime
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What weighing one fact's evidence decided: a change or not, the state of every
    observation involved, and any notices."""

    fact: str
    change: FactChange | None
    observations: tuple[Observation, ...]   # new ones to store, stored ones whose state changed
    notices: tuple[FactNotice, ...] = ()


@dataclass(frozen=True)
class AlertDraft:
    """An alert ready for the outbox. ``dedupe_key`` is unique for all time."""

    rule: str
    dedupe_key: str
    kind: str                  # "item" or "fact"
    title: str
    body: str                  # markdown, feed text escaped
    text: str                  # plain text, for channels that take text
    channels: tuple[str, ...]
    severity: str = "info"
    item_id: int | None = None
    fact: str | None = None
    extra: dict = field(default_factory=dict, compare=False)
    feed: str | None = None        # the feed of the item (item alerts) or of the first evidence
    stage: int | None = None       # rank of the new value of an ordered fact (inhibition)
    realert_key: str | None = None # set when the rule has ``realert``: at most one alert per key
    digest: bool = True            # may be grouped with others on a channel with ``digest``


@dataclass(frozen=True)
class Message:
    """One message to send to a channel: one alert, or a digest of several."""

    title: str
    body: str                  # markdown (CommonMark), feed text escaped
    text: str                  # plain text
    severity: str = "info"


@dataclass(frozen=True)
class SendResult:
    """What a channel did with one message."""

    ok: bool
    detail: str                # masked; safe to log and store
    retry_after: float | None = None
    status: str = ""           # apprise's outcome: success, failure, partial, nomatch, timeout


@dataclass(frozen=True)
class FeedOutage:
    """A feed failing without a break: from its first failed poll to its next success."""

    id: int
    feed: str
    started_at: datetime
    ended_at: datetime | None  # None while the feed is still down
    last_error: str | None
    failed_polls: int
